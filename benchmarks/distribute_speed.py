"""Scaling under tf.distribute: images/s of one `fit` on 1 device against 2 replicas and 2 workers.

Every variant trains the same `DCGAN` (the README's Fashion-MNIST networks by default) with `fit`
on the same global batch from memory, each in processes of its own (strategies are set up once
per process):

- **1 device**: TensorFlow's default strategy (the reference);
- **2 logical CPUs**: `MirroredStrategy` over the CPU split into 2 logical devices;
- **2 local workers**: `MultiWorkerMirroredStrategy`, 2 processes on 127.0.0.1 (`TF_CONFIG`);
- **all GPUs** (when there are 2 or more): `MirroredStrategy` over them, next to 1 GPU.

Variants are interleaved (A B C A B C ...); each run times `--steps` steps after a warm-up epoch.
Speedup is images/s against 1 device; efficiency is speedup / replicas. On one CPU the replicas
share the same cores, so the figures measure the strategy's overhead, not added hardware.

    python benchmarks/distribute_speed.py
    python benchmarks/distribute_speed.py --image-size 64 --batch-size 128 --rounds 3
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(args):
    """One variant in this process: prints {"images_per_second": ...} as JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import tensorflow as tf

    if args.variant == "logical":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    elif args.variant == "workers":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif args.variant == "gpus":
        strategy = tf.distribute.MirroredStrategy()
    elif args.variant == "gpu":
        strategy = tf.distribute.OneDeviceStrategy("/gpu:0")
    else:
        strategy = tf.distribute.get_strategy()

    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training.run import build_gan

    channels = 1 if args.image_size == 28 else 3
    config = TrainConfig(image_size=args.image_size, channels=channels, seed=0,
                         batch_size=args.batch_size, sync_batchnorm=args.sync_batchnorm)
    with strategy.scope():
        gan = build_gan(config)
    images = np.random.default_rng(0).uniform(
        -1, 1, (args.batch_size * 4, args.image_size, args.image_size, channels)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(args.batch_size).repeat()
    gan.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)  # tracing and warm-up
    start = time.perf_counter()
    gan.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_second": args.steps * args.batch_size / seconds,
                      "replicas": strategy.num_replicas_in_sync}), flush=True)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_variant(variant, args):
    """Runs one variant (in 1 or 2 processes); returns (images/s, replicas)."""
    command = [sys.executable, __file__, "--variant", variant, "--image-size",
               str(args.image_size), "--batch-size", str(args.batch_size), "--steps",
               str(args.steps)] + (["--sync-batchnorm"] if args.sync_batchnorm else [])
    processes = []
    if variant == "workers":
        cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
        for index in range(2):
            env = dict(os.environ, TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}))
            processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True))
    else:
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{err[-3000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    # Every worker steps through the same global batches; the chief's clock is the run's.
    return reports[0]["images_per_second"], reports[0]["replicas"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sync-batchnorm", action="store_true")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        return measure(args)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    from tf_dcgan.environment import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    gpus = len(tf.config.list_physical_devices("GPU"))
    if gpus >= 2:
        variants = {"gpu": "1 GPU", "gpus": f"{gpus} GPUs (MirroredStrategy)"}
    else:
        variants = {"default": "1 device", "logical": "2 logical CPUs (MirroredStrategy)",
                    "workers": "2 local workers (MultiWorkerMirroredStrategy)"}
    results = {name: [] for name in variants}
    replicas = {}
    for _ in range(args.rounds):
        for name in variants:
            speed, replicas[name] = run_variant(name, args)
            results[name].append(speed)
    reference = statistics.median(results[next(iter(variants))])
    print(f"{args.image_size}x{args.image_size} DCGAN, global batch {args.batch_size}"
          f"{', sync BatchNorm' if args.sync_batchnorm else ''}, {args.rounds} interleaved rounds "
          f"of {args.steps} steps, {os.cpu_count()} CPUs, {gpus} GPUs")
    print(f"{'variant':<48} {'replicas':>8} {'images/s (min-max)':>22} {'speedup':>8} "
          f"{'efficiency':>10}")
    for name, label in variants.items():
        median = statistics.median(results[name])
        speedup = median / reference
        spread = f"{median:.0f} ({min(results[name]):.0f}-{max(results[name]):.0f})"
        print(f"{label:<48} {replicas[name]:>8} {spread:>22} {speedup:>7.2f}x "
              f"{speedup / replicas[name]:>10.2f}")


if __name__ == "__main__":
    main()
