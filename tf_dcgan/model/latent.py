"""The generator's inputs, in one place: seeded noise for training, sampling and export.

Every image the project makes starts here. `LatentSpace` knows what a generator takes (a noise
vector of `latent_dim`, and a class label for a conditional generator) and draws it from a seed:

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


def latent_noise(num_images: int, latent_dim: int, seed: int) -> tf.Tensor:
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


def replica_seed(seed_tensor: tf.Tensor) -> tf.Tensor:
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

    Built from the generator (`LatentSpace.of(generator)`) or from its `latent_dim` (and, for a
    class-conditional generator, `num_classes`). Every caller that needs generator inputs asks
    this object, so the same code drives both kinds of generator:

    - unconditional: the inputs are a noise tensor `(num_images, latent_dim)`;
    - conditional: a dict `{"noise": (num_images, latent_dim), "label": (num_images,) int32}`.
      The noise is the same as the unconditional one for the same seed; the labels are the ones
      asked for, or else class `i % num_classes` for image i (`sample`) or uniform random ones
      drawn from the seed (`sample_from_seed_tensor`, as in training).

    Args:
        latent_dim: length of the noise vector z.
        num_classes: classes of a conditional generator; None for an unconditional one.
        class_names: the classes' names (index order), when known.

    Example:
        >>> space = LatentSpace.of(generator)
        >>> images = generator(space.sample(16, seed=42), training=False)
    """

    def __init__(self, latent_dim: int, num_classes: int | None = None,
                 class_names: list[str] | None = None):
        check_positive_int("latent_dim", latent_dim, "The paper uses latent_dim=100.")
        if num_classes is not None:
            check_positive_int("num_classes", num_classes, "Use the dataset's class count.")
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names is not None else None

    @property
    def conditional(self):
        """Whether the generator also takes a class label."""
        return self.num_classes is not None

    @classmethod
    def of(cls, generator):
        """The latent space of a Keras generator: noise `(batch, latent_dim)`, and a `label`
        input when it is class-conditional (`build_generator(classes=...)`)."""
        names = [tensor.name.split(":")[0] for tensor in generator.inputs]
        if len(generator.inputs) == 1:
            return cls(int(generator.inputs[0].shape[-1]))
        noise = generator.inputs[names.index("noise")]
        labels = generator.get_layer("class_label")
        return cls(int(noise.shape[-1]), len(labels.class_names), labels.class_names)

    def labels(self, num_images: int, labels=None):
        """`num_images` int32 class labels: `labels` (one int for all, or one per image) or, when
        None, class `i % num_classes` for image i.

        Raises:
            ValueError: a label outside [0, num_classes), or a count that does not match.
        """
        if labels is None:
            return tf.range(num_images, dtype=tf.int32) % self.num_classes
        values = np.asarray(labels)
        if values.ndim == 0:
            values = np.full(num_images, int(values))
        if values.shape != (num_images,) or not np.issubdtype(values.dtype, np.integer):
            raise ValueError(
                f"labels must be one integer class or one per image ({num_images}); received "
                f"labels={labels!r}. Pass e.g. labels=3."
            )
        bad = values[(values < 0) | (values >= self.num_classes)]
        if bad.size:
            raise ValueError(
                f"labels must be classes in [0, {self.num_classes}); received label {int(bad[0])}. "
                f"The classes are {self._names_hint()}."
            )
        return tf.constant(values, tf.int32)

    def _names_hint(self):
        if not self.class_names or self.class_names == [str(i) for i in range(self.num_classes)]:
            return f"0 to {self.num_classes - 1}"
        return ", ".join(f"{i} {name}" for i, name in enumerate(self.class_names))

    def sample(self, num_images: int, seed: int, labels=None):
        """The generator's inputs for `num_images` images, the same for the same integer `seed`
        (and labels: see `labels`; ignored by an unconditional generator's space)."""
        noise = latent_noise(num_images, self.latent_dim, seed)
        if not self.conditional:
            return noise
        return {"noise": noise, "label": self.labels(num_images, labels)}

    def sample_from_seed_tensor(self, num_images: int, seed_tensor):
        """The generator's inputs drawn with a `[2]` int64 seed tensor (e.g. a SeedGenerator's);
        a conditional space draws uniform random labels from the same seed."""
        seed_tensor = tf.cast(seed_tensor, tf.int64)
        noise = _normal(num_images, self.latent_dim, seed_tensor)
        if not self.conditional:
            return noise
        label_seed = tf.random.experimental.stateless_fold_in(seed_tensor, 1)
        labels = tf.random.stateless_uniform(tf.reshape(num_images, [1]), label_seed, 0,
                                             self.num_classes, dtype=tf.int32)
        return {"noise": noise, "label": labels}

    def batches(self, num_images: int, batch_size: int, seed: int, label: int | None = None):
        """Yields the generator's inputs for `num_images` images in batches of `batch_size`.

        Batch `i` is drawn from the seed pair `[seed, i]` (`sample_from_seed_tensor`), so the same
        seed gives the same images whatever reads them; a conditional space draws uniform labels,
        or gives every image `label`.

        Example:
            >>> [len(b) for b in LatentSpace(100).batches(600, 250, seed=0)]
            [250, 250, 100]
        """
        for index, start in enumerate(range(0, num_images, batch_size)):
            count = min(batch_size, num_images - start)
            inputs = self.sample_from_seed_tensor(count, tf.constant([seed, index], tf.int64))
            if label is not None and self.conditional:
                inputs = {"noise": inputs["noise"], "label": self.labels(count, label)}
            yield inputs

    def grid(self, num_images: int, seed: int):
        """The inputs of a sample grid, with its column count (None: square).

        Unconditional: `sample(num_images, seed)`. Conditional: one row per class (the first 10
        classes), `num_images // rows` columns; each column keeps one noise vector on every row,
        so a row shows its class and a column one z across the classes.
        """
        if not self.conditional:
            return self.sample(num_images, seed), None
        rows = min(self.num_classes, 10)
        columns = max(1, num_images // rows)
        noise = tf.tile(latent_noise(columns, self.latent_dim, seed), [rows, 1])
        labels = tf.repeat(tf.range(rows, dtype=tf.int32), columns)
        return {"noise": noise, "label": labels}, columns


def interpolate(start: np.ndarray, end: np.ndarray, steps: int,
                spherical: bool = True) -> np.ndarray:
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
