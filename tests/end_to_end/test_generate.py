"""generate.py: PNG files and a grid from a run or a generator file, the same for the same seed."""

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
    return files, np.stack([iio.imread(folder / name) for name in files if name != "grid.png"])


def test_the_images_are_the_generators_for_the_seed_and_the_grid_holds_them(tmp_path, capsys):
    assert generate.main(["--generator", str(UNCONDITIONAL), "--num-images", "6", "--seed", "3",
                          "--out", str(tmp_path / "out")]) == 0
    assert "6 images and grid.png" in capsys.readouterr().out
    files, images = _written(tmp_path / "out")
    assert files == ["0000.png", "0001.png", "0002.png", "0003.png", "0004.png", "0005.png",
                     "grid.png"]
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
        "0000.png", "0001.png", "grid.png"]


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
])
def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, capsys, argv, shown):
    (tmp_path / "EXISTING").mkdir()
    (tmp_path / "EXISTING" / "mine.png").write_bytes(b"a user's picture")
    argv = [str(tmp_path / word) if word in ("OUT", "EXISTING") else word for word in argv]
    assert shown in one_line_error(generate.main, "generate.py", argv, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EXISTING"]
    assert (tmp_path / "EXISTING" / "mine.png").read_bytes() == b"a user's picture"
