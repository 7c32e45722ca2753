"""Layers the networks are built from that Keras lacks, or where its own are slower on TensorFlow.

`ClassLabel` is a conditional network's label input, with the class names in its config;
`LabelMaps` turns labels into one-hot maps joined to a discriminator's image.
`SpectralConv2D`, `SpectralDense` and `SpectralEmbedding` divide their weight by its spectral norm
with the gradient taken through it, as Miyato et al. (2018) do (Keras' wrapper does not).
`FusedBatchNormalization` is Keras' `BatchNormalization` whose training-mode pass runs TensorFlow's
fused kernel (`FusedBatchNormV3`: one op, oneDNN on CPU, cuDNN on GPU) instead of Keras 3's
separate moments, subtractions and multiplications, which are not fused on the TF backend.
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


class _SpectralNormalized:
    """What the spectrally normalised layers share: W / sigma(W), with the gradient through sigma.

    As in Miyato et al. (2018) and their reference code: sigma(W) = v W u^T with u and v from one
    power iteration on the stored u and held fixed for the gradient, so the gradient reaches W
    through both W and sigma(W) (Keras' `SpectralNormalization` instead writes W / sigma back into
    the kernel and differentiates at that point). The raw weight is never overwritten; the layer
    computes with the normalised copy. A training call stores the new u (a non-trainable weight,
    saved and checkpointed, averaged across `tf.distribute` replicas, which compute the same one);
    an inference call uses the same sigma without storing it. The weight, u and sigma are float32
    under any dtype policy; only the normalised weight is cast to the compute dtype.
    """

    normalized_weight_name = "kernel"

    def add_weight(self, *args, **kwargs):
        if kwargs.get("name") == self.normalized_weight_name:
            kwargs["autocast"] = False  # read in float32 for sigma; cast once normalised
        return super().add_weight(*args, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        weight = getattr(self, f"_{self.normalized_weight_name}")
        self.vector_u = self.add_weight(
            shape=(1, weight.shape[-1]), name="vector_u", trainable=False, dtype="float32",
            initializer=keras.initializers.RandomNormal(stddev=1.0), autocast=False,
            aggregation="mean",
        )

    # Conv2D, Dense and Embedding save only their kernel and bias (or table); Layer's own save
    # and load keep every weight, the power-iteration vector too.
    def save_own_variables(self, store):
        keras.layers.Layer.save_own_variables(self, store)

    def load_own_variables(self, store):
        keras.layers.Layer.load_own_variables(self, store)

    def _biased(self, outputs):
        """A convolution's or dense layer's outputs with its bias and activation, as Keras'."""
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, tf.cast(self.bias, outputs.dtype))
        return outputs if self.activation is None else self.activation(outputs)

    def normalized_weight(self, training=False):
        """The weight divided by its largest singular value, in the compute dtype."""
        weight = tf.convert_to_tensor(getattr(self, f"_{self.normalized_weight_name}"))
        matrix = tf.reshape(weight, (-1, weight.shape[-1]))
        vector_u = tf.convert_to_tensor(self.vector_u)
        vector_v = tf.math.l2_normalize(tf.matmul(vector_u, matrix, transpose_b=True))
        vector_u = tf.math.l2_normalize(tf.matmul(vector_v, matrix))
        vector_u, vector_v = tf.stop_gradient(vector_u), tf.stop_gradient(vector_v)
        sigma = tf.matmul(tf.matmul(vector_v, matrix), vector_u, transpose_b=True)
        if training:
            self.vector_u.assign(vector_u)
        return tf.cast(weight / sigma, self.compute_dtype)


@keras.saving.register_keras_serializable(package="tf_dcgan")
class SpectralConv2D(_SpectralNormalized, keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose kernel is divided by its spectral norm (Miyato et al. 2018).

    The kernel, reshaped to (height * width * input channels, filters), has its largest singular
    value estimated by one power iteration per training call; see `_SpectralNormalized`.

    Args:
        **kwargs: those of `keras.layers.Conv2D`.

    Example:
        >>> layer = SpectralConv2D(8, 3, padding="same")
        >>> layer(keras.random.normal((2, 8, 8, 3)), training=True).shape
        TensorShape([2, 8, 8, 8])
    """

    def call(self, inputs, training=False):
        return self._biased(self.convolution_op(inputs, self.normalized_weight(training)))


@keras.saving.register_keras_serializable(package="tf_dcgan")
class SpectralDense(_SpectralNormalized, keras.layers.Dense):
    """`keras.layers.Dense` whose kernel is divided by its spectral norm; see `SpectralConv2D`.

    Example:
        >>> SpectralDense(1)(keras.random.normal((2, 16)), training=True).shape
        TensorShape([2, 1])
    """

    def call(self, inputs, training=False):
        return self._biased(tf.matmul(inputs, self.normalized_weight(training)))


@keras.saving.register_keras_serializable(package="tf_dcgan")
class SpectralEmbedding(_SpectralNormalized, keras.layers.Embedding):
    """`keras.layers.Embedding` whose table (classes x features) is divided by its spectral norm.

    The projection discriminator's class embedding, normalised as in Miyato and Koyama (2018).

    Example:
        >>> SpectralEmbedding(3, 4)(keras.ops.convert_to_tensor([0, 2]), training=True).shape
        TensorShape([2, 4])
    """

    normalized_weight_name = "embeddings"

    def call(self, inputs, training=False):
        return tf.gather(self.normalized_weight(training), tf.cast(inputs, tf.int32))

    def compute_output_spec(self, inputs, training=False):
        return super().compute_output_spec(inputs)


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
