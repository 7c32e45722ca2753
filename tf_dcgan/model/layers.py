"""Layers the networks are built from that Keras lacks, or where its own are slower on TensorFlow.

`ClassLabel` is a conditional network's label input, with the class names in its config;
`LabelMaps` turns labels into one-hot maps joined to a discriminator's image.
`FusedBatchNormalization` is Keras' `BatchNormalization` whose training-mode pass runs TensorFlow's
fused kernel (`FusedBatchNormV3`: one op, oneDNN on CPU, cuDNN on GPU) instead of Keras 3's
separate moments, subtractions and multiplications, which are not fused on the TF backend.
`FastConv2D` and `FastConv2DTranspose` are Keras' strided convolutions whose backward pass takes
other forms of the same sums where oneDNN runs them faster on a CPU: the bfloat16 kernel gradient
into or out of a small map as one forward convolution (oneDNN's bf16 weight-gradient kernel is
slow without AMX), and the transposed convolution into an image through its 2x2 blocks
(`benchmarks/weight_grad.py`, Zen 4, batch 64: the kernel gradient of 8x8x256 -> 4x4x512 in
12.5 against 37.3 ms; 64x64x3 <- 32x32x64 in 3.3 against 7.3 ms).
"""

import functools

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_dcgan")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` with TensorFlow's fused kernel in training mode.

    The same layer, arguments, weights and results as Keras' (within float32 round-off): batch
    statistics normalise in training, the moving averages use the biased batch variance as Keras
    does, and inference mode is Keras' own code, so exports (SavedModel, TFLite) are unchanged.
    The fused kernel runs for 4-D channels-last inputs with a plain configuration (no mask,
    renorm or synchronization); anything else falls back to Keras' implementation.

    Under a `tf.distribute` strategy the moving statistics are averaged across replicas at every
    update, so every replica (and every worker) holds the same ones.

    Under a mixed-precision policy the fused kernel takes bfloat16 or float16 activations
    directly, with float32 statistics, scale and offset.

    Args:
        **kwargs: those of `keras.layers.BatchNormalization`.

    Example:
        >>> layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5)
        >>> layer(keras.random.normal((8, 4, 4, 16)), training=True).shape
        TensorShape([8, 4, 4, 16])
    """

    def add_weight(self, *args, **kwargs):
        # Keras 3 creates the moving statistics with aggregation "none": under a tf.distribute
        # strategy each replica then keeps the statistics of its own share of the batch, and
        # the replicas' copies drift apart (only the chief's are saved). "mean" averages every
        # update across the replicas, as tf.keras 2's BatchNormalization did, so all replicas
        # hold the same statistics. Outside a strategy it changes nothing.
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            kwargs.setdefault("aggregation", "mean")
        return super().add_weight(*args, **kwargs)

    def _fusable(self, inputs, mask):
        return (inputs.shape.rank == 4 and self.axis in (-1, 3) and mask is None
                and not self.renorm and not self.synchronized and self.scale and self.center)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        if inputs.dtype not in (tf.float32, tf.bfloat16, tf.float16):
            inputs = tf.cast(inputs, tf.float32)
        empty = tf.constant([], tf.float32)
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=self.gamma, offset=self.beta, mean=empty, variance=empty,
            epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC",
            is_training=True,
        )
        # The kernel returns the unbiased (Bessel-corrected) batch variance; Keras averages the
        # biased one, with which both normalise.
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return tf.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="tf_dcgan")
class ClassLabel(keras.layers.Layer):
    """The class-label input of a conditional network, with the classes' names in its config.

    Passes the labels on as int32 (one per image, shape `(batch,)`). Its `class_names` travel with
    the model in every `.keras` file, so an exported generator can say which index is which class.

    Args:
        class_names: the classes' names in index order; their count is the number of classes.

    Example:
        >>> ClassLabel(["shirt", "shoe"])(keras.ops.array([1, 0])).dtype
        'int32'
    """

    def __init__(self, class_names: list[str], **kwargs):
        kwargs.setdefault("dtype", "int32")
        super().__init__(**kwargs)
        self.class_names = [str(name) for name in class_names]

    def call(self, labels):
        return tf.cast(tf.reshape(labels, [-1]), tf.int32)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_config(self):
        return {**super().get_config(), "class_names": self.class_names}


@keras.saving.register_keras_serializable(package="tf_dcgan")
class LabelMaps(keras.layers.Layer):
    """One-hot class maps the size of an image: labels `(batch,)` to `(batch, size, size, K)`.

    Joined to a discriminator's image as extra channels (`conditioning="concat"`).

    Args:
        num_classes: K, the number of maps.
        size: their height and width.
    """

    def __init__(self, num_classes: int, size, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.size = size

    def call(self, labels):
        maps = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes, dtype=self.compute_dtype)
        return tf.tile(maps[:, None, None, :], [1, self.size, self.size, 1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "size": self.size}


# The strided convolutions' backward passes, and the transposed convolution into an image, in
# forms that oneDNN runs faster than TensorFlow's own ops for the DCGAN's shapes (kernel 4,
# stride 2, "same"); `benchmarks/weight_grad.py` times each against the op it replaces.
FEW_CHANNELS = 4  # an image's channels: to so few, the transposed op is faster through 2x2 blocks
SMALL_MAP = 8  # from an 8x8 map down, the bf16 kernel gradient is faster as a forward convolution


def _same_padding(size, output_size, kernel, stride):
    """The [before, after] padding of a "same" convolution over `size` that gives `output_size`
    (TensorFlow's rule: the odd one goes after), or None where "same" pads nothing and drops some
    rows instead."""
    total = (output_size - 1) * stride + kernel - size
    return None if total < 0 else [total // 2, total - total // 2]


def _kernel_gradient(inputs, output_gradient, kernel_shape, strides):
    """The kernel gradient of a "same"-padded strided convolution of `inputs` that gave
    `output_gradient`, computed as one forward convolution.

    The gradient is `dW[i, j, c, f] = sum over n, y, x of padded_inputs[n, s*y + i, s*x + j, c] *
    output_gradient[n, y, x, f]`: a convolution of the inputs with the channels as the batch and
    the batch as the channels, by the output gradient as the filter, dilated by the stride. In
    bfloat16 oneDNN's forward kernel runs it faster than its weight-gradient kernel where the
    output map is small.
    """
    height, width = kernel_shape[:2]
    rows = _same_padding(inputs.shape[1], output_gradient.shape[1], height, strides[0])
    columns = _same_padding(inputs.shape[2], output_gradient.shape[2], width, strides[1])
    gradient = tf.nn.conv2d(tf.transpose(inputs, [3, 1, 2, 0]),
                            tf.transpose(output_gradient, [1, 2, 0, 3]), strides=1,
                            padding=[[0, 0], rows, columns, [0, 0]], dilations=list(strides))
    return tf.transpose(gradient, [1, 2, 0, 3])


def _native_kernel_gradient(inputs, output_gradient, kernel_shape, strides):
    return tf.raw_ops.Conv2DBackpropFilter(
        input=inputs, filter_sizes=list(kernel_shape), out_backprop=output_gradient,
        strides=[1, *strides, 1], padding="SAME")


def _transpose_into_image(inputs, kernel):
    """`conv2d_transpose(inputs, kernel, strides=2, padding="same")` for a 4x4 kernel, through the
    2x2 blocks of its output: the 4x4 stride-2 convolution of the output is the 2x2 stride-1
    convolution of its (one-pixel padded) blocks stacked as channels (`space_to_depth`), so its
    transpose is the stride-1 2x2 transposed convolution into the blocks, back to pixels with
    `depth_to_space` and the padding cut off. The same sum, and on oneDNN about twice as fast as
    the stride-2 op when the output has few channels (an image)."""
    channels, filters = kernel.shape[2], kernel.shape[3]
    # (block row, row in block, block column, column in block, C, F) -> blocks' 2x2 kernel.
    blocks_kernel = tf.reshape(
        tf.transpose(tf.reshape(kernel, [2, 2, 2, 2, channels, filters]), [0, 2, 1, 3, 4, 5]),
        [2, 2, 4 * channels, filters])
    height, width = inputs.shape[1], inputs.shape[2]
    blocks = tf.raw_ops.Conv2DBackpropInput(
        input_sizes=tf.stack([tf.shape(inputs)[0], height + 1, width + 1, 4 * channels]),
        filter=blocks_kernel, out_backprop=inputs, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depth_to_space(blocks, 2)[:, 1:-1, 1:-1, :]


@functools.cache
def _has_gpu():
    # TensorFlow's devices are fixed once it has started; the layers ask at every call.
    return bool(tf.config.list_logical_devices("GPU"))


def _plan(layer, image_shape, small_shape):
    """Which faster forms a strided layer takes, from its shapes: `blocks` (its transposed
    convolution into `image_shape`, the larger side, through 2x2 blocks) and `forward_kernel`
    (its kernel gradient as a forward convolution). Both False: Keras' own layer, as for other
    kernels, strides and paddings, and on a machine with a GPU (cuDNN has its own kernels)."""
    image, small = list(image_shape[1:]), list(small_shape[1:])
    if (len(image) != 3 or len(small) != 3 or None in image + small
            or tuple(layer.kernel_size) != (4, 4) or tuple(layer.strides) != (2, 2)
            or layer.padding != "same" or layer.data_format != "channels_last"
            or tuple(layer.dilation_rate) != (1, 1) or _has_gpu()):
        return False, False
    blocks = image[2] <= FEW_CHANNELS and image[:2] == [2 * small[0], 2 * small[1]]
    forward_kernel = (layer.compute_dtype == "bfloat16" and max(small[:2]) <= SMALL_MAP
                      and _same_padding(image[0], small[0], 4, 2) is not None
                      and _same_padding(image[1], small[1], 4, 2) is not None)
    return blocks, forward_kernel


@keras.saving.register_keras_serializable(package="tf_dcgan")
class FastConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose backward pass takes faster forms on a CPU (oneDNN).

    For the DCGAN's strided convolutions (kernel 4, stride 2, "same"): the kernel gradient in
    bfloat16 into a map of 8x8 or smaller is one forward convolution (oneDNN's bf16
    weight-gradient kernel is slower there), and the input gradient of an image (4 channels or
    fewer) is the transposed convolution through 2x2 blocks. The same sums in another order:
    equal within the precision's rounding. The forward pass is TensorFlow's own; any other
    layer, or a machine with a GPU, runs exactly Keras' layer. `inference_copy` turns it back
    into `Conv2D`.
    """

    def convolution_op(self, inputs, kernel):
        inputs = tf.convert_to_tensor(inputs)
        small = [None, *(None if side is None else -(-side // 2) for side in inputs.shape[1:3]),
                 self.filters]
        blocks, forward_kernel = _plan(self, inputs.shape, small)
        if not (blocks or forward_kernel):
            return super().convolution_op(inputs, kernel)
        kernel_gradient = _kernel_gradient if forward_kernel else _native_kernel_gradient

        @tf.custom_gradient
        def convolve(x, w):
            def gradient(dy):
                if blocks:
                    dx = _transpose_into_image(dy, w)
                else:
                    dx = tf.raw_ops.Conv2DBackpropInput(
                        input_sizes=tf.shape(x), filter=w, out_backprop=dy,
                        strides=[1, 2, 2, 1], padding="SAME")
                return dx, kernel_gradient(x, dy, w.shape, (2, 2))

            return tf.nn.conv2d(x, w, 2, "SAME"), gradient

        return convolve(inputs, tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="tf_dcgan")
class FastConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` that takes faster forms on a CPU (oneDNN), as `FastConv2D`.

    Into an image (4 channels or fewer) the transposed convolution itself goes through 2x2 blocks;
    out of a map of 8x8 or smaller its bfloat16 kernel gradient is one forward convolution (the
    convolution's, with the output gradient and the input in each other's places). The input
    gradient is TensorFlow's forward convolution, as in Keras' layer. Only in training: called
    with `training=False` (sampling, evaluation, export) it is exactly Keras' layer.
    `inference_copy` turns it back into `Conv2DTranspose`.
    """

    def call(self, inputs, training=None):
        inputs = tf.convert_to_tensor(inputs)
        if not training or self.output_padding is not None or self.activation not in (
                None, keras.activations.linear) or None in inputs.shape[1:3]:
            return super().call(inputs)
        image = [None, inputs.shape[1] * 2, inputs.shape[2] * 2, self.filters]
        blocks, forward_kernel = _plan(self, image, inputs.shape)
        if not (blocks or forward_kernel):
            return super().call(inputs)
        output_shape = tf.stack([tf.shape(inputs)[0], *image[1:]])
        kernel_gradient = _kernel_gradient if forward_kernel else _native_kernel_gradient

        @tf.custom_gradient
        def convolve(x, w):
            def gradient(dy):
                return tf.nn.conv2d(dy, w, 2, "SAME"), kernel_gradient(dy, x, w.shape, (2, 2))

            if blocks:
                return _transpose_into_image(x, w), gradient
            return tf.nn.conv2d_transpose(x, w, output_shape, 2, "SAME"), gradient

        outputs = convolve(inputs, tf.convert_to_tensor(self.kernel))
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        return outputs


# The names these layers had in tf-dcgan 0.2.0 (only the kernel gradient into and out of the 4x4
# map, as a matrix product of the input's patches), kept so the dcgan.keras files of then load.
@keras.saving.register_keras_serializable(package="tf_dcgan")
class MatmulGradConv2D(FastConv2D):
    """`FastConv2D` under its tf-dcgan 0.2.0 name, for the files written then."""


@keras.saving.register_keras_serializable(package="tf_dcgan")
class MatmulGradConv2DTranspose(FastConv2DTranspose):
    """`FastConv2DTranspose` under its tf-dcgan 0.2.0 name, for the files written then."""
