"""Input: where images come from, and the tf.data pipeline that feeds them to `DCGAN.fit`.

Three kinds of source, one loader (`read_images`):

- a TensorFlow Datasets name, optionally with a split (`cifar10:train`); `fashion_mnist` works
  offline from Debian's `dataset-fashion-mnist` files;
- a folder of images, searched recursively (JPEG, PNG, BMP, GIF first frame, WebP; gray, RGB,
  RGBA, any size); files that do not decode are skipped, counted and named, never fatal;
- a `.npy` or `.npz` file of uint8 images (N, H, W, C) or (N, H, W).

Images leave the pipeline (`make_dataset`) as float32 batches in [-1, 1] (the range of the
generator's tanh), paired with labels where the source has them (TFDS label feature, sub-folder
names; -1 otherwise): training ignores them, evaluation will use them. Batches are of a fixed size
(the last, partial batch is dropped) so BatchNorm never sees a tiny batch.
"""

import concurrent.futures
import contextlib
import dataclasses
import gzip
import logging
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.models import check_channels, check_image_size, check_positive_int

# Debian's package `dataset-fashion-mnist` installs the original IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
RESIZE_MODES = ("crop", "stretch")
# Decoded images up to this size are cached in memory by cache="auto".
AUTO_MEMORY_CACHE_BYTES = 2 * 1024**3


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

    def summary(self):
        """One line: what was found, and what was skipped."""
        line = f"{self.name}: {self.num_images} images"
        if self.paths is not None:
            line += f", {len(self.skipped)} files skipped (do not decode)"
            if self.ignored:
                line += f", {self.ignored} non-image files ignored"
        return line


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
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
             "Bag", "Ankle boot"]
    return ImageSource.from_arrays(f"fashion_mnist:{split}", images, labels, names)


def read_array_file(path):
    """Reads uint8 images from a `.npy` file or a `.npz` file.

    A `.npz` file's images are its `images` (or `x`) array, or its only array; labels are its
    `labels` (or `y`) array when present. Shapes (N, H, W, C) with C in 1, 3, 4 or (N, H, W).
    """
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as error:
        raise ValueError(
            f"dataset {str(path)!r} is not a readable NumPy file ({type(error).__name__}). "
            "Save images with np.save or np.savez."
        ) from None
    labels = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        keys = list(loaded.keys())
        key = next((k for k in ("images", "x") if k in keys), keys[0] if len(keys) == 1 else None)
        if key is None:
            raise ValueError(
                f"dataset {str(path)!r} holds arrays {keys} and none is named images or x. "
                "Save with np.savez(path, images=images, labels=labels)."
            )
        images = loaded[key]
        label_key = next((k for k in ("labels", "y") if k in keys), None)
        labels = None if label_key is None else loaded[label_key]
    else:
        images = loaded
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
        images = np.asarray(_composite_alpha(tf.constant(images)))
    if labels is not None and len(labels) != len(images):
        raise ValueError(
            f"dataset {str(path)!r} has {len(images)} images but {len(labels)} labels. "
            "Save one label per image, or none."
        )
    return ImageSource.from_arrays(str(path), np.ascontiguousarray(images), labels)


# ---------------------------------------------------------------- folders


def _decode(contents):
    """Decodes JPEG/PNG/BMP/GIF (first frame)/WebP bytes to uint8 with 1, 2, 3 or 4 channels."""
    return tf.io.decode_image(contents, expand_animations=False)


def _decode_rgb(contents):
    """Decodes any supported file to uint8 RGB (gray is repeated, alpha composited over white)."""
    image = _decode(contents)
    branches = [
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
        lambda: tf.tile(_composite_alpha(tf.ensure_shape(image, (None, None, 2))), [1, 1, 3]),
        lambda: tf.ensure_shape(image, (None, None, 3)),
        lambda: _composite_alpha(tf.ensure_shape(image, (None, None, 4))),
    ]
    rgb = tf.switch_case(tf.shape(image)[-1] - 1, branches)
    return tf.ensure_shape(rgb, (None, None, 3))


def _composite_alpha(image):
    """Drops an alpha channel by compositing over white (transparent backgrounds become white)."""
    channels = image.shape[-1]
    if channels not in (2, 4):
        return image
    color = tf.cast(image[..., :channels - 1], tf.float32)
    alpha = tf.cast(image[..., channels - 1:], tf.float32) / 255.0
    return tf.cast(tf.round(color * alpha + 255.0 * (1.0 - alpha)), tf.uint8)


def _probe(path):
    """Decodes one file; returns (channels, height, width) or the reason it does not decode."""
    try:
        image = _decode(tf.io.read_file(path))
        height, width, channels = image.shape
        if height == 0 or width == 0:
            return "empty image"
        return channels, height, width
    except (tf.errors.OpError, ValueError) as error:
        message = getattr(error, "message", str(error)) or type(error).__name__
        # "{{function_node ...}} Input is empty. [Op:DecodeImage] name:" -> "Input is empty."
        message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message.strip().splitlines()[0])
        return re.sub(r"\s*\[Op:.*$", "", message)[:200]


@contextlib.contextmanager
def _native_stderr_silenced():
    """Keeps native decoders' own messages (libjpeg's "Improper call to JPEG library") off the
    terminal while every file is probed; each failure is reported, with its reason, anyway."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def read_folder(folder, workers=None):
    """Finds the images under `folder` (recursively) and checks that each one decodes.

    Every file with an image extension is decoded once here, in parallel; those that fail
    (corrupt, truncated, empty, not really an image) are listed in `skipped` with the reason.
    Labels are the first-level sub-folder names (sorted), -1 for files directly in `folder`.
    """
    folder = Path(folder)
    candidates, ignored = [], 0
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            if name.lower().endswith(IMAGE_EXTENSIONS):
                candidates.append(os.path.join(root, name))
            elif not name.startswith("."):
                ignored += 1
    parts = [Path(p).relative_to(folder).parts for p in candidates]
    class_names = sorted({part[0] for part in parts if len(part) > 1}) or None
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    with _native_stderr_silenced(), concurrent.futures.ThreadPoolExecutor(workers) as pool:
        probes = list(pool.map(_probe, candidates))
    paths, labels, skipped, shapes = [], [], [], []
    for path, part, probe in zip(candidates, parts, probes):
        if isinstance(probe, str):
            skipped.append((path, probe))
            continue
        paths.append(path)
        shapes.append(probe)
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
        ignored=ignored,
    )


# ---------------------------------------------------------------- TensorFlow Datasets


@contextlib.contextmanager
def _logger_quieted(name):
    """Raises the Python logger `name` to ERROR for the duration."""
    logger = logging.getLogger(name)
    saved_level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(saved_level)


@contextlib.contextmanager
def _few_download_retries():
    # TFDS retries a failed download 10 times with exponential backoff: offline, that is 3.5
    # minutes before the error. Two tries tell a missing network in seconds.
    from tensorflow_datasets.core.download import downloader

    saved = downloader.MAX_RETRIES
    downloader.MAX_RETRIES = 2
    try:
        # One warning per retry and file; the error says it all.
        with _logger_quieted("urllib3.connectionpool"):
            yield
    finally:
        downloader.MAX_RETRIES = saved


def _tfds_builder(name, data_dir):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # TFDS raises its own types for unknown names
        raise ValueError(
            f"dataset {name!r} is neither a folder, a .npy/.npz file nor a TensorFlow Datasets "
            f"name ({type(error).__name__}). Pass a folder of images, or a name from "
            "`tfds.list_builders()` such as mnist, cifar10 or celeb_a."
        ) from None


def _tfds_prepared(name, data_dir):
    # TFDS logs a warning for a dataset folder that does not exist; here that is the usual answer.
    with _logger_quieted("absl"):
        return _tfds_builder(name, data_dir).is_prepared()


def read_tfds(name, split="train", data_dir=None):
    """Opens a TensorFlow Datasets image dataset, downloading it when it is not prepared yet."""
    builder = _tfds_builder(name, data_dir)
    features = builder.info.features
    if "image" not in features:
        raise ValueError(
            f"dataset {name!r} has no `image` feature (features: {', '.join(features)}). "
            "Pick an image dataset."
        )
    if not builder.is_prepared():
        try:
            with _few_download_retries():
                builder.download_and_prepare()
        except Exception as error:
            detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
            raise ValueError(
                f"dataset {name!r} could not be fetched ({type(error).__name__}: {detail}). "
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
    if name == "fashion_mnist" and split in _IDX_FILES:
        files = [DEBIAN_FASHION_MNIST_DIR / f for f in _IDX_FILES[split]]
        if all(f.is_file() for f in files) and not _tfds_prepared(name, data_dir):
            return read_fashion_mnist_idx(DEBIAN_FASHION_MNIST_DIR, split)
    return read_tfds(name, split, data_dir)


# ---------------------------------------------------------------- the pipeline


def _check_pipeline_args(image_size, channels, batch_size, num_images, resize):
    check_image_size(image_size)
    check_channels(channels)
    if resize not in RESIZE_MODES:
        raise ValueError(
            f"resize must be one of {', '.join(RESIZE_MODES)}; received resize={resize!r}. "
            "crop keeps the aspect ratio (center square), stretch does not."
        )
    check_positive_int("batch_size", batch_size, "The paper uses 128.")
    if batch_size > num_images:
        raise ValueError(
            f"batch_size must not exceed the number of images; received batch_size={batch_size} "
            f"for {num_images} images. Lower --batch-size or add images."
        )


def _to_channels(image, channels):
    image = _composite_alpha(image)
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image)
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)


def center_crop_square(image):
    """The largest centered square of an (H, W, C) image."""
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    return tf.image.crop_to_bounding_box(
        image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side
    )


def _resize(image, image_size, resize):
    if resize == "crop":
        image = center_crop_square(image)
    resized = tf.image.resize(image, (image_size, image_size), method="area", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def preprocess(image, image_size, channels, resize="crop"):
    """uint8 image of any size and channel count -> uint8 (image_size, image_size, channels)."""
    image = _to_channels(image, channels)
    if image.shape[0] == image_size and image.shape[1] == image_size:
        return image
    image = _resize(image, image_size, resize)
    return tf.ensure_shape(image, (image_size, image_size, channels))


def to_unit_range(images):
    """uint8 [0, 255] -> float32 [-1, 1], the generator's output range."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images):
    """float [-1, 1] -> uint8 [0, 255], for saving generated images."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def _elements(source, image_size, channels, resize, seed):
    """Unbatched (uint8 image at the training size, label), decoded in parallel."""
    if source.images is not None:
        dataset = tf.data.Dataset.from_tensor_slices((source.images, source.labels))
    elif source.paths is not None:
        dataset = tf.data.Dataset.from_tensor_slices((source.paths, source.labels))
        # Shuffling the file list costs nothing and makes uncached epochs fully shuffled.
        dataset = dataset.shuffle(len(source.paths), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.map(lambda path, label: (_decode_rgb(tf.io.read_file(path)), label),
                              num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = source.tfds_dataset
    dataset = dataset.map(
        lambda image, label: (preprocess(image, image_size, channels, resize), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if source.paths is not None:
        # Every file was decoded once by read_folder; one that changed since must not stop a run.
        dataset = dataset.ignore_errors(log_warning=True)
    return dataset


def _materialize(elements):
    images, labels = [], []
    for image_batch, label_batch in elements.batch(1024).prefetch(2):
        images.append(image_batch.numpy())
        labels.append(label_batch.numpy())
    return np.concatenate(images), np.concatenate(labels)


def make_dataset(source, image_size, channels, batch_size, seed=None, steps_per_epoch=None,
                 cache="auto", resize="crop", shuffle_buffer=10_000):
    """Builds the training pipeline: decode, convert, resize, cache, shuffle, batch, prefetch.

    Args:
        source: an `ImageSource` from `read_images`.
        image_size: the training size; other sizes are resized ("crop": the short side is scaled
            and the center square kept, the usual DCGAN face preprocessing; "stretch": scaled to
            a square).
        channels: 1 or 3; gray, RGB and RGBA (composited over white) are converted.
        batch_size: images per batch; the last partial batch is dropped.
        seed: shuffle seed, for reproducible runs.
        steps_per_epoch: optional cap on batches per epoch (each epoch still reshuffles).
        cache: "memory" decodes once into a uint8 array and shuffles all of it every epoch (an
            index shuffle: the images are held once); a file path caches to that file and
            shuffles through a `shuffle_buffer`; "none" decodes every epoch; "auto" is "memory"
            when the decoded images fit in 2 GiB, else "none".
        resize: "crop" or "stretch".
        shuffle_buffer: images in the shuffle buffer when not cached in memory.

    Returns:
        A `tf.data.Dataset` of (float32 images in [-1, 1], int64 labels) batches.
    """
    _check_pipeline_args(image_size, channels, batch_size, source.num_images, resize)
    if cache == "auto":
        decoded_bytes = source.num_images * image_size * image_size * channels
        cache = "memory" if decoded_bytes <= AUTO_MEMORY_CACHE_BYTES else "none"
    ready = source.images is not None and source.images.shape[1:] == (
        image_size, image_size, channels)
    if cache == "memory":
        if ready:
            images, labels = source.images, source.labels
        else:
            images, labels = _materialize(_elements(source, image_size, channels, resize, seed))
        images, labels = tf.constant(images), tf.constant(labels)
        # Shuffle indices, not images: a full shuffle every epoch without a second copy.
        dataset = tf.data.Dataset.range(len(images)).shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=True).map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    else:
        dataset = _elements(source, image_size, channels, resize, seed)
        if cache != "none":
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            dataset = dataset.cache(str(cache))
        if source.paths is None or cache != "none":
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if steps_per_epoch:
        dataset = dataset.take(steps_per_epoch)
    return dataset.prefetch(tf.data.AUTOTUNE)
