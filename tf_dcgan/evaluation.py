"""Scoring a generator against real images: FID, KID, precision and recall, with their floor.

`evaluate_generator` draws `num_images` images from the generator in batches (stateless noise
from a seed, BatchNorm in inference mode), extracts features of them and of the reference images
(`data.make_eval_dataset`: every real image once), and scores them with `tf_dcgan.metrics`. The
same metrics between two real sets (the reference split against other real images) give the
floor: the best a generator can do with this extractor and this many images. Reports always
name the extractor, the image counts and both real sets.
"""

import dataclasses
import json
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import check_positive_int
from tf_dcgan.extractors import classifier_extractor, extract_features, inception_extractor
from tf_dcgan.latent import LatentSpace, latent_noise
from tf_dcgan.metrics import Scores, frechet_distance, score_features


# The project's own domain classifiers, by dataset name (scripts/train_classifier.py made them).
DEFAULT_CLASSIFIERS = {
    "fashion_mnist": Path(__file__).resolve().parents[1]
    / "docs/extractors/fashion_mnist_classifier.keras",
}


def choose_extractor(dataset, choice=None, inception_weights=None):
    """The extractor named by `choice` ("inception" or a classifier file), or the dataset's default
    (the project's classifier where there is one, else Inception).

    Raises:
        ValueError: the file is missing or is not an extractor; no Inception weights are found.
    """
    name = str(dataset).partition(":")[0]
    choice = choice or DEFAULT_CLASSIFIERS.get(name, "inception")
    if choice == "inception":
        return inception_extractor(inception_weights)
    return classifier_extractor(choice)


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


def generated_batches(generator, num_images, batch_size=250, seed=0):
    """Yields `num_images` generated images in batches, the same for the same seed."""
    latent = LatentSpace.of(generator)
    for index, start in enumerate(range(0, num_images, batch_size)):
        count = min(batch_size, num_images - start)
        inputs = latent.sample_from_seed_tensor(count, tf.constant([seed, index], tf.int64))
        yield generator(inputs, training=False)


def evaluate_generator(generator, extractor, reference_batches, reference_name, num_images=10_000,
                       floor_batches=None, floor_name=None, batch_size=250, seed=0,
                       verbose=True):
    """Scores `num_images` generated images against the reference images, and the floor.

    Args:
        generator: a Keras generator (noise -> images in [-1, 1]).
        extractor: a `FeatureExtractor`.
        reference_batches: the real images to compare with (`make_eval_dataset`).
        reference_name: what they are (e.g. "fashion_mnist:test").
        num_images: generated images; the floor uses as many real images, or all there are.
        floor_batches, floor_name: other real images (e.g. the training split) for the floor.
        batch_size: generated images per batch.
        seed: seed of the generated noise and of KID's subsets.
        verbose: show a progress bar per feature set.

    Returns:
        A `Report`.

    Example:
        >>> report = evaluate_generator(generator, classifier_extractor(path),
        ...                             make_eval_dataset(test, 28, 1), "fashion_mnist:test")
        >>> print(report.table())
    """
    check_positive_int("num_images", num_images, "Use e.g. --num-images 10000.")

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
    if floor_batches is not None:
        other = features(floor_batches, num_images, floor_name)
        report.floor_reference = f"{floor_name} ({len(other)} images) vs {reference_name}"
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


def evaluate_classes(generator, extractor, reference_batches, reference_name,
                     num_per_class=1000, batch_size=250, seed=0, class_names=None, verbose=True):
    """Scores a generator class by class: per-class FID, and class accuracy when conditional.

    A conditional generator makes `num_per_class` images with each label k (noise from `seed`,
    the same for every class); the domain classifier's prediction is compared with k. An
    unconditional generator makes `num_per_class` times the class count images, which the
    classifier sorts into classes (their shares show how balanced the generator is). Each
    class's images are compared (FID) with the reference images labelled k.

    Args:
        generator: a Keras generator, conditional (`build_generator(num_classes=...)`) or not.
        extractor: a classifier extractor (`classifier_extractor`) of the dataset's classes.
        reference_batches: labelled real images, (images, labels) batches
            (`make_eval_dataset`).
        reference_name: what they are (e.g. "fashion_mnist:test").
        class_names: the classes' names for an unconditional generator (a conditional one
            carries its own).

    Raises:
        ValueError: the extractor is not a classifier (of as many classes as a conditional
            generator has).
    """
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
    for images, labels in reference_batches:
        real_features.append(extractor(images))
        real_labels.append(np.asarray(labels))
    real_features, real_labels = np.concatenate(real_features), np.concatenate(real_labels)

    def generated(count, label):
        features, predicted = [], []
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            inputs = latent_noise(size, latent.latent_dim, seed * 100_003 + start)
            if label is not None:
                inputs = {"noise": inputs, "label": tf.fill([size], label)}
            images = generator(inputs, training=False)
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
    return ClassReport(extractor.name, reference_name, rows, latent.conditional)


def reference_sets(dataset, data_dir=None, held_out=0.1, seed=0):
    """The real images to score against, and other real images for the floor.

    A TensorFlow Datasets name (Fashion-MNIST included) is scored against its test split, with
    its training split for the floor. A folder or array file has no test split: a seeded
    `held_out` share of its images is the reference and the rest gives the floor; the names say
    so.

    Returns:
        (reference source, its name, floor source, its name).
    """
    from pathlib import Path

    from tf_dcgan.sources import read_images, subset

    if Path(dataset).expanduser().exists():
        source = read_images(dataset, data_dir)
        order = np.random.default_rng(seed).permutation(source.num_images)
        count = max(1, int(round(held_out * source.num_images)))
        return (subset(source, order[:count]),
                f"{dataset} ({100 * held_out:.0f}% held out, seed {seed})",
                subset(source, order[count:]), f"{dataset} (the other {100 - 100 * held_out:.0f}%)")
    name, _, split = dataset.partition(":")
    reference = split if split and split != "train" else "test"
    return (read_images(f"{name}:{reference}", data_dir), f"{name}:{reference}",
            read_images(f"{name}:train", data_dir), f"{name}:train")


class PeriodicEvaluation(keras.callbacks.Callback):
    """Scores the generator every `every_epochs` epochs during training (`--eval-every`).

    The reference features are computed once, when training begins; each evaluation then only
    generates and extracts `num_images` images. Each result is appended to a CSV (epoch, step,
    fid, kid, kid_std, precision, recall) and, with a `tf.summary` writer, to TensorBoard;
    `latest` holds the newest `Scores` (what `checkpoints.KeepBest` reads).

    Args:
        extractor: a `FeatureExtractor`.
        reference_batches: the real images (`make_eval_dataset` of the test split).
        every_epochs: evaluate every this many epochs.
        num_images: generated images per evaluation.
        csv_path: the metrics CSV (rows are appended; a resumed run keeps its earlier rows).
        writer: an optional `tf.summary` writer.
        seed: seed of the generated noise (the same images every time: only the model changes).
    """

    FIELDS = ("epoch", "step", "fid", "kid", "kid_std", "precision", "recall")

    def __init__(self, extractor, reference_batches, every_epochs, num_images, csv_path,
                 writer=None, seed=0, start_step=0):
        super().__init__()
        self.extractor = extractor
        self.reference_batches = reference_batches
        self.every_epochs = every_epochs
        self.num_images = num_images
        self.csv_path = csv_path
        self.writer = writer
        self.seed = seed
        self.step = start_step
        self.reference = None
        self.latest = None

    def on_train_begin(self, logs=None):
        if self.reference is None:
            self.reference = extract_features(self.extractor, self.reference_batches)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        fake = extract_features(self.extractor, generated_batches(
            self.model.sampler, self.num_images, seed=self.seed))
        if not np.isfinite(fake).all():
            return
        self.latest = score_features(self.reference, fake, seed=self.seed)
        row = {"epoch": epoch + 1, "step": self.step, **self.latest.as_dict()}
        self._append(row)
        if self.writer is not None:
            with self.writer.as_default(step=self.step):
                for name, value in self.latest.as_dict().items():
                    tf.summary.scalar(f"eval/{name}", value)
            self.writer.flush()
        print(f"epoch {epoch + 1}: FID {self.latest.fid:.3f}, KID {self.latest.kid:.4f}, "
              f"precision {self.latest.precision:.3f}, recall "
              f"{self.latest.recall:.3f} ({self.num_images} images, {self.extractor.name})")

    def _append(self, row):
        import csv

        from tf_dcgan.files import atomic_output

        rows = []
        if self.csv_path.is_file():
            with open(self.csv_path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < row["epoch"]]
        rows.append(row)
        with atomic_output(self.csv_path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.FIELDS)
                writer.writeheader()
                writer.writerows(rows)


def parse_arithmetic(expression, class_names):
    """"A-B+C" (class names or indices) -> (a, b, c) label indices.

    Raises:
        ValueError: not of that form, or a name the dataset does not have.
    """
    names = list(class_names or [])

    def label(term):
        term = term.strip()
        if term.isdigit() and int(term) < len(names):
            return int(term)
        return names.index(term) if term in names else None

    left, plus, c = (expression or "").rpartition("+")
    labels = []
    # Class names may hold a hyphen themselves ("T-shirt/top"): try every split of A-B.
    for cut in [i for i, char in enumerate(left) if char == "-"] if plus else []:
        terms = (label(left[:cut]), label(left[cut + 1:]), label(c))
        if None not in terms:
            labels = list(terms)
            break
    if len(labels) != 3:
        raise ValueError(
            f"arithmetic must be A-B+C with class names or indices of the dataset; received "
            f"arithmetic={expression!r}. Classes: {', '.join(names) or 'none (no labels)'}."
        )
    return tuple(labels)


def run_experiments(generator, out_dir, extractor, train_source, image_size, channels,
                    discriminator=None, arithmetic=None, test_source=None, probe_images=10_000,
                    seed=0, resize="crop"):
    """The paper's experiments on a trained model, as images and a table in `out_dir`.

    Writes interpolation_slerp.png and interpolation_lerp.png (latent walks), arithmetic.png
    (with `arithmetic` labels, classified by the extractor's classifier), neighbours.png
    (generated images beside their nearest training images in feature space) and, with a
    `discriminator` and labelled `test_source`, the section 5.1 table: a logistic regression on
    D's pooled conv features against one on raw pixels.

    Returns:
        A dict: the files written, and the discriminator-feature accuracies when measured.
    """
    import imageio.v3 as iio

    from tf_dcgan import experiments
    from tf_dcgan.data import make_eval_dataset
    from tf_dcgan.files import atomic_output

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, results = [], {}

    def save(name, grid):
        with atomic_output(out_dir / name) as tmp:
            iio.imwrite(tmp, grid)
        written.append(str(out_dir / name))

    for spherical in (True, False):
        save(f"interpolation_{'slerp' if spherical else 'lerp'}.png",
             experiments.interpolation_grid(generator, seed=seed, spherical=spherical))
    if arithmetic is not None:
        save("arithmetic.png", experiments.vector_arithmetic(
            generator, extractor.classifier, *arithmetic, seed=seed))
    real = np.concatenate([images.numpy() for images, _ in make_eval_dataset(
        train_source, image_size, channels, resize=resize).take(-(-probe_images // 256))])
    generated = np.asarray(next(generated_batches(generator, 8, seed=seed)))
    save("neighbours.png", experiments.nearest_neighbours(
        generated, extractor(generated), real, extract_features(extractor, [real]), count=8))
    if discriminator is not None and test_source is not None:
        def labelled(source):
            images, labels = [], []
            for batch_images, batch_labels in make_eval_dataset(
                    source, image_size, channels, resize=resize).take(-(-probe_images // 256)):
                images.append(batch_images.numpy())
                labels.append(batch_labels.numpy())
            return np.concatenate(images)[:probe_images], np.concatenate(labels)[:probe_images]

        (train_x, train_y), (test_x, test_y) = labelled(train_source), labelled(test_source)
        d_train = experiments.discriminator_features(discriminator, train_x)
        d_test = experiments.discriminator_features(discriminator, test_x)
        results["discriminator_features"] = {
            "train_images": len(train_x), "test_images": len(test_x),
            "feature_dim": int(d_train.shape[1]),
            "discriminator_accuracy": experiments.linear_probe(d_train, train_y, d_test, test_y),
            "pixel_dim": int(np.prod(train_x.shape[1:])),
            "pixel_accuracy": experiments.linear_probe(
                train_x.reshape(len(train_x), -1), train_y, test_x.reshape(len(test_x), -1),
                test_y),
        }
    results["files"] = written
    return results
