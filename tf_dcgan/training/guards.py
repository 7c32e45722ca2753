"""Guards of a training run: a non-finite loss stops it where it diverged, and SIGINT or SIGTERM
stop it cleanly at the end of the train function's call (within `steps_per_execution` steps),
with a checkpoint (the run then resumes exactly)."""

import math
import signal
import sys
import threading

import keras
import numpy as np

from tf_dcgan.training.callbacks import StepCounter, executed_logs


class DivergenceGuard(StepCounter):
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

    def __init__(self, window=200, print_fn=print, start_step: int = 0):
        super().__init__(start_step)
        self.window = window
        self.print_fn = print_fn
        self.diverged = None
        self.collapse_warned = False
        self._epoch = 0
        self._in_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        # A DCGAN's train function runs several steps per call and stops after the first whose
        # logs are not finite: that one is the last of `executed_logs`.
        for step_logs in executed_logs(self.model) or [logs or {}]:
            self.step += 1
            self._in_epoch += 1
            if self._check(step_logs):
                return

    def _check(self, logs):
        """True when these logs (one step's) stop training."""
        values = {name: float(value) for name, value in logs.items() if np.ndim(value) == 0}
        bad = {name: value for name, value in values.items() if not math.isfinite(value)}
        if bad:
            self.diverged = {"epoch": self._epoch, "step": self.step, "metrics": bad}
            self.model.stop_training = True
            return True
        # Keras logs running means over the epoch so far: after `window` steps they describe
        # a stretch, not one unlucky batch.
        if (not self.collapse_warned and self._in_epoch >= self.window
                and values.get("d_fake", 1.0) < 0.01 and values.get("d_loss", 1.0) < 0.05):
            self.collapse_warned = True
            self.print_fn(
                f"warning: the discriminator wins outright (epoch {self._epoch}, step "
                f"{self.step}: D(G(z)) {values['d_fake']:.4f}, d_loss {values['d_loss']:.4f}, "
                f"g_loss {values.get('g_loss', float('nan')):.2f}); the generator gets almost no "
                "gradient. Try --d-update joint, a lower --learning-rate, or another --seed."
            )


class StopOnSignal(keras.callbacks.Callback):
    """Turns Ctrl-C (SIGINT) and SIGTERM into a clean stop at the end of the current call.

    While `fit` runs, the first signal sets `received` and stops training after the call of the
    train function in progress (its `steps_per_execution` steps, 16 in train.py); Keras then runs
    every callback's `on_epoch_end`, so grids, losses, models and a checkpoint of that step are
    written. A second signal (an impatient second Ctrl-C) only says that the save is under way
    and how to skip it; a third acts as usual (immediate exit: `KeyboardInterrupt` for SIGINT),
    losing the steps since the last checkpoint.

    Example:
        >>> stop = StopOnSignal()
        >>> gan.fit(dataset, epochs=20, callbacks=[stop, Checkpointer(...)])
        >>> stop.received  # None, signal.SIGINT or signal.SIGTERM
    """

    def __init__(self, signals=(signal.SIGINT, signal.SIGTERM), print_fn=None):
        super().__init__()
        self.signals = signals
        self.received = None
        self.repeated = 0
        self.print_fn = print_fn or (lambda line: print(line, file=sys.stderr, flush=True))
        self._saved = {}

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():
            self._saved = {number: signal.signal(number, self._handle) for number in self.signals}

    def on_train_end(self, logs=None):
        for number, handler in self._saved.items():
            signal.signal(number, handler)
        self._saved = {}

    def _handle(self, number, frame):
        if self.received is None:
            self.received = signal.Signals(number)
            return
        self.repeated += 1
        if self.repeated == 1:
            self.print_fn(
                f"{signal.Signals(number).name} again: already stopping; the current step's "
                "checkpoint, models and grids are being written. Send it once more to quit at "
                "once, losing the steps since the last checkpoint.")
            return
        self.on_train_end()
        signal.raise_signal(number)

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.model.stop_training = True
