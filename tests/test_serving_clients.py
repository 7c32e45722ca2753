import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT
from tests.serving_stub import GrpcServer, RestServer
from tf_dcgan import build_generator
from tf_dcgan import export as export_lib

sys.path.insert(0, str(ROOT / "examples"))


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory):
    generator = build_generator(16, 1, latent_dim=8, base_filters=4, seed=0)
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
