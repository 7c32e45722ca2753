"""What a dataset is once opened: `ImageSource` (images in memory, image files or a TFDS pipeline,
with labels where the source has them), a subset of one, and decoding image files.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tf_dcgan.checks import MAX_CLASSES
from tf_dcgan.data.transforms import composite_alpha


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
        empty_classes: sub-folders whose image files all fail to decode: not classes.
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
    empty_classes: list = dataclasses.field(default_factory=list)

    @classmethod
    def from_arrays(cls, name: str, images, labels=None, class_names: list[str] | None = None):
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
        largest = int(self.labels.max())
        # Checked before the names are made: one mistyped label would make billions of them.
        if largest >= MAX_CLASSES:
            raise ValueError(
                f"dataset {self.name!r} has a label of {largest}, which makes {largest + 1} "
                f"classes; a conditional model takes at most {MAX_CLASSES}. Labels must be 0 to "
                "K-1 for K classes: fix the labels array."
            )
        return [str(index) for index in range(largest + 1)]

    def summary(self):
        """One line: what was found, and what was skipped."""
        line = f"{self.name}: {self.num_images} images"
        if self.paths is not None:
            line += f", {len(self.skipped)} files skipped (do not decode)"
            if self.ignored:
                line += f", {self.ignored} non-image files ignored"
            if self.links_skipped:
                line += f", {self.links_skipped} links skipped (loops or duplicates)"
            if self.empty_classes:
                line += (f", {len(self.empty_classes)} sub-folders with no image that decodes "
                         f"(not classes): {', '.join(self.empty_classes)}")
        return line


def subset(source: ImageSource, indices: np.ndarray, name: str | None = None) -> ImageSource:
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


def held_out_split(source: ImageSource, share: float = 0.1,
                   seed: int = 0) -> tuple[ImageSource, ImageSource]:
    """(the rest, the held-out `share`) of a folder's or array file's images, seeded.

    The one split of a dataset without a test split: `train_classifier.py` learns the rest and
    tests on the held-out images, and `evaluate.py` scores generators against the same held-out
    images, so a reference image is never one the classifier learned. With class labels the
    share is taken from each class (at least one image of each); both parts keep file order.

    Args:
        source: ImageSource. An in-memory or folder source.
        share: float. The held-out share, between 0 and 1.
        seed: int. The permutation's seed.

    Example:
        >>> rest, held_out = held_out_split(read_images("data/emoji"))
    """
    rng = np.random.default_rng(seed)
    labels = (np.zeros(source.num_images, np.int64) if source.labels is None
              else np.asarray(source.labels))
    held = []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        held += rows[:max(1, int(round(len(rows) * share)))].tolist()
    held = np.sort(held)
    rest = np.setdiff1d(np.arange(source.num_images), held)
    return subset(source, rest), subset(source, held)


def decode_image(contents: tf.Tensor) -> tf.Tensor:
    """Decodes JPEG/PNG/BMP/GIF (first frame)/WebP bytes to uint8 with 1, 2, 3 or 4 channels."""
    return tf.io.decode_image(contents, expand_animations=False)


def decode_rgb(contents: tf.Tensor) -> tf.Tensor:
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
