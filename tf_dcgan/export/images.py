"""Images from a trained generator as PNG files: one per image and a grid of all of them.

What `generate.py` writes. The images are those of the SavedModel's `generate` signature and of
`DCGAN.generate` for the same seed (and class), so a picture can be made again from its seed.
"""

from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np

from tf_dcgan.checks import MAX_EXPORT_IMAGES, check_positive_int, check_seed, class_index
from tf_dcgan.data.grids import (
    GRID_MIN_WIDTH,
    grid_scale,
    image_grid,
    upscale,
    write_png,
)
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.deprecation import old_form
from tf_dcgan.export.loading import GeneratorFile, keras_generator_file
from tf_dcgan.export.staging import staged_folder
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.model.saving import check_finite, check_generator


def class_label(generator: "keras.Model | GeneratorFile", label: str | int | None) -> int | None:
    """A conditional generator's class index from an index or a class name ("7" or "Sneaker").

    Raises:
        ValueError: the generator is unconditional, or has no such class (the message lists them).
    """
    if label is None:
        return None
    latent = generator.latent if isinstance(generator, GeneratorFile) else LatentSpace.of(generator)
    if not latent.conditional:
        return class_index([], label)
    return class_index(latent.class_names or [str(index) for index in range(latent.num_classes)],
                       label)


# Memory one `generate.py` command may need at once: the images, the grid and the walk's frames.
MAX_OUTPUT_BYTES = 2 * 1024**3


def check_output_size(generator: "keras.Model | GeneratorFile", num_images: int, scale: int = 1,
                      frames: int = 0) -> None:
    """Refuses, before any image is made, a request whose images, grid and walk would not fit in
    `MAX_OUTPUT_BYTES`: each flag has its own bound, but their product has none.

    Args:
        generator: the generator (its image size and channels are read from one image).
        num_images: images to make.
        scale: the upscaling of every image and of the grid.
        frames: the latent walk's frames (0: none).

    Raises:
        ValueError: one line with the memory needed and what fits.
    """
    generator = _as_file(generator)
    probe = np.asarray(generator.images(generator.latent.sample(1, 0)))
    size, channels = probe.shape[1], probe.shape[3]

    def needed(count):
        columns = int(np.ceil(np.sqrt(count)))
        rows = int(np.ceil(count / columns))
        factor = _grid_factor(columns, size, scale)
        grid = (columns * (size + 2) + 2) * (rows * (size + 2) + 2) * channels * factor**2
        images = count * size * size * channels * 5  # float32, and uint8 for the files
        return images + grid * (1 + 2 * frames)  # the grid; the walk's frames, stacked once

    if needed(num_images) > MAX_OUTPUT_BYTES:
        fits = max((count for count in (1024, 256, 64, 16, 4, 1)
                    if needed(count) <= MAX_OUTPUT_BYTES), default=None)
        fix = (f"Use at most --num-images {fits} with these flags, or a smaller --scale or "
               "--interpolate." if fits else "Use a smaller --scale or --interpolate.")
        raise ValueError(
            f"num_images={num_images} of {size}x{size}x{channels} with scale={scale}"
            f"{f' and interpolate={frames}' if frames else ''} would need "
            f"{needed(num_images) / 1024**3:.1f} GiB, more than the "
            f"{MAX_OUTPUT_BYTES // 1024**3} GiB generate.py allows itself; nothing was written. "
            + fix)


def generate_images(generator: "keras.Model | GeneratorFile", num_images: int = 64,
                    seed: int = 0, label: int | None = None) -> np.ndarray:
    """`num_images` float32 images (N, H, W, C) in [-1, 1] from `seed` (and class `label`).

    Args:
        generator: a Keras generator or a `GeneratorFile` of any kind (`open_generator`).
        num_images: images to make, 1 to 10,000.
        seed: the noise seed: the same seed gives the same images.
        label: a conditional generator's class for every image; None gives class
            `i % num_classes` to image i.
    """
    generator = _as_file(generator)
    check_positive_int("num_images", num_images, "Use e.g. --num-images 64.", MAX_EXPORT_IMAGES)
    check_seed(seed)
    images = np.asarray(generator.images(generator.latent.sample(num_images, seed, label)))
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(f"{generator.kind} {str(generator.path)!r} makes arrays of shape "
                         f"{images.shape[1:]}, not images (height, width, 1 or 3 channels). Pass "
                         "a generator written by train.py or export.py.")
    if not np.isfinite(images).all():  # a .keras file is checked when loaded; the others here
        raise ValueError(f"{generator.kind} {str(generator.path)!r} makes NaN or infinite pixels; "
                         "its weights are broken. Export it again from a good run's "
                         "generator.keras; nothing was written.")
    return images


def latent_walk(generator: "keras.Model | GeneratorFile", num_images: int = 16, seed: int = 0,
                label: int | None = None, frames: int = 24, scale: int = 1) -> list[np.ndarray]:
    """The grids of a looping latent walk: frame 0 is the grid of `generate_images` for `seed`,
    and each tile then travels once around a great circle of the noise space back to its start.

    Tile i's noise at angle t is z_i cos t + w_i sin t, with w_i a second standard normal draw
    (seed pair [seed, 1]); for every t that is again standard normal noise, the kind the
    generator was trained on, so every frame is a plausible sample.

    Returns:
        `frames` uint8 grids, upscaled as `write_image_folder` upscales grid.png for `scale`.
    """
    import tensorflow as tf

    generator = _as_file(generator)
    check_positive_int("frames", frames, "Use e.g. --interpolate 24.", 1000)
    inputs = generator.latent.sample(num_images, seed, label)
    start = np.asarray(inputs["noise"] if isinstance(inputs, dict) else inputs)
    other = tf.random.stateless_normal(start.shape, seed=tf.constant([seed, 1], tf.int64)).numpy()
    columns = int(np.ceil(np.sqrt(num_images)))
    grids = []
    for angle in np.linspace(0.0, 2 * np.pi, frames, endpoint=False):
        noise = (start * np.cos(angle) + other * np.sin(angle)).astype(np.float32)
        step = {**inputs, "noise": noise} if isinstance(inputs, dict) else noise
        images = generator.images(step)
        grids.append(upscale(image_grid(images, columns),
                             _grid_factor(columns, images.shape[2], scale)))
    return grids


def write_image_folder(out_dir: str | Path, images: np.ndarray, overwrite: bool = False,
                       scale: int = 1, extras: dict[str, bytes] | None = None) -> Path:
    """Writes images in [-1, 1] as `out_dir/0000.png`, ... and `grid.png`, and `extras` (file name
    to bytes), all appearing at once (built under a hidden name, then renamed).

    Args:
        out_dir: the folder; an existing one is replaced only with `overwrite`.
        images: float (N, H, W, C) in [-1, 1].
        overwrite: replace an existing `out_dir`.
        scale: every image upscaled this many times (nearest neighbour); the grid is upscaled at
            least as much, and until it is `GRID_MIN_WIDTH` wide.
        extras: more files to write into the folder.
    """
    check_positive_int("scale", scale, "Use e.g. --scale 4.", 32)
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise ValueError(f"{out_dir} already exists; pass --overwrite to replace it, or pick "
                         "another --out.")
    pixels = np.asarray(to_uint8(images))
    count, size, channels = len(pixels), pixels.shape[2], pixels.shape[3]
    columns = int(np.ceil(np.sqrt(count)))
    grid = image_grid(images, columns)
    with staged_folder(out_dir.parent, out_dir, "images") as staging:
        for index, image in enumerate(pixels):
            write_png(staging / f"{index:04d}.png",
                      upscale(image[..., 0] if channels == 1 else image, scale))
        write_png(staging / "grid.png", upscale(grid, _grid_factor(columns, size, scale)))
        for name, data in (extras or {}).items():
            (staging / name).write_bytes(data)
    return out_dir


def gif_bytes(frames: list[np.ndarray], frame_seconds: float = 0.1) -> bytes:
    """An animated, looping GIF of uint8 frames of one size."""
    return iio.imwrite("<bytes>", np.stack(frames), extension=".gif",
                       duration=frame_seconds * 1000, loop=0)


def _write_images_v1(generator, out_dir, num_images=64, seed=0, label=None, overwrite=False,
                     scale=1, extras=None):
    """write the extra files with write_image_folder(out_dir, generate_images(generator,
    num_images, seed, label), overwrite, scale, extras)."""
    if Path(out_dir).exists() and not overwrite:
        raise ValueError(f"{out_dir} already exists; pass --overwrite to replace it, or pick "
                         "another --out.")
    images = generate_images(generator, num_images, seed, label)
    return write_image_folder(out_dir, images, overwrite, scale, extras)


@old_form(_write_images_v1, lambda args, kwargs: len(args) > 7 or "extras" in kwargs)
def write_images(generator: "keras.Model | GeneratorFile", out_dir: str | Path,
                 num_images: int = 64, seed: int = 0, label: int | None = None,
                 overwrite: bool = False, scale: int = 1) -> Path:
    """Writes `num_images` generated images to `out_dir`: `0000.png`, ... and `grid.png`.

    The folder appears whole or not at all (built under a hidden name, then renamed); an
    existing `out_dir` is replaced only with `overwrite`.

    Args:
        generator: keras.Model | GeneratorFile. A generator (noise, and for a conditional one a
            label, to images in [-1, 1]), e.g. from `load_generator`, or any file kind
            (`open_generator`: .keras, SavedModel, .tflite).
        out_dir: str | Path. The folder to write.
        num_images: int. Images to make, 1 to 10,000.
        seed: int. The noise seed: the same seed gives the same images.
        label: int | None. A conditional generator's class for every image; None gives class
            `i % num_classes` to image i (the grid then shows the classes in turn).
        overwrite: bool. Replace an existing `out_dir`.
        scale: int. Upscale every image this many times (nearest neighbour), for viewing.

    To add more files to the folder (e.g. a model card), use `generate_images` and
    `write_image_folder(..., extras=...)`; the old `write_images(..., extras=...)` still works,
    with a DeprecationWarning.

    Returns:
        The folder written.

    Raises:
        ValueError: a bad argument, an existing folder without `overwrite`, or a failed write.

    Example:
        >>> write_images(load_generator(path="docs/fashion_mnist_run/generator.keras"), "samples")
        PosixPath('samples')
    """
    return _write_images_v1(generator, out_dir, num_images, seed, label, overwrite, scale)


def _grid_factor(columns, size, scale):
    """The grid's upscaling: at least `scale`, and enough to be `GRID_MIN_WIDTH` wide."""
    return max(scale, grid_scale(columns * (size + 2) + 2, GRID_MIN_WIDTH))


def _as_file(generator):
    if isinstance(generator, GeneratorFile):
        return generator
    check_generator(generator)
    check_finite(generator)
    return keras_generator_file(generator)


