"""Export a trained generator: a SavedModel for TF Serving, a TFLite model, a web page.

The command is tf_dcgan/commands/export.py, installed as `tf-dcgan-export`.
"""

import sys

from tf_dcgan.commands.export import main, parse_args  # noqa: F401  (tests call both)

if __name__ == "__main__":
    sys.exit(main())
