"""TODO docstring."""

import os
import shutil
from pathlib import Path

from tf_dcgan.checks import (
    error_summary,
)


def remove_stale_staging(model_dir):
    """Deletes the hidden staging folders (`.tmp-VERSION-PID-*`) of exports that were killed.

    A folder whose writer is still running (another export at this moment) is left alone.
    """
    for path in Path(model_dir).glob(".tmp-*"):
        pid = path.name.split("-")[2] if path.name.count("-") >= 3 else ""
        if path.is_dir() and not (pid.isdigit() and _process_alive(int(pid))):
            shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def write_failed(path, error):
    """The one-line ValueError for a write that failed (disk full, quota, permissions)."""
    message = getattr(error, "strerror", None) or error_summary(error)
    return ValueError(
        f"could not write {str(path)!r} ({message}). Free disk space or pick another --out; "
        "nothing that was already there was changed."
    )
