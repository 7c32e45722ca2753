"""Where images come from: Debian's Fashion-MNIST files, `.npy`/`.npz` files, folders, TFDS.

One loader, `read_images`, takes any of them and returns an `ImageSource`: decoded uint8 images
in memory, the paths of image files that were checked to decode, or a TensorFlow Datasets
pipeline, with labels where the source has them. What is done to the pixels afterwards lives in
`tf_dcgan.data.transforms`, and the `tf.data` pipelines that batch them in
`tf_dcgan.data.pipelines`.

- a TensorFlow Datasets name, optionally with a split (`cifar10:train`); `fashion_mnist` works
  offline from Debian's `dataset-fashion-mnist` files;
- a folder of images, searched recursively (JPEG, PNG, BMP, GIF first frame, WebP; gray, RGB,
  RGBA, any size); files that do not decode are skipped, counted and named, never fatal;
- a `.npy` or `.npz` file of uint8 images (N, H, W, C) or (N, H, W).
"""

from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.checks import DatasetSpec, error_summary
from tf_dcgan.data.fashion_mnist import (
    debian_fashion_mnist_installed,
    read_fashion_mnist_split,
)
from tf_dcgan.data.folders import read_folder
from tf_dcgan.data.images import ImageSource
from tf_dcgan.data.tfds import read_tfds, tfds_prepared
from tf_dcgan.data.transforms import composite_alpha


def read_array_file(path: str | Path) -> ImageSource:
    """Reads uint8 images from a `.npy` file or a `.npz` file.

    A `.npz` file's images are its `images` (or `x`) array, or its only array; labels are its
    `labels` (or `y`) array when present. Shapes (N, H, W, C) with C in 1, 3, 4 or (N, H, W).
    """
    path = Path(path)
    try:
        arrays = _load_arrays(path)
    except Exception as error:  # NumPy raises ValueError, OSError, EOFError, zipfile errors ...
        if "allow_pickle" in str(error):
            raise ValueError(
                f"dataset {str(path)!r} holds object (pickled) arrays, which are never loaded: "
                "unpickling can run any code. Save plain uint8 arrays with np.save or np.savez."
            ) from None
        raise ValueError(
            f"dataset {str(path)!r} is not a readable NumPy file ({error_summary(error)}). "
            "Save images with np.save or np.savez."
        ) from None
    key = next((k for k in ("images", "x") if k in arrays), next(iter(arrays)) if len(arrays) == 1
               else None)
    if key is None:
        raise ValueError(
            f"dataset {str(path)!r} holds arrays {list(arrays)} and none is named images or x. "
            "Save with np.savez(path, images=images, labels=labels)."
        )
    images = arrays[key]
    labels = next((arrays[k] for k in ("labels", "y") if k in arrays), None)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or (
        len(images) == 0
    ):
        raise ValueError(
            f"dataset {str(path)!r} must hold uint8 images of shape (N, H, W, C) with C 1, 3 or "
            f"4; received shape {images.shape} and dtype {images.dtype}. Convert with "
            "np.clip(x * 255, 0, 255).astype(np.uint8) for [0, 1] floats."
        )
    if images.shape[-1] == 4:
        images = np.asarray(composite_alpha(tf.constant(images)))
    if labels is not None and (labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(
            f"dataset {str(path)!r} has labels of shape {labels.shape} and dtype {labels.dtype}; "
            "labels must be one integer per image. Save them with labels=np.asarray(y, np.int64)."
        )
    if labels is not None and len(labels) != len(images):
        raise ValueError(
            f"dataset {str(path)!r} has {len(images)} images but {len(labels)} labels. "
            "Save one label per image, or none."
        )
    return ImageSource.from_arrays(str(path), np.ascontiguousarray(images), labels)


def _load_arrays(path):
    """{name: array} of a .npz file, or {"images": array} of a .npy file, read in full.

    Pickled (object) arrays are refused by NumPy here, before any of their code could run.
    """
    loaded = np.load(path, allow_pickle=False)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return {"images": loaded}
    with loaded:
        return {name: loaded[name] for name in loaded.keys()}


def read_images(source: str = "fashion_mnist", data_dir: str | None = None) -> ImageSource:
    """Opens a dataset: a folder, a `.npy`/`.npz` file, or a TensorFlow Datasets name.

    `fashion_mnist` (the default) comes from TensorFlow Datasets when it is already prepared in
    `data_dir`, else from Debian's `dataset-fashion-mnist` files (offline; the same content as
    TFDS's download), else TFDS downloads it.

    Args:
        source: a folder, a `.npy`/`.npz` file, or a TFDS name with an optional split
            ("fashion_mnist", "cifar10:test", "lsun/bedroom").
        data_dir: where TFDS keeps its data (TFDS's default when None).

    Returns:
        An `ImageSource`.

    Raises:
        ValueError: the path does not exist, holds no usable image, or the dataset cannot be had.

    Example:
        >>> source = read_images("path/to/faces")
        >>> print(source.summary())
    """
    spec = DatasetSpec.parse(source)
    if spec.kind == "folder":
        return read_folder(spec.path)
    if spec.kind == "array":
        return read_array_file(spec.path)
    if spec.name == "fashion_mnist" and debian_fashion_mnist_installed() and not tfds_prepared(
            spec.name, data_dir):
        return read_fashion_mnist_split(spec.split)
    return read_tfds(spec.name, spec.split, data_dir)
