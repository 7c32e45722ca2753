"""Where images come from: Debian's Fashion-MNIST files, `.npy`/`.npz` files, folders, TFDS.

One loader, `read_images`, takes any of them and returns an `ImageSource`: decoded uint8 images
in memory, the paths of image files that were checked to decode, or a TensorFlow Datasets
pipeline, with labels where the source has them. What is done to the pixels afterwards lives in
`tf_dcgan.transforms`, and the `tf.data` pipelines that batch them in `tf_dcgan.data`.

- a TensorFlow Datasets name, optionally with a split (`cifar10:train`); `fashion_mnist` works
  offline from Debian's `dataset-fashion-mnist` files;
- a folder of images, searched recursively (JPEG, PNG, BMP, GIF first frame, WebP; gray, RGB,
  RGBA, any size); files that do not decode are skipped, counted and named, never fatal;
- a `.npy` or `.npz` file of uint8 images (N, H, W, C) or (N, H, W).
"""

import concurrent.futures
import dataclasses
import gzip
import os
import re
import types
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tf_dcgan.checks import error_summary
from tf_dcgan.environment import logger_quieted, native_stderr_silenced, quiet_tfds_download
from tf_dcgan.transforms import composite_alpha

# Debian's package `dataset-fashion-mnist` installs the original IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
_EXIF_ORIENTATION = 0x0112
_FASHION_MNIST_SIZES = {"train": 60_000, "test": 10_000}
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]


@dataclasses.dataclass
class ImageSource:
    """Images of one source, before resizing and batching.

    Exactly one of `images` (decoded, in memory), `paths` (image files) or `tfds_dataset` is set.

    Attributes:
        name: where they came from, for messages and config.json.
        num_images: how many images training will use.
        channels: the source's own channel count (1 or 3; for folders, what most images have).
        image_size: the source's own size when every image is that same square size, else None.
        images: uint8 array (N, H, W, C), for in-memory sources.
        paths: image files that decode, for folders.
        tfds_dataset: an unbatched `tf.data.Dataset` of (uint8 image, int64 label).
        labels: int64 array (N,) for `images`/`paths`, -1 where the source has no labels.
        class_names: label names (sub-folder or TFDS class names), or None.
        skipped: (path, reason) for each file that did not decode.
        ignored: files without an image extension, not counted as images.
        links_skipped: links not followed (loops, or a second way to the same folder or file).
        orientations: int32 array (N,) of EXIF orientations (1-8) for `paths`.
    """

    name: str
    num_images: int
    channels: int
    image_size: int = None
    images: np.ndarray = None
    paths: list = None
    tfds_dataset: object = None
    labels: np.ndarray = None
    class_names: list = None
    skipped: list = dataclasses.field(default_factory=list)
    ignored: int = 0
    links_skipped: int = 0
    orientations: np.ndarray = None

    @classmethod
    def from_arrays(cls, name, images, labels=None, class_names=None):
        """An in-memory source from uint8 images (N, H, W, C) and optional labels (N,)."""
        height, width = images.shape[1:3]
        return cls(
            name=name, num_images=len(images), channels=images.shape[-1],
            image_size=height if height == width else None, images=images,
            labels=(np.full(len(images), -1, np.int64) if labels is None
                    else np.asarray(labels, np.int64)),
            class_names=class_names,
        )

    def classes(self):
        """The class names a conditional model trains on: `class_names`, or "0" to "K-1" for
        integer labels without names (K = the largest label + 1).

        Raises:
            ValueError: the source has no label for some or all of its images.
        """
        if self.tfds_dataset is not None:
            if self.class_names:
                return list(self.class_names)
            missing = self.num_images
        else:
            missing = int(np.sum(self.labels < 0)) if self.labels is not None else self.num_images
        if missing:
            how = ("put each class's images in a sub-folder of its own"
                   if self.paths is not None else
                   "save an .npz with a labels array (np.savez(path, images=x, labels=y)), or "
                   "use a dataset with a label feature")
            raise ValueError(
                f"dataset {self.name!r} has no class label for {missing} of its {self.num_images} "
                f"images; --conditional trains on one label per image. To train it, {how}; "
                "or leave --conditional out."
            )
        if self.class_names:
            return list(self.class_names)
        return [str(index) for index in range(int(self.labels.max()) + 1)]

    def summary(self):
        """One line: what was found, and what was skipped."""
        line = f"{self.name}: {self.num_images} images"
        if self.paths is not None:
            line += f", {len(self.skipped)} files skipped (do not decode)"
            if self.ignored:
                line += f", {self.ignored} non-image files ignored"
            if self.links_skipped:
                line += f", {self.links_skipped} links skipped (loops or duplicates)"
        return line


def subset(source, indices, name=None):
    """The images of an in-memory or folder source at `indices`, as a new `ImageSource`."""
    indices = np.asarray(indices)
    if source.images is not None:
        return ImageSource.from_arrays(name or source.name, source.images[indices],
                                       source.labels[indices], source.class_names)
    if source.paths is None:
        raise ValueError(
            f"dataset {source.name!r} is a TensorFlow Datasets stream; pick a split instead, "
            "e.g. name:test."
        )
    orientations = None if source.orientations is None else source.orientations[indices]
    return dataclasses.replace(
        source, name=name or source.name, num_images=len(indices),
        paths=[source.paths[i] for i in indices], labels=source.labels[indices],
        orientations=orientations, skipped=[])


# ---------------------------------------------------------------- in-memory sources


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
    labels = _read_idx(Path(directory) / label_file, 2049)
    return ImageSource.from_arrays(f"fashion_mnist:{split}", images, labels,
                                   FASHION_MNIST_CLASSES)


def read_array_file(path):
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


# ---------------------------------------------------------------- folders


def decode_image(contents):
    """Decodes JPEG/PNG/BMP/GIF (first frame)/WebP bytes to uint8 with 1, 2, 3 or 4 channels."""
    return tf.io.decode_image(contents, expand_animations=False)


def decode_rgb(contents):
    """Decodes any supported file to uint8 RGB (gray is repeated, alpha composited over white)."""
    image = decode_image(contents)
    branches = [
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: tf.tile(composite_alpha(tf.ensure_shape(image, (None, None, 2))), [1, 1, 3]),
        lambda: tf.ensure_shape(image, (None, None, 3)),
        lambda: composite_alpha(tf.ensure_shape(image, (None, None, 4))),
    ]
    rgb = tf.switch_case(tf.shape(image)[-1] - 1, branches)
    return tf.ensure_shape(rgb, (None, None, 3))


def exif_orientation(path):
    """The EXIF orientation tag (1-8) of an image file; 1 (as stored) when it has none.

    Phones store photos as the sensor saw them and record the rotation in this tag;
    `tf.io.decode_image` ignores it, so the pipeline applies it (`transforms.apply_orientation`).
    """
    try:
        with Image.open(path) as image:
            orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # not readable by Pillow, or a broken EXIF block: as stored
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _probe(path):
    """Decodes one file; returns (channels, height, width, orientation) as displayed, or the
    reason it does not decode."""
    try:
        image = decode_image(tf.io.read_file(path))
        height, width, channels = image.shape
        if height == 0 or width == 0:
            return "empty image"
    except (tf.errors.OpError, ValueError) as error:
        message = getattr(error, "message", str(error)) or type(error).__name__
        # "{{function_node ...}} Input is empty. [Op:DecodeImage] name:" -> "Input is empty."
        message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message.strip().splitlines()[0])
        return re.sub(r"\s*\[Op:.*$", "", message)[:200]
    orientation = exif_orientation(path)
    if orientation >= 5:  # rotated by 90 degrees: height and width swap
        height, width = width, height
    return channels, height, width, orientation


def _identity(path):
    """(device, inode) of what `path` points to, or None for a broken link."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _find_image_files(folder):
    """Every image file under `folder` once, in sorted walk order.

    Links are followed, but each real folder and file is visited once: a link back to a folder
    above it (a loop) or a second link to the same folder or file is skipped and counted, and the
    real folder or file is preferred over a link to it.

    Returns:
        (paths, links_skipped, ignored): image files, links skipped, non-image files.
    """
    # Folders reachable without links: a link to one of them is a duplicate wherever it stands.
    seen_dirs = {_identity(root) for root, _, _ in os.walk(folder)}
    candidates, links_skipped, ignored = [], 0, 0
    for root, dirs, files in os.walk(folder, followlinks=True):
        seen_dirs.add(_identity(root))
        kept = []
        for name in sorted(dirs):
            path = os.path.join(root, name)
            if os.path.islink(path):
                identity = _identity(path)
                if identity is None or identity in seen_dirs:
                    links_skipped += 1
                    continue
                seen_dirs.add(identity)
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = os.path.join(root, name)
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                ignored += not name.startswith(".")
                continue
            candidates.append((path, _identity(path), os.path.islink(path)))
    chosen = {}
    # Real files first, so a link to a file elsewhere in the folder is the one skipped.
    for path, identity, is_link in sorted(candidates, key=lambda candidate: candidate[2]):
        if identity is None or identity in chosen:
            links_skipped += 1
        else:
            chosen[identity] = path
    paths = [path for path, identity, _ in candidates if chosen.get(identity) == path]
    return paths, links_skipped, ignored


def read_folder(folder, workers=None):
    """Finds the images under `folder` (recursively) and checks that each one decodes.

    Every file with an image extension is decoded once here, in parallel; those that fail
    (corrupt, truncated, empty, not really an image) are listed in `skipped` with the reason, so
    a bad file never stops a run mid-epoch. Links are followed, but each real file is read once
    (loops and duplicate links are skipped and counted). EXIF orientation is read here and
    applied by the pipeline, so phone photos train upright. Labels are the first-level
    sub-folder names (sorted), -1 for files directly in `folder`.

    Args:
        folder: the folder to search (sub-folders included, links followed).
        workers: decoding threads; default twice the cores, at most 8.

    Returns:
        An `ImageSource` with `paths`, `labels`, `class_names`, `skipped` and `ignored` set.

    Raises:
        ValueError: no file under `folder` decodes as an image.

    Example:
        >>> source = read_folder("path/to/faces")
        >>> print(source.summary())
    """
    folder = Path(folder)
    candidates, links_skipped, ignored = _find_image_files(folder)
    parts = [Path(p).relative_to(folder).parts for p in candidates]
    class_names = sorted({part[0] for part in parts if len(part) > 1}) or None
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    with native_stderr_silenced(), concurrent.futures.ThreadPoolExecutor(workers) as pool:
        probes = list(pool.map(_probe, candidates))
    paths, labels, skipped, shapes, orientations = [], [], [], [], []
    for path, part, probe in zip(candidates, parts, probes):
        if isinstance(probe, str):
            skipped.append((path, probe))
            continue
        paths.append(path)
        shapes.append(probe[:3])
        orientations.append(probe[3])
        labels.append(class_names.index(part[0]) if len(part) > 1 else -1)
    if not paths:
        raise ValueError(
            f"dataset folder {str(folder)!r} has no image that decodes ({len(candidates)} image "
            f"files, {len(skipped)} skipped, {ignored} other files). Put JPEG, PNG, BMP, GIF or "
            "WebP files in it (sub-folders are searched)."
        )
    color = sum(1 for channels, _, _ in shapes if channels >= 3)
    sizes = {(height, width) for _, height, width in shapes}
    (height, width), = sizes if len(sizes) == 1 else {(None, None)}
    return ImageSource(
        name=str(folder), num_images=len(paths), channels=3 if color * 2 >= len(shapes) else 1,
        image_size=height if height == width else None, paths=paths,
        labels=np.asarray(labels, np.int64), class_names=class_names, skipped=skipped,
        ignored=ignored, links_skipped=links_skipped,
        orientations=np.asarray(orientations, np.int32),
    )


# ---------------------------------------------------------------- TensorFlow Datasets


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        # TFDS logs a warning for a dataset folder that does not exist yet: the usual case here.
        with logger_quieted("absl"):
            return tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # TFDS raises its own types for unknown names
        raise ValueError(
            f"dataset {name!r} is neither a folder, a .npy/.npz file nor a TensorFlow Datasets "
            f"name ({type(error).__name__}). Pass a folder of images, or a name from "
            "`tfds.list_builders()` such as mnist, cifar10 or celeb_a."
        ) from None


def _is_prepared(builder):
    # TFDS logs a warning for each data folder without dataset_info.json: a failed earlier
    # download leaves one, and "not prepared" is the answer we ask for anyway.
    with logger_quieted("absl"):
        return builder.is_prepared()


def _tfds_prepared(name, data_dir):
    return _is_prepared(_tfds_builder(name, data_dir))


def _absolute_split(name, split, sizes):
    """TFDS split syntax ("train", "test[:10%]", "train[:100]+test") -> [(split, start, stop)].

    Parsed by TFDS itself (`tfds.core.ReadInstruction`), against the split sizes given.
    """
    import tensorflow_datasets as tfds

    infos = {key: types.SimpleNamespace(num_examples=count) for key, count in sizes.items()}
    try:
        instructions = tfds.core.ReadInstruction.from_spec(split).to_absolute(infos)
    except (ValueError, KeyError, AssertionError):
        raise ValueError(
            f"split {split!r} is not in dataset {name!r}, or is not TFDS split syntax; it has "
            f"{', '.join(sizes)}. Use e.g. {name}:train or {name}:train[:10%]."
        ) from None
    return [(i.splitname, i.from_ or 0, sizes[i.splitname] if i.to is None else i.to)
            for i in instructions]


def _check_split_syntax(name, split):
    """Refuses a split TFDS cannot parse, before any download is tried."""
    import tensorflow_datasets as tfds

    try:
        tfds.core.ReadInstruction.from_spec(split)
    except (ValueError, AssertionError):
        raise ValueError(
            f"split {split!r} of dataset {name!r} is not TFDS split syntax. Use e.g. "
            f"{name}:train, {name}:test or {name}:train[:10%]."
        ) from None


def read_tfds(name, split="train", data_dir=None):
    """Opens a TensorFlow Datasets image dataset, downloading it when it is not prepared yet.

    The dataset must have an `image` feature; its `label` feature (when there is one) becomes the
    labels and its class names are kept. A download that fails (no network) is tried twice, not
    TFDS's ten times, and reported in one line with how to provide the data instead.

    Args:
        name: a TFDS name such as "cifar10" or "lsun/bedroom".
        split: a split, with TFDS's slicing syntax ("train", "test", "train[:10%]").
        data_dir: where TFDS keeps its data (TFDS's default when None).

    Returns:
        An `ImageSource` whose `tfds_dataset` yields (uint8 image, int64 label) pairs.

    Raises:
        ValueError: an unknown name or split, no image feature, or data that cannot be fetched.

    Example:
        >>> source = read_tfds("cifar10", "test", data_dir="~/tensorflow_datasets")
    """
    builder = _tfds_builder(name, data_dir)
    features = builder.info.features
    if "image" not in features:
        raise ValueError(
            f"dataset {name!r} has no `image` feature (features: {', '.join(features)}). "
            "Pick an image dataset."
        )
    if not _is_prepared(builder):
        _check_split_syntax(name, split)
        try:
            with quiet_tfds_download():
                builder.download_and_prepare()
        except Exception as error:
            raise ValueError(
                f"dataset {name!r} could not be fetched ({error_summary(error, 160)}). "
                "Download it where there is a network and pass --data-dir, follow TFDS's manual "
                "download instructions for it (its manual_dir), or pass a folder of images."
            ) from None
    try:
        # Takes TFDS's slicing syntax too ("train[:10%]").
        num_images = builder.info.splits[split].num_examples if builder.info.splits else None
    except (KeyError, ValueError):
        raise ValueError(
            f"split {split!r} is not in dataset {name!r}; it has {', '.join(builder.info.splits)}. "
            f"Use e.g. {name}:train."
        ) from None
    has_label = "label" in features
    dataset = builder.as_dataset(split=split, shuffle_files=False).map(
        lambda example: (example["image"],
                         tf.cast(example["label"], tf.int64) if has_label
                         else tf.constant(-1, tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if num_images is None:  # a dataset without split metadata: count it once
        num_images = int(dataset.reduce(0, lambda count, _: count + 1))
    height, width, channels = features["image"].shape
    return ImageSource(
        name=f"{name}:{split}", num_images=num_images,
        channels=channels if channels in (1, 3) else 3,
        image_size=height if height is not None and height == width else None,
        tfds_dataset=dataset,
        class_names=features["label"].names if has_label and hasattr(features["label"], "names")
        else None,
    )


def read_images(source="fashion_mnist", data_dir=None):
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
    path = Path(source).expanduser()
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() in (".npy", ".npz"):
        if not path.is_file():
            raise ValueError(f"dataset file {source!r} does not exist. Check the path.")
        return read_array_file(path)
    if path.is_file():
        raise ValueError(
            f"dataset {source!r} is a file, not a folder, .npy/.npz file or dataset name. "
            "Pass the folder that holds your images."
        )
    if source.startswith(("/", "./", "../", "~")) or source.lower().endswith(IMAGE_EXTENSIONS):
        raise ValueError(
            f"dataset folder {source!r} does not exist. Check the path, or pass a TensorFlow "
            "Datasets name such as fashion_mnist."
        )
    name, _, split = source.partition(":")
    split = split or "train"
    if name == "fashion_mnist" and _debian_fashion_mnist_installed() and not _tfds_prepared(
            name, data_dir):
        return read_fashion_mnist_split(split)
    return read_tfds(name, split, data_dir)


def _debian_fashion_mnist_installed():
    return all((DEBIAN_FASHION_MNIST_DIR / f).is_file() for files in _IDX_FILES.values()
               for f in files)


def read_fashion_mnist_split(split="train", directory=DEBIAN_FASHION_MNIST_DIR):
    """Fashion-MNIST from Debian's IDX files, with any TFDS split ("train", "test[:10%]", ...).

    Offline, and the same images in the same order as TFDS's `fashion_mnist` splits.

    Raises:
        ValueError: a split that is not TFDS syntax or names no Fashion-MNIST split.

    Example:
        >>> read_fashion_mnist_split("train[:10%]").num_images
        6000
    """
    parts = _absolute_split("fashion_mnist", split, _FASHION_MNIST_SIZES)
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
