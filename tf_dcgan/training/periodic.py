"""Scoring the generator during training (`train.py --eval-every`): FID, KID, precision and
recall every few epochs into RUN/metrics.csv, its plot RUN/metrics.png, and TensorBoard."""

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf

from tf_dcgan.deprecation import old_form
from tf_dcgan.evaluation import extract_features, generated_batches, score_features
from tf_dcgan.files import write_csv
from tf_dcgan.training.callbacks import StepCounter
from tf_dcgan.training.plots import plot_metrics


def _init_v1(self, extractor, reference_batches, every_epochs, num_images, csv_path, writer=None,
             seed=0, start_step=0, plot_path=None):
    """set the TensorBoard writer as the `writer` attribute, and leave plot_path out: the plot
    is drawn beside the CSV (metrics.csv -> metrics.png)."""
    PeriodicEvaluation.__init__(self, extractor, reference_batches, every_epochs, num_images,
                                csv_path, seed, start_step)
    self.writer = writer
    self.plot_path = plot_path


def _old_init_call(args, kwargs):
    # args[0] is self; the old form's sixth argument was the writer, now the seed (an int).
    return (bool({"writer", "plot_path"} & kwargs.keys()) or len(args) > 8
            or (len(args) > 6 and not isinstance(args[6], int)))


class PeriodicEvaluation(StepCounter):
    """Scores the generator every `every_epochs` epochs during training (`--eval-every`).

    The reference features are computed once, when training begins; each evaluation then only
    generates and extracts `num_images` images. Each result is appended to a CSV (epoch, step,
    fid, kid, kid_std, precision, recall), plotted beside it (the CSV's name with .png,
    RUN/metrics.png, redrawn after each evaluation) and, when the `writer` attribute is set to a
    `tf.summary` writer, written to TensorBoard; `latest` holds the newest `Scores` (what
    `checkpoints.KeepBest` reads).

    Args:
        extractor: a `FeatureExtractor`.
        reference_batches: the real images (`make_eval_dataset` of the test split).
        every_epochs: evaluate every this many epochs.
        num_images: generated images per evaluation.
        csv_path: the metrics CSV (rows are appended; a resumed run keeps its earlier rows).
        seed: seed of the generated noise (the same images every time: only the model changes).
        start_step: steps already trained (a resumed run).

    The old form `PeriodicEvaluation(..., csv_path, writer, seed, start_step, plot_path)` still
    works, with a DeprecationWarning.
    """

    FIELDS = ("epoch", "step", "fid", "kid", "kid_std", "precision", "recall")

    @old_form(_init_v1, _old_init_call)
    def __init__(self, extractor, reference_batches, every_epochs: int, num_images: int,
                 csv_path, seed: int = 0, start_step: int = 0):
        super().__init__(start_step)
        self.extractor = extractor
        self.reference_batches = reference_batches
        self.every_epochs = every_epochs
        self.num_images = num_images
        self.csv_path = csv_path
        self.writer = None
        self.plot_path = Path(csv_path).with_suffix(".png")
        self.seed = seed
        self.reference = None
        self.latest = None

    def on_train_begin(self, logs=None):
        if self.reference is None:
            self.reference = extract_features(self.extractor, self.reference_batches)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_epochs:
            return
        fake = extract_features(self.extractor, generated_batches(
            self.model.sampler, self.num_images, seed=self.seed))
        if not np.isfinite(fake).all():
            return
        self.latest = score_features(self.reference, fake, seed=self.seed)
        row = {"epoch": epoch + 1, "step": self.step, **self.latest.as_dict()}
        self._append(row)
        if self.writer is not None:
            with self.writer.as_default(step=self.step):
                for name, value in self.latest.as_dict().items():
                    tf.summary.scalar(f"eval/{name}", value)
            self.writer.flush()
        print(f"epoch {epoch + 1}: FID {self.latest.fid:.3f}, KID {self.latest.kid:.4f}, "
              f"precision {self.latest.precision:.3f}, recall "
              f"{self.latest.recall:.3f} ({self.num_images} images, {self.extractor.name})")

    def _append(self, row):
        rows = []
        if self.csv_path.is_file():
            with open(self.csv_path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["epoch"]) < row["epoch"]]
        rows.append(row)
        write_csv(self.csv_path, rows, self.FIELDS)
        if self.plot_path is not None:
            plot_metrics(rows, self.plot_path,
                         f"{self.num_images} images, {self.extractor.name.split(' (')[0]}")
