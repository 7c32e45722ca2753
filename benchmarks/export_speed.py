"""Speed and size of the exported generator: SavedModel images/s and TFLite ms per image.

Reference, measured in the same run: the Keras generator itself (a `tf.function` calling it with
training=False), at the same batch sizes. Speed does not depend on the weights, so by default the
paper's 64x64 RGB generator is used with its initial weights; `--generator FILE` measures a trained
one (and then the TFLite errors are those of real images).

    python benchmarks/export_speed.py
    python benchmarks/export_speed.py --generator runs/RUN/generator.keras
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from tf_dcgan.checks import ImageFormat  # noqa: E402
from tf_dcgan import build_generator  # noqa: E402
from tf_dcgan import export as export_lib  # noqa: E402
from tf_dcgan.checks import QUANTIZATIONS  # noqa: E402


def median_seconds(fn, repeats):
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", help="a generator .keras file (default: the paper's 64x64)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    generator = (keras.models.load_model(args.generator, compile=False) if args.generator
                 else build_generator(ImageFormat(64, 3), seed=0))
    latent_dim = generator.input_shape[-1]
    rng = np.random.default_rng(0)
    keras_call = tf.function(lambda noise: generator(noise, training=False))

    with tempfile.TemporaryDirectory() as tmp:
        version_dir = export_lib.export_saved_model(generator, tmp)
        serving = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
        print(f"generator {generator.output_shape[1:]}, latent {latent_dim}, "
              f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, median of {args.repeats}")
        print("SavedModel serving_default vs the Keras generator (tf.function), images/s:")
        for batch in (1, 64):
            noise = tf.constant(rng.normal(size=(batch, latent_dim)).astype("float32"))
            saved = batch / median_seconds(lambda: serving(noise=noise), args.repeats)
            reference = batch / median_seconds(lambda: keras_call(noise), args.repeats)
            print(f"  batch {batch:3d}: SavedModel {saved:8.1f}   Keras {reference:8.1f}   "
                  f"ratio {saved / reference:.2f}")

        noise = rng.normal(size=(1, latent_dim)).astype("float32")
        many = rng.normal(size=(32, latent_dim)).astype("float32")
        expected = generator(many, training=False).numpy()
        keras_ms = 1000 * median_seconds(lambda: keras_call(tf.constant(noise)), args.repeats)
        print(f"TFLite (LiteRT interpreter), batch 1; Keras generator: {keras_ms:.2f} ms/image")
        print(f"  {'quantize':8s} {'ms/image':>9s} {'size (KiB)':>11s} "
              f"{'abs error over 32 images: mean':>31s} {'max':>7s}")
        for quantize in QUANTIZATIONS:
            path = export_lib.export_tflite(generator, Path(tmp) / f"{quantize}.tflite",
                                            quantize=quantize)
            interpreter = Interpreter(model_path=str(path))
            interpreter.allocate_tensors()
            input_index = interpreter.get_input_details()[0]["index"]
            output_index = interpreter.get_output_details()[0]["index"]

            def run():
                interpreter.set_tensor(input_index, noise)
                interpreter.invoke()

            ms = 1000 * median_seconds(run, args.repeats)
            outputs = []
            for row in many:
                interpreter.set_tensor(input_index, row[np.newaxis])
                interpreter.invoke()
                outputs.append(interpreter.get_tensor(output_index)[0])
            error = np.abs(np.stack(outputs) - expected)
            print(f"  {quantize:8s} {ms:9.2f} {path.stat().st_size / 1024:11.0f} "
                  f"{error.mean():31.4f} {error.max():7.4f}")


if __name__ == "__main__":
    main()
