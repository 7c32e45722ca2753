"""Where a training step's time goes, per TensorFlow op type: a profile from TensorFlow's profiler.

Runs our `DCGAN` step (`train_on_batch`, as `fit` runs it) for a few warm-up steps, then
`--steps` steps under `tf.profiler`, with TensorFlow running one op at a time (inter-op
parallelism 1), so the ops' times add up to the step. Prints, per op type, the milliseconds and
calls per step and the share of the step, largest first; the reference in the same run is the
step's wall time, measured without the profiler just before. `onednn_profile.py` splits the
oneDNN ops further (by primitive and kernel); this one also shows TensorFlow's own kernels (the
optimizer's element-wise updates, casts, transposes, LeakyReLU).

It ends with the step's arithmetic floor (`arithmetic.py`): the FLOPs of its convolutions and
dense layers at the rate of a large matrix product in the same precision, measured in the same
run, against the step, and the rate the step's convolution ops reached under the profiler.

    python benchmarks/op_profile.py                            # 64x64, batch 64, bf16
    python benchmarks/op_profile.py --size 28 --steps 40 --precision float32
"""

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.environment import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from tf_dcgan import DCGAN, build_discriminator, build_generator  # noqa: E402
from tf_dcgan.checks import ImageFormat  # noqa: E402

from arithmetic import cpu_line, matmul_rate, step_flops  # noqa: E402

CHANNELS = {28: 1, 32: 3, 64: 3}


def op_times(logdir):
    """ms per op type over the trace: the TensorFlow op events of the host's compute threads
    (named "scope:OpType")."""
    spent, calls = collections.Counter(), collections.Counter()
    for path in Path(logdir).rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            names = {key: meta.name for key, meta in plane.event_metadata.items()}
            for line in plane.lines:
                if not line.name.startswith("tf_Compute"):
                    continue
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    if ":" in name:
                        kind = name.rsplit(":", 1)[1]
                        spent[kind] += event.duration_ps / 1e9
                        calls[kind] += 1
    spent.pop("Process", None)  # the executor's span around the ops, not an op
    return spent, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, choices=sorted(CHANNELS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--precision", default="mixed_bfloat16",
                        choices=["float32", "mixed_bfloat16"])
    parser.add_argument("--top", type=int, default=25, help="op types listed")
    args = parser.parse_args()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    image_format = ImageFormat(args.size, CHANNELS[args.size])
    dtype = None if args.precision == "float32" else args.precision
    gan = DCGAN(build_generator(image_format, seed=0, dtype=dtype),
                build_discriminator(image_format, seed=0, dtype=dtype), seed=0)
    gan.compile(jit_compile=False)
    images = tf.random.uniform((args.batch, args.size, args.size, image_format.channels), -1, 1)
    for _ in range(3):
        gan.train_on_batch(images)
    start = time.perf_counter()
    for _ in range(args.steps):
        gan.train_on_batch(images)
    wall = 1000 * (time.perf_counter() - start) / args.steps
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(args.steps):
            gan.train_on_batch(images)
        tf.profiler.experimental.stop()
        spent, calls = op_times(logdir)
    total = sum(spent.values()) / args.steps
    print(cpu_line())
    print(f"{args.size}x{args.size}, batch {args.batch}, {args.precision}: {wall:.1f} ms a step "
          f"without the profiler; the ops under it {total:.1f} ms a step")
    print(f"{'op type':36s} {'ms/step':>9s} {'calls/step':>11s} {'share':>7s}")
    for kind, ms in spent.most_common(args.top):
        print(f"{kind:36s} {ms / args.steps:9.2f} {calls[kind] / args.steps:11.1f} "
              f"{ms / args.steps / total:7.1%}")
    flops = args.batch * step_flops(gan.generator, gan.discriminator)
    dtype = tf.float32 if args.precision == "float32" else tf.bfloat16
    rate = matmul_rate(dtype)
    floor = flops / rate / 1e6
    in_convs = sum(ms for kind, ms in spent.items()
                   if "Conv2D" in kind or "MatMul" in kind) / args.steps
    print(f"floor: the step's convolutions and dense layers do {flops / 1e9:.2f} GFLOP; a "
          f"2048x2048 {dtype.name} matrix product runs at {rate:.0f} GFLOP/s now, so they need "
          f"at least {floor:.1f} ms a step ({args.batch / floor * 1000:.0f} images/s at most). "
          f"The step: {wall:.1f} ms, {wall / floor:.2f}x the floor; its convolution and matmul "
          f"ops under the profiler {in_convs:.1f} ms ({flops / in_convs / 1e6:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
