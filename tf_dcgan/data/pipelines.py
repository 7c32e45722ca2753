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
import math
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    ImageFormat,
    check_channels,
    check_image_format,
    check_image_size,
    check_positive_int,
    check_resize,
    error_summary,
)
from tf_dcgan.data.images import ImageSource, decode_rgb
from tf_dcgan.data.transforms import apply_orientation, preprocess, to_unit_range
from tf_dcgan.deprecation import old_argument, old_form
from tf_dcgan.files import write_json

# Decoded images up to this size are cached in memory by cache="auto".
AUTO_MEMORY_CACHE_BYTES = 2 * 1024**3


# The end of an endless stream of training steps.
_ENDLESS = 2**62
# Images in the shuffle buffer of a file cache or TFDS stream (the memory cache shuffles all).
SHUFFLE_BUFFER = 10_000


def _make_dataset_v1(source, image_size, channels, batch_size, seed=None, steps_per_epoch=None,
                     cache="auto", resize="crop", shuffle_buffer=SHUFFLE_BUFFER):
    """pass ImageFormat(image_size, channels, resize) after the source, e.g.
    make_dataset(source, ImageFormat(28, 1), 64, seed=0)."""
    return _dataset(source, image_size, channels, batch_size, seed, steps_per_epoch, cache,
                    resize, shuffle_buffer)


def _make_training_stream_v1(source, image_size, channels, batch_size, seed, steps_per_epoch=None,
                             start_step=0, cache="auto", resize="crop",
                             shuffle_buffer=SHUFFLE_BUFFER):
    """pass ImageFormat(image_size, channels, resize) after the source, e.g.
    make_training_stream(source, ImageFormat(28, 1), 64, seed=0)."""
    return _training_stream(source, image_size, channels, batch_size, seed, steps_per_epoch,
                            start_step, cache, resize, shuffle_buffer)


def _make_eval_dataset_v1(source, image_size, channels, batch_size=256, resize="crop"):
    """pass ImageFormat(image_size, channels, resize) after the source, e.g.
    make_eval_dataset(source, ImageFormat(28, 1))."""
    return make_eval_dataset(source, ImageFormat(image_size, channels, resize), batch_size)


# The old forms took (source, image_size, channels, ...): an int second, or their own keywords.
_old_pipeline_call = old_argument(1, {"image_size", "channels", "resize"},
                                  lambda value: not isinstance(value, ImageFormat))


def _check_pipeline_args(image_size, channels, batch_size, resize):
    check_image_size(image_size)
    check_channels(channels)
    check_resize(resize)
    check_positive_int("batch_size", batch_size, "The paper uses 128.")


def _elements(source, image_size, channels, resize, shuffle_seed=None, shuffle_files=False,
              file_order_seed=None):
    """Unbatched (uint8 image at the training size, label), decoded in parallel.

    In the source's order, unless `shuffle_files` (a seeded shuffle of the file list, new every
    iteration) or `file_order_seed` (a `[2]` seed tensor: one stateless permutation of the file
    list, the same for the same seed).
    """
    if source.images is not None:
        dataset = tf.data.Dataset.from_tensor_slices((source.images, source.labels))
    elif source.paths is not None:
        orientations = (source.orientations if source.orientations is not None
                        else np.ones(len(source.paths), np.int32))
        # As bytes: a file name that is not valid UTF-8 is read like any other.
        files = (tf.constant([os.fsencode(path) for path in source.paths]),
                 tf.constant(source.labels), tf.constant(orientations))
        if file_order_seed is not None:
            last = tf.constant(len(source.paths) - 1, tf.int64)
            dataset = tf.data.Dataset.range(len(source.paths)).map(
                lambda i: tuple(tf.gather(column, tf.random.experimental.index_shuffle(
                    i, seed=file_order_seed, max_index=last)) for column in files))
        else:
            dataset = tf.data.Dataset.from_tensor_slices(files)
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


def _block_shuffle(elements, block, seed):
    """Shuffles a stream block by block: each `block` elements in a stateless random order.

    Like `Dataset.shuffle` with a buffer of `block`, it mixes nearby elements only; unlike it, the
    order is a pure function of the `[2]` seed tensor, so a resumed run can reproduce it.
    """
    def permute(block_index, block_elements):
        images, labels = block_elements
        size = tf.shape(labels, out_type=tf.int64)[0]
        order = tf.random.experimental.index_shuffle(
            tf.range(size), seed=tf.random.experimental.stateless_fold_in(seed, block_index),
            max_index=size - 1)
        return tf.gather(images, order), tf.gather(labels, order)

    return elements.batch(block).enumerate().map(permute).unbatch()


def _fingerprint(source, file_times=True):
    """A digest of what a source holds: its pixels, its files (names, sizes and, with
    `file_times`, modification times) or its name."""
    digest = hashlib.blake2b(digest_size=16)
    if source.images is not None:
        digest.update(np.ascontiguousarray(source.images).data)
        digest.update(np.ascontiguousarray(source.labels).data)
    elif source.paths is not None:
        for path in source.paths:
            stat = os.stat(path)
            name = path if file_times else os.path.relpath(path, source.name)
            digest.update(os.fsencode(f"{name}\t{stat.st_size}"))
            digest.update(f"\t{stat.st_mtime_ns}\n".encode() if file_times else b"\n")
    else:
        digest.update(f"{source.name}\t{source.num_images}".encode())
    return digest.hexdigest()


def dataset_fingerprint(source: ImageSource) -> str:
    """A digest of the data a run trains on, recorded in config.json so `--resume` can tell.

    The pixels and labels of images in memory; the files of a folder (paths relative to it, and
    sizes: a copy of the folder elsewhere is the same data); a TFDS split's name and size.
    """
    return _fingerprint(source, file_times=False)


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


@old_form(_make_dataset_v1, _old_pipeline_call)
def make_dataset(source: ImageSource, image_format: ImageFormat, batch_size: int,
                 seed: int | None = None, steps_per_epoch: int | None = None, cache: str = "auto",
                 shuffle_buffer: int = SHUFFLE_BUFFER) -> tf.data.Dataset:
    """Builds the training pipeline: decode, convert, resize, cache, shuffle, batch, prefetch.

    Args:
        source: an `ImageSource` from `read_images`.
        image_format: `ImageFormat(size, channels, resize)`: the training size, to which other
            sizes are resized ("crop": the short side is scaled and the center square kept, the
            usual DCGAN face preprocessing; "stretch": scaled to a square), and the channels
            (1 or 3; gray, RGB and RGBA, composited over white, are converted).
        batch_size: images per batch; the last partial batch is dropped.
        seed: shuffle seed, for reproducible runs.
        steps_per_epoch: optional cap on batches per epoch (each epoch still reshuffles).
        cache: "memory" decodes once into a uint8 array and shuffles all of it every epoch (an
            index shuffle: the images are held once); a file path caches to that file (keyed to
            this data: a cache of other data is refused) and shuffles through a
            `shuffle_buffer`; "none" decodes every epoch; "auto" is "memory" when the decoded
            images fit in 2 GiB, else "none".
        shuffle_buffer: images in the shuffle buffer when not cached in memory.

    The old form `make_dataset(source, image_size, channels, batch_size, ..., resize=...)` still
    works, with a DeprecationWarning.

    Returns:
        A `tf.data.Dataset` of (float32 images in [-1, 1], int64 labels) batches.
    """
    image_format = check_image_format(image_format)
    return _dataset(source, image_format.size, image_format.channels, batch_size, seed,
                    steps_per_epoch, cache, image_format.resize, shuffle_buffer)


def _dataset(source, image_size, channels, batch_size, seed, steps_per_epoch, cache, resize,
             shuffle_buffer):
    cache = _check_training_args(source, image_size, channels, batch_size, resize, cache)
    if cache == "memory":
        images, labels = _in_memory(source, image_size, channels, resize)
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


def _check_training_args(source, image_size, channels, batch_size, resize, cache):
    """Checks the arguments of a training pipeline; returns the cache policy with auto resolved."""
    _check_pipeline_args(image_size, channels, batch_size, resize)
    if batch_size > source.num_images:
        raise ValueError(
            f"batch_size must not exceed the number of images; received batch_size={batch_size} "
            f"for {source.num_images} images. Lower --batch-size or add images."
        )
    if cache == "auto":
        decoded_bytes = source.num_images * image_size * image_size * channels
        return "memory" if decoded_bytes <= AUTO_MEMORY_CACHE_BYTES else "none"
    return cache


def _in_memory(source, image_size, channels, resize):
    """(images, labels) as constant tensors at the training size, decoded once."""
    if source.images is not None and source.images.shape[1:] == (image_size, image_size,
                                                                  channels):
        images, labels = source.images, source.labels
    else:
        images, labels = _materialize(_elements(source, image_size, channels, resize))
    return tf.constant(images), tf.constant(labels)


# A small folder's epoch is whole passes over it making at least this many steps, so that its
# samples, checkpoints, evaluations and GIF frames come every 200 steps or so, not every few
# (docs/training.md, "Small folders"); a folder of at least 200 batches keeps one pass an epoch.
# 200 keeps the work of an epoch's end under 5% of a small folder's epoch at 28x28 (5.5% at 150
# steps) and at 64x64 (1.4% at 152), measured with benchmarks/epoch_overhead.py.
MIN_EPOCH_STEPS = 200


def training_steps_per_epoch(num_images: int, batch_size: int,
                             steps_per_epoch: int | None = None) -> int:
    """Steps in an epoch: `steps_per_epoch` when given, else one pass (full batches).

    Below one pass, `steps_per_epoch` caps the pass (each epoch a new shuffle, for quick tries);
    above one, an epoch runs over several passes, each shuffled anew.
    """
    return steps_per_epoch or num_images // batch_size


def pass_steps(num_images: int, batch_size: int, steps_per_epoch: int | None = None) -> int:
    """Steps in one shuffled pass over the data: full batches, capped by a shorter epoch."""
    full = num_images // batch_size
    return min(steps_per_epoch or full, full)


def default_steps_per_epoch(num_images: int, batch_size: int) -> int | None:
    """A new run's epoch when `--steps-per-epoch` is not given: None (one pass) for a dataset of
    at least `MIN_EPOCH_STEPS` batches, else the fewest whole passes that make that many steps.

    Example:
        >>> default_steps_per_epoch(300, 64), default_steps_per_epoch(60_000, 64)
        (200, None)
    """
    full = num_images // batch_size
    if full <= 0 or full >= MIN_EPOCH_STEPS:
        return None
    return math.ceil(MIN_EPOCH_STEPS / full) * full


@old_form(_make_training_stream_v1, _old_pipeline_call)
def make_training_stream(source: ImageSource, image_format: ImageFormat, batch_size: int,
                         seed: int, steps_per_epoch: int | None = None, start_step: int = 0,
                         cache: str = "auto") -> tuple[tf.data.Dataset, int]:
    """The training batches as one endless stream whose order depends only on (seed, step).

    Batch number `step` (counted from the start of training) is always the same batch, in any
    process, so a run stopped after any step continues with exactly the batches it would have
    seen: pass the steps already done as `start_step`, and `steps_per_epoch` to `fit` (Keras
    then keeps one iterator across epochs). With the memory cache each pass over the data is a
    full, stateless permutation of all images (`tf.random.experimental.index_shuffle` seeded
    with (seed, pass)); uncached folders get a new permutation of the file list every pass; file
    caches and TFDS streams are shuffled in blocks of `shuffle_buffer` images; a resumed run
    then skips into its pass (re-reading the batches it skips). An epoch is one pass, or several
    (`steps_per_epoch` above one pass), or part of one (below it: the pass is cut there).

    Args:
        source, image_format, batch_size, cache: as in `make_dataset`; file caches and TFDS
            streams are shuffled in blocks of `SHUFFLE_BUFFER` images.
        seed: the run's seed (an integer).
        steps_per_epoch: batches per epoch (default one pass); see `training_steps_per_epoch`.
        start_step: batches already trained on.

    The old form `make_training_stream(source, image_size, channels, batch_size, seed, ...,
    resize=..., shuffle_buffer=...)` still works, with a DeprecationWarning.

    Returns:
        (dataset, steps_per_epoch): the endless `tf.data.Dataset` of (float32 images in [-1, 1],
        int64 labels) batches, and the number of batches in each epoch.

    Example:
        >>> stream, steps = make_training_stream(source, ImageFormat(28, 1), 128, seed=0)
        >>> gan.fit(stream, epochs=20, steps_per_epoch=steps)
    """
    image_format = check_image_format(image_format)
    return _training_stream(source, image_format.size, image_format.channels, batch_size, seed,
                            steps_per_epoch, start_step, cache, image_format.resize,
                            SHUFFLE_BUFFER)


def _training_stream(source, image_size, channels, batch_size, seed, steps_per_epoch, start_step,
                     cache, resize, shuffle_buffer):
    cache = _check_training_args(source, image_size, channels, batch_size, resize, cache)
    steps = pass_steps(source.num_images, batch_size, steps_per_epoch)
    full_pass = source.num_images // batch_size
    seed = tf.constant(seed, tf.int64)
    if cache == "memory":
        images, labels = _in_memory(source, image_size, channels, resize)
        last_index = tf.constant(len(images) - 1, tf.int64)

        def batch_at(step):
            data_pass, position = step // steps, step % steps
            positions = position * batch_size + tf.range(batch_size, dtype=tf.int64)
            index = tf.random.experimental.index_shuffle(
                positions, seed=tf.stack([seed, data_pass]), max_index=last_index)
            return tf.gather(images, index), tf.gather(labels, index)

        dataset = tf.data.Dataset.range(start_step, _ENDLESS).map(
            batch_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        cached = None
        if cache != "none":
            cached = _elements(source, image_size, channels, resize).cache(
                _claim_file_cache(cache, source, image_size, channels, resize))

        def epoch_batches(epoch):
            epoch_seed = tf.stack([seed, epoch])
            if cached is None and source.paths is not None:
                # A new permutation of the whole file list every epoch.
                elements = _elements(source, image_size, channels, resize,
                                     file_order_seed=epoch_seed)
            else:
                elements = _block_shuffle(
                    cached if cached is not None else
                    _elements(source, image_size, channels, resize), shuffle_buffer, epoch_seed)
            batches = elements.batch(batch_size, drop_remainder=True)
            # Only a capped epoch stops early: a full one reads to the end, which is what lets a
            # file cache complete during the first epoch.
            return batches.take(steps) if steps < full_pass else batches

        start_epoch, skip = divmod(start_step, steps)
        dataset = tf.data.Dataset.range(start_epoch, _ENDLESS).flat_map(epoch_batches).skip(skip)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Under MultiWorkerMirroredStrategy every worker builds this same stream and keeps its own
    # part of each global batch (sharding by data: the stream has no files to split).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    epoch_steps = training_steps_per_epoch(source.num_images, batch_size, steps_per_epoch)
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE), epoch_steps


@old_form(_make_eval_dataset_v1, _old_pipeline_call)
def make_eval_dataset(source: ImageSource, image_format: ImageFormat,
                      batch_size: int = 256) -> tf.data.Dataset:
    """Builds the evaluation pipeline: every image exactly once, in order, unshuffled.

    The same decoding, channel conversion and resizing as `make_dataset`, so real images are
    scored exactly as training saw them; unlike it, nothing is shuffled or cached and the last,
    partial batch is kept, so metrics see the whole split. Pass over it as often as needed: each
    pass gives the same batches in the same order.

    Args:
        source: an `ImageSource` from `read_images` (usually a test split).
        image_format: the generator's `ImageFormat(size, channels, resize)`: other sizes are
            resized as in training, with the resize mode the run was trained with.
        batch_size: images per batch (the last one may be smaller).

    The old form `make_eval_dataset(source, image_size, channels, batch_size, resize)` still
    works, with a DeprecationWarning.

    Returns:
        A `tf.data.Dataset` of (float32 images in [-1, 1], int64 labels) batches.

    Example:
        >>> test = read_images("fashion_mnist:test")
        >>> batches = make_eval_dataset(test, ImageFormat(28, 1))
        >>> sum(len(labels) for _, labels in batches) == test.num_images
        True
    """
    image_format = check_image_format(image_format)
    image_size, channels, resize = image_format.size, image_format.channels, image_format.resize
    _check_pipeline_args(image_size, channels, batch_size, resize)
    dataset = _elements(source, image_size, channels, resize).batch(batch_size)
    dataset = dataset.map(lambda images, labels: (to_unit_range(images), labels),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
