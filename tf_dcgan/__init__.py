"""tf-dcgan: the DCGAN of Radford, Metz and Chintala (2015) in TensorFlow and Keras 3.

The package is laid out by stage of the pipeline, each subpackage collapsing its modules into one
namespace (`tf_dcgan.model`, `tf_dcgan.data`, `tf_dcgan.training`, `tf_dcgan.evaluation`,
`tf_dcgan.export`); the TensorFlow-free foundation (`checks`, `config`, `run_folder`, `files`,
`environment`, `cli`) sits at the top. The names below are what a user's own code needs.

`import tf_dcgan` does not import TensorFlow, so the command lines answer `--help` and bad flags at
once; each name imports its subpackage on first use. The package's Keras classes are registered
as soon as Keras is imported (now, or later), so after `import tf_dcgan`,
`keras.models.load_model` reads every `.keras` file the project writes.

Example:
    >>> import tf_dcgan
    >>> fmt = tf_dcgan.ImageFormat(28, 1)
    >>> gan = tf_dcgan.DCGAN(tf_dcgan.build_generator(fmt), tf_dcgan.build_discriminator(fmt))
"""

import importlib

from tf_dcgan.environment import register_when_keras_loads

_EXPORTS = {
    # the model
    "DCGAN": "tf_dcgan.model",
    "ImageFormat": "tf_dcgan.checks",
    "ClassLabels": "tf_dcgan.checks",
    "build_generator": "tf_dcgan.model",
    "build_discriminator": "tf_dcgan.model",
    "LatentSpace": "tf_dcgan.model",
    "latent_noise": "tf_dcgan.model",
    "interpolate": "tf_dcgan.model",
    "load_generator": "tf_dcgan.model",
    "inference_copy": "tf_dcgan.model",
    # the data
    "read_images": "tf_dcgan.data",
    "make_dataset": "tf_dcgan.data",
    "make_training_stream": "tf_dcgan.data",
    "make_eval_dataset": "tf_dcgan.data",
    "image_grid": "tf_dcgan.data",
    # training
    "prepare_run": "tf_dcgan.training",
    "train": "tf_dcgan.training",
    "SampleGrid": "tf_dcgan.training",
    "TrainingGif": "tf_dcgan.training",
    "LossHistory": "tf_dcgan.training",
    "DivergenceGuard": "tf_dcgan.training",
    "TensorBoardLogger": "tf_dcgan.training",
    # evaluation
    "choose_extractor": "tf_dcgan.evaluation",
    "evaluate_generator": "tf_dcgan.evaluation",
    "ImageSet": "tf_dcgan.evaluation",
    "score_features": "tf_dcgan.evaluation",
    "evaluate": "tf_dcgan.evaluation",
    # export
    "export_saved_model": "tf_dcgan.export",
    "export_tflite": "tf_dcgan.export",
    "export_web": "tf_dcgan.export",
    "write_images": "tf_dcgan.export",
    "open_generator": "tf_dcgan.export",
    # settings and run folders (no TensorFlow)
    "TrainConfig": "tf_dcgan.config",
    "RunFolder": "tf_dcgan.run_folder",
    "supported_image_sizes": "tf_dcgan.checks",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.2.0"

register_when_keras_loads("tf_dcgan.model")


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tf_dcgan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
