import json
import math
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_fit_under_mirrored_strategy_logs_true_losses_and_steps_once_per_batch():
    result = subprocess.run([sys.executable, str(ROOT / "tests/scripts/mirrored_step.py")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    logs = json.loads(result.stdout.strip().splitlines()[-1])
    # At initialisation D's logits are near 0, so each binary cross-entropy is near ln 2; a loss
    # left divided by the 2 replicas would read near 0.35.
    for name in ("d_real_loss", "d_fake_loss", "g_loss"):
        assert abs(logs[name] - math.log(2)) < 0.1, (name, logs)
    assert logs["d_iterations"] == 2 and logs["g_iterations"] == 1
