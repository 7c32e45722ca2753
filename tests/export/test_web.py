"""export.py --web: the static demo page, exported and then driven in real headless Chromium
(tests/browser.py), served from 127.0.0.1 on a free port."""

import base64
import io
import json
import shutil
import time

import keras
import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

import export
from tests.browser import open_page, serve, start_chromium, status, wait_for
from tests.helpers import ROOT, one_line_error, tflite_run
from tf_dcgan.checks import ImageFormat
from tf_dcgan import build_generator
from tf_dcgan.export import web as web_lib

TRAINED = ROOT / "docs/fashion_mnist_run/generator.keras"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), downloads)
    driver.downloads = downloads
    yield driver
    driver.quit()


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def canvas_pixels(driver, element_id):
    """The canvas as an RGB array, read back through its PNG data URL."""
    url = driver.execute_script(f"return document.getElementById('{element_id}').toDataURL()")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def page_generate(driver, noise, label=0):
    """The page's raw model output for one noise vector (window.dcgan.generate)."""
    return np.asarray(driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.dcgan.generate(arguments[0], arguments[1]).then(done, (e) => done(String(e)));",
        [float(v) for v in noise], int(label)), dtype=np.float32)


@pytest.fixture(scope="module")
def trained_page(tmp_path_factory):
    """The README run's generator exported with `export.py --web` (float16 weights)."""
    out = tmp_path_factory.mktemp("exports")
    assert export.main(["--generator", str(TRAINED), "--out", str(out), "--web"]) == 0
    return out / "web"


def test_the_export_holds_the_page_model_and_runtime(trained_page):
    info = json.loads((trained_page / "model.json").read_text())
    assert info == {
        "name": "dcgan", "model": "generator.tflite", "quantize": "float16", "latent_dim": 100,
        "class_names": None, "height": 28, "width": 28, "channels": 1, "litertjs_version": "2.5.3",
        "model_bytes": (trained_page / "generator.tflite").stat().st_size,
    }
    for name in ("index.html", "demo.js", "demo.css", "litert/core/index.js",
                 "litert/wasm-utils/index.js", "litert/wasm/litert_wasm_internal.wasm",
                 "litert/wasm/litert_wasm_compat_internal.js", "litert/NOTICE.txt"):
        assert (trained_page / name).is_file(), name
    # float16 weights: about half the bytes of the float32 model.
    float32 = web_lib.export_tflite(keras.models.load_model(TRAINED, compile=False),
                                    trained_page.parent / "f32.tflite")
    assert info["model_bytes"] < 0.55 * float32.stat().st_size
    # Nothing in the page is fetched from another host.
    page = "".join((trained_page / name).read_text() for name in ("index.html", "demo.js"))
    assert "cdn" not in page.lower() and "https://cdn" not in page


def test_the_page_renders_a_grid_with_no_console_errors(browser, trained_page, request):
    with serve(trained_page) as url:
        assert open_page(browser, url) == "ready", status(browser)
        errors = console_errors(browser)
        grid = canvas_pixels(browser, "grid")
        # 4x4 tiles of 28 pixels scaled 4x, 2-pixel gaps.
        assert grid.shape == (4 * 112 + 3 * 2, 4 * 112 + 3 * 2, 3)
        tiles = [grid[r * 114:r * 114 + 112, c * 114:c * 114 + 112] for r in range(4)
                 for c in range(4)]
        assert all(tile.std() > 20 for tile in tiles)  # clothing on black, not blank tiles
        assert len({tile.tobytes() for tile in tiles}) == 16  # 16 different images
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "28x28 grayscale" in text and "ms per image" in text
        assert "single-threaded" in text  # a plain static host: no cross-origin isolation
        screenshot = request.config.getoption("--web-screenshot")
        if screenshot:
            browser.save_screenshot(str(screenshot))
    assert errors == []


def test_the_page_output_matches_the_litert_python_interpreter(browser, trained_page):
    noise = np.random.default_rng(11).normal(size=(3, 100)).astype("float32")
    expected = tflite_run(trained_page / "generator.tflite", noise)
    with serve(trained_page) as url:
        assert open_page(browser, url) == "ready", status(browser)
        for row, image in zip(noise, expected):
            output = page_generate(browser, row)
            assert output.shape == (28 * 28,)
            np.testing.assert_allclose(output.reshape(image.shape), image, rtol=0, atol=1e-4)


def test_the_same_seed_gives_the_same_images_and_the_slider_walks(browser, trained_page):
    with serve(trained_page) as url:
        assert open_page(browser, url) == "ready", status(browser)

        def show(seed):
            field = browser.find_element(By.ID, "seed")
            field.clear()
            field.send_keys(str(seed), Keys.ENTER)
            wait_for(browser, "return document.getElementById('grid').dataset.seed", str(seed))
            return canvas_pixels(browser, "grid")

        first = show(5)
        assert not np.array_equal(first, show(6))
        np.testing.assert_array_equal(first, show(5))
        # The page's noise is seeded: the same vectors every time, standard normal.
        noise = np.asarray(browser.execute_script("return window.dcgan.noise(5, 64)"))
        assert noise.shape == (64, 100)
        np.testing.assert_array_equal(noise, browser.execute_script(
            "return window.dcgan.noise(5, 64)"))
        assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1) < 0.05

        start = canvas_pixels(browser, "walk-image")
        slider = browser.find_element(By.ID, "walk")
        slider.send_keys(Keys.END)  # a keyboard move fires the slider's input event
        wait_for(browser, "return document.getElementById('walk-image').dataset.position", "1")
        end = canvas_pixels(browser, "walk-image")
        assert np.abs(start.astype(int) - end.astype(int)).mean() > 5
        # The walk ends at the grid's second image (slerp at t = 1 is the second vector).
        second_tile = first[0:112, 114:226]
        assert np.abs(end[::2, ::2].astype(int) - second_tile.astype(int)).max() <= 1


def test_download_png_saves_the_grid(browser, trained_page):
    with serve(trained_page) as url:
        assert open_page(browser, url) == "ready", status(browser)
        grid = canvas_pixels(browser, "grid")
        browser.find_element(By.ID, "download").click()
        path = browser.downloads / "dcgan-seed-0.png"
        deadline = time.monotonic() + 20
        while not path.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), grid)


def test_a_bad_model_file_gives_a_readable_message(browser, trained_page, tmp_path):
    broken = tmp_path / "web"
    shutil.copytree(trained_page, broken)
    (broken / "generator.tflite").write_bytes(b"this is not a model")
    with serve(broken) as url:
        assert open_page(browser, url) == "error"
        message = status(browser)
        assert message.startswith("Could not start the demo: generator.tflite is not a LiteRT "
                                  "model"), message
        assert "python export.py --web" in message
    (broken / "generator.tflite").unlink()
    with serve(broken) as url:
        assert open_page(browser, url) == "error"
        assert "generator.tflite could not be fetched (HTTP 404)" in status(browser)


def test_threads_run_when_the_host_sends_isolation_headers(browser, trained_page):
    noise = np.random.default_rng(12).normal(size=(1, 100)).astype("float32")
    expected = tflite_run(trained_page / "generator.tflite", noise)[0]
    with serve(trained_page, isolated=True) as url:
        assert open_page(browser, url) == "ready", status(browser)
        assert browser.execute_script("return self.crossOriginIsolated") is True
        assert "threads" in browser.execute_script("return window.dcgan.mode")
        assert "single-threaded" not in browser.execute_script("return window.dcgan.mode")
        output = page_generate(browser, noise[0]).reshape(expected.shape)
        np.testing.assert_allclose(output, expected, rtol=0, atol=1e-4)
        assert console_errors(browser) == []


def test_an_rgb_float32_page_matches_too(browser, tmp_path):
    generator = build_generator(ImageFormat(16, 3), latent_dim=8, base_filters=8, seed=0)
    page = web_lib.export_web(generator, tmp_path, name="tiny", quantize="none")
    noise = np.random.default_rng(13).normal(size=(2, 8)).astype("float32")
    expected = tflite_run(page / "generator.tflite", noise)
    with serve(page) as url:
        assert open_page(browser, url) == "ready", status(browser)
        assert "16x16 RGB" in browser.find_element(By.ID, "model-info").text
        for row, image in zip(noise, expected):
            output = page_generate(browser, row).reshape(image.shape)
            np.testing.assert_allclose(output, image, rtol=0, atol=1e-4)
        grid = canvas_pixels(browser, "grid")
        assert grid.shape == (4 * 112 + 6, 4 * 112 + 6, 3)
        assert not np.array_equal(grid[..., 0], grid[..., 1])  # colour, not gray


def test_a_conditional_page_picks_the_class(browser, tmp_path):
    generator = build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0,
                                classes=["circle", "square", "triangle"])
    page = web_lib.export_web(generator, tmp_path, name="shapes", quantize="none")
    assert json.loads((page / "model.json").read_text())["class_names"] == [
        "circle", "square", "triangle"]
    noise = np.random.default_rng(17).normal(size=(2, 8)).astype("float32")
    labels = [2, 0]
    expected = tflite_run(page / "generator.tflite", noise, labels)
    with serve(page) as url:
        assert open_page(browser, url) == "ready", status(browser)
        assert "one of 3 classes" in browser.find_element(By.ID, "model-info").text
        options = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#class option")]
        assert options == ["every class", "0: circle", "1: square", "2: triangle"]
        for row, label, image in zip(noise, labels, expected):
            output = page_generate(browser, row, label).reshape(image.shape)
            np.testing.assert_allclose(output, image, rtol=0, atol=1e-4)
        labels_of = "return document.getElementById('grid').dataset.labels"
        assert browser.execute_script(labels_of) == ",".join(str(i % 3) for i in range(16))
        every_class = canvas_pixels(browser, "grid")
        Select(browser.find_element(By.ID, "class")).select_by_value("1")
        wait_for(browser, labels_of, ",".join(["1"] * 16))
        one_class = canvas_pixels(browser, "grid")
        # Tile 1 had class 1 already (1 % 3): unchanged; tile 0 changed from class 0 to 1.
        np.testing.assert_array_equal(one_class[:112, 114:226], every_class[:112, 114:226])
        assert not np.array_equal(one_class[:112, :112], every_class[:112, :112])
        assert console_errors(browser) == []


# The export itself, without a browser.

@pytest.fixture
def tiny_generator():
    return build_generator(ImageFormat(16, 1), latent_dim=8, base_filters=4, seed=0)


def test_an_existing_page_is_replaced_only_when_asked(tiny_generator, tmp_path):
    page = web_lib.export_web(tiny_generator, tmp_path, name="first")
    with pytest.raises(ValueError, match="already exists; pass --overwrite"):
        web_lib.export_web(tiny_generator, tmp_path, name="second")
    assert json.loads((page / "model.json").read_text())["name"] == "first"
    web_lib.export_web(tiny_generator, tmp_path, name="second", overwrite=True)
    assert json.loads((page / "model.json").read_text())["name"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]  # no staging folder left


def test_a_page_is_never_written_over_a_users_file_or_link(tiny_generator, tmp_path):
    (tmp_path / "web").write_text("the user's notes")
    with pytest.raises(ValueError, match="is a file, not a folder; nothing was changed"):
        web_lib.export_web(tiny_generator, tmp_path, name="first", overwrite=True)
    assert (tmp_path / "web").read_text() == "the user's notes"
    (tmp_path / "web").unlink()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("the user's page")
    (tmp_path / "web").symlink_to(tmp_path / "site")
    with pytest.raises(ValueError, match="is a symbolic link; nothing was changed"):
        web_lib.export_web(tiny_generator, tmp_path, name="first", overwrite=True)
    assert (tmp_path / "web").is_symlink()
    assert (tmp_path / "site" / "index.html").read_text() == "the user's page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "web"]


def test_a_users_folders_named_like_staging_folders_are_never_removed(tiny_generator, tmp_path):
    photos = tmp_path / ".tmp-photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"a user's photo")
    page = web_lib.export_web(tiny_generator, tmp_path, name="first")
    web_lib.export_web(tiny_generator, tmp_path, name="second", overwrite=True)
    assert (photos / "cat.jpg").read_bytes() == b"a user's photo"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-photos", "web"]
    assert not any(p.name == ".tf-dcgan-staging" for p in page.rglob("*"))


def test_a_failed_export_keeps_the_old_page_whole(tiny_generator, tmp_path, monkeypatch):
    page = web_lib.export_web(tiny_generator, tmp_path, name="old")
    before = sorted(str(p.relative_to(page)) for p in page.rglob("*"))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(web_lib, "_copy_runtime", disk_full)
    with pytest.raises(ValueError, match="No space left on device"):
        web_lib.export_web(tiny_generator, tmp_path, name="new", overwrite=True)
    assert sorted(str(p.relative_to(page)) for p in page.rglob("*")) == before
    assert json.loads((page / "model.json").read_text())["name"] == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]


def test_export_cli_web_errors_are_one_line_and_write_nothing(tiny_generator, tmp_path, capsys,
                                                             monkeypatch):
    tiny_generator.save(tmp_path / "g.keras")
    out = tmp_path / "out"
    argv = ["--generator", str(tmp_path / "g.keras"), "--out", str(out), "--web"]
    monkeypatch.setenv("TF_DCGAN_NODE_MODULES", str(tmp_path / "no_node_modules"))
    error = one_line_error(export.main, "export.py", argv, capsys)
    assert "the LiteRT.js runtime is not installed" in error and "npm ci" in error
    assert not out.exists()  # refused before the SavedModel was written
    monkeypatch.delenv("TF_DCGAN_NODE_MODULES")
    assert export.main(argv) == 0
    assert "python -m http.server -d" in capsys.readouterr().out
    error = one_line_error(export.main, "export.py", argv, capsys)
    assert "already exists; pass --overwrite" in error
    assert sorted(p.name for p in (out / "dcgan").iterdir()) == [
        "1", "MODEL_CARD.json", "MODEL_CARD.md"]  # no stray version 2


def test_the_printed_view_command_works_for_a_folder_with_spaces(tiny_generator, tmp_path,
                                                                 capsys):
    import shlex

    tiny_generator.save(tmp_path / "g.keras")
    out = tmp_path / "my exports"
    assert export.main(["--generator", str(tmp_path / "g.keras"), "--out", str(out),
                        "--web"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "view it:" in line)
    command = shlex.split(line.split("view it: ")[1])
    assert command == ["python", "-m", "http.server", "-d", str(out / "web")]
