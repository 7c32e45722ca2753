"""Pictures of images: a grid of many, upscaled for small images, written as a PNG.

Every picture the project writes (the sample grids, the paper's experiments, TensorBoard's
image) is made here, so they all look the same.
"""

import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.files import atomic_output


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """Tiles images in [-1, 1] of shape (N, H, W, C) into one uint8 grid image.

    Args:
        images: array-like of shape (N, H, W, C), values in [-1, 1].
        columns: images per row; default the ceiling of sqrt(N).
        padding: pixels of black between images and around the grid.

    Returns:
        A uint8 array of shape (rows*(H+p)+p, columns*(W+p)+p) for C == 1, else with C channels.
    """
    images = np.asarray(to_uint8(images))
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid[..., 0] if channels == 1 else grid


# Grids of small images are upscaled (nearest neighbour) until they are at least this wide: the
# sample grids of a run and generate.py's grid.png.
GRID_MIN_WIDTH = 512


def grid_scale(width: int, minimum: int = GRID_MIN_WIDTH) -> int:
    """The smallest integer factor that makes `width` pixels (a grid's width, or its longer side)
    at least `minimum`.

    Example:
        >>> grid_scale(242)  # 8x8 tiles of 28x28
        3
    """
    return max(1, -(-minimum // width))


def upscale(grid: np.ndarray, factor: int) -> np.ndarray:
    """`grid` with every pixel repeated `factor` times in each direction (nearest neighbour)."""
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1) if factor > 1 else grid


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Writes a uint8 image (H, W) or (H, W, C) as a PNG: to a temporary name, then renamed."""
    with atomic_output(Path(path)) as tmp:
        iio.imwrite(tmp, image, extension=".png")
