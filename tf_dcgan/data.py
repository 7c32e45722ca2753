"""The `tf.data` pipelines: training batches for `DCGAN.fit`, and every image once for evaluation.

Images come from an `ImageSource` (`tf_dcgan.sources`, re-exported here with `read_images`) and
leave as float32 batches in [-1, 1] (the range of the generator's tanh), paired with int64 labels
(TFDS label feature, `.npz` labels, sub-folder names; -1 where the source has none).

- `make_dataset`, for training: cached (in memory by default), fully reshuffled every epoch,
  fixed-size batches (the last, partial batch is dropped so BatchNorm never sees a tiny batch).
- `make_eval_dataset`, for evaluation: every image exactly once, in the source's order,
  unshuffled, with the last partial batch kept.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    check_channels,
    check_image_size,
    check_positive_int,
    check_resize,
    error_summary,
)
from tf_dcgan.files import write_json
from tf_dcgan.sources import ImageSource, decode_rgb, read_images
from tf_dcgan.transforms import apply_orientation, preprocess, to_unit_range

__all__ = ["ImageSource", "make_dataset", "make_eval_dataset", "read_images"]

# Decoded images up to this size are cached in memory by cache="auto".
AUTO_MEMORY_CACHE_BYTES = 2 * 1024**3


def _check_pipeline_args(image_size, channels, batch_size, resize):
    check_image_size(image_size)
    check_channels(channels)
    check_resize(resize)
    check_positive_int("batch_size", batch_size, "The paper uses 128.")


def _elements(source, image_size, channels, resize, shuffle_seed=None, shuffle_files=False):
    """Unbatched (uint8 image at the training size, label), decoded in parallel, in order unless
    `shuffle_files`."""
    if source.images is not None:
        dataset = tf.data.Dataset.from_tensor_slices((source.images, source.labels))
    elif source.paths is not None:
        orientations = (source.orientations if source.orientations is not None
                        else np.ones(len(source.paths), np.int32))
        dataset = tf.data.Dataset.from_tensor_slices((source.paths, source.labels, orientations))
        if shuffle_files:
            # Shuffling the file list costs nothing and makes uncached epochs fully shuffled.
            dataset = dataset.shuffle(len(source.paths), seed=shuffle_seed,
                                      reshuffle_each_iteration=True)
        dataset = dataset.map(
            lambda path, label, orientation: (
                apply_orientation(decode_rgb(tf.io.read_file(path)), orientation), label),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        dataset = source.tfds_dataset
    dataset = dataset.map(
        lambda image, label: (preprocess(image, image_size, channels, resize), label),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
    )
    if source.paths is not None:
        # Every file was decoded once by read_folder; one that changed since must not stop a run.
        dataset = dataset.ignore_errors(log_warning=True)
    return dataset


def _fingerprint(source):
    """A digest of what a source holds: its pixels, its files (names, sizes, times) or its name."""
    digest = hashlib.blake2b(digest_size=16)
    if source.images is not None:
        digest.update(np.ascontiguousarray(source.images).data)
        digest.update(np.ascontiguousarray(source.labels).data)
    elif source.paths is not None:
        for path in source.paths:
            stat = os.stat(path)
            digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    else:
        digest.update(f"{source.name}\t{source.num_images}".encode())
    return digest.hexdigest()


def _claim_file_cache(cache, source, image_size, channels, resize):
    """Checks that a file cache is this data's (or new), records its key, returns the prefix.

    TensorFlow reads `PREFIX.index` and `PREFIX.data-*` back whatever the dataset, so a cache of
    other data would be trained on silently. A key (source, its fingerprint, size, channels,
    resize) is kept beside it in `PREFIX.tf_dcgan.json`; a cache whose key differs, or that has
    none, is refused, never read and never deleted.
    """
    prefix = Path(cache).expanduser()
    key_path = prefix.with_name(prefix.name + ".tf_dcgan.json")
    key = {"source": source.name, "num_images": source.num_images, "image_size": image_size,
           "channels": channels, "resize": resize, "fingerprint": _fingerprint(source)}
    cached = [p for p in (prefix.with_name(prefix.name + ".index"),) if p.exists()]
    if cached:
        try:
            recorded = json.loads(key_path.read_text())
        except (OSError, ValueError):
            recorded = None
        if recorded != key:
            what = ("another dataset or setting: " + ", ".join(
                f"{name} {recorded.get(name)!r} here, {value!r} now"
                for name, value in key.items() if recorded.get(name) != value)
                if isinstance(recorded, dict) else "data of unknown origin")
            raise ValueError(
                f"cache {str(prefix)!r} holds {what}. Pass another --cache path, or delete "
                f"{prefix}.* to rebuild it."
            )
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        write_json(key_path, key)
    except OSError as error:
        raise ValueError(
            f"cache must be a path you can write to; received cache={str(cache)!r} "
            f"({error.strerror or error_summary(error)}). Pick another --cache path, or "
            "--cache memory."
        ) from None
    return str(prefix)


def _materialize(elements):
    """Decodes every element into one uint8 image array and one label array."""
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
            index shuffle: the images are held once); a file path caches to that file (keyed to
            this data: a cache of other data is refused) and shuffles through a
            `shuffle_buffer`; "none" decodes every epoch; "auto" is "memory" when the decoded
            images fit in 2 GiB, else "none".
        resize: "crop" or "stretch".
        shuffle_buffer: images in the shuffle buffer when not cached in memory.

    Returns:
        A `tf.data.Dataset` of (float32 images in [-1, 1], int64 labels) batches.
    """
    _check_pipeline_args(image_size, channels, batch_size, resize)
    if batch_size > source.num_images:
        raise ValueError(
            f"batch_size must not exceed the number of images; received batch_size={batch_size} "
            f"for {source.num_images} images. Lower --batch-size or add images."
        )
    if cache == "auto":
        decoded_bytes = source.num_images * image_size * image_size * channels
        cache = "memory" if decoded_bytes <= AUTO_MEMORY_CACHE_BYTES else "none"
    ready = source.images is not None and source.images.shape[1:] == (
        image_size, image_size, channels)
    if cache == "memory":
        if ready:
            images, labels = source.images, source.labels
        else:
            images, labels = _materialize(_elements(source, image_size, channels, resize))
        images, labels = tf.constant(images), tf.constant(labels)
        # Shuffle indices, not images: a full shuffle every epoch without a second copy.
        dataset = tf.data.Dataset.range(len(images)).shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=True).map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)))
    else:
        dataset = _elements(source, image_size, channels, resize, seed, shuffle_files=True)
        if cache != "none":
            dataset = dataset.cache(_claim_file_cache(cache, source, image_size, channels, resize))
        if source.paths is None or cache != "none":
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if steps_per_epoch:
        dataset = dataset.take(steps_per_epoch)
    return dataset.prefetch(tf.data.AUTOTUNE)


def make_eval_dataset(source, image_size, channels, batch_size=256, resize="crop"):
    """Builds the evaluation pipeline: every image exactly once, in order, unshuffled.

    The same decoding, channel conversion and resizing as `make_dataset`, so real images are
    scored exactly as training saw them; unlike it, nothing is shuffled or cached and the last,
    partial batch is kept, so metrics see the whole split. Pass over it as often as needed: each
    pass gives the same batches in the same order.

    Args:
        source: an `ImageSource` from `read_images` (usually a test split).
        image_size: the generator's image size; other sizes are resized as in training.
        channels: the generator's channel count, 1 or 3.
        batch_size: images per batch (the last one may be smaller).
        resize: "crop" or "stretch", as the run was trained with.

    Returns:
        A `tf.data.Dataset` of (float32 images in [-1, 1], int64 labels) batches.

    Example:
        >>> test = read_images("fashion_mnist:test")
        >>> sum(len(labels) for _, labels in make_eval_dataset(test, 28, 1)) == test.num_images
        True
    """
    _check_pipeline_args(image_size, channels, batch_size, resize)
    dataset = _elements(source, image_size, channels, resize).batch(batch_size)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
