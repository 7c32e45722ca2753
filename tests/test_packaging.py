"""The wheel holds what an installed tf-dcgan needs: every subpackage, the default Fashion-MNIST
extractor, the web page and py.typed, so nothing is looked up in a checkout's folders."""

import fcntl
import hashlib
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip wheel` builds from this checkout, once for the module's tests (two builds
    at once would share the checkout's build/ folder: the tests that use it run in one
    pytest-xdist group)."""
    folder = tmp_path_factory.mktemp("wheel")
    # And a lock, in case the group is split anyway (pytest 9 with xdist 3.8 did): one build in
    # the checkout's build/ folder at a time.
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"tf-dcgan-wheel-{checkout}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
             "-w", str(folder), str(ROOT)], capture_output=True, text=True, timeout=300,
            cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = folder.glob("tf_dcgan-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.xdist_group("wheel")
def test_the_wheel_holds_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {str(path.relative_to(ROOT)) for path in (ROOT / "tf_dcgan").rglob("*.py")}
    assert sources <= names, sources - names
    assert {"tf_dcgan/py.typed",
            "tf_dcgan/evaluation/classifiers/fashion_mnist_classifier.keras",
            "tf_dcgan/evaluation/classifiers/emoji_classifier.keras",
            "tf_dcgan/export/web_page/index.html", "tf_dcgan/export/web_page/demo.js",
            "tf_dcgan/export/web_page/demo.css"} <= names
    zipped = zipfile.ZipFile(wheel)
    # pip users download all of it: no file over 5 MB (the emoji classifier was 8.7 MB once).
    large = {info.filename: info.file_size for info in zipped.infolist()
             if info.file_size > 5 * 2**20}
    assert not large, large
    entry_points = zipped.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for command in ("train", "evaluate", "export", "generate"):
        assert f"tf-dcgan-{command} = tf_dcgan.commands.{command}:main" in entry_points
    assert any(name.endswith("LICENSE") for name in names)


@pytest.mark.slow
@pytest.mark.xdist_group("wheel")
def test_the_wheel_installed_in_a_fresh_venv_trains_generates_and_exports_from_any_folder(
        tmp_path, wheel):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    # The dependencies (TensorFlow, Keras, ...) come from this environment's site-packages; a
    # path in a .pth file does not run that folder's own .pth files, so the checkout's editable
    # install is not seen. tf_dcgan itself comes from the wheel only.
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*argv):
        result = subprocess.run([str(venv / "bin" / argv[0]), *argv[1:]], capture_output=True,
                                text=True, timeout=600, cwd=work)
        assert result.returncode == 0, (argv, result.stderr[-3000:])
        return result.stdout

    where = run("python", "-c", "import tf_dcgan, tf_dcgan.evaluation as e; "
                "print(tf_dcgan.__file__); print(e.DEFAULT_CLASSIFIERS['fashion_mnist'])")
    assert str(site) in where and str(ROOT) not in where, where
    for command in ("train", "evaluate", "export", "generate"):
        assert "usage: " in run(f"tf-dcgan-{command}", "--help")
    run("tf-dcgan-train", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
        "--base-filters", "8", "--num-samples", "4", "--out", "run")
    assert (work / "run" / "MODEL_CARD.md").is_file()
    run("tf-dcgan-generate", "--run", "run", "--num-images", "4", "--out", "images")
    assert (work / "images" / "grid.png").is_file()
    run("tf-dcgan-export", "--run", "run", "--out", "exports", "--tflite")
    assert (work / "exports" / "dcgan" / "1" / "saved_model.pb").is_file()
    assert (work / "exports" / "dcgan.tflite").is_file()


def test_the_installed_commands_answer(tmp_path):
    # scripts/setup.sh installs the package into .venv, with its commands beside python.
    command = Path(sys.executable).with_name("tf-dcgan-generate")
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0 and "OUT/grid.png" in result.stdout


def test_package_data_is_found_inside_the_package():
    from tf_dcgan.evaluation import DEFAULT_CLASSIFIERS
    from tf_dcgan.export.web import PAGE_DIR, PAGE_FILES

    package = ROOT / "tf_dcgan"
    assert package in DEFAULT_CLASSIFIERS["fashion_mnist"].parents
    assert DEFAULT_CLASSIFIERS["fashion_mnist"].is_file()
    assert package in PAGE_DIR.parents and all((PAGE_DIR / f).is_file() for f in PAGE_FILES)


def test_every_name_the_package_offers_resolves():
    import tf_dcgan

    assert len(tf_dcgan.__all__) >= 30
    for name in tf_dcgan.__all__:
        assert getattr(tf_dcgan, name) is not None, name
    for stage in ("model", "data", "training", "evaluation", "export"):
        module = __import__(f"tf_dcgan.{stage}", fromlist=["__all__"])
        assert all(hasattr(module, name) for name in module.__all__), stage
