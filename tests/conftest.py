"""Fixtures shared by the tests; helper functions live in tests/helpers.py."""

import numpy as np
import pytest

from tests.helpers import save_image
from tf_dcgan.checks import ImageFormat


def pytest_addoption(parser):
    parser.addoption("--web-screenshot", default=None,
                     help="save the web demo's screenshot here (README: docs/web_demo.png)")


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
        generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1)
        discriminator = build_discriminator(ImageFormat(16, 1), base_filters=8, seed=2)
        gan = DCGAN(generator, discriminator, latent_dim=8, seed=3)
        gan.compile(**compile_kwargs)
        return gan

    return make


@pytest.fixture
def image_tree(tmp_path):
    """A nested folder: every format, gray/RGB/RGBA, tiny and large, and broken files."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    rgb = lambda h, w: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)  # noqa: E731
    save_image(root / "cats" / "a.jpg", rgb(40, 30))
    save_image(root / "cats" / "b.JPEG", rgb(64, 64))
    save_image(root / "cats" / "deep" / "nested" / "c.png", rgb(20, 50))
    save_image(root / "cats" / "d.bmp", rgb(16, 16))
    save_image(root / "dogs" / "e.gif", rgb(33, 33))
    save_image(root / "dogs" / "f.webp", rgb(30, 60))
    save_image(root / "dogs" / "gray.png", rng.integers(0, 256, (25, 25), dtype=np.uint8))
    save_image(root / "dogs" / "rgba.png", rng.integers(0, 256, (25, 25, 4), dtype=np.uint8))
    save_image(root / "dogs" / "tiny.png", rgb(3, 5))
    save_image(root / "dogs" / "large.jpg", rgb(600, 900))
    save_image(root / "dogs" / "png_named.jpg", rgb(20, 20), fmt="PNG")  # wrong extension, decodes
    # Broken: a truncated JPEG, a zero-byte PNG, text named .jpg.
    full = root / "dogs" / "full.jpg"
    save_image(full, rgb(64, 64))
    (root / "dogs" / "truncated.jpg").write_bytes(full.read_bytes()[:300])
    full.unlink()
    (root / "cats" / "empty.png").write_bytes(b"")
    (root / "cats" / "notes.jpg").write_text("not an image")
    (root / "cats" / "readme.txt").write_text("ignored")
    save_image(root / "top.png", rgb(12, 12))  # directly in the root: no label
    return root
