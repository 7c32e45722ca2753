"""The one module that leans on how Keras runs `fit` says so, and nothing else does."""

import re

import keras
import pytest

from tests.helpers import ROOT
from tf_dcgan.model.multi_step import KERAS_CHECKED, check_keras_version


def test_the_installed_keras_is_one_the_training_loop_was_written_for():
    # On a Keras upgrade this fails with what to check (the message), before any run does.
    check_keras_version(keras.__version__)
    with pytest.raises(RuntimeError, match=r"written for Keras 3\.15; this is Keras 3\.99\.0\. "
                                           r"Check that fit still calls make_train_function"):
        check_keras_version("3.99.0")
    assert "3.15" in KERAS_CHECKED


def test_only_the_multi_step_module_touches_private_keras():
    private = re.compile(r"keras\.src|_maybe_symbolic_build|make_train_function|"
                         r"_multi_step_function")
    touching = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tf_dcgan").rglob("*.py")
                      if private.search(path.read_text()))
    assert touching == ["tf_dcgan/model/multi_step.py"]
