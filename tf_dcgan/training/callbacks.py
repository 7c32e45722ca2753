"""Keras callbacks for a DCGAN run: sample grids, the training GIF, loss curves, saving, timing.

Each works with any `fit` of a `DCGAN` (or, for `LossHistory` and `EpochTimer`, of any Keras
model), so a user's own training code gets the same outputs as `train.py`. Every file is written
to a temporary name and renamed into place.
"""

import csv
import dataclasses
import json
import time
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

from tf_dcgan import model_card
from tf_dcgan.data.grids import grid_scale, image_grid, upscale, write_png
from tf_dcgan.files import write_csv
from tf_dcgan.model.saving import all_weights_finite
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.training.plots import gif_frame, plot_losses, write_gif


def executed_logs(model: keras.Model) -> list[dict] | None:
    """Each step's logs from the train function's last call, oldest first, or None.

    A `DCGAN` trained by `fit` runs up to `steps_per_execution` steps per call and keeps each
    step's logs (Keras' running means over the epoch) in `executed_logs`; for other models, and
    for `train_on_batch`, this is None and the logs Keras passes describe the one step done.
    """
    return getattr(model, "executed_logs", None) or None


class StepCounter(keras.callbacks.Callback):
    """A callback that knows the run's step: `step` counts the batches trained so far.

    Args:
        start_step: int. Steps done before this `fit` (a resumed run's checkpoint step).
    """

    def __init__(self, start_step: int = 0):
        super().__init__()
        self.step = start_step

    def on_train_batch_end(self, batch, logs=None):
        self.step += len(executed_logs(self.model) or [logs])


def sample_grid(gan: keras.Model, num_images: int, seed: int) -> np.ndarray | None:
    """The grid of `gan`'s sampler from fixed noise (`LatentSpace.grid`), as a uint8 image.

    Returns None when the images are not finite: a diverged generator makes no black grid.
    """
    inputs, columns = gan.latent.grid(num_images, seed)
    images = np.asarray(gan.sampler(inputs, training=False))
    return image_grid(images, columns) if np.isfinite(images).all() else None


class SampleGrid(keras.callbacks.Callback):
    """Saves a grid of images generated from the same fixed noise at the end of every epoch.

    Fixed noise makes the grids comparable: each cell follows one z through training. The noise is
    `model.latent.sample(num_images, seed)`, the same as `DCGAN.generate(num_images, seed)`. A
    conditional model's grid has one row per class (up to 10) and one noise vector per column
    (`LatentSpace.grid`).
    Files are `<directory>/epoch_001.png`, `epoch_002.png`, ... (epoch numbers continue from
    `initial_epoch` when training resumes).

    Args:
        directory: folder for the PNG files (created if missing).
        num_images: images in the grid (64 gives 8x8).
        seed: seed of the fixed noise.
        scale: integer upscaling of the saved grid (nearest neighbour); None (the default)
            upscales small images until the grid's longer side is `GRID_MIN_WIDTH` (512) pixels.

    Example:
        >>> gan.fit(dataset, epochs=5, callbacks=[SampleGrid("run/samples")])
    """

    def __init__(self, directory: str | Path, num_images: int = 64, seed: int = 0,
                 scale: int | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.num_images = num_images
        self.seed = seed
        self.scale = scale

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        grid = sample_grid(self.model, self.num_images, self.seed)
        if grid is not None:  # None: a diverged generator (DivergenceGuard reports it)
            scale = self.scale or grid_scale(max(grid.shape[:2]))
            write_png(self.directory / f"epoch_{epoch + 1:03d}.png", upscale(grid, scale))


# The most frames training.gif holds (evenly spaced epochs past that).
MAX_GIF_FRAMES = 200
# training.gif is rewritten once the epochs since it was last written reach its frames over
# this: every epoch up to 20 frames, every 10th at 200, so an epoch writes about 20 frames'
# worth on average however long the run (and one frame costs a few milliseconds to encode).
GIF_FRAMES_PER_EPOCH = 20


class TrainingGif(keras.callbacks.Callback):
    """Assembles the sample grids of a folder, in epoch order, into an animated GIF.

    The GIF is rewritten at epoch ends and when training ends (a stop by Ctrl-C or SIGTERM
    included), so a run that stops early still has one; it holds the `epoch_*.png` grids in
    `sample_dir` in the order of their epoch numbers (epoch 1000 after 999), including those of
    earlier, resumed runs. Each grid is read and quantized once (`plots.gif_frame`), when
    training begins or when its epoch ends, and the file is rewritten once the epochs since the
    last write reach its frames over `GIF_FRAMES_PER_EPOCH` (every epoch up to 20 frames, every
    10th at 200), so an epoch's share of the GIF stays about the same however long the run.

    A long run keeps at most `max_frames` frames, evenly spaced: every epoch while there are
    fewer, then every 2nd, 4th, ... epoch (the spacing doubles whenever the frames would pass
    `max_frames`), always with the newest epoch last; the work and memory of an epoch stay
    bounded however long the run. Put it after `SampleGrid` in the callback list.

    Args:
        sample_dir: folder of `epoch_NNN.png` grids (as written by `SampleGrid`).
        path: the GIF to write.
        frame_seconds: how long each epoch's frame shows; the last frame shows three times longer.
        max_frames: the most frames the GIF holds.
    """

    def __init__(self, sample_dir, path: str | Path, frame_seconds: float = 0.5,
                 max_frames: int = MAX_GIF_FRAMES):
        super().__init__()
        self.sample_dir = Path(sample_dir)
        self.path = Path(path)
        self.frame_seconds = frame_seconds
        self.max_frames = max_frames
        self.frames = {}  # epoch number -> frame, at the epochs the spacing keeps
        self.every = 1  # the spacing: epochs whose number is a multiple of it are kept
        self.newest = None  # (epoch number, frame) of the newest grid, shown last
        self.unwritten = 0  # epoch ends since the file was last written

    def on_train_begin(self, logs=None):
        grids = {_epoch_number(p): p for p in self.sample_dir.glob("epoch_*.png")
                 if _epoch_number(p) is not None}
        self.frames, self.every, self.newest = {}, 1, None
        newest = {max(grids)} if grids else set()
        # The kept epochs and the newest one, within max_frames.
        while len({n for n in grids if n % self.every == 0} | newest) > self.max_frames:
            self.every *= 2
        for number in sorted(grids):
            if number % self.every == 0:
                self.frames[number] = gif_frame(iio.imread(grids[number]))
        if grids:
            last = max(grids)
            self.newest = (last, self.frames.get(last) or gif_frame(iio.imread(grids[last])))

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        grid = self.sample_dir / f"epoch_{number:03d}.png"
        if grid.is_file():
            self.newest = (number, gif_frame(iio.imread(grid)))
            if number % self.every == 0:
                self.frames[number] = self.newest[1]
        shown = self._shown()
        while len(shown) > self.max_frames:
            self.every *= 2
            self.frames = {n: frame for n, frame in self.frames.items() if n % self.every == 0}
            shown = self._shown()
        self.unwritten += 1
        if self.unwritten >= len(shown) / GIF_FRAMES_PER_EPOCH:
            self._write()

    def on_train_end(self, logs=None):
        if self.unwritten:
            self._write()

    def _write(self):
        shown = self._shown()
        if shown:
            write_gif([shown[n] for n in sorted(shown)], self.path, self.frame_seconds)
        self.unwritten = 0

    def _shown(self):
        shown = dict(self.frames)
        if self.newest is not None:
            shown[self.newest[0]] = self.newest[1]
        return shown


def _epoch_number(path):
    """1000 for `epoch_1000.png`, None for names that are not sample grids."""
    digits = Path(path).stem.removeprefix("epoch_")
    return int(digits) if digits.isdigit() else None


class LossHistory(keras.callbacks.Callback):
    """Records every logged metric at every training step into a CSV file and plots the losses.

    Keras logs the running mean of each metric since the start of the epoch; this callback turns
    those back into each step's own value (n * mean_n - (n - 1) * mean_{n-1}), so the CSV holds one
    row per step with the values of that step. The CSV and the plot are rewritten at the end of
    every epoch; with `append=True` earlier rows of the CSV are kept (for resumed runs).

    Args:
        csv_path: the CSV file: a `step` column, an `epoch` column, then one column per metric.
        plot_path: the PNG of the D and G losses per step with a smoothed line; None for no plot.
        smoothing: weight of the exponential moving average drawn over the raw curves.
        append: keep the rows already in `csv_path`.
        resume_step: with `append`, drop the rows after this step when training begins (a
            resumed run continues from its checkpoint's step; rows written after it are redone).

    Example:
        >>> gan.fit(dataset, epochs=5, callbacks=[LossHistory("run/losses.csv", "run/losses.png")])
    """

    def __init__(self, csv_path: str | Path, plot_path=None, smoothing: float = 0.98, append=False,
                 resume_step=None):
        super().__init__()
        self.resume_step = resume_step
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.smoothing = smoothing
        self.append = append
        self.rows = []
        self._written = None  # the count of rows at the last CSV write of this fit
        self._epoch = 0
        self._previous_means = None
        self._previous_batch = -1

    def on_train_begin(self, logs=None):
        self.rows = self._read_existing() if self.append else []
        self._written = None
        if self.resume_step is not None:
            self.rows = [row for row in self.rows if row["step"] <= self.resume_step]
            self.resume_step = None  # once: a second fit of the same run continues its rows

    def _read_existing(self):
        if not self.csv_path.is_file():
            return []
        with open(self.csv_path, newline="") as f:
            return [
                {k: (int(v) if k in ("step", "epoch") else float(v)) for k, v in row.items()}
                for row in csv.DictReader(f)
            ]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._previous_means = None
        self._previous_batch = -1

    def on_train_batch_end(self, batch, logs=None):
        steps = executed_logs(self.model)
        if steps is None:  # one row for the call (one step, unless another model runs several)
            self._add_row(batch, logs or {})
        for step_logs in steps or ():
            self._add_row(self._previous_batch + 1, step_logs)

    def _add_row(self, batch, logs):
        means = {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}
        steps_now = batch + 1
        steps_before = self._previous_batch + 1
        values = {}
        for name, mean in means.items():
            before = self._previous_means.get(name, 0.0) if self._previous_means else 0.0
            # The mean of the steps since the last row: n * mean_n - (n - 1) * mean_{n-1}.
            values[name] = (steps_now * mean - steps_before * before) / (steps_now - steps_before)
        step = (self.rows[-1]["step"] if self.rows else 0) + steps_now - steps_before
        self.rows.append({"step": step, "epoch": self._epoch, **values})
        self._previous_means = means
        self._previous_batch = batch

    def on_epoch_end(self, epoch, logs=None):
        self.save()

    def save(self):
        """Writes the CSV (and the plot) now."""
        if not self.rows:
            return
        self.write_csv()
        if self.plot_path is not None:
            plot_losses(self.rows, self.plot_path, self.smoothing)

    def write_csv(self):
        """Writes the CSV only: what a checkpoint needs to resume from its step (drawing the
        plot takes 0.4 s or more, so a checkpoint every few steps leaves it to the epoch end).
        Rows already written as they are (the epoch end's checkpoint) are not written again."""
        if not self.rows or self._written == len(self.rows):
            return
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        fields = list(dict.fromkeys(key for row in self.rows for key in row))
        write_csv(self.csv_path, self.rows, fields)
        self._written = len(self.rows)


class SaveModels(keras.callbacks.Callback):
    """Saves the run folder's `generator.keras` and `dcgan.keras` together after every epoch.

    Both files come from the same epoch (see `RunFolder.save_models`).

    Args:
        run_dir: the run folder.

    Example:
        >>> gan.fit(dataset, epochs=5, callbacks=[SaveModels("runs/mine")])
    """

    def __init__(self, run_dir: str | Path):
        super().__init__()
        self.run_folder = RunFolder(run_dir)
        self.last_saved_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        # Weights that went NaN or infinite never replace the last good pair (DivergenceGuard
        # stops the run and says so).
        if all_weights_finite(self.model):
            self.run_folder.save_models(self.model)
            self.last_saved_epoch = epoch + 1


class ModelCardWriter(keras.callbacks.Callback):
    """Rewrites the run folder's MODEL_CARD.md and .json after every epoch whose models were saved.

    The card holds the config, the data, the training time so far (a resumed run adds to the
    card it finds), this machine, and the latest scores: those of evaluate.py (evaluation.json)
    or else of `--eval-every` (an `evaluator`'s latest).

    Args:
        run_dir: the run folder.
        config: the run's `TrainConfig`.
        num_images: the training images.
        steps_per_epoch: batches in each epoch.
        saver: the run's `SaveModels` (the card follows the models it saved).
        evaluator: the run's `PeriodicEvaluation`, if any.
    """

    def __init__(self, run_dir: str | Path, config, num_images: int, steps_per_epoch: int,
                 saver: "SaveModels", evaluator=None):
        super().__init__()
        self.run_folder = RunFolder(run_dir)
        self.config, self.num_images, self.steps_per_epoch = config, num_images, steps_per_epoch
        self.saver, self.evaluator = saver, evaluator
        earlier = model_card.read_card(self.run_folder.path)
        self.earlier_seconds = ((earlier.get("training") or {}).get("seconds", 0.0)
                                if earlier else 0.0)
        self._start = None

    def on_train_begin(self, logs=None):
        if self._start is None:  # a resumed run's fit may be called twice; time from the first
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.saver.last_saved_epoch != epoch + 1:
            return
        seconds = self.earlier_seconds + time.perf_counter() - self._start
        card = model_card.run_card(
            dataclasses.asdict(self.config), self.num_images, epoch + 1,
            (epoch + 1) * self.steps_per_epoch, seconds, self.config.precision,
            self._metrics(epoch + 1))
        model_card.write_card(self.run_folder.path, card)

    def _metrics(self, epochs_done):
        try:
            evaluation = json.loads(self.run_folder.evaluation_path.read_text())
            return model_card.metrics_from_evaluation(evaluation)
        except (OSError, ValueError):
            pass
        latest = getattr(self.evaluator, "latest", None)
        if latest is None:
            return None
        return {"scores": latest.as_dict(), "extractor": self.evaluator.extractor.name,
                "num_generated": self.evaluator.num_images, "reference": "the test split",
                "num_reference": None,
                "source": f"train.py --eval-every {self.evaluator.every_epochs} (metrics.csv)"}


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of each epoch in `seconds` (the first includes graph tracing).

    Example:
        >>> timer = EpochTimer()
        >>> gan.fit(dataset, epochs=3, callbacks=[timer])
        >>> timer.seconds
        [71.2, 62.8, 62.9]
    """

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class RunProgress(StepCounter):
    """After each epoch, one line on the whole run: the epoch's time and speed, the steps done of
    the run's total, and the time left, e.g.

        epoch 12/50: 31.2 s, 121 images/s; step 708 of 2,950 (24%); about 18 min to go (mixed_bfloat16)

    The same line on a terminal and in a log file (Keras' own lines cover one epoch only). The time
    left is the remaining steps at the mean time per step of this process's epochs, leaving out
    the first (graph tracing) once there are others; it includes the epochs' callbacks. The steps
    are those run: an epoch cut short (Ctrl-C) shows its own speed and the step it stopped at.

    Args:
        timer: the run's `EpochTimer`, placed before this callback.
        epochs: int. The run's last epoch.
        steps_per_epoch: int. Batches in a whole epoch.
        batch_size: int. Images in each batch.
        precision: str. The precision the run trains in.
        write: where the line goes (default: `print`, flushed).
        start_step: int. Steps done before this `fit` (a resumed run's checkpoint step).
    """

    def __init__(self, timer: EpochTimer, epochs: int, steps_per_epoch: int, batch_size: int,
                 precision: str, write=None, start_step: int = 0):
        super().__init__(start_step)
        self.timer, self.epochs, self.steps_per_epoch = timer, epochs, steps_per_epoch
        self.batch_size, self.precision = batch_size, precision
        self.write = write or (lambda line: print(line, flush=True))
        self._steps = []  # steps of each epoch timed by `timer` in this process
        self._pending = None  # (the finished epoch, the run's step) whose line is not written yet
        self._epoch_start = start_step

    def on_epoch_end(self, epoch, logs=None):
        self._steps.append(self.step - self._epoch_start)
        self._pending = epoch, self.step
        # Written when the next epoch begins or training ends: after Keras' own line for it.

    def on_epoch_begin(self, epoch, logs=None):
        self._write_pending()
        self._epoch_start = self.step

    def on_train_end(self, logs=None):
        self._write_pending()

    def _write_pending(self):
        pending, self._pending = self._pending, None
        if pending is None:
            return
        epoch, done = pending
        steps, seconds = self._steps[-1], self.timer.seconds[-1]
        total = self.epochs * self.steps_per_epoch
        timed = slice(1, None) if len(self._steps) > 1 else slice(None)
        per_step = sum(self.timer.seconds[timed]) / max(1, sum(self._steps[timed]))
        left = "done" if done >= total else (
            f"about {_duration(per_step * (total - done))} to go")
        self.write(f"epoch {epoch + 1}/{self.epochs}: {seconds:.1f} s, "
                   f"{steps * self.batch_size / seconds:.0f} images/s; step {done:,} of "
                   f"{total:,} ({100 * done / total:.0f}%); {left} ({self.precision})")


def _duration(seconds: float) -> str:
    """'40 s', '18 min', '2 h 05 min'."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class TensorBoardLogger(keras.callbacks.Callback):
    """Writes every logged metric at every step, and the sample grid every epoch, for TensorBoard.

    Keras' own TensorBoard callback draws weights, not samples; this one writes, with
    `tf.summary` into `log_dir`, each step's own metric values (as `LossHistory` computes them;
    pass that callback, placed before this one) and an image of the generator's grid from fixed
    noise at each epoch's end. View with `tensorboard --logdir RUN/logs`.

    Args:
        log_dir: the event file folder.
        history: the run's `LossHistory`, whose newest row is written at each step.
        num_images: images in the grid.
        seed: seed of the grid's fixed noise (the same grid as `SampleGrid`'s).
    """

    def __init__(self, log_dir, history, num_images: int = 64, seed: int = 0):
        super().__init__()
        self.log_dir = str(log_dir)
        self.history = history
        self.num_images = num_images
        self.seed = seed
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = self.writer or tf.summary.create_file_writer(self.log_dir)

    def on_train_batch_end(self, batch, logs=None):
        for row in self.history.rows[-len(executed_logs(self.model) or [logs]):]:
            with self.writer.as_default(step=row["step"]):
                for name, value in row.items():
                    if name not in ("step", "epoch"):
                        tf.summary.scalar(name, value)

    def on_epoch_end(self, epoch, logs=None):
        grid = sample_grid(self.model, self.num_images, self.seed)
        if grid is None:
            return
        grid = grid[..., np.newaxis] if grid.ndim == 2 else grid
        with self.writer.as_default(step=epoch + 1):
            tf.summary.image("samples", grid[np.newaxis], max_outputs=1)
        self.writer.flush()
