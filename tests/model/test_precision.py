"""Mixed-precision training: 16-bit activations, float32 weights, losses and saved generator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import export
import train
from tests.helpers import ROOT, TINY_RUN, tflite_run
from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
from tf_dcgan import export as export_lib
from tf_dcgan.export.tflite import non_builtin_ops
from tf_dcgan.model import load_generator
from tf_dcgan.model import FastConv2D, FastConv2DTranspose
from tf_dcgan.model.networks import inference_copy, stock_copy


def _gan(dtype):
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1,
                                dtype=dtype)
    discriminator = build_discriminator(ImageFormat(16, 1), base_filters=8, seed=2, dtype=dtype)
    gan = DCGAN(generator, discriminator, latent_dim=8, seed=3)
    gan.compile()
    return gan


@pytest.mark.parametrize("dtype, compute", [("mixed_bfloat16", "bfloat16"),
                                            ("mixed_float16", "float16")])
def test_a_few_mixed_precision_steps_run_and_stay_finite(tiny_images, dtype, compute):
    gan = _gan(dtype)
    assert gan.generator.get_layer("up1").compute_dtype == compute
    assert all(w.dtype == "float32" for w in gan.generator.weights + gan.discriminator.weights)
    before = [np.array(w) for w in gan.generator.trainable_weights]
    for _ in range(3):
        logs = gan.train_on_batch(tiny_images[:16], return_dict=True)
    assert all(np.isfinite(value) for value in logs.values()), logs
    after = [np.array(w) for w in gan.generator.trainable_weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))  # G was trained
    # float16 gradients are loss-scaled, one LossScaleOptimizer per network; bfloat16 needs none.
    scaled = isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (compute == "float16")
    assert scaled == isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_the_inference_generator_is_float32_with_the_same_weights():
    gan = _gan("mixed_bfloat16")
    float32 = gan.inference_generator()
    assert {layer.compute_dtype for layer in float32.layers} == {"float32"}
    for mine, theirs in zip(float32.weights, gan.generator.weights):
        np.testing.assert_array_equal(mine, theirs)
    noise = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(float32(noise, training=False),
                               gan.generator(noise, training=False), atol=0.05)
    plain = _gan(None)
    # A float32 network's copy differs only in its BatchNorm class: the same outputs, bit for bit.
    copy = plain.inference_generator()
    np.testing.assert_array_equal(copy(noise, training=False),
                                  plain.generator(noise, training=False))
    assert inference_copy(copy) is copy  # already float32 with stock layers: no second copy


@pytest.mark.slow
def test_a_bfloat16_run_saves_and_exports_a_float32_generator(tmp_path):
    out = tmp_path / "run"
    assert train.main([*TINY_RUN, "--precision", "mixed_bfloat16", "--out", str(out)]) == 0
    saved = keras.models.load_model(out / "generator.keras", compile=False)
    assert {layer.compute_dtype for layer in saved.layers} == {"float32"}
    whole = keras.models.load_model(out / "dcgan.keras")
    assert whole.generator.get_layer("up1").compute_dtype == "bfloat16"  # resumes as trained
    assert export.main(["--run", str(out), "--out", str(tmp_path / "exports"), "--tflite"]) == 0
    noise = np.random.default_rng(1).normal(size=(3, 16)).astype("float32")
    images = tflite_run(tmp_path / "exports" / "dcgan.tflite", noise)
    np.testing.assert_allclose(images, saved(noise, training=False), atol=1e-4)
    assert load_generator(path=out / "dcgan.keras").get_layer("up1").compute_dtype \
        == "float32"


def test_a_bad_precision_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--precision", "bfloat16", "--dry-run"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'bfloat16'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_bfloat16"):
        build_generator(ImageFormat(16, 1), dtype="float64")


def test_old_generator_files_still_load_and_export(tmp_path):
    # The README run's generator was saved with Keras' own BatchNormalization.
    generator = load_generator(path=ROOT / "docs/fashion_mnist_run/generator.keras")
    export_lib.export_tflite(generator, tmp_path / "g.tflite")
    assert non_builtin_ops((tmp_path / "g.tflite").read_bytes()) == []


def _relative_error(ours, theirs):
    scale = float(tf.reduce_max(tf.abs(theirs)))
    assert scale > 0
    difference = tf.cast(ours, tf.float32) - tf.cast(theirs, tf.float32)
    return float(tf.reduce_max(tf.abs(difference))) / scale


@pytest.mark.parametrize("dtype, tolerance", [("mixed_bfloat16", 1e-2), (None, 1e-5)])
@pytest.mark.parametrize("size, channels", [(16, 1), (28, 1), (32, 3)])
def test_the_fast_convolutions_compute_keras_convolutions_and_their_gradients(
        dtype, tolerance, size, channels):
    # FastConv2D / FastConv2DTranspose take other forms of the same sums where oneDNN runs them
    # faster: the bf16 kernel gradient into (D) or out of (G) an 8x8 or smaller map as a forward
    # convolution, the transposed convolution into an image (G's last layer; D's first layer's
    # input gradient) through 2x2 blocks. Every output and gradient is Keras' layers',
    # within the precision's rounding. 16x16 has a 4x4 base map and a first layer (16 -> 8) into
    # a small map; 28x28 a 7x7 base map (odd: "same" pads 1 and 1 from 14 to 7); 32x32 colour.
    fmt = ImageFormat(size, channels)
    g = build_generator(fmt, latent_dim=8, base_filters=8, seed=1, dtype=dtype)
    d = build_discriminator(fmt, base_filters=8, seed=2, dtype=dtype)
    assert {type(layer).__name__ for layer in g.layers + d.layers} >= {
        "FastConv2D", "FastConv2DTranspose"}
    noise = keras.random.normal((6, 8), seed=0)
    images = keras.random.uniform((6, size, size, channels), -1, 1, seed=0)
    for model, inputs in ((g, noise), (d, images)):
        stock = stock_copy(model, kinds=(FastConv2D, FastConv2DTranspose))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(inputs)
            ours_out = tf.cast(model(inputs, training=True), tf.float32)
            theirs_out = tf.cast(stock(inputs, training=True), tf.float32)
            ours = tf.reduce_sum(tf.square(ours_out - 0.3))
            theirs = tf.reduce_sum(tf.square(theirs_out - 0.3))
        assert _relative_error(ours_out, theirs_out) <= tolerance
        assert _relative_error(tape.gradient(ours, inputs),
                               tape.gradient(theirs, inputs)) <= tolerance
        for layer in model.layers:
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
                theirs_grad = tape.gradient(theirs, stock.get_layer(layer.name).kernel)
                assert _relative_error(tape.gradient(ours, layer.kernel),
                                       theirs_grad) <= tolerance, layer.name
        # Sampling (training=False) is Keras' layers exactly.
        np.testing.assert_array_equal(model(inputs, training=False), stock(inputs, training=False))
    # What is saved and exported has Keras' own layers, with the same outputs.
    copy = inference_copy(g)
    assert type(copy.get_layer("up1")) is keras.layers.Conv2DTranspose
    np.testing.assert_allclose(copy(noise, training=False), inference_copy(
        stock_copy(g, kinds=(FastConv2D, FastConv2DTranspose)))(noise, training=False), atol=0)


def test_a_dcgan_keras_file_with_the_0_2_0_layer_names_still_loads(tmp_path):
    # tf-dcgan 0.2.0 saved its faster convolutions as MatmulGradConv2D(Transpose); those files
    # load as the same layers (FastConv2D's subclasses), with the same outputs.
    from tf_dcgan.model.layers import MatmulGradConv2D, MatmulGradConv2DTranspose

    inputs = keras.Input((4, 4, 8))
    x = MatmulGradConv2DTranspose(4, 4, strides=2, padding="same", use_bias=False)(inputs)
    outputs = MatmulGradConv2D(8, 4, strides=2, padding="same", use_bias=False)(x)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "old.keras")
    loaded = keras.models.load_model(tmp_path / "old.keras")
    assert [type(layer) for layer in loaded.layers[1:]] == [MatmulGradConv2DTranspose,
                                                            MatmulGradConv2D]
    assert isinstance(loaded.layers[1], FastConv2DTranspose)
    assert isinstance(loaded.layers[2], FastConv2D)
    batch = keras.random.normal((2, 4, 4, 8), seed=0)
    np.testing.assert_array_equal(loaded(batch), model(batch))
