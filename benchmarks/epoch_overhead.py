"""Where an epoch of `train.py` goes: the training steps against each callback's own time, and
the whole epoch against the bare step, for each `--steps-per-execution`.

Runs `train.py`'s own code (`prepare_run`, `train`, the same callbacks, verbose 2 as in a log
file) for a few epochs into a temporary folder, with a timer around every hook of every
callback and around every call of the train function. Prints, per epoch after the first (which
traces the graphs), the wall time, the seconds inside the train function's calls (the steps,
K at a time), the seconds each callback spent at step ends and at the epoch end, and what is
left (Keras' own Python in `fit` between calls): the share of the epoch outside the step is the
epoch minus the calls, measured in the same epoch, so the host's drift between runs does not
enter it. The reference in the same run is the bare step: the same config's model training on
the same input stream with every step of an epoch in one call of the train function (no Python
between steps, no callbacks), measured right after each setting. Each setting is measured in
turn, then again, `--rounds` times, and the medians are compared; the epoch against the bare
step compares two moments of the host, so it carries the host's drift (about 5-10% on the
AVX2 host), which the share outside the step does not.

    python benchmarks/epoch_overhead.py                     # 3 whole Fashion-MNIST epochs
    python benchmarks/epoch_overhead.py --epochs 2 --steps-per-epoch 200 \
        --steps-per-execution 1 4 16 64 --rounds 2

A small folder (`--images N` copies the first N images of `--dataset` into a temporary folder):
its share outside the step with the default epoch (whole passes making 150 steps), and with
`--flat` the epoch-end cost of epochs of a few steps, early and late in a long run, which must
not grow with the epoch number (the sample grid, the GIF's frame, the loss plot, the saves):

    python benchmarks/epoch_overhead.py --dataset data/emoji --images 300 --image-size 64 \
        --channels 3 --epochs 4
    python benchmarks/epoch_overhead.py --dataset data/emoji --images 128 --image-size 64 \
        --channels 3 --steps-per-epoch 2 --base-filters 8 --epochs 1000 --flat 10 100 500 990
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


def timed_callbacks(callbacks, spent, epoch):
    """Wraps every hook of every callback with a timer adding to spent[(name, hook)][epoch];
    `on_epoch_begin` sets epoch[0]."""
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


def timed_train_function(spent, epoch):
    """Wraps `DCGAN.make_train_function` so that every call of the train function adds its
    seconds to spent[epoch[0]] (the epoch `on_epoch_begin` last saw)."""
    from tf_dcgan.model.gan import DCGAN

    make = DCGAN.make_train_function

    def make_timed(gan, force=False):
        function = make(gan, force)
        if getattr(function, "timed", False):
            return function

        def timed(iterator):
            start = time.perf_counter()
            try:
                return function(iterator)
            finally:
                spent[epoch[0]] += time.perf_counter() - start

        timed.timed = True
        gan.train_function = timed
        return timed

    DCGAN.make_train_function = make_timed
    return make


def bare_step_seconds(run, steps):
    """Seconds of `steps` training steps of `run`'s config in one call of the train function."""
    from tf_dcgan import data
    from tf_dcgan.training import run as training

    config = run.config
    gan = training.build_gan(config)
    gan.steps_per_execution = steps
    stream, _ = data.make_training_stream(run.source, config.image_format, config.batch_size,
                                          config.seed)
    iterator = iter(stream)
    gan.make_train_function()
    float(gan.train_function(iterator)["g_loss"])  # traces, and warms the input pipeline
    start = time.perf_counter()
    float(gan.train_function(iterator)["g_loss"])
    return time.perf_counter() - start


def epoch_seconds(settings, tmp):
    """(median epoch wall time after the first, the PreparedRun, the TrainingResult, the epochs
    the median is over) of one train.py run."""
    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training import run as training

    settings = {**settings, "out": str(Path(tmp) / f"run-{time.monotonic_ns()}")}
    run = training.prepare_run(TrainConfig(**settings))
    result = training.train(run, verbose=2)
    later = range(1, len(result.epoch_seconds)) if len(result.epoch_seconds) > 1 else range(1)
    return statistics.median(result.epoch_seconds[e] for e in later), run, result, later


def first_images(folder, count, into):
    """Copies the first `count` images of `folder` (sorted paths) into `into`/small; its path."""
    import shutil

    from tf_dcgan.data import IMAGE_EXTENSIONS

    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    target = Path(into) / "small"
    target.mkdir()
    for index, path in enumerate(paths[:count]):
        shutil.copy(path, target / f"{index:04d}{path.suffix}")
    return str(target)


def flatness(spent, windows, epochs):
    """Per window start e: the median over epochs e..e+9 of all callbacks' epoch-end seconds."""
    ends = collections.defaultdict(float)
    for (name, hook), by_epoch in spent.items():
        if hook in ("on_epoch_end", "on_epoch_begin"):
            for epoch, seconds in by_epoch.items():
                ends[epoch] += seconds
    print(f"\nepoch-end seconds (all callbacks' on_epoch_begin and on_epoch_end), median of 10 "
          f"epochs, {epochs} epochs in all:")
    for start in windows:
        window = [ends[e] for e in range(start - 1, min(start + 9, epochs))]
        if window:
            print(f"  epochs {start}-{start + len(window) - 1}: {statistics.median(window):.3f} s "
                  f"(min {min(window):.3f}, max {max(window):.3f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="default: train.py's")
    parser.add_argument("--steps-per-execution", type=int, nargs="+", default=None,
                        help="the settings to compare (default: train.py's)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--dataset", default=None, help="default: train.py's")
    parser.add_argument("--images", type=int, default=None,
                        help="train on the first N images of --dataset (a folder) only")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--channels", type=int, default=None)
    parser.add_argument("--base-filters", type=int, default=None)
    parser.add_argument("--flat", type=int, nargs="+", default=None,
                        help="print the epoch-end seconds of the 10 epochs from each of these")
    args = parser.parse_args()

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training import run as training

    settings = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch, "seed": 0}
    for name in ("batch_size", "dataset", "image_size", "channels", "base_filters"):
        if getattr(args, name):
            settings[name] = getattr(args, name)
    small = tempfile.TemporaryDirectory() if args.images else None
    if small:
        settings["dataset"] = first_images(args.dataset, args.images, small.name)
    executions = args.steps_per_execution or [TrainConfig().steps_per_execution]
    spent = {k: collections.defaultdict(lambda: collections.defaultdict(float))
             for k in executions}
    calls = {k: collections.defaultdict(float) for k in executions}
    current, epoch = [None], [0]
    make_callbacks = training.run_callbacks
    def timed_run_callbacks(*args, **kwargs):
        named = make_callbacks(*args, **kwargs)
        timed_callbacks(named.as_list(), spent[current[0]], epoch)  # wraps their hooks in place
        return named

    training.run_callbacks = timed_run_callbacks
    in_calls = collections.defaultdict(float)
    outside = collections.defaultdict(list)
    timed_train_function(in_calls, epoch)
    walls = collections.defaultdict(list)
    bare = collections.defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for k in executions:
                current[0] = k
                in_calls.clear()
                wall, run, result, later = epoch_seconds(
                    {**settings, "steps_per_execution": k}, tmp)
                walls[k].append(wall)
                for e in later:
                    calls[k][e] += in_calls[e] / args.rounds
                outside[k].append(statistics.median(
                    1 - in_calls[e] / result.epoch_seconds[e] for e in later))
                # The reference right after each setting: the host's speed drifts.
                bare[k].append(bare_step_seconds(run, result.steps_per_epoch))
    steps, batch = result.steps_per_epoch, result.batch_size
    images = steps * batch
    epochs = (f"{later[0] + 1}-{later[-1] + 1}" if len(later) > 3
              else ", ".join(str(e + 1) for e in later))
    print(f"\n{steps} steps of {batch} per epoch; medians of {args.rounds} round(s) over epochs "
          f"{epochs}; the bare step is the epoch's {steps} steps "
          "in one call, no callbacks, measured right after each setting's run")
    for k in executions:
        wall, bare_wall = statistics.median(walls[k]), statistics.median(bare[k])
        ratios = [b / w for b, w in zip(bare[k], walls[k])]
        print(f"\n--steps-per-execution {k}: epoch wall time {wall:.2f} s "
              f"({images / wall:,.0f} images/s) against the bare step's {bare_wall:.2f} s "
              f"({images / bare_wall:,.0f} images/s): {statistics.median(ratios):.3f}x the bare "
              f"step (rounds {min(ratios):.3f}-{max(ratios):.3f}x)")
        print(f"{'callback':<20} {'hook':<22} {'s/epoch':>8} {'% of epoch':>10}")
        total = 0.0
        for (name, hook), by_epoch in sorted(spent[k].items()):
            seconds = statistics.median(by_epoch.get(e, 0.0) for e in later) / args.rounds
            total += seconds
            if seconds >= 0.0005:
                print(f"{name:<20} {hook:<22} {seconds:8.3f} {100 * seconds / wall:9.2f}%")
        print(f"{'all callbacks':<43} {total:8.3f} {100 * total / wall:9.2f}%")
        inside = statistics.median(calls[k][e] for e in later)
        rest = wall - total - inside
        print(f"{'fit between calls':<43} {rest:8.3f} {100 * rest / wall:9.2f}%")
        print(f"{'outside the step (callbacks + fit)':<43} {wall - inside:8.3f} "
              f"{100 * (wall - inside) / wall:9.2f}%  (rounds "
              f"{100 * min(outside[k]):.2f}-{100 * max(outside[k]):.2f}%)")
        print(f"{'the steps (train function calls)':<43} {inside:8.3f} "
              f"{100 * inside / wall:9.2f}%  ({images / inside:,.0f} images/s)")
        if args.flat:
            flatness(spent[k], args.flat, args.epochs)
    if small:
        small.cleanup()


if __name__ == "__main__":
    main()
