"""What `FastConv2D` / `FastConv2DTranspose` give the training step: our step against the same
step with Keras' own `Conv2D` / `Conv2DTranspose`, on the same CPU, in turn.

The networks are the library's (`build_generator`, `build_discriminator`: fused BatchNorm and the
Fast convolutions); the reference is a copy of them with Keras' convolutions in their place
(same weights, same everything else). Both are `DCGAN`s stepped through the compiled train
function `fit` calls, one step at a time in turn (A B, then B A, so that the host's drift hits
both alike); the table gives each one's median images/s and their ratio. The Fast layers
change the backward pass only where oneDNN runs another form faster (`tf_dcgan/model/layers.py`;
per-op times: `benchmarks/weight_grad.py`), so in float32 only the transposed convolution into
the image differs.

    python benchmarks/fast_convolutions.py                      # 28x28 and 64x64, batch 64
    python benchmarks/fast_convolutions.py --sizes 64 --batches 128 --precisions mixed_bfloat16
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.environment import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402
from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan.model import FastConv2D, FastConv2DTranspose, stock_copy  # noqa: E402
from arithmetic import cpu_line  # noqa: E402
from train_speed import CHANNELS, LATENT  # noqa: E402

CONVOLUTIONS = (FastConv2D, FastConv2DTranspose)  # swapped for Keras' own in the reference


def stepper(generator, discriminator, data):
    gan = DCGAN(generator, discriminator, latent_dim=LATENT, seed=3)
    gan.compile(jit_compile=False)
    gan.make_train_function()
    train_function = gan.train_function
    iterator = iter(tf.data.Dataset.from_tensor_slices(data).repeat())

    def step():
        # Steps run asynchronously until a value is read, as in fit's progress bar.
        float(train_function(iterator)["g_loss"])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64], choices=[28, 32, 64])
    parser.add_argument("--batches", type=int, nargs="+", default=[64])
    parser.add_argument("--precisions", nargs="+", default=["mixed_bfloat16", "float32"],
                        choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--cycles", type=int, default=30, help="steps of each, in turn")
    args = parser.parse_args()
    print(cpu_line())
    print("| size | batch | precision | ours (Fast convolutions) | Keras' convolutions | ratio |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        image_format = ImageFormat(size, CHANNELS[size])
        for batch in args.batches:
            data = np.random.default_rng(0).uniform(
                -1, 1, (4, batch, size, size, image_format.channels)).astype("float32")
            for precision in args.precisions:
                keras.backend.clear_session()
                dtype = None if precision == "float32" else precision
                generator = build_generator(image_format, LATENT, seed=1, dtype=dtype)
                discriminator = build_discriminator(image_format, seed=2, dtype=dtype)
                variants = {
                    "fast": stepper(generator, discriminator, data),
                    "keras": stepper(stock_copy(generator, kinds=CONVOLUTIONS),
                                     stock_copy(discriminator, kinds=CONVOLUTIONS), data)}
                for step in variants.values():
                    for _ in range(3):  # trace, build, warm up
                        step()
                seconds = {name: [] for name in variants}
                order = list(variants)
                for cycle in range(args.cycles):
                    for name in (order if cycle % 2 == 0 else order[::-1]):
                        start = time.perf_counter()
                        variants[name]()
                        seconds[name].append(time.perf_counter() - start)
                rate = {name: batch / statistics.median(spent) for name, spent in seconds.items()}
                print(f"| {size} | {batch} | {precision} | {rate['fast']:,.1f} | "
                      f"{rate['keras']:,.1f} | {rate['fast'] / rate['keras']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
