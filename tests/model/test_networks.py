import keras
import numpy as np
import pytest

from tf_dcgan.checks import ImageFormat
from tf_dcgan import build_discriminator, build_generator, supported_image_sizes


@pytest.mark.parametrize("image_size", [16, 28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(image_size, channels):
    generator = build_generator(ImageFormat(image_size, channels), latent_dim=10, base_filters=4)
    discriminator = build_discriminator(ImageFormat(image_size, channels), base_filters=4)
    images = generator(np.zeros((2, 10), "float32"))
    assert images.shape == (2, image_size, image_size, channels)
    assert discriminator(images).shape == (2, 1)


def test_paper_sizes_are_supported():
    assert {28, 32, 64, 128} <= set(supported_image_sizes())


def test_default_networks_are_the_pytorch_examples_64x64_dcgan():
    generator = build_generator()
    discriminator = build_discriminator()
    shapes = [layer.output.shape[1:] for layer in generator.layers
              if isinstance(layer, keras.layers.ReLU)]
    assert shapes == [(4, 4, 512), (8, 8, 256), (16, 16, 128), (32, 32, 64)]
    assert generator.output_shape == (None, 64, 64, 3)
    shapes = [layer.output.shape[1:] for layer in discriminator.layers
              if isinstance(layer, keras.layers.LeakyReLU)]
    assert shapes == [(32, 32, 64), (16, 16, 128), (8, 8, 256), (4, 4, 512)]


@pytest.mark.parametrize("bad", [48, 0, 100, "64", 64.0])
def test_unsupported_image_size_names_the_sizes_that_work(bad):
    with pytest.raises(ValueError, match=r"image_size must be one of .*28, 32.*64.*128.*received"):
        build_generator(ImageFormat(bad))
    with pytest.raises(ValueError, match=r"image_size must be one of"):
        build_discriminator(ImageFormat(bad))


def test_bad_channels_and_latent_dim_are_refused():
    with pytest.raises(ValueError, match="channels must be 1 .* or 3"):
        build_generator(ImageFormat(64, 4))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        build_generator(ImageFormat(64), latent_dim=0)


def _kinds(model):
    # FusedBatchNormalization is Keras' BatchNormalization with a faster training kernel, and
    # FastConv2D / FastConv2DTranspose Keras' convolutions with faster backward passes.
    def kind(layer):
        for keras_layer in (keras.layers.BatchNormalization, keras.layers.Conv2DTranspose,
                            keras.layers.Conv2D):
            if isinstance(layer, keras_layer):
                return keras_layer.__name__
        return type(layer).__name__

    return [kind(layer) for layer in model.layers]


def test_batchnorm_everywhere_except_generator_output_and_discriminator_input():
    generator = build_generator(ImageFormat(64, 3), base_filters=8)
    kinds = _kinds(generator)
    # Every hidden layer of G (projection and all but the last transposed conv) is followed by BN.
    for index, kind in enumerate(kinds):
        if kind in ("Dense", "Conv2DTranspose") and index != len(kinds) - 2:
            following = kinds[index + 1:index + 3]
            assert "BatchNormalization" in following, (index, kinds)
    assert kinds[-2:] == ["Conv2DTranspose", "Activation"]
    assert generator.layers[-1].get_config()["activation"] == "tanh"
    assert kinds.count("ReLU") == kinds.count("BatchNormalization")

    discriminator = build_discriminator(ImageFormat(64, 3), base_filters=8)
    kinds = _kinds(discriminator)
    conv_indices = [i for i, kind in enumerate(kinds) if kind == "Conv2D"]
    assert kinds[conv_indices[0] + 1] == "LeakyReLU"  # no BN on D's input layer
    for index in conv_indices[1:]:
        assert kinds[index + 1] == "BatchNormalization"
    for layer in discriminator.layers:
        if isinstance(layer, keras.layers.LeakyReLU):
            assert layer.negative_slope == pytest.approx(0.2)
    # Logits: the last layer is linear.
    assert discriminator.layers[-1].get_config()["activation"] == "linear"


def test_no_pooling_and_no_hidden_fully_connected_layers():
    for model in (build_generator(ImageFormat(64, 3), base_filters=8),
                  build_discriminator(ImageFormat(64, 3), base_filters=8)):
        kinds = _kinds(model)
        assert not any("Pool" in kind for kind in kinds)
        assert kinds.count("Dense") == 1  # G's projection of z; D's single output
    assert _kinds(build_generator(ImageFormat(64), base_filters=8))[1] == "Dense"
    assert _kinds(build_discriminator(ImageFormat(64), base_filters=8))[-2] == "Dense"


def test_weights_start_from_normal_0_002_and_gamma_from_normal_1_002():
    for model in (build_generator(seed=0), build_discriminator(seed=0)):
        for layer in model.layers:
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose,
                                  keras.layers.Dense)):
                kernel = layer.kernel.numpy()
                if kernel.size > 10000:
                    assert abs(kernel.mean()) < 0.002, layer.name
                    assert kernel.std() == pytest.approx(0.02, rel=0.05), layer.name
            if isinstance(layer, keras.layers.BatchNormalization):
                gamma = layer.gamma.numpy()
                assert gamma.mean() == pytest.approx(1.0, abs=0.01), layer.name
                assert gamma.std() == pytest.approx(0.02, rel=0.35), layer.name
                assert np.all(layer.beta.numpy() == 0)


def test_generator_input_is_named_noise_and_output_is_in_tanh_range():
    generator = build_generator(ImageFormat(28, 1), latent_dim=16, base_filters=4)
    assert generator.inputs[0].name == "noise"
    images = generator(np.random.default_rng(0).normal(size=(8, 16)) * 100, training=False)
    assert float(np.max(np.abs(images))) <= 1.0


def test_seed_makes_initial_weights_reproducible():
    first = build_generator(ImageFormat(28, 1), base_filters=4, seed=7).get_weights()
    second = build_generator(ImageFormat(28, 1), base_filters=4, seed=7).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
