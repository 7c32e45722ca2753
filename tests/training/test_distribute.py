"""tf.distribute: each test runs its strategy in processes of its own (see tests/scripts)."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT


def _run_script(name, *args, timeout=300):
    result = subprocess.run([sys.executable, str(ROOT / "tests/scripts" / name), *args],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_mirrored_step_with_sync_batchnorm_equals_one_step_on_the_global_batch():
    report = _run_script("mirrored_equivalence.py", "--sync-batchnorm")
    assert report["replicas"] == 2
    assert report["d_iterations"] == 2 and report["g_iterations"] == 1  # once per global batch
    # The step moves weights by ~0.3 (Adam's first step is ~lr per weight, BN's moving stats
    # more); the two runs agree to float32 round-off.
    assert report["step_size"] > 1e-3
    assert report["max_weight_difference"] < 1e-5, report
    # The logged losses are the global batch's (a loss left divided by the 2 replicas would
    # read half), equal to the single-device step's.
    assert report["log_difference"] < 1e-5, report
    assert report["training_noise_differs"] and report["sample_noise_equal"]


@pytest.mark.slow
def test_without_sync_batchnorm_each_replica_normalises_with_its_own_statistics():
    # What the README says --sync-batchnorm changes: per-replica BatchNorm statistics make the
    # mirrored step differ from the single-device step on the same global batch.
    report = _run_script("mirrored_equivalence.py")
    assert report["max_weight_difference"] > 1e-4, report


@pytest.mark.slow
def test_a_mirrored_hinge_joint_step_equals_one_step_on_the_global_batch():
    # The hinge loss is divided across replicas like the others, and the joint D step sums both
    # gradients once: the step must be the single-device step, the same on every replica.
    report = _run_script("mirrored_equivalence.py", "--sync-batchnorm", "--hinge-joint")
    assert report["replicas"] == 2 and report["d_iterations"] == 1  # the joint D step
    assert report["step_size"] > 1e-3
    assert report["replicas_agree"], report
    assert report["max_weight_difference"] < 1e-5, report
    assert report["log_difference"] < 1e-5, report


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_workers(cwd, args, count=2):
    """`train.py ARGS` as `count` MultiWorkerMirroredStrategy workers on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(count)]}
    workers = []
    for index in range(count):
        temporary = Path(cwd) / f"tmp-worker{index}"  # where a non-chief writes its outputs
        temporary.mkdir(exist_ok=True)
        env = dict(os.environ, TMPDIR=str(temporary), TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, str(ROOT / "tests/scripts/train_worker.py"), "--strategy",
             "multiworker", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


def _finish(workers, timeout=240):
    reports = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=timeout)
            assert worker.returncode == 0, err[-3000:]
            reports.append((json.loads(out.strip().splitlines()[-1]), out))
    finally:
        for worker in workers:
            worker.kill()
    return reports


@pytest.fixture
def tiny_images(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8))
    return path


TINY = ["--image-size", "16", "--base-filters", "4", "--latent-dim", "8", "--batch-size", "8",
        "--num-samples", "4", "--sync-batchnorm"]


@pytest.mark.slow
def test_two_workers_train_to_identical_weights_and_only_the_chief_writes_the_run(
        tmp_path, tiny_images):
    # No --out and no --seed: the workers agree on the chief's folder name and seed.
    workers = _start_workers(tmp_path, ["--dataset", str(tiny_images), "--epochs", "2",
                                        "--steps-per-epoch", "3", *TINY])
    (chief, chief_out), (other, other_out) = _finish(workers)
    assert chief["rc"] == other["rc"] == 0
    assert chief["steps"] == other["steps"] == 6
    assert chief["weights"] == other["weights"]
    folders = [line for line in chief_out.splitlines() if line.startswith("run folder:")]
    assert folders[0] in other_out
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    run = runs[0]
    assert folders[0] == f"run folder: {run.relative_to(tmp_path)}"
    for name in ("config.json", "generator.keras", "dcgan.keras", "losses.csv", "losses.png",
                 "training.gif", "samples/epoch_001.png", "samples/epoch_002.png",
                 "checkpoints/ckpt-6.index"):
        assert (run / name).exists(), name
    rows = (run / "losses.csv").read_text().splitlines()
    assert len(rows) == 1 + 6
    config = json.loads((run / "config.json").read_text())
    assert config["strategy"] == "multiworker" and config["seed"] is not None
    # The other worker's own outputs went to a temporary folder, removed when it finished.
    assert (tmp_path / "tmp-worker1").is_dir()
    assert not list((tmp_path / "tmp-worker1").iterdir())


@pytest.mark.slow
def test_a_two_worker_run_killed_on_one_worker_resumes_from_the_last_checkpoint(tmp_path):
    images = tmp_path / "images.npy"  # 40 batches of 8 per epoch
    np.save(images, np.random.default_rng(0).integers(0, 256, (320, 32, 32, 1), dtype=np.uint8))
    out = tmp_path / "run"
    # Without --sync-batchnorm: the workers still end equal (BatchNorm statistics are averaged).
    args = ["--dataset", str(images), "--epochs", "3", "--steps-per-epoch", "40",
            "--save-every-steps", "10", "--seed", "4", "--out", str(out), *TINY[:-1],
            "--base-filters", "16", "--image-size", "32"]
    workers = _start_workers(tmp_path, args)
    try:
        deadline = time.monotonic() + 180
        while not list((out / "checkpoints").glob("ckpt-*.index")):
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers)
            time.sleep(0.05)
        workers[1].kill()  # the non-chief dies; the chief is stuck in the next collective
        time.sleep(2)
        assert workers[0].poll() is None or workers[0].returncode != 0
    finally:
        for worker in workers:
            worker.kill()
            worker.communicate()
    saved = sorted(int(p.stem.split("-")[1]) for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert saved and saved[-1] < 120

    resumed = _start_workers(tmp_path, ["--out", str(out), "--resume"])
    (chief, chief_out), (other, _) = _finish(resumed)
    assert chief["start_step"] == other["start_step"] == saved[-1]
    assert f"resumed from the checkpoint of step {saved[-1]}" in chief_out
    assert chief["steps"] == other["steps"] == 120, (saved, chief)
    assert chief["weights"] == other["weights"]
    steps = [int(line.split(",")[0]) for line in
             (out / "losses.csv").read_text().splitlines()[1:]]
    assert steps == list(range(1, 121))
