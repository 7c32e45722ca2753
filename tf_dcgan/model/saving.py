"""Loading a generator back, and the checks a generator passes before it is shipped.

`load_generator` reads a run folder's generator.keras, a generator file or a whole-DCGAN file
(its generator is taken) in Keras' safe mode, without compiling. `check_generator` and
`check_finite` refuse what is not a generator, or one whose training diverged.
"""

from pathlib import Path

import keras
import numpy as np

from tf_dcgan.checks import (
    error_summary,
)
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.run_folder import RunFolder


def all_weights_finite(model: keras.Model) -> bool:
    """Whether every weight of `model` is finite (no NaN, no infinity)."""
    return all(np.isfinite(np.asarray(weight)).all() for weight in model.weights)


def check_generator(generator: keras.Model) -> None:
    """Raises ValueError unless `generator` is a Keras model from noise (and, for a conditional
    one, a class label) to images."""
    names = sorted(tensor.name.split(":")[0] for tensor in getattr(generator, "inputs", []) or [])
    shapes = [tuple(tensor.shape) for tensor in getattr(generator, "inputs", []) or []]
    unconditional = len(names) == 1 and len(shapes[0]) == 2
    conditional = names == ["label", "noise"]
    if not isinstance(generator, keras.Model) or not (unconditional or conditional) or (
        len(generator.output_shape) != 4
    ):
        raise ValueError(
            "generator must be a Keras model from noise [batch, latent_dim] (and, when "
            "conditional, a label [batch]) to images [batch, H, W, C]; received "
            f"{type(generator).__name__} with inputs {shapes} and output "
            f"{getattr(generator, 'output_shape', None)}. Pass a run's generator.keras."
        )


def check_finite(generator: keras.Model) -> None:
    """Raises ValueError when the generator's weights, or its images, are NaN or infinite.

    A generator whose training diverged makes only black images; it must not be shipped.
    """
    for weight in generator.weights:
        if not np.isfinite(np.asarray(weight)).all():
            raise ValueError(
                f"generator has non-finite weights (NaN or infinity) in {weight.path}; it makes "
                "only black images. Export the models of a run that did not diverge, or retrain "
                "with a lower --learning-rate."
            )
    probe = LatentSpace.of(generator).sample(4, 0)
    if not np.isfinite(np.asarray(generator(probe, training=False))).all():
        raise ValueError(
            "generator makes non-finite images (NaN or infinity) from finite noise. Export the "
            "models of a run that did not diverge."
        )


def load_model_file(path: str | Path) -> keras.Model:
    """Loads a `.keras` file in Keras' safe mode without compiling; one clear error if it fails.

    Raises:
        ValueError: the file is missing or is not a Keras model file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"generator file not found: {str(path)!r}. Pass a run folder that finished an epoch "
            "(--run) or a generator .keras file (--generator)."
        )
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many types for a bad file
        raise ValueError(
            f"could not load {str(path)!r} as a Keras model ({error_summary(error)}). "
            "Pass a generator.keras written by train.py or model.save()."
        ) from None


def load_generator(run_dir: str | Path | None = None,
                   path: str | Path | None = None) -> keras.Model:
    """Loads a generator from a run folder (its generator.keras) or a `.keras` file.

    A whole-DCGAN file (dcgan.keras) works too: its generator is taken. The file is loaded in
    Keras' safe mode (no arbitrary code) and without compiling.

    Args:
        run_dir: a run folder written by `train.py`; or
        path: a `.keras` file of a generator or a whole `DCGAN`.

    Returns:
        The generator, a `keras.Model` from noise to images in [-1, 1].

    Raises:
        ValueError: the folder or file is missing, is not a Keras file, or holds no generator.

    Example:
        >>> generator = load_generator(path="docs/fashion_mnist_run/generator.keras")
    """
    from tf_dcgan.model.gan import DCGAN

    if run_dir is not None:
        path = RunFolder.open(run_dir).generator_path
    model = load_model_file(path)
    if isinstance(model, DCGAN):
        model = model.inference_generator()
    check_generator(model)
    return model
