"""Write images from a trained generator: one PNG per image and a grid, from a run or a file.

    python generate.py --run runs/20261125-202956-fashion_mnist --num-images 64 --seed 7
    python generate.py --generator docs/conditional_run/generator.keras --label Sneaker
"""

import os
import sys

from tf_dcgan.cli import Parser, parse_settings, run_command
from tf_dcgan.config import GenerateConfig

EXAMPLES = """examples:
  python generate.py --run runs/20261125-202956-fashion_mnist          # RUN/generated/seed-0/
  python generate.py --run RUN --num-images 16 --seed 7 --out samples
  python generate.py --generator docs/fashion_mnist_run/generator.keras --out samples
  python generate.py --generator docs/conditional_run/generator.keras --label Sneaker --out shoes
  python generate.py --generator exports/dcgan.tflite --num-images 16 --scale 4 --out phone
  python generate.py --run RUN --num-images 16 --interpolate 24 --out walk    # + walk.gif
"""


def parse_args(argv: list[str] | None = None) -> GenerateConfig:
    """Parses the flags into a `GenerateConfig`; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Write images from a trained generator: OUT/0000.png, ... one per image, "
        "OUT/grid.png with all of them, and the model card. The same seed gives the same images "
        "(as the SavedModel's generate signature does), from a .keras file, a SavedModel or a "
        ".tflite file.", examples=EXAMPLES)
    return parse_settings(parser, GenerateConfig, argv)


def main(argv: list[str] | None = None) -> int:
    return run_command("generate.py", parse_args(argv), _generate, precheck=_check_label)


def _generate(config: GenerateConfig) -> str:
    from tf_dcgan.export import generate

    return generate(config)


def _check_label(config: GenerateConfig) -> None:
    """A --label the model's card does not know is one line at once, not after TensorFlow."""
    from tf_dcgan.checks import class_index
    from tf_dcgan.model_card import card_class_names
    from tf_dcgan.run_folder import GENERATOR

    if config.label is None:
        return
    names = card_class_names(config.generator if config.generator is not None
                             else os.path.join(config.run, GENERATOR))
    if names is not None:  # no card: the model itself is asked, once loaded
        class_index(names, config.label)


if __name__ == "__main__":
    sys.exit(main())
