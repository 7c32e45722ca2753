import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def tiny_images():
    """64 random images in [-1, 1] of shape 16x16x1, a stand-in batch source."""
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(64, 16, 16, 1)).astype("float32")


@pytest.fixture
def tiny_gan():
    """A compiled 16x16 grayscale DCGAN with 8 base filters and a fixed seed."""
    from tf_dcgan import DCGAN, build_discriminator, build_generator

    def make(**compile_kwargs):
        generator = build_generator(16, 1, latent_dim=8, base_filters=8, seed=1)
        discriminator = build_discriminator(16, 1, base_filters=8, seed=2)
        gan = DCGAN(generator, discriminator, latent_dim=8, seed=3)
        gan.compile(**compile_kwargs)
        return gan

    return make
