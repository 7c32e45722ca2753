"""What is done to pixels: channels, alpha, crop, resize, and [-1, 1] <-> uint8 both ways.

Every function takes and returns TensorFlow tensors and works eagerly, inside `tf.data.map` and
inside exported graphs, so the input pipeline, the callbacks and the SavedModel's `generate`
signature all convert images with the same code.
"""

import tensorflow as tf

from tf_dcgan.checks import check_channels, check_image_size, check_resize


def composite_alpha(image: tf.Tensor) -> tf.Tensor:
    """Drops an alpha channel by compositing over white (transparent backgrounds become white).

    Args:
        image: uint8 tensor (..., C) with C in 1-4; C of 2 (gray + alpha) or 4 (RGBA) is
            composited, other counts are returned unchanged.

    Returns:
        uint8 tensor with C - 1 channels for C in (2, 4), else `image`.
    """
    channels = image.shape[-1]
    if channels not in (2, 4):
        return image
    color = tf.cast(image[..., :channels - 1], tf.float32)
    alpha = tf.cast(image[..., channels - 1:], tf.float32) / 255.0
    return tf.cast(tf.round(color * alpha + 255.0 * (1.0 - alpha)), tf.uint8)


def to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """uint8 image with 1-4 channels -> uint8 image with `channels` (1 or 3) channels.

    Alpha is composited over white, gray is repeated to RGB, RGB becomes gray by luminance.
    """
    image = composite_alpha(image)
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        return tf.image.grayscale_to_rgb(image)
    return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)


def apply_orientation(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """Turns an (H, W, C) image as stored into the image as meant by its EXIF orientation (1-8).

    The eight values are the four rotations, each optionally mirrored (EXIF 2.3, tag 0x0112);
    1 leaves the image as it is. The same mapping as Pillow's `ImageOps.exif_transpose`.
    """
    branches = [
        lambda: image,  # 1: as stored
        lambda: tf.image.flip_left_right(image),  # 2: mirrored
        lambda: tf.image.rot90(image, 2),  # 3: upside down
        lambda: tf.image.flip_up_down(image),  # 4: mirrored upside down
        lambda: tf.transpose(image, [1, 0, 2]),  # 5: mirrored, on its side
        lambda: tf.image.rot90(image, 3),  # 6: turned 90 degrees (most phone portraits)
        lambda: tf.image.rot90(tf.transpose(image, [1, 0, 2]), 2),  # 7: mirrored, other side
        lambda: tf.image.rot90(image, 1),  # 8: turned 270 degrees
    ]
    index = tf.clip_by_value(tf.cast(orientation, tf.int32), 1, 8) - 1
    oriented = tf.switch_case(index, branches)
    return tf.ensure_shape(oriented, (None, None, image.shape[-1]))


def center_crop_square(image: tf.Tensor) -> tf.Tensor:
    """The largest centered square of an (H, W, C) image."""
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    return tf.image.crop_to_bounding_box(
        image, (shape[0] - side) // 2, (shape[1] - side) // 2, side, side
    )


def resize_square(image: tf.Tensor, image_size: int, resize: str = "crop") -> tf.Tensor:
    """uint8 (H, W, C) image -> uint8 (image_size, image_size, C), antialiased.

    Args:
        image: uint8 tensor of any height and width.
        image_size: the side of the result.
        resize: "crop" scales the short side and keeps the center square (the usual DCGAN face
            preprocessing); "stretch" scales the whole image to a square.
    """
    if resize == "crop":
        image = center_crop_square(image)
    resized = tf.image.resize(image, (image_size, image_size), method="area", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def preprocess(image: tf.Tensor, image_size: int, channels: int, resize: str = "crop") -> tf.Tensor:
    """uint8 image of any size and channel count -> uint8 (image_size, image_size, channels).

    Example:
        >>> preprocess(tf.zeros((40, 30, 4), tf.uint8), 16, 3).shape
        TensorShape([16, 16, 3])
    """
    check_image_size(image_size)
    check_channels(channels)
    check_resize(resize)
    image = to_channels(image, channels)
    if image.shape[0] == image_size and image.shape[1] == image_size:
        return image
    image = resize_square(image, image_size, resize)
    return tf.ensure_shape(image, (image_size, image_size, channels))


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generator's tanh output."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (rounded, clipped): the inverse of `to_unit_range`.

    Used for sample grids, the SavedModel's `generate` signature and anything saved as pixels.

    Example:
        >>> to_uint8(to_unit_range(tf.constant([0, 128, 255], tf.uint8))).numpy().tolist()
        [0, 128, 255]
    """
    images = tf.cast(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0, 255), tf.uint8)
