"""Differentiable augmentation (--augment): what each transform does, the same for the same seed,
gradients through it to G, and off means off."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
from tf_dcgan.model.augment import diff_augment, parse_policy

SEED = tf.constant([3, 7], tf.int64)


def _images(count=8, size=16, channels=3):
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (count, size, size, channels)),
                       tf.float32)


def test_off_is_the_identity_and_bad_names_are_refused():
    images = _images()
    assert diff_augment(images, None, SEED) is images
    assert diff_augment(images, "", SEED) is images
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="augment must name each of color, translation, cutout"):
        parse_policy("colour")
    with pytest.raises(ValueError, match="at most once"):
        parse_policy("cutout,cutout")


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_the_same_seed_gives_the_same_images_and_another_seed_others(policy):
    images = _images()
    once = diff_augment(images, policy, SEED).numpy()
    assert once.shape == images.shape and np.isfinite(once).all()
    np.testing.assert_array_equal(once, diff_augment(images, policy, SEED).numpy())
    assert not np.array_equal(once, images.numpy())
    assert not np.array_equal(once, diff_augment(images, policy, SEED + 1).numpy())
    # Each image gets its own draw.
    same = tf.repeat(images[:1], 8, axis=0)
    out = diff_augment(same, policy, SEED).numpy()
    assert len({out[i].tobytes() for i in range(8)}) > 1


def test_translation_shifts_by_whole_pixels_and_cutout_blanks_a_half_size_square():
    ones = tf.ones((16, 16, 16, 1))
    cut = diff_augment(ones, "cutout", SEED).numpy()
    blanked = (cut == 0).sum(axis=(1, 2, 3))
    assert blanked.max() == 8 * 8 and (blanked > 0).all()  # a whole 8x8 square, or a clipped one
    ramp = tf.reshape(tf.range(16 * 16, dtype=tf.float32), (1, 16, 16, 1)) / 256.0
    moved = diff_augment(tf.repeat(ramp, 16, axis=0), "translation", SEED).numpy()[..., 0]
    for image in moved:  # the inside is the ramp moved by at most 2 pixels each way
        kept = image[image != 0]
        assert np.isin(kept, ramp.numpy()).all() and (image == 0).sum() <= 16 * 16 - 12 * 12


def test_gradients_reach_the_generator_through_the_augmentation():
    generator = build_generator(ImageFormat(16, 3), latent_dim=8, base_filters=8, seed=1)
    discriminator = build_discriminator(ImageFormat(16, 3), base_filters=8, seed=2)
    noise = tf.random.stateless_normal((4, 8), [1, 2])
    with tf.GradientTape() as tape:
        logits = discriminator(diff_augment(generator(noise, training=True),
                                            "color,translation,cutout", SEED), training=True)
        loss = tf.reduce_mean(logits)
    grads = tape.gradient(loss, generator.trainable_variables)
    assert all(g is not None and np.isfinite(g.numpy()).all() for g in grads)
    assert all(np.abs(g.numpy()).sum() > 0 for g in grads)


def test_an_augmented_dcgan_trains_repeats_exactly_and_saves_its_policy(tmp_path):
    def trained():
        gan = DCGAN(build_generator(ImageFormat(16, 3), latent_dim=8, base_filters=8, seed=1),
                    build_discriminator(ImageFormat(16, 3), base_filters=8, seed=2),
                    latent_dim=8, seed=3,
                    augment="color,translation,cutout")
        gan.compile()
        gan.fit(tf.data.Dataset.from_tensor_slices(_images(32)).batch(8), epochs=1, verbose=0)
        return gan

    first, second = trained(), trained()
    for a, b in zip(first.generator.weights, second.generator.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    plain = DCGAN(build_generator(ImageFormat(16, 3), latent_dim=8, base_filters=8, seed=1),
                  build_discriminator(ImageFormat(16, 3), base_filters=8, seed=2),
                  latent_dim=8, seed=3)
    plain.compile()
    plain.fit(tf.data.Dataset.from_tensor_slices(_images(32)).batch(8), epochs=1, verbose=0)
    assert not all(np.array_equal(np.asarray(a), np.asarray(b))
                   for a, b in zip(first.generator.weights, plain.generator.weights))
    first.save(tmp_path / "dcgan.keras")
    assert keras.models.load_model(tmp_path / "dcgan.keras").augment == "color,translation,cutout"
