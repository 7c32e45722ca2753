"""Image folders: every image file under a folder, checked once, with the ones that fail skipped,
counted and named. Only regular files are read, under a size and a pixel ceiling, so a link to a
device, a FIFO or a decompression bomb is skipped instead of hanging the run or filling memory."""

import concurrent.futures
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tf_dcgan.checks import MAX_IMAGE_FILE_BYTES, MAX_IMAGE_PIXELS
from tf_dcgan.data.images import ImageSource, decode_image
from tf_dcgan.environment import native_stderr_silenced

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


_EXIF_ORIENTATION = 0x0112


def exif_orientation(path: str | Path) -> int:
    """The EXIF orientation tag (1-8) of an image file; 1 (as stored) when it has none.

    Phones store photos as the sensor saw them and record the rotation in this tag;
    `tf.io.decode_image` ignores it, so the pipeline applies it (`transforms.apply_orientation`).
    """
    try:
        with Image.open(path) as image:
            return _orientation(image)
    except Exception:  # not readable by Pillow: as stored
        return 1


def _orientation(image):
    try:
        orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block: as stored
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _header(path):
    """Why `path` must not be read at all (not a regular file, too large, too many pixels), or
    else its EXIF orientation.

    Checked before a byte of the image is decoded: `os.stat` follows a link to what it points at
    (a device or a FIFO would be read forever), and Pillow reads only the header: the size, and
    the orientation tag in the same pass.
    """
    try:
        info = os.stat(path)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, a FIFO or a socket)"
    if info.st_size > MAX_IMAGE_FILE_BYTES:
        return f"larger than {MAX_IMAGE_FILE_BYTES // 1024**2} MiB ({info.st_size} bytes)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                orientation = _orientation(image)
    except Image.DecompressionBombError as error:
        return f"too many pixels ({error})"[:200]
    except Exception:  # not an image Pillow reads: TensorFlow's decoder gives the reason
        return 1
    if width * height > MAX_IMAGE_PIXELS:
        return (f"{width}x{height} is more than {MAX_IMAGE_PIXELS} pixels (a decompression "
                "bomb?); resize it to use it")
    return orientation


def _probe(path):
    """Decodes one file; returns (channels, height, width, orientation) as displayed, or the
    reason it does not decode."""
    orientation = _header(path)
    if isinstance(orientation, str):
        return orientation
    try:
        image = decode_image(tf.io.read_file(os.fsencode(path)))
        height, width, channels = image.shape
        if height == 0 or width == 0:
            return "empty image"
    except (tf.errors.OpError, ValueError) as error:
        message = getattr(error, "message", str(error)) or type(error).__name__
        # "{{function_node ...}} Input is empty. [Op:DecodeImage] name:" -> "Input is empty."
        message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message.strip().splitlines()[0])
        return re.sub(r"\s*\[Op:.*$", "", message)[:200]
    if orientation >= 5:  # rotated by 90 degrees: height and width swap
        height, width = width, height
    return channels, height, width, orientation


def _identity(path):
    """(device, inode) of what `path` points to, or None for a broken link."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _find_image_files(folder):
    """Every image file under `folder` once, in sorted walk order.

    Links are followed, but each real folder and file is visited once: a link back to a folder
    above it (a loop) or a second link to the same folder or file is skipped and counted, and the
    real folder or file is preferred over a link to it.

    Returns:
        (paths, links_skipped, ignored): image files, links skipped, non-image files.
    """
    # Folders reachable without links: a link to one of them is a duplicate wherever it stands.
    seen_dirs = {_identity(root) for root, _, _ in os.walk(folder)}
    candidates, links_skipped, ignored = [], 0, 0
    for root, dirs, files in os.walk(folder, followlinks=True):
        seen_dirs.add(_identity(root))
        kept = []
        for name in sorted(dirs):
            path = os.path.join(root, name)
            if os.path.islink(path):
                identity = _identity(path)
                if identity is None or identity in seen_dirs:
                    links_skipped += 1
                    continue
                seen_dirs.add(identity)
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = os.path.join(root, name)
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                ignored += not name.startswith(".")
                continue
            candidates.append((path, _identity(path), os.path.islink(path)))
    chosen = {}
    # Real files first, so a link to a file elsewhere in the folder is the one skipped.
    for path, identity, is_link in sorted(candidates, key=lambda candidate: candidate[2]):
        if identity is None or identity in chosen:
            links_skipped += 1
        else:
            chosen[identity] = path
    paths = [path for path, identity, _ in candidates if chosen.get(identity) == path]
    return paths, links_skipped, ignored


def read_folder(folder: str | Path, workers: int | None = None) -> ImageSource:
    """Finds the images under `folder` (recursively) and checks that each one decodes.

    Every file with an image extension is decoded once here, in parallel; those that fail
    (corrupt, truncated, empty, not really an image) are listed in `skipped` with the reason, so
    a bad file never stops a run mid-epoch. Links are followed, but each real file is read once
    (loops and duplicate links are skipped and counted). EXIF orientation is read here and
    applied by the pipeline, so phone photos train upright. Labels are the first-level
    sub-folder names (sorted), -1 for files directly in `folder`.

    Args:
        folder: the folder to search (sub-folders included, links followed).
        workers: decoding threads; default twice the cores, at most 8.

    Returns:
        An `ImageSource` with `paths`, `labels`, `class_names`, `skipped` and `ignored` set.

    Raises:
        ValueError: no file under `folder` decodes as an image.

    Example:
        >>> source = read_folder("path/to/faces")
        >>> print(source.summary())
    """
    folder = Path(folder)
    candidates, links_skipped, ignored = _find_image_files(folder)
    parts = [Path(p).relative_to(folder).parts for p in candidates]
    workers = workers or min(8, 2 * (os.cpu_count() or 1))
    with native_stderr_silenced(), concurrent.futures.ThreadPoolExecutor(workers) as pool:
        probes = list(pool.map(_probe, candidates))
    # A class is a sub-folder with at least one image that decodes.
    decoded = {part[0] for part, probe in zip(parts, probes)
               if len(part) > 1 and not isinstance(probe, str)}
    class_names = sorted(decoded) or None
    empty_classes = sorted({part[0] for part in parts if len(part) > 1} - decoded)
    paths, labels, skipped, shapes, orientations = [], [], [], [], []
    for path, part, probe in zip(candidates, parts, probes):
        if isinstance(probe, str):
            skipped.append((path, probe))
            continue
        paths.append(path)
        shapes.append(probe[:3])
        orientations.append(probe[3])
        labels.append(class_names.index(part[0]) if len(part) > 1 else -1)
    if not paths:
        raise ValueError(
            f"dataset folder {str(folder)!r} has no image that decodes ({len(candidates)} image "
            f"files, {len(skipped)} skipped, {ignored} other files). Put JPEG, PNG, BMP, GIF or "
            "WebP files in it (sub-folders are searched)."
        )
    color = sum(1 for channels, _, _ in shapes if channels >= 3)
    sizes = {(height, width) for _, height, width in shapes}
    (height, width), = sizes if len(sizes) == 1 else {(None, None)}
    return ImageSource(
        name=str(folder), num_images=len(paths), channels=3 if color * 2 >= len(shapes) else 1,
        image_size=height if height == width else None, paths=paths,
        labels=np.asarray(labels, np.int64), class_names=class_names, skipped=skipped,
        ignored=ignored, links_skipped=links_skipped,
        orientations=np.asarray(orientations, np.int32), empty_classes=empty_classes,
    )
