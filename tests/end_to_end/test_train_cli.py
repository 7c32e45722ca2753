import json
import os
import subprocess
import sys

import imageio.v3 as iio
import keras
import numpy as np
import pytest

import train
from tests.helpers import ROOT, one_line_error
from tf_dcgan import DCGAN  # noqa: F401  (registers DCGAN with Keras for load_model)
from tf_dcgan.config import TrainConfig
from tf_dcgan.run_folder import RunFolder

TINY = ["--epochs", "2", "--steps-per-epoch", "3", "--batch-size", "16", "--base-filters", "8",
        "--latent-dim", "16", "--num-samples", "4", "--seed", "0"]


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_tiny_run_on_fashion_mnist_writes_every_output(tmp_path):
    out = tmp_path / "run"
    result = _run(*TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == f"run folder: {out}" and lines[-1] == f"run folder: {out}"
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "fashion_mnist" and config["image_size"] == 28
    assert config["channels"] == 1 and config["seed"] == 0 and config["epochs"] == 2
    assert config["learning_rate"] == 2e-4 and config["beta1"] == 0.5
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png",
                                                                   "epoch_002.png"]
    assert iio.imread(out / "training.gif", index=None).shape[0] == 2
    assert iio.imread(out / "losses.png").ndim == 3
    csv_lines = (out / "losses.csv").read_text().splitlines()
    assert csv_lines[0].startswith("step,epoch,")
    assert {"d_loss", "g_loss", "d_real_loss", "d_fake_loss", "d_real", "d_fake"} <= set(
        csv_lines[0].split(","))
    assert len(csv_lines) == 1 + 2 * 3
    generator = keras.models.load_model(out / "generator.keras")
    assert generator.output_shape == (None, 28, 28, 1)
    gan = keras.models.load_model(out / "dcgan.keras")
    assert int(gan.g_optimizer.iterations.numpy()) == 6
    assert int(gan.d_optimizer.iterations.numpy()) == 12
    assert not list(out.rglob(".*tmp*"))
    # The model card: the data, the full config, the training so far, how to load it.
    card = json.loads((out / "MODEL_CARD.json").read_text())
    assert card["config"] == config and card["data"]["images"] == 60_000
    assert card["data"]["licence"].startswith("MIT")
    assert card["training"]["epochs_done"] == 2 and card["training"]["steps_done"] == 6
    assert card["training"]["seconds"] > 0 and card["training"]["hardware"]["cores"] >= 1
    assert card["model"]["latent_dim"] == config["latent_dim"] and card["metrics"] is None
    text = (out / "MODEL_CARD.md").read_text()
    assert "fashion_mnist: 60,000 images" in text and "2 epochs (6 steps)" in text
    assert "keras.models.load_model('generator.keras')" in text


@pytest.mark.slow
def test_folder_with_broken_files_trains_and_reports_what_it_skipped(image_tree, tmp_path):
    out = tmp_path / "run"
    result = _run("--dataset", str(image_tree), "--image-size", "16", "--epochs", "1",
                  "--batch-size", "4", "--base-filters", "4", "--num-samples", "4",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "12 images, 3 files skipped (do not decode), 1 non-image files ignored" in result.stdout
    skipped = (out / "skipped_files.txt").read_text().splitlines()
    assert sorted(line.split("\t")[0].rsplit("/", 1)[-1] for line in skipped) == [
        "empty.png", "notes.jpg", "truncated.jpg"]
    config = json.loads((out / "config.json").read_text())
    assert config["channels"] == 3 and config["image_size"] == 16
    assert (out / "generator.keras").is_file()


def test_bad_data_sources_exit_2_before_any_model_is_built(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "floats.npy", np.zeros((4, 16, 16, 3), np.float32))
    cases = [
        ([str(tmp_path / "missing")], "does not exist"),
        ([str(tmp_path / "empty")], "has no image that decodes"),
        ([str(tmp_path / "floats.npy")], "must hold uint8 images"),
        ([str(tmp_path / "missing.npz")], "does not exist"),
    ]
    for dataset, message in cases:
        assert train.main(["--dataset", *dataset, "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


def test_bad_flag_exits_2_with_one_line_and_no_traceback(tmp_path):
    result = _run("--epochs", "0", "--out", str(tmp_path / "x"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "epochs must be a positive integer; received epochs=0" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("argv, message", [
    (["--image-size", "48"], "image_size must be one of 8, 14, 16, 28, 32"),
    (["--augment", "colour"], "augment must name each of color, translation, cutout"),
    (["--batch-size", "-1"], "batch_size must be a positive integer; received batch_size=-1"),
    (["--learning-rate", "5"], "learning_rate must be between 0 and 1; received learning_rate=5"),
    (["--beta1", "1.5"], "beta1 must be in [0, 1); received beta1=1.5"),
    (["--steps-per-epoch", "0"], "steps_per_epoch must be a positive integer"),
    (["--dataset", "no_such_dataset_xyz"], "dataset 'no_such_dataset_xyz' is neither a folder"),
    (["--batch-size", "60001"], "batch_size must not exceed the number of images"),
    (["--batch-size", "100000"], "batch_size must be at most 65536; received batch_size=100000"),
    (["--epochs", str(10**23)], "epochs must be at most 100000"),
    (["--num-samples", "5000"], "num_samples must be at most 1024"),
])
def test_bad_values_give_one_line_naming_the_value_and_exit_2(argv, message, capsys, tmp_path):
    assert train.main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("train.py: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["--d-update", "alternate"], "invalid choice: 'alternate'"),
    (["--epochs", "ten"], "invalid int value: 'ten'"),
    (["--channels", "2"], "invalid choice: 2"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_unparsable_flags_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _one_line_error(argv, capsys):
    return one_line_error(train.main, "train.py", argv, capsys)


def test_out_folder_holding_a_finished_run_is_refused(tmp_path, capsys):
    (tmp_path / "config.json").write_text(TrainConfig().to_json())
    (tmp_path / "generator.keras").write_text("the user's model")
    assert "already holds a run with saved models" in _one_line_error(
        ["--out", str(tmp_path)], capsys)
    assert (tmp_path / "generator.keras").read_text() == "the user's model"
    # generate.py --run wrote RUN/generated/: still a run to continue, and the message says how.
    (tmp_path / "generated" / "seed-0").mkdir(parents=True)
    assert "Continue it with --resume" in _one_line_error(["--out", str(tmp_path)], capsys)


@pytest.mark.parametrize("files", [
    ["generator.keras"], ["losses.csv"], ["samples/epoch_001.png"], ["notes.txt"],
    ["config.json"],  # not a tf-dcgan config: the user's own file
])
def test_out_folder_holding_the_users_files_is_refused_and_left_alone(tmp_path, capsys, files):
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("mine")
    err = _one_line_error(["--out", str(tmp_path), *TINY], capsys)
    assert "holds files that train.py did not write" in err and files[0].split("/")[0] in err
    for name in files:
        assert (tmp_path / name).read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({f.split("/")[0] for f in files})


def test_out_inside_the_dataset_folder_is_refused(image_tree, capsys):
    for out in (image_tree, image_tree / "runs" / "one"):
        err = _one_line_error(["--dataset", str(image_tree), "--image-size", "16",
                               "--out", str(out)], capsys)
        assert "must be outside the dataset folder" in err
    assert not (image_tree / "runs").exists()


def test_unwritable_out_is_one_line(capsys):
    err = _one_line_error(["--out", "/proc/tf_dcgan_run", *TINY], capsys)
    assert "out must be a folder you can write to" in err


def test_a_run_folder_in_use_by_another_process_is_refused(tmp_path, capsys):
    holder = RunFolder(tmp_path / "run").claim()  # as a running train.py holds it
    try:
        err = _one_line_error(["--out", str(tmp_path / "run"), *TINY], capsys)
        assert f"another train.py (pid {os.getpid()})" in err
    finally:
        holder.release()


@pytest.mark.slow
def test_a_run_that_fails_mid_training_says_so_and_the_same_command_retries(
        tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    argv = [*TINY, "--out", str(out), "--epochs", "1", "--steps-per-epoch", "2"]

    def disk_full(self, gan):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(RunFolder, "save_models", disk_full)
        err = _one_line_error(argv, capsys)
    assert "training stopped after 0 finished epochs (OSError: [Errno 28] No space left" in err
    assert "run the same command again" in err
    assert (out / "samples" / "epoch_001.png").exists()  # written before the failure
    assert train.main(argv) == 0
    assert (out / "generator.keras").is_file()
    assert len((out / "losses.csv").read_text().splitlines()) == 1 + 2  # no rows of the failure


@pytest.mark.slow
def test_a_disk_that_fills_after_a_save_names_the_resume_that_continues(tmp_path, capsys,
                                                                        monkeypatch):
    out = tmp_path / "run"
    argv = [*TINY, "--out", str(out), "--epochs", "2", "--steps-per-epoch", "2"]
    real_save = RunFolder.save_models
    calls = []

    def full_on_the_second_save(self, gan):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_save(self, gan)

    with monkeypatch.context() as patch:
        patch.setattr(RunFolder, "save_models", full_on_the_second_save)
        err = _one_line_error(argv, capsys)
    assert "training stopped after 1 finished epochs" in err
    assert f"--out {out} --resume" in err and "another --out" not in err
    assert train.main(["--out", str(out), "--resume"]) == 0
    assert "resumed from the checkpoint of step" in capsys.readouterr().out
    assert (out / "samples" / "epoch_002.png").exists()


def test_dry_run_prints_the_config(capsys):
    assert train.main(["--dry-run", "--epochs", "3", "--d-update", "joint"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["epochs"] == 3 and config["d_update"] == "joint" and config["batch_size"] == 64


def test_dry_run_checks_that_a_dataset_path_exists(tmp_path, capsys):
    assert "dataset folder" in _one_line_error(
        ["--dataset", str(tmp_path / "missing"), "--dry-run"], capsys)
    assert train.main(["--dataset", str(tmp_path), "--dry-run"]) == 0


def test_help_ends_with_examples():
    result = _run("--help")
    assert result.returncode == 0
    assert "python train.py --epochs 20" in result.stdout.split("examples:")[-1]


def test_an_offline_tfds_download_fails_in_one_line(tmp_path):
    # A proxy on a closed loopback port: the download fails at once, as with no network.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--dataset", "mnist", "--data-dir",
         str(tmp_path / "tfds"), "--out", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("train.py: error: dataset 'mnist' could not be fetched")
    assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "run").exists()
