"""Scoring a generator against real images: FID, KID, precision and recall, with their floor.

`evaluate_generator` draws `num_images` images from the generator in batches (stateless noise
from a seed, BatchNorm in inference mode), extracts features of them and of the reference images
(`data.make_eval_dataset`: every real image once), and scores them with `evaluation.metrics`. The
same metrics between two real sets (the reference split against other real images) give the
floor: the best a generator can do with this extractor and this many images. Reports always
name the extractor, the image counts and both real sets.
"""

import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    MIN_EVAL_IMAGES,
    DatasetSpec,
    check_eval_images,
    check_positive_int,
)
from tf_dcgan.data.images import ImageSource
from tf_dcgan.deprecation import old_argument, old_form
from tf_dcgan.evaluation.extractors import FeatureExtractor, extract_features
from tf_dcgan.evaluation.metrics import Scores, frechet_distance, score_features
from tf_dcgan.model.latent import LatentSpace


@dataclasses.dataclass
class Report:
    """One evaluation: the generator's scores, and the real-vs-real floor beside them."""

    extractor: str
    num_generated: int
    reference: str
    num_reference: int
    scores: Scores
    floor_reference: str = None
    floor: Scores = None

    def as_dict(self):
        return {
            "extractor": self.extractor, "num_generated": self.num_generated,
            "reference": self.reference, "num_reference": self.num_reference,
            "scores": self.scores.as_dict(), "floor_reference": self.floor_reference,
            "floor": None if self.floor is None else self.floor.as_dict(),
        }

    def to_json(self):
        return json.dumps(self.as_dict(), indent=2)

    def table(self):
        """The report as a small text table."""
        rows = [("generator", self.scores)]
        if self.floor is not None:
            rows.append((f"floor: {self.floor_reference}", self.floor))
        width = max(len(name) for name, _ in rows)
        lines = [
            f"extractor: {self.extractor}",
            f"reference: {self.reference} ({self.num_reference} images); generated: "
            f"{self.num_generated} images",
            f"{'':{width}}  {'FID':>9} {'KID (mean ± std)':>19} {'precision':>9} {'recall':>7}",
        ]
        for name, s in rows:
            lines.append(f"{name:{width}}  {s.fid:9.3f} {s.kid:9.4f} ± {s.kid_std:7.4f} "
                         f"{s.precision:9.3f} {s.recall:7.3f}")
        return "\n".join(lines)


def generated_batches(generator: keras.Model, num_images: int, batch_size: int = 250,
                      seed: int = 0, label: int | None = None) -> Iterator[tf.Tensor]:
    """Yields `num_images` generated images in batches, the same for the same seed.

    The inputs are `LatentSpace.batches`; a conditional generator makes uniform random classes,
    or only `label`. BatchNorm runs in inference mode.
    """
    for inputs in LatentSpace.of(generator).batches(num_images, batch_size, seed, label):
        yield generator(inputs, training=False)


# Generated images per batch when scoring (the default).
GENERATED_BATCH = 250


@dataclasses.dataclass(frozen=True)
class ImageSet:
    """Real images to score against: what they are, and their batches (`make_eval_dataset`).

    Attributes:
        name: what they are, as reports name them (e.g. "fashion_mnist:test").
        batches: (images in [-1, 1], labels) batches, each image once (`make_eval_dataset`).
    """

    name: str
    batches: Iterable


def _evaluate_generator_v1(generator, extractor, reference_batches, reference_name,
                           num_images=10_000, floor_batches=None, floor_name=None, batch_size=250,
                           seed=0, verbose=True):
    """pass the real images as ImageSet(name, batches): evaluate_generator(generator,
    extractor, ImageSet("fashion_mnist:test", batches), floor=ImageSet(...))."""
    floor = None if floor_batches is None else ImageSet(floor_name, floor_batches)
    return _score(generator, extractor, ImageSet(reference_name, reference_batches),
                  num_images, floor, batch_size, seed, verbose)


def _evaluate_classes_v1(generator, extractor, reference_batches, reference_name,
                         num_per_class=1000, batch_size=250, seed=0, class_names=None,
                         verbose=True):
    """pass the real images as ImageSet(name, batches): evaluate_classes(generator,
    extractor, ImageSet("fashion_mnist:test", batches))."""
    return _score_classes(generator, extractor, ImageSet(reference_name, reference_batches),
                          num_per_class, batch_size, seed, class_names, verbose)


# The old forms took (reference_batches, reference_name) third and fourth, and `verbose`.
_old_scoring_call = old_argument(
    2, {"reference_batches", "reference_name", "floor_batches", "floor_name", "verbose"},
    lambda value: not isinstance(value, ImageSet))


@old_form(_evaluate_generator_v1, _old_scoring_call)
def evaluate_generator(generator: keras.Model, extractor: FeatureExtractor,
                       reference: ImageSet, num_images: int = 10_000,
                       floor: ImageSet | None = None, batch_size: int = GENERATED_BATCH,
                       seed: int = 0) -> Report:
    """Scores `num_images` generated images against the reference images, and the floor.

    Args:
        generator: a Keras generator (noise -> images in [-1, 1]).
        extractor: a `FeatureExtractor`.
        reference: the real images to compare with, `ImageSet(name, make_eval_dataset(...))`.
        num_images: generated images; the floor uses as many real images, or all there are.
        floor: other real images (e.g. the training split) for the floor, or None.
        batch_size: generated images per batch.
        seed: seed of the generated noise and of KID's subsets.

    A progress bar (on a terminal) and a line per feature set are printed unless Keras'
    interactive logging is off (`keras.config.disable_interactive_logging()`). The old form
    `evaluate_generator(generator, extractor, reference_batches, reference_name, num_images,
    floor_batches, floor_name, batch_size, seed, verbose)` still works, with a
    DeprecationWarning.

    Returns:
        A `Report`.

    Example:
        >>> test = ImageSet("fashion_mnist:test", make_eval_dataset(source, ImageFormat(28, 1)))
        >>> print(evaluate_generator(generator, classifier_extractor(path), test).table())
    """
    return _score(generator, extractor, reference, num_images, floor, batch_size, seed,
                  keras.config.is_interactive_logging_enabled())


def _score(generator, extractor, reference, num_images, floor, batch_size, seed, verbose):
    check_eval_images("num_images", num_images, "Use e.g. --num-images 10000.")
    reference_batches, reference_name = reference.batches, reference.name

    def features(batches, limit, what):
        # A bar on a terminal; one line per set in a log.
        bar = (keras.utils.Progbar(limit, unit_name="image")
               if verbose and sys.stdout.isatty() else None)
        result = extract_features(extractor, batches, limit=limit, progress=bar)
        if verbose:
            print(f"features of {what}: {len(result)} images", flush=True)
        return result

    real = features(reference_batches, None, reference_name)
    fake = features(generated_batches(generator, num_images, batch_size, seed), num_images,
                    f"{num_images} generated images")
    report = Report(extractor.name, len(fake), reference_name, len(real),
                    score_features(real, fake, seed=seed))
    if floor is not None:
        other = features(floor.batches, num_images, floor.name)
        report.floor_reference = f"{floor.name} ({len(other)} images) vs {reference_name}"
        report.floor = score_features(real, other, seed=seed)
    return report


@dataclasses.dataclass
class ClassReport:
    """A generator, class by class: does class k look like class k, and how real is it?

    For a conditional generator each class's images are the ones made with its label; for an
    unconditional one, the images the domain classifier puts in that class.

    Attributes:
        extractor: the classifier that judged and embedded the images.
        reference: the real images of each class the FIDs compare with.
        rows: one dict per class: `label`, `name`, `num_generated`, `num_reference`, `share`
            (of all generated images), `accuracy` (conditional: the share of the class's images
            that the classifier puts in it; None for an unconditional generator) and `fid`
            (against the real images of that class).
        conditional: whether the generator took the labels.
    """

    extractor: str
    reference: str
    rows: list
    conditional: bool = True

    @property
    def accuracy(self):
        """Class accuracy over all generated images (None for an unconditional generator)."""
        if not self.conditional:
            return None
        total = sum(row["num_generated"] for row in self.rows)
        return sum(row["accuracy"] * row["num_generated"] for row in self.rows) / total

    def as_dict(self):
        return {"extractor": self.extractor, "reference": self.reference,
                "conditional": self.conditional, "accuracy": self.accuracy,
                "classes": self.rows}

    def table(self):
        """The report as a small text table, one line per class."""
        width = max(len(row["name"]) for row in self.rows)
        how = ("class accuracy" if self.conditional
               else "classes of an unconditional generator's images")
        lines = [f"{how} by {self.extractor}; per-class FID against {self.reference}",
                 f"{'label':>5}  {'class':{width}}  {'share':>6} {'accuracy':>8} {'FID':>9}  images"]
        for row in self.rows:
            accuracy = "" if row["accuracy"] is None else f"{100 * row['accuracy']:7.2f}%"
            lines.append(f"{row['label']:5d}  {row['name']:{width}}  {100 * row['share']:5.1f}% "
                         f"{accuracy:>8} {row['fid']:9.3f}  {row['num_generated']} vs "
                         f"{row['num_reference']}")
        if self.conditional:
            lines.append(f"{'':5}  {'all':{width}}  {'':6} {100 * self.accuracy:7.2f}%")
        return "\n".join(lines)


@old_form(_evaluate_classes_v1, _old_scoring_call)
def evaluate_classes(generator: keras.Model, extractor: FeatureExtractor,
                     reference: ImageSet, num_per_class: int = 1000,
                     batch_size: int = GENERATED_BATCH, seed: int = 0,
                     class_names: list[str] | None = None) -> ClassReport:
    """Scores a generator class by class: per-class FID, and class accuracy when conditional.

    A conditional generator makes `num_per_class` images with each label k (noise from `seed`,
    the same for every class); the domain classifier's prediction is compared with k. An
    unconditional generator makes `num_per_class` times the class count images, which the
    classifier sorts into classes (their shares show how balanced the generator is). Each
    class's images are compared (FID) with the reference images labelled k.

    Args:
        generator: a Keras generator, conditional (`build_generator(classes=...)`) or not.
        extractor: a classifier extractor (`classifier_extractor`) of the dataset's classes.
        reference: labelled real images, `ImageSet(name, make_eval_dataset(...))`.
        num_per_class: images per class.
        batch_size: generated images per batch.
        seed: seed of the generated noise.
        class_names: the classes' names for an unconditional generator (a conditional one
            carries its own).

    A line per class is printed unless Keras' interactive logging is off. The old form
    `evaluate_classes(generator, extractor, reference_batches, reference_name, num_per_class,
    batch_size, seed, class_names, verbose)` still works, with a DeprecationWarning.

    Raises:
        ValueError: the extractor is not a classifier (of as many classes as a conditional
            generator has).
    """
    return _score_classes(generator, extractor, reference, num_per_class, batch_size, seed,
                          class_names, keras.config.is_interactive_logging_enabled())


def _score_classes(generator, extractor, reference, num_per_class, batch_size, seed, class_names,
                   verbose):
    latent = LatentSpace.of(generator)
    check_positive_int("num_per_class", num_per_class, "Use e.g. 1000.")
    info = extractor.info
    if extractor.classifier is None or (latent.conditional
                                        and info["num_classes"] != latent.num_classes):
        wanted = (f"the generator's {latent.num_classes} classes" if latent.conditional
                  else "the dataset's classes")
        raise ValueError(
            f"class scores need a classifier of {wanted}; received the extractor "
            f"{extractor.name}. Pass a classifier .keras trained on the same dataset "
            "(scripts/train_classifier.py) with --extractor."
        )
    num_classes = latent.num_classes or info["num_classes"]
    names = latent.class_names or class_names or [str(k) for k in range(num_classes)]
    real_features, real_labels = [], []
    for images, labels in reference.batches:
        real_features.append(extractor(images))
        real_labels.append(np.asarray(labels))
    real_features, real_labels = np.concatenate(real_features), np.concatenate(real_labels)

    def generated(count, label):
        features, predicted = [], []
        for images in generated_batches(generator, count, batch_size, seed, label):
            features.append(extractor(images))
            predicted.append(extractor.predict_classes(images))
        return np.concatenate(features), np.concatenate(predicted)

    if latent.conditional:
        per_class = [generated(num_per_class, label) for label in range(num_classes)]
    else:
        features, predicted = generated(num_per_class * num_classes, None)
        per_class = [(features[predicted == k], predicted[predicted == k])
                     for k in range(num_classes)]
    total = sum(len(features) for features, _ in per_class)
    rows = []
    for label, (features, predicted) in enumerate(per_class):
        real = real_features[real_labels == label]
        rows.append({
            "label": label, "name": names[label],
            "num_generated": len(features), "num_reference": len(real),
            "share": len(features) / total,
            "accuracy": float(np.mean(predicted == label)) if latent.conditional else None,
            "fid": (float(frechet_distance(real, features))
                    if len(real) > 1 and len(features) > 1 else float("nan")),
        })
        if verbose:
            print(f"class {label} ({names[label]}): {len(features)} images, FID "
                  f"{rows[-1]['fid']:.2f}", flush=True)
    return ClassReport(extractor.name, reference.name, rows, latent.conditional)


def reference_sets(dataset: str, data_dir: str | None = None, held_out: float = 0.1,
                   seed: int = 0) -> tuple[ImageSource, str, ImageSource, str]:
    """The real images to score against, and other real images for the floor.

    A TensorFlow Datasets name (Fashion-MNIST included) is scored against its test split, with
    its training split for the floor. A folder or array file has no test split: the seeded
    `held_out` share of each class (`data.held_out_split`, the split `train_classifier.py`
    tests on) is the reference and the rest gives the floor; the names say so.

    Returns:
        (reference source, its name, floor source, its name).
    """
    from tf_dcgan.data.images import held_out_split
    from tf_dcgan.data.sources import read_images

    spec = DatasetSpec.parse(dataset)
    if spec.local:
        rest, held = held_out_split(read_images(dataset, data_dir), held_out, seed)
        if held.num_images < MIN_EVAL_IMAGES:
            raise ValueError(
                f"dataset {dataset!r} leaves {held.num_images} held-out images to score against "
                f"({100 * held_out:.0f}% of each class); precision and recall compare each image "
                f"with its 3 nearest neighbours, so at least {MIN_EVAL_IMAGES} are needed. Score "
                f"a folder of at least {int(np.ceil(MIN_EVAL_IMAGES / held_out))} images, or "
                "leave --eval-every out.")
        return (held, f"{dataset} ({100 * held_out:.0f}% of each class held out, seed {seed})",
                rest, f"{dataset} (the other {100 - 100 * held_out:.0f}%)")
    # A run on (part of) the training split ("train[:10%]") is scored against the test split.
    reference = "test" if spec.split.startswith("train") else spec.split
    return (read_images(f"{spec.name}:{reference}", data_dir), f"{spec.name}:{reference}",
            read_images(f"{spec.name}:train", data_dir), f"{spec.name}:train")
