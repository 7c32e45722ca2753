"""The calls docs/mobile.md gives for Android, made with the Python `CompiledModel` of
ai-edge-litert: buffers by index, noise and label written, run, floats read, the same pixel formula."""

import numpy as np
import pytest

from tests.helpers import ROOT
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.export import export_tflite
from tf_dcgan.model import LatentSpace, load_generator


def _kotlin_pixels(values, size, channels):
    """docs/mobile.md's toBitmap: ARGB ints from [-1, 1] floats, channels last."""
    byte = np.clip(np.rint((values + 1.0) * 127.5), 0, 255).astype(np.int64)
    if channels == 1:
        r = g = b = byte
    else:
        r, g, b = byte[0::3], byte[1::3], byte[2::3]
    return ((0xFF << 24) | (r << 16) | (g << 8) | b).reshape(size, size)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fashion_mnist_run", "conditional_run"])
def test_the_android_calls_give_the_keras_generators_images(tmp_path, name):
    from ai_edge_litert.compiled_model import CompiledModel

    generator = load_generator(path=ROOT / "docs" / name / "generator.keras")
    latent = LatentSpace.of(generator)
    path = export_tflite(generator, tmp_path / "dcgan.tflite")
    inputs = latent.sample(3, seed=11, labels=7 if latent.conditional else None)
    expected = np.asarray(to_uint8(generator(inputs, training=False))).astype(np.int64)
    noise = np.asarray(inputs["noise"] if latent.conditional else inputs)
    model = CompiledModel.from_file(str(path))
    (signature,) = model.get_signature_list().values()
    assert signature["inputs"] == (["noise", "label"] if latent.conditional else ["noise"])
    in_buffers, out_buffers = model.create_input_buffers(0), model.create_output_buffers(0)
    for index, row in enumerate(noise):
        in_buffers[0].write(row[np.newaxis].astype(np.float32))
        if latent.conditional:
            in_buffers[1].write(np.array([7], np.int32))
        model.run_by_index(0, in_buffers, out_buffers)
        values = out_buffers[0].read(28 * 28, np.float32)
        argb = _kotlin_pixels(values, 28, 1)
        gray = argb & 0xFF
        assert ((argb >> 24) & 0xFF == 0xFF).all() and (gray == (argb >> 16) & 0xFF).all()
        assert np.abs(gray - expected[index, ..., 0]).max() <= 4


def test_the_bitmap_formula_keeps_rgb_channels_apart():
    values = np.array([-1.0, 0.0, 1.0] * 4, np.float32)  # 2x2 pixels of (black, mid, white)
    argb = _kotlin_pixels(values, 2, 3)
    assert (argb == ((0xFF << 24) | (0 << 16) | (128 << 8) | 255)).all()
