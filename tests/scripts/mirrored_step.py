"""One DCGAN step under MirroredStrategy over 2 logical CPUs; prints the logs as JSON.

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

from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    gan = DCGAN(build_generator(16, 1, latent_dim=8, base_filters=4, seed=1),
                build_discriminator(16, 1, base_filters=4, seed=2), latent_dim=8, seed=3)
    gan.compile()
images = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 1)).astype("float32")
history = gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(16).take(1), epochs=1,
                  verbose=0)
logs = {name: values[0] for name, values in history.history.items()}
logs["d_iterations"] = int(gan.d_optimizer.iterations.numpy())
logs["g_iterations"] = int(gan.g_optimizer.iterations.numpy())
print(json.dumps(logs))
