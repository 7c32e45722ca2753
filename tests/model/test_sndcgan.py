"""--recipe sndcgan and --loss hinge: SNDCGAN's spectrally normalised D, the hinge loss, and a run of them
that saves, loads and exports like any other."""

import math
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import export
from tests.helpers import ROOT, tflite_run
from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
from tf_dcgan.checks import GAN_LOSSES
from tf_dcgan.config import TrainConfig
from tf_dcgan.model import losses
from tf_dcgan.model.layers import SpectralConv2D, SpectralDense, SpectralEmbedding
from tf_dcgan.training.run import build_gan


def _spectral_gan(**compile_kwargs):
    gan = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1),
                build_discriminator(ImageFormat(16, 1), base_filters=4, seed=2,
                                    architecture="sndcgan"),
                latent_dim=8, seed=3)
    gan.compile(**{"gan_loss": "hinge", "d_update": "joint", **compile_kwargs})
    return gan


def _largest_singular_value(kernel):
    matrix = np.asarray(kernel, dtype="float32").reshape(-1, kernel.shape[-1])
    return float(np.linalg.svd(matrix, compute_uv=False)[0])


def _spectral_layers(d):
    return [layer for layer in d.layers if isinstance(
        layer, (SpectralConv2D, SpectralDense, SpectralEmbedding))]


@pytest.mark.parametrize("size,filters", [
    (28, [8, 8, 16, 16, 32, 32, 64]),   # Miyato et al.'s standard CNN, 28x28 keeps its depth
    (32, [8, 8, 16, 16, 32, 32, 64]),   # ... at their 32x32
    (64, [8, 16, 16, 32, 32, 64, 64]),  # compare_gan's sndcgan at 64x64
])
def test_the_sndcgan_discriminator_is_the_published_standard_cnn(size, filters):
    d = build_discriminator(ImageFormat(size, 3), base_filters=8, architecture="sndcgan")
    convolutions = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convolutions] == filters
    assert [(c.kernel_size, c.strides) for c in convolutions] == [
        ((3, 3), (1, 1)) if i % 2 == 0 else ((4, 4), (2, 2)) for i in range(7)]
    assert all(c.use_bias for c in convolutions)
    slopes = [layer.negative_slope for layer in d.layers
              if isinstance(layer, keras.layers.LeakyReLU)]
    assert slopes == pytest.approx([0.1] * 7)
    assert not [layer for layer in d.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert d.get_layer("flatten").output.shape[-1] == math.ceil(size / 8) ** 2 * filters[-1]


@pytest.mark.parametrize("classes", [{}, {"classes": 3}], ids=["plain", "projection"])
def test_every_weight_layer_of_the_sndcgan_d_is_spectrally_normalised(classes):
    d = build_discriminator(ImageFormat(28, 1), base_filters=4, architecture="sndcgan", **classes)
    normalised = [layer.name for layer in _spectral_layers(d)]
    expected = [f"conv{i}" for i in range(1, 8)] + ["logit"] + (
        ["class_projection"] if classes else [])
    assert sorted(normalised) == sorted(expected)
    # Nothing else in D has a weight.
    assert all(not layer.weights for layer in d.layers
               if layer.name not in normalised and layer.name != "class_label")
    with pytest.raises(ValueError, match="discriminator must be one of dcgan, sndcgan"):
        build_discriminator(ImageFormat(28, 1), architecture="spectral")


def test_the_gradient_is_taken_through_sigma(tiny_images):
    # W / sigma(W) does not change when W is scaled, so with the gradient through sigma (Miyato
    # et al.) the kernel's gradient is orthogonal to the kernel; Keras' wrapper, which takes it at
    # W / sigma as a constant divisor, gives an inner product far from 0.
    d = build_discriminator(ImageFormat(16, 1), base_filters=4, seed=0, architecture="sndcgan",
                            classes=3)
    labels = tf.constant([0, 1, 2, 0])
    with tf.GradientTape() as tape:
        logits = d({"images": tf.constant(tiny_images[:4]), "label": labels}, training=True)
        loss = tf.reduce_sum(tf.square(logits))
    weights = [layer.weights[0] for layer in _spectral_layers(d)]
    for weight, gradient in zip(weights, tape.gradient(loss, weights)):
        gradient = tf.convert_to_tensor(gradient)
        cosine = tf.reduce_sum(gradient * weight) / (tf.norm(gradient) * tf.norm(weight))
        assert abs(float(cosine)) < 1e-4, weight.path
        assert float(tf.norm(gradient)) > 0, weight.path


def test_training_calls_bring_every_normalised_kernel_to_spectral_norm_one(tiny_images):
    d = build_discriminator(ImageFormat(16, 1), base_filters=4, seed=0, architecture="sndcgan")
    layers = _spectral_layers(d)
    raw = [np.array(layer.kernel) for layer in layers]
    assert all(abs(_largest_singular_value(k) - 1) > 0.2 for k in raw)  # N(0, 0.02) start
    for _ in range(30):  # one power iteration per call
        d(tiny_images[:8], training=True)
    for layer, before in zip(layers, raw):
        assert _largest_singular_value(layer.normalized_weight()) == pytest.approx(1.0, abs=0.02)
        np.testing.assert_array_equal(layer.kernel, before)  # the raw kernel is never rewritten


def test_under_mixed_bfloat16_the_kernel_vector_and_sigma_stay_float32(tiny_images):
    d = build_discriminator(ImageFormat(16, 1), base_filters=4, seed=0, dtype="mixed_bfloat16",
                            architecture="sndcgan")
    layer = d.get_layer("conv2")
    d(tiny_images[:8], training=True)
    assert layer.compute_dtype == "bfloat16" and layer.normalized_weight().dtype == tf.bfloat16
    assert layer.kernel.dtype == "float32" and layer.vector_u.dtype == "float32"
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(d(tiny_images[:8], training=True))
    assert tape.gradient(loss, layer.kernel).dtype == tf.float32


def test_the_hinge_losses_are_the_hinge_formulas():
    d_loss, g_loss = losses.adversarial_losses("hinge")
    logits = tf.constant([[-2.0], [-0.5], [0.25], [3.0]])
    relu = np.maximum
    assert float(losses.discriminator_real_loss(d_loss, logits)) == pytest.approx(
        np.mean(relu(0, 1 - logits.numpy())))
    assert float(losses.discriminator_fake_loss(d_loss, logits)) == pytest.approx(
        np.mean(relu(0, 1 + logits.numpy())))
    assert float(losses.generator_loss(g_loss, logits)) == pytest.approx(-np.mean(logits))
    # ns: G's loss is the cross-entropy with target 1, as before.
    d_loss, g_loss = losses.adversarial_losses("ns")
    assert d_loss is g_loss
    with pytest.raises(ValueError, match="loss must be one of ns, hinge"):
        losses.adversarial_losses("wasserstein")


def test_every_loss_name_has_its_functions_and_nothing_else_does():
    # One table of names (TF-free: flags, config, docs) and one of functions, by the same keys.
    assert set(losses.LOSS_FUNCTIONS) == set(GAN_LOSSES)
    for name, kind in GAN_LOSSES.items():
        d_loss, g_loss = losses.adversarial_losses(name)
        assert (d_loss is g_loss) == kind.g_shares_d_loss, name
        assert name in TrainConfig.__dataclass_fields__["loss"].metadata["help"]


def test_hinge_trains_and_refuses_label_smoothing(tiny_images):
    gan = _spectral_gan()
    for _ in range(3):
        logs = gan.train_on_batch(tiny_images[:16], return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert logs["d_loss"] == pytest.approx(logs["d_real_loss"] + logs["d_fake_loss"], rel=1e-5)
    with pytest.raises(ValueError, match="label smoothing is for the cross-entropy loss"):
        _spectral_gan(real_label=0.9)


def test_a_saved_sndcgan_loads_with_its_power_iteration_vectors_and_trains_on_alike(
        tiny_images, tmp_path):
    gan = _spectral_gan()
    for _ in range(2):
        gan.train_on_batch(tiny_images[:16])
    gan.save(tmp_path / "dcgan.keras")
    loaded = keras.models.load_model(tmp_path / "dcgan.keras")
    assert loaded.gan_loss == "hinge" and isinstance(loaded.g_loss_fn, losses.GeneratorHinge)
    vectors = [w.path for w in loaded.discriminator.weights if w.path.endswith("vector_u")]
    assert len(vectors) == 8
    for mine, theirs in zip(gan.discriminator.weights, loaded.discriminator.weights):
        np.testing.assert_array_equal(mine, theirs)
    gan.seed_generator.state.assign(loaded.seed_generator.state.value)
    gan.train_on_batch(tiny_images[16:32])
    loaded.train_on_batch(tiny_images[16:32])
    for mine, theirs in zip(gan.discriminator.weights, loaded.discriminator.weights):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_the_sndcgan_recipe_keeps_the_papers_generator():
    # So everything downstream of the generator (generator.keras, every export) is unchanged.
    sndcgan = TrainConfig(image_size=28, channels=1, seed=0).with_recipe("sndcgan")
    default = TrainConfig(image_size=28, channels=1, seed=0)
    assert (build_gan(sndcgan).generator.get_config()
            == build_gan(default).generator.get_config())


@pytest.mark.slow
def test_an_sndcgan_hinge_run_trains_and_exports(tmp_path, capsys):
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--recipe", "sndcgan", "--loss", "hinge",
         "--batch-size", "16", "--base-filters", "8", "--latent-dim", "8", "--num-samples", "4",
         "--epochs", "1", "--steps-per-epoch", "6", "--seed", "0", "--out", str(run)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"discriminator": "sndcgan"' in (run / "config.json").read_text()
    assert export.main(["--run", str(run), "--out", str(tmp_path / "out"), "--tflite"]) == 0
    generator = keras.models.load_model(run / "generator.keras")
    noise = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    expected = generator(noise, training=False).numpy()
    assert np.abs(tflite_run(tmp_path / "out" / "dcgan.tflite", noise) - expected).max() < 1e-4
    served = tf.saved_model.load(str(tmp_path / "out" / "dcgan" / "1"))
    images = served.signatures["serving_default"](noise=tf.constant(noise))["images"]
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-5)


def test_sndcgan_trains_with_the_conditional_model_ema_bfloat16_and_augmentation(tiny_images):
    config = TrainConfig(image_size=16, channels=1, latent_dim=8, base_filters=8, seed=0,
                         conditional=True, class_names=["a", "b", "c"], ema_decay=0.999,
                         precision="mixed_bfloat16", augment="color,translation,cutout",
                         loss="hinge").with_recipe("sndcgan", given={"loss", "ema_decay",
                                                                     "augment"})
    gan = build_gan(config.validate())
    assert isinstance(gan.discriminator.get_layer("class_projection"), SpectralEmbedding)
    labels = np.arange(16) % 3
    before = [np.array(w) for w in gan.ema_generator.weights]
    embedding = gan.discriminator.get_layer("class_projection").embeddings
    first = np.array(embedding)
    for start in (0, 16):
        logs = gan.train_on_batch(tiny_images[start:start + 16], labels, return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    # The projection's class embedding trains.
    assert not np.allclose(first, np.array(embedding))
    assert not np.allclose(np.array(embedding), np.round(np.array(embedding)))
    assert any(not np.array_equal(b, a) for b, a in zip(before, gan.ema_generator.weights))
    assert gan.generate(3, seed=0, labels=2).shape == (3, 16, 16, 1)
