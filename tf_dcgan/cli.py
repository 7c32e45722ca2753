"""What the command lines share: an argument parser whose errors are one line, and `fail`.

TensorFlow-free: a CLI parses and checks its flags with this module and `tf_dcgan.checks` before
anything imports TensorFlow, so `--help` and a bad flag are answered at once.
"""

import argparse
import sys

from tf_dcgan.environment import import_tensorflow_quietly


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr with exit code 2.

    Abbreviated flags are not accepted (`--epoch 3` is an error, not `--epochs 3`), and the
    `examples` text is shown at the end of `--help`.

    Args:
        examples: text shown after the flags in `--help`.
        **kwargs: passed to `argparse.ArgumentParser`.

    Example:
        >>> parser = Parser(description="Train a DCGAN.", examples="examples:\\n  train.py")
    """

    def __init__(self, *args, examples="", **kwargs):
        super().__init__(*args, epilog=examples, allow_abbrev=False,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def fail(program, error):
    """Prints `program: error: <message>` as one line on stderr and returns exit code 2."""
    message = " ".join(str(error).split("\n"))
    print(f"{program}: error: {message}", file=sys.stderr)
    return 2


__all__ = ["Parser", "fail", "import_tensorflow_quietly"]
