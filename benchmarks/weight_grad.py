"""The strided convolutions' backward passes in bfloat16 (and float32), in the forms tried.

oneDNN's profile of the bf16 step (`benchmarks/onednn_profile.py`) puts most of it in the
convolutions; on a CPU without AMX its bf16 weight-gradient kernel is slower than its forward
kernel. This script times, per layer shape of the DCGAN's D (kernel 4, stride 2, "same"; the 64x64
network's four, the default 28x28 network's two) and so of G's transposed convolutions (the same
gradients with input and output swapped), TensorFlow's own `Conv2DBackpropFilter` (the reference)
against other ways of computing the same kernel gradient:

- `float32`: the bf16 tensors cast to float32 and the float32 kernel run (cast cost included);
- `patches`: the gradient as one matrix product, `extract_patches(x)^T @ dy`, in bf16;
- `space-to-depth`: the same convolution as a stride-1 2x2 one over the padded input's 2x2
  blocks stacked as channels (`tf.nn.space_to_depth`), in bf16;
- `forward conv`: one forward convolution of the input with channels and batch swapped, by the
  output gradient dilated by the stride (`tf_dcgan.model.layers._kernel_gradient`, what
  `FastConv2D` runs in bf16 into an 8x8 or smaller map), in bf16.

Then the input (data) gradients (`Conv2DBackpropInput`, which G's transposed convolutions also
run forward), in bf16 and float32: TensorFlow's op against two forms with stride-1 kernels:
- `2x2 blocks`: the stride-1 2x2 transposed convolution into the output's 2x2 blocks stacked as
  channels, then `depth_to_space` (`tf_dcgan.model.layers._transpose_into_image`, what
  `FastConv2D` and `FastConv2DTranspose` run into an image of 4 channels or fewer);
- `sub-pixel`: one stride-1 2x2 forward convolution giving each output pixel's four phases as
  channels, then `depth_to_space`.

Each is a `tf.function`, timed alternately (median of `--repeats`, each the mean of 10 calls);
the relative error of each against the float32 gradient is printed beside it.

    python benchmarks/weight_grad.py
    python benchmarks/weight_grad.py --batch 128 --repeats 15
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_dcgan.model.layers import _kernel_gradient, _transpose_into_image  # noqa: E402

from arithmetic import cpu_line  # noqa: E402

KERNEL, STRIDE = 4, 2
# (input height, input channels, output channels) of each strided convolution's weight gradient:
# D's four at 64x64, then G's transposed ones seen as convolutions of their output gradient.
SHAPES = {
    "D down1 64x64x3 -> 32x32x64": (64, 3, 64),
    "D down2 32x32x64 -> 16x16x128": (32, 64, 128),
    "D down3 16x16x128 -> 8x8x256": (16, 128, 256),
    "D down4 8x8x256 -> 4x4x512": (8, 256, 512),
    "G up1 4x4x512 -> 8x8x256": (8, 256, 512),
    "G up2 8x8x256 -> 16x16x128": (16, 128, 256),
    "G up3 16x16x128 -> 32x32x64": (32, 64, 128),
    "G up4 32x32x64 -> 64x64x3": (64, 3, 64),
    "28x28 D down1 28x28x1 -> 14x14x64": (28, 1, 64),
    "28x28 D down2 14x14x64 -> 7x7x128": (14, 64, 128),
}
# The input gradients timed: D's layers (G's transposed convolutions run the same op forward).
DATA_SHAPES = [label for label in SHAPES if "D down" in label]


def native(x, dy):
    return tf.raw_ops.Conv2DBackpropFilter(
        input=x, filter_sizes=[KERNEL, KERNEL, x.shape[-1], dy.shape[-1]], out_backprop=dy,
        strides=[1, STRIDE, STRIDE, 1], padding="SAME")


def in_float32(x, dy):
    return tf.cast(native(tf.cast(x, tf.float32), tf.cast(dy, tf.float32)), x.dtype)


def patches(x, dy):
    columns = tf.image.extract_patches(x, [1, KERNEL, KERNEL, 1], [1, STRIDE, STRIDE, 1],
                                       [1, 1, 1, 1], "SAME")
    columns = tf.reshape(columns, [-1, KERNEL * KERNEL * x.shape[-1]])
    product = tf.linalg.matmul(columns, tf.reshape(dy, [-1, dy.shape[-1]]), transpose_a=True)
    return tf.reshape(product, [KERNEL, KERNEL, x.shape[-1], dy.shape[-1]])


def space_to_depth(x, dy):
    # "SAME" at kernel 4, stride 2 pads one row and column before and after an even input; the
    # output at o then reads padded rows 2o..2o+3, i.e. blocks o and o+1 of the 2x2 blocks.
    blocks = tf.nn.space_to_depth(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 2)
    channels, filters = x.shape[-1], dy.shape[-1]
    grad = tf.raw_ops.Conv2DBackpropFilter(
        input=blocks, filter_sizes=[2, 2, 4 * channels, filters], out_backprop=dy,
        strides=[1, 1, 1, 1], padding="VALID")
    # (block row, block column, row in block, column in block, channel, filter) -> 4x4 kernel.
    grad = tf.reshape(grad, [2, 2, 2, 2, channels, filters])
    return tf.reshape(tf.transpose(grad, [0, 2, 1, 3, 4, 5]), [KERNEL, KERNEL, channels, filters])


def forward_conv(x, dy):
    return _kernel_gradient(x, dy, [KERNEL, KERNEL, x.shape[-1], dy.shape[-1]], (STRIDE, STRIDE))


def timed(functions, arguments, repeats):
    """Median ms per call of each function, alternating, each timing the mean of 10 calls."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, f in functions.items():
            start = time.perf_counter()
            for _ in range(10):
                result = f(*arguments)
            result.numpy()
            times[name].append(100 * (time.perf_counter() - start))
    return {name: float(np.median(spent)) for name, spent in times.items()}


def data_native(dy, kernel, shape):
    """The input gradient as the step runs it (also G's transposed convolution's forward pass)."""
    return tf.raw_ops.Conv2DBackpropInput(input_sizes=shape, filter=kernel, out_backprop=dy,
                                          strides=[1, STRIDE, STRIDE, 1], padding="SAME")


def sub_pixel(dy, kernel):
    """The transposed convolution as a forward one: output row 2u + p reads input rows u - 1 + p
    and u + p through kernel rows 3 - p and 1 - p; the four phases as channels, then pixels."""
    channels, filters = kernel.shape[2], kernel.shape[3]
    taps = tf.constant([[3, 2], [1, 0]])  # [tap][phase]
    sub = tf.gather(tf.gather(kernel, taps, axis=0), taps, axis=2)  # (tap, p, tap, q, C, F)
    sub = tf.reshape(tf.transpose(sub, [0, 2, 5, 1, 3, 4]), [2, 2, filters, 4 * channels])
    phases = tf.nn.conv2d(dy, sub, 1, [[0, 0], [1, 1], [1, 1], [0, 0]])
    height, width = dy.shape[1], dy.shape[2]
    parts = [phases[:, p:p + height, q:q + width, (2 * p + q) * channels:(2 * p + q + 1) * channels]
             for p in (0, 1) for q in (0, 1)]
    return tf.nn.depth_to_space(tf.concat(parts, axis=-1), 2)


def time_data_gradients(args, rng):
    """The input gradient of D's layers (G's transposed convolutions run the same op forward,
    mirrored): TensorFlow's op against the 2x2-blocks and the sub-pixel forms."""
    for dtype in (tf.bfloat16, tf.float32):
        print(f"\ninput (data) gradient, {dtype.name}, ms:")
        for label in DATA_SHAPES:
            size, cin, cout = SHAPES[label]
            dy = tf.cast(rng.normal(size=(args.batch, size // 2, size // 2, cout)), dtype)
            kernel = tf.cast(rng.normal(size=(KERNEL, KERNEL, cin, cout)), dtype)
            shape = [args.batch, size, size, cin]
            functions = {"TF op": tf.function(lambda a, b: data_native(a, b, shape)),
                         "2x2 blocks": tf.function(_transpose_into_image),
                         "sub-pixel": tf.function(sub_pixel)}
            exact = data_native(tf.cast(dy, tf.float32), tf.cast(kernel, tf.float32), shape)
            errors = {name: float(tf.reduce_max(tf.abs(tf.cast(f(dy, kernel), tf.float32) - exact))
                                  / tf.reduce_max(tf.abs(exact))) for name, f in functions.items()}
            medians = timed(functions, (dy, kernel), args.repeats)
            print(f"{label:36s} " + "   ".join(
                f"{name} {medians[name]:7.2f} (err {errors[name]:.0e})" for name in functions),
                flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"{cpu_line()}; batch {args.batch}, median of {args.repeats}, ms per gradient")
    rng = np.random.default_rng(0)
    variants = {"TF op bf16": native, "float32": in_float32, "patches bf16": patches,
                "space-to-depth bf16": space_to_depth, "forward conv bf16": forward_conv}
    functions = {name: tf.function(f) for name, f in variants.items()}
    totals, best = dict.fromkeys(variants, 0.0), 0.0
    for label, (size, cin, cout) in SHAPES.items():
        x32 = tf.constant(rng.normal(size=(args.batch, size, size, cin)), tf.float32)
        dy32 = tf.constant(rng.normal(size=(args.batch, size // 2, size // 2, cout)), tf.float32)
        x, dy = tf.cast(x32, tf.bfloat16), tf.cast(dy32, tf.bfloat16)
        exact = native(tf.cast(x, tf.float32), tf.cast(dy, tf.float32))
        scale = float(tf.reduce_max(tf.abs(exact)))
        errors = {name: float(tf.reduce_max(tf.abs(tf.cast(f(x, dy), tf.float32) - exact)))
                  for name, f in functions.items()}
        medians = timed(functions, (x, dy), args.repeats)
        for name in variants:
            totals[name] += medians[name]
        best += min(medians.values())
        print(f"{label:36s} " + "   ".join(
            f"{name} {medians[name]:7.2f} (err {errors[name] / scale:.0e})" for name in variants),
            flush=True)
    print("all: " + ", ".join(f"{name} {total:.1f} ms" for name, total in totals.items())
          + f"; the fastest of each: {best:.1f} ms")
    time_data_gradients(args, rng)


if __name__ == "__main__":
    main()
