"""Stops of every kind, and --resume: nothing lost, nothing twice, and (deterministic) exact."""

import csv
import signal
import subprocess
import sys
import time

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from tests.helpers import ROOT
from tf_dcgan import DCGAN  # noqa: F401  (registers DCGAN with Keras for load_model)

RUN = ["--batch-size", "16", "--base-filters", "16", "--latent-dim", "16", "--num-samples", "4",
       "--seed", "0", "--steps-per-epoch", "40", "--epochs", "2", "--save-every-steps", "10"]


def _train(*args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, **kwargs)


def _start(*args):
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _weights(run):
    gan = keras.models.load_model(run / "dcgan.keras")
    return [np.asarray(w) for w in gan.generator.weights + gan.discriminator.weights]


def _steps(run):
    with open(run / "losses.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--augment", "color,translation,cutout"],
                                   ["--loss", "hinge", "--d-update", "joint"]],
                         ids=["plain", "augmented", "hinge-joint"])
def test_a_run_killed_mid_epoch_resumes_to_bit_identical_weights(tmp_path, extra):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    result = _train(*RUN, *extra, "--deterministic", "--out", str(reference))
    assert result.returncode == 0, result.stderr[-3000:]
    process = _start(*RUN, *extra, "--deterministic", "--out", str(killed))
    # Step 50 is in the middle of the second epoch.
    _wait_for(killed / "checkpoints" / "ckpt-50.index", process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not (killed / "samples" / "epoch_002.png").exists()
    result = _train("--out", str(killed), "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _steps(killed) == list(range(1, 81))  # one row per step: none missing, none twice
    assert sorted(p.name for p in (killed / "samples").iterdir()) == [
        "epoch_001.png", "epoch_002.png"]
    assert iio.imread(killed / "training.gif", index=None).shape[0] == 2
    assert not list(killed.rglob(".*tmp*"))
    for ours, theirs in zip(_weights(killed), _weights(reference)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_stop_cleanly_and_leave_a_resumable_run(tmp_path, stop, code):
    run = tmp_path / "run"
    process = _start(*RUN, "--out", str(run))
    _wait_for(run / "checkpoints" / "ckpt-10.index", process)
    process.send_signal(stop)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err[-3000:]
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f"stopped by {stop.name}" in err and f"--out {run} --resume" in err
    stopped_at = max(int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("ckpt-*.index"))
    assert 10 <= stopped_at < 80
    assert _steps(run) == list(range(1, stopped_at + 1))
    assert (run / "generator.keras").is_file() and (run / "training.gif").is_file()
    if stop == signal.SIGINT:  # one resume suffices to show the run goes on from there
        result = _train("--out", str(run), "--resume")
        assert result.returncode == 0, result.stderr[-3000:]
        assert _steps(run) == list(range(1, 81))


@pytest.mark.slow
def test_an_impatient_second_ctrl_c_still_saves_and_says_so(tmp_path):
    run = tmp_path / "run"
    process = _start(*RUN, "--out", str(run))
    _wait_for(run / "checkpoints" / "ckpt-10.index", process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "nothing was written" not in err, err
    assert "SIGINT again: already stopping" in err and "stopped by SIGINT" in err
    stopped_at = max(int(p.stem.split("-")[1]) for p in (run / "checkpoints").glob("ckpt-*.index"))
    assert 10 <= stopped_at < 80 and f"checkpoint {stopped_at} in" in err
    assert _steps(run) == list(range(1, stopped_at + 1))


def test_a_ctrl_c_that_quits_at_once_says_what_the_run_folder_keeps(tmp_path):
    import train
    from tf_dcgan.commands.train import _interrupted
    from tf_dcgan.training import prepare_run
    from tf_dcgan.training.checkpoints import TrainingState
    from tf_dcgan.training.run import build_gan

    assert _interrupted([]) == "stopped before training started; nothing was written."
    config, _, _, _ = train.parse_args([*RUN, "--out", str(tmp_path / "run")])
    run = prepare_run(config)
    try:
        assert "keeps no training to continue" in _interrupted([run])
        TrainingState(build_gan(run.config), run.folder.checkpoints_dir).save(10)
        assert _interrupted([run]) == (
            f"stopped at once: {run.run_dir} keeps everything up to the checkpoint of step 10; "
            f"the steps after it are lost. Continue with: python train.py --out {run.run_dir} "
            "--resume")
    finally:
        run.folder.release()


@pytest.mark.slow
def test_a_corrupt_newest_checkpoint_falls_back_to_the_one_before(tmp_path):
    run = tmp_path / "run"
    result = _train(*RUN, "--epochs", "1", "--out", str(run))
    assert result.returncode == 0, result.stderr[-3000:]
    newest = sorted((run / "checkpoints").glob("ckpt-40.data-*"))[0]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as a full disk would leave it
    result = _train("--out", str(run), "--resume", "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checkpoint" in result.stdout and "does not load" in result.stdout
    assert _steps(run) == list(range(1, 81))  # steps 31-40 were redone from checkpoint 30


def test_resume_refuses_flags_that_would_change_the_model_or_data(tmp_path, capsys):
    import train

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(
        '{"batch_size": 16, "epochs": 2, "image_size": 28, "channels": 1, "seed": 0}')
    for argv, message in (
        (["--batch-size", "32"], "batch_size cannot change when resuming; the run used "
                                 "batch_size=16 and this command asks for 32"),
        (["--dataset", "cifar10"], "dataset cannot change when resuming"),
    ):
        assert train.main(["--out", str(run), "--resume", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert train.main(["--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "which does not exist" in capsys.readouterr().err


def _files(run):
    """Every file of a run folder but its lock, with its bytes."""
    return {str(path.relative_to(run)): path.read_bytes() for path in sorted(run.rglob("*"))
            if path.is_file() and path.name != ".lock"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    import train

    run = tmp_path_factory.mktemp("finished") / "run"
    assert train.main([*TINY_RESUMABLE, "--out", str(run)]) == 0
    return run


def _resume(argv, capsys):
    """train.main in this process (no second TensorFlow start): exit code, stdout, stderr."""
    import train

    capsys.readouterr()
    code = train.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


TINY_RESUMABLE = ["--batch-size", "16", "--base-filters", "8", "--latent-dim", "16",
                  "--num-samples", "4", "--seed", "0", "--steps-per-epoch", "3", "--epochs", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["no checkpoints folder", "every checkpoint unreadable"])
def test_resume_without_a_loadable_checkpoint_refuses_and_changes_nothing(finished_run, tmp_path,
                                                                          damage, capsys):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(finished_run, run)
    if damage == "no checkpoints folder":
        shutil.rmtree(run / "checkpoints")
    else:
        for path in (run / "checkpoints").glob("ckpt-*.data-*"):
            path.write_bytes(path.read_bytes()[:100])
    before = _files(run)
    code, _, err = _resume(["--out", str(run), "--resume", "--epochs", "3"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    error = err.strip()
    assert error.startswith("train.py: error: resume cannot continue the run")
    assert "nothing was changed" in error and "--out" in error
    assert _files(run) == before


@pytest.mark.slow
def test_resume_finds_checkpoints_stamped_ahead_of_this_clock(finished_run, tmp_path, capsys):
    import re
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(finished_run, run)
    index = run / "checkpoints" / "checkpoint"
    # As written on a machine whose clock runs a year ahead of this one.
    index.write_text(re.sub(r"(timestamp: )([0-9.e+]+)",
                            lambda m: f"{m.group(1)}{float(m.group(2)) + 3.2e7}", index.read_text()))
    code, out, err = _resume(["--out", str(run), "--resume", "--epochs", "2"], capsys)
    assert code == 0, err[-3000:]
    assert "resumed from the checkpoint of step 3" in out
    assert _steps(run)[0] == 1 and _steps(run)[-1] == 6


@pytest.mark.slow
def test_resume_refuses_a_dataset_that_changed_and_continues_once_it_is_restored(tmp_path,
                                                                                 capsys):
    from tests.helpers import save_image

    images = tmp_path / "images"
    rng = np.random.default_rng(0)
    for index in range(40):
        save_image(images / f"{index:02d}.png", rng.integers(0, 256, (16, 16, 3), np.uint8))
    run = tmp_path / "run"
    small = ["--dataset", str(images), "--image-size", "16", "--batch-size", "8",
             "--base-filters", "8", "--latent-dim", "8", "--num-samples", "4", "--seed", "0",
             "--epochs", "1", "--steps-per-epoch", "5"]
    code, _, err = _resume([*small, "--out", str(run)], capsys)
    assert code == 0, err[-3000:]
    added = images / "40.png"
    save_image(added, rng.integers(0, 256, (16, 16, 3), np.uint8))
    before = _files(run)
    code, _, err = _resume(["--out", str(run), "--resume", "--epochs", "2"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert "has changed since the run" in err and "nothing was changed" in err
    assert _files(run) == before
    added.unlink()
    code, out, err = _resume(["--out", str(run), "--resume", "--epochs", "2"], capsys)
    assert code == 0, err[-3000:]
    assert "resumed from the checkpoint of step 5" in out
