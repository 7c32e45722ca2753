"""The data: where images come from (folders, `.npy`/`.npz` files, TFDS, Debian's Fashion-MNIST),
what is done to their pixels, and the `tf.data` pipelines that batch them.
"""

from tf_dcgan.data.fashion_mnist import (
    DEBIAN_FASHION_MNIST_DIR,
    FASHION_MNIST_CLASSES,
    debian_fashion_mnist_installed,
    read_fashion_mnist_idx,
    read_fashion_mnist_split,
)
from tf_dcgan.data.folders import (
    IMAGE_EXTENSIONS,
    exif_orientation,
    read_folder,
)
from tf_dcgan.data.grids import (
    GRID_MIN_WIDTH,
    grid_scale,
    image_grid,
    upscale,
)
from tf_dcgan.data.images import (
    ImageSource,
    decode_image,
    decode_rgb,
    held_out_split,
    subset,
)
from tf_dcgan.data.pipelines import (
    AUTO_MEMORY_CACHE_BYTES,
    MIN_EPOCH_STEPS,
    dataset_fingerprint,
    default_steps_per_epoch,
    make_dataset,
    make_eval_dataset,
    make_training_stream,
    pass_steps,
    training_steps_per_epoch,
)
from tf_dcgan.data.sources import (
    read_array_file,
    read_images,
)
from tf_dcgan.data.tfds import (
    absolute_split,
    read_tfds,
    tfds_prepared,
)
from tf_dcgan.data.transforms import (
    apply_orientation,
    center_crop_square,
    composite_alpha,
    preprocess,
    resize_square,
    to_channels,
    to_uint8,
    to_unit_range,
)

__all__ = [
    "dataset_fingerprint",
    "AUTO_MEMORY_CACHE_BYTES",
    "DEBIAN_FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASSES",
    "IMAGE_EXTENSIONS",
    "MIN_EPOCH_STEPS",
    "ImageSource",
    "absolute_split",
    "apply_orientation",
    "center_crop_square",
    "composite_alpha",
    "debian_fashion_mnist_installed",
    "decode_image",
    "decode_rgb",
    "default_steps_per_epoch",
    "exif_orientation",
    "GRID_MIN_WIDTH",
    "grid_scale",
    "image_grid",
    "make_dataset",
    "make_eval_dataset",
    "make_training_stream",
    "pass_steps",
    "preprocess",
    "read_array_file",
    "read_fashion_mnist_idx",
    "read_fashion_mnist_split",
    "read_folder",
    "read_images",
    "read_tfds",
    "resize_square",
    "held_out_split",
    "subset",
    "tfds_prepared",
    "to_channels",
    "to_uint8",
    "to_unit_range",
    "training_steps_per_epoch",
    "upscale",
]
