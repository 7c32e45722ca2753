"""Fashion-MNIST offline, from Debian's `dataset-fashion-mnist` IDX files.

The same images and labels as TFDS's download (Debian recompressed the files, so TFDS's own
checksum check rejects them); TFDS's split syntax works on them too.
"""

import gzip
from pathlib import Path

import numpy as np

from tf_dcgan.data.images import ImageSource
from tf_dcgan.data.tfds import absolute_split

# Debian's package `dataset-fashion-mnist` installs the original IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


_FASHION_MNIST_SIZES = {"train": 60_000, "test": 10_000}


FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]


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


def read_fashion_mnist_idx(directory: str | Path = DEBIAN_FASHION_MNIST_DIR,
                           split: str = "train") -> ImageSource:
    """Reads Fashion-MNIST from its original IDX `.gz` files (as Debian's package installs them).

    Returns:
        An `ImageSource` with uint8 images of shape (N, 28, 28, 1) and int64 labels.
    """
    image_file, label_file = _IDX_FILES[split]
    images = _read_idx(Path(directory) / image_file, 2051)[..., np.newaxis]
    labels = _read_idx(Path(directory) / label_file, 2049)
    return ImageSource.from_arrays(f"fashion_mnist:{split}", images, labels,
                                   FASHION_MNIST_CLASSES)


def debian_fashion_mnist_installed() -> bool:
    return all((DEBIAN_FASHION_MNIST_DIR / f).is_file() for files in _IDX_FILES.values()
               for f in files)


def read_fashion_mnist_split(split: str = "train",
                             directory: str | Path = DEBIAN_FASHION_MNIST_DIR) -> ImageSource:
    """Fashion-MNIST from Debian's IDX files, with any TFDS split ("train", "test[:10%]", ...).

    Offline, and the same images in the same order as TFDS's `fashion_mnist` splits.

    Raises:
        ValueError: a split that is not TFDS syntax or names no Fashion-MNIST split.

    Example:
        >>> read_fashion_mnist_split("train[:10%]").num_images
        6000
    """
    parts = absolute_split("fashion_mnist", split, _FASHION_MNIST_SIZES)
    if not parts or all(stop <= start for _, start, stop in parts):
        raise ValueError(
            f"split {split!r} of dataset 'fashion_mnist' selects no image. Use e.g. "
            "fashion_mnist:train[:10%]."
        )
    whole = {name: read_fashion_mnist_idx(directory, name) for name in {p[0] for p in parts}}
    images = np.concatenate([whole[name].images[start:stop] for name, start, stop in parts])
    labels = np.concatenate([whole[name].labels[start:stop] for name, start, stop in parts])
    return ImageSource.from_arrays(f"fashion_mnist:{split}", images, labels,
                                   FASHION_MNIST_CLASSES)
