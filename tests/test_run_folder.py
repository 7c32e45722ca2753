import keras
import numpy as np
import pytest

from tf_dcgan.config import TrainConfig
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.training import TrainingState


def test_a_new_folder_is_named_by_time_and_dataset_and_written_only_with_its_config(tmp_path):
    run = RunFolder.create(None, "cifar10:test", runs_dir=tmp_path / "runs")
    assert run.path.parent == tmp_path / "runs" and run.path.name.endswith("-cifar10_test")
    assert not run.path.exists()
    config = TrainConfig(seed=1, out=str(run.path))
    run.write_config(config)
    assert RunFolder.open(run.path).read_config() == config
    second = RunFolder.create(None, "cifar10:test", runs_dir=tmp_path / "runs")
    assert second.path != run.path


def test_a_folder_holding_a_run_or_a_file_is_refused(tmp_path):
    RunFolder(tmp_path / "run").write_config(TrainConfig())
    RunFolder.create(tmp_path / "run")  # a run that never saved a model can start again
    (tmp_path / "run" / "dcgan.keras").write_text("")
    with pytest.raises(ValueError, match="already holds a run"):
        RunFolder.create(tmp_path / "run")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="which is a file"):
        RunFolder.create(tmp_path / "file")
    with pytest.raises(ValueError, match="which does not exist"):
        RunFolder.open(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="which has no config.json"):
        RunFolder.open(tmp_path / "plain")


def _saved_generator_output(path, noise):
    return keras.models.load_model(path, compile=False)(noise, training=False).numpy()


def test_models_of_an_epoch_are_saved_together(tiny_gan, tiny_images, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    gan = tiny_gan()
    assert run.latest_generator() is None
    run.save_models(gan)
    assert run.latest_generator() == run.generator_path
    noise = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    first = _saved_generator_output(run.generator_path, noise)
    gan.train_on_batch(tiny_images[:16])
    run.save_models(gan)
    second = _saved_generator_output(run.generator_path, noise)
    assert not np.allclose(first, second)
    np.testing.assert_allclose(
        keras.models.load_model(run.dcgan_path).generator(noise, training=False).numpy(), second,
        atol=1e-6)
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "dcgan.keras",
                                                          "generator.keras"]


def _stage(run, gan, complete):
    """What save_models leaves when a stop hits it: staged files, maybe not yet marked done."""
    staging = run.path / ".saving"
    staging.mkdir()
    gan.save(staging / "dcgan.keras")
    gan.generator.save(staging / "generator.keras")
    if complete:
        (staging / "COMPLETE").write_text("{}")
        # The stop came after the first rename.
        (staging / "dcgan.keras").replace(run.dcgan_path)


def test_a_save_stopped_between_its_renames_is_finished_on_open(tiny_gan, tiny_images, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    gan = tiny_gan()
    run.save_models(gan)
    gan.train_on_batch(tiny_images[:16])
    _stage(run, gan, complete=True)
    noise = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    RunFolder.open(run.path)
    expected = gan.generator(noise, training=False).numpy()
    np.testing.assert_allclose(_saved_generator_output(run.generator_path, noise), expected,
                               atol=1e-6)
    assert not (run.path / ".saving").exists()


def test_a_save_stopped_while_writing_keeps_the_previous_pair(tiny_gan, tiny_images, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    gan = tiny_gan()
    run.save_models(gan)
    noise = np.random.default_rng(0).normal(size=(2, 8)).astype("float32")
    before = _saved_generator_output(run.generator_path, noise)
    gan.train_on_batch(tiny_images[:16])
    _stage(run, gan, complete=False)
    RunFolder.open(run.path)
    np.testing.assert_array_equal(_saved_generator_output(run.generator_path, noise), before)
    np.testing.assert_allclose(
        keras.models.load_model(run.dcgan_path).generator(noise, training=False).numpy(), before,
        atol=1e-6)
    assert not (run.path / ".saving").exists()


def test_opening_a_run_that_a_live_process_holds_leaves_its_save_alone(tiny_gan, tiny_images,
                                                                     tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    gan = tiny_gan()
    run.save_models(gan)
    gan.train_on_batch(tiny_images[:16])
    holder = RunFolder(run.path).claim(resume=True)  # what train.py holds while it runs
    try:
        _stage(run, gan, complete=False)  # its save in progress: files still being written
        staged = sorted(p.name for p in (run.path / ".saving").iterdir())
        RunFolder.open(run.path)  # export.py --run, evaluate.py --run, a refused --resume
        assert sorted(p.name for p in (run.path / ".saving").iterdir()) == staged
    finally:
        holder.release()
    RunFolder.open(run.path)  # nobody holds it now: the unfinished save is discarded
    assert not (run.path / ".saving").exists()


def test_claiming_an_unfinished_run_clears_its_outputs_and_leftovers(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig())
    run.samples_dir.mkdir()
    for path in (run.samples_dir / "epoch_001.png", run.gif_path, run.losses_csv_path,
                 run.path / ".losses.tmp-99999.csv"):
        path.write_text("old")
    claimed = RunFolder.create(run.path).claim()
    assert (run.path / ".lock").read_text().strip() == str(__import__("os").getpid())
    claimed.release()  # and its lock file goes with it
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "samples"]
    assert list(run.samples_dir.iterdir()) == []


@pytest.fixture
def read_only_view(tmp_path):
    """A read-only bind mount of a folder (a run on a read-only disk or share), or a skip where
    this machine allows no mount."""
    import subprocess

    mounts = []

    def view(folder):
        target = tmp_path / f"read-only-{len(mounts)}"
        target.mkdir()
        for command in (["mount", "--bind", str(folder), str(target)],
                        ["mount", "-o", "remount,bind,ro", str(target)]):
            if subprocess.run(command, capture_output=True).returncode != 0:
                pytest.skip("needs root to mount a folder read-only (mount --bind, remount ro): chmod "
                            "does not stop root, so no other way to make one here")
            mounts.append(target) if command[1] == "--bind" else None
        return target

    yield view
    for target in mounts:
        subprocess.run(["umount", str(target)], capture_output=True)


def test_a_read_only_run_with_a_leftover_save_is_read_and_refused_in_one_line(
        tiny_gan, tiny_images, tmp_path, read_only_view, capsys):
    import export
    import train

    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig(seed=0, out=str(run.path)))
    gan = tiny_gan()
    run.save_models(gan)
    TrainingState(gan, run.checkpoints_dir).save(1)
    gan.train_on_batch(tiny_images[:16])
    _stage(run, gan, complete=True)  # a save stopped between its two renames
    view = read_only_view(run.path)
    assert RunFolder.open(view).generator_path.is_file()
    assert (view / ".saving").is_dir()  # read as it is: nothing can be repaired here
    assert export.main(["--run", str(view), "--out", str(tmp_path / "exports")]) == 0
    capsys.readouterr()
    assert train.main(["--out", str(view), "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err


def test_a_claim_racing_a_release_holds_the_folders_current_lock(tmp_path, monkeypatch):
    import fcntl

    run = RunFolder.create(tmp_path / "run").claim()
    stale = open(run.path / ".lock", "a+")  # opened just before the holder releases
    run.release()
    fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a lock on a file that is gone
    second = RunFolder(tmp_path / "run").claim()  # takes the folder's lock, a new file
    third = RunFolder(tmp_path / "run")
    with pytest.raises(ValueError, match="out is in use"):
        third.claim()
    second.release()
    stale.close()


def test_the_model_cards_licence_reads_the_dataset_as_training_does(tmp_path):
    from tf_dcgan.model_card import DATASET_LICENCES, OWN_LICENCE, dataset_licence

    # A TFDS name with any split is that dataset; a name tf-dcgan has no licence for is unknown.
    assert dataset_licence("fashion_mnist:train[-1000:]+test") == DATASET_LICENCES["fashion_mnist"]
    assert dataset_licence("lsun/bedroom") == "unknown"
    # The user's folder or array file, and a run's folder that is not on this machine.
    (tmp_path / "faces").mkdir()
    np.save(tmp_path / "faces.npy", np.zeros((2, 8, 8), np.uint8))
    for dataset in (tmp_path / "faces", tmp_path / "faces.npy", "/gone/faces", "~/gone.npz"):
        assert dataset_licence(str(dataset)) == OWN_LICENCE, dataset
