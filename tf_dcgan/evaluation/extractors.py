"""Feature extractors for the quality metrics: Inception-v3, or a classifier of the dataset itself.

- `inception`: Keras' `InceptionV3` pool features (2048-d) at 299x299. Its FIDs compare across
  runs of this project, not with published FIDs, which use the 2015 TF-Inception graph
  (`pytorch-fid`, TF-GAN) with other weights and resizing.
  No pip package ships its weights and this project's machines cannot download them, so they are
  loaded from a file the user has (`--inception-weights`) or Keras' own cache.
- a domain classifier: a small CNN trained on the dataset's labelled training split
  (`train_classifier`, `scripts/train_classifier.py`); its penultimate layer (`features`) gives
  the features. Its test accuracy and the data it learned are stored inside its `.keras` file and
  named in every report, so numbers are never compared across extractors.

Images enter as float batches in [-1, 1]; grayscale is repeated to three channels where an
extractor needs colour. Features leave as float32 NumPy arrays.
"""

import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import error_summary
from tf_dcgan.model_card import described_dataset

INCEPTION_SIZE = 299


# Our own entry inside a classifier's .keras file (a zip); Keras ignores entries it does not know.
INFO_ENTRY = "tf_dcgan_extractor.json"


_KERAS_CACHE = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


_INCEPTION_NOTOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where keras.applications.InceptionV3 downloads it from (Keras checks MD5 bcbd6486...); it holds
# 21,802,784 float32 weights, about 83 MiB.
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                         "inception_v3/" + _INCEPTION_NOTOP)
INCEPTION_WEIGHTS_MB = 83


class FeatureExtractor:
    """A named function from image batches in [-1, 1] to feature vectors.

    Args:
        name: what the report calls it (e.g. "Keras ImageNet InceptionV3 pool ..." or "fashion_mnist classifier
            (91.6% test accuracy)").
        model: a Keras model from the prepared images to (batch, features).
        image_size: the size the model takes (images are resized, antialiased).
        channels: the channels the model takes (gray is repeated to 3 when it takes 3).
    """

    def __init__(self, name: str, model: keras.Model, image_size: int, channels: int):
        self.name = name
        self.model = model
        self.image_size = image_size
        self.channels = channels
        self.classifier = None  # a classifier extractor's whole model (class logits)
        self.info = None
        self._call = tf.function(lambda images: self.model(self._prepare(images), training=False),
                                 reduce_retracing=True)

    def _prepare(self, images):
        images = tf.cast(images, tf.float32)
        if images.shape[-1] == 1 and self.channels == 3:
            images = tf.repeat(images, 3, axis=-1)
        if images.shape[1] != self.image_size or images.shape[2] != self.image_size:
            # Antialiased: the resize method alone moves FID (clean-fid, Parmar et al. 2022).
            images = tf.image.resize(images, (self.image_size, self.image_size),
                                     method="bilinear", antialias=True)
        return images

    def __call__(self, images):
        """Features of one batch of images in [-1, 1], as a float32 array."""
        return np.asarray(self._call(tf.convert_to_tensor(images)), np.float32)

    def predict_classes(self, images):
        """The classifier's class for each image in [-1, 1] (classifier extractors only)."""
        logits = self.classifier(self._prepare(tf.convert_to_tensor(images)), training=False)
        return np.argmax(np.asarray(logits), axis=-1)

    def check_images(self, channels: int):
        """Raises ValueError when images with `channels` cannot be fed to this extractor."""
        if channels not in (1, self.channels) and not (channels == 1 and self.channels == 3):
            raise ValueError(
                f"extractor {self.name!r} takes {self.channels}-channel images; received images "
                f"with {channels} channels. Use an extractor trained on this kind of images."
            )


def inception_extractor(weights: str | Path | None = None) -> FeatureExtractor:
    """InceptionV3 pool features (2048-d) at 299x299, with weights from a file or Keras' cache.

    Args:
        weights: an `.h5`/`.weights.h5` file of InceptionV3 without its top (Keras'
            `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`), or None for Keras' cache.

    Raises:
        ValueError: no weights file, or one that does not fit InceptionV3.
    """
    path = Path(weights).expanduser() if weights else _KERAS_CACHE / _INCEPTION_NOTOP
    if not path.is_file():
        raise ValueError(
            f"inception weights not found: {str(path)!r}. Download Keras' {_INCEPTION_NOTOP} "
            f"(about {INCEPTION_WEIGHTS_MB} MiB) from {INCEPTION_WEIGHTS_URL} on a machine with "
            "internet access and pass --inception-weights PATH (or put it in ~/.keras/models/), "
            "or score with a domain classifier: --extractor FILE from "
            "scripts/train_classifier.py."
        )
    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                           input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
    try:
        model.load_weights(str(path))
    except Exception as error:  # h5py and Keras raise many types for a wrong file
        raise ValueError(
            f"could not load {str(path)!r} as InceptionV3 weights ({error_summary(error)}). Pass "
            f"Keras' {_INCEPTION_NOTOP}."
        ) from None
    # The name goes into every report: these FIDs compare across runs of this project only.
    return FeatureExtractor(
        f"Keras ImageNet InceptionV3 pool (2048-d, {path.name}; not the TF-Inception graph of "
        "published FIDs: compare with runs of this project only)", model, INCEPTION_SIZE, 3)


def classifier_extractor(path: str | Path) -> FeatureExtractor:
    """The `features` layer of a classifier written by `train_classifier`, as an extractor.

    Raises:
        ValueError: the file is missing or is not such a classifier.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(
            f"extractor file not found: {str(path)!r}. Train one with "
            "`python scripts/train_classifier.py`, or pass --extractor inception."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            info = json.loads(archive.read(INFO_ENTRY))
        if not (isinstance(info, dict) and isinstance(info.get("dataset"), str)
                and all(isinstance(info.get(key), (int, float)) for key in (
                    "feature_dim", "test_accuracy", "image_size", "channels"))):
            raise ValueError("its info entry lacks dataset, feature_dim, test_accuracy, "
                             "image_size or channels")
        model = keras.models.load_model(path, compile=False)
        features = keras.Model(model.inputs, model.get_layer("features").output)
    except Exception as error:  # not a zip, no info entry, no features layer ...
        raise ValueError(
            f"{str(path)!r} is not a feature extractor written by scripts/train_classifier.py "
            f"({error_summary(error)}). Train one, or pass --extractor inception."
        ) from None
    name = (f"{info['dataset']} classifier ({info['feature_dim']}-d features, "
            f"{100 * info['test_accuracy']:.1f}% test accuracy, {path.name})")
    extractor = FeatureExtractor(name, features, info["image_size"], info["channels"])
    extractor.info = info
    extractor.classifier = model  # the whole classifier (logits), for class-aware experiments
    return extractor


def extract_features(extractor: FeatureExtractor, batches: Iterable, limit: int | None = None,
                     progress: keras.utils.Progbar | None = None) -> np.ndarray:
    """Features of every image in `batches` (images, or (images, labels) pairs), up to `limit`.

    Only features are kept: images pass through one batch at a time.
    """
    parts, count = [], 0
    for batch in batches:
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        if limit is not None:
            images = images[:limit - count]
        parts.append(extractor(images))
        count += len(parts[-1])
        if progress is not None:
            progress.update(count)
        if limit is not None and count >= limit:
            break
    return np.concatenate(parts)


# The project's own domain classifiers, by dataset name (scripts/train_classifier.py made them).
# They ship inside the package, so an installed tf-dcgan finds them too.
CLASSIFIERS_DIR = Path(__file__).with_name("classifiers")
DEFAULT_CLASSIFIERS = {
    "fashion_mnist": CLASSIFIERS_DIR / "fashion_mnist_classifier.keras",
    # A folder from scripts/get_emoji.py (its DATASET.json names it "emoji").
    "emoji": CLASSIFIERS_DIR / "emoji_classifier.keras",
}


def choose_extractor(dataset: str, choice: str | None = None,
                     inception_weights: str | Path | None = None) -> FeatureExtractor:
    """The extractor named by `choice` ("inception" or a classifier file), or the dataset's default
    (the project's classifier where there is one, else Inception). A folder's name is the one in
    its `DATASET.json` (`model_card.described_dataset`), so the emoji folder of
    scripts/get_emoji.py gets the emoji classifier.

    Raises:
        ValueError: the file is missing or is not an extractor; no Inception weights are found.
    """
    name = str(dataset).partition(":")[0]
    described = described_dataset(dataset)
    if described and isinstance(described.get("name"), str):
        name = described["name"]
    choice = choice or DEFAULT_CLASSIFIERS.get(name, "inception")
    if choice == "inception":
        return inception_extractor(inception_weights)
    return classifier_extractor(choice)
