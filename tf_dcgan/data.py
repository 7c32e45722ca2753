"""Input: where images come from, and the tf.data pipeline that feeds them to `DCGAN.fit`.

Images leave the pipeline as float32 batches in [-1, 1] (the range of the generator's tanh),
paired with their labels where the source has them (training ignores the labels; evaluation will
use them). Batches are of a fixed size (the last, partial batch is dropped) so BatchNorm never sees
a tiny batch and every step has the same shape.
"""

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.models import supported_image_sizes

# Debian's package `dataset-fashion-mnist` installs the original IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclasses.dataclass
class ImageSource:
    """Decoded images of one source, before resizing and batching.

    Attributes:
        name: where they came from, for messages and config.json.
        images: uint8 array of shape (N, H, W, C).
        labels: int64 array of shape (N,), or None when the source has no labels.
    """

    name: str
    images: np.ndarray
    labels: np.ndarray = None

    @property
    def image_size(self):
        """The source's own size when its images are square, else None."""
        height, width = self.images.shape[1:3]
        return height if height == width else None

    @property
    def channels(self):
        return self.images.shape[-1]


def _read_idx(path, expected_magic):
    """Reads one IDX file (the MNIST family's format): big-endian header, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise ValueError(
            f"{path} is not an IDX file of the expected kind (magic {magic}, expected "
            f"{expected_magic}). Reinstall it with `apt-get install --reinstall dataset-fashion-mnist`."
        )
    num_dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(num_dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * num_dims).reshape(shape)


def read_fashion_mnist_idx(directory=DEBIAN_FASHION_MNIST_DIR, split="train"):
    """Reads Fashion-MNIST from its original IDX `.gz` files (as Debian's package installs them).

    Returns:
        An `ImageSource` with uint8 images of shape (N, 28, 28, 1) and int64 labels.
    """
    image_file, label_file = _IDX_FILES[split]
    images = _read_idx(Path(directory) / image_file, 2051)[..., np.newaxis]
    labels = _read_idx(Path(directory) / label_file, 2049).astype(np.int64)
    return ImageSource(f"fashion_mnist:{split}", images, labels)


def _read_tfds(name, split, data_dir, download):
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir, download=download, batch_size=-1)
    dataset = tfds.as_numpy(dataset)
    labels = dataset.get("label")
    return ImageSource(
        f"{name}:{split}", dataset["image"], None if labels is None else labels.astype(np.int64)
    )


def _tfds_prepared(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir).is_prepared()
    except Exception:  # an unknown name: let tfds.load say so
        return False


def read_images(source="fashion_mnist", data_dir=None):
    """Reads a dataset into memory as uint8 images.

    `fashion_mnist` (the default) comes from TensorFlow Datasets when it is already prepared in
    `data_dir`, else from Debian's `dataset-fashion-mnist` files (offline; same content as TFDS's
    download), else TFDS downloads it. Other TensorFlow Datasets names with an `image` feature
    work where TFDS can download them or has them prepared.

    Args:
        source: a TensorFlow Datasets name, optionally with a split: "fashion_mnist",
            "mnist:test".
        data_dir: where TFDS keeps its data (TFDS's default when None).

    Returns:
        An `ImageSource`.
    """
    name, _, split = source.partition(":")
    split = split or "train"
    if name == "fashion_mnist" and split in _IDX_FILES and not _tfds_prepared(name, data_dir):
        if all((DEBIAN_FASHION_MNIST_DIR / f).is_file() for f in _IDX_FILES[split]):
            return read_fashion_mnist_idx(DEBIAN_FASHION_MNIST_DIR, split)
    try:
        return _read_tfds(name, split, data_dir, download=True)
    except Exception as error:  # TFDS raises many types; the user needs one line either way
        hint = (
            " Offline, install Debian's package: apt-get install dataset-fashion-mnist."
            if name == "fashion_mnist" else
            " Download it where there is a network, or prepare it in --data-dir "
            "following TensorFlow Datasets' manual download instructions."
        )
        raise ValueError(
            f"dataset {source!r} could not be loaded ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}).{hint}"
        ) from None


def _check_pipeline_args(image_size, channels, batch_size, num_images):
    if image_size not in supported_image_sizes():
        sizes = ", ".join(str(s) for s in supported_image_sizes())
        raise ValueError(
            f"image_size must be one of {sizes}; received image_size={image_size!r}. "
            "Pick 64 (the paper's size) or 28 (MNIST-style)."
        )
    if channels not in (1, 3):
        raise ValueError(
            f"channels must be 1 or 3; received channels={channels!r}. Use 1 for grayscale, 3 for RGB."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive integer; received batch_size={batch_size!r}. "
            "The paper uses 128."
        )
    if batch_size > num_images:
        raise ValueError(
            f"batch_size must not exceed the number of images; received batch_size={batch_size} "
            f"for {num_images} images. Lower --batch-size or add images."
        )


def _to_channels(image, channels):
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image)
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)


def _resize(image, image_size):
    if image.shape[0] == image_size and image.shape[1] == image_size:
        return image
    resized = tf.image.resize(image, (image_size, image_size), method="area", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def to_unit_range(images):
    """uint8 [0, 255] -> float32 [-1, 1], the generator's output range."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images):
    """float [-1, 1] -> uint8 [0, 255], for saving generated images."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_dataset(source, image_size, channels, batch_size, seed=None, steps_per_epoch=None,
                 shuffle_buffer=None):
    """Builds the training pipeline: convert, resize, cache, shuffle, batch, scale, prefetch.

    Resizing and channel conversion run once (the result is cached in memory as uint8), and the
    per-epoch shuffle works on those uint8 images. Batches are float32 in [-1, 1], paired with
    labels (or -1 where the source has none).

    Args:
        source: an `ImageSource`.
        image_size: the training size; images of another size are resized (area interpolation).
        channels: 1 or 3; images are converted when they differ.
        batch_size: images per batch; the last partial batch is dropped.
        seed: shuffle seed, for reproducible runs.
        steps_per_epoch: optional cap on batches per epoch (each epoch still reshuffles all images).
        shuffle_buffer: images in the shuffle buffer; default all of them (a full shuffle).

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches.
    """
    num_images = len(source.images)
    _check_pipeline_args(image_size, channels, batch_size, num_images)
    labels = source.labels if source.labels is not None else np.full(num_images, -1, np.int64)
    dataset = tf.data.Dataset.from_tensor_slices((source.images, labels))
    if source.channels != channels or source.images.shape[1:3] != (image_size, image_size):
        dataset = dataset.map(
            lambda image, label: (_resize(_to_channels(image, channels), image_size), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.cache()
    dataset = dataset.shuffle(shuffle_buffer or num_images, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if steps_per_epoch:
        dataset = dataset.take(steps_per_epoch)
    return dataset.prefetch(tf.data.AUTOTUNE)

