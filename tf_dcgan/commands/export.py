"""Export a trained generator: a SavedModel for TF Serving, and optionally a TFLite model and a
web page that runs it in the browser. A conditional generator (train.py --conditional) exports
with a label input everywhere and a `classes` signature."""

import argparse
import os
import shlex
import sys

from tf_dcgan.checks import QUANTIZATIONS
from tf_dcgan.cli import Parser, fail, import_tensorflow_quietly
from tf_dcgan.environment import find_litertjs

EXAMPLES = """examples:
  python export.py --run runs/20261125-202956-fashion_mnist --out exports
  python export.py --run RUN --out exports --tflite --quantize float16
  python export.py --generator my_generator.keras --out exports --version 3 --overwrite
  python export.py --generator docs/fashion_mnist_run/generator.keras --out exports --web
  python export.py --generator docs/conditional_run/generator.keras --out exports --web --tflite

then serve it:
  python -m http.server -d exports/web     # the web page, at http://localhost:8000
  docker run -p 8501:8501 -p 8500:8500 -v "$PWD/exports/dcgan:/models/dcgan" \\
      -e MODEL_NAME=dcgan tensorflow/serving:2.21.0
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the flags; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Write a trained DCGAN generator as a TF Serving SavedModel "
        "(OUT/<model-name>/<version>/), with --tflite as OUT/<model-name>.tflite, and with --web "
        "as a static web page that runs it in the browser (OUT/web/).",
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
                        help="replace an existing version (and .tflite file, and web/ folder)")
    parser.add_argument("--max-images", type=int, default=256,
                        help="largest num_images the generate signatures accept (default: %(default)s)")
    parser.add_argument("--tflite", action="store_true", help="also write OUT/<model-name>.tflite")
    parser.add_argument("--web", action="store_true",
                        help="also write OUT/web/: a page that runs the generator with LiteRT.js "
                        "(view it with: python -m http.server -d OUT/web)")
    parser.add_argument("--quantize", default=None, choices=QUANTIZATIONS,
                        help="TFLite weights: none (float32), float16, or full int8 (default: "
                        "none for --tflite; float16 for --web, half the bytes to download)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tflite_path = os.path.join(args.out, f"{args.model_name}.tflite")
    web_path = os.path.join(args.out, "web")
    # One card per exported model, beside its SavedModel versions (TF Serving reads only the
    # numbered folders): OUT/NAME/MODEL_CARD.*, which OUT/NAME.tflite's classes are read from.
    card_dir = os.path.join(args.out, args.model_name)
    try:
        # Refused before anything is written, so a second run writes no stray SavedModel
        # version, and before TensorFlow is imported (3-10 s), so the answer comes at once.
        if not args.out:
            raise ValueError("out must name a folder; received an empty path. Pass e.g. "
                             "--out exports.")
        if args.tflite and os.path.exists(tflite_path) and not args.overwrite:
            raise ValueError(
                f"{tflite_path} already exists; pass --overwrite to replace it, or pick another "
                "--model-name."
            )
        if args.web:
            if os.path.exists(web_path) and not args.overwrite:
                raise ValueError(f"{web_path} already exists; pass --overwrite to replace it, "
                                 "or pick another --out.")
            find_litertjs()
    except ValueError as error:
        return fail("export.py", error)
    import_tensorflow_quietly()
    from tf_dcgan import export as export_lib
    from tf_dcgan.export.web import export_web
    from tf_dcgan.model import load_generator
    from tf_dcgan.model_card import CARD_MD, write_card

    try:
        generator = load_generator(run_dir=args.run, path=args.generator)
        version_dir = export_lib.export_saved_model(
            generator, args.out, model_name=args.model_name, version=args.version,
            max_images=args.max_images, overwrite=args.overwrite,
        )
        print(f"SavedModel: {version_dir}")
        if args.tflite:
            quantize = args.quantize or "none"
            export_lib.export_tflite(generator, tflite_path, quantize=quantize)
            print(f"TFLite ({quantize}): {tflite_path}")
        if args.web:
            quantize = args.quantize or "float16"
            web_dir = export_web(generator, args.out, name=args.model_name, quantize=quantize,
                                 overwrite=args.overwrite)
            print(f"Web page ({quantize}): {web_dir}  view it: python -m http.server -d "
                  f"{shlex.quote(str(web_dir))}")
        written = [str(version_dir)] + ([tflite_path] if args.tflite else []) + (
            [web_path] if args.web else [])
        card = export_lib.export_card(export_lib.keras_generator_file(generator, args.generator
                                                                      or args.run),
                                      args.run, [os.path.relpath(p, args.out) for p in written])
        for folder in [card_dir] + ([web_path] if args.web else []):
            write_card(folder, card)
        print(f"Model card: {os.path.join(card_dir, CARD_MD)}")
    except ValueError as error:
        return fail("export.py", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
