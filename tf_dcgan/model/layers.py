"""Layers the networks are built from that Keras lacks, or where its own are slower on TensorFlow.

`ClassLabel` is a conditional network's label input, with the class names in its config;
`LabelMaps` turns labels into one-hot maps joined to a discriminator's image.
`FusedBatchNormalization` is Keras' `BatchNormalization` whose training-mode pass runs TensorFlow's
fused kernel (`FusedBatchNormV3`: one op, oneDNN on CPU, cuDNN on GPU) instead of Keras 3's
separate moments, subtractions and multiplications, which are not fused on the TF backend.
`MatmulGradConv2D` and `MatmulGradConv2DTranspose` are Keras' strided convolutions whose kernel
gradient, in bfloat16, is one matrix product instead of oneDNN's bf16 weight-gradient kernel,
which on a CPU without AMX is slower than float32's for the deepest layers (`benchmarks/
weight_grad.py`: 15.0 against 34.9 ms for 8x8x256 -> 4x4x512, batch 64, Zen 4).
"""

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


def _kernel_gradient(inputs, output_gradient, kernel_shape, strides):
    """The kernel gradient of a "same"-padded convolution of `inputs` that gave `output_gradient`'s
    shape: every kernel-sized patch of the inputs (`extract_patches` pads as the convolution
    does) against the output gradient, summed over batch and positions, as one matrix product."""
    height, width, channels, filters = kernel_shape
    patches = tf.image.extract_patches(inputs, [1, height, width, 1], [1, *strides, 1],
                                       [1, 1, 1, 1], "SAME")
    patches = tf.reshape(patches, [-1, height * width * channels])
    product = tf.linalg.matmul(patches, tf.reshape(output_gradient, [-1, filters]),
                               transpose_a=True)
    return tf.reshape(product, kernel_shape)


def _matmul_gradient_applies(layer):
    # The bfloat16 weight-gradient kernel is the slow one; elsewhere Keras' own op is used.
    return (layer.compute_dtype == "bfloat16" and layer.padding == "same"
            and layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1))


@keras.saving.register_keras_serializable(package="tf_dcgan")
class MatmulGradConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose kernel gradient in bfloat16 is one matrix product.

    The forward pass and the input gradient are TensorFlow's own convolutions; only the kernel
    gradient is computed differently (the same sum, in another order: within bfloat16's rounding
    of it). In float32, or with padding other than "same", it is exactly Keras' layer. The
    networks use it where it is faster (the layer that makes the 4x4 map) and `inference_copy`
    turns it back into `Conv2D`.
    """

    def convolution_op(self, inputs, kernel):
        if not _matmul_gradient_applies(self):
            return super().convolution_op(inputs, kernel)
        strides = tuple(self.strides)

        @tf.custom_gradient
        def convolve(x, w):
            def gradient(dy):
                dx = tf.raw_ops.Conv2DBackpropInput(
                    input_sizes=tf.shape(x), filter=w, out_backprop=dy,
                    strides=[1, *strides, 1], padding="SAME")
                return dx, _kernel_gradient(x, dy, w.shape, strides)

            return tf.nn.conv2d(x, w, strides, "SAME"), gradient

        return convolve(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="tf_dcgan")
class MatmulGradConv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` whose kernel gradient in bfloat16 is one matrix product
    (the convolution's, with the output gradient and the input in each other's places), as
    `MatmulGradConv2D`. Without bias or activation; `inference_copy` turns it back into
    `Conv2DTranspose`."""

    def call(self, inputs):
        if not _matmul_gradient_applies(self) or self.use_bias or self.activation not in (
                None, keras.activations.linear) or self.output_padding is not None:
            return super().call(inputs)
        strides = tuple(self.strides)
        output_shape = tf.stack([tf.shape(inputs)[0], inputs.shape[1] * strides[0],
                                 inputs.shape[2] * strides[1], self.filters])

        @tf.custom_gradient
        def convolve(x, w):
            def gradient(dy):
                return tf.nn.conv2d(dy, w, strides, "SAME"), _kernel_gradient(
                    dy, x, w.shape, strides)

            return tf.nn.conv2d_transpose(x, w, output_shape, strides, "SAME"), gradient

        return convolve(tf.convert_to_tensor(inputs), tf.convert_to_tensor(self.kernel))
