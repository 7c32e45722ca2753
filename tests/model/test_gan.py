import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator, latent_noise


def _weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def _changed(before, model):
    return [not np.array_equal(a, b) for a, b in zip(before, _weights(model))]


def test_one_fit_step_changes_both_networks(tiny_gan, tiny_images):
    gan = tiny_gan()
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16).take(1)
    history = gan.fit(dataset, epochs=1, verbose=0)
    assert all(_changed(g_before, gan.generator))
    assert all(_changed(d_before, gan.discriminator))
    for name in ("d_loss", "d_real_loss", "d_fake_loss", "g_loss", "d_real", "d_fake"):
        assert np.isfinite(history.history[name][0]), name
    logs = history.history
    assert logs["d_loss"][0] == pytest.approx(logs["d_real_loss"][0] + logs["d_fake_loss"][0],
                                              rel=1e-5)
    assert 0 < logs["d_real"][0] < 1 and 0 < logs["d_fake"][0] < 1


def test_discriminator_steps_change_no_generator_weight(tiny_gan, tiny_images):
    # With G's learning rate at 0, only the discriminator's two steps can move anything.
    gan = tiny_gan(g_optimizer=keras.optimizers.Adam(0.0, beta_1=0.5))
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    gan.train_on_batch(tiny_images[:16])
    assert not any(_changed(g_before, gan.generator))
    assert all(_changed(d_before, gan.discriminator))


def test_generator_step_changes_no_discriminator_weight(tiny_gan, tiny_images):
    gan = tiny_gan(d_optimizer=keras.optimizers.Adam(0.0, beta_1=0.5))
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    gan.train_on_batch(tiny_images[:16])
    assert not any(_changed(d_before, gan.discriminator))
    assert all(_changed(g_before, gan.generator))


@pytest.mark.parametrize("d_update, d_steps", [("separate", 2), ("joint", 1)])
def test_discriminator_optimizer_steps_per_batch(tiny_gan, tiny_images, d_update, d_steps):
    gan = tiny_gan(d_update=d_update)
    for _ in range(3):
        gan.train_on_batch(tiny_images[:16])
    assert int(gan.d_optimizer.iterations.numpy()) == 3 * d_steps
    assert int(gan.g_optimizer.iterations.numpy()) == 3


def test_separate_and_joint_updates_differ(tiny_gan, tiny_images):
    separate, joint = tiny_gan(d_update="separate"), tiny_gan(d_update="joint")
    separate.train_on_batch(tiny_images[:16])
    joint.train_on_batch(tiny_images[:16])
    differs = [not np.allclose(a, b) for a, b in
               zip(_weights(separate.discriminator), _weights(joint.discriminator))]
    assert any(differs)


def test_fit_takes_image_batches_and_image_label_pairs(tiny_gan, tiny_images):
    labels = np.arange(len(tiny_images))
    for dataset in (
        tf.data.Dataset.from_tensor_slices(tiny_images).batch(16),
        tf.data.Dataset.from_tensor_slices((tiny_images, labels)).batch(16),
    ):
        gan = tiny_gan()
        history = gan.fit(dataset, epochs=1, verbose=0)
        assert int(gan.g_optimizer.iterations.numpy()) == 4
        assert np.isfinite(history.history["g_loss"][0])


def test_fit_works_with_keras_callbacks(tiny_gan, tiny_images, tmp_path):
    gan = tiny_gan()
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)
    gan.fit(dataset, epochs=2, verbose=0, callbacks=[
        keras.callbacks.CSVLogger(str(tmp_path / "log.csv")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup")),
        keras.callbacks.TerminateOnNaN(),
    ])
    assert (tmp_path / "log.csv").read_text().count("\n") == 3


def test_the_progress_bar_never_counts_past_the_epochs_end(tiny_gan, tiny_images, capfd):
    # 10 steps an epoch, 4 a call: the last call runs 2 steps, which Keras' own bar counted as 4
    # (12/10 before 10/10).
    gan = tiny_gan(steps_per_execution=4)
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images[:16]).batch(8).repeat()
    gan.fit(dataset, epochs=2, steps_per_epoch=10, verbose=1)
    shown = [int(n) for n in re.findall(r"(\d+)/10(?!\d)", capfd.readouterr().out)]
    assert shown and max(shown) == 10, shown


def test_training_noise_differs_between_steps(tiny_gan, tiny_images):
    gan = tiny_gan()
    first = gan._training_noise(4).numpy()
    second = gan._training_noise(4).numpy()
    assert not np.allclose(first, second)


def test_generate_is_reproducible_in_range_and_uses_inference_batchnorm(tiny_gan, tiny_images):
    gan = tiny_gan()
    gan.train_on_batch(tiny_images[:16])
    moving = [v.numpy().copy() for v in gan.generator.non_trainable_variables]
    images = gan.generate(6, seed=42).numpy()
    assert images.shape == (6, 16, 16, 1)
    assert images.min() >= -1 and images.max() <= 1
    np.testing.assert_array_equal(images, gan.generate(6, seed=42).numpy())
    assert not np.allclose(images, gan.generate(6, seed=43).numpy())
    # Inference-mode BatchNorm: each image depends on its own noise only, not on the batch.
    single = gan.generator(latent_noise(6, 8, 42)[:1], training=False).numpy()
    np.testing.assert_allclose(single[0], images[0], atol=1e-5)
    for before, after in zip(moving, gan.generator.non_trainable_variables):
        np.testing.assert_array_equal(before, after.numpy())
    assert gan.generate(3).shape == (3, 16, 16, 1)
    with pytest.raises(ValueError, match="num_images must be a positive integer"):
        gan.generate(0)


def test_keras_file_round_trip_keeps_networks_optimizers_and_training(tiny_gan, tiny_images,
                                                                      tmp_path):
    gan = tiny_gan(d_update="joint", steps_per_execution=3)
    for _ in range(2):
        gan.train_on_batch(tiny_images[:16])
    path = tmp_path / "dcgan.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, DCGAN)
    assert loaded.d_update == "joint" and loaded.latent_dim == 8
    assert loaded.steps_per_execution == 3  # fit on a loaded run keeps its steps per call
    np.testing.assert_array_equal(gan.generate(4, seed=1).numpy(),
                                  loaded.generate(4, seed=1).numpy())
    probe = tiny_images[:4]
    np.testing.assert_allclose(gan.discriminator(probe, training=False).numpy(),
                               loaded.discriminator(probe, training=False).numpy(), atol=1e-6)
    for optimizer, restored in ((gan.d_optimizer, loaded.d_optimizer),
                                (gan.g_optimizer, loaded.g_optimizer)):
        assert len(optimizer.variables) == len(restored.variables) > 2
        for a, b in zip(optimizer.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(loaded.d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4)
    assert float(loaded.d_optimizer.beta_1) == pytest.approx(0.5)
    # Training continues where it stopped: same next step on both.
    gan.seed_generator.state.assign(loaded.seed_generator.state.value)
    gan.train_on_batch(tiny_images[16:32])
    loaded.train_on_batch(tiny_images[16:32])
    assert int(loaded.g_optimizer.iterations.numpy()) == 3
    for a, b in zip(gan.generator.trainable_variables, loaded.generator.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_config_round_trip():
    gan = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4),
                build_discriminator(ImageFormat(16, 1), base_filters=4), latent_dim=8, seed=5)
    clone = DCGAN.from_config(gan.get_config())
    assert clone.get_config() == gan.get_config()


def test_mismatched_networks_and_bad_compile_arguments_are_refused():
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4)
    with pytest.raises(ValueError, match="latent_dim must match the generator's input"):
        DCGAN(generator, build_discriminator(ImageFormat(16, 1), base_filters=4), latent_dim=100)
    with pytest.raises(ValueError, match="the discriminator must take the generator's images"):
        DCGAN(generator, build_discriminator(ImageFormat(32, 1), base_filters=4), latent_dim=8)
    gan = DCGAN(generator, build_discriminator(ImageFormat(16, 1), base_filters=4), latent_dim=8)
    with pytest.raises(ValueError, match="d_update must be one of separate, joint"):
        gan.compile(d_update="alternate")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer objects"):
        gan.compile(d_optimizer=shared, g_optimizer=shared)


def test_one_sided_label_smoothing_moves_only_the_real_target(tiny_gan, tiny_images):
    from tf_dcgan.model import losses

    logits = tf.constant([[2.0], [-1.0]])
    bce = losses.default_loss()
    smoothed = losses.discriminator_real_loss(bce, logits, 0.9)
    expected = keras.losses.BinaryCrossentropy(from_logits=True)(tf.fill([2, 1], 0.9), logits)
    assert float(smoothed) == pytest.approx(float(expected))
    assert float(smoothed) != pytest.approx(float(losses.discriminator_real_loss(bce, logits)))
    plain, smooth = tiny_gan(), tiny_gan(real_label=0.9)
    plain.train_on_batch(tiny_images[:16])
    smooth.train_on_batch(tiny_images[:16])
    assert not np.allclose(_weights(plain.discriminator)[0], _weights(smooth.discriminator)[0])
    assert smooth.get_compile_config()["real_label"] == 0.9
    with pytest.raises(ValueError, match="real_label=0.3"):
        tiny_gan(real_label=0.3)


@pytest.mark.parametrize("scale", [lambda x: (x + 1) * 127.5, lambda x: x * 3])
def test_images_outside_minus_one_to_one_fail_the_first_step_and_train_nothing(
        tiny_gan, tiny_images, scale):
    gan = tiny_gan()
    before = [np.array(w) for w in gan.generator.weights + gan.discriminator.weights]
    with pytest.raises(ValueError, match=r"images / 127\.5 - 1") as error:
        gan.fit(scale(tiny_images), batch_size=16, epochs=1, verbose=0)
    assert "NaN" not in str(error.value) and error.value.__cause__ is None
    assert error.value.__suppress_context__ and str(error.value).startswith("DCGAN trains on")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"DCGAN trains on images in"):
        gan.train_on_batch(scale(tiny_images[:16]))
    after = gan.generator.weights + gan.discriminator.weights
    assert all(np.array_equal(b, np.array(a)) for b, a in zip(before, after))
    assert int(gan.g_optimizer.iterations.numpy()) == 0


def test_zero_to_one_images_get_a_warning_naming_the_fix(tiny_gan, tiny_images):
    with pytest.warns(UserWarning, match=r"If yours are 0-1 pixels, pass images \* 2 - 1"):
        tiny_gan().fit((tiny_images + 1) / 2, batch_size=16, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match=r"no pixel below 0"):
        tiny_gan().train_on_batch((tiny_images[:16] + 1) / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # [-1, 1] images: no warning
        tiny_gan().fit(tiny_images, batch_size=16, epochs=1, verbose=0)
        # A tf.data.Dataset, as the README's example passes: not Keras' "shuffle=True ... will
        # be ignored" warning either.
        tiny_gan().fit(tf.data.Dataset.from_tensor_slices(tiny_images).batch(16), epochs=1,
                       verbose=0)


def test_a_conditional_projection_dcgan_trains_with_the_joint_d_step(tiny_images):
    # The class embedding's real and generated gradients are IndexedSlices: the joint step sums
    # them (a plain + raised TypeError).
    gan = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1,
                                classes=3),
                build_discriminator(ImageFormat(16, 1), base_filters=8, seed=2, classes=3),
                latent_dim=8, seed=3)
    gan.compile(d_update="joint")
    embedding = gan.discriminator.get_layer("class_projection").embeddings
    before = np.array(embedding)
    logs = gan.train_on_batch(tiny_images[:16], np.arange(16) % 3, return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert not np.allclose(before, np.array(embedding))
