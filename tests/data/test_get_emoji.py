"""scripts/get_emoji.py: the npm emoji packages as a folder of category sub-folders, checked
against the pinned integrity, read by the folder reader with alpha composited over white."""

import importlib.util
import io
import json
import tarfile

import numpy as np
from PIL import Image

from tests.helpers import ROOT
from tf_dcgan.checks import ImageFormat


def _script():
    spec = importlib.util.spec_from_file_location("get_emoji", ROOT / "scripts" / "get_emoji.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png(rgba):
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgba, np.uint8), "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _package(folder, name="emoji-datasource-google", version="16.0.0"):
    """A tarball laid out as the npm package: emoji.json and img/google/64/*.png."""
    red = np.zeros((64, 64, 4), np.uint8)
    red[..., 0], red[16:48, 16:48, 3] = 255, 255  # a red square on a transparent background
    entries = [
        {"short_name": "grinning", "category": "Smileys & Emotion", "image": "1f600.png",
         "has_img_google": True},
        {"short_name": "wave", "category": "People & Body", "image": "1f44b.png",
         "has_img_google": True, "skin_variations": {
             "1F3FB": {"image": "1f44b-1f3fb.png", "has_img_google": True}}},
        {"short_name": "skin-tone-2", "category": "Component", "image": "1f3fb.png",
         "has_img_google": True},
        {"short_name": "no-google-image", "category": "Objects", "image": "1f4a9.png",
         "has_img_google": False},
    ]
    files = {"package/emoji.json": json.dumps(entries).encode()}
    for image in ("1f600.png", "1f44b.png", "1f44b-1f3fb.png", "1f3fb.png"):
        files[f"package/img/google/64/{image}"] = _png(red)
    path = folder / f"{name}-{version}.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_packages_become_category_folders_that_train_py_reads(tmp_path, capsys, monkeypatch):
    script = _script()
    tarball = _package(tmp_path)
    package = script.PACKAGES["google"]
    monkeypatch.setitem(script.PACKAGES, "google",
                        (package[0], package[1], script.integrity(tarball), package[3]))
    out = tmp_path / "emoji"
    assert script.main([str(out), "--sets", "google", "--skin-tones", "all",
                        "--tarballs", str(tmp_path)]) == 0
    assert "3 images in 2 categories" in capsys.readouterr().out
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "people_and_body/wave-1f3fb-google.png", "people_and_body/wave-google.png",
        "smileys_and_emotion/grinning-google.png"]
    assert json.loads((out / "DATASET.json").read_text())["skin_tones"] == "all"
    assert "Apache License 2.0" in (out / "NOTICE").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    from tf_dcgan.data import make_eval_dataset, read_images

    source = read_images(str(out))
    assert source.class_names == ["people_and_body", "smileys_and_emotion"]
    images, _ = next(iter(make_eval_dataset(source, ImageFormat(64, 3))))
    assert np.allclose(images[0, 0, 0], [1.0, 1.0, 1.0])  # transparent: white
    assert np.allclose(images[0, 32, 32], [1.0, -1.0, -1.0])  # opaque red

    # The folder names itself: the emoji classifier scores it, and cards carry its licence.
    from tf_dcgan.evaluation.extractors import DEFAULT_CLASSIFIERS, choose_extractor
    from tf_dcgan.model_card import dataset_licence

    assert "Apache License 2.0" in dataset_licence(str(out))
    extractor = choose_extractor(str(out))
    assert extractor.name == choose_extractor("x", str(DEFAULT_CLASSIFIERS["emoji"])).name
    assert "emoji" in extractor.name


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_nothing_is_written(
        tmp_path, capsys):
    _package(tmp_path)  # its integrity is not the registry's
    out = tmp_path / "emoji"
    assert _script().main([str(out), "--sets", "google", "--tarballs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("get_emoji.py: error: ") and "not the registry's" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _pinned(script, monkeypatch, tmp_path):
    tarball = _package(tmp_path)
    package = script.PACKAGES["google"]
    monkeypatch.setitem(script.PACKAGES, "google",
                        (package[0], package[1], script.integrity(tarball), package[3]))


def test_by_default_each_emoji_comes_once_and_categories_can_be_chosen(
        tmp_path, capsys, monkeypatch):
    script = _script()
    _pinned(script, monkeypatch, tmp_path)
    out = tmp_path / "emoji"
    assert script.main([str(out), "--sets", "google", "--tarballs", str(tmp_path)]) == 0
    # The skin-tone variant is left out: one image per emoji per set.
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "people_and_body/wave-google.png", "smileys_and_emotion/grinning-google.png"]
    recorded = json.loads((out / "DATASET.json").read_text())
    assert (recorded["skin_tones"], recorded["categories_chosen"], recorded["images"]) == (
        "default", "all", 2)

    chosen = tmp_path / "smileys"
    assert script.main([str(chosen), "--sets", "google", "--categories", "smileys_and_emotion",
                        "--tarballs", str(tmp_path)]) == 0
    assert [p.name for p in chosen.rglob("*.png")] == ["grinning-google.png"]
    assert json.loads((chosen / "DATASET.json").read_text())["categories_chosen"] == [
        "smileys_and_emotion"]


def test_an_unknown_category_is_one_line_naming_the_choices(tmp_path, capsys):
    out = tmp_path / "emoji"
    assert _script().main([str(out), "--categories", "smileys,flags"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("get_emoji.py: error: categories must be among activities, ")
    assert "'smileys,flags'" in err and err.count("\n") == 1 and not out.exists()


def test_overwrite_never_replaces_a_file_or_a_link(tmp_path, capsys):
    mine = tmp_path / "emoji"
    mine.write_text("the user's file")
    assert _script().main([str(mine), "--overwrite", "--tarballs", str(tmp_path)]) == 2
    assert "is a file, not a folder; nothing was changed" in capsys.readouterr().err
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert _script().main([str(link), "--overwrite", "--tarballs", str(tmp_path)]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emoji", "link"]
    assert mine.read_text() == "the user's file"


def test_a_killed_runs_partial_folder_is_removed_next_time_and_names_stay_inside(
        tmp_path, capsys, monkeypatch):
    import os
    import stat

    script = _script()
    _pinned(script, monkeypatch, tmp_path)
    out = tmp_path / "emoji"
    killed = tmp_path / ".emoji.partial-abc"  # as SIGKILL left it: our marker, a dead PID
    killed.mkdir()
    (killed / script.PARTIAL_MARKER).write_text("999999999\n")
    users = tmp_path / ".emoji.partial-mine"  # no marker: not ours
    users.mkdir()
    assert script.main([str(out), "--sets", "google", "--tarballs", str(tmp_path)]) == 0
    assert not killed.exists() and users.is_dir()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o755
    assert not (out / script.PARTIAL_MARKER).exists()
    # A short name that is a path stays a file name inside its category folder.
    entry = {"short_name": "../../escaped", "category": "Objects", "image": "1f600.png",
             "has_img_google": True}
    import io
    import json as json_module
    import tarfile
    tarball = tmp_path / "evil.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for member, data in {"package/emoji.json": json_module.dumps([entry]).encode(),
                             "package/img/google/64/1f600.png": b"png"}.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    target = tmp_path / "evil"
    script.extract(tarball, "google", target)
    assert [str(p.relative_to(target)) for p in target.rglob("*.png")] == [
        "objects/______escaped-google.png"]
