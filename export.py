"""Export a trained generator: a SavedModel for TF Serving, and optionally a TFLite model."""

import os
import sys

from tf_dcgan.checks import QUANTIZATIONS
from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly

EXAMPLES = """examples:
  python export.py --run runs/20261125-202956-fashion_mnist --out exports
  python export.py --run RUN --out exports --tflite --quantize float16
  python export.py --generator my_generator.keras --out exports --version 3 --overwrite

then serve it:
  docker run -p 8501:8501 -p 8500:8500 -v "$PWD/exports/dcgan:/models/dcgan" \\
      -e MODEL_NAME=dcgan tensorflow/serving
"""


def parse_args(argv=None):
    """Parses the flags; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Write a trained DCGAN generator as a TF Serving SavedModel "
        "(OUT/<model-name>/<version>/) and, with --tflite, as OUT/<model-name>.tflite.",
        examples=EXAMPLES,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="a run folder written by train.py (uses its generator.keras)")
    source.add_argument("--generator", help="a generator .keras file")
    parser.add_argument("--out", required=True, help="the export base folder")
    parser.add_argument("--model-name", default="dcgan", help="default: %(default)s")
    parser.add_argument("--version", type=int, default=None,
                        help="SavedModel version (default: the next free integer)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing version (and .tflite file)")
    parser.add_argument("--max-images", type=int, default=256,
                        help="largest num_images the generate signatures accept (default: %(default)s)")
    parser.add_argument("--tflite", action="store_true", help="also write OUT/<model-name>.tflite")
    parser.add_argument("--quantize", default="none", choices=QUANTIZATIONS,
                        help="TFLite weights: none (float32), float16, or full int8 (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import_tensorflow_quietly()
    from tf_dcgan import export as export_lib

    tflite_path = os.path.join(args.out, f"{args.model_name}.tflite")
    try:
        if args.tflite and os.path.exists(tflite_path) and not args.overwrite:
            raise ValueError(
                f"{tflite_path} already exists; pass --overwrite to replace it, or pick another "
                "--model-name."
            )
        generator = export_lib.load_generator(run_dir=args.run, path=args.generator)
        version_dir = export_lib.export_saved_model(
            generator, args.out, model_name=args.model_name, version=args.version,
            max_images=args.max_images, overwrite=args.overwrite,
        )
        print(f"SavedModel: {version_dir}")
        if args.tflite:
            export_lib.export_tflite(generator, tflite_path, quantize=args.quantize)
            print(f"TFLite ({args.quantize}): {tflite_path}")
    except ValueError as error:
        return fail("export.py", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
