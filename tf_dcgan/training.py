"""A whole training run from a `TrainConfig`: data, models, callbacks, `fit`, saved models.

`train.py` is a thin command line over `prepare_run` and `train`; user code can call them too.
Everything that can be wrong with the input (settings, dataset, run folder) is checked in
`prepare_run`, before any model is built.
"""

import dataclasses
import datetime
import random
import sys
import time
from pathlib import Path

import keras

from tf_dcgan import callbacks as dcgan_callbacks
from tf_dcgan import data
from tf_dcgan.files import atomic_output, write_json
from tf_dcgan.gan import DCGAN
from tf_dcgan.models import build_discriminator, build_generator, supported_image_sizes


@dataclasses.dataclass
class PreparedRun:
    """A run ready to train: its resolved config, its folder and its input pipeline."""

    config: object
    run_dir: Path
    dataset: object
    source: object


def _new_run_dir(config):
    if config.out is not None:
        run_dir = Path(config.out)
        if run_dir.exists() and not run_dir.is_dir():
            raise ValueError(
                f"out must be a folder; received out={config.out!r}, which is a file. "
                "Pick a new folder name."
            )
        if (run_dir / "config.json").exists():
            raise ValueError(
                f"out must be a new or empty folder; received out={config.out!r}, which already "
                "holds a run. Pick a new folder so nothing there is overwritten."
            )
        return run_dir
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = config.dataset.replace("/", "_").replace(":", "_")
    run_dir = Path("runs") / f"{stamp}-{name}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path("runs") / f"{stamp}-{name}-{suffix}"
    return run_dir


def prepare_run(config):
    """Checks the config, loads the data, creates the run folder and writes config.json.

    Image size and channels left as None become the dataset's own (when the models support that
    size; else 64), and a None seed becomes a random one, so config.json records the exact run.

    Raises:
        ValueError: a bad setting, a dataset that cannot be loaded, or a run folder in use.
    """
    config.validate()
    run_dir = _new_run_dir(config)
    source = data.read_images(config.dataset, config.data_dir)
    image_size = config.image_size
    if image_size is None:
        image_size = source.image_size if source.image_size in supported_image_sizes() else 64
    channels = config.channels or source.channels
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    config = dataclasses.replace(config, image_size=image_size, channels=channels, seed=seed,
                                 out=str(run_dir))
    dataset = data.make_dataset(
        source, image_size, channels, config.batch_size, seed=seed,
        steps_per_epoch=config.steps_per_epoch, cache=config.cache, resize=config.resize,
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.json", dataclasses.asdict(config))
    if source.paths is not None:
        with atomic_output(run_dir / "skipped_files.txt") as tmp:
            tmp.write_text("".join(f"{path}\t{reason}\n" for path, reason in source.skipped))
    return PreparedRun(config, run_dir, dataset, source)


def build_gan(config):
    """The generator, discriminator and compiled `DCGAN` that `config` describes."""
    generator = build_generator(config.image_size, config.channels, config.latent_dim,
                                config.base_filters)
    discriminator = build_discriminator(config.image_size, config.channels, config.base_filters)
    gan = DCGAN(generator, discriminator, latent_dim=config.latent_dim, seed=config.seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta1),
        g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta1),
        d_update=config.d_update,
        jit_compile="auto" if config.jit else False,
    )
    return gan


class SaveModels(keras.callbacks.Callback):
    """Saves `generator.keras` and `dcgan.keras` (with both optimizers) after every epoch."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = Path(run_dir)

    def on_epoch_end(self, epoch, logs=None):
        save_models(self.model, self.run_dir)


def save_models(gan, run_dir):
    """Writes the generator alone and the whole compiled DCGAN, each atomically."""
    with atomic_output(Path(run_dir) / "generator.keras") as tmp:
        gan.generator.save(tmp)
    with atomic_output(Path(run_dir) / "dcgan.keras") as tmp:
        gan.save(tmp)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch (the first one includes graph tracing)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def run_callbacks(run_dir, config):
    """The callbacks `train.py` uses: grids, GIF, per-step losses and model saving."""
    samples = Path(run_dir) / "samples"
    scale = max(1, 256 // (config.image_size * 8))  # small images get upscaled grids
    return [
        dcgan_callbacks.SampleGrid(samples, config.num_samples, seed=config.seed, scale=scale),
        dcgan_callbacks.TrainingGif(samples, Path(run_dir) / "training.gif"),
        dcgan_callbacks.LossHistory(Path(run_dir) / "losses.csv", Path(run_dir) / "losses.png"),
        SaveModels(run_dir),
    ]


def train(run, verbose=None):
    """Trains the prepared run to the end and returns the `DCGAN` and the Keras history.

    `verbose` defaults to Keras' progress bar on a terminal and one line per epoch otherwise
    (a log file or CI), where a bar would write every step.

    Writes into the run folder: samples/epoch_NNN.png, training.gif, losses.csv, losses.png,
    generator.keras and dcgan.keras.
    """
    config = run.config
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    keras.utils.set_random_seed(config.seed)
    gan = build_gan(config)
    timer = EpochTimer()
    history = gan.fit(
        run.dataset, epochs=config.epochs, shuffle=False, verbose=verbose,
        callbacks=run_callbacks(run.run_dir, config) + [timer],
    )
    full_epoch = run.source.num_images // config.batch_size
    steps = min(config.steps_per_epoch or full_epoch, full_epoch)
    later = timer.seconds[1:] or timer.seconds
    per_epoch = sorted(later)[len(later) // 2]
    print(
        f"{config.epochs} epochs of {steps} steps; median epoch {per_epoch:.1f} s, "
        f"{steps * config.batch_size / per_epoch:.0f} images/s"
        + (" (after the first epoch, which includes tracing)" if len(timer.seconds) > 1 else "")
    )
    return gan, history
