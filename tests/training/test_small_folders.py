"""A small folder's epoch is several passes over it, so that samples, checkpoints, evaluations
and the GIF come every 200 steps or so, not every few; the batches of each step do not depend on
how long an epoch is."""

import json

import numpy as np
import pytest

from tf_dcgan.checks import ImageFormat
from tf_dcgan import data
from tf_dcgan.config import TrainConfig
from tf_dcgan.training.run import prepare_run


def _source(count):
    images = np.random.default_rng(0).integers(0, 256, (count, 16, 16, 1), dtype=np.uint8)
    return data.ImageSource.from_arrays("test", images, np.arange(count))


def _labels(stream, steps):
    return [labels.numpy().tolist() for _, labels in stream.take(steps)]


@pytest.mark.parametrize("cache", ["memory", "none"])
def test_an_epoch_of_three_passes_trains_on_the_batches_of_three_one_pass_epochs(cache):
    source = _source(40)  # 5 batches of 8 a pass
    one_pass, steps = data.make_training_stream(source, ImageFormat(16, 1), 8, seed=0, cache=cache)
    assert steps == 5
    three_passes, steps = data.make_training_stream(source, ImageFormat(16, 1), 8, seed=0,
                                                    cache=cache, steps_per_epoch=15)
    assert steps == 15
    expected = _labels(one_pass, 15)
    assert _labels(three_passes, 15) == expected
    # Each pass is a new permutation of every image, and a resumed stream picks up mid-epoch.
    for start in (0, 5, 10):
        assert sorted(sum(expected[start:start + 5], [])) == list(range(40))
    assert expected[0] != expected[5]
    resumed, _ = data.make_training_stream(source, ImageFormat(16, 1), 8, seed=0, cache=cache,
                                           steps_per_epoch=15, start_step=7)
    assert _labels(resumed, 8) == expected[7:]


def test_a_shorter_epoch_still_cuts_the_pass_and_reshuffles():
    source = _source(40)
    capped, steps = data.make_training_stream(source, ImageFormat(16, 1), 8, seed=0,
                                              steps_per_epoch=2)
    assert steps == 2
    first, second = _labels(capped, 4)[:2], _labels(capped, 4)[2:]
    assert sorted(sum(first + second, [])) != list(range(32))  # two passes of 2 batches each
    assert sum(first, []) != sum(second, [])


@pytest.mark.parametrize("num_images, batch, expected", [
    (300, 64, 200),        # 4 steps a pass: 50 passes
    (3_812, 64, 236),      # the emoji: 59 steps a pass, 4 passes
    (9_600, 64, 300),      # 150 steps a pass: 2 passes
    (12_800, 64, None),    # 200 steps a pass: one pass an epoch
    (60_000, 64, None),    # Fashion-MNIST
    (63, 64, None),        # no full batch: refused elsewhere, not here
])
def test_the_default_epoch_is_the_fewest_whole_passes_making_200_steps(num_images, batch,
                                                                       expected):
    assert data.default_steps_per_epoch(num_images, batch) == expected


def test_a_new_run_records_its_epoch_and_a_resumed_run_keeps_the_recorded_one(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (300, 16, 16, 1), dtype=np.uint8)
    np.save(tmp_path / "small.npy", images)
    config = TrainConfig(dataset=str(tmp_path / "small.npy"), out=str(tmp_path / "run"), seed=0,
                         epochs=2)
    run = prepare_run(config)
    assert run.steps_per_epoch == 200 and run.config.steps_per_epoch == 200
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    assert recorded["steps_per_epoch"] == 200
    run.folder.release()
    # A run written before this rule (steps_per_epoch null) keeps one pass an epoch on resume.
    (tmp_path / "run" / "config.json").write_text(
        json.dumps({**recorded, "steps_per_epoch": None}))
    resumed = prepare_run(TrainConfig(out=str(tmp_path / "run")), resume=True)
    assert resumed.steps_per_epoch == 4
    # Given explicitly, the flag wins.
    given = prepare_run(TrainConfig(dataset=str(tmp_path / "small.npy"), seed=0,
                                    out=str(tmp_path / "given"), steps_per_epoch=40))
    assert given.steps_per_epoch == 40
