"""A generator from any file it ships as, called one way: `.keras`, a SavedModel folder, `.tflite`.

`open_generator` gives a `GeneratorFile`: its `latent` (what it takes) and `images(inputs)` (what
it makes, float32 in [-1, 1]). `generate.py` writes PNGs through it, so the same seed gives the same
images from a run's `generator.keras`, the SavedModel `export.py` wrote (its `serving_default`
signature) and the `.tflite` file (LiteRT's interpreter, one image per call as on a phone), within
each format's tolerance.

A conditional `.tflite` file does not hold its class names or count: they are read from the
model's own card, `OUT/NAME/MODEL_CARD.json` for `OUT/NAME.tflite` (`export.py` writes one card
per exported model), and checked against the model itself.
"""

import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from tf_dcgan.checks import error_summary
from tf_dcgan.environment import native_stderr_silenced
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.model.saving import check_finite, load_generator
from tf_dcgan.model_card import card_path

# Rows per call for the Keras and SavedModel kinds (a TFLite model takes one image per call).
BATCH = 256


class GeneratorFile:
    """A loaded generator of any kind: `kind`, `path`, `latent` and `images(inputs)`.

    Args:
        kind: "keras", "saved_model" or "tflite".
        path: where it was loaded from.
        latent: the `LatentSpace` of its inputs.
        run: a function from one batch of inputs (as `latent.sample` gives) to images.
    """

    def __init__(self, kind: str, path: Path, latent: LatentSpace,
                 run: Callable[[object], np.ndarray]):
        self.kind, self.path, self.latent, self._run = kind, path, latent, run

    def images(self, inputs) -> np.ndarray:
        """float32 images (N, H, W, C) in [-1, 1] for `inputs` from `self.latent.sample`."""
        noise = inputs["noise"] if isinstance(inputs, dict) else inputs
        return np.concatenate([
            np.asarray(self._run(_rows(inputs, start, start + BATCH)), np.float32)
            for start in range(0, len(noise), BATCH)])


def open_generator(run_dir: str | Path | None = None,
                   path: str | Path | None = None) -> GeneratorFile:
    """Opens a run's generator, or a generator file of any kind it ships as.

    Args:
        run_dir: a run folder written by `train.py` (its generator.keras); or
        path: a `.keras` file (generator or whole DCGAN), a SavedModel folder written by
            `export.py` (OUT/dcgan/1), or a `.tflite` file written by `export.py --tflite`.

    Raises:
        ValueError: the path is missing or is no generator of these kinds.

    Example:
        >>> generator = open_generator(path="exports/dcgan.tflite")
        >>> images = generator.images(generator.latent.sample(4, seed=0))
    """
    if run_dir is None and path is not None:
        path = Path(path)
        if path.is_dir():
            return _saved_model(path)
        if path.suffix == ".tflite":
            return _tflite(path)
    generator = load_generator(run_dir=run_dir, path=path)
    check_finite(generator)
    return keras_generator_file(generator, path or run_dir)


def _saved_model(path):
    import tensorflow as tf

    if not (path / "saved_model.pb").is_file():
        raise ValueError(
            f"{str(path)!r} is a folder without saved_model.pb. Pass a SavedModel version folder "
            "written by export.py (e.g. exports/dcgan/1), a .keras or a .tflite file.")
    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
    except Exception as error:  # TensorFlow raises many types for a bad SavedModel
        raise ValueError(f"could not load {str(path)!r} as a generator SavedModel "
                         f"({error_summary(error)}). Pass a folder written by export.py.") from None
    specs = signature.structured_input_signature[1]
    if "noise" not in specs or "images" not in signature.structured_outputs:
        raise ValueError(f"{str(path)!r} has no serving_default from noise to images. Pass a "
                         "SavedModel written by export.py.")
    latent_dim = int(specs["noise"].shape[-1])
    if "label" in specs:
        try:
            classes = loaded.signatures["classes"]()
            names = [name.decode() for name in classes["class_names"].numpy()]
        except (KeyError, AttributeError, UnicodeDecodeError, ValueError):
            names = []
        if not names:
            raise ValueError(f"{str(path)!r} takes a class label but has no classes signature "
                             "naming its classes. Pass a SavedModel written by export.py, or "
                             "generate from the run (--run) or its .keras file.")
        latent = LatentSpace(latent_dim, len(names), names)

        def run(inputs):
            return signature(noise=tf.constant(inputs["noise"]),
                             label=tf.constant(inputs["label"]))["images"].numpy()
    else:
        latent = LatentSpace(latent_dim)

        def run(inputs):
            return signature(noise=tf.constant(inputs))["images"].numpy()
    return GeneratorFile("saved_model", path, latent, run)


def _tflite(path):
    from ai_edge_litert.interpreter import Interpreter

    if not path.is_file():
        raise ValueError(f"generator file not found: {str(path)!r}. Pass a .tflite file written "
                         "by export.py --tflite.")
    try:
        interpreter = Interpreter(model_path=str(path))
        runner = interpreter.get_signature_runner()
        details = runner.get_input_details()
    except Exception as error:  # the LiteRT bindings raise ValueError or RuntimeError
        raise ValueError(f"could not load {str(path)!r} as a TFLite model "
                         f"({error_summary(error)}). Pass a .tflite file written by "
                         "export.py --tflite.") from None
    if "noise" not in details:
        raise ValueError(f"{str(path)!r} takes {sorted(details)}, not noise. Pass a .tflite file "
                         "written by export.py --tflite.")
    latent_dim = int(details["noise"]["shape"][-1])
    conditional = "label" in details

    def run(inputs):
        noise = np.asarray(inputs["noise"] if conditional else inputs, np.float32)
        labels = np.asarray(inputs["label"], np.int32) if conditional else None
        images = []
        with native_stderr_silenced():  # LiteRT's "INFO: Created ... XNNPACK delegate" note
            for index, row in enumerate(noise):
                feed = {"noise": row[np.newaxis]}
                if labels is not None:
                    feed["label"] = labels[index:index + 1]
                (image,) = runner(**feed).values()
                images.append(image[0])
        return np.stack(images)

    latent = LatentSpace(latent_dim)
    if conditional:
        names = _card_class_names(path)
        _check_class_count(path, names, run, latent_dim)
        latent = LatentSpace(latent_dim, len(names), names)
    return GeneratorFile("tflite", path, latent, run)


# Class names shown in an error at most; a card may hold any number.
_SHOWN_NAMES = 5


def _card_class_names(path):
    card = card_path(path)
    try:
        names = json.loads(card.read_text())["model"]["class_names"]
    except (OSError, ValueError, KeyError, TypeError):
        names = None
    if not names:
        raise ValueError(
            f"{str(path)!r} is a conditional model, and its classes are read from {card}, which "
            "is missing or names none. Keep the model card export.py wrote for it, or generate "
            "from the run (--run) or its SavedModel.")
    if not (isinstance(names, list) and all(isinstance(name, str) for name in names)):
        raise ValueError(
            f"{card} must list the class names as strings; received class_names of type "
            f"{type(names).__name__}. Restore the card export.py wrote, or export the model "
            "again.")
    return names


def _check_class_count(path, names, run, latent_dim):
    """Refuses a card whose names do not fit the model: its last class must run, one more not."""
    noise = np.zeros((1, latent_dim), np.float32)

    def runs(label):
        try:
            run({"noise": noise, "label": np.array([label], np.int32)})
            return True
        except Exception:  # LiteRT raises RuntimeError on a gather index out of bounds
            return False

    if not runs(len(names) - 1) or runs(len(names)):
        shown = ", ".join(names[:_SHOWN_NAMES]) + (", ..." if len(names) > _SHOWN_NAMES else "")
        raise ValueError(
            f"{card_path(path)} names {len(names)} classes ({shown}), which is not the number "
            f"{str(path)!r} has: the card is another model's. Export the model again (export.py "
            "writes its own card), or generate from its run (--run).")


def _rows(inputs, start, stop):
    if isinstance(inputs, dict):
        return {name: np.asarray(value)[start:stop] for name, value in inputs.items()}
    return np.asarray(inputs)[start:stop]


def keras_generator_file(generator: keras.Model, path: str | Path = "<memory>") -> GeneratorFile:
    """A Keras generator (e.g. from `load_generator`) as a `GeneratorFile` of kind "keras"."""
    return GeneratorFile("keras", Path(path), LatentSpace.of(generator),
                         lambda inputs: generator(inputs, training=False))
