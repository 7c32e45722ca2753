"""The generator's inputs, in one place: seeded noise for training, sampling and export.

Every image the project makes starts here. `LatentSpace` knows what a generator takes (today a
noise vector of `latent_dim`; a class label can join it without changing the callers) and draws
it from a seed:

- `sample(num_images, seed)`: the same images for the same integer seed, everywhere: sample grids,
  `DCGAN.generate`, the SavedModel's `generate` signature and the TFLite calibration noise;
- `sample_from_seed_tensor(num_images, seed)`: the same, from a `[2]` int64 seed tensor, for draws
  from a `keras.random.SeedGenerator` inside a compiled step;
- `replica_seed(seed)`: folds the `tf.distribute` replica id in, so replicas draw different noise.

All noise is stateless (`tf.random.stateless_normal`): nothing here has hidden state, so drawing
samples never changes a training run.
"""

import numpy as np
import tensorflow as tf

from tf_dcgan.checks import check_positive_int


def latent_noise(num_images, latent_dim, seed):
    """Standard normal noise of shape `(num_images, latent_dim)`, the same for the same `seed`.

    Stateless (`tf.random.stateless_normal` with seed `[seed, 0]`), so the sample grids, `generate`
    and the exported SavedModel's `generate` signature all agree for one seed.

    Args:
        num_images: rows of noise (a Python int or an int32 tensor).
        latent_dim: length of each noise vector.
        seed: an integer (or int64 tensor); the same seed gives the same noise.

    Example:
        >>> latent_noise(4, 100, seed=0).shape
        TensorShape([4, 100])
    """
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return _normal(num_images, latent_dim, seed)


def _normal(num_images, latent_dim, seed_tensor):
    return tf.random.stateless_normal(tf.stack([num_images, latent_dim]), seed=seed_tensor)


def replica_seed(seed_tensor):
    """Folds the `tf.distribute` replica id into a `[2]` seed when more than one replica runs.

    Every replica sees the same `SeedGenerator` state; folding the replica id in gives each its
    own noise. Outside a strategy, or with one replica, the seed is returned unchanged.
    """
    seed_tensor = tf.cast(seed_tensor, tf.int64)
    replica = tf.distribute.get_replica_context()
    if replica is not None and replica.num_replicas_in_sync > 1:
        seed_tensor = tf.random.experimental.stateless_fold_in(
            seed_tensor, replica.replica_id_in_sync_group)
    return seed_tensor


class LatentSpace:
    """What a generator takes as input, and how to draw it from a seed.

    Built from the generator (`LatentSpace.of(generator)`) or from its `latent_dim`. Every caller
    that needs generator inputs asks this object, so the inputs can grow (a class label joining
    the noise) without changing the callers.

    Args:
        latent_dim: length of the noise vector z.

    Example:
        >>> space = LatentSpace.of(generator)
        >>> images = generator(space.sample(16, seed=42), training=False)
    """

    def __init__(self, latent_dim):
        check_positive_int("latent_dim", latent_dim, "The paper uses latent_dim=100.")
        self.latent_dim = latent_dim

    @classmethod
    def of(cls, generator):
        """The latent space of a Keras generator (its input is `(batch, latent_dim)` noise)."""
        return cls(int(generator.input_shape[-1]))

    def sample(self, num_images, seed):
        """The generator's inputs for `num_images` images, the same for the same integer `seed`."""
        return latent_noise(num_images, self.latent_dim, seed)

    def sample_from_seed_tensor(self, num_images, seed_tensor):
        """The generator's inputs drawn with a `[2]` int64 seed tensor (e.g. a SeedGenerator's)."""
        return _normal(num_images, self.latent_dim, tf.cast(seed_tensor, tf.int64))


def interpolate(start, end, steps, spherical=True):
    """`steps` points from `start` to `end` (vectors of the latent space), ends included.

    Spherical interpolation (slerp) keeps the points at the norm typical of Gaussian noise, where
    the generator was trained; straight lines (lerp) pass closer to the origin (White 2016,
    "Sampling Generative Networks").

    Returns:
        A float32 array (steps, latent_dim).

    Example:
        >>> path = interpolate(latent_noise(1, 100, 0)[0], latent_noise(1, 100, 1)[0], 8)
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end) + 1e-12)
    omega = np.arccos(np.clip(cosine, -1.0, 1.0))
    if not spherical or omega < 1e-6:
        return ((1 - t) * start + t * end).astype(np.float32)
    return ((np.sin((1 - t) * omega) * start + np.sin(t * omega) * end)
            / np.sin(omega)).astype(np.float32)
