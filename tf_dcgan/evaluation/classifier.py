"""The project's domain classifier: a small CNN whose `features` layer is the feature extractor
of `evaluate.py` for datasets Inception was not trained on (Fashion-MNIST), and which picks the
classes of the paper's vector arithmetic. `scripts/train_classifier.py` trains and saves one.
"""

import json
import zipfile
from pathlib import Path

import keras
import tensorflow as tf

from tf_dcgan.evaluation.extractors import INFO_ENTRY


def build_classifier(image_size: int, channels: int, num_classes: int, feature_dim: int = 128,
                     seed: int = 0) -> keras.Model:
    """A small CNN classifier whose `features` layer serves as a domain feature extractor.

    A 32-filter conv block at full size, then blocks of two 64-filter convs until the map is at
    most 8x8 (one at 28x28 and 32x32, three at 64x64; each conv with BatchNorm and ReLU, each
    block ending in 2x2 max-pooling), a `features` dense layer of `feature_dim` units, dropout,
    and the class logits. Pooling to 8x8 keeps the dense layer, and the file, small at any size
    (64x64: 4,096 inputs, 2.7 MB).
    """
    init = keras.initializers.HeNormal(seed=seed)
    inputs = keras.Input((image_size, image_size, channels), name="images")
    x = inputs
    blocks, side = [(32, 1), (64, 2)], image_size // 4
    while side > 8:
        blocks.append((64, 2))
        side //= 2
    for filters, convs in blocks:
        for _ in range(convs):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                    kernel_initializer=init)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(feature_dim, activation="relu", kernel_initializer=init,
                                  name="features")(x)
    x = keras.layers.Dropout(0.3, seed=seed)(features)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="domain_classifier")


def train_classifier(train_batches: tf.data.Dataset, test_batches: tf.data.Dataset,
                     num_classes: int, path: str | Path, dataset_name: str, epochs: int = 4,
                     steps_per_epoch: int | None = None) -> float:
    """Trains `build_classifier` on labelled batches and saves it with its test accuracy.

    Args:
        train_batches, test_batches: `tf.data` datasets of (images in [-1, 1], int labels); the
            classifier takes their image size and channels.
        num_classes: int. The classes it predicts.
        path: the `.keras` file to write (atomically); it holds the accuracy and `dataset_name`.
        dataset_name: what it learned (e.g. "fashion_mnist:train"), for the reports.
        epochs: passes over the training data (one line of progress each).
        steps_per_epoch: batches per epoch, for an endless `train_batches` stream.

    Returns:
        The test accuracy.
    """
    _, image_size, _, channels = train_batches.element_spec[0].shape
    model = build_classifier(image_size, channels, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train_batches, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=2)
    accuracy = float(model.evaluate(test_batches, verbose=0, return_dict=True)["accuracy"])
    info = {"dataset": dataset_name, "test_accuracy": accuracy, "image_size": image_size,
            "channels": channels, "num_classes": num_classes,
            "feature_dim": int(model.get_layer("features").units)}
    save_classifier(model, info, path)
    return accuracy


def save_classifier(model: keras.Model, info: dict, path: str | Path) -> None:
    """Writes a trained classifier with `info` inside its `.keras` file, without its optimizer
    (the file is for feature extraction only: a third of the size), atomically."""
    from tf_dcgan.files import atomic_output

    inference = build_classifier(info["image_size"], info["channels"], info["num_classes"],
                                 info["feature_dim"])
    inference.set_weights(model.get_weights())
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(Path(path)) as tmp:
        inference.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(INFO_ENTRY, json.dumps(info, indent=2))
