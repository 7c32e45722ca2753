"""Train a DCGAN: `python train.py --epochs 20` trains on Fashion-MNIST.

The command is tf_dcgan/commands/train.py, installed as `tf-dcgan-train`.
"""

import sys

from tf_dcgan.commands.train import main, parse_args  # noqa: F401  (tests call both)

if __name__ == "__main__":
    sys.exit(main())
