"""Keras callbacks for a DCGAN run: sample grids, the training GIF, loss curves, saving, timing.

Each works with any `fit` of a `DCGAN` (or, for `LossHistory` and `EpochTimer`, of any Keras
model), so a user's own training code gets the same outputs as `train.py`. Every file is written
to a temporary name and renamed into place.
"""

import csv
import math
import signal
import threading
import time
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.files import atomic_output
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.transforms import to_uint8


def image_grid(images, columns=None, padding=2):
    """Tiles images in [-1, 1] of shape (N, H, W, C) into one uint8 grid image.

    Args:
        images: array-like of shape (N, H, W, C), values in [-1, 1].
        columns: images per row; default the ceiling of sqrt(N).
        padding: pixels of black between images and around the grid.

    Returns:
        A uint8 array of shape (rows*(H+p)+p, columns*(W+p)+p) for C == 1, else with C channels.
    """
    images = np.asarray(to_uint8(images))
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid[..., 0] if channels == 1 else grid


def _upscale(grid, factor):
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1) if factor > 1 else grid


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
        scale: integer upscaling of the saved grid (nearest neighbour), for small images.

    Example:
        >>> gan.fit(dataset, epochs=5, callbacks=[SampleGrid("run/samples")])
    """

    def __init__(self, directory, num_images=64, seed=0, scale=1):
        super().__init__()
        self.directory = Path(directory)
        self.num_images = num_images
        self.seed = seed
        self.scale = scale

    def on_epoch_end(self, epoch, logs=None):
        self.directory.mkdir(parents=True, exist_ok=True)
        inputs, columns = self.model.latent.grid(self.num_images, self.seed)
        images = np.asarray(self.model.sampler(inputs, training=False))
        if not np.isfinite(images).all():
            return  # a diverged generator: no black grid (DivergenceGuard reports it)
        grid = _upscale(image_grid(images, columns), self.scale)
        with atomic_output(self.directory / f"epoch_{epoch + 1:03d}.png") as tmp:
            iio.imwrite(tmp, grid)


class TrainingGif(keras.callbacks.Callback):
    """Assembles the sample grids of a folder, in epoch order, into an animated GIF.

    The GIF is rewritten at the end of every epoch, so a run that stops early still has one; it
    holds every `epoch_*.png` in `sample_dir` in the order of their epoch numbers (epoch 1000
    after 999), including those of earlier, resumed runs. The grids already there are read once,
    when training begins; after that each epoch reads only its own new grid. Put it after
    `SampleGrid` in the callback list.

    Args:
        sample_dir: folder of `epoch_NNN.png` grids (as written by `SampleGrid`).
        path: the GIF to write.
        frame_seconds: how long each epoch's frame shows; the last frame shows three times longer.
    """

    def __init__(self, sample_dir, path, frame_seconds=0.5):
        super().__init__()
        self.sample_dir = Path(sample_dir)
        self.path = Path(path)
        self.frame_seconds = frame_seconds
        self.frames = {}

    def on_train_begin(self, logs=None):
        self.frames = {_epoch_number(p): iio.imread(p) for p in self.sample_dir.glob("epoch_*.png")
                       if _epoch_number(p) is not None}

    def on_epoch_end(self, epoch, logs=None):
        grid = self.sample_dir / f"epoch_{epoch + 1:03d}.png"
        if grid.is_file():
            self.frames[epoch + 1] = iio.imread(grid)
        if self.frames:
            write_gif([self.frames[number] for number in sorted(self.frames)], self.path,
                      self.frame_seconds)


def _epoch_number(path):
    """1000 for `epoch_1000.png`, None for names that are not sample grids."""
    digits = Path(path).stem.removeprefix("epoch_")
    return int(digits) if digits.isdigit() else None


def write_gif(frames, path, frame_seconds=0.5):
    """Writes frames (uint8 arrays of one size) into an animated, looping GIF, atomically."""
    if not len(frames):
        return
    frames = np.stack(frames)
    durations = [frame_seconds * 1000] * len(frames)
    durations[-1] *= 3
    # Pillow takes a list of durations only for several frames.
    duration = durations if len(durations) > 1 else durations[0]
    with atomic_output(path) as tmp:
        iio.imwrite(tmp, frames, extension=".gif", duration=duration, loop=0)


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

    def __init__(self, csv_path, plot_path=None, smoothing=0.98, append=False, resume_step=None):
        super().__init__()
        self.resume_step = resume_step
        self.csv_path = Path(csv_path)
        self.plot_path = None if plot_path is None else Path(plot_path)
        self.smoothing = smoothing
        self.append = append
        self.rows = []
        self._epoch = 0
        self._previous_means = None
        self._previous_batch = -1

    def on_train_begin(self, logs=None):
        self.rows = self._read_existing() if self.append else []
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
        logs = logs or {}
        means = {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}
        steps_now = batch + 1
        steps_before = self._previous_batch + 1
        values = {}
        for name, mean in means.items():
            before = self._previous_means.get(name, 0.0) if self._previous_means else 0.0
            # The mean of the steps since the last log (one step unless steps_per_execution > 1).
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
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_output(self.csv_path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=fields)
                writer.writeheader()
                writer.writerows(self.rows)
        if self.plot_path is not None:
            plot_losses(self.rows, self.plot_path, self.smoothing)


def _smooth(values, weight):
    """Exponential moving average, debiased as TensorBoard does, so early steps do not lag."""
    smoothed, last = [], 0.0
    for count, value in enumerate(values, start=1):
        last = weight * last + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


def plot_losses(rows, path, smoothing=0.98):
    """Plots D's and G's loss per step (thin) with a moving average (bold), and D(x), D(G(z)).

    Args:
        rows: dicts with a `step` key and `d_loss`/`g_loss` (and optionally `d_real`/`d_fake`).
        path: the PNG to write (atomically).
        smoothing: weight of the exponential moving average.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in rows]
    has_probabilities = all("d_real" in row and "d_fake" in row for row in rows)
    figure, axes = plt.subplots(
        2 if has_probabilities else 1, 1, figsize=(10, 7 if has_probabilities else 4.5),
        sharex=True, squeeze=False,
    )
    top = axes[0][0]
    for name, label, color in (("d_loss", "D loss", "tab:blue"), ("g_loss", "G loss", "tab:orange")):
        if all(name in row for row in rows):
            values = [row[name] for row in rows]
            top.plot(steps, values, color=color, alpha=0.25, linewidth=0.6)
            top.plot(steps, _smooth(values, smoothing), color=color, linewidth=1.8, label=label)
    top.set_ylabel("loss")
    top.set_title("Discriminator and generator loss during training")
    top.legend()
    top.grid(alpha=0.3)
    if has_probabilities:
        bottom = axes[1][0]
        for name, label, color in (("d_real", "D(x)", "tab:green"), ("d_fake", "D(G(z))", "tab:red")):
            values = [row[name] for row in rows]
            bottom.plot(steps, values, color=color, alpha=0.25, linewidth=0.6)
            bottom.plot(steps, _smooth(values, smoothing), color=color, linewidth=1.8, label=label)
        bottom.set_ylabel("mean probability")
        bottom.set_ylim(0, 1)
        bottom.legend()
        bottom.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step")
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)


class SaveModels(keras.callbacks.Callback):
    """Saves the run folder's `generator.keras` and `dcgan.keras` together after every epoch.

    Both files come from the same epoch (see `RunFolder.save_models`).

    Args:
        run_dir: the run folder.

    Example:
        >>> gan.fit(dataset, epochs=5, callbacks=[SaveModels("runs/mine")])
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_folder = RunFolder(run_dir)
        self.last_saved_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        # Weights that went NaN or infinite never replace the last good pair (DivergenceGuard
        # stops the run and says so).
        if all_weights_finite(self.model):
            self.run_folder.save_models(self.model)
            self.last_saved_epoch = epoch + 1


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


def all_weights_finite(model):
    """Whether every weight of `model` is finite (no NaN, no infinity)."""
    return all(np.isfinite(np.asarray(weight)).all() for weight in model.weights)


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first non-finite loss, and warns once when D wins outright.

    A NaN or infinite logged metric stops `fit` at the end of that step and is recorded in
    `diverged` (epoch, step counted from the start of training, and the metrics concerned), so the
    caller can name it; `SaveModels` and `SampleGrid` leave non-finite models unsaved and unseen.
    A sustained collapse (over `window` steps of an epoch, D(G(z)) below 0.01 and D's loss below
    0.05, so G gets almost no gradient) prints one warning with what to try.

    Args:
        window: steps of evidence before warning of a collapse.
        print_fn: where the warning goes.
        start_step: steps done before this `fit` (a resumed run's), for the step it names.

    Example:
        >>> guard = DivergenceGuard()
        >>> gan.fit(dataset, epochs=5, callbacks=[guard])
        >>> guard.diverged  # None, or {"epoch": 3, "step": 1207, "metrics": {"g_loss": nan}}
    """

    def __init__(self, window=200, print_fn=print, start_step=0):
        super().__init__()
        self.window = window
        self.print_fn = print_fn
        self.diverged = None
        self.collapse_warned = False
        self._epoch = 0
        self._step = start_step

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        values = {name: float(value) for name, value in (logs or {}).items()
                  if np.ndim(value) == 0}
        bad = {name: value for name, value in values.items() if not math.isfinite(value)}
        if bad:
            self.diverged = {"epoch": self._epoch, "step": self._step, "metrics": bad}
            self.model.stop_training = True
            return
        # Keras logs running means over the epoch so far: after `window` steps they describe
        # a stretch, not one unlucky batch.
        if (not self.collapse_warned and batch + 1 >= self.window
                and values.get("d_fake", 1.0) < 0.01 and values.get("d_loss", 1.0) < 0.05):
            self.collapse_warned = True
            self.print_fn(
                f"warning: the discriminator wins outright (epoch {self._epoch}, step "
                f"{self._step}: D(G(z)) {values['d_fake']:.4f}, d_loss {values['d_loss']:.4f}, "
                f"g_loss {values.get('g_loss', float('nan')):.2f}); the generator gets almost no "
                "gradient. Try --d-update joint, a lower --learning-rate, or another --seed."
            )


class StopOnSignal(keras.callbacks.Callback):
    """Turns Ctrl-C (SIGINT) and SIGTERM into a clean stop at the end of the current step.

    While `fit` runs, the first signal sets `received` and stops training after the step in
    progress; Keras then runs every callback's `on_epoch_end`, so grids, losses, models and a
    checkpoint of that step are written. A second signal acts as usual (immediate exit).

    Example:
        >>> stop = StopOnSignal()
        >>> gan.fit(dataset, epochs=20, callbacks=[stop, Checkpointer(...)])
        >>> stop.received  # None, signal.SIGINT or signal.SIGTERM
    """

    def __init__(self, signals=(signal.SIGINT, signal.SIGTERM)):
        super().__init__()
        self.signals = signals
        self.received = None
        self._saved = {}

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():
            self._saved = {number: signal.signal(number, self._handle) for number in self.signals}

    def on_train_end(self, logs=None):
        for number, handler in self._saved.items():
            signal.signal(number, handler)
        self._saved = {}

    def _handle(self, number, frame):
        if self.received is not None:
            self.on_train_end()
            signal.raise_signal(number)
            return
        self.received = signal.Signals(number)

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.model.stop_training = True


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

    def __init__(self, log_dir, history, num_images=64, seed=0):
        super().__init__()
        self.log_dir = str(log_dir)
        self.history = history
        self.num_images = num_images
        self.seed = seed
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = self.writer or tf.summary.create_file_writer(self.log_dir)

    def on_train_batch_end(self, batch, logs=None):
        row = self.history.rows[-1]
        with self.writer.as_default(step=row["step"]):
            for name, value in row.items():
                if name not in ("step", "epoch"):
                    tf.summary.scalar(name, value)

    def on_epoch_end(self, epoch, logs=None):
        inputs, columns = self.model.latent.grid(self.num_images, self.seed)
        images = np.asarray(self.model.sampler(inputs, training=False))
        if not np.isfinite(images).all():
            return
        grid = image_grid(images, columns)
        grid = grid[..., np.newaxis] if grid.ndim == 2 else grid
        with self.writer.as_default(step=epoch + 1):
            tf.summary.image("samples", grid[np.newaxis], max_outputs=1)
        self.writer.flush()
