"""Input pipeline speed next to training speed: the pipeline must never be the bottleneck.

Measures, in one run on this machine:
- a folder of 20,000 generated 64x64 JPEGs: the check that decodes every file once
  (`read_folder`), the first epoch (decode + resize into the memory cache), later epochs from the
  memory cache, and epochs with `cache="none"` (decoding every epoch);
- Fashion-MNIST (28x28, from memory);
- the DCGAN training step on the same shapes (64x64x3 at batch 64, 28x28x1 at batch 128);
and prints images/s for each with the ratio pipeline / training.

    python benchmarks/input_speed.py [--folder /tmp/tf_dcgan_jpegs] [--count 20000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan import (  # noqa: E402
    DCGAN,
    build_discriminator,
    build_generator,
    data,  # noqa: E402
)
from tf_dcgan import data as sources  # noqa: E402


def make_jpegs(folder, count, size=64):
    """Smooth random 64x64 JPEGs in 10 class sub-folders (reused when already there)."""
    folder = Path(folder)
    existing = list(folder.rglob("*.jpg")) if folder.is_dir() else []
    if len(existing) >= count:
        return
    rng = np.random.default_rng(0)
    for index in range(count):
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((size, size), Image.BILINEAR)
        path = folder / f"class{index % 10}" / f"{index:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=90)


def epoch_rate(dataset, batch_size):
    start = time.perf_counter()
    batches = sum(1 for _ in dataset)
    return batches * batch_size / (time.perf_counter() - start)


def training_rate(image_size, channels, batch_size, steps=12):
    gan = DCGAN(build_generator(ImageFormat(image_size, channels), seed=1),
                build_discriminator(ImageFormat(image_size, channels), seed=2), seed=3)
    gan.compile()
    batch = np.random.default_rng(0).uniform(
        -1, 1, (batch_size, image_size, image_size, channels)).astype("float32")
    for _ in range(2):
        gan.train_on_batch(batch)
    start = time.perf_counter()
    for _ in range(steps):
        gan.train_on_batch(batch)
    return steps * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", default="/tmp/tf_dcgan_jpegs")
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; images/s, higher is better")

    make_jpegs(args.folder, args.count)
    start = time.perf_counter()
    source = sources.read_folder(args.folder)
    scan = source.num_images / (time.perf_counter() - start)
    batch = 64
    start = time.perf_counter()
    cached = data.make_dataset(source, ImageFormat(64, 3), batch, seed=0, cache="memory")
    first = source.num_images / (time.perf_counter() - start)  # decoding happens in make_dataset
    memory = max(epoch_rate(cached, batch) for _ in range(3))
    uncached = data.make_dataset(source, ImageFormat(64, 3), batch, seed=0, cache="none")
    none = max(epoch_rate(uncached, batch) for _ in range(2))
    train64 = training_rate(64, 3, batch)
    print(f"folder of {source.num_images} 64x64 JPEGs, batch {batch}:")
    print(f"  check every file once (read_folder)   {scan:9.0f}")
    print(f"  first epoch: decode into memory cache  {first:9.0f}")
    print(f"  epoch from the memory cache            {memory:9.0f}")
    print(f"  epoch decoding every file (cache=none) {none:9.0f}")
    print(f"  DCGAN training step, 64x64x3           {train64:9.0f}")
    print(f"  ratio pipeline / training: memory {memory / train64:.0f}x, "
          f"decoding every epoch {none / train64:.0f}x")

    fashion = data.read_images("fashion_mnist")
    dataset = data.make_dataset(fashion, ImageFormat(28, 1), 128, seed=0)
    rate = max(epoch_rate(dataset, 128) for _ in range(3))
    train28 = training_rate(28, 1, 128)
    print("Fashion-MNIST, 28x28x1, batch 128:")
    print(f"  epoch from memory                      {rate:9.0f}")
    print(f"  DCGAN training step, 28x28x1           {train28:9.0f}")
    print(f"  ratio pipeline / training: {rate / train28:.0f}x")


if __name__ == "__main__":
    main()
