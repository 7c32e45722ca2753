"""Where an epoch of `train.py` goes: the training steps against each callback's own time.

Runs `train.py`'s own code (`prepare_run`, `train`, the same callbacks, verbose 2 as in a log
file) for a few epochs into a temporary folder, with a timer around every hook of every
callback. Prints, per epoch after the first (which traces the graphs), the wall time, the seconds
each callback spent at step ends and at the epoch end, and what is left: the steps themselves
plus Keras' own per-step work in `fit`. The reference in the same run is the epoch's wall time.

    python benchmarks/epoch_overhead.py                     # 3 whole Fashion-MNIST epochs
    python benchmarks/epoch_overhead.py --epochs 2 --steps-per-epoch 200
"""

import argparse
import collections
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_epoch_begin", "on_epoch_end")


def timed_callbacks(callbacks, spent):
    """Wraps every hook of every callback with a timer adding to spent[(name, hook)][epoch]."""
    epoch = [0]

    for callback in callbacks:
        name = type(callback).__name__
        for hook in HOOKS:
            method = getattr(callback, hook)

            @functools.wraps(method)
            def timed(*args, _method=method, _key=(name, hook), **kwargs):
                if _key[1] == "on_epoch_begin":
                    epoch[0] = args[0]
                start = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    spent[_key][epoch[0]] += time.perf_counter() - start

            setattr(callback, hook, timed)
    return callbacks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: train.py's")
    args = parser.parse_args()

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training import run as training

    spent = collections.defaultdict(lambda: collections.defaultdict(float))
    make_callbacks = training.run_callbacks
    training.run_callbacks = lambda *a, **k: timed_callbacks(make_callbacks(*a, **k), spent)
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch, "seed": 0,
                    "out": str(Path(tmp) / "run")}
        if args.batch_size:
            settings["batch_size"] = args.batch_size
        run = training.prepare_run(TrainConfig(**settings))
        result = training.train(run, verbose=2)

    later = range(1, len(result.epoch_seconds)) if args.epochs > 1 else range(1)
    wall = statistics.median(result.epoch_seconds[e] for e in later)
    images = result.steps_per_epoch * result.batch_size
    print(f"\n{result.steps_per_epoch} steps of {result.batch_size} per epoch; medians over "
          f"epochs {', '.join(str(e + 1) for e in later)}; epoch wall time {wall:.2f} s "
          f"({images / wall:,.0f} images/s)")
    print(f"{'callback':<20} {'hook':<22} {'s/epoch':>8} {'% of epoch':>10}")
    total = 0.0
    for (name, hook), by_epoch in sorted(spent.items()):
        seconds = statistics.median(by_epoch.get(e, 0.0) for e in later)
        total += seconds
        if seconds >= 0.0005:
            print(f"{name:<20} {hook:<22} {seconds:8.3f} {100 * seconds / wall:9.2f}%")
    print(f"{'all callbacks':<43} {total:8.3f} {100 * total / wall:9.2f}%")
    rest = wall - total
    print(f"{'steps + fit itself':<43} {rest:8.3f} {100 * rest / wall:9.2f}%  "
          f"({images / rest:,.0f} images/s)")


if __name__ == "__main__":
    main()
