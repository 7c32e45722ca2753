"""One run's settings: a flat, typed dataclass, written into the run folder as config.json.

TensorFlow-free: `train.py --help`, `--dry-run` and a bad flag are answered without importing it.
"""

import dataclasses
import json
import os
import typing
from typing import Any

from tf_dcgan.checks import (
    D_CONDITIONINGS,
    D_UPDATES,
    GAN_LOSSES,
    MAX_BASE_FILTERS,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_EXPORT_IMAGES,
    MAX_LATENT_DIM,
    MAX_NUM_SAMPLES,
    MAX_STEPS_PER_EPOCH,
    PRECISIONS,
    QUANTIZATIONS,
    RESIZE_MODES,
    STRATEGIES,
    ImageFormat,
    check_augment,
    check_channels,
    check_conditioning,
    check_d_update,
    check_ema_decay,
    check_eval_images,
    check_gan_loss,
    check_image_size,
    check_label_smoothing,
    check_positive_int,
    check_precision,
    check_resize,
    check_seed,
    check_strategy,
)
from tf_dcgan.environment import find_litertjs

# Settings a resumed run may change: how long it trains and how it is kept, not what it learns.
# The precision may change too (weights, optimizer moments and BatchNorm statistics are float32
# in every policy, so the checkpoint loads), e.g. a bf16 run moved to a CPU that emulates bf16.
RESUMABLE = ("epochs", "out", "save_every_steps", "keep_checkpoints", "deterministic",
             "steps_per_execution", "precision",
             "tensorboard", "jit", "eval_every", "eval_images", "keep_best", "extractor",
             "inception_weights", "strategy")


# The paper's values (Radford et al. 2015, as in pytorch/examples) of the settings a recipe may
# change: `--recipe paper` puts them back. The default recipe departs from them only where a
# measured ablation says so (docs/training.md, "Recipe ablation"): batch 64 and G's Adam rate 4e-4.
# A config.json written before a recipe setting existed lacks it; that run used the paper's value.
PAPER_RECIPE = {"batch_size": 128, "ema_decay": None, "label_smoothing": 0.0,
                "d_learning_rate": None, "g_learning_rate": None, "beta2": 0.999,
                "augment": None, "d_update": "separate", "loss": "ns"}
RECIPES = ("default", "paper")

# Training steps per call of the train function (benchmarks/epoch_overhead.py chose it).
STEPS_PER_EXECUTION = 16


def setting(default: Any, help: str, *, choices: tuple | None = None,
            flag: str | None = None) -> Any:
    """A settings field that is also a command-line flag: its help is written only here.

    `tf_dcgan.cli.add_setting_flags` makes the flags of a settings dataclass from these fields.

    Args:
        default: the field's default value.
        help: str. The flag's help; a default other than None is shown after it (the meaning of
            a None default belongs in the help, e.g. "default: the dataset's own").
        choices: tuple. The values the flag accepts, if only some.
        flag: str. The flag when it is not `--field-name`; a bool field whose flag starts with
            `--no-` is switched off by it (`jit` and `--no-jit`).

    Example:
        >>> @dataclasses.dataclass
        ... class Settings:
        ...     epochs: int = setting(20, "passes over the training set")
    """
    return dataclasses.field(default=default,
                             metadata={"help": help, "choices": choices, "flag": flag})


def _type_names(annotation) -> list[str]:
    kinds = typing.get_args(annotation) or (annotation,)
    return ["null" if kind is type(None) else kind.__name__ for kind in kinds]


def _of_type(value: Any, annotation) -> bool:
    """Whether a JSON value fits a field's annotation (`int`, `float | None`, `list | None`)."""
    for kind in typing.get_args(annotation) or (annotation,):
        if kind is type(None) and value is None:
            return True
        if kind is bool and isinstance(value, bool):
            return True
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if kind in (str, list) and isinstance(value, kind):
            return True
    return False


@dataclasses.dataclass
class TrainConfig:
    """Everything `train.py` needs for one run; the defaults train Fashion-MNIST with our recipe.

    The recipe departs from the paper's (`PAPER_RECIPE`, `with_recipe("paper")`) only where the
    ablation in docs/training.md measured it better: batch 64 instead of 128, G's Adam rate 4e-4.

    Flat and typed on purpose: `train.py` builds its flags from these fields, `validate` checks
    them all before any data is read, and `to_json`/`from_json` write and read them back as the
    run folder's `config.json`, so a run can be repeated or resumed from its own record.
    `prepare_run` resolves the `None`s (image size, channels, seed, out) before writing it.

    Example:
        >>> config = TrainConfig(epochs=5, seed=0).validate()
        >>> TrainConfig.from_json(config.to_json()) == config
        True
    """

    dataset: str = setting(
        "fashion_mnist",
        "a folder of images (searched recursively), a .npy/.npz file of uint8 images, or a "
        "TensorFlow Datasets name with an optional split, e.g. cifar10:train")
    data_dir: str | None = setting(
        None, "where TensorFlow Datasets keeps its data (default: TFDS's own)")
    resize: str = setting(
        "crop", "images of another size: crop (scale the short side, keep the center square) "
        "or stretch", choices=RESIZE_MODES)
    cache: str = setting(
        "auto", "decoded images: memory, none, a file path, or auto (memory when they fit in "
        "2 GiB)")
    epochs: int = setting(20, "passes over the training set")
    batch_size: int = setting(
        64, "images per step. 64 with G's rate 4e-4 measured 0.76x the paper recipe's FID after "
        "20 Fashion-MNIST epochs (0.57x after 5; two seeds) (docs/training.md, 'Recipe ablation'); the "
        "paper's: 128")
    image_size: int | None = setting(
        None, "default: the dataset's own size (28 for Fashion-MNIST), else 64")
    channels: int | None = setting(None, "default: the dataset's own", choices=(1, 3))
    latent_dim: int = setting(100, "length of the noise vector z, as in the paper")
    base_filters: int = setting(
        64, "G's last and D's first filter count (the paper's ngf = ndf = 64)")
    learning_rate: float = setting(
        2e-4, "Adam learning rate for both networks (the paper's; 0.001 was too high)")
    d_learning_rate: float | None = setting(
        None, "D's own Adam rate, for two time-scale updates; 'none': --learning-rate "
        "(default: --learning-rate)")
    g_learning_rate: float | None = setting(
        4e-4, "G's own Adam rate; 'none': --learning-rate, as in the paper. Measured: 4e-4 at "
        "the paper's batch 128 gave 0.80x its FID after 5 epochs, 8e-4 0.86x; 4e-4 at batch 64 "
        "is the default recipe")
    beta1: float = setting(0.5, "Adam beta_1 (the paper's; 0.9 oscillated and was unstable)")
    beta2: float = setting(0.999, "Adam beta_2 (Keras' and PyTorch's default, as the paper's code)")
    label_smoothing: float = setting(
        0.0, "one-sided label smoothing: D's target on real images is 1 minus this, e.g. 0.1 "
        "(measured: 0.97x the paper's FID after 5 epochs)")
    d_update: str = setting(
        "separate", "separate: a D step on real then on fake, as in the paper; joint: one step "
        "on the sum", choices=D_UPDATES)
    loss: str = setting(
        "ns", "adversarial loss: " + "; or ".join(
            f"{name} ({kind.help})" for name, kind in GAN_LOSSES.items()),
        choices=tuple(GAN_LOSSES))
    ema_decay: float | None = setting(
        None, "sample from an exponential moving average of the generator's weights with this "
        "decay, e.g. 0.999; 'none' samples from the generator itself. Measured: 0.999 did not "
        "lower FID within 20 Fashion-MNIST epochs (1.01-1.06x the plain G's)")
    augment: str | None = setting(
        None, "differentiable augmentation of every image D sees, real and generated, for small "
        "datasets (Zhao et al. 2020): a comma-separated list of color, translation, cutout, e.g. "
        "color,translation,cutout (default: none, as the paper)")
    conditional: bool = setting(
        False, "a class-conditional DCGAN: G and D also take the dataset's class labels (TFDS "
        "labels, .npz labels, or sub-folder names; a dataset without them is refused); grids "
        "show one row per class, and the exported models take a class label")
    # Not a flag: a conditional run's classes, resolved from the dataset and recorded here so a
    # resumed run rebuilds the same networks.
    class_names: list | None = None
    # Not a flag: a digest of the data the run began with (`data.dataset_fingerprint`), so that
    # --resume refuses other data instead of silently training on it.
    dataset_fingerprint: str | None = None
    d_conditioning: str = setting(
        "projection", "how a conditional discriminator uses the label: projection (Miyato and "
        "Koyama 2018) or concat (one-hot label maps joined to the image)",
        choices=D_CONDITIONINGS)
    seed: int | None = setting(
        None, "random seed (default: drawn and recorded in config.json, so the run can be "
        "repeated)")
    out: str | None = setting(None, "run folder (default: runs/<date>-<time>-<dataset>)")
    steps_per_epoch: int | None = setting(
        None, "steps in an epoch, the clock of samples, checkpoints, evaluations and the GIF: "
        "below one pass over the data it cuts the pass short (quick tries), above it an epoch "
        "runs over several passes (default: one pass; a folder of under 200 batches gets the "
        "fewest whole passes making 200 steps)")
    precision: str = setting(
        "auto", "compute precision: auto (mixed_bfloat16 where bfloat16 is native: CPUs with "
        "AVX512_BF16 or AMX, GPUs of compute capability 8.0 or more, TPUs; float32 elsewhere, "
        "above all on AVX2-only CPUs, where bfloat16 is emulated and about 7x slower), float32, "
        "mixed_bfloat16 or mixed_float16 (GPUs, with loss scaling). config.json records the "
        "choice, and a resumed run keeps it unless given another; weights, losses and the saved "
        "generator stay float32", choices=PRECISIONS)
    strategy: str = setting(
        "auto", "tf.distribute strategy: auto (mirrored over all local GPUs when there are 2 or "
        "more, else default), default, mirrored, multiworker (the cluster from TF_CONFIG on "
        "every machine), tpu. --batch-size is the global batch, split across replicas",
        choices=STRATEGIES)
    sync_batchnorm: bool = setting(
        False, "BatchNorm statistics over the global batch instead of each replica's share "
        "(only matters with several replicas)")
    jit: bool = setting(
        True, "never use XLA (it is only used where faster: GPUs, not CPUs)", flag="--no-jit")
    steps_per_execution: int = setting(
        STEPS_PER_EXECUTION, "training steps per call from Python: callbacks, the progress bar "
        "and Ctrl-C act every N steps (losses.csv still has every step); 1 for a call per step. "
        "With --save-every-steps, N becomes a divisor of it and of the epoch's steps")
    num_samples: int = setting(64, "images in each epoch's sample grid")
    save_every_steps: int | None = setting(
        None, "also write a checkpoint every N steps (default: at epoch ends)")
    keep_checkpoints: int = setting(3, "newest checkpoints kept")
    deterministic: bool = setting(
        False, "TensorFlow op determinism: the same seed gives bit-identical weights, across "
        "stops and resumes (somewhat slower)")
    tensorboard: bool = setting(
        False, "write per-step metrics and each epoch's sample grid to RUN/logs; view them "
        "with: tensorboard --logdir RUN/logs")
    eval_every: int | None = setting(None, "score FID, KID, precision and recall every N "
                                     "epochs into RUN/metrics.csv (default: never)")
    eval_images: int = setting(
        2000, "generated images per evaluation during training (evaluate.py uses 10,000)")
    keep_best: bool = setting(False, "keep the checkpoint with the best FID in "
                              "RUN/checkpoints/best (needs --eval-every)")
    extractor: str | None = setting(
        None, "features for the evaluation: 'inception' or a classifier .keras (default: the "
        "project's classifier for fashion_mnist, else inception)")
    inception_weights: str | None = setting(
        None, "InceptionV3 no-top weights file (default: Keras' cache)")

    def __post_init__(self):
        # `--augment none` is the default, as --help says (the policy is a string, not a path).
        if isinstance(self.augment, str) and self.augment.strip().lower() in ("none", ""):
            self.augment = None

    def validate(self):
        """Raises ValueError naming the first bad setting, the value received and the fix.

        Returns:
            The config itself, so `TrainConfig(...).validate()` reads as one expression.
        """
        check_positive_int("epochs", self.epochs, "Train for at least one epoch, e.g. --epochs 20.",
                           MAX_EPOCHS)
        check_positive_int("batch_size", self.batch_size, "The paper uses --batch-size 128.",
                           MAX_BATCH_SIZE)
        check_positive_int("latent_dim", self.latent_dim, "The paper uses --latent-dim 100.",
                           MAX_LATENT_DIM)
        check_positive_int("base_filters", self.base_filters, "The paper uses --base-filters 64.",
                           MAX_BASE_FILTERS)
        check_positive_int("num_samples", self.num_samples, "Use e.g. 64 for an 8x8 grid.",
                           MAX_NUM_SAMPLES)
        if self.steps_per_epoch is not None:
            check_positive_int("steps_per_epoch", self.steps_per_epoch,
                               "Leave it out for one pass over the dataset an epoch.",
                               MAX_STEPS_PER_EPOCH)
        check_positive_int("steps_per_execution", self.steps_per_execution,
                           "Use e.g. --steps-per-execution 16, or 1 for a call per step.",
                           MAX_STEPS_PER_EPOCH)
        if self.save_every_steps is not None:
            check_positive_int("save_every_steps", self.save_every_steps,
                               "Use e.g. --save-every-steps 500, or leave it out.",
                               MAX_STEPS_PER_EPOCH)
        if self.eval_every is not None:
            check_positive_int("eval_every", self.eval_every, "Use e.g. --eval-every 5.",
                               MAX_EPOCHS)
        check_eval_images("eval_images", self.eval_images, "Use e.g. --eval-images 2000.")
        if self.keep_best and self.eval_every is None:
            raise ValueError(
                "keep_best needs evaluations to compare; received keep_best=True without "
                "eval_every. Add e.g. --eval-every 5."
            )
        check_positive_int("keep_checkpoints", self.keep_checkpoints,
                           "Keep at least the newest, e.g. --keep-checkpoints 3.", 1000)
        if self.image_size is not None:
            check_image_size(self.image_size)
        if self.channels is not None:
            check_channels(self.channels)
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 1):
            raise ValueError(
                f"learning_rate must be between 0 and 1; received learning_rate={self.learning_rate}. "
                "The paper uses 0.0002."
            )
        for name in ("d_learning_rate", "g_learning_rate"):
            rate = getattr(self, name)
            if rate is not None and not (isinstance(rate, (int, float)) and 0 < rate < 1):
                raise ValueError(
                    f"{name} must be between 0 and 1; received {name}={rate}. Pass e.g. 4e-4, "
                    "or none to use --learning-rate."
                )
        if not (isinstance(self.beta2, (int, float)) and 0 <= self.beta2 < 1):
            raise ValueError(
                f"beta2 must be in [0, 1); received beta2={self.beta2}. Adam's default is 0.999."
            )
        if not (isinstance(self.label_smoothing, (int, float))
                and 0 <= self.label_smoothing < 0.5):
            raise ValueError(
                f"label_smoothing must be in [0, 0.5); received label_smoothing="
                f"{self.label_smoothing}. Use 0 (the paper's) or e.g. 0.1."
            )
        if not (isinstance(self.beta1, (int, float)) and 0 <= self.beta1 < 1):
            raise ValueError(
                f"beta1 must be in [0, 1); received beta1={self.beta1}. The paper uses 0.5."
            )
        if self.class_names is not None and not (
                self.conditional and isinstance(self.class_names, list) and self.class_names
                and all(isinstance(name, str) for name in self.class_names)):
            raise ValueError(
                f"class_names must be a non-empty list of names of a conditional run; received "
                f"class_names={self.class_names!r} with conditional={self.conditional}. Leave "
                "class_names out: a conditional run takes the dataset's own."
            )
        if self.dataset_fingerprint is not None and not isinstance(self.dataset_fingerprint, str):
            raise ValueError(
                f"dataset_fingerprint must be the digest train.py wrote; received "
                f"dataset_fingerprint={self.dataset_fingerprint!r}. Remove it from config.json."
            )
        check_d_update(self.d_update)
        check_gan_loss(self.loss)
        check_label_smoothing(self.loss, 1.0 - self.label_smoothing)
        check_conditioning(self.d_conditioning)
        check_ema_decay(self.ema_decay)
        check_augment(self.augment)
        check_precision(self.precision)
        check_strategy(self.strategy)
        check_seed(self.seed)
        check_resize(self.resize)
        if not self.cache:
            raise ValueError(
                "cache must be auto, memory, none or a file path; received cache=''. "
                "Leave it out for auto."
            )
        if not self.dataset:
            raise ValueError("dataset must not be empty; received dataset=''. Use e.g. fashion_mnist.")
        return self

    @property
    def image_format(self) -> ImageFormat:
        """The run's `ImageFormat(image_size, channels, resize)`."""
        return ImageFormat(self.image_size, self.channels, self.resize)

    def with_recipe(self, recipe, given=()):
        """These settings with `recipe`'s values for every recipe setting not in `given`.

        Args:
            recipe: "default" (this project's, the dataclass defaults) or "paper" (the paper's:
                `PAPER_RECIPE`).
            given: names of settings set explicitly (they win over the recipe).

        Example:
            >>> TrainConfig().with_recipe("paper").ema_decay is None
            True
        """
        if recipe == "sndcgan":
            raise ValueError(
                "recipe sndcgan was retired: measured, the published SNDCGAN trained worse than "
                "the default on Fashion-MNIST and on the emoji (docs/training.md, 'SNDCGAN, measured "
                "and retired'). Use the default recipe (leave --recipe out), or tf-dcgan 0.1.0.")
        if recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}; received "
                             f"recipe={recipe!r}. Use --recipe paper for the paper's recipe.")
        values = PAPER_RECIPE if recipe == "paper" else {
            name: getattr(TrainConfig, name) for name in PAPER_RECIPE}
        return dataclasses.replace(
            self, **{name: value for name, value in values.items() if name not in given})

    def resumed_with(self, requested, given):
        """The settings to continue this run with, after `requested` changes of flags in `given`.

        Settings that would change the model, the data or the outputs must stay as recorded;
        `epochs` may be raised to train longer, and the settings of how a run is kept
        (`RESUMABLE`) may change.

        Args:
            requested: the `TrainConfig` of the resuming command.
            given: names of the settings that command set explicitly.

        Raises:
            ValueError: a setting differs that must not; the message names it and both values.
        """
        changes = {}
        for name in sorted(given):
            recorded, wanted = getattr(self, name), getattr(requested, name)
            if name == "precision" and wanted == "auto":
                continue  # the run's own choice stands: auto was resolved when it began
            if name in RESUMABLE:
                changes[name] = wanted
            elif wanted != recorded:
                raise ValueError(
                    f"{name} cannot change when resuming; the run used {name}={recorded!r} and "
                    f"this command asks for {wanted!r}. Leave --{name.replace('_', '-')} out to "
                    "continue as the run began, or start a new run with another --out."
                )
        return dataclasses.replace(self, **changes)

    def to_json(self):
        """The settings as indented JSON with sorted keys, as written to config.json."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text, source="config.json"):
        """Reads settings written by `to_json`; fields missing from older files take the defaults.

        A recipe setting (`PAPER_RECIPE`) missing from an older file takes the paper's value:
        the version that wrote the file had no such lever and trained with it.

        Args:
            text: the JSON text.
            source: what to call it in error messages (usually the file's path).

        Raises:
            ValueError: the text is not a JSON object, or names a setting this version does not
                know (the message names it).
        """
        try:
            settings = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{source} is not valid JSON ({error.msg} at line {error.lineno}). Restore it from "
                "a backup, or start a new run."
            ) from None
        if not isinstance(settings, dict):
            raise ValueError(
                f"{source} must hold a JSON object of settings; received {type(settings).__name__}. "
                "Restore it from a backup, or start a new run."
            )
        if settings.get("d_norm") == "spectral" or settings.get("discriminator") == "sndcgan":
            raise ValueError(
                f"{source} is a run with a spectrally normalised D (SNDCGAN), which this version "
                "no longer builds: measured, it trained worse than the default on both test sets "
                "(docs/training.md, 'SNDCGAN, measured and retired'). Finish it with the "
                "tf-dcgan version that wrote it (0.1.0), or start a new run without it."
            )
        # Older files: "d_norm": "batch" and "discriminator": "dcgan" are the paper's D, the
        # only one there is now.
        settings.pop("d_norm", None)
        settings.pop("discriminator", None)
        known = {field.name for field in dataclasses.fields(cls)}
        # A recipe setting missing from an older file did not exist yet: the run had the paper's.
        # A file without a precision was written when float32 was the only one.
        settings = {**PAPER_RECIPE, "precision": "float32", **settings}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(
                f"{source} has settings this version of tf-dcgan does not know: "
                f"{', '.join(unknown)}. Remove them, or use the tf-dcgan version that wrote it."
            )
        for field in dataclasses.fields(cls):
            value = settings.get(field.name, field.default)
            if not _of_type(value, field.type):
                raise ValueError(
                    f"{source} has {field.name}={value!r}, which must be "
                    f"{' or '.join(_type_names(field.type))}. Fix that value in {source}, or "
                    "start a new run."
                )
        config = cls(**settings)
        try:
            return config.validate()
        except ValueError as error:
            raise ValueError(
                f"{source} holds a setting that is not valid: {error} Fix that value in {source} "
                "(--resume keeps the recorded settings), or start a new run."
            ) from None


def _check_one_generator(command: str, run: str | None, generator: str | None) -> None:
    if (run is None) == (generator is None):
        raise ValueError(
            f"{command} needs exactly one of run and generator; received run={run!r}, "
            f"generator={generator!r}. Pass --run RUN or --generator FILE.keras."
        )


@dataclasses.dataclass
class EvaluateConfig:
    """What `evaluate.py` scores and how: a run folder or a generator file against real images.

    Flat and typed as `TrainConfig`: `evaluate.py` builds its flags from these fields, and
    `tf_dcgan.evaluation.evaluate` takes it whole.

    Example:
        >>> config = EvaluateConfig(run="runs/mine", num_images=5000).validate()
    """

    run: str | None = setting(None, "a run folder written by train.py (or --generator)")
    generator: str | None = setting(None, "a generator .keras file (or --run)")
    dataset: str | None = setting(
        None, "real images: a TFDS name (scored against its test split), a folder or a "
        ".npy/.npz (a held-out 10%) (default: the run's own)")
    data_dir: str | None = setting(None, "where TensorFlow Datasets keeps its data")
    num_images: int = setting(10_000, "generated images to score")
    extractor: str | None = setting(
        None, "'inception', or a classifier .keras from scripts/train_classifier.py (default: "
        "the project's Fashion-MNIST classifier for fashion_mnist, else inception)")
    inception_weights: str | None = setting(
        None, "InceptionV3 no-top weights file (default: Keras' cache)")
    batch_size: int = setting(250, "images per batch when generating and extracting")
    seed: int = setting(0, "seed of the generated noise")
    per_class: bool = setting(
        False, "also score an unconditional generator class by class: the domain classifier "
        "sorts its images into classes (their shares, and each class's FID); a conditional "
        "generator always is")
    per_class_images: int = setting(
        1000, "images per class for the class scores (an unconditional generator: this times "
        "the class count)")
    experiments: bool = setting(
        False, "also run the paper's experiments into RUN/experiments (or --images-dir): latent "
        "walks, vector arithmetic, nearest training images, and (with --run) D's features under "
        "a linear classifier")
    arithmetic: str | None = setting(
        None, "vector arithmetic A-B+C on class names or indices (default for fashion_mnist: "
        "'Ankle boot-Sneaker+Sandal')")
    probe_images: int = setting(
        10_000, "labelled train and test images for the discriminator-feature classifier")
    images_dir: str | None = setting(None, "where --experiments writes with --generator")
    out: str | None = setting(
        None, "write the report as JSON here (default with --run: RUN/evaluation.json)")

    def validate(self) -> "EvaluateConfig":
        """Raises ValueError naming the first bad setting, the value received and the fix."""
        _check_one_generator("evaluate", self.run, self.generator)
        check_eval_images("num_images", self.num_images, "Use e.g. --num-images 10000.")
        check_positive_int("batch_size", self.batch_size, "Use e.g. --batch-size 250.")
        check_positive_int("per_class_images", self.per_class_images,
                           "Use e.g. --per-class-images 1000.")
        if self.experiments:
            check_positive_int("probe_images", self.probe_images, "Use e.g. 10000.")
            if self.generator is not None and self.images_dir is None:
                raise ValueError("images_dir is needed for --experiments with --generator; "
                                 "received none. Pass --images-dir DIR.")
        check_seed(self.seed)
        return self


@dataclasses.dataclass
class GenerateConfig:
    """What `generate.py` writes: images of a run's generator (or a generator file) as PNGs.

    Example:
        >>> config = GenerateConfig(run="runs/mine", num_images=16, seed=7).validate()
    """

    run: str | None = setting(None, "a run folder written by train.py (or --generator)")
    generator: str | None = setting(
        None, "a generator file (or --run): a .keras file, a SavedModel folder or a .tflite file "
              "written by export.py; the same seed gives the same images from each")
    num_images: int = setting(64, "images to write, 1 to 10000")
    seed: int = setting(0, "the noise seed: the same seed gives the same images")
    label: str | None = setting(
        None, "a conditional generator's class, by name or index, for every image (default: "
        "the classes in turn)")
    out: str | None = setting(None, "the folder to write (default with --run: "
                                    "RUN/generated/seed-SEED)")
    overwrite: bool = setting(False, "replace an existing --out folder")
    scale: int = setting(1, "upscale every image this many times (nearest neighbour), 1 to 32")
    interpolate: int = setting(
        0, "also write walk.gif: a looping latent walk of the grid in this many frames (e.g. "
           "24); 0 writes none")

    def validate(self) -> "GenerateConfig":
        """Raises ValueError naming the first bad setting, the value received and the fix."""
        _check_one_generator("generate", self.run, self.generator)
        if self.generator is not None and self.out is None:
            raise ValueError("out is needed with --generator; received none. Pass --out DIR.")
        if self.out == "":
            raise ValueError("out must name a folder; received an empty path. Pass e.g. "
                             "--out samples.")
        check_positive_int("num_images", self.num_images, "Use e.g. --num-images 64.",
                           MAX_EXPORT_IMAGES)
        check_seed(self.seed)
        check_positive_int("scale", self.scale, "Use e.g. --scale 4.", 32)
        if self.interpolate:
            check_positive_int("interpolate", self.interpolate,
                               "Use e.g. --interpolate 24, or 0 for no walk.", 1000)
        return self


@dataclasses.dataclass
class ExportConfig:
    """What `export.py` writes: a run's generator (or a generator file) as a TF Serving
    SavedModel, and with `tflite` and `web` as a TFLite model and a web page; `tf_dcgan.export
    .export` takes it whole.

    Example:
        >>> config = ExportConfig(run="runs/mine", out="exports", tflite=True).validate()
    """

    run: str | None = setting(None, "a run folder written by train.py (uses its generator.keras; "
                                    "or --generator)")
    generator: str | None = setting(None, "a generator .keras file (or --run)")
    out: str | None = setting(None, "the export base folder (needed)")
    model_name: str = setting("dcgan", "the model's folder and serving name")
    version: int | None = setting(None, "SavedModel version (default: the next free integer)")
    overwrite: bool = setting(False, "replace an existing version (and .tflite file, and web/ "
                                     "folder)")
    max_images: int = setting(256, "largest num_images the generate signatures accept")
    tflite: bool = setting(False, "also write OUT/<model-name>.tflite")
    web: bool = setting(False, "also write OUT/web/: a page that runs the generator with "
                               "LiteRT.js (view it with: python -m http.server -d OUT/web)")
    quantize: str | None = setting(
        None, "TFLite weights: none (float32), float16, or full int8 (default: none for "
        "--tflite; float16 for --web, half the bytes to download)", choices=QUANTIZATIONS)

    def validate(self) -> "ExportConfig":
        """Raises ValueError naming the first bad setting, the value received and the fix."""
        _check_one_generator("export", self.run, self.generator)
        if self.out is None:
            raise ValueError("out is needed; received none. Pass --out DIR, e.g. --out exports.")
        if not self.out:
            raise ValueError("out must name a folder; received an empty path. Pass e.g. "
                             "--out exports.")
        if not self.model_name or "/" in self.model_name or self.model_name.startswith("."):
            raise ValueError(
                f"model_name must be a plain folder name; received model_name="
                f"{self.model_name!r}. Use e.g. --model-name dcgan.")
        if self.version is not None:
            check_positive_int("version", self.version, "Leave --version out for the next one.")
        check_positive_int("max_images", self.max_images,
                           "The default is 256; ask for more images in several requests.",
                           MAX_EXPORT_IMAGES)
        return self

    @property
    def tflite_path(self) -> str:
        """OUT/<model-name>.tflite."""
        return os.path.join(self.out, f"{self.model_name}.tflite")

    @property
    def web_path(self) -> str:
        """OUT/web, the page's folder."""
        return os.path.join(self.out, "web")

    @property
    def card_dir(self) -> str:
        """OUT/<model-name>: one card per exported model, beside its SavedModel versions (TF
        Serving reads only the numbered folders); OUT/<model-name>.tflite's classes are read
        from it."""
        return os.path.join(self.out, self.model_name)

    def check_outputs(self) -> None:
        """Refuses, before anything is written (and before TensorFlow is imported), a .tflite
        file or web page that exists without `overwrite`, and `web` without the LiteRT.js
        runtime, so a refused export leaves no stray SavedModel version."""
        if self.tflite and os.path.exists(self.tflite_path) and not self.overwrite:
            raise ValueError(
                f"{self.tflite_path} already exists; pass --overwrite to replace it, or pick "
                "another --model-name."
            )
        if self.web:
            if os.path.exists(self.web_path) and not self.overwrite:
                raise ValueError(f"{self.web_path} already exists; pass --overwrite to replace "
                                 "it, or pick another --out.")
            find_litertjs()
