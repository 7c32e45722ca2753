"""A class-conditional DCGAN: the models, training on labels, train.py --conditional, sampling a
chosen class, the SavedModel's and TFLite's label inputs, and class scores."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import export as export_cli
import train
from tests.helpers import TINY_RUN, one_line_error, tflite_run
from tf_dcgan.checks import ClassLabels, ImageFormat
from tf_dcgan import (
    DCGAN,
    LatentSpace,
    build_discriminator,
    build_generator,
    evaluation,
    export,
    latent_noise,
)
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.model import load_generator

NAMES = ["circle", "square", "triangle"]


@pytest.fixture(scope="module")
def generator():
    return build_generator(ImageFormat(28, 1), latent_dim=8, base_filters=4, seed=0, classes=NAMES)


def test_without_a_class_count_the_networks_are_exactly_the_unconditional_ones():
    g = build_generator(ImageFormat(28, 1), seed=0)
    d = build_discriminator(ImageFormat(28, 1), seed=0)
    assert [t.name for t in g.inputs] == ["noise"] and g.input_shape == (None, 100)
    assert [t.name for t in d.inputs] == ["images"]
    assert [layer.name for layer in g.layers] == [
        "noise", "project", "reshape", "project_bn", "project_relu", "up1", "up1_bn", "up1_relu",
        "up2", "images"]
    assert [layer.name for layer in d.layers] == [
        "images", "down1", "down1_lrelu", "down2", "down2_bn", "down2_lrelu", "flatten", "logit",
        "logits"]
    # Sizes and seeded initial weights as before conditional models existed (measured on the
    # commit before them): a seed still gives the same networks.
    assert (g.count_params(), d.count_params()) == (760_065, 138_881)
    assert sum(float(np.abs(w).sum()) for w in g.get_weights()) == pytest.approx(12497.018, abs=0.01)
    assert sum(float(np.abs(w).sum()) for w in d.get_weights()) == pytest.approx(2472.951, abs=0.01)
    assert not LatentSpace.of(g).conditional


def test_the_label_changes_the_image_and_the_names_survive_a_keras_round_trip(generator,
                                                                               tmp_path):
    space = LatentSpace.of(generator)
    assert (space.num_classes, space.class_names, space.latent_dim) == (3, NAMES, 8)
    noise = latent_noise(3, 8, 7)
    images = generator({"noise": noise, "label": tf.constant([0, 1, 2])}, training=False)
    assert not np.allclose(images[0], images[1], atol=1e-6)
    # The same noise and label: the same image, also with a discriminator's label input.
    again = generator({"noise": noise, "label": tf.constant([0, 0, 0])}, training=False)
    np.testing.assert_allclose(again[0], images[0], atol=1e-6)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert LatentSpace.of(loaded).class_names == NAMES
    np.testing.assert_allclose(loaded(space.sample(3, 7), training=False),
                               generator(space.sample(3, 7), training=False), atol=1e-6)


def test_the_grid_has_one_row_per_class_and_one_noise_per_column(generator):
    inputs, columns = LatentSpace.of(generator).grid(10, seed=0)
    assert columns == 3  # 10 images over 3 classes: 3 per row
    np.testing.assert_array_equal(inputs["label"], [0, 0, 0, 1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(inputs["noise"][0], inputs["noise"][3])
    assert not np.array_equal(inputs["noise"][0], inputs["noise"][1])


def test_bad_class_settings_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="class_names must name every class; received 2 names"):
        build_generator(28, 1, num_classes=3, class_names=["a", "b"])  # the old form checks too
    with pytest.raises(ValueError, match="both be conditional"):
        DCGAN(build_generator(ImageFormat(28, 1), latent_dim=8, base_filters=4, classes=3),
              build_discriminator(ImageFormat(28, 1), base_filters=4), latent_dim=8)


@pytest.fixture(scope="module")
def trained_gan():
    g = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0, classes=3)
    d = build_discriminator(ImageFormat(16, 1), base_filters=4, seed=0, classes=3)
    gan = DCGAN(g, d, latent_dim=8, seed=0, ema_decay=0.9)
    gan.compile()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (48, 16, 16, 1)).astype("float32")
    labels = rng.integers(0, 3, 48)
    history = gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(16), epochs=1,
                      verbose=0)
    return gan, history


def test_a_conditional_dcgan_trains_on_images_and_labels(trained_gan):
    gan, history = trained_gan
    assert gan.conditional
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    with pytest.raises(ValueError, match=r"\(images, labels\) batches"):
        gan.train_step(tf.zeros((4, 16, 16, 1)))


def test_generate_takes_labels_and_refuses_a_class_outside_the_range(trained_gan, tmp_path):
    gan, _ = trained_gan
    one_class = gan.generate(4, seed=3, labels=2)
    per_image = gan.generate(4, seed=3, labels=[2, 2, 2, 2])
    np.testing.assert_array_equal(one_class, per_image)
    cycled = gan.generate(4, seed=3)  # classes 0, 1, 2, 0
    np.testing.assert_array_equal(cycled[2], one_class[2])
    assert not np.allclose(cycled[0], one_class[0])
    with pytest.raises(ValueError, match=r"classes in \[0, 3\); received label 3"):
        gan.generate(2, seed=0, labels=3)
    # The whole model's .keras round trip keeps both generators and the labels' meaning.
    gan.save(tmp_path / "dcgan.keras")
    loaded = keras.models.load_model(tmp_path / "dcgan.keras")
    np.testing.assert_allclose(loaded.generate(4, seed=3, labels=1),
                               gan.generate(4, seed=3, labels=1), atol=1e-6)
    unconditional = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4),
                          build_discriminator(ImageFormat(16, 1), base_filters=4), latent_dim=8)
    with pytest.raises(ValueError, match="labels need a conditional model"):
        unconditional.generate(2, labels=1)


def test_train_cli_conditional_writes_one_grid_row_per_class(tmp_path):
    out = tmp_path / "run"
    assert train.main(TINY_RUN[:-4] + ["--num-samples", "20", "--seed", "0", "--conditional",
                                       "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["conditional"] and config["class_names"][0] == "T-shirt/top"
    grid = np.asarray(Image.open(out / "samples" / "epoch_001.png"))
    # 10 classes x 2 columns of 28x28 tiles, 2-pixel padding, upscaled 2x (longer side >= 512).
    assert grid.shape[:2] == (2 * (10 * 30 + 2), 2 * (2 * 30 + 2))
    generator = keras.models.load_model(out / "generator.keras")
    assert LatentSpace.of(generator).num_classes == 10


def test_train_cli_refuses_a_dataset_without_labels_in_one_line(tmp_path, capsys):
    unlabelled = tmp_path / "images.npz"
    np.savez(unlabelled, images=np.zeros((20, 28, 28, 1), np.uint8))
    err = one_line_error(train.main, "train.py", [
        "--dataset", str(unlabelled), "--conditional", "--out", str(tmp_path / "run")], capsys)
    assert "no class label for 20 of its 20 images" in err and "np.savez" in err
    assert not (tmp_path / "run").exists()


def test_a_mistyped_huge_label_is_refused_before_any_class_is_made(tmp_path, capsys):
    typo = tmp_path / "images.npz"
    labels = np.arange(20, dtype=np.int64) % 3
    labels[7] = 2**40  # one typo: 2**40 classes would exhaust memory before any check
    np.savez(typo, images=np.zeros((20, 28, 28, 1), np.uint8), labels=labels)
    err = one_line_error(train.main, "train.py", [
        "--dataset", str(typo), "--conditional", "--out", str(tmp_path / "run")], capsys)
    assert f"has a label of {2**40}" in err and "at most 10000" in err
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def exported(generator, tmp_path_factory):
    path = export.export_saved_model(generator, tmp_path_factory.mktemp("exports"))
    return tf.saved_model.load(str(path))


def test_the_saved_model_takes_noise_and_label_and_names_the_classes(generator, exported):
    assert sorted(exported.signatures) == ["classes", "generate", "generate_png",
                                           "serving_default"]
    classes = exported.signatures["classes"]()
    assert [name.decode() for name in classes["class_names"].numpy()] == NAMES
    noise = latent_noise(3, 8, 1)
    labels = tf.constant([2, 0, 1])
    served = exported.signatures["serving_default"](noise=noise, label=labels)["images"]
    np.testing.assert_allclose(served, generator({"noise": noise, "label": labels},
                                                 training=False), atol=1e-5)
    made = exported.signatures["generate"](num_images=tf.constant(3), seed=tf.constant(5, tf.int64),
                                           label=tf.constant(1))["images"]
    expected = to_uint8(generator(LatentSpace.of(generator).sample(3, 5, labels=1),
                                  training=False))
    np.testing.assert_array_equal(made, expected)
    png = exported.signatures["generate_png"](num_images=tf.constant(2),
                                              seed=tf.constant(5, tf.int64),
                                              label=tf.constant(1))["png_bytes"]
    np.testing.assert_array_equal(tf.io.decode_png(png[1]), expected[1])


@pytest.mark.parametrize("call", ["generate", "serving_default"])
def test_a_label_outside_the_classes_is_refused_by_the_graph(exported, call):
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"label must be .*in \[0, 3\)"):
        if call == "generate":
            exported.signatures["generate"](num_images=tf.constant(2),
                                            seed=tf.constant(0, tf.int64), label=tf.constant(3))
        else:
            exported.signatures["serving_default"](noise=latent_noise(2, 8, 0),
                                                   label=tf.constant([0, -1]))


@pytest.mark.parametrize("quantize, tolerance", [("none", 1e-4), ("float16", 1e-2),
                                                 ("int8", 0.15)])
def test_tflite_takes_noise_and_label_with_builtin_ops(generator, tmp_path, quantize, tolerance):
    path = export.export_tflite(generator, tmp_path / "g.tflite", quantize=quantize)
    noise = np.random.default_rng(3).normal(size=(3, 8)).astype("float32")
    labels = [0, 2, 1]
    expected = generator({"noise": tf.constant(noise), "label": tf.constant(labels)},
                         training=False).numpy()
    np.testing.assert_allclose(tflite_run(path, noise, labels), expected, rtol=0, atol=tolerance)


@pytest.mark.slow
def test_int8_tflite_of_the_trained_conditional_generator_makes_the_keras_images(tmp_path):
    """docs/conditional_run's generator: every class within the unconditional int8 export's
    error (0.008-0.017 per image); sharing one scale for noise and label rows gave 0.16-0.41."""
    from tests.helpers import ROOT

    generator = load_generator(path=ROOT / "docs/conditional_run/generator.keras")
    path = export.export_tflite(generator, tmp_path / "g.tflite", quantize="int8")
    noise = np.random.default_rng(4).normal(size=(20, 100)).astype("float32")
    labels = np.arange(20) % 10
    expected = generator({"noise": tf.constant(noise), "label": tf.constant(labels)},
                         training=False).numpy()
    errors = np.abs(tflite_run(path, noise, labels) - expected).mean(axis=(1, 2, 3))
    per_class = [errors[labels == label].mean() for label in range(10)]
    assert max(per_class) < 0.03, np.round(per_class, 3)


def test_export_cli_ships_a_conditional_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert train.main(TINY_RUN + ["--conditional", "--out", str(out)]) == 0
    assert export_cli.main(["--run", str(out), "--out", str(tmp_path / "exports"),
                            "--tflite"]) == 0
    loaded = tf.saved_model.load(str(tmp_path / "exports" / "dcgan" / "1"))
    assert loaded.signatures["classes"]()["class_names"].shape == (10,)
    noise = np.zeros((1, 16), np.float32)
    assert tflite_run(tmp_path / "exports" / "dcgan.tflite", noise, [9]).shape == (1, 28, 28, 1)


def test_class_scores_use_the_domain_classifier(tmp_path):
    extractor = evaluation.choose_extractor("fashion_mnist")
    g = build_generator(ImageFormat(28, 1), latent_dim=8, base_filters=4, seed=0, classes=10)
    rng = np.random.default_rng(0)
    reference = evaluation.ImageSet("noise images", [
        (rng.uniform(-1, 1, (30, 28, 28, 1)).astype("float32"), np.arange(30) % 10)])
    report = evaluation.evaluate_classes(g, extractor, reference, num_per_class=8, batch_size=4)
    assert [row["label"] for row in report.rows] == list(range(10))
    assert all(row["num_generated"] == 8 and row["num_reference"] == 3 for row in report.rows)
    # Untrained: the classifier puts its blobs into few classes, so most classes score 0%.
    assert 0 <= report.accuracy < 0.5
    assert "class accuracy" in report.table()
    # An unconditional generator: the classifier sorts its images; shares, no accuracy.
    sorted_report = evaluation.evaluate_classes(
        build_generator(ImageFormat(28, 1), latent_dim=8, base_filters=4, seed=0), extractor,
        reference, num_per_class=4, batch_size=20)
    assert sorted_report.accuracy is None and not sorted_report.conditional
    assert sum(row["num_generated"] for row in sorted_report.rows) == 40
    assert sum(row["share"] for row in sorted_report.rows) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="classifier of the generator's 3 classes"):
        evaluation.evaluate_classes(
            build_generator(ImageFormat(28, 1), latent_dim=8, base_filters=4, classes=3),
            extractor, reference)


def test_label_maps_conditioning_trains_and_loads_in_safe_mode(tmp_path):
    d = build_discriminator(ImageFormat(16, 1), base_filters=4, seed=0,
                            classes=ClassLabels.of(3, "concat"))
    assert d.get_layer("images_and_labels").output.shape == (None, 16, 16, 4)
    gan = DCGAN(build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0,
                                classes=3), d, latent_dim=8, seed=0)
    gan.compile()
    images = np.zeros((8, 16, 16, 1), np.float32)
    logs = gan.train_on_batch(images, np.arange(8) % 3, return_dict=True)
    assert all(np.isfinite(value) for value in logs.values())
    gan.save(tmp_path / "dcgan.keras")
    loaded = keras.models.load_model(tmp_path / "dcgan.keras")  # safe mode: no Lambda layers
    labels = tf.constant([0, 2])
    np.testing.assert_allclose(
        loaded.discriminator({"images": tf.zeros((2, 16, 16, 1)), "label": labels}),
        d({"images": tf.zeros((2, 16, 16, 1)), "label": labels}), atol=1e-6)
    with pytest.raises(ValueError, match="d_conditioning must be one of projection, concat"):
        build_discriminator(ImageFormat(16, 1), classes=ClassLabels.of(3, "maps"))


def test_the_committed_conditional_generator_makes_the_class_asked_for():
    """docs/conditional_run (README, "Generate a chosen class"): 100 images per class, judged by
    the project's Fashion-MNIST classifier."""
    from tests.helpers import ROOT

    generator = load_generator(path=ROOT / "docs/conditional_run/generator.keras")
    space = LatentSpace.of(generator)
    assert space.class_names[7] == "Sneaker" and space.num_classes == 10
    extractor = evaluation.choose_extractor("fashion_mnist")
    accuracies = []
    for label in range(10):
        images = generator(space.sample(100, seed=label, labels=label), training=False)
        accuracies.append(np.mean(extractor.predict_classes(images) == label))
    assert np.mean(accuracies) > 0.85, accuracies
    assert min(accuracies) > 0.6, accuracies  # shirts are the hardest (README: 72.9%)
