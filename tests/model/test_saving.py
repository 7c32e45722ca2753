"""Every .keras file the project writes loads the Keras way: `import tf_dcgan` then
`keras.models.load_model`, in safe mode; an unconditional generator.keras even without tf_dcgan."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.helpers import ROOT
from tf_dcgan.checks import ImageFormat
from tf_dcgan import DCGAN, build_discriminator, build_generator
from tf_dcgan.evaluation import DEFAULT_CLASSIFIERS
from tf_dcgan.model import FusedBatchNormalization, inference_copy, load_generator

UNCONDITIONAL_RUN = ROOT / "docs/fashion_mnist_run/generator.keras"
CONDITIONAL_RUN = ROOT / "docs/conditional_run/generator.keras"

# Loads each file in a fresh interpreter, in safe mode, and prints its class name.
LOAD = """
import sys
{first}
for path in sys.argv[1:]:
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    print(type(model).__name__)
"""

# Refuses any import of tf_dcgan, as an interpreter without the package would.
WITHOUT_TF_DCGAN = """
import importlib.abc, sys
class NoTfDcgan(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tf_dcgan":
            raise ModuleNotFoundError("No module named 'tf_dcgan'")
sys.meta_path.insert(0, NoTfDcgan())
import keras, numpy as np
model = keras.models.load_model(sys.argv[1], safe_mode=True, compile=False)
np.save(sys.argv[2], model(np.load(sys.argv[3]), training=False))
"""


def _python(code, *args):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def _tiny_gan(num_classes=None):
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=8, seed=1,
                                classes=num_classes)
    discriminator = build_discriminator(ImageFormat(16, 1), base_filters=8, seed=2,
                                        classes=num_classes)
    gan = DCGAN(generator, discriminator, latent_dim=8, seed=3)
    gan.compile()
    return gan


@pytest.mark.slow
@pytest.mark.parametrize("first", ["import tf_dcgan\nimport keras", "import keras\nimport tf_dcgan"])
def test_after_import_tf_dcgan_keras_loads_every_kind_of_file(tmp_path, first):
    files = []
    for num_classes in (None, 3):
        gan = _tiny_gan(num_classes)
        files.append(tmp_path / f"dcgan_{num_classes}.keras")
        gan.save(files[-1])
    files += [UNCONDITIONAL_RUN, CONDITIONAL_RUN, DEFAULT_CLASSIFIERS["fashion_mnist"]]
    result = _python(LOAD.format(first=first), *files)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["DCGAN", "DCGAN", "Functional", "Functional", "Functional"]


def test_without_tf_dcgan_keras_cannot_load_a_whole_dcgan(tmp_path):
    # The check above is not vacuous: plain Keras does not know our classes.
    _tiny_gan().save(tmp_path / "dcgan.keras")
    result = _python(LOAD.format(first="import keras"), tmp_path / "dcgan.keras")
    assert result.returncode != 0 and "DCGAN" in result.stderr


def test_the_saved_generator_has_keras_own_layers_and_the_same_outputs():
    gan = _tiny_gan()
    saved = gan.inference_generator()
    assert any(isinstance(layer, FusedBatchNormalization) for layer in gan.generator.layers)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in saved.layers)
    assert {type(layer).__module__.split(".")[0] for layer in saved.layers} == {"keras"}
    noise = np.random.default_rng(0).normal(size=(6, 8)).astype("float32")
    np.testing.assert_array_equal(saved(noise, training=False),
                                  gan.generator(noise, training=False))


@pytest.mark.slow
def test_an_unconditional_generator_loads_in_keras_without_tf_dcgan(tmp_path):
    gan = _tiny_gan()
    gan.inference_generator().save(tmp_path / "generator.keras")
    noise = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.save(tmp_path / "noise.npy", noise)
    result = _python(WITHOUT_TF_DCGAN, tmp_path / "generator.keras", tmp_path / "out.npy",
                     tmp_path / "noise.npy")
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"),
                                  gan.generator(noise, training=False))


@pytest.mark.slow
def test_the_committed_generator_loads_without_tf_dcgan_with_the_trained_outputs(tmp_path):
    noise = np.random.default_rng(1).normal(size=(4, 100)).astype("float32")
    np.save(tmp_path / "noise.npy", noise)
    result = _python(WITHOUT_TF_DCGAN, UNCONDITIONAL_RUN, tmp_path / "out.npy",
                     tmp_path / "noise.npy")
    assert result.returncode == 0, result.stderr[-2000:]
    generator = load_generator(path=UNCONDITIONAL_RUN)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), generator(noise, training=False))
    assert inference_copy(generator) is generator


def test_a_conditional_generator_keeps_its_class_names_in_the_file(tmp_path):
    gan = _tiny_gan(num_classes=3)
    gan.inference_generator().save(tmp_path / "generator.keras")
    loaded = keras.models.load_model(tmp_path / "generator.keras", compile=False)
    names = loaded.get_layer("class_label").class_names
    assert names == gan.generator.get_layer("class_label").class_names and len(names) == 3
