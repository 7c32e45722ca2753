import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--web-screenshot", default=None,
                     help="save the web demo's screenshot here (README: docs/web_demo.png)")


def one_line_error(main, program, argv, capsys):
    """Runs a CLI's `main(argv)`; asserts exit code 2 and one `program: error:` line on stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{program}: error: ") and err.count("\n") == 1, err
    return err


def tflite_run(path, noise, labels=None):
    """Runs a batch-1 generator `.tflite` file on each row of `noise` with the LiteRT interpreter
    (and, for a conditional generator, each of `labels`)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inputs, (output_detail,) = (interpreter.get_input_details(),
                                interpreter.get_output_details())
    assert len(inputs) == (1 if labels is None else 2)
    input_detail = next(d for d in inputs if "label" not in d["name"])
    label_detail = next((d for d in inputs if "label" in d["name"]), None)
    assert input_detail["shape"].tolist() == [1, noise.shape[1]]
    assert input_detail["dtype"] == np.float32 and output_detail["dtype"] == np.float32
    if label_detail is not None:
        assert label_detail["shape"].tolist() == [1] and label_detail["dtype"] == np.int32
    outputs = []
    for index, row in enumerate(noise):
        interpreter.set_tensor(input_detail["index"], row[np.newaxis])
        if label_detail is not None:
            interpreter.set_tensor(label_detail["index"], np.array([labels[index]], np.int32))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_detail["index"])[0])
    return np.stack(outputs)


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


def save_image(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


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


# A train.py run small enough for a test: 3 steps of 16 images, 28x28, 8 base filters.
TINY_RUN = ["--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16", "--base-filters",
            "8", "--latent-dim", "16", "--num-samples", "4", "--seed", "0"]
