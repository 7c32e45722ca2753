"""Write images from a trained generator: one PNG per image and a grid, from a run or a file.

    python generate.py --run runs/20261125-202956-fashion_mnist --num-images 64 --seed 7
    python generate.py --generator docs/conditional_run/generator.keras --label Sneaker
"""

import sys

from tf_dcgan.cli import Parser, parse_settings, run_command
from tf_dcgan.config import GenerateConfig

EXAMPLES = """examples:
  python generate.py --run runs/20261125-202956-fashion_mnist          # RUN/generated/seed-0/
  python generate.py --run RUN --num-images 16 --seed 7 --out samples
  python generate.py --generator docs/fashion_mnist_run/generator.keras --out samples
  python generate.py --generator docs/conditional_run/generator.keras --label Sneaker --out shoes
"""


def parse_args(argv: list[str] | None = None) -> GenerateConfig:
    """Parses the flags into a `GenerateConfig`; a usage error is one line and exit code 2."""
    parser = Parser(
        description="Write images from a trained generator: OUT/0000.png, ... one per image, "
        "and OUT/grid.png with all of them. The same seed gives the same images (as the "
        "SavedModel's generate signature does).", examples=EXAMPLES)
    return parse_settings(parser, GenerateConfig, argv)


def main(argv: list[str] | None = None) -> int:
    return run_command("generate.py", parse_args(argv), _generate)


def _generate(config: GenerateConfig) -> str:
    from tf_dcgan.export import class_label, write_images
    from tf_dcgan.model import load_generator
    from tf_dcgan.run_folder import RunFolder

    generator = load_generator(run_dir=config.run, path=config.generator)
    out = config.out or RunFolder(config.run).path / "generated" / f"seed-{config.seed}"
    folder = write_images(generator, out, config.num_images, config.seed,
                          class_label(generator, config.label), config.overwrite)
    return f"{config.num_images} images and grid.png: {folder}"


if __name__ == "__main__":
    sys.exit(main())
