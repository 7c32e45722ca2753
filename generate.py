"""Write images from a trained generator: one PNG per image and a grid.

The command is tf_dcgan/commands/generate.py, installed as `tf-dcgan-generate`.
"""

import sys

from tf_dcgan.commands.generate import main, parse_args  # noqa: F401  (tests call both)

if __name__ == "__main__":
    sys.exit(main())
