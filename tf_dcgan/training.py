"""A whole training run from a `TrainConfig`: data, models, callbacks, `fit`, saved models.

`train.py` is a thin command line over `prepare_run` and `train`; user code can call them too.
Everything that can be wrong with the input (settings, dataset, run folder) is checked in
`prepare_run`, before any model is built. Nothing here prints: `train` returns its figures.
"""

import dataclasses
import random
import sys

import keras
import tensorflow as tf

from tf_dcgan import callbacks as dcgan_callbacks
from tf_dcgan import data
from tf_dcgan.checks import check_sample_grid, error_summary, supported_image_sizes
from tf_dcgan.gan import DCGAN
from tf_dcgan.models import build_discriminator, build_generator
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.sources import ImageSource


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good models."""


@dataclasses.dataclass
class PreparedRun:
    """A run ready to train: its resolved config, its folder and its input pipeline.

    Attributes:
        config: the `TrainConfig` with image size, channels, seed and folder resolved.
        folder: the `RunFolder` (config.json already written).
        dataset: the training `tf.data.Dataset`.
        source: the `ImageSource` it reads.
    """

    config: object
    folder: RunFolder
    dataset: object
    source: ImageSource

    @property
    def run_dir(self):
        """The run folder's path."""
        return self.folder.path


@dataclasses.dataclass
class TrainingResult:
    """What `train` returns: the trained model, Keras' history and the run's speed.

    Attributes:
        gan: the trained `DCGAN`.
        history: the `keras.callbacks.History` of `fit`.
        steps_per_epoch: batches in each epoch.
        batch_size: images in each batch.
        epoch_seconds: wall time of each epoch (the first includes graph tracing).
    """

    gan: DCGAN
    history: object
    steps_per_epoch: int
    batch_size: int
    epoch_seconds: list

    @property
    def median_epoch_seconds(self):
        """The median epoch time, leaving out the first epoch (tracing) when there are more."""
        later = self.epoch_seconds[1:] or self.epoch_seconds
        return sorted(later)[len(later) // 2]

    @property
    def images_per_second(self):
        """Training images per second in a median epoch."""
        return self.steps_per_epoch * self.batch_size / self.median_epoch_seconds


def prepare_run(config):
    """Checks the config, loads the data, creates the run folder and writes config.json.

    Image size and channels left as None become the dataset's own (when the models support that
    size; else 64), and a None seed becomes a random one, so config.json records the exact run.
    The folder is created (and locked for this process) only after the data has loaded, so a bad
    dataset leaves nothing behind.

    Args:
        config: a `TrainConfig`.

    Returns:
        A `PreparedRun`.

    Raises:
        ValueError: a bad setting, a dataset that cannot be loaded, or a run folder in use.

    Example:
        >>> run = prepare_run(TrainConfig(epochs=1, steps_per_epoch=20, out="runs/try"))
        >>> result = train(run)
    """
    config.validate()
    folder = RunFolder.create(config.out, config.dataset)
    source = data.read_images(config.dataset, config.data_dir)
    image_size = config.image_size
    if image_size is None:
        image_size = source.image_size if source.image_size in supported_image_sizes() else 64
    channels = config.channels or source.channels
    check_sample_grid(config.num_samples, image_size, channels)
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    config = dataclasses.replace(config, image_size=image_size, channels=channels, seed=seed,
                                 out=str(folder.path))
    dataset = data.make_dataset(
        source, image_size, channels, config.batch_size, seed=seed,
        steps_per_epoch=config.steps_per_epoch, cache=config.cache, resize=config.resize,
    )
    folder.claim()
    try:
        folder.write_config(config)
        if source.paths is not None:
            folder.write_skipped_files(source.skipped)
    except OSError as error:  # disk full or quota, after the write probe passed
        raise ValueError(_failure_message(folder, 0, error)) from None
    return PreparedRun(config, folder, dataset, source)


def build_gan(config):
    """The generator, discriminator and compiled `DCGAN` that a resolved `config` describes.

    Args:
        config: a `TrainConfig` whose `image_size` and `channels` are set (as `prepare_run`
            leaves them).

    Returns:
        A compiled `DCGAN` with two Adam optimizers of the config's learning rate and beta1.

    Example:
        >>> gan = build_gan(TrainConfig(image_size=28, channels=1, seed=0))
    """
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


def run_callbacks(folder, config):
    """The callbacks `train.py` uses: divergence guard, grids, GIF, per-step losses, saving.

    Args:
        folder: the `RunFolder` to write into.
        config: the resolved `TrainConfig`.
    """
    scale = max(1, 256 // (config.image_size * 8))  # small images get upscaled grids
    return [
        dcgan_callbacks.DivergenceGuard(),
        dcgan_callbacks.SampleGrid(folder.samples_dir, config.num_samples, seed=config.seed,
                                   scale=scale),
        dcgan_callbacks.TrainingGif(folder.samples_dir, folder.gif_path),
        dcgan_callbacks.LossHistory(folder.losses_csv_path, folder.losses_plot_path),
        dcgan_callbacks.SaveModels(folder.path),
    ]


def train(run, verbose=None):
    """Trains a prepared run to the end and returns the model, the history and the speed.

    Writes into the run folder, every epoch: samples/epoch_NNN.png, training.gif, losses.csv,
    losses.png, generator.keras and dcgan.keras.

    Args:
        run: a `PreparedRun` from `prepare_run`.
        verbose: Keras' `fit` verbosity; default the progress bar on a terminal and one line per
            epoch otherwise (a log file or CI), where a bar would write every step.

    Returns:
        A `TrainingResult`.

    Raises:
        ValueError: the machine ran out of disk space or memory, or a file could not be written;
            the message says what the run folder kept and how to go on.
        TrainingDiverged: a loss became NaN or infinite; nothing of that step was saved.
    """
    config = run.config
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    keras.utils.set_random_seed(config.seed)
    gan = build_gan(config)
    timer = dcgan_callbacks.EpochTimer()
    callbacks = run_callbacks(run.folder, config) + [timer]
    try:
        history = gan.fit(run.dataset, epochs=config.epochs, shuffle=False, verbose=verbose,
                          callbacks=callbacks)
    except (OSError, MemoryError, tf.errors.ResourceExhaustedError) as error:
        raise ValueError(_failure_message(run.folder, len(timer.seconds), error)) from error
    guard = next(c for c in callbacks if isinstance(c, dcgan_callbacks.DivergenceGuard))
    if guard.diverged:
        saver = next(c for c in callbacks if isinstance(c, dcgan_callbacks.SaveModels))
        raise TrainingDiverged(_divergence_message(run.folder, guard.diverged,
                                                   saver.last_saved_epoch))
    full_epoch = run.source.num_images // config.batch_size
    steps = min(config.steps_per_epoch or full_epoch, full_epoch)
    return TrainingResult(gan, history, steps, config.batch_size, timer.seconds)


def _failure_message(folder, epochs_done, error):
    """One line for a run stopped by the machine (disk, memory, permissions), with what to do."""
    what = f"training stopped after {epochs_done} finished epochs ({error_summary(error)})"
    if folder.latest_generator() is None:
        return (f"{what}. No model was saved yet; fix the cause (free disk space or memory, or "
                f"lower --batch-size) and run the same command again: {folder.path} is reused.")
    return (f"{what}. {folder.path} keeps generator.keras and dcgan.keras of the last saved "
            "epoch; fix the cause and start a new run with another --out.")


def _divergence_message(folder, diverged, last_saved_epoch):
    values = ", ".join(f"{name} = {value}" for name, value in sorted(diverged["metrics"].items()))
    kept = (f"{folder.path} keeps generator.keras and dcgan.keras of epoch {last_saved_epoch}, "
            "the last good models" if last_saved_epoch is not None
            else "no epoch had finished, so no model was saved")
    return (f"training diverged at step {diverged['step']} (epoch {diverged['epoch']}): {values}. "
            f"Nothing of that step was saved: {kept}. Try a lower --learning-rate or "
            "--d-update joint, and check the data for NaN values.")
