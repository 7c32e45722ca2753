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
"""

import datetime
import os
import shutil
from pathlib import Path

from tf_dcgan.config import TrainConfig
from tf_dcgan.files import atomic_output, write_json

CONFIG = "config.json"
GENERATOR = "generator.keras"
DCGAN_MODEL = "dcgan.keras"
SAMPLES = "samples"
GIF = "training.gif"
LOSSES_CSV = "losses.csv"
LOSSES_PLOT = "losses.png"
SKIPPED_FILES = "skipped_files.txt"
# An epoch's models are written here first; see `RunFolder.save_models`.
_SAVING = ".saving"
_SAVED = "COMPLETE"


class RunFolder:
    """One training run's folder: where each file goes, and the few operations on them.

    Create a new one with `RunFolder.create`, open one that `train.py` wrote with `RunFolder.open`;
    the constructor itself only names the folder.

    Args:
        path: the folder. Each file's path is an attribute: `config_path`, `generator_path`,
            `dcgan_path`, `samples_dir`, `gif_path`, `losses_csv_path`, `losses_plot_path`,
            `skipped_files_path`.

    Example:
        >>> run = RunFolder.open("runs/20261125-202956-fashion_mnist")
        >>> run.read_config().epochs, run.generator_path
        (20, PosixPath('runs/20261125-202956-fashion_mnist/generator.keras'))
    """

    def __init__(self, path):
        self.path = Path(path)
        self.config_path = self.path / CONFIG
        self.generator_path = self.path / GENERATOR
        self.dcgan_path = self.path / DCGAN_MODEL
        self.samples_dir = self.path / SAMPLES
        self.gif_path = self.path / GIF
        self.losses_csv_path = self.path / LOSSES_CSV
        self.losses_plot_path = self.path / LOSSES_PLOT
        self.skipped_files_path = self.path / SKIPPED_FILES

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    # ------------------------------------------------------------ creating and opening

    @classmethod
    def create(cls, out=None, dataset="data", runs_dir="runs"):
        """Names a new run folder: `out`, or `runs/<date>-<time>-<dataset>` when `out` is None.

        Nothing is written yet (`write_config` creates the folder), so a run whose data fails to
        load leaves nothing behind.

        Raises:
            ValueError: `out` is a file, or already holds a run.
        """
        if out is not None:
            run = cls(out)
            if run.path.exists() and not run.path.is_dir():
                raise ValueError(
                    f"out must be a folder; received out={str(out)!r}, which is a file. "
                    "Pick a new folder name."
                )
            if run.config_path.exists():
                raise ValueError(
                    f"out must be a new or empty folder; received out={str(out)!r}, which "
                    "already holds a run. Pick a new folder so nothing there is overwritten."
                )
            return run
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = str(dataset).replace("/", "_").replace(":", "_")
        path = Path(runs_dir) / f"{stamp}-{name}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = Path(runs_dir) / f"{stamp}-{name}-{suffix}"
        return cls(path)

    @classmethod
    def open(cls, path):
        """Opens a run folder that `train.py` wrote, finishing a model save a stop interrupted.

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
        run._finish_interrupted_save()
        return run

    def read_config(self):
        """The run's settings, read back from config.json as a `TrainConfig`."""
        return TrainConfig.from_json(self.config_path.read_text(), source=str(self.config_path))

    def write_config(self, config):
        """Creates the folder (and its parents) and writes `config` as config.json, atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.config_path) as tmp:
            tmp.write_text(config.to_json() + "\n")

    def write_skipped_files(self, skipped):
        """Writes one `path<TAB>reason` line per file that did not decode."""
        with atomic_output(self.skipped_files_path) as tmp:
            tmp.write_text("".join(f"{path}\t{reason}\n" for path, reason in skipped))

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
        gan.generator.save(staging / GENERATOR)
        write_json(staging / _SAVED, {"files": [DCGAN_MODEL, GENERATOR]})
        self._finish_interrupted_save()

    def _finish_interrupted_save(self):
        staging = self.path / _SAVING
        if not staging.is_dir():
            return
        if (staging / _SAVED).is_file():
            for name in (DCGAN_MODEL, GENERATOR):
                if (staging / name).exists():
                    os.replace(staging / name, self.path / name)
        shutil.rmtree(staging)
