import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import ROOT
from tests.serving_stub import GrpcServer, RestServer
from tf_dcgan.checks import ImageFormat
from tf_dcgan import build_generator
from tf_dcgan import export as export_lib

sys.path.insert(0, str(ROOT / "examples"))


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory):
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0)
    return export_lib.export_saved_model(generator, tmp_path_factory.mktemp("exports"))


def _expected(version_dir, num_images, seed):
    generate = tf.saved_model.load(str(version_dir)).signatures["generate"]
    return generate(num_images=tf.constant(num_images),
                    seed=tf.constant(seed, tf.int64))["images"].numpy()


def test_rest_client_gets_the_generated_pngs(version_dir):
    import rest_client

    with RestServer(version_dir) as server:
        pngs = rest_client.generate_pngs(server.url, "dcgan", num_images=3, seed=5)
    decoded = np.stack([iio.imread(png) for png in pngs])
    np.testing.assert_array_equal(decoded.reshape(3, 16, 16, 1), _expected(version_dir, 3, 5))


def test_grpc_client_gets_the_generated_pngs(version_dir):
    import grpc_client

    with GrpcServer(version_dir) as server:
        pngs = grpc_client.generate_pngs(server.target, "dcgan", num_images=2, seed=9)
    decoded = np.stack([iio.imread(png) for png in pngs])
    np.testing.assert_array_equal(decoded.reshape(2, 16, 16, 1), _expected(version_dir, 2, 9))


@pytest.fixture(scope="module")
def conditional_dir(tmp_path_factory):
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0,
                                classes=["circle", "square", "triangle"])
    return export_lib.export_saved_model(generator, tmp_path_factory.mktemp("exports"))


def test_the_clients_ask_a_conditional_model_for_a_class(conditional_dir):
    import grpc_client
    import rest_client

    generate = tf.saved_model.load(str(conditional_dir)).signatures["generate"]
    expected = generate(num_images=tf.constant(2), seed=tf.constant(4, tf.int64),
                        label=tf.constant(2))["images"].numpy()
    with RestServer(conditional_dir) as server:
        assert rest_client.class_names(server.url) == ["circle", "square", "triangle"]
        pngs = rest_client.generate_pngs(server.url, num_images=2, seed=4, label=2)
        noise = np.random.default_rng(0).normal(size=(2, 8))
        served = rest_client.requests.post(
            f"{server.url}/v1/models/dcgan:predict",
            json=rest_client.noise_body(noise, labels=[0, 2])).json()["predictions"]["images"]
    np.testing.assert_array_equal(np.stack([iio.imread(p) for p in pngs]).reshape(2, 16, 16, 1),
                                  expected)
    assert np.asarray(served).shape == (2, 16, 16, 1)
    with GrpcServer(conditional_dir) as server:
        pngs = grpc_client.generate_pngs(server.target, num_images=2, seed=4, label=2)
    np.testing.assert_array_equal(np.stack([iio.imread(p) for p in pngs]).reshape(2, 16, 16, 1),
                                  expected)
