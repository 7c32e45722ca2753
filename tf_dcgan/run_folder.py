"""The run folder: its file names, creating a new one, opening an existing one, saving models.

Everything `train.py` writes lives in one folder, and this module is the only code that knows its
layout. `train.py`, `export.py --run` and later `evaluate.py --run` and `--resume` all go through
`RunFolder`. TensorFlow-free at import time.

A run folder holds:

| file                    | what                                                         |
|-------------------------|--------------------------------------------------------------|
| config.json             | every setting, with defaults resolved (a `TrainConfig`)      |
| samples/epoch_NNN.png   | a grid from the fixed sample noise after each epoch          |
| training.gif            | those grids in order                                         |
| losses.csv, losses.png  | one row per training step; the loss curves                   |
| generator.keras         | the generator alone                                          |
| dcgan.keras             | the whole DCGAN with both optimizers' state                  |
| skipped_files.txt       | for image folders: files that did not decode, with the reason|
| checkpoints/            | the newest checkpoints (and best/ with --keep-best)          |
| logs/                   | TensorBoard event files (--tensorboard)                      |
| metrics.csv, metrics.png| FID, KID, precision, recall every N epochs (--eval-every)    |
| evaluation.json         | the report of `evaluate.py --run`                            |
| experiments/            | the paper's experiments (`evaluate.py --experiments`)        |
| .lock                   | held by the process that trains into the folder              |
"""

import datetime
import fcntl
import os
import shutil
from pathlib import Path

from tf_dcgan.checks import error_summary
from tf_dcgan.config import TrainConfig
from tf_dcgan.deprecation import old_form
from tf_dcgan.files import (
    atomic_output,
    check_folder,
    durable_replace,
    fsync_path,
    write_json,
)
from tf_dcgan.model_card import CARD_JSON, CARD_MD

CONFIG = "config.json"
GENERATOR = "generator.keras"
DCGAN_MODEL = "dcgan.keras"
SAMPLES = "samples"
GIF = "training.gif"
LOSSES_CSV = "losses.csv"
LOSSES_PLOT = "losses.png"
SKIPPED_FILES = "skipped_files.txt"
CHECKPOINTS = "checkpoints"
LOGS = "logs"
EVALUATION = "evaluation.json"
METRICS = "metrics.csv"
METRICS_PLOT = "metrics.png"
EXPERIMENTS = "experiments"
# An epoch's models are written here first; see `RunFolder.save_models`.
_SAVING = ".saving"
_SAVED = "COMPLETE"
# Held (flock) by the process that trains into the folder; see `RunFolder.claim`.
_LOCK = ".lock"
# Every file and folder a run writes, by the attribute of `RunFolder` that holds its path.
_LAYOUT = {
    "config_path": CONFIG, "generator_path": GENERATOR, "dcgan_path": DCGAN_MODEL,
    "samples_dir": SAMPLES, "gif_path": GIF, "losses_csv_path": LOSSES_CSV,
    "losses_plot_path": LOSSES_PLOT, "skipped_files_path": SKIPPED_FILES,
    "checkpoints_dir": CHECKPOINTS, "logs_dir": LOGS, "evaluation_path": EVALUATION,
    "metrics_csv_path": METRICS, "metrics_plot_path": METRICS_PLOT,
    "experiments_dir": EXPERIMENTS,
    "card_json_path": CARD_JSON, "card_md_path": CARD_MD,
}
# Anything else in a folder is the user's and is never overwritten.
_RUN_FILES = set(_LAYOUT.values())


def clock_stamp() -> str:
    """This machine's date and time as a default run folder's `<date>-<time>` (20261202-221500)."""
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def default_name(dataset: str, stamp: str, suffix: int = 1) -> str:
    """The default run folder name `<stamp>-<dataset>` (`-<suffix>` from 2 on, when taken)."""
    name = str(dataset).replace("/", "_").replace(":", "_").strip("._~") or "data"
    return f"{stamp}-{name}" + (f"-{suffix}" if suffix > 1 else "")


def free_suffix(dataset: str, stamp: str, runs_dir: str | Path = "runs") -> int:
    """The first suffix (1 for none) whose `default_name` is not taken in `runs_dir`."""
    suffix = 1
    while (Path(runs_dir) / default_name(dataset, stamp, suffix)).exists():
        suffix += 1
    return suffix


def _escaped(text):
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def default_run_path(dataset: str, stamp: str | None = None, suffix: int | None = None,
                     runs_dir: str | Path = "runs") -> Path:
    """`runs/<date>-<time>-<dataset>`, the folder of a run without `--out`.

    Args:
        dataset: str. The dataset setting (a name or a folder), for the name.
        stamp: str. The `<date>-<time>`; None: now, by this machine's clock (the workers of a
            multi-worker run pass the chief's).
        suffix: int. The `-<suffix>` that makes the name new; None: the first free one.
        runs_dir: the parent folder.
    """
    stamp = stamp or clock_stamp()
    suffix = suffix or free_suffix(dataset, stamp, runs_dir)
    return Path(runs_dir) / default_name(dataset, stamp, suffix)


def _same_file(handle, path: Path) -> bool:
    """Whether the open file `handle` is still the file at `path`."""
    try:
        return os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _create_with_out(cls, out=None, dataset="data", runs_dir="runs", stamp=None):
    """pass the folder as RunFolder.create(run_dir=...) (or positionally), not out=."""
    return cls.create(out, dataset, runs_dir, stamp)


class RunFolder:
    """One training run's folder: where each file goes, and the few operations on them.

    Create a new one with `RunFolder.create`, open one that `train.py` wrote with `RunFolder.open`;
    the constructor itself only names the folder.

    Args:
        path: the folder. Each file's path is an attribute (`_LAYOUT`): `config_path`,
            `generator_path`, `dcgan_path`, `samples_dir`, `gif_path`, `losses_csv_path`,
            `losses_plot_path`, `skipped_files_path`, `checkpoints_dir`, `logs_dir`,
            `evaluation_path`, `metrics_csv_path`, `metrics_plot_path`, `card_json_path`, `card_md_path`.

    Example:
        >>> run = RunFolder.open("runs/20261125-202956-fashion_mnist")
        >>> run.read_config().epochs, run.generator_path
        (20, PosixPath('runs/20261125-202956-fashion_mnist/generator.keras'))
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        for attribute, name in _LAYOUT.items():
            setattr(self, attribute, self.path / name)

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    # ------------------------------------------------------------ creating and opening

    @classmethod
    @old_form(_create_with_out, lambda args, kwargs: "out" in kwargs)
    def create(cls, run_dir: str | Path | None = None, dataset: str = "data",
               runs_dir: str | Path = "runs", stamp: str | None = None):
        """Names a new run folder and checks that nothing of the user's can be overwritten there.

        `run_dir` (train.py's `--out`) may be a new or empty folder, or one that `train.py` started
        and that never saved a model (a run that failed before its first epoch ended: the same
        command can retry there). It may not be a file, a folder holding anything else, or the
        dataset's folder or a folder inside it (the next run would train on this run's grids). With
        `run_dir` None the folder is `runs/<date>-<time>-<dataset>`. Nothing is written yet: `claim`
        creates and locks it once the data has loaded, so a run whose data fails to load leaves
        nothing behind.

        Args:
            run_dir: the folder the user asked for (`--out`), or None.
            dataset: the dataset setting (a name or a folder), for the default name and the check.
            runs_dir: the parent of default run folders.
            stamp: the `<date>-<time>` of a default name; None: now, by this machine's clock
                (several workers of one run pass the chief's; see `default_name`).

        Raises:
            ValueError: one of the cases above, with the fix.
        """
        if run_dir is not None:
            check_folder(run_dir, "Pick a new folder name.")
            run = cls(run_dir)
        else:
            run = cls(default_run_path(dataset, stamp, runs_dir=runs_dir))
        run._check_outside_dataset(dataset, given=run_dir is not None)
        run._check_reusable()
        return run

    def _check_outside_dataset(self, dataset, given):
        dataset_dir = Path(str(dataset)).expanduser()
        if not dataset_dir.is_dir():
            return
        dataset_dir = dataset_dir.resolve()
        here = self.path.resolve()
        if here == dataset_dir or dataset_dir in here.parents:
            flag = f"out={str(self.path)!r}" if given else f"the default run folder {str(self.path)!r}"
            raise ValueError(
                f"out must be outside the dataset folder {str(dataset)!r}; received {flag}, which "
                "is inside it, so later runs would train on this run's images. Pass --out with a "
                "folder elsewhere."
            )

    def _entries(self):
        """Names in the folder that are not hidden (hidden ones are our lock and temp files)."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if not p.name.startswith("."))

    def _is_ours(self):
        """Whether config.json is a tf-dcgan config (so the run files beside it are ours)."""
        try:
            self.read_config()
        except (OSError, ValueError, TypeError):
            return False
        return True

    def _check_reusable(self):
        entries = self._entries()
        if not entries:
            return
        ours = self._is_ours()
        if ours and self.holds_progress():  # a run (with generate.py's images, say) to continue
            raise ValueError(
                f"out must be a new or empty folder; received out={str(self.path)!r}, which "
                "already holds a run with saved models. Continue it with --resume, or pick a new "
                "folder so nothing there is overwritten."
            )
        foreign = [name for name in entries if not ours or name not in _RUN_FILES]
        if ours and self.samples_dir.is_dir():
            foreign += [f"{SAMPLES}/{p.name}" for p in sorted(self.samples_dir.iterdir())
                        if not (p.name.startswith("epoch_") and p.suffix == ".png")]
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                              else "")
            raise ValueError(
                f"out must be a new or empty folder; received out={str(self.path)!r}, which holds "
                f"files that train.py did not write ({shown}). Pick a new folder so nothing there "
                "is overwritten."
            )

    def holds_progress(self):
        """Whether the run saved anything worth keeping: models or a checkpoint."""
        return (self.generator_path.exists() or self.dcgan_path.exists()
                or (self.checkpoints_dir / "checkpoint").exists())

    def claim(self, resume: bool = False):
        """Creates the folder, locks it for this process, and clears an unfinished run's outputs.

        With `resume`, the folder is one of ours to continue: nothing of it is cleared but the
        temporary files of a killed process.

        The lock (an exclusive `flock` on `.lock`, released when the process ends) keeps a second
        `train.py` out of the folder. An earlier attempt that never saved a model leaves only
        outputs of ours (config.json, grids, losses); they are removed so the new run's GIF and
        loss curves start clean. Leftover temporary files of a killed process are removed too.

        Raises:
            ValueError: the folder cannot be created or written, or another process holds it.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / _LOCK, "a+")
        except OSError as error:
            raise ValueError(
                f"out must be a folder you can write to; could not write in {str(self.path)!r} "
                f"({error.strerror or error_summary(error)}). Pick another folder with --out."
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise ValueError(
                f"out is in use: another train.py (pid {holder}) is writing {str(self.path)!r}. "
                "Wait for it to finish, or pick another folder with --out."
            ) from None
        if not _same_file(lock, self.path / _LOCK):
            # The holder released (and removed) the lock file between our open and our flock:
            # this lock is on a file no one else will see; take the folder's lock afresh.
            lock.close()
            return self.claim(resume)
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock
        if resume:
            self._remove_temporary_files()
            return self
        try:
            # Re-checked under the lock: another process may have written here meanwhile.
            self._check_reusable()
        except ValueError:
            self.release()
            raise
        self._remove_temporary_files()
        for path in [self.gif_path, self.losses_csv_path, self.losses_plot_path,
                     self.skipped_files_path, self.metrics_csv_path, self.metrics_plot_path,
                     self.card_json_path,
                     self.card_md_path, *self.samples_dir.glob("epoch_*.png")]:
            path.unlink(missing_ok=True)
        shutil.rmtree(self.logs_dir, ignore_errors=True)
        return self

    def release(self):
        """Releases the lock taken by `claim` and removes its file, so a finished run leaves no
        `.lock` behind (the lock is released anyway when the process ends; a later `claim` that
        opened the file just before it went checks that it holds the folder's current one)."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            (self.path / _LOCK).unlink(missing_ok=True)  # while still holding it
            lock.close()
            self._lock = None

    def _remove_temporary_files(self):
        """Finishes or discards a stopped model save; deletes temp files of killed writers."""
        self._finish_interrupted_save()
        for path in [*self.path.glob(".*.tmp-*"), *self.samples_dir.glob(".*.tmp-*")]:
            path.unlink(missing_ok=True)

    @classmethod
    def open(cls, path: str | Path):
        """Opens a run folder that `train.py` wrote, finishing a model save a stop interrupted.

        The interrupted save is finished (or its unfinished staging discarded) only when no
        process holds the run: a `train.py` writing the folder at this moment is left alone.

        Raises:
            ValueError: `path` does not exist or is not a run folder (no config.json).
        """
        run = cls(path)
        if not run.path.is_dir():
            raise ValueError(
                f"run must be a run folder written by train.py; received run={str(path)!r}, "
                "which does not exist. Pass the folder train.py printed."
            )
        if not run.config_path.is_file():
            raise ValueError(
                f"run must be a run folder written by train.py; received run={str(path)!r}, "
                f"which has no {CONFIG}. Pass the folder train.py printed, or a model file."
            )
        run._finish_interrupted_save_unless_held()
        return run

    def _finish_interrupted_save_unless_held(self):
        # Only a folder nobody holds is repaired: a live run (or another reader repairing it)
        # holds its lock, and its `.saving/` is still being written or renamed.
        if not (self.path / _SAVING).is_dir():
            return
        try:
            lock = open(self.path / _LOCK, "a+")
        except OSError:  # a read-only folder: read the pair in place, as it is
            return
        with lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            try:
                self._finish_interrupted_save()
            except OSError:  # read-only files in a writable folder: the same
                pass
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read_config(self):
        """The run's settings, read back from config.json as a `TrainConfig`."""
        return TrainConfig.from_json(self.config_path.read_text(), source=str(self.config_path))

    def write_config(self, config):
        """Writes `config` as config.json, atomically (creating the folder if needed)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.config_path) as tmp:
            tmp.write_text(config.to_json() + "\n")

    def write_skipped_files(self, skipped):
        r"""Writes one `path<TAB>reason` line per file that did not decode.

        A backslash, tab or line break in a name is written as `\\`, `\t`, `\n` or `\r`, and a
        byte that is not UTF-8 as `\udcXX`, so every name stays on its own line, whole.
        """
        with atomic_output(self.skipped_files_path) as tmp:
            tmp.write_text("".join(f"{_escaped(str(path))}\t{_escaped(reason)}\n"
                                   for path, reason in skipped),
                           encoding="utf-8", errors="backslashreplace")

    def latest_generator(self):
        """The newest saved generator file, or None when no epoch has finished yet."""
        return self.generator_path if self.generator_path.is_file() else None

    # ------------------------------------------------------------ saving models

    def save_models(self, gan):
        """Saves `generator.keras` and `dcgan.keras` of the same moment as one unit.

        Both are written into a staging folder, which is then marked complete, and only then
        renamed into place, one file after the other. A stop while writing leaves the previous
        pair untouched (the incomplete staging folder is discarded); a stop between the two
        renames is finished by the next `RunFolder.open`, so the two files never come from
        different epochs.
        """
        staging = self.path / _SAVING
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        gan.save(staging / DCGAN_MODEL)
        # float32 whatever the training precision (DCGAN.inference_generator).
        gan.inference_generator().save(staging / GENERATOR)
        for name in (DCGAN_MODEL, GENERATOR):  # on the disk before they are marked complete
            fsync_path(staging / name)
        write_json(staging / _SAVED, {"files": [DCGAN_MODEL, GENERATOR]})
        self._finish_interrupted_save()

    def _finish_interrupted_save(self):
        staging = self.path / _SAVING
        if not staging.is_dir():
            return
        if (staging / _SAVED).is_file():
            for name in (DCGAN_MODEL, GENERATOR):
                if (staging / name).exists():
                    durable_replace(staging / name, self.path / name)
        shutil.rmtree(staging)
