"""The pictures of a run's progress: the loss curves (losses.png), the scores by epoch
(metrics.png) and the training GIF."""

from pathlib import Path

import numpy as np
from PIL import Image

from tf_dcgan.files import atomic_output


# Points per line in losses.png (every step's value still goes into the smoothed line).
MAX_PLOT_POINTS = 4000


def gif_frame(frame: np.ndarray) -> Image.Image:
    """A grid as a GIF frame: gray as it is, colour quantized to 256 colours, once.

    Quantizing a 530-pixel colour grid takes most of a GIF's encoding time (about 0.4 s on a
    2-core host), so `TrainingGif` keeps each epoch's frame as it was made instead of quantizing
    every frame again at every epoch.
    """
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    image = Image.fromarray(frame)
    return image if image.mode == "L" else image.convert("RGB").quantize(256)


def write_gif(frames: list, path: str | Path, frame_seconds: float = 0.5) -> None:
    """Writes frames (uint8 arrays or `gif_frame`s) into an animated, looping GIF, atomically.

    The last frame shows three times longer. Frames of a run resumed after an upgrade that
    upscales its grids more are upscaled to the newest frame's size where it is a whole multiple
    of theirs, and left out otherwise.
    """
    if not len(frames):
        return
    frames = [frame if isinstance(frame, Image.Image) else gif_frame(frame) for frame in frames]
    width, height = frames[-1].size
    frames = [frame if frame.size == (width, height) else
              frame.resize((width, height), Image.Resampling.NEAREST) for frame in frames
              if frame.size == (width, height) or (
                  height % frame.size[1] == 0 and frame.size[1] * width == frame.size[0] * height)]
    durations = [frame_seconds * 1000] * len(frames)
    durations[-1] *= 3
    with atomic_output(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations if len(frames) > 1 else durations[0], loop=0)


def _smooth(values, weight):
    """Exponential moving average, debiased as TensorBoard does, so early steps do not lag."""
    smoothed, last = [], 0.0
    for count, value in enumerate(values, start=1):
        last = weight * last + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


def plot_metrics(rows: list[dict], path: str | Path, title: str = "") -> None:
    """Plots FID by training step (log scale), with KID, precision and recall below.

    The score swings between evaluations; this is the picture that shows a user which epoch's
    generator to keep (`--keep-best` keeps the lowest FID).

    Args:
        rows: dicts of metrics.csv (`step`, `epoch`, `fid`, `kid`, `precision`, `recall`).
        path: the PNG to write (atomically).
        title: what was scored, e.g. the extractor and the number of images.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(row["step"]) for row in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    fid = [float(row["fid"]) for row in rows]
    top.plot(steps, fid, marker="o", color="tab:purple", label="FID")
    best = min(range(len(fid)), key=fid.__getitem__)
    top.annotate(f"best: {fid[best]:.1f} (epoch {rows[best]['epoch']})", (steps[best], fid[best]),
                 textcoords="offset points", xytext=(0, 10), ha="center")
    top.set_yscale("log")
    top.set_ylabel("FID (lower is better)")
    top.set_title(f"Scores during training{': ' + title if title else ''}", fontsize=10)
    top.grid(alpha=0.3, which="both")
    for name, label, color in (("precision", "precision", "tab:green"),
                               ("recall", "recall", "tab:red")):
        bottom.plot(steps, [float(row[name]) for row in rows], marker=".", color=color,
                    label=label)
    bottom.set_ylim(0, 1)
    bottom.set_ylabel("share")
    bottom.legend()
    bottom.grid(alpha=0.3)
    bottom.set_xlabel("training step")
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)


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

    # The smoothed lines use every step; the thin raw lines at most MAX_PLOT_POINTS evenly spaced
    # steps, so a long run's plot costs the same to draw as a short one's.
    every = max(1, -(-len(rows) // MAX_PLOT_POINTS))
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
            top.plot(steps[::every], values[::every], color=color, alpha=0.25, linewidth=0.6)
            top.plot(steps[::every], _smooth(values, smoothing)[::every], color=color,
                     linewidth=1.8, label=label)
    top.set_ylabel("loss")
    top.set_title("Discriminator and generator loss during training")
    top.legend()
    top.grid(alpha=0.3)
    if has_probabilities:
        bottom = axes[1][0]
        for name, label, color in (("d_real", "D(x)", "tab:green"), ("d_fake", "D(G(z))", "tab:red")):
            values = [row[name] for row in rows]
            bottom.plot(steps[::every], values[::every], color=color, alpha=0.25, linewidth=0.6)
            bottom.plot(steps[::every], _smooth(values, smoothing)[::every], color=color,
                        linewidth=1.8, label=label)
        bottom.set_ylabel("mean sigmoid(D)")  # D's probability of "real" with --loss ns
        bottom.set_ylim(0, 1)
        bottom.legend()
        bottom.grid(alpha=0.3)
    axes[-1][0].set_xlabel("training step")
    figure.tight_layout()
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=100)
    plt.close(figure)
