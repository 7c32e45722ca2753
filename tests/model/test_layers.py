"""FusedBatchNormalization: Keras' BatchNormalization, computed by TensorFlow's fused kernel."""

import keras
import numpy as np
import pytest

from tf_dcgan.model.layers import FusedBatchNormalization


def _pair(**kwargs):
    fused = FusedBatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)
    plain = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, **kwargs)
    fused.build((None, 5, 5, 6))
    plain.build((None, 5, 5, 6))
    rng = np.random.default_rng(0)
    weights = [rng.normal(1, 0.3, 6), rng.normal(0, 0.3, 6), rng.normal(0, 1, 6),
               rng.uniform(0.5, 2, 6)]
    fused.set_weights([w.astype("float32") for w in weights])
    plain.set_weights([w.astype("float32") for w in weights])
    return fused, plain


def test_training_and_inference_equal_keras_batch_normalization():
    fused, plain = _pair()
    rng = np.random.default_rng(1)
    for step in range(3):
        x = rng.normal(2.0, 3.0, (8, 5, 5, 6)).astype("float32")
        np.testing.assert_allclose(fused(x, training=True), plain(x, training=True),
                                   atol=2e-5, rtol=1e-5)
        # The moving statistics follow Keras' update (biased batch variance) step by step.
        for mine, theirs in zip(fused.get_weights(), plain.get_weights()):
            np.testing.assert_allclose(mine, theirs, atol=1e-5, rtol=1e-5)
    x = rng.normal(2.0, 3.0, (4, 5, 5, 6)).astype("float32")
    np.testing.assert_allclose(fused(x, training=False), plain(x, training=False), atol=1e-6)


def test_gradients_equal_keras_batch_normalization():
    import tensorflow as tf

    fused, plain = _pair()
    x = tf.constant(np.random.default_rng(2).normal(0, 2, (8, 5, 5, 6)).astype("float32"))
    grads = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) ** 3)
        grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    for mine, theirs in zip(*grads):
        np.testing.assert_allclose(mine, theirs, atol=1e-3, rtol=1e-4)


def test_bfloat16_activations_keep_float32_statistics():
    fused = FusedBatchNormalization(dtype="mixed_bfloat16")
    x = np.random.default_rng(3).normal(0, 1, (8, 4, 4, 3)).astype("float32")
    y = fused(keras.ops.cast(x, "bfloat16"), training=True)
    assert y.dtype == "bfloat16" and fused.moving_mean.dtype == "float32"
    assert np.isfinite(np.asarray(keras.ops.cast(y, "float32"))).all()


def test_round_trips_through_keras_files(tmp_path):
    inputs = keras.Input((5, 5, 6))
    model = keras.Model(inputs, FusedBatchNormalization(momentum=0.8, name="bn")(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("bn")) is FusedBatchNormalization
    assert loaded.get_layer("bn").momentum == pytest.approx(0.8)
