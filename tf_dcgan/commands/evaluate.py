"""Score a trained generator: FID, KID, precision and recall against real images, with the floor.

A class-conditional generator (train.py --conditional) is also scored class by class: the domain
classifier's accuracy on each class's images, and each class's FID against its real images.

    python evaluate.py --run runs/20261125-202956-fashion_mnist
    python evaluate.py --generator docs/fashion_mnist_run/generator.keras --dataset fashion_mnist
"""

import sys

from tf_dcgan.cli import Parser, parse_settings, run_command
from tf_dcgan.config import EvaluateConfig

EXAMPLES = """examples:
  python evaluate.py --run runs/20261125-202956-fashion_mnist
  python evaluate.py --generator docs/fashion_mnist_run/generator.keras --num-images 5000
  python evaluate.py --run RUN --extractor inception --inception-weights ~/inception_notop.h5
  python evaluate.py --run RUN --experiments --arithmetic "Ankle boot-Sneaker+Sandal"
"""


def parse_args(argv: list[str] | None = None) -> EvaluateConfig:
    """Parses the flags into an `EvaluateConfig`; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Score a generator against real images: FID, KID, precision and recall, "
        "next to the same metrics between two real sets (the floor).", examples=EXAMPLES)
    return parse_settings(parser, EvaluateConfig, argv)


def main(argv: list[str] | None = None) -> int:
    return run_command("evaluate.py", parse_args(argv), _evaluate)


def _evaluate(config: EvaluateConfig) -> str:
    from tf_dcgan.evaluation import evaluate

    return evaluate(config).summary()


if __name__ == "__main__":
    sys.exit(main())
