"""Training speed of `DCGAN.fit` next to a hand-written `tf.function` loop of the same step.

The reference is the same three updates (D on real, D on generated, G through the updated D) on
the same networks, written as a plain TensorFlow training loop, as in the TensorFlow DCGAN tutorial.
Both run in this process, interleaved, on random batches (input cost excluded); the script prints
images/s for each and their ratio. Medians of `--repeats` rounds of `--steps` steps each.

    python benchmarks/train_speed.py                       # 28x28 (Fashion-MNIST) at batch 128
    python benchmarks/train_speed.py --image-size 64 --channels 3 --batch-size 64
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402


def reference_step_fn(generator, discriminator, latent_dim):
    """The TF-tutorial-style loop: separate D steps on real and fake, then G, no Keras fit."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
    d_vars, g_vars = discriminator.trainable_variables, generator.trainable_variables

    @tf.function
    def step(real):
        noise = tf.random.normal([tf.shape(real)[0], latent_dim])
        fake = generator(noise, training=True)
        with tf.GradientTape() as tape:
            logits = discriminator(real, training=True)
            loss = bce(tf.ones_like(logits), logits)
        d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            logits = discriminator(fake, training=True)
            loss = bce(tf.zeros_like(logits), logits)
        d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            logits = discriminator(generator(noise, training=True), training=True)
            loss = bce(tf.ones_like(logits), logits)
        g_opt.apply_gradients(zip(tape.gradient(loss, g_vars), g_vars))

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    def networks():
        return (build_generator(args.image_size, args.channels, seed=1),
                build_discriminator(args.image_size, args.channels, seed=2))

    gan = DCGAN(*networks(), seed=3)
    gan.compile()
    reference = reference_step_fn(*networks(), 100)
    batches = np.random.default_rng(0).uniform(
        -1, 1, (args.steps, args.batch_size, args.image_size, args.image_size, args.channels)
    ).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(batches).cache()

    def run_ours():
        gan.fit(dataset, epochs=1, verbose=0)

    def run_reference():
        for batch in dataset:
            reference(batch)

    timings = {"tf_dcgan DCGAN.fit": [], "reference tf.function loop": []}
    run_ours(), run_reference()  # trace and warm up
    for _ in range(args.repeats):
        for name, fn in (("tf_dcgan DCGAN.fit", run_ours),
                         ("reference tf.function loop", run_reference)):
            start = time.perf_counter()
            fn()
            timings[name].append(time.perf_counter() - start)

    images = args.steps * args.batch_size
    print(f"{args.image_size}x{args.image_size}x{args.channels}, batch {args.batch_size}, "
          f"{args.steps} steps x {args.repeats} rounds, TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPUs")
    rates = {}
    for name, seconds in timings.items():
        rates[name] = images / statistics.median(seconds)
        print(f"  {name:30s} {rates[name]:8.0f} images/s")
    ours, ref = rates.values()
    print(f"  ratio (ours / reference)       {ours / ref:8.2f}")


if __name__ == "__main__":
    main()
