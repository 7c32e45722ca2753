"""Where a training step's time goes inside oneDNN: a profile from `ONEDNN_VERBOSE`, per precision.

Runs our `DCGAN` step (`train_on_batch`, fused BatchNorm, as `fit` runs it) for a few warm-up
steps and then `--steps` measured steps, with oneDNN's verbose mode on (it reports every
primitive it executes, with its implementation, data types and milliseconds). TensorFlow runs
one op at a time here (inter-op parallelism 1), so the primitives' times add up. Prints, per
precision, the share of the measured wall time spent in each kind of oneDNN primitive (and its
implementation and source data type), and what is left: TensorFlow's own kernels (Eigen,
element-wise ops, the optimizer's updates) and the framework. The reference in the same run is
the step's wall time.

    python benchmarks/onednn_profile.py                        # 28x28, batch 128, both precisions
    python benchmarks/onednn_profile.py --size 64 --steps 5
"""

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "tf-dcgan-profile-start"

CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
import numpy as np, tensorflow as tf
# One op at a time (each with every core): oneDNN's times then add up to the step instead of
# overlapping, so the table splits the step.
tf.config.threading.set_inter_op_parallelism_threads(1)
from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
size, channels, batch, steps, precision = {size}, {channels}, {batch}, {steps}, {precision!r}
dtype = None if precision == "float32" else precision
gan = DCGAN(build_generator(ImageFormat(size, channels), seed=0, dtype=dtype),
            build_discriminator(ImageFormat(size, channels), seed=0, dtype=dtype), seed=0)
gan.compile(jit_compile=False)
images = tf.random.uniform((batch, size, size, channels), -1, 1)
for _ in range(3):
    gan.train_on_batch(images)
print("{mark}", flush=True)
start = time.perf_counter()
for _ in range(steps):
    gan.train_on_batch(images)
print(json.dumps({{"wall_ms": 1000 * (time.perf_counter() - start)}}), flush=True)
"""


def profile(size, channels, batch, steps, precision):
    """(wall ms of the measured steps, Counter of (kind, impl, src dtype) -> ms)."""
    code = CHILD.format(root=str(ROOT), size=size, channels=channels, batch=batch, steps=steps,
                        precision=precision, mark=MARK)
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    lines = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    spent = collections.Counter()
    wall = None
    measuring = False
    calls = collections.Counter()
    for line in lines:
        if line == MARK:
            measuring = True
        elif line.startswith("{"):
            wall = json.loads(line)["wall_ms"]
        elif measuring and line.startswith("onednn_verbose") and ",exec," in line:
            fields = line.split(",")
            kind, impl, prop = fields[5], fields[6], fields[7]
            source = next((f.split(":")[1] for f in fields if f.startswith("src")), "?")
            key = (kind, prop.replace("forward_", "fwd_").replace("backward_", "bwd_"), impl,
                   source)
            spent[key] += float(fields[-1])
            calls[key] += 1
    return wall, spent, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--top", type=int, default=12, help="rows per precision")
    args = parser.parse_args()
    channels = 1 if args.size == 28 else 3
    for precision in args.precisions:
        wall, spent, calls = profile(args.size, channels, args.batch, args.steps, precision)
        total = sum(spent.values())
        print(f"\n{precision}: {args.size}x{args.size}x{channels}, batch {args.batch}, "
              f"{args.steps} steps: {wall / args.steps:.1f} ms per step (wall), oneDNN "
              f"{total / args.steps:.1f} ms ({100 * total / wall:.0f}%), the rest "
              f"(TensorFlow's own kernels and the framework) {(wall - total) / args.steps:.1f} ms "
              f"({100 * (wall - total) / wall:.0f}%)")
        print(f"{'primitive':<20} {'pass':<13} {'implementation':<34} {'src':<5} {'ms/step':>8} "
              f"{'% wall':>7} {'calls/step':>10}")
        for (kind, prop, impl, source), ms in spent.most_common(args.top):
            print(f"{kind:<20} {prop[:13]:<13} {impl[:34]:<34} {source:<5} "
                  f"{ms / args.steps:8.2f} {100 * ms / wall:6.1f}% "
                  f"{calls[(kind, prop, impl, source)] / args.steps:10.1f}")


if __name__ == "__main__":
    main()
