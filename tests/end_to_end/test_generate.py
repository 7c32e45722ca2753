"""generate.py: PNG files and a grid from a run or a generator file, the same for the same seed."""

import json
import shutil

import imageio.v3 as iio
import numpy as np
import pytest

import generate
from tests.helpers import ROOT, one_line_error
from tf_dcgan.config import TrainConfig
from tf_dcgan.data.transforms import to_uint8
from tf_dcgan.model import LatentSpace, load_generator
from tf_dcgan.run_folder import RunFolder

UNCONDITIONAL = ROOT / "docs/fashion_mnist_run/generator.keras"
CONDITIONAL = ROOT / "docs/conditional_run/generator.keras"


def _written(folder):
    files = sorted(p.name for p in folder.iterdir())
    return files, np.stack([iio.imread(folder / name) for name in files
                            if name[0].isdigit() and name.endswith(".png")])


def test_the_images_are_the_generators_for_the_seed_and_the_grid_holds_them(tmp_path, capsys):
    assert generate.main(["--generator", str(UNCONDITIONAL), "--num-images", "6", "--seed", "3",
                          "--out", str(tmp_path / "out")]) == 0
    assert "6 images, grid.png" in capsys.readouterr().out
    files, images = _written(tmp_path / "out")
    assert files == ["0000.png", "0001.png", "0002.png", "0003.png", "0004.png", "0005.png",
                     "MODEL_CARD.json", "MODEL_CARD.md", "grid.png"]
    generator = load_generator(path=UNCONDITIONAL)
    expected = np.asarray(to_uint8(generator(LatentSpace.of(generator).sample(6, 3),
                                             training=False)))[..., 0]
    np.testing.assert_array_equal(images, expected)
    # 2 rows of 3 tiles of 28 pixels with 2 of padding (62x92), upscaled 6x to be >= 512 wide.
    grid = iio.imread(tmp_path / "out" / "grid.png")
    assert grid.shape == (62 * 6, 92 * 6)
    np.testing.assert_array_equal(grid[12:12 + 168:6, 12:12 + 168:6], images[0])
    # The last image: row 1, column 2, at 2 + 30 and 2 + 60 pixels.
    np.testing.assert_array_equal(grid[32 * 6:60 * 6:6, 62 * 6:90 * 6:6], images[5])


def test_a_conditional_generator_writes_the_class_asked_for_by_name(tmp_path):
    assert generate.main(["--generator", str(CONDITIONAL), "--num-images", "4", "--label",
                          "Sneaker", "--out", str(tmp_path / "shoes")]) == 0
    _, images = _written(tmp_path / "shoes")
    generator = load_generator(path=CONDITIONAL)
    inputs = LatentSpace.of(generator).sample(4, 0, labels=7)
    expected = np.asarray(to_uint8(generator(inputs, training=False)))[..., 0]
    np.testing.assert_array_equal(images, expected)


def test_a_run_writes_into_its_own_generated_folder(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig(seed=0, out=str(run.path)))
    shutil.copy(UNCONDITIONAL, run.generator_path)
    assert generate.main(["--run", str(run.path), "--num-images", "2", "--seed", "5"]) == 0
    assert sorted(p.name for p in (run.path / "generated" / "seed-5").iterdir()) == [
        "0000.png", "0001.png", "MODEL_CARD.json", "MODEL_CARD.md", "grid.png"]


@pytest.mark.parametrize("argv, shown", [
    ([], "exactly one of run and generator"),
    (["--generator", str(UNCONDITIONAL)], "out is needed with --generator"),
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--num-images", "0"],
     "num_images must be a positive integer"),
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--label", "3"],
     "label is for a conditional generator"),
    (["--generator", str(CONDITIONAL), "--out", "OUT", "--label", "Boot"],
     "The classes are 0 T-shirt/top"),
    (["--generator", str(UNCONDITIONAL), "--out", "EXISTING"], "already exists; pass --overwrite"),
    (["--generator", "EXISTING", "--out", "OUT"], "is a folder without saved_model.pb"),
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--scale", "0"],
     "scale must be a positive integer"),
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--interpolate", "-2"],
     "interpolate must be a positive integer"),
    # Each flag within its bound, their product not: refused before anything is generated.
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--num-images", "64", "--scale", "32",
      "--interpolate", "24"], "would need 2.7 GiB, more than the 2 GiB"),
    (["--generator", str(UNCONDITIONAL), "--out", "OUT", "--num-images", "10000", "--scale",
      "32"], "Use at most --num-images 1024 with these flags"),
])
def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, capsys, argv, shown):
    (tmp_path / "EXISTING").mkdir()
    (tmp_path / "EXISTING" / "mine.png").write_bytes(b"a user's picture")
    argv = [str(tmp_path / word) if word in ("OUT", "EXISTING") else word for word in argv]
    assert shown in one_line_error(generate.main, "generate.py", argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EXISTING"]
    assert (tmp_path / "EXISTING" / "mine.png").read_bytes() == b"a user's picture"


def test_overwrite_never_replaces_a_file_a_link_or_what_the_command_reads(tmp_path, capsys):
    mine = tmp_path / "notes.txt"
    mine.write_text("the user's file")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"a user's photo")
    link = tmp_path / "link"
    link.symlink_to(photos)
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(UNCONDITIONAL, models / "generator.keras")
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig(seed=0, out=str(run.path)))
    shutil.copy(UNCONDITIONAL, run.generator_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for argv, shown in (
            (["--generator", str(UNCONDITIONAL), "--out", str(mine)], "is a file, not a folder"),
            (["--generator", str(UNCONDITIONAL), "--out", str(link)], "is a symbolic link"),
            (["--generator", str(models / "generator.keras"), "--out", str(models)],
             "which this command reads"),
            (["--run", str(run.path), "--out", str(run.path)], "which this command reads"),
            (["--run", str(run.path), "--out", str(tmp_path)], "which this command reads"),
            (["--generator", str(UNCONDITIONAL), "--out", ""], "out must name a folder")):
        error = one_line_error(generate.main, "generate.py", [*argv, "--overwrite"], capsys)
        assert shown in error
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.rglob(".tmp-*")]


@pytest.fixture(scope="module")
def exported_conditional(tmp_path_factory):
    """The committed conditional generator exported by export.py: SavedModel, .tflite, card."""
    import export

    out = tmp_path_factory.mktemp("exports")
    assert export.main(["--generator", str(CONDITIONAL), "--out", str(out), "--tflite"]) == 0
    return out


@pytest.mark.slow
def test_the_same_seed_gives_the_same_images_from_every_file_kind(exported_conditional,
                                                                  tmp_path):
    kinds = {"keras": CONDITIONAL, "saved_model": exported_conditional / "dcgan" / "1",
             "tflite": exported_conditional / "dcgan.tflite"}
    images = {}
    for kind, path in kinds.items():
        out = tmp_path / kind
        assert generate.main(["--generator", str(path), "--num-images", "5", "--seed", "4",
                              "--label", "Bag", "--out", str(out)]) == 0
        images[kind] = _written(out)[1].astype(int)
        card = json.loads((out / "MODEL_CARD.json").read_text())
        assert card["model"]["class_names"][8] == "Bag" and card["generated"]["label"] == 8
        assert card["generated"]["from"].startswith(kind)
    # The SavedModel is the same graph: the same pixels. TFLite folds BatchNorm and runs
    # XNNPACK's kernels: a few grey levels at most.
    np.testing.assert_array_equal(images["saved_model"], images["keras"])
    assert np.abs(images["tflite"] - images["keras"]).max() <= 4


def test_an_export_carries_the_model_card_and_a_conditional_tflite_needs_it(
        exported_conditional, tmp_path, capsys):
    # The committed generator's folder has its run's card: the export carries it, as the
    # exported model's own card (OUT/dcgan/, one per --model-name).
    assert not (exported_conditional / "MODEL_CARD.json").exists()
    card = json.loads((exported_conditional / "dcgan" / "MODEL_CARD.json").read_text())
    assert card["files"] == ["dcgan/1", "dcgan.tflite"] and card["model"]["conditional"]
    assert card["data"]["dataset"] == "fashion_mnist" and card["metrics"]["scores"]["fid"] < 10
    # A generator file alone gets the card of what the file itself tells.
    from tf_dcgan.export import export_card, open_generator

    copy = tmp_path / "generator.keras"
    shutil.copy(CONDITIONAL, copy)
    alone = export_card(open_generator(path=copy))
    assert alone["data"] is None and alone["model"]["class_names"][7] == "Sneaker"
    from tf_dcgan.model_card import card_markdown

    assert "Not recorded: this card was made from a generator file alone." in card_markdown(alone)
    alone = tmp_path / "alone.tflite"
    shutil.copy(exported_conditional / "dcgan.tflite", alone)
    assert "its classes are read from" in one_line_error(
        generate.main, "generate.py", ["--generator", str(alone), "--out", str(tmp_path / "x")],
        capsys)


def test_scale_upscales_every_image_and_the_walk_loops_from_the_grid(tmp_path):
    assert generate.main(["--generator", str(UNCONDITIONAL), "--num-images", "4", "--scale", "3",
                          "--interpolate", "5", "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    image = iio.imread(out / "0000.png")
    assert image.shape == (84, 84)
    np.testing.assert_array_equal(image[::3, ::3], image[1::3, 1::3])
    walk = iio.imread(out / "walk.gif", index=None)
    grid = iio.imread(out / "grid.png")
    assert walk.shape[0] == 5 and walk.shape[1:3] == grid.shape[:2]
    first = walk[0] if walk.ndim == 3 else walk[0][..., 0]
    np.testing.assert_array_equal(first, grid)  # frame 0 is the grid; the others move
    assert all(np.abs(frame.astype(int) - walk[0]).mean() > 1 for frame in walk[1:])


@pytest.mark.slow
def test_each_exported_model_has_its_own_card_and_a_card_must_fit_its_model(
        exported_conditional, tmp_path, capsys):
    import export

    out = tmp_path / "exports"
    shutil.copytree(exported_conditional, out)
    (out / "MODEL_CARD.md").write_text("the user's own notes")  # never export.py's to replace
    # A second, unconditional model in the same folder gets its own card, and leaves the first's.
    assert export.main(["--generator", str(UNCONDITIONAL), "--out", str(out),
                        "--model-name", "plain", "--tflite"]) == 0
    assert not json.loads((out / "plain" / "MODEL_CARD.json").read_text())["model"]["conditional"]
    assert json.loads((out / "dcgan" / "MODEL_CARD.json").read_text())["model"]["class_names"][
        8] == "Bag"
    assert (out / "MODEL_CARD.md").read_text() == "the user's own notes"
    assert generate.main(["--generator", str(out / "dcgan.tflite"), "--label", "Bag",
                          "--num-images", "2", "--out", str(tmp_path / "bags")]) == 0
    # A card whose names are not the model's (too few, too many, not names) is one line.
    card_file = out / "dcgan" / "MODEL_CARD.json"
    card = json.loads(card_file.read_text())
    for names, shown in ((card["model"]["class_names"][:3], "names 3 classes (T-shirt/top, "),
                         (card["model"]["class_names"] * 100_000, "names 1000000 classes"),
                         (5, "must list the class names as strings")):
        card["model"]["class_names"] = names
        card_file.write_text(json.dumps(card))
        error = one_line_error(generate.main, "generate.py",
                               ["--generator", str(out / "dcgan.tflite"), "--out",
                                str(tmp_path / "x")], capsys)
        assert shown in error and len(error) < 1000
    assert not (tmp_path / "x").exists()


def test_a_hand_edited_card_missing_a_field_is_made_anew_not_a_traceback(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_config(TrainConfig(seed=0, out=str(run.path)))
    shutil.copy(UNCONDITIONAL, run.generator_path)
    (run.path / "MODEL_CARD.json").write_text('{"model": {"conditional": false}}')
    out = tmp_path / "out"
    assert generate.main(["--run", str(run.path), "--num-images", "2", "--out", str(out)]) == 0
    card = json.loads((out / "MODEL_CARD.json").read_text())
    assert card["model"]["architecture"].startswith("DCGAN generator")


def test_a_file_that_makes_nan_or_no_images_is_one_line_not_black_pngs(tmp_path):
    from pathlib import Path

    from tf_dcgan.export import GeneratorFile, generate_images

    latent = LatentSpace(8)
    broken = GeneratorFile("tflite", Path("broken.tflite"), latent,
                           lambda noise: np.full((len(noise), 4, 4, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="makes NaN or infinite pixels"):
        generate_images(broken, 2)
    vectors = GeneratorFile("saved_model", Path("vectors"), latent,
                            lambda noise: np.zeros((len(noise), 10), np.float32))
    with pytest.raises(ValueError, match=r"makes arrays of shape \(10,\), not images"):
        generate_images(vectors, 2)


def test_a_conditional_saved_model_without_its_classes_signature_is_one_line(tmp_path, capsys):
    import tensorflow as tf

    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="noise"),
                                  tf.TensorSpec([None], tf.int32, name="label")])
    def serve(noise, label):
        return {"images": tf.zeros([tf.shape(noise)[0], 4, 4, 1])}

    module.serve = serve
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"serving_default": serve})
    error = one_line_error(generate.main, "generate.py",
                           ["--generator", str(tmp_path / "model"), "--out", str(tmp_path / "x")],
                           capsys)
    assert "takes a class label but has no classes signature" in error
    assert not (tmp_path / "x").exists()
