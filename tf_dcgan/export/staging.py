"""Writing an export folder whole or not at all: built under a hidden name, then renamed into
place.

A SavedModel version folder and the web page are both folders; each is built in a hidden staging
folder beside its target (`.tmp-NAME-PID-*`, holding a marker file with the writer's PID, by
which a later export tells a folder it may remove from a user's) and swapped into place in one
rename, so a reader or a server never sees half of one.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import tensorflow as tf

from tf_dcgan.checks import error_summary
from tf_dcgan.files import (
    check_folder,
    check_replaceable_folder,
    process_alive,
    replace_directory,
)

# The file that marks a staging folder as one of ours, with the PID of the process writing it.
STAGING_MARKER = ".tf-dcgan-staging"


@contextlib.contextmanager
def staged_folder(parent: Path, target: Path, name: str) -> Iterator[Path]:
    """Yields a new hidden folder in `parent` to build `target` in; renames it onto `target` after.

    An existing `target` is swapped for the new folder in one step. When the block raises, or
    the disk fills, nothing already in `parent` is changed and the staging folder is removed.

    Args:
        parent: Path. The export folder the user gave (`--out`), created if missing.
        target: Path. The folder to write, inside `parent`.
        name: str. A short word for the staging folder's name (e.g. the version, "web").

    Raises:
        ValueError: `parent` is a file or cannot be written, or the write failed (one line).

    Example:
        >>> with staged_folder(Path("exports"), Path("exports/web"), "web") as staging:
        ...     (staging / "index.html").write_text("<html></html>")
    """
    check_folder(parent, "Pick a folder for the exports.")
    check_replaceable_folder(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-{os.getpid()}-", dir=target.parent))
        # mkdtemp makes it private; a server (TF Serving, a web server) must be able to read it.
        staging.chmod(0o755)
        # Ours, and whose: a later export removes it only if this process has died.
        (staging / STAGING_MARKER).write_text(f"{os.getpid()}\n")
    except OSError as error:
        raise ValueError(
            f"out must be a writable folder; could not write in {str(target.parent)!r} "
            f"({error.strerror}). Pick a folder you can write to."
        ) from None
    try:
        yield staging
        (staging / STAGING_MARKER).unlink()
        replace_directory(staging, target)
    except (OSError, tf.errors.OpError) as error:  # disk full, quota, permissions
        raise write_failed(target, error) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def remove_stale_staging(model_dir: str | Path) -> None:
    """Deletes the staging folders that exports of this project left when they were killed.

    Only a folder holding our marker file is ours; it is removed when the process it names has
    ended. Anything else, whatever its name (a user's own `.tmp-*` folder too), is left alone.
    """
    for path in Path(model_dir).glob(".tmp-*"):
        marker = path / STAGING_MARKER
        if path.is_symlink() or not path.is_dir() or not marker.is_file():
            continue
        pid = marker.read_text().strip()
        if not (pid.isdigit() and process_alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)


def write_failed(path: str | Path, error: Exception) -> ValueError:
    """The one-line ValueError for a write that failed (disk full, quota, permissions)."""
    message = getattr(error, "strerror", None) or error_summary(error)
    return ValueError(
        f"could not write {str(path)!r} ({message}). Free disk space or pick another --out; "
        "nothing that was already there was changed."
    )
