"""tf-dcgan: the DCGAN of Radford, Metz and Chintala (2015) in TensorFlow and Keras 3."""

from tf_dcgan.gan import DCGAN, latent_noise
from tf_dcgan.models import build_discriminator, build_generator, supported_image_sizes

__all__ = [
    "DCGAN",
    "build_discriminator",
    "build_generator",
    "latent_noise",
    "supported_image_sizes",
]
__version__ = "0.1.0"
