"""Export a trained generator: a SavedModel for TF Serving, and optionally a TFLite model and a
web page that runs it in the browser. A conditional generator (train.py --conditional) exports
with a label input everywhere and a `classes` signature."""

import sys

from tf_dcgan.cli import Parser, parse_settings, run_command
from tf_dcgan.config import ExportConfig

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


def parse_args(argv: list[str] | None = None) -> ExportConfig:
    """Parses the flags into an `ExportConfig` (not yet validated); a usage error is one line
    and exit code 2."""
    parser = Parser(
        description="Write a trained DCGAN generator as a TF Serving SavedModel "
        "(OUT/<model-name>/<version>/), with --tflite as OUT/<model-name>.tflite, and with --web "
        "as a static web page that runs it in the browser (OUT/web/).",
        examples=EXAMPLES,
    )
    return parse_settings(parser, ExportConfig, argv)


def main(argv: list[str] | None = None) -> int:
    return run_command("export.py", parse_args(argv), _export, precheck=ExportConfig.check_outputs)


def _export(config: ExportConfig) -> str:
    from tf_dcgan.export import export

    return export(config, report=lambda line: print(line, flush=True))


if __name__ == "__main__":
    sys.exit(main())
