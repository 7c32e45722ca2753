"""One run's settings: a flat, typed dataclass, written into the run folder as config.json.

TensorFlow-free: `train.py --help`, `--dry-run` and a bad flag are answered without importing it.
"""

import dataclasses
import json

from tf_dcgan.checks import (
    MAX_BASE_FILTERS,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_LATENT_DIM,
    MAX_NUM_SAMPLES,
    MAX_STEPS_PER_EPOCH,
    check_channels,
    check_conditioning,
    check_d_update,
    check_ema_decay,
    check_image_size,
    check_positive_int,
    check_precision,
    check_resize,
    check_seed,
    check_strategy,
)

# Settings a resumed run may change: how long it trains and how it is kept, not what it learns.
RESUMABLE = ("epochs", "out", "save_every_steps", "keep_checkpoints", "deterministic",
             "tensorboard", "jit", "eval_every", "eval_images", "keep_best", "extractor",
             "inception_weights", "strategy")


# The paper's values (Radford et al. 2015, as in pytorch/examples) of the settings a recipe may
# change: `--recipe paper` puts them back. The default recipe departs from them only where a
# measured ablation says so (README, "Recipe ablation"): batch 64 and G's Adam rate 4e-4.
# A config.json written before a recipe setting existed lacks it; that run used the paper's value.
PAPER_RECIPE = {"batch_size": 128, "ema_decay": None, "label_smoothing": 0.0,
                "d_learning_rate": None, "g_learning_rate": None, "beta2": 0.999}
RECIPES = ("default", "paper")


@dataclasses.dataclass
class TrainConfig:
    """Everything `train.py` needs for one run; the defaults train Fashion-MNIST with our recipe.

    The recipe departs from the paper's (`PAPER_RECIPE`, `with_recipe("paper")`) only where the
    README's ablation measured it better: batch 64 instead of 128, G's Adam rate 4e-4.

    Flat and typed on purpose: `train.py` builds its flags from these fields, `validate` checks
    them all before any data is read, and `to_json`/`from_json` write and read them back as the
    run folder's `config.json`, so a run can be repeated or resumed from its own record.
    `prepare_run` resolves the `None`s (image size, channels, seed, out) before writing it.

    Example:
        >>> config = TrainConfig(epochs=5, seed=0).validate()
        >>> TrainConfig.from_json(config.to_json()) == config
        True
    """

    dataset: str = "fashion_mnist"  # TFDS name (with optional split), image folder, or .npy/.npz
    data_dir: str | None = None  # where TensorFlow Datasets keeps data; None: TFDS's default
    resize: str = "crop"  # other sizes: "crop" (short side scaled, center square) or "stretch"
    cache: str = "auto"  # "memory", "none", a file path, or "auto" (memory when under 2 GiB)
    epochs: int = 20  # passes over the training set (the design notes' 20)
    batch_size: int = 64  # the paper's is 128; 64 measured better in 20 epochs (README ablation)
    image_size: int | None = None  # None: the dataset's own size if supported (28), else 64
    channels: int | None = None  # None: the dataset's own (1 for Fashion-MNIST)
    latent_dim: int = 100  # length of z, as in the paper
    base_filters: int = 64  # G's last and D's first filter count (the paper's ngf = ndf = 64)
    learning_rate: float = 2e-4  # Adam, both networks (paper: 0.001 was too high)
    d_learning_rate: float | None = None  # D's own rate (two time-scale); None: learning_rate
    g_learning_rate: float | None = 4e-4  # G's own rate (measured); None: learning_rate
    beta1: float = 0.5  # Adam beta_1 (paper: 0.9 oscillated and was unstable)
    beta2: float = 0.999  # Adam beta_2 (Keras' and PyTorch's default, as the paper's code)
    label_smoothing: float = 0.0  # one-sided: D's target on real images is 1 - this
    d_update: str = "separate"  # "separate": a D step on real, then on fake; "joint": one summed step
    ema_decay: float | None = None  # samples from a moving average of G's weights; None: G itself
    conditional: bool = False  # class-conditional G and D, trained on the dataset's labels
    class_names: list | None = None  # a conditional run's classes; None: the dataset's own
    d_conditioning: str = "projection"  # how a conditional D uses the label: projection, concat
    seed: int | None = None  # None: drawn at random and recorded here, so the run can be repeated
    out: str | None = None  # the run folder; None: runs/<date>-<time>-<dataset>
    steps_per_epoch: int | None = None  # cap on batches per epoch, for quick tries
    precision: str = "float32"  # or "mixed_bfloat16" (CPU with BF16, TPU), "mixed_float16" (GPU)
    strategy: str = "auto"  # tf.distribute: auto, default, mirrored, multiworker (TF_CONFIG), tpu
    sync_batchnorm: bool = False  # BatchNorm statistics over the global batch, not each replica's
    jit: bool = True  # XLA where Keras finds it faster (GPUs); never on CPU, where it is slower
    num_samples: int = 64  # images in each epoch's sample grid
    save_every_steps: int | None = None  # also checkpoint every N steps (None: epoch ends only)
    keep_checkpoints: int = 3  # newest checkpoints kept in checkpoints/
    deterministic: bool = False  # TensorFlow op determinism: a resumed run ends bit-identical
    tensorboard: bool = False  # per-step metrics and the sample grid into logs/ for TensorBoard
    eval_every: int | None = None  # score FID/KID/precision/recall every N epochs (None: never)
    eval_images: int = 2000  # generated images per evaluation during training (evaluate.py: 10k)
    keep_best: bool = False  # keep the best-FID checkpoint in checkpoints/best (needs eval_every)
    extractor: str | None = None  # "inception" or a classifier .keras; None: the dataset's default
    inception_weights: str | None = None  # InceptionV3 no-top weights; None: Keras' cache

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
                               "Leave it out to use the whole dataset each epoch.",
                               MAX_STEPS_PER_EPOCH)
        if self.save_every_steps is not None:
            check_positive_int("save_every_steps", self.save_every_steps,
                               "Use e.g. --save-every-steps 500, or leave it out.",
                               MAX_STEPS_PER_EPOCH)
        if self.eval_every is not None:
            check_positive_int("eval_every", self.eval_every, "Use e.g. --eval-every 5.",
                               MAX_EPOCHS)
        check_positive_int("eval_images", self.eval_images, "Use e.g. --eval-images 2000.",
                           1_000_000)
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
        check_d_update(self.d_update)
        check_conditioning(self.d_conditioning)
        check_ema_decay(self.ema_decay)
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
        known = {field.name for field in dataclasses.fields(cls)}
        # A recipe setting missing from an older file did not exist yet: the run had the paper's.
        settings = {**PAPER_RECIPE, **settings}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(
                f"{source} has settings this version of tf-dcgan does not know: "
                f"{', '.join(unknown)}. Remove them, or use the tf-dcgan version that wrote it."
            )
        return cls(**settings)
