"""Differentiable augmentation of every image the discriminator sees (`train.py --augment`).

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training": with few training
images D memorises them; transforming the real *and* the generated images before D sees them, with
differentiable ops so G's gradients pass through, keeps D from doing so. Written here with
TensorFlow ops, on images in [-1, 1]:

- `color`: brightness (add U(-0.5, 0.5)), saturation (scale the distance from the pixel's channel
  mean by U(0, 2)), contrast (scale the distance from the image's mean by U(0.5, 1.5));
- `translation`: shift by up to 1/8 of the size in each direction, zeros (mid-grey) coming in;
- `cutout`: zero a square of half the size at a random place.

Every draw is stateless, from a `[2]` int64 seed: the same batch with the same seed gives the same
images, so a training step's augmentation is a function of the step (exact resume).
"""

import tensorflow as tf

from tf_dcgan.checks import AUGMENTATIONS, check_augment


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); None or '' -> () (no augmentation).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    check_augment(policy)
    return tuple(name.strip() for name in (policy or "").split(",") if name.strip())


def diff_augment(images: tf.Tensor, policy: tuple[str, ...] | str | None,
                 seed: tf.Tensor) -> tf.Tensor:
    """`images` (N, H, W, C) in [-1, 1] transformed by each of `policy`'s augmentations in turn,
    each image with its own random draw from the stateless `seed` ([2] int64).

    Differentiable in `images`. An empty policy returns `images` unchanged.

    Example:
        >>> out = diff_augment(images, "color,translation,cutout", tf.constant([7, 0], tf.int64))
    """
    if isinstance(policy, str) or policy is None:
        policy = parse_policy(policy)
    if not policy:
        return images
    images = tf.cast(images, tf.float32)
    seed = tf.cast(seed, tf.int64)
    for name in policy:
        index = AUGMENTATIONS.index(name)  # the same draw for a name whatever else is on
        part = tf.random.experimental.stateless_fold_in(seed, index + 1)
        images = _AUGMENTATIONS[name](images, part)
    return images


def _uniform(shape, seed, part, low=0.0, high=1.0):
    return tf.random.stateless_uniform(
        shape, tf.random.experimental.stateless_fold_in(seed, part), low, high)


def _color(images, seed):
    count = tf.shape(images)[0]
    shape = tf.stack([count, 1, 1, 1])
    images = images + _uniform(shape, seed, 1, -0.5, 0.5)
    mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - mean) * _uniform(shape, seed, 2, 0.0, 2.0) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * _uniform(shape, seed, 3, 0.5, 1.5) + mean


def _translation(images, seed, ratio=0.125):
    height, width = images.shape[1], images.shape[2]
    dy, dx = max(1, int(height * ratio + 0.5)), max(1, int(width * ratio + 0.5))
    count = tf.shape(images)[0]
    shifts_y = tf.random.stateless_uniform(
        tf.stack([count, 1]), tf.random.experimental.stateless_fold_in(seed, 1), -dy, dy + 1,
        dtype=tf.int32)
    shifts_x = tf.random.stateless_uniform(
        tf.stack([count, 1]), tf.random.experimental.stateless_fold_in(seed, 2), -dx, dx + 1,
        dtype=tf.int32)
    padded = tf.pad(images, [[0, 0], [dy, dy], [dx, dx], [0, 0]])
    rows = tf.range(height)[tf.newaxis] + dy - shifts_y   # (N, H): source row of each row
    columns = tf.range(width)[tf.newaxis] + dx - shifts_x  # (N, W)
    images = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(images, columns, axis=2, batch_dims=1)


def _cutout(images, seed, ratio=0.5):
    height, width = images.shape[1], images.shape[2]
    size_h, size_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    count = tf.shape(images)[0]
    shape = tf.stack([count, 1, 1, 1])
    # The square's first row and column; it may hang over an edge (then a part of it shows).
    top = tf.floor(_uniform(shape, seed, 1) * (height + 1 - size_h % 2)) - size_h // 2
    left = tf.floor(_uniform(shape, seed, 2) * (width + 1 - size_w % 2)) - size_w // 2
    ys = tf.reshape(tf.range(height, dtype=tf.float32), [1, height, 1, 1])
    xs = tf.reshape(tf.range(width, dtype=tf.float32), [1, 1, width, 1])
    inside = tf.logical_and(tf.logical_and(ys >= top, ys < top + size_h),
                            tf.logical_and(xs >= left, xs < left + size_w))
    return images * (1.0 - tf.cast(inside, images.dtype))


_AUGMENTATIONS = {"color": _color, "translation": _translation, "cutout": _cutout}
