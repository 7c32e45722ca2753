"""TODO docstring."""

import math

import numpy as np

from tf_dcgan.data.transforms import to_uint8


def image_grid(images, columns=None, padding=2):
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


def upscale(grid, factor):
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1) if factor > 1 else grid
