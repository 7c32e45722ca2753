"""The pictures of a run's progress: the loss curves (losses.png) and the training GIF."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from tf_dcgan.data.grids import upscale
from tf_dcgan.files import atomic_output


def write_gif(frames: list[np.ndarray], path: str | Path, frame_seconds: float = 0.5) -> None:
    """Writes frames (uint8 arrays of one size) into an animated, looping GIF, atomically."""
    if not len(frames):
        return
    # A run resumed after an upgrade that upscales its grids more: earlier frames are upscaled to
    # the newest one's size where it is a whole multiple of theirs, and left out otherwise.
    height, width = frames[-1].shape[:2]
    frames = [frame if frame.shape == frames[-1].shape else
              upscale(frame, height // frame.shape[0]) for frame in frames
              if frame.shape == frames[-1].shape or (
                  height % frame.shape[0] == 0 and frame.shape[0] * width == frame.shape[1] * height
                  and frame.shape[2:] == frames[-1].shape[2:])]
    frames = np.stack(frames)
    durations = [frame_seconds * 1000] * len(frames)
    durations[-1] *= 3
    # Pillow takes a list of durations only for several frames.
    duration = durations if len(durations) > 1 else durations[0]
    with atomic_output(path) as tmp:
        iio.imwrite(tmp, frames, extension=".gif", duration=duration, loop=0)


def _smooth(values, weight):
    """Exponential moving average, debiased as TensorBoard does, so early steps do not lag."""
    smoothed, last = [], 0.0
    for count, value in enumerate(values, start=1):
        last = weight * last + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


def plot_losses(rows: list[dict], path: str | Path, smoothing: float = 0.98) -> None:
    """Plots D's and G's loss per step (thin) with a moving average (bold), and D(x), D(G(z)).

    Args:
        rows: dicts with a `step` key and `d_loss`/`g_loss` (and optionally `d_real`/`d_fake`).
        path: the PNG to write (atomically).
        smoothing: weight of the exponential moving average.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in rows]
    has_probabilities = all("d_real" in row and "d_fake" in row for row in rows)
    figure, axes = plt.subplots(
        2 if has_probabilities else 1, 1, figsize=(10, 7 if has_probabilities else 4.5),
        sharex=True, squeeze=False,
    )
    top = axes[0][0]
    for name, label, color in (("d_loss", "D loss", "tab:blue"), ("g_loss", "G loss", "tab:orange")):
        if all(name in row for row in rows):
            values = [row[name] for row in rows]
            top.plot(steps, values, color=color, alpha=0.25, linewidth=0.6)
            top.plot(steps, _smooth(values, smoothing), color=color, linewidth=1.8, label=label)
    top.set_ylabel("loss")
    top.set_title("Discriminator and generator loss during training")
    top.legend()
    top.grid(alpha=0.3)
    if has_probabilities:
        bottom = axes[1][0]
        for name, label, color in (("d_real", "D(x)", "tab:green"), ("d_fake", "D(G(z))", "tab:red")):
            values = [row[name] for row in rows]
            bottom.plot(steps, values, color=color, alpha=0.25, linewidth=0.6)
            bottom.plot(steps, _smooth(values, smoothing), color=color, linewidth=1.8, label=label)
        bottom.set_ylabel("mean probability")
        bottom.set_ylim(0, 1)
        bottom.legend()
        bottom.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step")
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
