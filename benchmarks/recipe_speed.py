"""Training speed of each recipe next to the default's, measured in one run, interleaved.

Each recipe's model is the one `train.py` builds (`training.run.build_gan` on the recipe's
`TrainConfig`), trained with `fit` on in-memory batches for `--steps` steps per measurement,
after a warm-up; the recipes take turns (A B C A B C ...) for `--rounds` rounds. The table gives
images/s (median, min-max) and each recipe's ratio to the default's in the same run: compare
recipes by the ratio, since a host's speed drifts between runs.

    python benchmarks/recipe_speed.py                        # 28x28 gray and 64x64 colour
    python benchmarks/recipe_speed.py --sizes 28 --steps 100 --rounds 5
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

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tf_dcgan.config import TrainConfig  # noqa: E402
from tf_dcgan.training.run import build_gan  # noqa: E402

CHANNELS = {28: 1, 32: 3, 64: 3}
# (label, recipe, settings given explicitly over the recipe)
RECIPES = [("default", "default", {}),
           ("sndcgan", "sndcgan", {}),
           ("sndcgan --loss hinge", "sndcgan", {"loss": "hinge"})]


def _dataset(size, batch):
    images = np.random.default_rng(0).uniform(-1, 1, (batch * 8, size, size, CHANNELS[size]))
    return tf.data.Dataset.from_tensor_slices(images.astype("float32")).batch(
        batch, drop_remainder=True).repeat().prefetch(2)


def _measure(gan, dataset, steps):
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 64], choices=sorted(CHANNELS))
    parser.add_argument("--steps", type=int, default=60, help="steps per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs")
    for size in args.sizes:
        gans, batches = {}, {}
        for label, recipe, given in RECIPES:
            config = TrainConfig(image_size=size, channels=CHANNELS[size], seed=0, **given)
            config = config.with_recipe(recipe, set(given)).validate()
            gans[label], batches[label] = build_gan(config), config.batch_size
        datasets = {label: _dataset(size, batches[label]) for label in gans}
        for label, gan in gans.items():  # warm-up: tracing, first allocations
            _measure(gan, datasets[label], gan.steps_per_execution)
        rates = {label: [] for label in gans}
        for _ in range(args.rounds):
            for label, gan in gans.items():
                seconds = _measure(gan, datasets[label], args.steps)
                rates[label].append(args.steps * batches[label] / seconds)
        reference = statistics.median(rates["default"])
        print(f"\n{size}x{size}x{CHANNELS[size]}, {args.steps} steps x {args.rounds} rounds")
        print(f"{'recipe':<22} {'batch':>5} {'images/s (min-max)':>24} {'vs default':>10}")
        for label, values in rates.items():
            median = statistics.median(values)
            print(f"{label:<22} {batches[label]:>5} {median:>9.0f} ({min(values):.0f}-"
                  f"{max(values):.0f}){'':>4} {median / reference:>9.2f}x")


if __name__ == "__main__":
    main()
