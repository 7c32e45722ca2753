"""The generator as a TFLite (LiteRT) model for phones and the browser: builtin ops only.

The model takes `noise` [1, latent_dim] (a conditional generator's also `label` int32 [1]) and
returns the image in [-1, 1]; random ops do not convert, so the caller draws the noise. Weights
are float32, float16 or full int8 (calibrated on noise, float32 input and output).
"""

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    check_quantize,
)
from tf_dcgan.export.staging import write_failed
from tf_dcgan.files import atomic_output
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.model.saving import check_finite, check_generator


def export_tflite(generator: keras.Model, path: str | Path, quantize: str = "none",
                  representative_samples: int = 200, seed: int = 0) -> Path:
    """Converts the generator to a TFLite (LiteRT) model with builtin ops only.

    The model takes `noise` float32 [1, latent_dim] (a conditional generator's also `label`
    int32 [1]) and returns the image float32 [1, H, W, C] in [-1, 1], with BatchNorm folded in
    inference mode.

    Args:
        generator: a Keras generator.
        path: the `.tflite` file to write (atomically).
        quantize: "none" (float32), "float16" (float16 weights, half the size), or "int8"
            (full-integer weights and activations, calibrated on `representative_samples` noise
            vectors; float32 input and output).
        representative_samples: noise vectors for int8 calibration.
        seed: seed of the calibration noise.

    Returns:
        The path written.

    Example:
        >>> export_tflite(generator, "exports/dcgan.tflite", quantize="float16")
    """
    check_generator(generator)
    check_quantize(quantize)
    check_finite(generator)
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(
            f"path must end in .tflite; received path={str(path)!r}. Use e.g. dcgan.tflite."
        )
    latent = LatentSpace.of(generator)

    # A batch-1 functional wrapper that calls the generator in inference mode; the converter
    # freezes its weights and folds BatchNorm's moving statistics into the graph.
    noise = keras.Input((latent.latent_dim,), batch_size=1, name="noise")
    inputs = noise
    clipped = quantize == "int8" and _ends_in_tanh(generator)
    # A trained generator's pre-tanh values reach -150 and beyond for a flat background, so one
    # int8 scale over that range is ~0.6 wide where tanh is steepest. Clipping them to [-4, 4]
    # changes the image by at most 1 - tanh(4) = 7e-4 and cut the mean error 5x here.
    tail = generator.layers[-1].input if clipped else generator.output
    if latent.conditional:
        label = keras.Input((), batch_size=1, dtype="int32", name="label")
        inputs = {"noise": noise, "label": label}
        projected = _split_projection(generator, latent)(noise, label)
        outputs = keras.Model(generator.get_layer("project").output, tail)(projected,
                                                                          training=False)
    else:
        outputs = keras.Model(generator.input, tail)(inputs, training=False)
    images = (keras.layers.Activation("tanh")(keras.ops.clip(outputs, -4.0, 4.0)) if clipped
              else outputs)
    wrapper = keras.Model(inputs, images, name="generator_batch1")
    if latent.conditional:
        # The converter's Keras path takes one input only (two fail in its legacy freezing), and
        # a concrete function keeps the weights as variables; a SavedModel converts whole.
        archive = keras.export.ExportArchive()
        archive.track(wrapper)
        archive.add_endpoint(
            "serving_default",
            lambda noise, label: {"images": wrapper({"noise": noise, "label": label},
                                                    training=False)},
            input_signature=[tf.TensorSpec([1, latent.latent_dim], tf.float32, name="noise"),
                             tf.TensorSpec([1], tf.int32, name="label")])
        saved = Path(tempfile.mkdtemp(prefix="tf-dcgan-tflite-"))  # removed after convert()
        archive.write_out(str(saved), verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    else:
        saved = None
        converter = tf.lite.TFLiteConverter.from_keras_model(wrapper)
    # Builtin ops only: a model that needs the Flex (Select TF ops) delegate fails to convert here
    # instead of failing on the phone.
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        calibration = latent.sample(representative_samples, seed)

        def representative_dataset():
            if not latent.conditional:
                for row in calibration.numpy():
                    yield [row[np.newaxis]]
                return
            for row, label in zip(calibration["noise"].numpy(), calibration["label"].numpy()):
                yield {"noise": row[np.newaxis], "label": np.array([label], np.int32)}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    # The converter's Keras export prints its endpoints on stdout; keep the CLI's output short.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model = converter.convert()
    finally:
        if saved is not None:
            shutil.rmtree(saved, ignore_errors=True)
    flex_ops = non_builtin_ops(model)
    if flex_ops:
        raise ValueError(
            f"the converted model needs ops that are not TFLite builtins: {', '.join(flex_ops)}. "
            "This generator cannot run on the stock LiteRT runtime; report it with the model."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(model)
    except OSError as error:
        raise write_failed(path, error) from None
    return path


def _split_projection(generator, latent):
    """The conditional generator's projection of [noise, one-hot label] as noise @ W_noise plus
    the label's row of W_label: the same sum, with each part quantized on its own scale.

    Trained, the label rows of the projection grow larger than the noise rows (max |w| 1.10
    against 0.30 in docs/conditional_run): sharing one int8 scale per output channel crushed the
    noise rows, and the int8 model's images were wrong (mean error 0.16-0.41 per class against
    the Keras model; split, 0.006-0.017, as the unconditional model's).
    """
    kernel = np.asarray(generator.get_layer("project").kernel)
    noise_rows = keras.layers.Dense(kernel.shape[1], use_bias=False, name="project_noise")
    label_rows = keras.layers.Embedding(latent.num_classes, kernel.shape[1],
                                        name="project_label")
    noise_rows.build((None, latent.latent_dim))
    label_rows.build((None,))
    noise_rows.set_weights([kernel[:latent.latent_dim]])
    label_rows.set_weights([kernel[latent.latent_dim:]])
    return lambda noise, label: keras.layers.Add(name="project_sum")(
        [noise_rows(noise), label_rows(label)])


def _ends_in_tanh(generator):
    last = generator.layers[-1]
    return isinstance(last, keras.layers.Activation) and last.get_config()["activation"] == "tanh"


def non_builtin_ops(model_bytes: bytes) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    names = {op["op_name"] for op in interpreter._get_ops_details()}
    return sorted(n for n in names if n.startswith("Flex") or n == "CUSTOM")
