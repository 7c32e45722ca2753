"""tf-dcgan: the DCGAN of Radford, Metz and Chintala (2015) in TensorFlow and Keras 3.

The package imports lazily: `import tf_dcgan` and its TensorFlow-free modules (`checks`, `config`,
`run_folder`, `environment`, `files`, `cli`) do not import TensorFlow, so command lines answer
`--help` and bad flags at once. The names below import their module (and TensorFlow) on first use;
`from tf_dcgan import DCGAN` also registers the class with Keras, which `keras.models.load_model`
needs for a `dcgan.keras` file.

Example:
    >>> from tf_dcgan import DCGAN, build_discriminator, build_generator
    >>> gan = DCGAN(build_generator(28, 1), build_discriminator(28, 1))
"""

import importlib

_EXPORTS = {
    "DCGAN": "tf_dcgan.gan",
    "LatentSpace": "tf_dcgan.latent",
    "latent_noise": "tf_dcgan.latent",
    "build_discriminator": "tf_dcgan.models",
    "build_generator": "tf_dcgan.models",
    "supported_image_sizes": "tf_dcgan.checks",
    "TrainConfig": "tf_dcgan.config",
    "RunFolder": "tf_dcgan.run_folder",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tf_dcgan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
