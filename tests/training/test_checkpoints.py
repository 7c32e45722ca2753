"""Checkpoints are found by the index TensorFlow writes and, when it is damaged, by their files;
the losses they resume from are on disk with them."""

import csv

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.config import TrainConfig
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.training import TrainingState
from tf_dcgan.training.checkpoints import listed_checkpoints
from tf_dcgan.training.run import run_callbacks


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


def test_a_checkpoint_every_n_steps_has_the_csv_to_its_step_and_a_stop_draws_the_plot(
        tiny_gan, tiny_images, tmp_path):
    folder = RunFolder(tmp_path / "run")
    gan = tiny_gan()
    state = TrainingState(gan, folder.checkpoints_dir)
    seen = {}

    class StopAfterTheCheckpoint(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:  # train.py's callbacks just wrote the checkpoint of step 2
                seen["rows"] = _steps(folder.losses_csv_path)
                seen["plot drawn"] = folder.losses_plot_path.exists()  # at epoch ends, stops
                self.model.stop_training = True  # as StopOnSignal does

    callbacks = run_callbacks(folder, TrainConfig(save_every_steps=2, num_samples=4, seed=0),
                              state).as_list()
    dataset = tf.data.Dataset.from_tensor_slices(tiny_images).batch(16)  # 4 steps an epoch
    gan.fit(dataset, epochs=1, verbose=0, callbacks=[*callbacks, StopAfterTheCheckpoint()])
    assert seen == {"rows": [1, 2], "plot drawn": False}
    assert (folder.checkpoints_dir / "ckpt-2.index").is_file()
    assert folder.losses_plot_path.is_file()  # the stop ended the epoch: the plot of steps 1-2
    assert _steps(folder.losses_csv_path) == [1, 2]


def _steps(path):
    with open(path, newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]
