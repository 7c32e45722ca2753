"""What train.py and export.py share: one-line usage errors and a quiet TensorFlow import.

Kept outside the `tf_dcgan` package because importing the package imports TensorFlow, and this
module must run before that.
"""

import argparse
import os

# TensorFlow's C++ log below warnings would bury our one-line errors; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr with exit code 2."""

    def __init__(self, *args, examples="", **kwargs):
        super().__init__(*args, epilog=examples,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up notes (oneDNN, absl) kept off stderr.

    Those notes are written by native code below Python's sys.stderr and ignore
    TF_CPP_MIN_LOG_LEVEL. A failed import still raises, and its traceback is shown.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
