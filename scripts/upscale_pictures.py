"""Upscale grids and GIFs written before runs upscaled small images: in place, nearest neighbour,
by the factor `train.py` now uses (until the picture's longer side is at least 512 pixels).

    python scripts/upscale_pictures.py docs/fashion_mnist_run/epoch_0*.png docs/fashion_mnist_run/training.gif

Pixels are repeated, never interpolated, so the pictures are the run's own, larger. A picture
already 512 pixels or more on its longer side is left as it is.
"""

import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageSequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tf_dcgan.data.grids import grid_scale, upscale, write_png  # noqa: E402
from tf_dcgan.training.plots import write_gif  # noqa: E402


def _gif_frames(path):
    """The frames as uint8 arrays, gray when every frame is (Pillow reads the palette; imageio
    fails on some grayscale GIFs: "No packer found from P to L")."""
    with Image.open(path) as gif:
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]
    if all((frame == frame[..., :1]).all() for frame in frames):
        frames = [frame[..., 0] for frame in frames]
    return frames


def main(paths: list[str]) -> int:
    for name in paths:
        path = Path(name)
        if path.suffix == ".gif":
            frames = _gif_frames(path)
            factor = grid_scale(max(frames[0].shape[:2]))
            if factor > 1:
                write_gif([upscale(frame, factor) for frame in frames], path)
        else:
            image = iio.imread(path)
            factor = grid_scale(max(image.shape[:2]))
            if factor > 1:
                write_png(path, upscale(image, factor))
        print(f"{path}: x{factor}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
