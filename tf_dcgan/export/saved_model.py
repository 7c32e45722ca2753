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

from pathlib import Path

import keras
import tensorflow as tf

from tf_dcgan.checks import (
    MAX_EXPORT_IMAGES,
    check_positive_int,
)
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.export.staging import staged_folder
from tf_dcgan.files import check_folder
from tf_dcgan.model.latent import LatentSpace, latent_noise
from tf_dcgan.model.saving import check_finite, check_generator


def next_version(model_dir: str | Path) -> int:
    """The next free integer version under `model_dir` (1 when there is none)."""
    model_dir = Path(model_dir)
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()] \
        if model_dir.is_dir() else []
    return max(versions, default=0) + 1


def build_archive(generator: keras.Model, max_images: int = 256) -> keras.export.ExportArchive:
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


def export_saved_model(generator: keras.Model, base_dir: str | Path, model_name: str = "dcgan",
                       version: int | None = None, max_images: int = 256,
                       overwrite: bool = False) -> Path:
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
    check_folder(base_dir, "Pick a folder for the exports.")
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
    with staged_folder(base_dir, target, str(version)) as staging:
        archive.write_out(str(staging), verbose=False)
    return target
