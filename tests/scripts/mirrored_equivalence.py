"""One DCGAN step on a global batch of 8 under MirroredStrategy over 2 logical CPUs, against the
same step on the same 8 images and noise without a strategy. Prints a JSON report.

Usage: mirrored_equivalence.py [--sync-batchnorm] [--hinge-joint]

--hinge-joint: the hinge loss and a joint D step (`--loss hinge --d-update joint`).

Run in its own process: logical devices must be set before TensorFlow runs any op, and a second
model trained under MirroredStrategy in one process crashes in the collectives.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402

SYNC = "--sync-batchnorm" in sys.argv
HINGE_JOINT = "--hinge-joint" in sys.argv
BATCH, LATENT = 8, 8
rng = np.random.default_rng(0)
IMAGES = rng.uniform(-1, 1, (BATCH, 16, 16, 1)).astype("float32")
NOISE = tf.constant(rng.normal(size=(BATCH, LATENT)).astype("float32"))


class FixedNoiseDCGAN(DCGAN):
    """The DCGAN step with the training noise taken from NOISE: replica r gets its r-th share."""

    def _training_noise(self, batch_size):
        context = tf.distribute.get_replica_context()
        start = tf.cast(context.replica_id_in_sync_group, tf.int32) * batch_size
        return tf.gather(NOISE, start + tf.range(batch_size))


def make_gan(cls=FixedNoiseDCGAN):
    gan = cls(build_generator(ImageFormat(16, 1), latent_dim=LATENT, base_filters=4, seed=1,
                              sync_batchnorm=SYNC),
              build_discriminator(ImageFormat(16, 1), base_filters=4, seed=2, sync_batchnorm=SYNC),
              latent_dim=LATENT, seed=3)
    gan.compile(**({"gan_loss": "hinge", "d_update": "joint"} if HINGE_JOINT else {}))
    return gan


def one_step(gan):
    # An endless stream read with steps_per_epoch, as train.py reads it: the step must train on
    # the stream's first batch.
    later = np.flip(IMAGES, axis=1)
    dataset = tf.data.Dataset.from_tensor_slices(np.concatenate([IMAGES, later]))
    dataset = dataset.batch(BATCH).repeat()
    weights = gan.generator.weights + gan.discriminator.weights
    before = [np.asarray(w) for w in weights]
    history = gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    after = [np.asarray(w) for w in weights]
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(after, before))
    return {name: values[0] for name, values in history.history.items()}, after, moved


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = make_gan()
mirrored_logs, mirrored_weights, _ = one_step(mirrored)

# Today's noise: each replica folds its id into the seed, so the replicas' noise differs; the
# fixed sample noise (a stateless function of its seed) is the same on every replica.
training_noise = strategy.experimental_local_results(
    strategy.run(lambda: DCGAN._training_noise(mirrored, 4)))
sample_noise = strategy.experimental_local_results(
    strategy.run(lambda: mirrored.latent.sample(4, 7)))

plain = make_gan()
plain_logs, plain_weights, step_size = one_step(plain)

print(json.dumps({
    "replicas": strategy.num_replicas_in_sync,
    "max_weight_difference": max(float(np.max(np.abs(a - b)))
                                 for a, b in zip(mirrored_weights, plain_weights)),
    "step_size": step_size,
    "log_difference": max(abs(mirrored_logs[k] - plain_logs[k]) for k in plain_logs),
    "mirrored_logs": mirrored_logs,
    "training_noise_differs": not np.allclose(training_noise[0], training_noise[1]),
    "sample_noise_equal": bool(np.array_equal(sample_noise[0], sample_noise[1])),
    "d_iterations": int(mirrored.d_optimizer.iterations.numpy()),
    "g_iterations": int(mirrored.g_optimizer.iterations.numpy()),
    # Each replica's copy of every D weight (kernels and power-iteration vectors) after the step.
    "replicas_agree": all(
        all(np.array_equal(copies[0], copy) for copy in copies)
        for copies in ([np.asarray(v) for v in strategy.experimental_local_results(w.value)]
                       for w in mirrored.discriminator.weights)),
}))
