"""A whole training run from a `TrainConfig`: data, models, callbacks, `fit`, saved models.

`train.py` is a thin command line over `prepare_run` and `train`; user code can call them too.
Everything that can be wrong with the input (settings, dataset, run folder) is checked in
`prepare_run`, before any model is built. Nothing here prints: `train` returns its figures.
"""

import dataclasses
import math
import random
import shlex
import shutil
import sys
import tempfile
import warnings
from collections.abc import Collection
from pathlib import Path

import keras
import tensorflow as tf

from tf_dcgan import data, distribute, evaluation
from tf_dcgan.checks import (
    ClassLabels,
    check_sample_grid,
    error_summary,
    supported_image_sizes,
)
from tf_dcgan.config import TrainConfig
from tf_dcgan.data.images import ImageSource
from tf_dcgan.model.gan import DCGAN
from tf_dcgan.model.networks import build_discriminator, build_generator
from tf_dcgan.run_folder import RunFolder, clock_stamp, default_run_path, free_suffix
from tf_dcgan.training import callbacks as dcgan_callbacks
from tf_dcgan.training import guards
from tf_dcgan.training.checkpoints import (
    Checkpointer,
    KeepBest,
    TrainingState,
    check_resumable,
)
from tf_dcgan.training.periodic import PeriodicEvaluation


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last good models."""


class TrainingStopped(RuntimeError):
    """A signal (Ctrl-C, SIGTERM) stopped the run cleanly; the message says how to resume.

    Attributes:
        signal: the `signal.Signals` received; a CLI exits with 128 + its number.
    """

    def __init__(self, received, message: str):
        super().__init__(message)
        self.signal = received


@dataclasses.dataclass
class PreparedRun:
    """A run ready to train: its resolved config, its folder and its input pipeline.

    Attributes:
        config: the `TrainConfig` with image size, channels, seed and folder resolved.
        folder: the `RunFolder` (config.json already written).
        dataset: the training stream from step 0 (`data.make_training_stream`).
        source: the `ImageSource` it reads.
        resume: whether to continue from the folder's newest checkpoint.
        steps_per_epoch: batches in each epoch.
        extractor, reference_name, reference_batches: with `eval_every`, what scores the
            generator and against which real images.
        strategy: the `tf.distribute.Strategy` to train under (`distribute.make_strategy`).
        run_dir: the run folder's path, the same on every worker. On the chief it is
            `folder.path`; a non-chief worker of a multi-worker run writes into a temporary
            `folder` instead (removed when `train` ends) and reads checkpoints from `run_dir`
            when resuming. (`out`, its name before 0.2.0, still reads it, with a warning.)
    """

    config: TrainConfig
    folder: RunFolder
    dataset: tf.data.Dataset
    source: ImageSource
    resume: bool
    steps_per_epoch: int
    extractor: object | None = None  # an evaluation.FeatureExtractor
    reference_name: str | None = None
    reference_batches: tf.data.Dataset | None = None
    strategy: tf.distribute.Strategy | None = None
    run_dir: Path | None = None

    def __post_init__(self):
        self.run_dir = Path(self.run_dir) if self.run_dir is not None else self.folder.path

    @property
    def out(self) -> Path:
        """Deprecated: the run folder's path under its old name; read `run_dir`."""
        warnings.warn("PreparedRun.out is deprecated and will be removed: read "
                      "PreparedRun.run_dir (the same path).", DeprecationWarning, stacklevel=2)
        return self.run_dir

    @property
    def chief(self) -> bool:
        """Whether this process writes the run folder (every process but non-chief workers)."""
        return self.folder.path == self.run_dir

    def stream(self, start_step: int):
        """(training stream from `start_step`, steps per epoch): see `make_training_stream`."""
        return _training_stream(self.config, self.source, start_step)


def _training_stream(config, source, start_step):
    return data.make_training_stream(
        source, config.image_format, config.batch_size, config.seed,
        steps_per_epoch=config.steps_per_epoch, start_step=start_step, cache=config.cache)


@dataclasses.dataclass
class TrainingResult:
    """What `train` returns: the trained model, Keras' history and the run's speed.

    Attributes:
        gan: the trained `DCGAN`.
        history: the `keras.callbacks.History` of `fit`.
        steps_per_epoch: batches in each epoch.
        batch_size: images in each batch.
        epoch_seconds: wall time of each epoch (the first includes graph tracing).
        start_step: the checkpoint step a resumed run continued from (0 for a new run).
    """

    gan: DCGAN
    history: object
    steps_per_epoch: int
    batch_size: int
    epoch_seconds: list
    start_step: int = 0

    @property
    def median_epoch_seconds(self):
        """The median epoch time, leaving out the first epoch (tracing) when there are more."""
        later = self.epoch_seconds[1:] or self.epoch_seconds
        return sorted(later)[len(later) // 2]

    @property
    def images_per_second(self):
        """Training images per second in a median epoch."""
        return self.steps_per_epoch * self.batch_size / self.median_epoch_seconds


def prepare_run(config: TrainConfig, resume: bool = False, given: Collection[str] = (),
                strategy: tf.distribute.Strategy | None = None) -> PreparedRun:
    """Checks the config, sets up the strategy, loads the data, creates (or reopens) the run folder.

    Image size and channels left as None become the dataset's own (when the models support that
    size; else 64), and a None seed becomes a random one, so config.json records the exact run.
    The folder is created (and locked for this process) only after the data has loaded, so a bad
    dataset leaves nothing behind.

    With `resume`, `config.out` must be a run folder: its own config.json is used, changed only
    by the flags in `given` that a resumed run may change (`TrainConfig.resumed_with`).

    The strategy (`config.strategy`, unless one is passed) is created first, as multi-worker and
    TPU strategies require. In a multi-worker run every worker calls this: they agree on the
    chief's seed and default folder name; only the chief creates the folder, and the others
    write into a temporary folder of their own (resuming needs `out` on a filesystem all workers
    share, as Keras' BackupAndRestore does).

    Args:
        config: a `TrainConfig`.
        resume: continue the run in `config.out` from its newest checkpoint.
        given: with `resume`, the names of the settings the user set explicitly.
        strategy: a `tf.distribute.Strategy` to use instead of `config.strategy`'s.

    Returns:
        A `PreparedRun`.

    Raises:
        ValueError: a bad setting, a dataset that cannot be loaded, or a run folder in use.

    Example:
        >>> run = prepare_run(TrainConfig(epochs=1, steps_per_epoch=20, out="runs/try"))
        >>> result = train(run)
    """
    config.validate()
    strategy = strategy or distribute.make_strategy(config.strategy)
    chief = distribute.is_chief(strategy)
    config, folder = _run_folder(config, resume, given, strategy, chief)
    source = data.read_images(config.dataset, config.data_dir)
    config = _fit_to_data(config, source, resume)
    # The stream from step 0 checks the batch size and the cache.
    dataset, steps_per_epoch = _training_stream(config, source, 0)
    run = PreparedRun(config, folder, dataset, source, resume, steps_per_epoch,
                      *_scoring_inputs(config), strategy, Path(config.out))
    if resume and chief:
        check_resumable(folder)
    folder.claim(resume=resume and chief)
    if not resume:  # a resumed run's config.json is rewritten once its checkpoint has loaded
        _write_config(run)
        if source.paths is not None:
            _write_or_fail(folder, lambda: folder.write_skipped_files(source.skipped))
    return run


def _run_folder(config, resume, given, strategy, chief):
    """(the config with the run's seed, folder and precision, this process's `RunFolder`): the
    chief's run folder, opened to resume or created (not yet claimed); a non-chief worker's own
    temporary folder."""
    if resume:
        if config.out is None:
            raise ValueError("resume needs the run folder; received no --out. Pass --out RUN.")
        # Non-chief workers only read the chief's folder; the chief alone finishes or cleans it.
        folder = RunFolder.open(config.out) if chief else RunFolder(config.out)
        # The strategy of this command, not the recorded one: the run may move to other devices.
        config = dataclasses.replace(folder.read_config().resumed_with(config, given),
                                     strategy=config.strategy).validate()
    else:
        config = _agree_on_seed_and_folder(strategy, chief, config)
        # config.json records what `--precision auto` chose here; a resumed run keeps it.
        config = dataclasses.replace(
            config, precision=distribute.resolve_precision(config.precision, strategy))
        folder = RunFolder.create(config.out, config.dataset) if chief else None
    if not chief:
        task_type, task_id = distribute.worker_index(strategy)
        folder = RunFolder(tempfile.mkdtemp(prefix=f"tf-dcgan-{task_type}{task_id}-"))
    return config, folder


def _fit_to_data(config, source, resume):
    """The config with what the data decides: image size and channels left as None, the class
    names of a conditional run, the dataset's fingerprint and a small folder's epoch length; a
    resumed run whose dataset has changed is refused."""
    image_size = config.image_size
    if image_size is None:
        image_size = source.image_size if source.image_size in supported_image_sizes() else 64
    channels = config.channels or source.channels
    check_sample_grid(config.num_samples, image_size, channels)
    class_names = config.class_names
    if config.conditional and class_names is None:
        class_names = source.classes()
    fingerprint = data.dataset_fingerprint(source)
    if resume and config.dataset_fingerprint not in (None, fingerprint):
        raise ValueError(
            f"dataset {config.dataset!r} has changed since the run in {str(Path(config.out))!r} "
            "began (other images, labels or files), so --resume would not continue with the "
            "batches the run would have seen; nothing was changed. Restore the dataset as it was, "
            "or train a new run on it with another --out."
        )
    steps_per_epoch = config.steps_per_epoch
    if not resume and steps_per_epoch is None:  # a small folder's epoch is several passes
        steps_per_epoch = data.default_steps_per_epoch(source.num_images, config.batch_size)
    return dataclasses.replace(config, image_size=image_size, channels=channels,
                               class_names=class_names, dataset_fingerprint=fingerprint,
                               steps_per_epoch=steps_per_epoch)


def _scoring_inputs(config):
    """(extractor, reference name, reference batches) with `eval_every`, else Nones; checked
    now, so a missing extractor is one line before training, not after an epoch."""
    if not config.eval_every:
        return None, None, None
    extractor = evaluation.choose_extractor(config.dataset, config.extractor,
                                            config.inception_weights)
    extractor.check_images(config.channels)
    reference, reference_name, _, _ = evaluation.reference_sets(config.dataset, config.data_dir)
    return extractor, reference_name, data.make_eval_dataset(reference, config.image_format)


def precision_line(run: PreparedRun, requested: TrainConfig, resume: bool = False,
                   given: Collection[str] = ()) -> str:
    """The line `train.py` prints first: the precision the run trains in and why
    (`distribute.describe_precision`), e.g. "precision: mixed_bfloat16 (auto: this CPU has
    AVX512_BF16)".

    Args:
        run: the `PreparedRun`.
        requested: the config as the command asked for it, before `prepare_run` resolved it.
        resume: whether the run was resumed.
        given: the settings the command set explicitly.
    """
    if resume:
        asked = "precision" in given and requested.precision != "auto"
        origin = "given" if asked else "recorded"
    else:
        origin = "auto" if requested.precision == "auto" else "given"
    return distribute.describe_precision(run.config.precision, origin, run.strategy)


def _write_or_fail(folder, write):
    try:
        write()
    except OSError as error:  # disk full or quota, after the write probe passed
        raise ValueError(_failure_message(folder, 0, error)) from None


def _write_config(run):
    _write_or_fail(run.folder, lambda: run.folder.write_config(run.config))


def _agree_on_seed_and_folder(strategy, chief, config):
    """Resolves a None seed and out; every worker of a multi-worker run gets the chief's."""
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    stamp = clock_stamp()
    suffix = free_suffix(config.dataset, stamp) if config.out is None else 1
    digits, suffix, seed = distribute.agree_with_chief(
        strategy, [int(stamp.replace("-", "")), suffix, seed])
    out = config.out
    if out is None:
        stamp = f"{digits // 10**6:08d}-{digits % 10**6:06d}"
        out = str(default_run_path(config.dataset, stamp, suffix))
    return dataclasses.replace(config, seed=seed, out=out)


def build_gan(config: TrainConfig) -> DCGAN:
    """The generator, discriminator and compiled `DCGAN` that a resolved `config` describes.

    Args:
        config: a `TrainConfig` whose `image_size` and `channels` are set (as `prepare_run`
            leaves them).

    Returns:
        A compiled `DCGAN` with two Adam optimizers of the config's learning rates and betas;
        class-conditional networks when `config.conditional` (with `config.class_names`).
        Under a `tf.distribute` strategy, call it inside `strategy.scope()`.

    Example:
        >>> gan = build_gan(TrainConfig(image_size=28, channels=1, seed=0))
    """
    precision = distribute.resolve_precision(config.precision)
    dtype = None if precision == "float32" else precision
    classes = None
    if config.conditional:
        if not config.class_names:
            raise ValueError(
                "a conditional config needs its class_names; received none. Resolve them with "
                "prepare_run, or set class_names to the dataset's classes."
            )
        classes = ClassLabels(tuple(config.class_names), config.d_conditioning)
    generator = build_generator(config.image_format, config.latent_dim, config.base_filters,
                                dtype=dtype, sync_batchnorm=config.sync_batchnorm,
                                classes=classes)
    discriminator = build_discriminator(config.image_format, config.base_filters, dtype=dtype,
                                        sync_batchnorm=config.sync_batchnorm, classes=classes)
    gan = DCGAN(generator, discriminator, latent_dim=config.latent_dim, seed=config.seed,
                ema_decay=config.ema_decay, augment=config.augment)
    d_rate = config.d_learning_rate or config.learning_rate
    g_rate = config.g_learning_rate or config.learning_rate
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_rate, beta_1=config.beta1, beta_2=config.beta2),
        g_optimizer=keras.optimizers.Adam(g_rate, beta_1=config.beta1, beta_2=config.beta2),
        d_update=config.d_update,
        real_label=1.0 - config.label_smoothing,
        gan_loss=config.loss,
        jit_compile="auto" if config.jit else False,
        steps_per_execution=config.steps_per_execution,
    )
    return gan


@dataclasses.dataclass
class RunCallbacks:
    """The callbacks `train.py` uses, by name; `as_list()` gives them in the order Keras runs
    them: stop on signal, divergence guard, sample grid, GIF, per-step losses (and TensorBoard),
    model saving, evaluation (and keeping the best), the model card, checkpoints."""

    stop: guards.StopOnSignal
    guard: guards.DivergenceGuard
    grid: dcgan_callbacks.SampleGrid
    gif: dcgan_callbacks.TrainingGif
    history: dcgan_callbacks.LossHistory
    saver: dcgan_callbacks.SaveModels
    checkpointer: Checkpointer
    tensorboard: dcgan_callbacks.TensorBoardLogger | None = None
    evaluator: PeriodicEvaluation | None = None
    keep_best: KeepBest | None = None
    card: dcgan_callbacks.ModelCardWriter | None = None

    def as_list(self) -> list[keras.callbacks.Callback]:
        """The callbacks in the order Keras runs them (those not in use left out)."""
        ordered = (self.stop, self.guard, self.grid, self.gif, self.history, self.tensorboard,
                   self.saver, self.evaluator, self.keep_best, self.card, self.checkpointer)
        return [callback for callback in ordered if callback is not None]


def run_callbacks(folder: RunFolder, config: TrainConfig, state: TrainingState,
                  start_step: int = 0, run: PreparedRun | None = None) -> RunCallbacks:
    """The callbacks `train.py` uses (`RunCallbacks`).

    Args:
        folder: the `RunFolder` to write into.
        config: the resolved `TrainConfig`.
        state: the run's `checkpoints.TrainingState`.
        start_step: steps already done (a resumed run's checkpoint step).
        run: the `PreparedRun`, for its evaluation extractor and reference images (needed with
            `config.eval_every`) and for the model card.
    """
    if config.eval_every and run is None:
        raise ValueError("eval_every needs the PreparedRun (its extractor and reference images); "
                         "received run=None. Pass run=prepare_run(config).")
    history = dcgan_callbacks.LossHistory(folder.losses_csv_path, folder.losses_plot_path,
                                          append=True, resume_step=start_step)
    callbacks = RunCallbacks(
        stop=guards.StopOnSignal(),
        guard=guards.DivergenceGuard(start_step=start_step),
        grid=dcgan_callbacks.SampleGrid(folder.samples_dir, config.num_samples, seed=config.seed),
        gif=dcgan_callbacks.TrainingGif(folder.samples_dir, folder.gif_path),
        history=history,
        saver=dcgan_callbacks.SaveModels(folder.path),
        checkpointer=Checkpointer(state, config.save_every_steps, start_step,
                                  before_save=[history.write_csv]),
    )
    if config.tensorboard:
        callbacks.tensorboard = dcgan_callbacks.TensorBoardLogger(
            folder.logs_dir, history, config.num_samples, config.seed)
    if config.eval_every:
        evaluator = callbacks.evaluator = PeriodicEvaluation(
            run.extractor, run.reference_batches, config.eval_every, config.eval_images,
            folder.metrics_csv_path, seed=config.seed, start_step=start_step)
        if config.tensorboard:
            evaluator.writer = tf.summary.create_file_writer(str(folder.logs_dir))
        if config.keep_best:
            callbacks.keep_best = KeepBest(
                state, folder.checkpoints_dir / "best",
                lambda gan: evaluator.latest.fid if evaluator.latest else float("inf"),
                every_epochs=config.eval_every, start_step=start_step)
    if run is not None:
        callbacks.card = dcgan_callbacks.ModelCardWriter(
            folder.path, config, run.source.num_images, run.steps_per_epoch, callbacks.saver,
            callbacks.evaluator)
    return callbacks


def train(run: PreparedRun, verbose: int | None = None) -> TrainingResult:
    """Trains a prepared run to its last epoch (from its newest checkpoint when resuming).

    Writes into the run folder, every epoch: samples/epoch_NNN.png, training.gif, losses.csv,
    losses.png, generator.keras, dcgan.keras, MODEL_CARD.md and .json and a checkpoint (also
    every `save_every_steps`).
    Ctrl-C or SIGTERM stops it cleanly within `steps_per_execution` steps, with everything written and a
    checkpoint of that step (`TrainingStopped`).

    Args:
        run: a `PreparedRun` from `prepare_run`.
        verbose: Keras' `fit` verbosity; default the progress bar on a terminal and one line per
            epoch otherwise (a log file or CI), where a bar would write every step.

    Returns:
        A `TrainingResult`.

    Raises:
        ValueError: the machine ran out of disk space or memory, or a file could not be written;
            the message says what the run folder kept and how to go on. Also: a resumed run
            already trained for `epochs`.
        TrainingDiverged: a loss became NaN or infinite; nothing of that step was saved.
        TrainingStopped: a signal stopped the run; the message says how to resume.
    """
    config = run.config
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    strategy = run.strategy or tf.distribute.get_strategy()
    with strategy.scope():
        gan = build_gan(config)
    # Every worker restores the chief's checkpoints; a non-chief one writes its own (all workers
    # must save, as saving may take part in collectives) into its temporary folder.
    state = TrainingState(gan, run.folder.checkpoints_dir, keep=config.keep_checkpoints,
                          restore_from=RunFolder(run.run_dir).checkpoints_dir)
    try:
        return _fit(run, gan, state, verbose)
    finally:
        run.folder.release()  # everything is written: no .lock is left behind
        if not run.chief:
            shutil.rmtree(run.folder.path, ignore_errors=True)


def _fit(run, gan, state, verbose):
    config = run.config
    start_step = 0
    if run.resume:
        start_step = _restore(run, state)
        _write_config(run)
    steps = run.steps_per_epoch
    first_epoch, done_in_epoch = divmod(start_step, steps)
    if first_epoch >= config.epochs:
        raise ValueError(
            f"the run in {run.run_dir} has already trained {first_epoch} epochs; received "
            f"epochs={config.epochs}. Pass a larger --epochs to train longer."
        )
    named = run_callbacks(run.folder, config, state, start_step, run)
    guard, stop, saver, checkpointer = named.guard, named.stop, named.saver, named.checkpointer
    timer = dcgan_callbacks.EpochTimer()
    callbacks = [*named.as_list(), timer]
    if verbose:
        callbacks.append(dcgan_callbacks.RunProgress(timer, config.epochs, steps,
                                                     config.batch_size, config.precision,
                                                     start_step=start_step))
    # A run resumed mid-epoch first finishes that epoch, then trains whole epochs.
    phases = []
    if done_in_epoch:
        phases.append((start_step, first_epoch, first_epoch + 1, steps - done_in_epoch))
        first_epoch += 1
    if first_epoch < config.epochs:
        phases.append((first_epoch * steps, first_epoch, config.epochs, steps))
    history = None
    try:
        for phase_start, initial_epoch, epochs, phase_steps in phases:
            stream = run.dataset if phase_start == 0 else run.stream(phase_start)[0]
            gan.steps_per_execution = steps_per_execution(config, steps, phase_start)
            history = gan.fit(stream, initial_epoch=initial_epoch, epochs=epochs,
                              steps_per_epoch=phase_steps, shuffle=False, verbose=verbose,
                              callbacks=callbacks)
            if guard.diverged or stop.received or gan.stop_training:
                break
    except (OSError, MemoryError, tf.errors.ResourceExhaustedError) as error:
        raise ValueError(_failure_message(run.folder, len(timer.seconds), error)) from error
    if guard.diverged:
        raise TrainingDiverged(_divergence_message(run.folder, guard.diverged,
                                                   saver.last_saved_epoch))
    if stop.received:
        raise TrainingStopped(stop.received, _stop_message(run, stop.received,
                                                           checkpointer.saved_step, steps))
    return TrainingResult(gan, history, steps, config.batch_size, timer.seconds, start_step)


def steps_per_execution(config: TrainConfig, steps_per_epoch: int, start_step: int) -> int:
    """The steps per call for a `fit` from `start_step`: `config.steps_per_execution`, or with
    `save_every_steps` its largest divisor that also divides the steps per epoch, the save
    interval and the start step, so that every call ends on each step a checkpoint is due."""
    steps = config.steps_per_execution
    if config.save_every_steps:
        steps = math.gcd(steps, config.save_every_steps, steps_per_epoch, start_step)
    return steps


def newest_checkpoint_step(run: PreparedRun) -> int | None:
    """The step of the run folder's newest checkpoint; None when it has none."""
    path = tf.train.latest_checkpoint(str(RunFolder(run.run_dir).checkpoints_dir))
    return None if path is None else int(path.rsplit("-", 1)[1])


def _restore(run, state):
    """The step a resumed run restored; 0 for a run that never saved anything to lose."""
    step = state.restore_newest()
    if step is None:
        # Training from step 0 would overwrite the run's models, losses and grids.
        check_resumable(RunFolder(run.run_dir), loadable=False)
    return step or 0


def _stop_message(run, received, step, steps):
    epoch, within = divmod(step, steps)
    where = f"after epoch {epoch}" if not within else f"at step {within} of epoch {epoch + 1}"
    return (f"stopped by {received.name} {where}; everything up to that step is saved "
            f"(checkpoint {step} in {run.folder.checkpoints_dir}). Continue with: "
            f"python train.py --out {run.run_dir} --resume")


def _failure_message(folder, epochs_done, error):
    """One line for a run stopped by the machine (disk, memory, permissions), with what to do."""
    what = f"training stopped after {epochs_done} finished epochs ({error_summary(error)})"
    if folder.latest_generator() is None:
        return (f"{what}. No model was saved yet; fix the cause (free disk space or memory, or "
                f"lower --batch-size) and run the same command again: {folder.path} is reused.")
    return (f"{what}. {folder.path} keeps generator.keras, dcgan.keras and the checkpoints of "
            "the last saved step; fix the cause (free disk space or memory) and continue it with "
            f"--out {shlex.quote(str(folder.path))} --resume.")


def _divergence_message(folder, diverged, last_saved_epoch):
    values = ", ".join(f"{name} = {value}" for name, value in sorted(diverged["metrics"].items()))
    kept = (f"{folder.path} keeps generator.keras and dcgan.keras of epoch {last_saved_epoch}, "
            "the last good models" if last_saved_epoch is not None
            else "no epoch had finished, so no model was saved")
    return (f"training diverged at step {diverged['step']} (epoch {diverged['epoch']}): {values}. "
            f"Nothing of that step was saved: {kept}. Try a lower --learning-rate or "
            "--d-update joint, and check the data for NaN values.")
