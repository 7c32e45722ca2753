"""Score a trained generator: FID, KID, precision and recall, with the floor.

The command is tf_dcgan/commands/evaluate.py, installed as `tf-dcgan-evaluate`.
"""

import sys

from tf_dcgan.commands.evaluate import main, parse_args  # noqa: F401  (tests call both)

if __name__ == "__main__":
    sys.exit(main())
