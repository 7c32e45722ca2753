"""Several training steps per call (`steps_per_execution`): the same training, every step seen."""

import csv

import numpy as np
import pytest
import tensorflow as tf

from tf_dcgan.config import TrainConfig
from tf_dcgan.training import run as training
from tf_dcgan.training.callbacks import LossHistory
from tf_dcgan.training.guards import DivergenceGuard


def _stream(images):
    return tf.data.Dataset.from_tensor_slices(images).batch(16, drop_remainder=True).repeat()


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class _Calls(DivergenceGuard):
    """Records (batch, steps run) of each call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        self.calls.append(len(self.model.executed_logs))


def test_k_steps_per_call_train_exactly_as_one_step_per_call(tiny_gan, tiny_images, tmp_path):
    results = {}
    for k in (1, 4):
        gan = tiny_gan(steps_per_execution=k)
        calls = _Calls()
        gan.fit(_stream(tiny_images), epochs=2, steps_per_epoch=7, verbose=0,
                callbacks=[calls, LossHistory(tmp_path / f"k{k}.csv")])
        results[k] = gan, calls
    (one, one_calls), (four, four_calls) = results[1], results[4]
    # Each epoch's last call is cut at the epoch's end: 7 steps, not 8.
    assert four_calls.calls == [4, 3, 4, 3] and one_calls.calls == [1] * 14
    assert int(four.g_optimizer.iterations) == 14 and four_calls.step == 14
    for a, b in zip(one.weights, four.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    one_rows, four_rows = _rows(tmp_path / "k1.csv"), _rows(tmp_path / "k4.csv")
    assert [int(r["step"]) for r in four_rows] == list(range(1, 15))
    assert [int(r["epoch"]) for r in four_rows] == [1] * 7 + [2] * 7
    for a, b in zip(one_rows, four_rows):
        for name in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert float(a[name]) == pytest.approx(float(b[name]), rel=1e-5, abs=1e-6), name


def test_a_nan_in_the_middle_of_a_call_stops_at_that_step(tiny_gan, tiny_images):
    images = np.concatenate([tiny_images] * 3)
    images[16 * 10:16 * 11] = np.nan  # the 11th batch: the 5th step of epoch 2's call
    gan = tiny_gan(steps_per_execution=8)
    guard = DivergenceGuard()
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(16), epochs=3, steps_per_epoch=6,
            verbose=0, callbacks=[guard])
    assert guard.diverged is not None
    assert guard.diverged["step"] == 11 and guard.diverged["epoch"] == 2
    # The call stopped after the step that went NaN: nothing trained past it.
    assert int(gan.g_optimizer.iterations) == 11


def test_train_on_batch_still_runs_one_step(tiny_gan, tiny_images):
    gan = tiny_gan(steps_per_execution=8)
    gan.train_on_batch(tiny_images[:16])
    assert int(gan.g_optimizer.iterations) == 1


@pytest.mark.parametrize("every, steps, start, expected", [
    (None, 937, 0, 16), (None, 937, 500, 16), (100, 937, 0, 1), (40, 120, 0, 8),
    (40, 120, 80, 8), (40, 120, 84, 4), (10, 40, 0, 2)])
def test_with_save_every_steps_every_call_ends_where_a_checkpoint_is_due(every, steps, start,
                                                                         expected):
    config = TrainConfig(steps_per_execution=16, save_every_steps=every)
    assert training.steps_per_execution(config, steps, start) == expected


def test_a_bad_steps_per_execution_is_one_line_with_the_fix():
    with pytest.raises(ValueError, match="steps_per_execution=0. Use e.g. --steps-per-execution 16"):
        TrainConfig(steps_per_execution=0).validate()
