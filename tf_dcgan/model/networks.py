"""Generator and discriminator builders, as in Radford, Metz and Chintala (2015).

Both networks are all-convolutional: the generator projects the noise to a small spatial map and
doubles it with one fractional-strided (transposed) convolution per step; the discriminator halves
the image with one strided convolution per step and ends in a single logit. There is no pooling and
no hidden fully connected layer. BatchNorm sits everywhere except at the generator's output and the
discriminator's input; the generator uses ReLU and a tanh output, the discriminator LeakyReLU(0.2).
Weights start from N(0, 0.02) and BatchNorm's gamma from N(1, 0.02).
"""

import keras
from keras import layers

from tf_dcgan.checks import (
    BASE_SIZES,
    ClassLabels,
    ImageFormat,
    check_image_format,
    check_image_size,
    check_positive_int,
    check_precision,
)
from tf_dcgan.deprecation import old_argument, old_form
from tf_dcgan.model.layers import (
    ClassLabel,
    FastConv2D,
    FastConv2DTranspose,
    FusedBatchNormalization,
    LabelMaps,
    MatmulGradConv2D,
    MatmulGradConv2DTranspose,
)


def _num_doublings(image_size):
    """How many stride-2 layers lead from the base map to `image_size` (and the base map's size)."""
    check_image_size(image_size)
    for base in BASE_SIZES:
        doublings = 0
        size = image_size
        while size % 2 == 0 and size > base:
            size //= 2
            doublings += 1
        if size == base:
            return doublings, base
    raise AssertionError("unreachable: size was checked above")  # pragma: no cover


def _weight_init(seed):
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def _gamma_init(seed):
    return keras.initializers.RandomNormal(mean=1.0, stddev=0.02, seed=seed)


def _batch_norm(name, seed, dtype=None, synchronized=False):
    # momentum 0.9 and epsilon 1e-5 are PyTorch's BatchNorm2d defaults, which the reference DCGANs use.
    # The fused layer is Keras' BatchNormalization with TensorFlow's fused kernel in training.
    return FusedBatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(seed), name=name, dtype=dtype,
        synchronized=synchronized,
    )


def _seeds(seed):
    """A distinct initializer seed per layer, or None everywhere for Keras' global seeding."""
    counter = [0]

    def next_seed():
        if seed is None:
            return None
        counter[0] += 1
        return seed * 1000 + counter[0]

    return next_seed


def _classes_v1(num_classes, class_names, conditioning="projection"):
    """The old (num_classes, class_names, conditioning) arguments as a `ClassLabels`, checked."""
    if num_classes is None:
        if class_names is not None:
            raise ValueError(
                "class_names needs num_classes; received class_names without num_classes. "
                f"Pass num_classes={len(class_names)}."
            )
        return None
    labels = ClassLabels.of(num_classes, conditioning)
    if class_names is None:
        return labels
    if len(class_names) != num_classes:
        raise ValueError(
            f"class_names must name every class; received {len(class_names)} names for "
            f"num_classes={num_classes}. Pass one name per class, in index order."
        )
    return ClassLabels(tuple(class_names), conditioning)


def _format_v1(image_size, channels):
    # A mixed call (an ImageFormat first, an old keyword after it) keeps its ImageFormat.
    return image_size if isinstance(image_size, ImageFormat) else ImageFormat(image_size, channels)


def _build_generator_v1(image_size=64, channels=3, latent_dim=100, base_filters=64, seed=None,
                        dtype=None, sync_batchnorm=False, num_classes=None, class_names=None):
    """pass ImageFormat(image_size, channels) first and classes=num_classes or class_names,
    e.g. build_generator(ImageFormat(28, 1), classes=10)."""
    return build_generator(_format_v1(image_size, channels), latent_dim, base_filters, seed,
                           dtype, sync_batchnorm, _classes_v1(num_classes, class_names))


def _build_discriminator_v1(image_size=64, channels=3, base_filters=64, seed=None, dtype=None,
                            sync_batchnorm=False, num_classes=None, class_names=None,
                            conditioning="projection", architecture="dcgan"):
    """pass ImageFormat(image_size, channels) first and classes=ClassLabels.of(num_classes or
    class_names, conditioning), e.g. build_discriminator(ImageFormat(28, 1), classes=10)."""
    if architecture != "dcgan":
        raise ValueError(
            f"architecture {architecture!r} was retired: the SNDCGAN discriminator trained worse "
            "than the paper's on both test sets (docs/training.md, 'SNDCGAN, measured and "
            "retired'). Leave architecture out, or use tf-dcgan 0.1.0.")
    return build_discriminator(_format_v1(image_size, channels), base_filters, seed, dtype,
                               sync_batchnorm, _classes_v1(num_classes, class_names, conditioning))


# The old forms took (image_size, channels, ...): an int first, or their own keywords.
_OLD_NETWORK_KEYWORDS = {"image_size", "channels", "num_classes", "class_names", "conditioning",
                         "architecture"}


_old_network_call = old_argument(0, _OLD_NETWORK_KEYWORDS,
                                 lambda value: not isinstance(value, ImageFormat))


def _label_input(class_names):
    labels = keras.Input(shape=(), dtype="int32", name="label")
    return labels, ClassLabel(class_names, name="class_label")(labels)


@old_form(_build_generator_v1, _old_network_call)
def build_generator(image_format: ImageFormat = ImageFormat(64, 3), latent_dim: int = 100,
                    base_filters: int = 64, seed: int | None = None, dtype: str | None = None,
                    sync_batchnorm: bool = False,
                    classes: "int | list[str] | ClassLabels | None" = None) -> keras.Model:
    """Builds the DCGAN generator: noise of shape `(latent_dim,)` to images in [-1, 1].

    The noise is projected (a matrix multiplication reshaped to a 4x4 or 7x7 map, the paper's
    "project and reshape") to `base_filters * 2**(n-1)` feature maps, then each of n transposed
    convolutions (kernel 4, stride 2) doubles the size and halves the filters; the last one gives
    `channels` maps through tanh. With the defaults this is the pytorch/examples 64x64 generator
    (4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3).

    Args:
        image_format: the images made: `ImageFormat(size, channels)`; size is the height and
            width (`supported_image_sizes()`: 28, 32, 64, 128, ...), channels 1 (grayscale) or 3.
        latent_dim: length of the noise vector z (the paper uses 100).
        base_filters: filters of the last hidden layer (the paper's ngf, 64).
        seed: optional integer that makes the initial weights reproducible.
        dtype: the layers' dtype policy: None (float32) or a mixed-precision policy name,
            "mixed_bfloat16" or "mixed_float16" (weights float32, activations 16-bit). The output
            is float32 either way.
        sync_batchnorm: under a `tf.distribute` strategy, BatchNorm normalises with the
            statistics of the global batch (all replicas) instead of each replica's own share;
            no effect outside a strategy or on inference.
        classes: a class count, the class names or a `ClassLabels`: a class-conditional
            generator, which also takes a `label` input (int32, one per image), joined one-hot to
            the noise before the projection; the names are stored in the model (a count names
            them "0", "1", ...). None: exactly the unconditional network.

    The old form `build_generator(image_size, channels, ..., num_classes, class_names)` still
    works, with a DeprecationWarning.

    Example:
        >>> g = build_generator(ImageFormat(28, 1))
        >>> g(keras.random.normal((2, 100))).shape
        TensorShape([2, 28, 28, 1])
    """
    image_format = check_image_format(image_format)
    doublings, base = _num_doublings(image_format.size)
    check_positive_int("latent_dim", latent_dim, "The paper uses latent_dim=100.")
    check_positive_int("base_filters", base_filters, "The paper uses base_filters=64.")
    check_precision(dtype or "float32")
    classes = ClassLabels.of(classes)
    class_names = None if classes is None else list(classes.names)
    num_classes = None if classes is None else len(classes)
    next_seed = _seeds(seed)

    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = noise, noise
    if class_names is not None:
        labels, label_ids = _label_input(class_names)
        # One-hot, as in Mirza and Osindero (2014): the projection's label rows start at
        # N(0, 0.02) like z's. A learned N(0, 1) embedding here made G ignore z (every sample of
        # a class the same image after 5 epochs, recall 0.000; docs/evaluation.md, "A chosen class, measured").
        one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot",
                                          dtype=dtype)(label_ids)
        x = layers.Concatenate(name="noise_and_label", dtype=dtype)([noise, one_hot])
        inputs = {"noise": noise, "label": labels}
    filters = base_filters * 2 ** (doublings - 1)
    x = layers.Dense(
        base * base * filters, use_bias=False, kernel_initializer=_weight_init(next_seed()),
        name="project", dtype=dtype,
    )(x)
    x = layers.Reshape((base, base, filters), name="reshape", dtype=dtype)(x)
    x = _batch_norm("project_bn", next_seed(), dtype, sync_batchnorm)(x)
    x = layers.ReLU(name="project_relu", dtype=dtype)(x)
    for i in range(1, doublings):
        filters //= 2
        x = FastConv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False,
            kernel_initializer=_weight_init(next_seed()), name=f"up{i}", dtype=dtype,
        )(x)
        x = _batch_norm(f"up{i}_bn", next_seed(), dtype, sync_batchnorm)(x)
        x = layers.ReLU(name=f"up{i}_relu", dtype=dtype)(x)
    x = FastConv2DTranspose(
        image_format.channels, 4, strides=2, padding="same",
        kernel_initializer=_weight_init(next_seed()), name=f"up{doublings}", dtype=dtype,
    )(x)
    # float32 output keeps tanh's range exact under a mixed-precision policy.
    images = layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name="generator")


@old_form(_build_discriminator_v1, _old_network_call)
def build_discriminator(image_format: ImageFormat = ImageFormat(64, 3), base_filters: int = 64,
                        seed: int | None = None, dtype: str | None = None,
                        sync_batchnorm: bool = False,
                        classes: "int | list[str] | ClassLabels | None" = None
                        ) -> keras.Model:
    """Builds the DCGAN discriminator: images in [-1, 1] to one real-vs-fake logit per image.

    Each of n strided convolutions (kernel 4, stride 2) halves the size and doubles the filters,
    starting at `base_filters` with no BatchNorm on the first (the paper's rule for D's input),
    down to a 4x4 or 7x7 map that is flattened into a single linear output; LeakyReLU(0.2).
    With the defaults this is the pytorch/examples 64x64 discriminator (64x64x3 -> 32x32x64 ->
    16x16x128 -> 8x8x256 -> 4x4x512 -> 1).

    The output is a logit (no sigmoid), so losses use `from_logits=True`.

    Args:
        image_format: the images taken: `ImageFormat(size, channels)`, as for `build_generator`.
        base_filters: filters of the first layer (the paper's ndf, 64).
        seed: optional integer that makes the initial weights reproducible.
        dtype: the layers' dtype policy, as for `build_generator`; the logits are float32.
        sync_batchnorm: BatchNorm over the global batch under a strategy, as for `build_generator`.
        classes: a class count, the class names or a `ClassLabels`: a conditional discriminator
            that also takes a `label` input. None: exactly the unconditional network. How it uses
            the label is `ClassLabels.conditioning` (a count or names: "projection").
            "projection" (Miyato and Koyama 2018): the logit gains the inner product of a
            learned class embedding with the flattened features,
            `logit = w . phi(x) + b + e_y . phi(x)`. "concat": one-hot label maps are joined to
            the image as extra input channels (Mirza and Osindero 2014, as in keras-io's
            conditional GAN).

    The old form `build_discriminator(image_size, channels, ..., num_classes, class_names,
    conditioning)` still works, with a DeprecationWarning; its `architecture="sndcgan"` (the
    SNDCGAN discriminator of tf-dcgan 0.1.0) was retired and is refused.

    Example:
        >>> d = build_discriminator(ImageFormat(28, 1))
        >>> d(keras.random.normal((2, 28, 28, 1))).shape
        TensorShape([2, 1])
    """
    image_format = check_image_format(image_format)
    image_size, channels = image_format.size, image_format.channels
    doublings, _ = _num_doublings(image_size)
    check_positive_int("base_filters", base_filters, "The paper uses base_filters=64.")
    check_precision(dtype or "float32")
    next_seed = _seeds(seed)

    classes = ClassLabels.of(classes)
    class_names = None if classes is None else list(classes.names)
    num_classes = None if classes is None else len(classes)
    conditioning = None if classes is None else classes.conditioning

    images = keras.Input(shape=(image_size, image_size, channels), name="images")
    x = images
    inputs = images
    if class_names is not None:
        labels, label_ids = _label_input(class_names)
        inputs = {"images": images, "label": labels}
        if conditioning == "concat":
            maps = LabelMaps(num_classes, image_size, name="label_maps", dtype=dtype)(label_ids)
            x = layers.Concatenate(name="images_and_labels", dtype=dtype)([images, maps])
    filters = base_filters
    for i in range(1, doublings + 1):
        x = FastConv2D(
            filters, 4, strides=2, padding="same", use_bias=False,
            kernel_initializer=_weight_init(next_seed()), name=f"down{i}", dtype=dtype,
        )(x)
        if i > 1:
            x = _batch_norm(f"down{i}_bn", next_seed(), dtype, sync_batchnorm)(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=f"down{i}_lrelu", dtype=dtype)(x)
        filters *= 2
    features = layers.Flatten(name="flatten", dtype=dtype)(x)
    x = layers.Dense(1, kernel_initializer=_weight_init(next_seed()), name="logit",
                     dtype=dtype)(features)
    if class_names is not None and conditioning == "projection":
        embedded = layers.Embedding(
            num_classes, features.shape[-1], embeddings_initializer=_weight_init(next_seed()),
            name="class_projection", dtype=dtype,
        )(label_ids)
        projection = layers.Dot(axes=1, name="projection", dtype=dtype)([embedded, features])
        x = layers.Add(name="logit_plus_projection", dtype=dtype)([x, projection])
    logits = layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name="discriminator")


# The training-speed layers and the Keras layers they stand in for, with the same weights.
_STOCK = {FusedBatchNormalization: keras.layers.BatchNormalization,
          FastConv2D: keras.layers.Conv2D,
          FastConv2DTranspose: keras.layers.Conv2DTranspose,
          MatmulGradConv2D: keras.layers.Conv2D,
          MatmulGradConv2DTranspose: keras.layers.Conv2DTranspose}


def inference_copy(model: keras.Model) -> keras.Model:
    """The model as it is saved to `generator.keras` and exported: float32, Keras' own layers.

    A network trained under a mixed-precision policy keeps float32 weights; the copy computes in
    float32 too, so the saved and exported generator is the same float32 model whatever the
    training precision was. `FusedBatchNormalization` and the `Fast` convolutions (training
    speed only) become Keras' own `BatchNormalization`, `Conv2D` and `Conv2DTranspose` with the
    same weights: inference runs the same code, so the outputs are identical, and an
    unconditional generator loads in plain Keras without this package.

    Args:
        model: keras.Model. A network built by `build_generator` or `build_discriminator`.

    Returns:
        The model itself when it already is float32 with stock layers, else a copy.

    Example:
        >>> copy = inference_copy(build_generator(28, 1, dtype="mixed_bfloat16"))
        >>> copy.layers[1].compute_dtype, type(copy.get_layer("project_bn")).__name__
        ('float32', 'BatchNormalization')
    """
    mixed = any(layer.dtype_policy.name.startswith("mixed_") for layer in model.layers)
    fused = any(isinstance(layer, tuple(_STOCK)) for layer in model.layers)
    if not (mixed or fused):
        return model
    return stock_copy(model, dtype="float32" if mixed else None)


def stock_copy(model: keras.Model, kinds: tuple = tuple(_STOCK),
               dtype: str | None = None) -> keras.Model:
    """A copy of `model` with Keras' own layer in place of each of this library's training-speed
    layers of `kinds`, with the same weights.

    `FusedBatchNormalization` becomes `BatchNormalization`, `FastConv2D` `Conv2D` and
    `FastConv2DTranspose` `Conv2DTranspose`: the same sums, in Keras' own code. `inference_copy`
    swaps them all, in float32; a comparison of the fast layers against Keras' swaps only those
    (`tests/model/test_precision.py`, `benchmarks/fast_convolutions.py`).

    Args:
        model: keras.Model. A network built by `build_generator` or `build_discriminator`.
        kinds: tuple of classes. The layers to swap; default all of them.
        dtype: str, optional. The copy's dtype policy, e.g. "float32"; default the model's.

    Returns:
        A new model; the other layers are clones of the model's.

    Example:
        >>> copy = stock_copy(build_discriminator(28, 1), kinds=(FastConv2D,))
        >>> type(copy.get_layer("down2")).__name__, type(copy.get_layer("down2_bn")).__name__
        ('Conv2D', 'FusedBatchNormalization')
    """
    def stock_layer(layer):
        config = layer.get_config() if dtype is None else {**layer.get_config(), "dtype": dtype}
        kind = _STOCK.get(type(layer)) if isinstance(layer, kinds) else None
        return (kind or type(layer)).from_config(config)

    copy = keras.models.clone_model(model, clone_function=stock_layer)
    copy.set_weights(model.get_weights())
    return copy
