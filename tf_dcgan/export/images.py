"""Images from a trained generator as PNG files: one per image and a grid of all of them.

What `generate.py` writes. The images are those of the SavedModel's `generate` signature and of
`DCGAN.generate` for the same seed (and class), so a picture can be made again from its seed.
"""

from pathlib import Path

import keras
import numpy as np

from tf_dcgan.checks import MAX_EXPORT_IMAGES, check_positive_int, check_seed
from tf_dcgan.data.grids import image_grid, upscale, write_png
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.export.staging import staged_folder
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.model.saving import check_finite, check_generator

# Small images are upscaled in the grid (nearest neighbour) until it is at least this wide.
GRID_MIN_WIDTH = 512


def class_label(generator: keras.Model, label: str | int | None) -> int | None:
    """A conditional generator's class index from an index or a class name ("7" or "Sneaker").

    Raises:
        ValueError: the generator is unconditional, or has no such class (the message lists them).
    """
    if label is None:
        return None
    latent = LatentSpace.of(generator)
    if not latent.conditional:
        raise ValueError(
            f"label is for a conditional generator (train.py --conditional); received "
            f"label={label!r} for an unconditional one. Leave --label out."
        )
    names = latent.class_names or [str(index) for index in range(latent.num_classes)]
    text = str(label)
    if text in names:
        return names.index(text)
    if text.isdigit() and int(text) < latent.num_classes:
        return int(text)
    choices = ", ".join(f"{index} {name}" for index, name in enumerate(names))
    raise ValueError(f"label must be a class of the generator; received label={label!r}. "
                     f"The classes are {choices}.")


def write_images(generator: keras.Model, out_dir: str | Path, num_images: int = 64,
                 seed: int = 0, label: int | None = None, overwrite: bool = False) -> Path:
    """Writes `num_images` generated images to `out_dir`: `0000.png`, ... and `grid.png`.

    The folder appears whole or not at all (built under a hidden name, then renamed); an
    existing `out_dir` is replaced only with `overwrite`.

    Args:
        generator: keras.Model. A generator (noise, and for a conditional one a label, to images
            in [-1, 1]), e.g. from `load_generator`.
        out_dir: str | Path. The folder to write.
        num_images: int. Images to make, 1 to 10,000.
        seed: int. The noise seed: the same seed gives the same images.
        label: int | None. A conditional generator's class for every image; None gives class
            `i % num_classes` to image i (the grid then shows the classes in turn).
        overwrite: bool. Replace an existing `out_dir`.

    Returns:
        The folder written.

    Raises:
        ValueError: a bad argument, an existing folder without `overwrite`, or a failed write.

    Example:
        >>> write_images(load_generator(path="docs/fashion_mnist_run/generator.keras"), "samples")
        PosixPath('samples')
    """
    check_generator(generator)
    check_positive_int("num_images", num_images, "Use e.g. --num-images 64.", MAX_EXPORT_IMAGES)
    check_seed(seed)
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ValueError(f"{out_dir} already exists; pass --overwrite to replace it, or pick "
                         "another --out.")
    check_finite(generator)
    latent = LatentSpace.of(generator)
    inputs = latent.sample(num_images, seed, label)
    generated = np.concatenate([
        np.asarray(generator(_rows(inputs, start, start + 256), training=False))
        for start in range(0, num_images, 256)])
    images = np.asarray(to_uint8(generated))
    size, channels = images.shape[2], images.shape[3]
    columns = int(np.ceil(np.sqrt(num_images)))
    grid = image_grid(generated, columns)
    with staged_folder(out_dir.parent, out_dir, "images") as staging:
        for index, image in enumerate(images):
            write_png(staging / f"{index:04d}.png", image[..., 0] if channels == 1 else image)
        write_png(staging / "grid.png",
                  upscale(grid, max(1, -(-GRID_MIN_WIDTH // (columns * (size + 2) + 2)))))
    return out_dir


def _rows(inputs, start, stop):
    if isinstance(inputs, dict):
        return {name: value[start:stop] for name, value in inputs.items()}
    return inputs[start:stop]
