"""The arithmetic of a DCGAN training step, and this CPU's rate for it: the floor under any
framework's step time, shared by `train_speed.py` and `op_profile.py`.

The floor is the step's multiply-adds in convolutions and dense layers (the rest of the step,
BatchNorm, activations, the optimizer, is memory traffic) timed at the rate of a large matrix
product in the same precision, measured in the same run: oneDNN's best kernel on its best
shape. No form of the step computes those multiply-adds faster, so `batch / floor` bounds the
images/s of our step and of PyTorch's on this CPU alike. `cpu_line` names the CPU and the flags
that decide bfloat16's speed, printed by every speed benchmark beside its figures.
"""

import math
import os
import time

import keras
import tensorflow as tf

from tf_dcgan.environment import cpu_flags


def cpu_line() -> str:
    """This CPU's model, core count and the flags that decide bfloat16's speed."""
    model, flags = cpu_flags()
    have = {"AVX-512": "avx512f", "AVX512_BF16": "avx512_bf16", "AMX-BF16": "amx_bf16"}
    return (f"CPU: {model or 'unknown'}, {os.cpu_count()} CPUs; "
            + ", ".join(f"{name} {'yes' if flag in flags else 'no'}"
                        for name, flag in have.items()))


def multiply_adds(layer) -> int:
    """Multiply-adds of one image through a convolution, transposed convolution or dense layer
    (its kernel gradient and its input gradient take as many); 0 for any other layer."""
    if isinstance(layer, keras.layers.Dense):
        return math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.Conv2DTranspose):  # each input pixel spreads a kernel
        return math.prod(layer.input.shape[1:3]) * math.prod(layer.kernel.shape)
    if isinstance(layer, keras.layers.Conv2D):
        return math.prod(layer.output.shape[1:3]) * math.prod(layer.kernel.shape)
    return 0


def step_flops(generator: keras.Model, discriminator: keras.Model) -> int:
    """Floating-point operations per image (2 per multiply-add) of one training step's
    convolutions and dense layers, in the three-tape step with G's forward pass computed once:

    - G: forward, kernel gradients and input gradients once each (none into the noise);
    - D: forward on the real batch, the generated batch, and the generated batch again for G's
      step; kernel gradients in its own two steps; input gradients in all three, except its
      first layer's (into the images), which only G's step needs.
    """
    g = [macs for macs in map(multiply_adds, generator.layers) if macs]
    d = [macs for macs in map(multiply_adds, discriminator.layers) if macs]
    return 2 * (3 * sum(g) - g[0] + 8 * sum(d) - 2 * d[0])


def matmul_rate(dtype, size: int = 2048, rounds: int = 5, calls: int = 5) -> float:
    """GFLOP/s of a `size` x `size` matrix product in `dtype` (TensorFlow, oneDNN), the best of
    `rounds` rounds of `calls` products: the practical ceiling for the step's arithmetic."""
    a = tf.cast(tf.random.normal((size, size)), dtype)
    product = tf.function(lambda a: tf.reduce_sum(tf.cast(tf.matmul(a, a)[:1, :1], tf.float32)))
    product(a).numpy()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            product(a).numpy()
        best = min(best, (time.perf_counter() - start) / calls)
    return 2 * size ** 3 / best / 1e9
