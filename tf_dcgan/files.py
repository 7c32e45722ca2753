"""Writing files a user keeps: to a temporary name beside the target, then renamed into place.

An interrupted run (Ctrl-C, a crash, a full disk) then never leaves a half-written file where a
good one was: the rename is atomic on one filesystem.
"""

import contextlib
import json
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yields a temporary path beside `path` (same extension); renames it to `path` on success.

    Example:
        >>> with atomic_output("run/losses.png") as tmp:
        ...     figure.savefig(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
