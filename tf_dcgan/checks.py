"""Input checks and the allowed values of every setting, in one TensorFlow-free module.

Everything a user can pass is checked here once, early, with a `ValueError` that names the
argument, the value received, what was expected and the fix. The config, the command lines, the
input pipeline, the models and the exporters all import their checks and choices from here, so a
bad flag is answered before TensorFlow is imported (about 3 s on the project's machine).
"""

import dataclasses
from pathlib import Path

# How images of another size are brought to the training size (see `tf_dcgan.data.transforms`).
RESIZE_MODES = ("crop", "stretch")
# How the discriminator is updated per batch (see `DCGAN.compile`).
D_UPDATES = ("separate", "joint")
D_CONDITIONINGS = ("projection", "concat")


@dataclasses.dataclass(frozen=True)
class GanLoss:
    """What a GAN loss is, without TensorFlow: the names `--loss` takes are `GAN_LOSSES`' keys,
    and `tf_dcgan.model.losses.LOSS_FUNCTIONS` holds each one's functions under the same key
    (a test checks the two agree). Adding a loss: an entry here, one there, and its test.

    Attributes:
        help: one line for `--help` and the docs.
        label_smoothing: whether D's target on real images may be below 1 (one-sided label
            smoothing): a cross-entropy's target; the hinge's margin has none.
        g_shares_d_loss: whether G's loss is D's loss with target 1 (the non-saturating loss), so
            a custom `loss_fn` given to `DCGAN.compile` serves both networks.
    """

    help: str
    label_smoothing: bool
    g_shares_d_loss: bool


# The adversarial losses. D's logs d_real and d_fake are sigmoid(logit) with every loss: D's
# probability of "real" for ns, a monotone squashing of D's output for hinge and lsgan.
GAN_LOSSES = {
    "ns": GanLoss("cross-entropy with G's non-saturating loss, the paper's",
                  label_smoothing=True, g_shares_d_loss=True),
    "hinge": GanLoss("D: relu(1 - D(x)) + relu(1 + D(G(z))), G: -D(G(z)); Lim and Ye 2017, "
                     "Miyato et al. 2018", label_smoothing=False, g_shares_d_loss=False),
    "lsgan": GanLoss("least squares, D: (D(x) - 1)^2 + D(G(z))^2, G: (D(G(z)) - 1)^2; Mao et al. "
                     "2017", label_smoothing=True, g_shares_d_loss=True),
}
# TFLite weight formats (see `tf_dcgan.export.export_tflite`).
QUANTIZATIONS = ("none", "float16", "int8")
# Training precisions: Keras dtype policies. Weights, losses, logits and BatchNorm statistics stay
# float32 under the mixed ones.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# tf.distribute strategies (see `tf_dcgan.distribute`): auto is mirrored with 2+ GPUs, else default.
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")

# Spatial sizes the generator's noise can be projected to; every supported image size is one of
# these doubled at least once. 4 gives the paper's 32/64/128 networks, 7 gives 28x28 images.
BASE_SIZES = (4, 7)
MAX_IMAGE_SIZE = 1024

# Ceilings on counts, so that a typo is refused instead of running for days or exhausting memory.
MAX_EPOCHS = 100_000
MAX_STEPS_PER_EPOCH = 10_000_000
MAX_BATCH_SIZE = 65_536
MAX_LATENT_DIM = 4096
MAX_BASE_FILTERS = 1024
# Classes of a conditional model (ImageNet has 1,000; each costs an embedding row).
MAX_CLASSES = 10_000
# A sample grid is drawn in one batch and viewed by a person: 32x32 images is already a lot.
MAX_NUM_SAMPLES = 1024
# Images scored in one evaluation: precision and recall compare each image with its 3 nearest
# neighbours (evaluation.metrics.PR_NEIGHBOURS), so at least 4; at most 100,000 (10x the papers'
# 10,000: Inception features of 100,000 images already take 800 MB).
MIN_EVAL_IMAGES = 4
MAX_EVAL_IMAGES = 100_000
# An image file of a folder dataset is read only when it is a regular file of at most this many
# bytes, with at most this many pixels (Pillow's own decompression-bomb threshold): a 12000x12000
# PNG of 425 KB decodes to over a gigabyte.
MAX_IMAGE_FILE_BYTES = 256 * 1024**2
MAX_IMAGE_PIXELS = 89_478_485
# The SavedModel's `generate` signatures: num_images is int32, and one request should not be able
# to make a server allocate gigabytes.
MAX_EXPORT_IMAGES = 10_000
# Memory of one sample grid's float32 images; the generator's activations take a few times more.
MAX_SAMPLE_GRID_BYTES = 256 * 1024**2


def supported_image_sizes() -> list[int]:
    """Image sizes the model builders accept, in increasing order (8, 14, 16, 28, 32, 56, 64, ...).

    Every size is 4 or 7 doubled one or more times, up to 1024.

    Example:
        >>> 28 in supported_image_sizes() and 64 in supported_image_sizes()
        True
    """
    sizes = set()
    for base in BASE_SIZES:
        size = base * 2
        while size <= MAX_IMAGE_SIZE:
            sizes.add(size)
            size *= 2
    return sorted(sizes)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_image_size(image_size: int) -> None:
    """Raises ValueError unless the model builders support `image_size`; the message lists them.

    Example:
        >>> check_image_size(64)
    """
    if not _is_int(image_size) or image_size not in supported_image_sizes():
        sizes = ", ".join(str(s) for s in supported_image_sizes())
        raise ValueError(
            f"image_size must be one of {sizes}; received image_size={image_size!r}. "
            "Resize your images or pick 64 (the paper's size) or 28 (MNIST-style)."
        )


def check_positive_int(name: str, value: int, fix: str, maximum: int | None = None) -> None:
    """Raises ValueError naming `name` and `value`, with `fix`, unless value is an int >= 1.

    With `maximum`, larger values are refused too: a typo (an extra zero, `10**23`) must not start
    a run that would take days or allocate what the machine does not have.

    Example:
        >>> check_positive_int("epochs", 20, "Use e.g. --epochs 20.", maximum=MAX_EPOCHS)
    """
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer; received {name}={value!r}. {fix}")
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name} must be at most {maximum}; received {name}={value!r}. {fix}"
        )


def check_eval_images(name: str, value: int, fix: str) -> None:
    """Raises ValueError unless `value` images can be scored: MIN_EVAL_IMAGES to MAX_EVAL_IMAGES."""
    check_positive_int(name, value, fix, MAX_EVAL_IMAGES)
    if value < MIN_EVAL_IMAGES:
        raise ValueError(
            f"{name} must be at least {MIN_EVAL_IMAGES}: precision and recall compare each image "
            f"with its {MIN_EVAL_IMAGES - 1} nearest neighbours; received {name}={value}. {fix}"
        )


def check_sample_grid(num_samples: int, image_size: int, channels: int) -> None:
    """Raises ValueError when `num_samples` images of this size would not fit in memory at once.

    The sample grid is generated in one batch at every epoch's end; a typo here used to run a
    whole epoch and then fail with nothing saved.
    """
    image_bytes = image_size * image_size * channels * 4
    if num_samples * image_bytes > MAX_SAMPLE_GRID_BYTES:
        most = MAX_SAMPLE_GRID_BYTES // image_bytes
        raise ValueError(
            f"num_samples must be at most {most} for {image_size}x{image_size}x{channels} images; "
            f"received num_samples={num_samples}, which would need "
            f"{num_samples * image_bytes / 1024**3:.1f} GiB for one grid. Use e.g. --num-samples 64."
        )


def check_channels(channels: int) -> None:
    """Raises ValueError unless `channels` is 1 (grayscale) or 3 (RGB)."""
    if not _is_int(channels) or channels not in (1, 3):
        raise ValueError(
            f"channels must be 1 (grayscale) or 3 (RGB); received channels={channels!r}. "
            "Convert RGBA or other images to RGB first."
        )


def check_choice(name: str, value: str, choices: tuple, fix: str) -> None:
    """Raises ValueError unless `value` is one of `choices`; the message lists them, with `fix`.

    Example:
        >>> check_choice("resize", "crop", RESIZE_MODES, "crop keeps the aspect ratio.")
    """
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(choices)}; received {name}={value!r}. {fix}"
        )


def class_index(class_names: list[str], label: str | int) -> int:
    """The index of class `label` (an index or a name, "7" or "Sneaker") among `class_names`;
    no names: an unconditional generator, which takes no label.

    Raises:
        ValueError: the generator is unconditional, or has no such class (the message lists them).

    Example:
        >>> class_index(["cat", "dog"], "dog"), class_index(["cat", "dog"], 0)
        (1, 0)
    """
    if not class_names:
        raise ValueError(
            f"label is for a conditional generator (train.py --conditional); received "
            f"label={label!r} for an unconditional one. Leave --label out."
        )
    text = str(label)
    if text in class_names:
        return class_names.index(text)
    if text.isdigit() and int(text) < len(class_names):
        return int(text)
    choices = ", ".join(f"{index} {name}" for index, name in enumerate(class_names))
    raise ValueError(f"label must be a class of the generator; received label={label!r}. "
                     f"The classes are {choices}.")


def check_seed(seed: int) -> None:
    """Raises ValueError unless `seed` is None or an integer in [0, 2**31)."""
    if seed is not None and (not _is_int(seed) or not 0 <= seed < 2**31):
        raise ValueError(
            f"seed must be an integer in [0, 2**31); received seed={seed!r}. Use e.g. --seed 0."
        )


def check_resize(resize: str) -> None:
    """Raises ValueError unless `resize` is one of `RESIZE_MODES`."""
    check_choice("resize", resize, RESIZE_MODES,
                 "crop keeps the aspect ratio (center square), stretch does not.")


def check_ema_decay(ema_decay: float) -> None:
    """Raises ValueError unless `ema_decay` is None or a number in (0, 1)."""
    if ema_decay is None:
        return
    if isinstance(ema_decay, bool) or not isinstance(ema_decay, (int, float)) or not (
            0 < ema_decay < 1):
        raise ValueError(
            f"ema_decay must be a number between 0 and 1 (or none); received "
            f"ema_decay={ema_decay!r}. Use e.g. 0.999, or --recipe paper for no moving average."
        )


def check_d_update(d_update: str) -> None:
    """Raises ValueError unless `d_update` is one of `D_UPDATES`."""
    check_choice("d_update", d_update, D_UPDATES, "Use 'separate' (the default) or 'joint'.")


def check_gan_loss(loss: str) -> None:
    """Raises ValueError unless `loss` is one of `GAN_LOSSES`."""
    check_choice("loss", loss, tuple(GAN_LOSSES), "Use 'ns' (the paper's), 'hinge' or 'lsgan'.")


def check_label_smoothing(loss: str, real_label: float) -> None:
    """Raises ValueError unless `real_label` (D's target on real images) is in (0.5, 1] and, below
    1, `loss` takes label smoothing (`GanLoss.label_smoothing`)."""
    if not (isinstance(real_label, (int, float)) and 0.5 < real_label <= 1):
        raise ValueError(
            f"real_label must be in (0.5, 1]; received real_label={real_label!r}. Use 1.0 (the "
            "paper's) or e.g. 0.9 for one-sided label smoothing (--label-smoothing 0.1)."
        )
    if real_label != 1 and not GAN_LOSSES[loss].label_smoothing:
        raise ValueError(
            "label smoothing is for the losses with a target on real images (ns, lsgan); "
            f"received label_smoothing="
            f"{1 - real_label:.3g} with loss={loss}, whose margin already bounds D. Use "
            f"--label-smoothing 0 with --loss {loss} (real_label=1.0), or --loss ns."
        )


def check_strategy(strategy: str) -> None:
    """Raises ValueError unless `strategy` is one of `STRATEGIES`."""
    check_choice("strategy", strategy, STRATEGIES,
                 "Use auto (all local GPUs when there are several), or multiworker with TF_CONFIG "
                 "set on every machine.")


def check_precision(precision: str) -> None:
    """Raises ValueError unless `precision` is one of `PRECISIONS`."""
    check_choice("precision", precision, PRECISIONS,
                 "Use mixed_bfloat16 on CPUs with AVX512_BF16 or AMX and on TPUs, mixed_float16 "
                 "on GPUs.")


def check_quantize(quantize: str) -> None:
    """Raises ValueError unless `quantize` is one of `QUANTIZATIONS`."""
    check_choice("quantize", quantize, QUANTIZATIONS,
                 "Use float16 for phones unless you need int8.")


def error_summary(error: Exception, limit: int = 200) -> str:
    """`TypeName: first line of the message`, cut to `limit` characters, for one-line errors.

    Example:
        >>> error_summary(OSError("disk full\nmore detail"))
        'OSError: disk full'
    """
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:limit]}" if lines else type(error).__name__


def check_conditioning(conditioning: str) -> None:
    """Raises ValueError unless `conditioning` is one of `D_CONDITIONINGS`."""
    check_choice("d_conditioning", conditioning, D_CONDITIONINGS,
                 "Use 'projection' (the default) or 'concat'.")


# What a dataset given as a file or folder looks like (anything else is a TFDS name).
_PATH_PREFIXES = ("/", "./", "../", "~")
_FILE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".npy", ".npz")
# The kinds of dataset a --dataset string names.
DATASET_KINDS = ("folder", "array", "tfds")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a `--dataset` string names, decided in this one place: a folder of images, a
    `.npy`/`.npz` file of uint8 images, or a TensorFlow Datasets name with a split ("cifar10",
    "fashion_mnist:test", "mnist:train[:10%]"). `data.read_images` opens it, evaluation picks
    its reference images by its kind, and `train.py` checks it before TensorFlow loads.

    Attributes:
        text: the string as given.
        kind: "folder", "array" or "tfds".
        path: the folder or file (user folder expanded); None for a TFDS name.
        name: the TFDS name; None for a path.
        split: the TFDS split ("train" when none is given); None for a path.
    """

    text: str
    kind: str
    path: Path | None = None
    name: str | None = None
    split: str | None = None

    @classmethod
    def parse(cls, text: str) -> "DatasetSpec":
        """Reads `text`; a path that is not there, or a file that is no dataset, is refused.

        Raises:
            ValueError: `text` is written as a path ("/data/faces", "./faces", "~/x.npz") and
                nothing is there, or names a file other than .npy/.npz.

        Example:
            >>> DatasetSpec.parse("fashion_mnist:test").split
            'test'
        """
        text = str(text)
        if not text:
            raise ValueError("dataset must not be empty; received dataset=''. Use e.g. "
                             "fashion_mnist.")
        path = Path(text).expanduser()
        if path.is_dir():
            return cls(text, "folder", path)
        if path.suffix.lower() in (".npy", ".npz"):
            if not path.is_file():
                raise ValueError(f"dataset file {text!r} does not exist. Check the path.")
            return cls(text, "array", path)
        if path.is_file():
            raise ValueError(
                f"dataset {text!r} is a file, not a folder, .npy/.npz file or dataset name. "
                "Pass the folder that holds your images."
            )
        if text.startswith(_PATH_PREFIXES) or text.lower().endswith(_FILE_SUFFIXES):
            raise ValueError(
                f"dataset folder {text!r} does not exist. Check the path, or pass a TensorFlow "
                "Datasets name such as fashion_mnist."
            )
        name, _, split = text.partition(":")
        return cls(text, "tfds", name=name, split=split or "train")

    @property
    def local(self) -> bool:
        """Whether it is a folder or file here (no test split of its own), not a TFDS name."""
        return self.kind != "tfds"


def check_dataset_path(dataset: str) -> None:
    """Raises ValueError when `dataset` names a path that is not there or a file that is no
    dataset (`DatasetSpec.parse`); TFDS names ("fashion_mnist:train") pass.

    Example:
        >>> check_dataset_path("fashion_mnist")
    """
    DatasetSpec.parse(dataset)


# Differentiable augmentations (`tf_dcgan.model.augment`), applied in this order.
AUGMENTATIONS = ("color", "translation", "cutout")


def check_augment(policy: str | None) -> None:
    """Raises ValueError unless `policy` is None, empty, or comma-separated `AUGMENTATIONS`.

    Example:
        >>> check_augment("color,translation,cutout")
    """
    if policy is None:
        return
    if not isinstance(policy, str):
        raise ValueError(f"augment must be a comma-separated list; received augment={policy!r}. "
                         "Use e.g. --augment color,translation,cutout.")
    names = [name.strip() for name in policy.split(",") if name.strip()]
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"augment must name each of {', '.join(AUGMENTATIONS)} at most once; received "
            f"augment={policy!r}. Use e.g. --augment color,translation,cutout."
        )


@dataclasses.dataclass(frozen=True)
class ImageFormat:
    """The images a model makes or takes, and how images of another size are brought to them:
    one value for what `build_generator`, `build_discriminator`, `make_dataset`,
    `make_training_stream` and `make_eval_dataset` share, checked when it is made.

    Attributes:
        size: height and width; see `supported_image_sizes()` (28, 32, 64, 128, ...).
        channels: 1 (grayscale) or 3 (RGB).
        resize: how the data pipelines bring other sizes to `size`: "crop" (the short side is
            scaled and the centre square kept) or "stretch" (scaled to a square). The networks
            do not use it.

    Raises:
        ValueError: a size, channel count or resize mode the project does not support.

    Example:
        >>> ImageFormat(28, 1)
        ImageFormat(size=28, channels=1, resize='crop')
    """

    size: int = 64
    channels: int = 3
    resize: str = "crop"

    def __post_init__(self):
        check_image_size(self.size)
        check_channels(self.channels)
        check_resize(self.resize)


@dataclasses.dataclass(frozen=True)
class ClassLabels:
    """The classes of a class-conditional model: their names in index order, and how the
    discriminator takes the label (`conditioning`; the generator always joins it one-hot to
    the noise). `ClassLabels.of` also reads a class count or a list of names.

    Attributes:
        names: one name per class, index order.
        conditioning: "projection" (Miyato and Koyama 2018) or "concat" (label maps joined to the
            image); see `build_discriminator`.

    Example:
        >>> ClassLabels.of(3).names
        ('0', '1', '2')
    """

    names: tuple[str, ...]
    conditioning: str = "projection"

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(str(name) for name in self.names))
        check_positive_int("num_classes", len(self.names),
                           "Pass the dataset's class count, e.g. 10, or its class names.",
                           MAX_CLASSES)
        check_conditioning(self.conditioning)

    @classmethod
    def of(cls, classes: "int | list[str] | tuple[str, ...] | ClassLabels | None",
           conditioning: str = "projection") -> "ClassLabels | None":
        """`classes` as a `ClassLabels`: a count names the classes "0", "1", ...; None (an
        unconditional model) stays None; a `ClassLabels` is returned as it is.

        Raises:
            ValueError: a count that is not a positive integer, or an empty list of names.
        """
        if classes is None or isinstance(classes, cls):
            return classes
        if _is_int(classes):
            check_positive_int("num_classes", classes,
                               "Pass the dataset's class count, e.g. 10.", MAX_CLASSES)
            return cls(tuple(str(index) for index in range(classes)), conditioning)
        if isinstance(classes, str) or not isinstance(classes, (list, tuple)):
            raise ValueError(
                f"classes must be a class count, a list of class names or a ClassLabels; "
                f"received classes={classes!r}. Pass e.g. classes=10 or classes=['cat', 'dog']."
            )
        return cls(tuple(classes), conditioning)

    def __len__(self) -> int:
        return len(self.names)


def check_image_format(image_format: ImageFormat) -> ImageFormat:
    """Returns `image_format`; raises ValueError unless it is an `ImageFormat`."""
    if not isinstance(image_format, ImageFormat):
        raise ValueError(
            f"image_format must be an ImageFormat; received image_format={image_format!r}. "
            "Pass e.g. ImageFormat(64, 3) (tf_dcgan.ImageFormat)."
        )
    return image_format
