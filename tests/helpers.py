"""What the tests share: the repository root, a CLI's one-line error, a LiteRT run, image files,
and the smallest train.py run. Imported by the tests themselves, not through conftest.py."""

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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


def save_image(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


# A train.py run small enough for a test: 3 steps of 16 images, 28x28, 8 base filters.
TINY_RUN = ["--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "16", "--base-filters",
            "8", "--latent-dim", "16", "--num-samples", "4", "--seed", "0"]
