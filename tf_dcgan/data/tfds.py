"""TensorFlow Datasets as an image source: a prepared dataset, or one TFDS downloads.

A split takes TFDS's own syntax (`cifar10:test`, `train[:10%]`), checked before any download;
a download that fails offline fails fast, in one line that says how to provide the data.
"""

import types

import tensorflow as tf

from tf_dcgan.checks import error_summary
from tf_dcgan.data.images import ImageSource
from tf_dcgan.environment import logger_quieted, quiet_tfds_download


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


def tfds_prepared(name: str, data_dir: str) -> bool:
    return _is_prepared(_tfds_builder(name, data_dir))


def absolute_split(name: str, split: str, sizes: dict[str, int]) -> list[tuple[str, int, int]]:
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


def read_tfds(name: str, split: str = "train", data_dir: str | None = None) -> ImageSource:
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
