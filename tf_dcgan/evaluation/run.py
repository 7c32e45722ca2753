"""Evaluating a run or a generator file, as `evaluate.py` does: one function over its settings.

`evaluate` loads the generator, picks the real reference and floor sets and the extractor, scores
FID, KID, precision and recall (`scores.evaluate_generator`), scores a conditional generator (or,
when asked, an unconditional one) class by class, optionally runs the paper's experiments, and
writes the report as JSON.
"""

import dataclasses
import json
from pathlib import Path

from tf_dcgan import model_card
from tf_dcgan.checks import ImageFormat
from tf_dcgan.config import EvaluateConfig
from tf_dcgan.data import make_eval_dataset
from tf_dcgan.evaluation.experiments import (
    RealImages,
    parse_arithmetic,
    run_experiments,
)
from tf_dcgan.evaluation.extractors import choose_extractor
from tf_dcgan.evaluation.scores import (
    ClassReport,
    ImageSet,
    Report,
    evaluate_classes,
    evaluate_generator,
    reference_sets,
)
from tf_dcgan.files import atomic_output, check_writable
from tf_dcgan.model import LatentSpace, load_generator, load_model_file
from tf_dcgan.run_folder import RunFolder

# The vector arithmetic of the experiments by default, by dataset (the dataset's class names).
DEFAULT_ARITHMETIC = {"fashion_mnist": "Ankle boot-Sneaker+Sandal"}


@dataclasses.dataclass
class Evaluation:
    """What `evaluate` measured, and where it wrote the report.

    Attributes:
        report: Report. FID, KID, precision and recall, with the floor.
        classes: ClassReport | None. The class-by-class scores, when measured.
        experiments: dict | None. The paper's experiments' files and table, when run.
        out: Path | None. The JSON report written, if any.
    """

    report: Report
    classes: ClassReport | None = None
    experiments: dict | None = None
    out: Path | None = None

    def as_dict(self) -> dict:
        """The report as written to JSON (evaluation.json)."""
        written = self.report.as_dict()
        if self.experiments is not None:
            written["experiments"] = self.experiments
        if self.classes is not None:
            written["classes"] = self.classes.as_dict()
        return written

    def summary(self) -> str:
        """The tables and lines `evaluate.py` prints."""
        lines = [self.report.table()]
        if self.classes is not None:
            lines.append(self.classes.table())
        if self.experiments is not None:
            probe = self.experiments.get("discriminator_features")
            if probe:
                lines.append(
                    f"linear classifier (logistic regression) on {probe['train_images']} train / "
                    f"{probe['test_images']} test images: discriminator features "
                    f"({probe['feature_dim']}-d) {100 * probe['discriminator_accuracy']:.2f}%, "
                    f"raw pixels ({probe['pixel_dim']}-d) {100 * probe['pixel_accuracy']:.2f}%")
            lines.append("experiments: " + ", ".join(self.experiments["files"]))
        if self.out is not None:
            lines.append(f"report: {self.out}")
        return "\n".join(lines)


def evaluate(config: EvaluateConfig) -> Evaluation:
    """Scores the generator of `config.run` (or the file `config.generator`) as `evaluate.py` does.

    Args:
        config: EvaluateConfig. What to score, against which images, and how.

    Returns:
        An `Evaluation`; its report is also written as JSON to `config.out` (with a run folder,
        by default RUN/evaluation.json).

    Raises:
        ValueError: a setting, the generator, the dataset or the extractor does not fit; the
            message names it and the fix.

    Example:
        >>> result = evaluate(EvaluateConfig(run="runs/mine", num_images=2000))
        >>> print(result.summary())
    """
    config.validate()
    run = RunFolder.open(config.run) if config.run else None
    out = config.out or (run.evaluation_path if run else None)
    if out is not None:  # checked now: a failed write would lose the whole evaluation
        check_writable(out, "Pick another --out.")
        if config.out is not None and not _replaceable_report(Path(config.out)):
            raise ValueError(f"out {config.out!r} already exists and is not a report of "
                             "evaluate.py; nothing was changed. Pick another --out.")
    recorded = run.read_config() if run else None
    generator = load_generator(run_dir=config.run, path=config.generator)
    dataset = config.dataset or (recorded.dataset if recorded else None)
    if dataset is None:
        raise ValueError("dataset is needed with --generator; received none. Pass e.g. "
                         "--dataset fashion_mnist.")
    resize = recorded.resize if recorded else "crop"
    _, size, _, channels = generator.output_shape
    reference, reference_name, floor, floor_name = reference_sets(
        dataset, config.data_dir or (recorded.data_dir if recorded else None))
    # A run's own dataset is resized to the run's size, as training and --eval-every do; a
    # generator file against images of another size is most likely the wrong dataset.
    if (reference.image_size is not None and reference.image_size != size
            and not (recorded and dataset == recorded.dataset)):
        raise ValueError(
            f"dataset {dataset!r} has {reference.image_size}x{reference.image_size} images "
            f"and the generator makes {size}x{size}; score a generator against the images it "
            "was trained on (pass the matching --dataset).")
    extractor = choose_extractor(dataset, config.extractor, config.inception_weights)
    extractor.check_images(channels)
    conditional = LatentSpace.of(generator).conditional
    if config.experiments:
        experiments_plan = _plan_experiments(config, run, generator, extractor, dataset, floor)

    image_format = ImageFormat(size, channels, resize)

    def real(source, name):
        return ImageSet(name, make_eval_dataset(source, image_format))

    result = Evaluation(evaluate_generator(
        generator, extractor, real(reference, reference_name), num_images=config.num_images,
        floor=real(floor, floor_name), batch_size=config.batch_size, seed=config.seed))
    if conditional or config.per_class:
        result.classes = evaluate_classes(
            generator, extractor, real(reference, reference_name),
            num_per_class=config.per_class_images, batch_size=config.batch_size,
            seed=config.seed, class_names=reference.class_names)
    if config.experiments:
        images_dir, discriminator, arithmetic = experiments_plan
        real = RealImages(floor, reference, size, channels, resize, config.probe_images)
        result.experiments = run_experiments(generator, images_dir, extractor, real,
                                             discriminator, arithmetic, config.seed)
    if out is not None:
        result.out = Path(out)
        with atomic_output(result.out) as tmp:
            tmp.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    card = model_card.read_card(run.path) if run is not None else None
    if card is not None:  # the run's card shows its latest scores
        card["metrics"] = model_card.metrics_from_evaluation(result.as_dict())
        model_card.write_card(run.path, card)
    return result


def _replaceable_report(path: Path) -> bool:
    """Whether `--out` may be written: a new file, or an earlier report of evaluate.py (which a
    new evaluation replaces), never a user's other file."""
    if not path.exists():
        return True
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(report, dict) and {"scores", "reference"} <= set(report)


def _plan_experiments(config, run, generator, extractor, dataset, floor):
    """Where the experiments write, the run's discriminator and the arithmetic's labels."""
    if LatentSpace.of(generator).conditional:
        raise ValueError("--experiments walks an unconditional generator's noise; received a "
                         "conditional generator. Leave --experiments out: its class scores are "
                         "printed without it.")
    images_dir = run.experiments_dir if run else config.images_dir
    expression = config.arithmetic or DEFAULT_ARITHMETIC.get(dataset.partition(":")[0])
    arithmetic = None
    if expression is not None:
        if getattr(extractor, "classifier", None) is None:
            raise ValueError("arithmetic needs a classifier extractor to pick the classes; "
                             "received --extractor inception. Pass a classifier .keras with "
                             "--extractor.")
        arithmetic = parse_arithmetic(expression, floor.class_names)
    discriminator = None
    if run and run.dcgan_path.is_file():
        discriminator = load_model_file(run.dcgan_path).discriminator
    return images_dir, discriminator, arithmetic
