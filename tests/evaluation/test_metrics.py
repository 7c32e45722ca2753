"""The metrics mean something: sanity checks with the project's Fashion-MNIST classifier."""

import dataclasses
import json

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

import evaluate
from tests.helpers import ROOT, one_line_error
from tf_dcgan.checks import ImageFormat
from tf_dcgan import data
from tf_dcgan import evaluation as extractors
from tf_dcgan.config import TrainConfig
from tf_dcgan.evaluation import metrics
from tf_dcgan.model.networks import build_generator
from tf_dcgan.model_card import run_card, write_card
from tf_dcgan.run_folder import RunFolder

CLASSIFIER = ROOT / "tf_dcgan/evaluation/classifiers/fashion_mnist_classifier.keras"
N = 600


@pytest.fixture(scope="module")
def extractor():
    return extractors.classifier_extractor(CLASSIFIER)


@pytest.fixture(scope="module")
def real():
    """Fashion-MNIST test and train images in [-1, 1], N of each, with labels."""
    test = data.read_images("fashion_mnist:test")
    train = data.read_images("fashion_mnist:train")
    as_float = lambda source: (source.images[:N].astype("float32") / 127.5 - 1,  # noqa: E731
                               source.labels[:N])
    return as_float(test), as_float(train)


def test_the_classifier_file_reports_its_accuracy(extractor):
    assert extractor.info["test_accuracy"] >= 0.90
    assert "fashion_mnist:train classifier" in extractor.name and "% test accuracy" in extractor.name


def test_a_set_against_itself_is_perfect(extractor, real):
    features = extractor(real[0][0])
    scores = metrics.score_features(features, features)
    assert abs(scores.fid) < 1e-3  # float round-off only
    assert scores.precision == 1.0 and scores.recall == 1.0


def test_real_vs_real_is_far_below_an_untrained_generator(extractor, real):
    (test, _), (train, _) = real
    floor = metrics.score_features(extractor(test), extractor(train))
    untrained = build_generator(ImageFormat(28, 1), latent_dim=100, seed=0)
    fake = untrained(tf.random.stateless_normal((N, 100), seed=[0, 0]), training=False)
    scores = metrics.score_features(extractor(test), extractor(fake))
    assert scores.fid > 20 * floor.fid
    assert scores.kid > 20 * max(floor.kid, 1e-4)
    assert floor.precision > 0.6 and floor.recall > 0.6
    assert scores.precision < 0.1 and scores.recall < 0.1


def test_noise_and_blur_raise_fid_step_by_step(extractor, real):
    (test, _), (train, _) = real
    reference = extractor(test)
    rng = np.random.default_rng(0)
    noisy = [metrics.frechet_distance(reference, extractor(np.clip(
        train + rng.normal(0, sigma, train.shape).astype("float32"), -1, 1)))
        for sigma in (0.0, 0.1, 0.25, 0.5)]
    assert noisy == sorted(noisy) and noisy[-1] > 3 * noisy[0], noisy
    blurred = []
    for kernel in (1, 3, 5):
        box = np.ones((kernel, kernel, 1, 1), "float32") / kernel**2
        images = tf.nn.conv2d(train, box, 1, "SAME").numpy()
        blurred.append(metrics.frechet_distance(reference, extractor(images)))
    assert blurred == sorted(blurred) and blurred[-1] > 3 * blurred[0], blurred


def test_one_class_only_gives_low_recall_and_high_fid(extractor, real):
    (test, _), _ = real
    train = data.read_images("fashion_mnist:train")
    trousers = train.images[train.labels == 1][:N].astype("float32") / 127.5 - 1
    everything = train.images[:N].astype("float32") / 127.5 - 1
    reference = extractor(test)
    one_class = metrics.score_features(reference, extractor(trousers))
    mixed = metrics.score_features(reference, extractor(everything))
    assert one_class.recall < 0.3 < mixed.recall
    assert one_class.fid > 5 * mixed.fid


def test_inception_extractor_runs_from_a_weights_file(tmp_path):
    model = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                           input_shape=(299, 299, 3))
    model.save_weights(tmp_path / "inception.weights.h5")
    inception = extractors.inception_extractor(tmp_path / "inception.weights.h5")
    features = inception(np.zeros((2, 28, 28, 1), "float32"))
    assert features.shape == (2, 2048) and "InceptionV3" in inception.name
    assert "not the TF-Inception graph of published FIDs" in inception.name  # every report says so
    with pytest.raises(ValueError, match=r"inception weights not found.*about 83 MiB.*"
                       r"https://storage\.googleapis\.com/.*--inception-weights"):
        extractors.inception_extractor(tmp_path / "missing.h5")


def _cli_error(argv, capsys):
    return one_line_error(evaluate.main, "evaluate.py", argv, capsys)


def test_evaluate_cli_reports_scores_and_the_floor(tmp_path, capsys):
    folder = RunFolder(tmp_path / "run")
    config = TrainConfig(image_size=28, channels=1, seed=0)
    folder.write_config(config)
    keras.models.load_model(ROOT / "docs/fashion_mnist_run/generator.keras").save(
        folder.generator_path)
    write_card(folder.path, run_card(dataclasses.asdict(config), 60_000, 20, 18_760, 1200.0,
                                     "float32"))
    assert evaluate.main(["--run", str(folder.path), "--num-images", "300"]) == 0
    out = capsys.readouterr().out
    assert "fashion_mnist:train classifier" in out and "floor: fashion_mnist:train" in out
    report = json.loads(folder.evaluation_path.read_text())
    assert report["reference"] == "fashion_mnist:test" and report["num_generated"] == 300
    assert report["num_reference"] == 10_000
    assert report["floor"]["fid"] < report["scores"]["fid"]
    # The run's model card now shows these scores, with the extractor and N named.
    card = json.loads((folder.path / "MODEL_CARD.json").read_text())
    assert card["metrics"]["scores"] == report["scores"] and card["metrics"]["num_generated"] == 300
    assert "fashion_mnist:train classifier" in (folder.path / "MODEL_CARD.md").read_text()


def test_a_run_trained_at_another_size_is_scored_as_training_resized_its_data(tmp_path, capsys):
    folder = RunFolder(tmp_path / "run")
    folder.write_config(TrainConfig(image_size=32, channels=1, seed=0))
    build_generator(ImageFormat(32, 1), latent_dim=8, base_filters=4, seed=0).save(
        folder.generator_path)
    assert evaluate.main(["--run", str(folder.path), "--num-images", "100"]) == 0
    report = json.loads(folder.evaluation_path.read_text())
    assert report["reference"] == "fashion_mnist:test" and report["num_generated"] == 100


def test_a_folder_too_small_to_score_against_is_one_line_before_anything_runs(tmp_path, capsys):
    from tests.helpers import save_image

    for index in range(20):
        save_image(tmp_path / "tiny" / f"{index}.png", np.full((16, 16), index * 10, np.uint8))
    generator = tmp_path / "g16.keras"
    build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4).save(generator)
    error = _cli_error(["--generator", str(generator), "--dataset", str(tmp_path / "tiny")],
                       capsys)
    assert "leaves 2 held-out images to score against" in error
    assert "at least 40 images" in error


def test_evaluate_cli_bad_inputs_are_one_line(tmp_path, capsys):
    folder = RunFolder(tmp_path / "run")
    folder.write_config(TrainConfig(image_size=28, channels=1, seed=0))
    assert "generator file not found" in _cli_error(["--run", str(folder.path)], capsys)
    generator = str(ROOT / "docs/fashion_mnist_run/generator.keras")
    assert "num_images must be a positive integer" in _cli_error(
        ["--generator", generator, "--num-images", "0"], capsys)
    (tmp_path / "fake.keras").write_text("not a model")
    assert "is not a feature extractor" in _cli_error(
        ["--generator", generator, "--dataset", "fashion_mnist", "--extractor",
         str(tmp_path / "fake.keras")], capsys)
    # A classifier file whose info entry was edited: no dataset, or a list instead of a dict.
    import zipfile

    shipped = ROOT / "tf_dcgan/evaluation/classifiers/fashion_mnist_classifier.keras"
    for info in ('{"feature_dim": 128}', '[1, 2]'):
        edited = tmp_path / "edited.keras"
        with zipfile.ZipFile(shipped) as source, zipfile.ZipFile(edited, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                target.writestr(item, info if item.filename == extractors.INFO_ENTRY else data)
        assert "its info entry lacks dataset" in _cli_error(
            ["--generator", generator, "--dataset", "fashion_mnist", "--extractor",
             str(edited)], capsys)
    build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4).save(tmp_path / "g16.keras")
    assert "has 28x28 images and the generator makes 16x16" in _cli_error(
        ["--generator", str(tmp_path / "g16.keras"), "--dataset", "fashion_mnist"], capsys)
    assert "dataset is needed with --generator" in _cli_error(["--generator", generator], capsys)
    notes = tmp_path / "notes.json"
    notes.write_text('{"mine": true}')
    assert "already exists and is not a report of evaluate.py" in _cli_error(
        ["--generator", generator, "--dataset", "fashion_mnist", "--out", str(notes)], capsys)
    assert notes.read_text() == '{"mine": true}'


@pytest.mark.slow
def test_training_with_eval_every_writes_metrics_and_keeps_the_best(tmp_path, capsys):
    import train

    run = tmp_path / "run"
    assert train.main(["--batch-size", "32", "--base-filters", "8", "--latent-dim", "16",
                       "--num-samples", "4", "--seed", "0", "--steps-per-epoch", "5",
                       "--epochs", "2", "--eval-every", "1", "--eval-images", "200",
                       "--keep-best", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "epoch 1: FID" in out and "epoch 2: FID" in out
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,step,fid,kid,kid_std,precision,recall"
    assert [row.split(",")[:2] for row in rows[1:]] == [["1", "5"], ["2", "10"]]
    # The FID-by-step picture beside it, redrawn after each evaluation.
    plot = iio.imread(run / "metrics.png")
    assert plot.shape[:2] == (650, 1000) and plot.std() > 0
    best = json.loads((run / "checkpoints" / "best" / "best.json").read_text())
    fids = [float(row.split(",")[2]) for row in rows[1:]]
    assert best["score"] == pytest.approx(min(fids)) and best["epoch"] == 1 + fids.index(min(fids))
    # The best generator is a file every command takes (--generator), equal to its checkpoint.
    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training.checkpoints import TrainingState
    from tf_dcgan.training.run import build_gan

    kept = keras.models.load_model(run / "checkpoints" / "best" / "generator.keras")
    gan = build_gan(TrainConfig.from_json((run / "config.json").read_text()))
    assert TrainingState(gan, run / "checkpoints" / "best").restore_newest() == best["step"]
    for ours, theirs in zip(kept.weights, gan.generator.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert not list((run / "checkpoints" / "best").glob(".*tmp*"))


def test_keep_best_without_evaluation_is_refused(capsys):
    import train

    assert train.main(["--keep-best", "--dry-run"]) == 2
    assert "keep_best needs evaluations to compare" in capsys.readouterr().err


def test_interpolation_keeps_its_ends_and_slerp_keeps_the_norm():
    from tf_dcgan.model.latent import interpolate, latent_noise

    start, end = latent_noise(2, 100, 0).numpy()
    for spherical in (True, False):
        path = interpolate(start, end, 9, spherical)
        np.testing.assert_allclose(path[0], start, atol=1e-5)
        np.testing.assert_allclose(path[-1], end, atol=1e-5)
    norms = np.linalg.norm(interpolate(start, end, 9, True), axis=1)
    straight = np.linalg.norm(interpolate(start, end, 9, False), axis=1)
    assert norms[4] > 0.9 * min(norms[0], norms[-1]) > straight[4]


def test_arithmetic_takes_class_names_with_hyphens_and_indices():
    from tf_dcgan.data.fashion_mnist import FASHION_MNIST_CLASSES as names
    from tf_dcgan.evaluation.experiments import parse_arithmetic

    assert parse_arithmetic("Ankle boot-Sneaker+Sandal", names) == (9, 7, 5)
    assert parse_arithmetic("T-shirt/top-Shirt+Dress", names) == (0, 6, 3)
    assert parse_arithmetic("9-7+5", names) == (9, 7, 5)
    with pytest.raises(ValueError, match="arithmetic must be A-B.C.*Classes: T-shirt/top"):
        parse_arithmetic("Boot+Sneaker", names)


@pytest.mark.slow
def test_experiments_write_the_papers_figures_and_the_feature_table(tmp_path, capsys):
    import train

    run = tmp_path / "run"
    assert train.main(["--batch-size", "32", "--base-filters", "8", "--latent-dim", "16",
                       "--num-samples", "4", "--seed", "0", "--steps-per-epoch", "5",
                       "--epochs", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert evaluate.main(["--run", str(run), "--num-images", "200", "--experiments",
                          "--probe-images", "600"]) == 0
    out = capsys.readouterr().out
    # 4x4 cells of each conv layer: (8 + 16 filters) x 16 = 384 features for base filters 8.
    assert "discriminator features (384-d)" in out and "raw pixels (784-d)" in out
    files = sorted(p.name for p in (run / "experiments").iterdir())
    assert files == ["arithmetic.png", "interpolation_lerp.png", "interpolation_slerp.png",
                     "neighbours.png"]
    import imageio.v3 as iio

    assert iio.imread(run / "experiments" / "arithmetic.png").shape == (8 * 30 + 2, 4 * 30 + 2)
    probe = json.loads((run / "evaluation.json").read_text())["experiments"]
    probe = probe["discriminator_features"]
    assert probe["train_images"] == probe["test_images"] == 600
    assert 0.1 < probe["pixel_accuracy"] <= 1 and 0.1 < probe["discriminator_accuracy"] <= 1


def test_evaluate_checks_its_out_and_image_count_before_scoring(tmp_path, capsys):
    generator = str(ROOT / "docs/fashion_mnist_run/generator.keras")
    base = ["--generator", generator, "--dataset", "fashion_mnist"]
    err = _cli_error([*base, "--out", str(tmp_path / "missing" / "report.json")], capsys)
    assert "does not exist" in err and "Pick another --out" in err
    err = _cli_error([*base, "--out", str(tmp_path)], capsys)
    assert "which is a folder" in err
    assert "num_images must be at least 4" in _cli_error([*base, "--num-images", "1"], capsys)
    assert "num_images must be at most 100000" in _cli_error(
        [*base, "--num-images", "10000000"], capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dataset, reference", [
    ("fashion_mnist", "fashion_mnist:test"), ("fashion_mnist:train[:10%]", "fashion_mnist:test"),
    ("fashion_mnist:test", "fashion_mnist:test")])
def test_a_run_on_part_of_the_training_split_is_scored_against_the_test_split(dataset,
                                                                             reference):
    _, name, _, floor = extractors.reference_sets(dataset)
    assert (name, floor) == (reference, "fashion_mnist:train")
