"""The model: the networks, the `keras.Model` that trains them, its layers and losses, the latent
space, and loading and saving.
"""

from tf_dcgan.model.gan import (
    DCGAN,
)
from tf_dcgan.model.latent import (
    LatentSpace,
    interpolate,
    latent_noise,
    replica_seed,
)
from tf_dcgan.model.layers import (
    ClassLabel,
    FastConv2D,
    FastConv2DTranspose,
    FusedBatchNormalization,
    LabelMaps,
)
from tf_dcgan.model.losses import (
    default_loss,
    discriminator_fake_loss,
    discriminator_real_loss,
    generator_loss,
)
from tf_dcgan.model.networks import (
    build_discriminator,
    build_generator,
    inference_copy,
    stock_copy,
)
from tf_dcgan.model.saving import (
    all_weights_finite,
    check_finite,
    check_generator,
    load_generator,
    load_model_file,
)

__all__ = [
    "ClassLabel",
    "DCGAN",
    "FastConv2D",
    "FastConv2DTranspose",
    "FusedBatchNormalization",
    "LabelMaps",
    "LatentSpace",
    "all_weights_finite",
    "inference_copy",
    "build_discriminator",
    "build_generator",
    "check_finite",
    "check_generator",
    "default_loss",
    "discriminator_fake_loss",
    "discriminator_real_loss",
    "generator_loss",
    "interpolate",
    "latent_noise",
    "load_generator",
    "load_model_file",
    "replica_seed",
    "stock_copy",
]
