"""Keras' `fit` with several training steps per call: the one module that leans on how Keras
runs its training loop.

`MultiStepModel` is a `keras.Model` whose train function runs up to `steps_per_execution` steps
in one `tf.while_loop` (`make_train_function`), stops at the end of `fit`'s epoch and after the
first step whose logs are not finite, and keeps every step's logs for callbacks
(`executed_logs`). `DCGAN` is one.

What this module assumes of Keras, beyond its documented API (checked for `KERAS_CHECKED`; a test
fails with `check_keras_version`'s message on any other version): `fit` calls
`make_train_function()` once and then `train_function(iterator)` with an iterator over the
`tf.data` input, K steps at a time, numbering the calls by K (so the progress bar is clamped
here); `train_on_batch` calls the same function with a batch, not an iterator; and under a
`tf.distribute` strategy `fit` calls the private `_maybe_symbolic_build`, overridden here. When
Keras is upgraded, run tests/model/test_multi_step.py, tests/training/test_steps_per_execution.py
and tests/training/test_distribute.py, then add the version to `KERAS_CHECKED`.
"""

import keras
import tensorflow as tf

from tf_dcgan.distribute import is_multi_worker

# The Keras versions (major.minor) this module was written against and tested with.
KERAS_CHECKED = ("3.15",)


def check_keras_version(version: str = keras.__version__) -> None:
    """Raises RuntimeError, saying what to check, unless `version` is one of `KERAS_CHECKED`."""
    if ".".join(version.split(".")[:2]) not in KERAS_CHECKED:
        raise RuntimeError(
            f"tf_dcgan.model.multi_step was written for Keras {', '.join(KERAS_CHECKED)}; this is "
            f"Keras {version}. Check that fit still calls make_train_function and "
            "train_function(iterator) K steps at a time, that train_on_batch passes a batch, and "
            "that Trainer._maybe_symbolic_build still exists; run tests/model/test_multi_step.py, "
            "tests/training/test_steps_per_execution.py and tests/training/test_distribute.py; "
            "then add the version to KERAS_CHECKED."
        )


def mean_over_replicas(outputs: dict, strategy: tf.distribute.Strategy) -> dict:
    """A step's logs as one value each: the mean over the replicas (the first replica's on a
    TPU, where they are already equal), as Keras reduces a train step's outputs."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return tf.nest.map_structure(
            lambda value: strategy.experimental_local_results(value)[0], outputs)

    def reduce(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
        return value

    return tf.nest.map_structure(reduce, outputs)


class _ExecutedSteps:
    """What the train function's last call did: `logs`, one dict per step (or None)."""

    logs = None


class _EpochProgbar(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, never past the epoch's end.

    Keras numbers a call of K steps by its last step as if all K ran; the last call of an epoch
    may run fewer (`MultiStepModel.make_train_function`), and Keras' own bar then showed 112/100.
    """

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch if self.target is None else min(batch, self.target - 1),
                                   logs)


class MultiStepModel(keras.Model):
    """A `keras.Model` whose `fit` runs `steps_per_execution` steps per call of its train
    function, never past the end of an epoch of `steps_per_epoch` steps, and shows every step's
    logs to callbacks (`executed_logs`). Subclasses write `train_step` as usual.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # A plain holder: a list set on a Keras model would be tracked (and checkpointed).
        self._executed = _ExecutedSteps()
        self._epoch_length, self._steps_in_fit = None, 0

    @property
    def executed_logs(self) -> list[dict[str, float]] | None:
        """The logs of each step the train function's last call ran (Keras' running means over
        the epoch, one dict per step, oldest first); None after `train_on_batch` or before any
        `fit`. Callbacks read it to see every step when `steps_per_execution` > 1."""
        return self._executed.logs

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, K steps per call of the train function (see the class)."""
        self._epoch_length = kwargs.get("steps_per_epoch")
        self._steps_in_fit = 0
        callbacks = kwargs.get("callbacks")
        if (kwargs.get("verbose", "auto") != 0
                and (callbacks is None or isinstance(callbacks, list))
                and not any(isinstance(c, keras.callbacks.ProgbarLogger)
                            for c in callbacks or [])):
            kwargs["callbacks"] = [*(callbacks or []), _EpochProgbar()]
        return super().fit(x, *args, **kwargs)

    def make_train_function(self, force=False):
        """Keras' train function, run K = `steps_per_execution` steps at a time without Python.

        A call on a `tf.data` iterator runs up to K training steps in one `tf.while_loop` and
        returns the last step's logs (as Keras' own loop does), with three differences that keep
        a run's guarantees: it stops at the end of `fit`'s epoch (`steps_per_epoch`), so the
        last call of an epoch may run fewer steps; it stops after the first step whose logs are
        not finite, so a divergence stops training at the step it happened; and
        `executed_logs` is a list of every step's logs, so callbacks (`LossHistory`,
        `DivergenceGuard`, `Checkpointer`) still see each step. `train_on_batch` runs one step.
        """
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force=True)
        keras_function = self.train_function
        run_steps = self._multi_step_function()

        def function(iterator):
            if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
                self._executed.logs = None  # train_on_batch: Keras runs one step
                return keras_function(iterator)
            steps = self.steps_per_execution
            if self._epoch_length:
                steps = min(steps, self._epoch_length - self._steps_in_fit % self._epoch_length)
            logs, rows, done = run_steps(iterator, tf.constant(steps, tf.int32))
            done = int(done)
            self._steps_in_fit += done
            rows = {name: values.numpy() for name, values in rows.items()}
            self._executed.logs = [{name: float(values[i]) for name, values in rows.items()}
                                   for i in range(done)]
            return logs

        self.train_function = function
        return function

    def _multi_step_function(self):
        """A `tf.function(iterator, steps)` -> (last logs, {name: [done] values}, done)."""
        strategy = self.distribute_strategy
        multi_worker = is_multi_worker(strategy)

        def one_step(data):
            outputs = strategy.run(self.train_step, args=(data,))
            return mean_over_replicas(outputs, strategy)

        if not self.run_eagerly:
            one_step = tf.function(one_step, reduce_retracing=True, jit_compile=self.jit_compile)

        def finite(logs):
            return tf.reduce_all([tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32)))
                                  for v in logs.values()])

        def scalar(value):
            return tf.reduce_mean(tf.cast(value, tf.float32))

        def run_steps(iterator, steps):
            # The first step outside the loop gives the logs' structure (an exhausted finite
            # dataset raises OutOfRangeError here, which ends Keras' epoch).
            logs = one_step(iterator.get_next())
            rows = {name: tf.TensorArray(tf.float32, size=0, dynamic_size=True,
                                         element_shape=[]).write(0, scalar(value))
                    for name, value in logs.items()}

            def more(done, logs, rows, has_data):
                return tf.logical_and(tf.logical_and(done < steps, has_data), finite(logs))

            def step(done, logs, rows, has_data):
                if multi_worker:
                    # Collectives inside a tf.cond fail under MultiWorkerMirroredStrategy ("You
                    # must feed a value for placeholder"); train.py's stream never runs out.
                    new = one_step(iterator.get_next())
                    rows = {name: rows[name].write(done, scalar(new[name])) for name in rows}
                    return done + 1, new, rows, has_data
                optional = iterator.get_next_as_optional()

                def train():
                    new = one_step(optional.get_value())
                    return new, {name: rows[name].write(done, scalar(new[name])) for name in rows}

                has_data = optional.has_value()
                logs, rows = tf.cond(has_data, train, lambda: (logs, rows))
                return done + tf.cast(has_data, tf.int32), logs, rows, has_data

            done, logs, rows, _ = tf.while_loop(
                more, step, [tf.constant(1), logs, rows, tf.constant(True)])
            return logs, {name: array.stack() for name, array in rows.items()}, done

        return run_steps if self.run_eagerly else tf.function(run_steps, reduce_retracing=True)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a tf.distribute strategy, Keras' TF trainer (keras/src/backend/tensorflow/
        # trainer.py, `_maybe_symbolic_build`) reads one batch from a throwaway iterator and
        # reduces it across replicas to build compiled metrics and `self.optimizer`. Under
        # MultiWorkerMirroredStrategy that reduction fails on our (images, labels) batches
        # ("Attempt to convert a value (PerReplica...) ... to a Tensor"). A DCGAN has nothing to
        # build there: both networks are built, its optimizers are built in compile, and it has
        # no compiled metrics or loss. (A subclass that needs Keras' build does it in compile.)
        return
