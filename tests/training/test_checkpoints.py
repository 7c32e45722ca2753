"""Checkpoints are found by the index TensorFlow writes and, when it is damaged, by their files."""

import numpy as np

from tf_dcgan.training import TrainingState
from tf_dcgan.training.checkpoints import listed_checkpoints


def test_a_damaged_index_still_finds_and_restores_the_newest_checkpoint(tiny_gan, tiny_images,
                                                                        tmp_path):
    gan = tiny_gan()
    state = TrainingState(gan, tmp_path)
    state.save(3)
    gan.train_on_batch(tiny_images[:16])
    newest = [np.asarray(w) for w in gan.generator.weights]
    state.save(7)
    # A power loss right after the index's rename can leave it empty.
    (tmp_path / "checkpoint").write_text("")
    assert [path.rsplit("/", 1)[1] for path in listed_checkpoints(tmp_path)] == [
        "ckpt-3", "ckpt-7"]
    gan.train_on_batch(tiny_images[16:32])
    assert state.restore_newest() == 7
    for restored, saved in zip(gan.generator.weights, newest):
        np.testing.assert_array_equal(restored, saved)
