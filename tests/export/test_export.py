import base64
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

import export
from tests.helpers import ROOT, one_line_error, tflite_run
from tests.serving_stub import rest_predict
from tf_dcgan.checks import ImageFormat
from tf_dcgan import build_discriminator, build_generator, latent_noise
from tf_dcgan import export as export_lib
from tf_dcgan.config import ExportConfig, TrainConfig
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.export import saved_model, staging, tflite
from tf_dcgan.export.tflite import non_builtin_ops
from tf_dcgan.run_folder import RunFolder

LATENT = 8


@pytest.fixture(scope="module")
def generator():
    """A 16x16 RGB generator whose BatchNorm moving statistics are far from their initial values,
    so an export that ran BatchNorm in training mode would give visibly different images."""
    model = build_generator(ImageFormat(16, 3), latent_dim=LATENT, base_filters=8, seed=0)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.2, 3.0, layer.moving_variance.shape))
    return model


@pytest.fixture(scope="module")
def exported(generator, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    version_dir = export_lib.export_saved_model(generator, base, max_images=16)
    return base, version_dir


def _loaded(version_dir):
    # As TF Serving does: the `serve` tag, signatures by name.
    return tf.saved_model.load(str(version_dir), tags=["serve"]).signatures


def test_layout_is_what_tf_serving_expects(exported):
    base, version_dir = exported
    assert version_dir == base / "dcgan" / "1"
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "variables").is_dir()
    assert [p.name for p in (base / "dcgan").iterdir()] == ["1"]  # no temporary folder left


def test_serving_default_matches_the_generator_in_inference_mode(generator, exported):
    signatures = _loaded(exported[1])
    assert set(signatures) >= {"serving_default", "generate", "generate_png"}
    noise = np.random.default_rng(1).normal(size=(5, LATENT)).astype("float32")
    images = signatures["serving_default"](noise=tf.constant(noise))["images"].numpy()
    expected = generator(noise, training=False).numpy()
    np.testing.assert_allclose(images, expected, atol=1e-5)
    assert not np.allclose(images, generator(noise, training=True).numpy(), atol=1e-2)


def test_generate_gives_the_same_uint8_images_for_the_same_seed(generator, exported):
    generate = _loaded(exported[1])["generate"]
    images = generate(num_images=tf.constant(3), seed=tf.constant(42, tf.int64))["images"]
    assert images.dtype == tf.uint8 and images.shape == (3, 16, 16, 3)
    again = generate(num_images=tf.constant(3), seed=tf.constant(42, tf.int64))["images"]
    np.testing.assert_array_equal(images.numpy(), again.numpy())
    expected = to_uint8(generator(latent_noise(3, LATENT, 42), training=False)).numpy()
    assert np.abs(images.numpy().astype(int) - expected.astype(int)).max() <= 1
    other = generate(num_images=tf.constant(3), seed=tf.constant(43, tf.int64))["images"]
    assert not np.array_equal(images.numpy(), other.numpy())


def test_generate_png_encodes_the_generate_images(exported):
    signatures = _loaded(exported[1])
    args = {"num_images": tf.constant(2), "seed": tf.constant(7, tf.int64)}
    pngs = signatures["generate_png"](**args)["png_bytes"].numpy()
    images = signatures["generate"](**args)["images"].numpy()
    assert len(pngs) == 2
    for png, image in zip(pngs, images):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        np.testing.assert_array_equal(iio.imread(png), image)


@pytest.mark.parametrize("num_images", [0, -3, 17])
def test_num_images_outside_the_bound_is_refused_by_the_graph(exported, num_images):
    generate = _loaded(exported[1])["generate"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_images must be between 1 and 16"):
        generate(num_images=tf.constant(num_images), seed=tf.constant(1, tf.int64))


def test_tf_serving_rest_bodies_map_onto_the_signatures(exported):
    signatures = _loaded(exported[1])
    noise = np.random.default_rng(2).normal(size=(2, LATENT)).round(4).tolist()
    reply = rest_predict(signatures, json.dumps({"instances": noise}))
    assert np.asarray(reply["predictions"]["images"]).shape == (2, 16, 16, 3)
    reply = rest_predict(signatures, json.dumps(
        {"signature_name": "generate", "inputs": {"num_images": 3, "seed": 42}}))
    images = np.asarray(reply["outputs"]["images"])
    assert images.shape == (3, 16, 16, 3) and images.max() <= 255 and images.min() >= 0
    reply = rest_predict(signatures, json.dumps(
        {"signature_name": "generate_png", "inputs": {"num_images": 3, "seed": 42}}))
    decoded = [iio.imread(base64.b64decode(p["b64"])) for p in reply["outputs"]["png_bytes"]]
    np.testing.assert_array_equal(np.stack(decoded), images)


def test_saved_model_cli_shows_and_runs_the_signatures(exported, tmp_path):
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    shown = subprocess.run([*cli, "show", "--dir", str(exported[1]), "--all"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for text in ("signature_def['serving_default']", "signature_def['generate']",
                 "signature_def['generate_png']", "inputs['noise']", "dtype: DT_UINT8",
                 "outputs['png_bytes']", "inputs['num_images']", "dtype: DT_INT64"):
        assert text in shown.stdout, text
    ran = subprocess.run([*cli, "run", "--dir", str(exported[1]), "--tag_set", "serve",
                          "--signature_def", "generate", "--input_exprs", "num_images=2;seed=7",
                          "--outdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    images = np.load(tmp_path / "images.npy")
    expected = _loaded(exported[1])["generate"](
        num_images=tf.constant(2), seed=tf.constant(7, tf.int64))["images"].numpy()
    np.testing.assert_array_equal(images, expected)


def test_versions_count_up_and_are_never_overwritten_unless_asked(generator, tmp_path):
    first = export_lib.export_saved_model(generator, tmp_path, model_name="g", max_images=4)
    second = export_lib.export_saved_model(generator, tmp_path, model_name="g", max_images=4)
    assert (first.name, second.name) == ("1", "2")
    (second / "marker").write_text("old")
    with pytest.raises(ValueError, match="version 2 already exists"):
        export_lib.export_saved_model(generator, tmp_path, model_name="g", version=2)
    assert (second / "marker").exists()
    export_lib.export_saved_model(generator, tmp_path, model_name="g", version=2, overwrite=True)
    assert not (second / "marker").exists() and (second / "saved_model.pb").exists()
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == ["1", "2"]


def test_a_failed_export_leaves_no_version_folder(generator, tmp_path, monkeypatch):
    real_build = export_lib.build_archive

    def build_failing(*args, **kwargs):
        archive = real_build(*args, **kwargs)

        def write_half_then_fail(path, **kwargs):
            (tmp_path / "dcgan").joinpath(path).joinpath("saved_model.pb").write_bytes(b"half")
            raise RuntimeError("disk full")

        archive.write_out = write_half_then_fail
        return archive

    monkeypatch.setattr(saved_model, "build_archive", build_failing)
    with pytest.raises(RuntimeError, match="disk full"):
        export_lib.export_saved_model(generator, tmp_path)
    assert list((tmp_path / "dcgan").iterdir()) == []


@pytest.mark.parametrize("quantize, tolerance", [("none", 1e-4), ("float16", 1e-2),
                                                  ("int8", 0.1)])
def test_tflite_matches_the_keras_generator(generator, tmp_path, quantize, tolerance):
    path = export_lib.export_tflite(generator, tmp_path / "g.tflite", quantize=quantize)
    noise = np.random.default_rng(3).normal(size=(8, LATENT)).astype("float32")
    images = tflite_run(path, noise)
    expected = generator(noise, training=False).numpy()
    assert images.shape == expected.shape
    assert np.abs(images - expected).max() <= tolerance
    assert non_builtin_ops(path.read_bytes()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["g.tflite"]


def test_a_failed_conversion_leaves_no_file(generator, tmp_path, monkeypatch):
    def failing_convert(self):
        raise RuntimeError("converter crashed")

    probe = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    converter_class = type(tf.lite.TFLiteConverter.from_keras_model(probe))
    monkeypatch.setattr(converter_class, "convert", failing_convert)
    (tmp_path / "g.tflite").write_bytes(b"the previous good model")
    with pytest.raises(RuntimeError, match="converter crashed"):
        export_lib.export_tflite(generator, tmp_path / "g.tflite")
    assert [p.name for p in tmp_path.iterdir()] == ["g.tflite"]
    assert (tmp_path / "g.tflite").read_bytes() == b"the previous good model"


def test_tflite_sizes_shrink_with_quantization(generator, tmp_path):
    sizes = {q: export_lib.export_tflite(generator, tmp_path / f"{q}.tflite", quantize=q)
             .stat().st_size for q in ("none", "float16", "int8")}
    assert sizes["int8"] < sizes["float16"] < sizes["none"]


def test_export_cli_writes_both_from_a_run_folder(generator, tmp_path, capsys):
    folder = RunFolder(tmp_path / "run")
    folder.write_config(TrainConfig(image_size=16, channels=3, latent_dim=LATENT, seed=0))
    generator.save(folder.generator_path)
    run = folder.path
    assert export.main(["--run", str(run), "--out", str(tmp_path / "out"), "--tflite",
                        "--quantize", "float16"]) == 0
    assert (tmp_path / "out" / "dcgan" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "out" / "dcgan.tflite").is_file()
    assert "SavedModel: " in capsys.readouterr().out
    # A second export writes version 2, but refuses to replace the .tflite unless asked.
    again = ["--run", str(run), "--out", str(tmp_path / "out"), "--tflite"]
    assert export.main(again) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert not (tmp_path / "out" / "dcgan" / "2").exists()
    assert export.main([*again, "--overwrite"]) == 0
    assert (tmp_path / "out" / "dcgan" / "2" / "saved_model.pb").is_file()


def test_export_is_a_library_function_of_one_config(generator, tmp_path):
    generator.save(tmp_path / "g.keras")
    lines = []
    config = ExportConfig(generator=str(tmp_path / "g.keras"), out=str(tmp_path / "out"),
                          tflite=True, max_images=8)
    last = export_lib.export(config, report=lines.append)
    assert lines == [f"SavedModel: {tmp_path / 'out' / 'dcgan' / '1'}",
                     f"TFLite (none): {tmp_path / 'out' / 'dcgan.tflite'}"]
    assert last == f"Model card: {tmp_path / 'out' / 'dcgan' / 'MODEL_CARD.md'}"
    card = json.loads((tmp_path / "out" / "dcgan" / "MODEL_CARD.json").read_text())
    assert card["files"] == ["dcgan/1", "dcgan.tflite"]
    with pytest.raises(ValueError, match="dcgan.tflite already exists; pass --overwrite"):
        export_lib.export(config)  # refused before a second SavedModel version is written
    assert sorted(p.name for p in (tmp_path / "out" / "dcgan").iterdir()) == [
        "1", "MODEL_CARD.json", "MODEL_CARD.md"]


def _cli_error(argv, capsys):
    return one_line_error(export.main, "export.py", argv, capsys)


def test_export_cli_bad_inputs_exit_2_with_one_line(generator, tmp_path, capsys):
    out = ["--out", str(tmp_path / "out")]
    assert "does not exist" in _cli_error(["--run", str(tmp_path / "nope"), *out], capsys)
    assert "generator file not found" in _cli_error(
        ["--generator", str(tmp_path / "missing.keras"), *out], capsys)
    (tmp_path / "junk.keras").write_text("not a model")
    assert "could not load" in _cli_error(["--generator", str(tmp_path / "junk.keras"), *out],
                                          capsys)
    build_discriminator(ImageFormat(16, 3), base_filters=4).save(tmp_path / "d.keras")
    assert "generator must be a Keras model from noise" in _cli_error(
        ["--generator", str(tmp_path / "d.keras"), *out], capsys)
    generator.save(tmp_path / "g.keras")
    (tmp_path / "afile").write_text("")
    assert "which is a file" in _cli_error(
        ["--generator", str(tmp_path / "g.keras"), "--out", str(tmp_path / "afile")], capsys)
    assert "writable folder" in _cli_error(
        ["--generator", str(tmp_path / "g.keras"), "--out", "/proc/tf_dcgan_export"], capsys)
    with pytest.raises(SystemExit) as exit_info:
        export.main(["--generator", str(tmp_path / "g.keras"), *out, "--quantize", "int4"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'int4'" in capsys.readouterr().err


@pytest.mark.slow
def test_tflite_on_the_trained_fashion_mnist_generator(tmp_path):
    """The README run's generator: float16 stays exact to 1e-2; int8 is lossy but bounded."""
    trained = keras.models.load_model(ROOT / "docs/fashion_mnist_run/generator.keras",
                                      compile=False)
    noise = np.random.default_rng(5).normal(size=(16, 100)).astype("float32")
    expected = trained(noise, training=False).numpy()
    half = tflite_run(export_lib.export_tflite(trained, tmp_path / "f16.tflite", "float16"),
                      noise)
    assert np.abs(half - expected).max() <= 1e-2
    quantized = tflite_run(export_lib.export_tflite(trained, tmp_path / "i8.tflite", "int8"),
                           noise)
    error = np.abs(quantized - expected)
    assert error.mean() <= 0.02 and error.max() <= 0.5, (error.mean(), error.max())


def test_replacing_a_version_leaves_a_whole_model_at_every_step(generator, tmp_path,
                                                                 monkeypatch):
    """A stop at any rename of `--overwrite` leaves a loadable version folder (old or new)."""
    target = export_lib.export_saved_model(generator, tmp_path, max_images=4)
    real_replace = os.replace
    for allowed in range(3):
        calls = []

        def replace_then_stop(source, destination):
            if len(calls) == allowed:
                raise KeyboardInterrupt("stopped here")
            calls.append((source, destination))
            return real_replace(source, destination)

        monkeypatch.setattr(os, "replace", replace_then_stop)
        try:
            export_lib.export_saved_model(generator, tmp_path, version=1, max_images=4,
                                          overwrite=True)
        except KeyboardInterrupt:
            pass
        monkeypatch.setattr(os, "replace", real_replace)
        assert _loaded(target)["generate"](num_images=tf.constant(1),
                                           seed=tf.constant(0, tf.int64))["images"].shape[0] == 1


def test_staging_folders_of_killed_exports_are_removed_by_the_next(generator, tmp_path):
    model_dir = tmp_path / "dcgan"
    dead = model_dir / ".tmp-1-999999999-abc"  # ours: no process has this PID
    alive = model_dir / f".tmp-2-{os.getpid()}-abc"  # ours: an export running right now
    for folder, pid in ((dead, 999999999), (alive, os.getpid())):
        folder.mkdir(parents=True)
        (folder / staging.STAGING_MARKER).write_text(f"{pid}\n")
    # A user's own folders named like staging folders, without our marker: never removed.
    users = [model_dir / ".tmp-3-xyz", model_dir / ".tmp-notes"]
    for folder in users:
        folder.mkdir(parents=True)
        (folder / "mine.txt").write_text("keep me")
    export_lib.export_saved_model(generator, tmp_path, max_images=4)
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        [alive.name, "1", *(folder.name for folder in users)])
    assert all((folder / "mine.txt").read_text() == "keep me" for folder in users)
    assert not (model_dir / "1" / staging.STAGING_MARKER).exists()


@pytest.mark.parametrize("max_images, message", [
    (2**31, "max_images must be at most 10000"),
    (10**9, "max_images must be at most 10000"),
    (0, "max_images must be a positive integer"),
])
def test_max_images_is_bounded_before_anything_is_written(generator, tmp_path, max_images,
                                                         message):
    with pytest.raises(ValueError, match=message):
        export_lib.export_saved_model(generator, tmp_path, max_images=max_images)
    assert not (tmp_path / "dcgan").exists()


def test_a_full_disk_during_export_is_one_line_and_keeps_the_old_files(generator, tmp_path,
                                                                        monkeypatch, capsys):
    generator.save(tmp_path / "g.keras")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dcgan.tflite").write_bytes(b"the previous good model")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(staging, "replace_directory", disk_full)
    err = _cli_error(["--generator", str(tmp_path / "g.keras"), "--out", str(tmp_path / "out")],
                     capsys)
    assert "No space left on device" in err
    assert sorted(p.name for p in (tmp_path / "out" / "dcgan").iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(tflite, "atomic_output", _failing_atomic_output)
    err = _cli_error(["--generator", str(tmp_path / "g.keras"), "--out", str(tmp_path / "out"),
                      "--tflite", "--overwrite"], capsys)
    assert "No space left on device" in err
    assert (tmp_path / "out" / "dcgan.tflite").read_bytes() == b"the previous good model"


def _failing_atomic_output(path):
    raise OSError(28, "No space left on device")


def test_a_diverged_generator_is_not_exported(tmp_path, capsys):
    broken = build_generator(ImageFormat(16, 3), latent_dim=LATENT, base_filters=8, seed=0)
    kernel = broken.get_layer("project").kernel
    kernel.assign(np.where(np.arange(kernel.shape[1]) == 0, np.nan, kernel.numpy()))
    with pytest.raises(ValueError, match="non-finite weights .NaN or infinity. in project"):
        export_lib.export_saved_model(broken, tmp_path)
    with pytest.raises(ValueError, match="non-finite weights"):
        export_lib.export_tflite(broken, tmp_path / "g.tflite")
    assert list(tmp_path.iterdir()) == []
    broken.save(tmp_path / "broken.keras")
    assert "makes only black images" in _cli_error(
        ["--generator", str(tmp_path / "broken.keras"), "--out", str(tmp_path / "out")], capsys)
