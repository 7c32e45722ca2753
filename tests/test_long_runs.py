"""Long runs: divergence stops a run without touching the last good models; the GIF scales."""

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan import training
from tf_dcgan.callbacks import DivergenceGuard, SampleGrid, TrainingGif
from tf_dcgan.config import TrainConfig


def _tiny_run(tmp_path, epochs=2):
    images = np.random.default_rng(0).integers(0, 256, (64, 16, 16, 1), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    config = TrainConfig(dataset=str(tmp_path / "images.npy"), epochs=epochs, batch_size=16,
                         steps_per_epoch=3, base_filters=4, latent_dim=8, num_samples=4, seed=0,
                         out=str(tmp_path / "run"))
    return training.prepare_run(config)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_models(tmp_path):
    run = _tiny_run(tmp_path, epochs=3)
    calls = []

    def batches():
        # Epoch 1 is clean; from epoch 2 on the data holds NaN, as a broken source would.
        calls.append(1)
        for _ in range(3):
            value = np.nan if len(calls) > 1 else 0.0
            yield np.full((16, 16, 16, 1), value, np.float32)

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
