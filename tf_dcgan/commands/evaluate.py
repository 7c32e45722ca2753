"""Score a trained generator: FID, KID, precision and recall against real images, with the floor.

A class-conditional generator (train.py --conditional) is also scored class by class: the domain
classifier's accuracy on each class's images, and each class's FID against its real images.

    python evaluate.py --run runs/20261125-202956-fashion_mnist
    python evaluate.py --generator docs/fashion_mnist_run/generator.keras --dataset fashion_mnist
"""

import dataclasses
import sys

from tf_dcgan.cli import Parser, add_setting_flags, fail, import_tensorflow_quietly
from tf_dcgan.config import EvaluateConfig

EXAMPLES = """examples:
  python evaluate.py --run runs/20261125-202956-fashion_mnist
  python evaluate.py --generator docs/fashion_mnist_run/generator.keras --num-images 5000
  python evaluate.py --run RUN --extractor inception --inception-weights ~/inception_notop.h5
  python evaluate.py --run RUN --experiments --arithmetic "Ankle boot-Sneaker+Sandal"
"""


def parse_args(argv=None) -> EvaluateConfig:
    """Parses the flags into an `EvaluateConfig`; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Score a generator against real images: FID, KID, precision and recall, "
        "next to the same metrics between two real sets (the floor).", examples=EXAMPLES)
    add_setting_flags(parser, EvaluateConfig)
    args = parser.parse_args(argv)
    return EvaluateConfig(**{field.name: getattr(args, field.name)
                             for field in dataclasses.fields(EvaluateConfig)})


def main(argv=None) -> int:
    config = parse_args(argv)
    try:
        config.validate()
        import_tensorflow_quietly()
        from tf_dcgan.evaluation import evaluate

        result = evaluate(config)
    except ValueError as error:
        return fail("evaluate.py", error)
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
