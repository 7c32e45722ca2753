"""Checkpoints: everything needed to continue a run exactly, each one written whole or not at all.

A checkpoint holds both networks (weights and BatchNorm statistics) and the generator's moving
average when there is one, both optimizers (Adam's
moments and step counts), both random streams of the `DCGAN` (training noise and `generate`), and
the number of training steps done. With the data order a pure function of (seed, step)
(`data.make_training_stream`) and the sample noise a function of the config's seed, that is the
whole state of a run; the per-step losses are in the run's `losses.csv`, written before each
checkpoint and cut back to the checkpoint's step on resume.

`tf.train.Checkpoint` writes the files and `tf.train.CheckpointManager` names and prunes them;
the manager's `checkpoint` index is only updated after a checkpoint's files are complete, so a
stop while writing leaves the previous checkpoint as the newest.
"""

import json
from pathlib import Path

import tensorflow as tf

from tf_dcgan.files import atomic_output, fsync_path, write_json
from tf_dcgan.model.saving import all_weights_finite
from tf_dcgan.run_folder import GENERATOR, RunFolder
from tf_dcgan.training.callbacks import StepCounter


def listed_checkpoints(directory: str | Path) -> list[str]:
    """The checkpoints in `directory`, oldest first, as their path prefixes (`.../ckpt-120`).

    Read from the `checkpoint` index file with every checkpoint it lists, also those whose
    recorded time is ahead of this machine's clock (`tf.train.CheckpointManager` drops them: a
    run copied from a machine whose clock runs ahead would otherwise look empty). Without a
    readable index file, the `ckpt-N.index` files in the folder, by step.
    """
    directory = Path(directory)
    try:
        state = tf.train.get_checkpoint_state(str(directory))
    except (OSError, ValueError, tf.errors.OpError, UnicodeDecodeError):  # a damaged index file
        state = None
    if state is not None and state.all_model_checkpoint_paths:
        return [str(directory / Path(path).name) for path in state.all_model_checkpoint_paths]
    numbered = [(int(path.stem.split("-")[1]), path.with_suffix(""))
                for path in directory.glob("ckpt-*.index") if path.stem.split("-")[1].isdigit()]
    return [str(path) for _, path in sorted(numbered)]


def check_resumable(folder: RunFolder, loadable: bool = True) -> None:
    """Raises ValueError when a run that saved models has no checkpoint to resume from.

    Resuming such a run from step 0 would overwrite its models, losses and grids; a run that
    saved nothing yet may start again.

    Args:
        folder: RunFolder. The run to resume.
        loadable: bool. False when its checkpoints are listed but none of them loads.
    """
    if not folder.holds_progress():
        return
    if loadable and listed_checkpoints(folder.checkpoints_dir):
        return
    found = ("none of its checkpoints loads" if not loadable
             else f"it has no checkpoint in {folder.checkpoints_dir}")
    raise ValueError(
        f"resume cannot continue the run in {str(folder.path)!r}: {found}, and starting again "
        "from step 0 would overwrite its models, losses and grids; nothing was changed. Restore "
        "its checkpoints/ folder from a backup, or train a new run with another --out."
    )


class TrainingState:
    """The checkpointable state of a `DCGAN` run, and the manager of its checkpoint files.

    Args:
        gan: a compiled `DCGAN` (its optimizers are built in `compile`, as restoring needs).
        directory: the checkpoint folder (`RunFolder.checkpoints_dir`).
        keep: how many of the newest checkpoints to keep.
        restore_from: the folder `restore_newest` reads; default `directory`. (A non-chief
            worker of a multi-worker run writes into a folder of its own and restores the
            chief's.)

    Example:
        >>> state = TrainingState(gan, "runs/x/checkpoints")
        >>> state.save(step=468)
        >>> state.restore_newest()  # 468, in a new process with a freshly built gan
    """

    def __init__(self, gan, directory: str | Path, keep=3, restore_from=None):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        parts = dict(
            generator=gan.generator, discriminator=gan.discriminator,
            d_optimizer=gan.d_optimizer, g_optimizer=gan.g_optimizer,
            training_noise=gan.seed_generator.state, sample_noise=gan.sample_seed_generator.state,
            step=self.step,
        )
        if gan.ema_generator is not None:
            parts["ema_generator"] = gan.ema_generator
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(directory),
                                                  max_to_keep=keep)
        self.restore_dir = Path(directory if restore_from is None else restore_from)

    def save(self, step):
        """Writes a checkpoint of the state after `step` training steps; returns its path."""
        self.step.assign(step)
        path = self.manager.save(checkpoint_number=step)
        # On the disk before training goes on: the checkpoint's files, the index, the folder. (A
        # damaged index still leaves the checkpoints found by their files: `listed_checkpoints`.)
        for written in [*Path(path).parent.glob(f"{Path(path).name}.*"),
                        Path(path).parent / "checkpoint", Path(path).parent]:
            fsync_path(written)
        return path

    def restore_newest(self, warn=print):
        """Restores the newest checkpoint that loads; returns its step, or None when none does.

        A checkpoint that fails to load (truncated or corrupt files) is reported through `warn`
        and the one before it is tried.
        """
        for path in reversed(listed_checkpoints(self.restore_dir)):
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            # A truncated file fails in many ways (DataLossError, IndexError "Read less bytes
            # than requested", a mismatched object graph): each means "not this one".
            except Exception as error:
                reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
                warn(f"warning: checkpoint {path} does not load ({type(error).__name__}: "
                     f"{reason}); trying the one before it.")
                continue
            return int(self.step.numpy())
        return None


class Checkpointer(StepCounter):
    """Writes a checkpoint at the end of every epoch and, optionally, every N steps.

    A stop (`model.stop_training`, as on Ctrl-C) still ends in `on_epoch_end`, so it writes a
    checkpoint of the step it stopped at. Weights that are not finite are never checkpointed.

    Args:
        state: a `TrainingState`.
        every_steps: also write one every this many steps; None for epoch ends only.
        start_step: steps done before this `fit` (a resumed run's checkpoint step).
        before_save: functions called before each checkpoint (e.g. writing the loss CSV, so that
            the files on disk always reach at least the checkpoint's step).
    """

    def __init__(self, state, every_steps=None, start_step: int = 0, before_save=()):
        super().__init__(start_step)
        self.state = state
        self.every_steps = every_steps
        self.saved_step = start_step
        self.before_save = list(before_save)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.every_steps and self.step % self.every_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        """Writes a checkpoint of the current step, unless it exists or the weights diverged."""
        if self.step == self.saved_step or not all_weights_finite(self.model):
            return
        for function in self.before_save:
            function()
        self.state.save(self.step)
        self.saved_step = self.step


class KeepBest(StepCounter):
    """Keeps the checkpoint with the best score beside the newest ones (`--keep-best`).

    Every `every_epochs` epochs `score_fn(gan)` is called (lower is better, as FID); when the
    score beats every earlier one, the whole training state is checkpointed into `directory`
    (one checkpoint, replaced whole), the float32 generator of that moment is saved there as
    `generator.keras` (what `generate.py`, `evaluate.py` and `export.py` take with
    `--generator`), and `best.json`, written last, records the epoch, step and score.
    The evaluation metrics plug in here; any function of the model works.

    Args:
        state: the run's `TrainingState` (its objects are what is kept).
        directory: where the best checkpoint lives (e.g. `RUN/checkpoints/best`).
        score_fn: `gan -> float`, lower is better.
        every_epochs: score every this many epochs.
        start_step: steps done before this `fit`.

    Example:
        >>> best = KeepBest(state, "runs/x/checkpoints/best", score_fn=lambda gan: fid(gan))
    """

    def __init__(self, state, directory: str | Path, score_fn, every_epochs=1, start_step: int = 0):
        super().__init__(start_step)
        self.score_fn = score_fn
        self.every_epochs = every_epochs
        self.directory = Path(directory)
        self.manager = tf.train.CheckpointManager(state.checkpoint, str(self.directory),
                                                  max_to_keep=1)
        self.state = state
        self.best = self._recorded()

    def _recorded(self):
        path = self.directory / "best.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs or not all_weights_finite(self.model):
            return
        score = float(self.score_fn(self.model))
        if self.best is not None and score >= self.best["score"]:
            return
        self.state.step.assign(self.step)
        self.manager.save(checkpoint_number=self.step)
        with atomic_output(self.directory / GENERATOR) as path:
            self.model.inference_generator().save(path)
        self.best = {"epoch": epoch + 1, "step": self.step, "score": score}
        write_json(self.directory / "best.json", self.best)
