"""Long runs: divergence stops a run without touching the last good models; the GIF scales."""

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.config import TrainConfig
from tf_dcgan.training import run as training
from tf_dcgan.training.callbacks import SampleGrid, TrainingGif
from tf_dcgan.training.guards import DivergenceGuard


def _tiny_run(tmp_path, epochs=2):
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    config = TrainConfig(dataset=str(tmp_path / "images.npy"), epochs=epochs, batch_size=16,
                         steps_per_epoch=3, base_filters=4, latent_dim=8, num_samples=4, seed=0,
                         out=str(tmp_path / "run"))
    return training.prepare_run(config)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_models(tmp_path):
    run = _tiny_run(tmp_path, epochs=3)
    def batches():
        # Epoch 1 (3 steps) is clean; from step 4 on the data holds NaN, as a broken source would.
        step = 0
        while True:
            step += 1
            yield np.full((16, 16, 16, 1), np.nan if step > 3 else 0.0, np.float32)

    run.dataset = tf.data.Dataset.from_generator(
        batches, output_signature=tf.TensorSpec((16, 16, 16, 1), tf.float32))
    with pytest.raises(training.TrainingDiverged) as error:
        training.train(run, verbose=0)
    message = str(error.value)
    assert "training diverged at step 4 (epoch 2)" in message
    assert "keeps generator.keras and dcgan.keras of epoch 1, the last good models" in message
    generator = keras.models.load_model(run.folder.generator_path, compile=False)
    assert all(np.isfinite(np.asarray(w)).all() for w in generator.weights)
    assert [p.name for p in run.folder.samples_dir.iterdir()] == ["epoch_001.png"]
    assert iio.imread(run.folder.gif_path, index=None).shape[0] == 1


def test_the_collapse_warning_is_printed_once_with_what_to_try():
    said = []
    guard = DivergenceGuard(window=5, print_fn=said.append)
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.on_epoch_begin(0)
    for step in range(20):
        guard.on_train_batch_end(step, {"d_loss": 0.01, "d_fake": 0.002, "g_loss": 9.0})
    assert len(said) == 1 and "the discriminator wins outright" in said[0]
    assert "--d-update joint" in said[0] and guard.diverged is None
    healthy = DivergenceGuard(window=5, print_fn=said.append)
    healthy.set_model(guard.model)
    for step in range(20):
        healthy.on_train_batch_end(step, {"d_loss": 1.2, "d_fake": 0.4, "g_loss": 1.0})
    assert len(said) == 1


def test_the_gif_keeps_epoch_order_past_999_and_reads_old_grids_once(tiny_gan, tiny_images,
                                                                     tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    for epoch, value in ((999, 10), (1000, 20)):
        iio.imwrite(samples / f"epoch_{epoch:03d}.png", np.full((38, 38), value, np.uint8))
    gan = tiny_gan()

    class ForgetOldGrids(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for path in samples.glob("epoch_99*.png"):
                path.unlink()

    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16).take(1)
    gan.fit(dataset, epochs=1002, initial_epoch=1000, verbose=0, callbacks=[
        SampleGrid(samples, num_images=4, seed=0, scale=1),
        TrainingGif(samples, tmp_path / "training.gif"),
        ForgetOldGrids(),
    ])
    frames = iio.imread(tmp_path / "training.gif", index=None)
    assert frames.shape[0] == 4  # 999, 1000, 1001, 1002: old grids were read once, at the start
    assert frames[0].mean() < frames[1].mean()  # 999 (value 10) before 1000 (value 20)
    assert sorted(p.name for p in samples.iterdir()) == ["epoch_1000.png", "epoch_1001.png",
                                                         "epoch_1002.png"]


@pytest.mark.slow
def test_tensorboard_gets_every_metric_per_step_and_the_grid_per_epoch(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import train

    run = tmp_path / "run"
    assert train.main(["--batch-size", "16", "--base-filters", "4", "--latent-dim", "8",
                       "--num-samples", "4", "--seed", "0", "--steps-per-epoch", "3",
                       "--epochs", "2", "--tensorboard", "--out", str(run)]) == 0
    events = EventAccumulator(str(run / "logs"), size_guidance={"tensors": 0, "images": 0})
    events.Reload()
    # tf.summary writes scalars and images as tensors (TensorBoard's v2 summaries).
    tags = set(events.Tags()["tensors"])
    assert {"d_loss", "g_loss", "d_real_loss", "d_fake_loss", "d_real", "d_fake",
            "samples"} <= tags
    steps = [event.step for event in events.Tensors("g_loss")]
    assert steps == list(range(1, 7))
    csv_rows = (run / "losses.csv").read_text().splitlines()[1:]
    header = (run / "losses.csv").read_text().splitlines()[0].split(",")
    last = dict(zip(header, csv_rows[-1].split(",")))
    logged = tf.make_ndarray(events.Tensors("g_loss")[-1].tensor_proto)
    assert float(logged) == pytest.approx(float(last["g_loss"]), rel=1e-5)
    images = events.Tensors("samples")
    assert [event.step for event in images] == [1, 2]
    png = tf.make_ndarray(images[-1].tensor_proto)[2]  # width, height, then encoded images
    logged_grid = iio.imread(png)
    logged_grid = logged_grid[..., 0] if logged_grid.ndim == 3 else logged_grid
    # The file is the same grid upscaled (nearest neighbour) to at least 512 pixels.
    saved = iio.imread(run / "samples" / "epoch_002.png")
    factor = saved.shape[0] // logged_grid.shape[0]
    assert factor * logged_grid.shape[0] == saved.shape[0] >= 512
    np.testing.assert_array_equal(logged_grid, saved[::factor, ::factor])


def test_keep_best_keeps_the_best_scoring_state_beside_the_newest(tiny_gan, tiny_images,
                                                                   tmp_path):
    from tf_dcgan.training.checkpoints import Checkpointer, KeepBest, TrainingState

    gan = tiny_gan()
    state = TrainingState(gan, tmp_path / "checkpoints")
    scores = iter([3.0, 1.0, 2.0])  # a stand-in for the evaluation score: epoch 2 is best
    seen = {}

    class Remember(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch + 1] = [np.asarray(w).copy() for w in self.model.generator.weights]

    best = KeepBest(state, tmp_path / "checkpoints" / "best", lambda model: next(scores))
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16).repeat()
    gan.fit(dataset, epochs=3, steps_per_epoch=2, verbose=0,
            callbacks=[Remember(), best, Checkpointer(state)])
    assert best.best == {"epoch": 2, "step": 4, "score": 1.0}
    fresh = tiny_gan()
    restored = TrainingState(fresh, tmp_path / "checkpoints")
    restored.checkpoint.restore(best.manager.latest_checkpoint).assert_existing_objects_matched()
    for ours, kept in zip(fresh.generator.weights, seen[2]):
        np.testing.assert_array_equal(np.asarray(ours), kept)
    assert restored.restore_newest() == 6  # the newest checkpoint is still there
    for ours, last in zip(fresh.generator.weights, seen[3]):
        np.testing.assert_array_equal(np.asarray(ours), last)
