"""Writing files a user keeps: to a temporary name beside the target, then renamed into place.

An interrupted run (Ctrl-C, a crash, a full disk) then never leaves a half-written file where a
good one was: the rename is atomic on one filesystem.
"""

import contextlib
import csv
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path` (same extension); renames it to `path` on success.

    Example:
        >>> with atomic_output("run/losses.png") as tmp:
        ...     figure.savefig(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        durable_replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def fsync_path(path: str | Path) -> None:
    """Flushes a file's (or a folder's) contents from the operating system's cache to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def durable_replace(source: str | Path, target: str | Path) -> None:
    """Renames `source` onto `target` so that a power loss leaves one of the two whole.

    The file's bytes reach the disk before the rename, and the rename before this returns: a
    crash can never leave an empty file where a good one was (the rename alone guarantees that
    only against a stopped process, not a stopped machine).
    """
    fsync_path(source)
    os.replace(source, target)
    fsync_path(Path(target).parent)


def write_json(path: str | Path, data: Any) -> None:
    """Writes `data` as indented JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | Path, rows: list[dict], fields: list[str]) -> None:
    """Writes `rows` (dicts) as CSV with a header of `fields`, atomically."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def check_writable(path: str | Path, fix: str, name: str = "out") -> None:
    """Raises ValueError unless a file can be written at `path`, before any work is done for it.

    Its folder must exist and take a new file (probed by writing one: permissions, a read-only
    filesystem and a full quota all show), and `path` must not be a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} must be a file; received {name}={str(path)!r}, which is a "
                         f"folder. {fix}")
    if not path.parent.is_dir():
        raise ValueError(f"{name} must be in an existing folder; received {name}={str(path)!r}, "
                         f"and {str(path.parent)!r} does not exist. {fix}")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.probe-"):
            pass
    except OSError as error:
        raise ValueError(f"{name} must be writable; received {name}={str(path)!r}, and "
                         f"{str(path.parent)!r} takes no new file ({error.strerror}). {fix}"
                         ) from None


def check_folder(path: str | Path, fix: str, name: str = "out") -> None:
    """Raises ValueError when `path` exists and is not a folder (a file where one should go).

    Args:
        path: str | Path. The folder asked for.
        fix: str. The last sentence of the error: what to do instead.
        name: str. The setting's name in the error.
    """
    if Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"{name} must be a folder; received {name}={str(path)!r}, which is a "
                         f"file. {fix}")


_RENAME_EXCHANGE = 2  # renameat2 flag: swap two paths in one step (Linux 3.15+)
_AT_FDCWD = -100


def exchange_paths(first: str | Path, second: str | Path) -> None:
    """Swaps two existing paths (files or folders) in one atomic step, with Linux's renameat2.

    Raises:
        OSError: the kernel, C library or filesystem cannot exchange (errno ENOSYS, EINVAL or
            ENOTSUP), or either path is missing.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(first))
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                       _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first))


def process_alive(pid: int) -> bool:
    """Whether a process with this PID is running (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_replaceable_folder(target: str | Path, protected: tuple = (),
                             flag: str = "--out") -> None:
    """Refuses, before anything is touched, a folder that a write with --overwrite may not replace.

    A file or a symbolic link at `target` is the user's, not a folder a command wrote; and a
    folder that is, or holds, one of `protected` (the run or the model a command reads) would
    delete what it reads.

    Args:
        target: the folder a command is about to write (or replace).
        protected: paths the command reads, which must survive.
        flag: the flag that named `target`, for the message.

    Raises:
        ValueError: one line naming the path and the fix.
    """
    path = Path(target)
    if str(target) == "":
        raise ValueError(f"{flag} must name a folder; received an empty path. Pass e.g. "
                         f"{flag} samples.")
    if path.is_symlink():
        raise ValueError(f"{flag} {str(target)!r} is a symbolic link; nothing was changed. Pick "
                         f"another {flag}: a new folder, or one this command wrote.")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {str(target)!r} is a file, not a folder; nothing was changed. "
                         f"Pick another {flag}.")
    resolved = path.resolve()
    for source in protected:
        if source is None:
            continue
        kept = Path(source).resolve()
        if kept == resolved or resolved in kept.parents:
            raise ValueError(f"{flag} {str(target)!r} holds {str(source)!r}, which this command "
                             f"reads, and --overwrite would delete it; nothing was changed. Pick "
                             f"another {flag}, e.g. a folder beside it.")


def replace_directory(staging: str | Path, target: str | Path) -> None:
    """Puts the complete folder `staging` at `target`, replacing any folder there atomically.

    A watcher of `target` (TF Serving polling its model folder) sees the old folder or the new
    one at every moment, never neither: an existing target is swapped with `staging` in one step
    (`exchange_paths`) and the old one, now at `staging`, is then deleted. Where the filesystem
    cannot swap, the old folder is renamed away first, leaving a moment with no folder.
    """
    staging, target = Path(staging), Path(target)
    if not target.exists():
        os.replace(staging, target)
        return
    try:
        exchange_paths(staging, target)
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise
        retired = staging.with_name(staging.name + "-old")
        os.replace(target, retired)
        os.replace(staging, target)
        staging = retired
    shutil.rmtree(staging)
