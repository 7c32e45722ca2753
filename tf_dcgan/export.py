"""Shipping the generator: a SavedModel for TF Serving and a TFLite (LiteRT) model for phones.

The SavedModel has three signatures, all with BatchNorm in inference mode:

- `serving_default`: `noise` float32 [batch, latent_dim] -> `images` float32 [batch, H, W, C] in
  [-1, 1];
- `generate`: `num_images` int32 and `seed` int64 scalars -> `images` uint8 [num_images, H, W, C],
  the same images for the same seed (and the same as `DCGAN.generate(num_images, seed)`);
- `generate_png`: the same inputs -> `png_bytes`, one PNG-encoded image per string (TF Serving's
  REST API returns string outputs whose name ends in `_bytes` base64-encoded).

`num_images` outside [1, max_images] fails in the graph with an InvalidArgument error, so one
request cannot make a server allocate without bound.

A class-conditional generator's SavedModel takes a class too: `serving_default` takes `noise` and
`label` int32 [batch]; `generate` and `generate_png` take `num_images`, `seed` and `label` (int32
scalar: every image of that class); a label outside [0, num_classes) fails in the graph with an
InvalidArgument error that names it. A fourth signature, `classes` (no inputs), returns the
`class_names` (strings, index order) and their `labels`.

The TFLite model takes `noise` [1, latent_dim] (and a conditional one `label` int32 [1]) and
returns the image as float32 in [-1, 1]; random ops do not convert to TFLite, so phones draw the
noise themselves. It uses builtin ops only.
"""

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tf_dcgan.checks import (
    MAX_EXPORT_IMAGES,
    check_positive_int,
    check_quantize,
    error_summary,
)
from tf_dcgan.files import atomic_output, replace_directory
from tf_dcgan.latent import LatentSpace, latent_noise
from tf_dcgan.run_folder import RunFolder
from tf_dcgan.transforms import to_uint8


def check_generator(generator):
    """Raises ValueError unless `generator` is a Keras model from noise (and, for a conditional
    one, a class label) to images."""
    names = sorted(tensor.name.split(":")[0] for tensor in getattr(generator, "inputs", []) or [])
    shapes = [tuple(tensor.shape) for tensor in getattr(generator, "inputs", []) or []]
    unconditional = len(names) == 1 and len(shapes[0]) == 2
    conditional = names == ["label", "noise"]
    if not isinstance(generator, keras.Model) or not (unconditional or conditional) or (
        len(generator.output_shape) != 4
    ):
        raise ValueError(
            "generator must be a Keras model from noise [batch, latent_dim] (and, when "
            "conditional, a label [batch]) to images [batch, H, W, C]; received "
            f"{type(generator).__name__} with inputs {shapes} and output "
            f"{getattr(generator, 'output_shape', None)}. Pass a run's generator.keras."
        )


def check_finite(generator):
    """Raises ValueError when the generator's weights, or its images, are NaN or infinite.

    A generator whose training diverged makes only black images; it must not be shipped.
    """
    for weight in generator.weights:
        if not np.isfinite(np.asarray(weight)).all():
            raise ValueError(
                f"generator has non-finite weights (NaN or infinity) in {weight.path}; it makes "
                "only black images. Export the models of a run that did not diverge, or retrain "
                "with a lower --learning-rate."
            )
    probe = LatentSpace.of(generator).sample(4, 0)
    if not np.isfinite(np.asarray(generator(probe, training=False))).all():
        raise ValueError(
            "generator makes non-finite images (NaN or infinity) from finite noise. Export the "
            "models of a run that did not diverge."
        )


def load_model_file(path):
    """Loads a `.keras` file in Keras' safe mode without compiling; one clear error if it fails.

    Raises:
        ValueError: the file is missing or is not a Keras model file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"generator file not found: {str(path)!r}. Pass a run folder that finished an epoch "
            "(--run) or a generator .keras file (--generator)."
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        raise ValueError(
            f"could not load {str(path)!r} as a Keras model ({error_summary(error)}). "
            "Pass a generator.keras written by train.py or model.save()."
        ) from None


def load_generator(run_dir=None, path=None):
    """Loads a generator from a run folder (its generator.keras) or a `.keras` file.

    A whole-DCGAN file (dcgan.keras) works too: its generator is taken. The file is loaded in
    Keras' safe mode (no arbitrary code) and without compiling.

    Args:
        run_dir: a run folder written by `train.py`; or
        path: a `.keras` file of a generator or a whole `DCGAN`.

    Returns:
        The generator, a `keras.Model` from noise to images in [-1, 1].

    Raises:
        ValueError: the folder or file is missing, is not a Keras file, or holds no generator.

    Example:
        >>> generator = load_generator(path="docs/fashion_mnist_run/generator.keras")
    """
    from tf_dcgan.gan import DCGAN

    if run_dir is not None:
        path = RunFolder.open(run_dir).generator_path
    model = load_model_file(path)
    if isinstance(model, DCGAN):
        model = model.inference_generator()
    check_generator(model)
    return model


def next_version(model_dir):
    """The next free integer version under `model_dir` (1 when there is none)."""
    model_dir = Path(model_dir)
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()] \
        if model_dir.is_dir() else []
    return max(versions, default=0) + 1


def build_archive(generator, max_images=256):
    """The `keras.export.ExportArchive` with the three serving signatures (see the module).

    Args:
        generator: a Keras generator (noise -> images in [-1, 1]).
        max_images: the largest `num_images` the `generate` signatures accept.

    Returns:
        A `keras.export.ExportArchive`; `write_out(path)` writes it as a SavedModel.

    Example:
        >>> build_archive(generator).write_out("exports/dcgan/1")
    """
    check_generator(generator)
    check_positive_int("max_images", max_images,
                       "The default is 256; ask for more images in several requests.",
                       MAX_EXPORT_IMAGES)
    latent = LatentSpace.of(generator)

    def images_float(inputs):
        return generator(inputs, training=False)

    def checked(condition, message, value):
        return tf.debugging.Assert(condition, [message, value])

    def images_uint8(num_images, seed, label=None):
        checks = [checked(tf.logical_and(num_images >= 1, num_images <= max_images),
                          f"num_images must be between 1 and {max_images}; received num_images=",
                          num_images)]
        if label is not None:
            checks.append(checked(tf.logical_and(label >= 0, label < latent.num_classes),
                                  f"label must be a class in [0, {latent.num_classes}); received "
                                  "label=", label))
        with tf.control_dependencies(checks):
            noise = latent_noise(num_images, latent.latent_dim, seed)
            if label is not None:
                noise = {"noise": noise, "label": tf.fill(tf.reshape(num_images, [1]), label)}
        return to_uint8(images_float(noise))

    count_spec = [tf.TensorSpec([], tf.int32, name="num_images"),
                  tf.TensorSpec([], tf.int64, name="seed")]
    noise_spec = tf.TensorSpec([None, latent.latent_dim], tf.float32, name="noise")
    archive = keras.export.ExportArchive()
    archive.track(generator)
    if not latent.conditional:
        def serving_default(noise):
            return {"images": images_float(noise)}

        def generate(num_images, seed):
            return {"images": images_uint8(num_images, seed)}

        def generate_png(num_images, seed):
            return {"png_bytes": _png(images_uint8(num_images, seed))}

        archive.add_endpoint("serving_default", serving_default, input_signature=[noise_spec])
        archive.add_endpoint("generate", generate, input_signature=count_spec)
        archive.add_endpoint("generate_png", generate_png, input_signature=count_spec)
        return archive

    names = tf.constant(latent.class_names)

    def conditional_default(noise, label):
        in_range = tf.logical_and(tf.reduce_all(label >= 0),
                                  tf.reduce_all(label < latent.num_classes))
        check = checked(in_range, f"label must be classes in [0, {latent.num_classes}); received "
                        "label=", label)
        with tf.control_dependencies([check]):
            return {"images": images_float({"noise": noise, "label": tf.identity(label)})}

    def conditional_generate(num_images, seed, label):
        return {"images": images_uint8(num_images, seed, label)}

    def conditional_generate_png(num_images, seed, label):
        return {"png_bytes": _png(images_uint8(num_images, seed, label))}

    def classes():
        return {"class_names": names,
                "labels": tf.range(latent.num_classes, dtype=tf.int32)}

    label_spec = tf.TensorSpec([], tf.int32, name="label")
    archive.add_endpoint("serving_default", conditional_default, input_signature=[
        noise_spec, tf.TensorSpec([None], tf.int32, name="label")])
    archive.add_endpoint("generate", conditional_generate,
                         input_signature=count_spec + [label_spec])
    archive.add_endpoint("generate_png", conditional_generate_png,
                         input_signature=count_spec + [label_spec])
    archive.add_endpoint("classes", classes, input_signature=[])
    return archive


def _png(images):
    return tf.map_fn(tf.io.encode_png, images, fn_output_signature=tf.string)


def export_saved_model(generator, base_dir, model_name="dcgan", version=None, max_images=256,
                       overwrite=False):
    """Writes the generator as a TF Serving SavedModel at `base_dir/model_name/version/`.

    The version folder appears whole or not at all: it is written under a temporary name beside
    it and renamed, because TF Serving loads any version folder that shows up in the base folder.
    Replacing a version (`overwrite=True`) swaps the old folder for the new one in one step, so
    TF Serving always finds a complete model there. Staging folders of killed exports are
    removed.

    Args:
        generator: a Keras generator (noise -> images in [-1, 1]), e.g. from `generator.keras`.
        base_dir: TF Serving's model base folder (the one given to `--model_base_path`'s parent).
        model_name: the model's folder and serving name.
        version: integer version; default the next free one.
        max_images: the largest `num_images` the `generate` signatures accept.
        overwrite: replace an existing version folder.

    Returns:
        The version folder's path.

    Example:
        >>> export_saved_model(keras.models.load_model("runs/x/generator.keras"), "exports")
        PosixPath('exports/dcgan/1')
    """
    base_dir = Path(base_dir)
    if base_dir.exists() and not base_dir.is_dir():
        raise ValueError(
            f"out must be a folder; received out={str(base_dir)!r}, which is a file. "
            "Pick a folder for the exports."
        )
    if not model_name or "/" in model_name or model_name.startswith("."):
        raise ValueError(
            f"model_name must be a plain folder name; received model_name={model_name!r}. "
            "Use e.g. dcgan."
        )
    model_dir = base_dir / model_name
    if version is None:
        version = next_version(model_dir)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            f"version must be a positive integer; received version={version!r}. "
            "TF Serving only loads integer version folders; leave it out for the next free one."
        )
    target = model_dir / str(version)
    if target.exists() and not overwrite:
        raise ValueError(
            f"version {version} already exists at {target}; pass overwrite=True (--overwrite) to "
            "replace it, or leave the version out to write the next one."
        )
    check_finite(generator)
    archive = build_archive(generator, max_images)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(model_dir)
        # The PID in the name tells a later export whether this folder's writer is still alive.
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-{os.getpid()}-", dir=model_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; a serving user must be able to read it
    except OSError as error:
        raise ValueError(
            f"out must be a writable folder; could not write in {str(model_dir)!r} "
            f"({error.strerror}). Pick a folder you can write to."
        ) from None
    try:
        archive.write_out(str(staging), verbose=False)
        replace_directory(staging, target)
    except (OSError, tf.errors.OpError) as error:  # disk full, quota, permissions
        raise write_failed(target, error) from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


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


def export_tflite(generator, path, quantize="none", representative_samples=200, seed=0):
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
    if latent.conditional:
        inputs = {"noise": noise,
                  "label": keras.Input((), batch_size=1, dtype="int32", name="label")}
    if quantize == "int8" and _ends_in_tanh(generator):
        # A trained generator's pre-tanh values reach -150 and beyond for a flat background, so
        # one int8 scale over that range is ~0.6 wide where tanh is steepest. Clipping them to
        # [-4, 4] changes the image by at most 1 - tanh(4) = 7e-4 and cut the mean error 5x here.
        logits = keras.Model(generator.input, generator.layers[-1].input)(inputs, training=False)
        images = keras.layers.Activation("tanh")(keras.ops.clip(logits, -4.0, 4.0))
    else:
        images = generator(inputs, training=False)
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
    flex_ops = _non_builtin_ops(model)
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


def write_failed(path, error):
    """The one-line ValueError for a write that failed (disk full, quota, permissions)."""
    message = getattr(error, "strerror", None) or error_summary(error)
    return ValueError(
        f"could not write {str(path)!r} ({message}). Free disk space or pick another --out; "
        "nothing that was already there was changed."
    )


def _ends_in_tanh(generator):
    last = generator.layers[-1]
    return isinstance(last, keras.layers.Activation) and last.get_config()["activation"] == "tanh"


def _non_builtin_ops(model_bytes):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_bytes)
    names = {op["op_name"] for op in interpreter._get_ops_details()}
    return sorted(n for n in names if n.startswith("Flex") or n == "CUSTOM")
