"""`python train.py ARGS` in this process, then one JSON line: its exit code and a digest of the
trained weights (generator, discriminator, both optimizers), so tests can compare workers.

Usage: train_worker.py TRAIN_PY_ARGS...
"""

import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

import numpy as np  # noqa: E402

import train  # noqa: E402
from tf_dcgan.training import run as training  # noqa: E402

results = []
_train = training.train


def _capture(run, *args, **kwargs):
    result = _train(run, *args, **kwargs)
    results.append(result)
    return result


training.train = _capture
code = train.main(sys.argv[1:])
report = {"rc": code}
if results:
    gan = results[0].gan
    digest = hashlib.sha256()
    variables = (gan.generator.weights + gan.discriminator.weights
                 + gan.d_optimizer.variables + gan.g_optimizer.variables)
    for variable in variables:
        digest.update(np.ascontiguousarray(np.asarray(variable)).tobytes())
    report.update(weights=digest.hexdigest(), steps=int(gan.g_optimizer.iterations.numpy()),
                  start_step=results[0].start_step)
print(json.dumps(report), flush=True)
