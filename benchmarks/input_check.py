"""What the input-range check costs: `DCGAN`'s compiled step with the check next to the same step
without it, interleaved in one run.

Every training step checks that the real batch is in [-1, 1] (`DCGAN._input_range_checks`: one
min and one max over the batch, an Assert, and a first-step warning). The reference is the same
model with no checks. Prints images/s (median of `--rounds` timings of
`--steps` steps each, interleaved A B A B ...) and the ratio.

    python benchmarks/input_check.py                       # 28x28, batch 64, the default networks
    python benchmarks/input_check.py --image-size 64 --channels 3 --steps 5
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from tf_dcgan.checks import ImageFormat
    from tf_dcgan.environment import import_tensorflow_quietly

    import_tensorflow_quietly()
    import numpy as np
    import tensorflow as tf

    from tf_dcgan import DCGAN, build_discriminator, build_generator

    class Unchecked(DCGAN):
        def _input_range_checks(self, images):
            return []

    images = np.random.default_rng(0).uniform(
        -1, 1, (args.batch_size, args.image_size, args.image_size, args.channels)
    ).astype("float32")
    batch = tf.constant(images)
    steps = {}
    for name, kind in (("with the check", DCGAN), ("without (reference)", Unchecked)):
        gan = kind(build_generator(ImageFormat(args.image_size, args.channels)),
                   build_discriminator(ImageFormat(args.image_size, args.channels)))
        gan.compile()
        gan.make_train_function()
        step = gan.train_function
        iterator = iter(tf.data.Dataset.from_tensors(batch).repeat())
        for _ in range(3):  # trace and warm up
            step(iterator)
        steps[name] = (step, iterator)
    timings = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, (step, iterator) in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                logs = step(iterator)
            float(logs["d_loss"])  # wait for the last step
            timings[name].append(args.batch_size * args.steps / (time.perf_counter() - start))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{args.image_size}x{args.image_size}x{args.channels}, batch {args.batch_size}, "
          f"{args.rounds} rounds of {args.steps} steps, interleaved")
    for name, values in timings.items():
        print(f"  {name:22s} {medians[name]:8.1f} images/s (min {min(values):.1f}, "
              f"max {max(values):.1f})")
    print(f"  ratio with/without: {medians['with the check'] / medians['without (reference)']:.3f}")


if __name__ == "__main__":
    main()
