"""scripts/train_classifier.py: a domain extractor from any folder of class sub-folders, scored
on a held-out share, and never written over a file it was not asked to replace."""

import importlib.util

import numpy as np
import pytest

from tests.helpers import ROOT, one_line_error, save_image


def _script():
    spec = importlib.util.spec_from_file_location("train_classifier",
                                                  ROOT / "scripts" / "train_classifier.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _two_class_folder(root):
    """Dark squares and bright disks, 20 of each: any classifier tells them apart."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    disk = ((yy - 8) ** 2 + (xx - 8) ** 2 < 30)
    for index in range(20):
        noise = rng.integers(0, 40, (16, 16), dtype=np.uint8)
        save_image(root / "dark" / f"{index}.png", noise)
        save_image(root / "disks" / f"{index}.png", np.where(disk, 255 - noise, noise))
    return root


@pytest.mark.slow
def test_a_folder_of_class_sub_folders_gives_an_extractor_scored_on_held_out_images(
        tmp_path, capsys):
    folder = _two_class_folder(tmp_path / "shapes")
    out = tmp_path / "shapes_classifier.keras"
    assert _script().main(["--dataset", str(folder), "--out", str(out), "--epochs", "4",
                           "--batch-size", "8"]) == 0
    printed = capsys.readouterr().out
    assert "held-out accuracy" in printed and "on 4 images of 2 classes" in printed
    from tf_dcgan.evaluation.extractors import classifier_extractor

    extractor = classifier_extractor(out)
    assert "90% of each class" in extractor.name


def test_an_existing_out_is_never_replaced_unasked(tmp_path, capsys):
    out = tmp_path / "mine.keras"
    out.write_bytes(b"the user's file")
    error = one_line_error(_script().main, "train_classifier.py",
                           ["--dataset", str(tmp_path), "--out", str(out)], capsys)
    assert "already exists; pass --overwrite" in error and out.read_bytes() == b"the user's file"
    with pytest.raises(SystemExit) as exit_info:
        _script().main(["--dataset", "fashion_mnist"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err


def test_a_folder_without_class_sub_folders_is_one_line(tmp_path, capsys):
    for index in range(3):
        save_image(tmp_path / "flat" / f"{index}.png", np.zeros((8, 8), np.uint8))
    assert "has no class labels" in one_line_error(
        _script().main, "train_classifier.py",
        ["--dataset", str(tmp_path / "flat"), "--out", str(tmp_path / "c.keras")], capsys)


def test_evaluate_scores_against_exactly_the_images_the_classifier_never_learned(tmp_path):
    from types import SimpleNamespace

    from tf_dcgan import data
    from tf_dcgan.evaluation import reference_sets

    folder = _two_class_folder(tmp_path / "shapes")
    for index in range(20, 30):  # classes of other sizes: the split is taken within each
        save_image(folder / "dark" / f"{index}.png", np.zeros((16, 16), np.uint8))
    learned, tested, _ = _script()._splits(SimpleNamespace(dataset=str(folder), held_out=0.1),
                                           data)
    reference, name, floor, _ = reference_sets(str(folder))
    assert reference.paths == tested.paths and floor.paths == learned.paths
    assert not set(reference.paths) & set(learned.paths)
    assert sorted(np.asarray(reference.labels).tolist()) == [0, 0, 0, 1, 1]  # 10% of 30 and 20
    assert "10% of each class held out, seed 0" in name


def test_what_would_fail_after_training_or_train_nothing_is_one_line_up_front(tmp_path, capsys):
    folder = _two_class_folder(tmp_path / "shapes")
    save_image(folder / "zebras" / "0.png", np.zeros((16, 16), np.uint8))  # one image: sorts last
    save_image(folder / "cats" / "0.png", np.zeros((16, 16), np.uint8))  # one image: in the middle
    out = str(tmp_path / "c.keras")
    error = one_line_error(_script().main, "train_classifier.py",
                           ["--dataset", str(folder), "--out", out], capsys)
    assert "every class needs at least 2 images" in error and "cats (1), zebras (1)" in error
    (tmp_path / "folder.keras").mkdir()
    for argv, shown in ((["--out", str(tmp_path / "folder.keras"), "--overwrite"], "which is a folder"),
                        (["--out", str(tmp_path / "missing" / "c.keras")], "does not exist"),
                        (["--out", out, "--image-size", "0"], "image_size"),
                        (["--out", out, "--epochs", "0"], "epochs must be a positive integer")):
        assert shown in one_line_error(_script().main, "train_classifier.py",
                                       ["--dataset", str(folder), *argv], capsys)
    assert not (tmp_path / "c.keras").exists()
