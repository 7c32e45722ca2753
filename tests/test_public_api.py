"""The public API's shape: at most seven parameters a function, and the old forms still working.

The old forms are listed in docs/architecture.md ("Deprecated forms"): each must warn, name the
new form, and give what the new form gives.
"""

import dataclasses
import importlib
import inspect
import warnings

import numpy as np
import pytest

import tf_dcgan
from tf_dcgan.checks import ClassLabels, ImageFormat

MAX_PARAMETERS = 7
MODULES = ["tf_dcgan", "tf_dcgan.model", "tf_dcgan.data", "tf_dcgan.training",
           "tf_dcgan.evaluation", "tf_dcgan.export", "tf_dcgan.config", "tf_dcgan.checks",
           "tf_dcgan.run_folder", "tf_dcgan.files", "tf_dcgan.environment", "tf_dcgan.cli",
           "tf_dcgan.model_card", "tf_dcgan.distribute", "tf_dcgan.deprecation"]


def _public_callables():
    """Every public function, and every method of a public class (dataclass fields excepted:
    a value's fields are its parameters)."""
    seen = {}
    for name in MODULES:
        module = importlib.import_module(name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if n[0] != "_"]
        for attribute in names:
            value = getattr(module, attribute)
            if not getattr(value, "__module__", "").startswith("tf_dcgan"):
                continue
            if inspect.isfunction(value):
                seen[f"{value.__module__}.{value.__qualname__}"] = value
            elif inspect.isclass(value):
                for key, member in vars(value).items():
                    if (not inspect.isfunction(member) or (key.startswith("_") and key != "__init__")
                            or (key == "__init__" and dataclasses.is_dataclass(value))):
                        continue
                    seen[f"{value.__module__}.{member.__qualname__}"] = member
    return seen


def test_no_public_function_takes_more_than_seven_parameters():
    callables = _public_callables()
    assert len(callables) > 100
    too_many = {}
    for name, function in callables.items():
        parameters = [p for p in inspect.signature(function).parameters.values()
                      if p.name not in ("self", "cls")]
        if len(parameters) > MAX_PARAMETERS:
            too_many[name] = len(parameters)
    assert not too_many, f"more than {MAX_PARAMETERS} parameters: {too_many}"


def _old(call, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert messages and "old form" in messages[0], messages
    return result, messages[0]


def _weights(model):
    return [w.numpy() for w in model.weights]


def test_old_network_forms_warn_and_build_the_same_networks():
    from tf_dcgan import build_discriminator, build_generator

    old, message = _old(build_generator, 16, 1, 8, 4, 0, None, False, 3, ["a", "b", "c"])
    assert "ImageFormat(" in message
    new = build_generator(ImageFormat(16, 1), 8, 4, 0, classes=["a", "b", "c"])
    assert old.get_config() == new.get_config()
    for a, b in zip(_weights(old), _weights(new)):
        np.testing.assert_array_equal(a, b)
    old, _ = _old(build_discriminator, image_size=16, channels=1, base_filters=4, seed=0,
                  num_classes=3, conditioning="concat")
    new = build_discriminator(ImageFormat(16, 1), 4, 0, classes=ClassLabels.of(3, "concat"))
    assert old.get_config() == new.get_config()
    assert "label_maps" in [layer.name for layer in new.layers]
    old, _ = _old(build_discriminator, ImageFormat(16, 1), base_filters=4, architecture="dcgan")
    assert [(layer.name, [w.shape for w in layer.weights]) for layer in old.layers] == [
        (layer.name, [w.shape for w in layer.weights])
        for layer in build_discriminator(ImageFormat(16, 1), 4).layers]
    with pytest.raises(ValueError, match="architecture 'sndcgan' was retired"):
        _old(build_discriminator, 16, 1, architecture="sndcgan")
    # The new form, with no classes, is exactly the paper's unconditional network.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert build_generator(ImageFormat(16, 1), latent_dim=8).input_shape == (None, 8)


def test_old_pipeline_forms_warn_and_give_the_same_batches():
    from tf_dcgan.data import ImageSource, make_dataset, make_eval_dataset, make_training_stream

    images = np.random.default_rng(0).integers(0, 256, (12, 20, 20, 3), dtype=np.uint8)
    source = ImageSource(name="noise", num_images=12, images=images,
                         labels=np.arange(12, dtype=np.int64), image_size=20, channels=3)
    fmt = ImageFormat(16, 1, "stretch")
    old, message = _old(make_dataset, source, 16, 1, 4, seed=0, resize="stretch")
    new = make_dataset(source, fmt, 4, seed=0)
    for (a, _), (b, _) in zip(old, new):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    (old, steps), _ = _old(make_training_stream, source, 16, 1, 4, 0, resize="stretch",
                           shuffle_buffer=5)
    new, new_steps = make_training_stream(source, fmt, 4, 0)
    assert steps == new_steps == 3
    for (a, _), (b, _) in zip(old.take(4), new.take(4)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    old, _ = _old(make_eval_dataset, source, 16, 1, 5, "stretch")
    new = make_eval_dataset(source, fmt, 5)
    for (a, _), (b, _) in zip(old, new):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="image_format must be an ImageFormat"):
        make_dataset(source, image_format=(16, 1), batch_size=4)


def test_old_scoring_forms_warn_and_score_the_same(capsys):
    import keras

    from tf_dcgan import build_generator, evaluation

    g = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0)
    pooled = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.AveragePooling2D(8),
                               keras.layers.Flatten()])
    extractor = evaluation.FeatureExtractor("4 pooled pixels", pooled, 16, 1)
    rng = np.random.default_rng(0)
    batches = [(rng.uniform(-1, 1, (20, 16, 16, 1)).astype("float32"), np.zeros(20))]
    old, message = _old(evaluation.evaluate_generator, g, extractor, batches, "noise", 12,
                        batches, "floor noise", 4, 0, False)
    assert "ImageSet(" in message
    new = evaluation.evaluate_generator(g, extractor, evaluation.ImageSet("noise", batches), 12,
                                        floor=evaluation.ImageSet("floor noise", batches),
                                        batch_size=4)
    assert old.as_dict() == new.as_dict()
    assert "features of noise: 20 images" in capsys.readouterr().out  # the new form's progress
    keras.config.disable_interactive_logging()
    try:
        evaluation.evaluate_generator(g, extractor, evaluation.ImageSet("noise", batches), 12)
    finally:
        keras.config.enable_interactive_logging()
    assert "features of" not in capsys.readouterr().out


def test_old_write_images_form_still_writes_the_extra_files(tmp_path):
    from tf_dcgan import build_generator, write_images

    g = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0)
    folder, _ = _old(write_images, g, tmp_path / "old", 4, extras={"note.txt": b"hello"})
    assert (folder / "note.txt").read_bytes() == b"hello" and (folder / "0003.png").is_file()
    assert sorted(p.name for p in write_images(g, tmp_path / "new", 4).iterdir()) == [
        "0000.png", "0001.png", "0002.png", "0003.png", "grid.png"]


def test_image_format_and_class_labels_refuse_bad_values_with_the_fix():
    with pytest.raises(ValueError, match="image_size must be one of"):
        ImageFormat(48, 1)
    with pytest.raises(ValueError, match="channels must be 1 .* received channels=4"):
        ImageFormat(64, 4)
    with pytest.raises(ValueError, match="resize must be one of crop, stretch"):
        ImageFormat(64, 3, "fit")
    with pytest.raises(ValueError, match="classes must be a class count"):
        ClassLabels.of("cats")
    with pytest.raises(ValueError, match="d_conditioning must be one of"):
        ClassLabels.of(3, "maps")
    assert ClassLabels.of(["cat", "dog"]).names == ("cat", "dog")
    assert ClassLabels.of(None) is None and tf_dcgan.ImageFormat is ImageFormat


def test_the_run_folder_has_one_name_and_its_old_names_still_read_it(tmp_path):
    from tf_dcgan.run_folder import RunFolder
    from tf_dcgan.training.run import PreparedRun

    old, message = _old(RunFolder.create, out=tmp_path / "run")
    assert "run_dir=" in message and old.path == RunFolder.create(run_dir=tmp_path / "run").path
    chief = PreparedRun(None, RunFolder(tmp_path / "run"), None, None, False, 10)
    assert chief.run_dir == tmp_path / "run" and chief.chief
    # A non-chief worker writes into its own folder and reads the run's.
    worker = PreparedRun(None, RunFolder(tmp_path / "tmp"), None, None, False, 10,
                         run_dir=str(tmp_path / "run"))
    assert worker.run_dir == tmp_path / "run" and not worker.chief
    out = pytest.deprecated_call(getattr, worker, "out")
    assert out == tmp_path / "run"
