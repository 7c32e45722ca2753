"""The generator in a web page: a static demo that runs the TFLite model with LiteRT.js.

`export_web` writes a folder that any static host serves (`python -m http.server -d EXPORT/web`):

- `index.html`, `demo.js`, `demo.css`: the page (a seeded grid of images, a latent walk by
  spherical interpolation, time per image, PNG download; a class selector for a conditional
  generator), from `tf_dcgan/web_page/`;
- `generator.tflite`: the batch-1 TFLite model of `export.export_tflite` (float16 weights by
  default: half the bytes of float32, images within ~1e-3);
- `model.json`: what the page needs to know (latent size, class names or null, image shape,
  file, quantization);
- `litert/`: the LiteRT.js runtime (`@litertjs/core` and its helper `@litertjs/wasm-utils`, with
  their WebAssembly files), copied from the npm package the project pins in `package.json` and
  `package-lock.json` (`npm ci`, run by `scripts/setup.sh`). No CDN: the page works offline.

The TensorFlow.js converter is no route here: it pins an older full TensorFlow and breaks on
Keras 3 (tensorflow/tfjs #8229, #8358). LiteRT.js runs the same `.tflite` file phones run.
"""

import json
import shutil
from pathlib import Path

import keras

from tf_dcgan.checks import check_quantize
from tf_dcgan.environment import WASM_BUILDS, find_litertjs
from tf_dcgan.export.staging import staged_folder
from tf_dcgan.export.tflite import export_tflite
from tf_dcgan.files import check_folder
from tf_dcgan.model.latent import LatentSpace
from tf_dcgan.model.saving import check_finite, check_generator

# The page ships inside the package; the LiteRT.js runtime is an npm package (package.json).
PAGE_DIR = Path(__file__).with_name("web_page")
PAGE_FILES = ("index.html", "demo.js", "demo.css")
MODEL_FILE = "generator.tflite"


def export_web(generator: keras.Model, out_dir: str | Path, name: str = "dcgan",
               quantize: str = "float16", overwrite: bool = False,
               node_modules: str | Path | None = None) -> Path:
    """Writes the browser demo of `generator` to `out_dir/web/`, whole or not at all.

    The folder is built under a temporary name in `out_dir` and renamed into place; an existing
    `web/` is swapped for the new one in one step, and only with `overwrite=True`.

    Args:
        generator: a Keras generator (noise -> images in [-1, 1]), e.g. from `generator.keras`.
        out_dir: the export base folder; the page goes to `out_dir/web/`.
        name: the model's name, shown on the page and in the downloaded file names.
        quantize: the `.tflite` weights: "float16" (default), "none" (float32) or "int8".
        overwrite: replace an existing `out_dir/web/`.
        node_modules: where `@litertjs/core` is installed; default the project's `node_modules`.

    Returns:
        The page's folder, `out_dir/web`.

    Raises:
        ValueError: a bad argument, an existing folder without `overwrite`, the LiteRT.js
            runtime missing, or a write that failed (nothing already there is changed).

    Example:
        >>> export_web(load_generator(path="docs/fashion_mnist_run/generator.keras"), "exports")
        PosixPath('exports/web')
    """
    check_generator(generator)
    check_quantize(quantize)
    out_dir = Path(out_dir)
    target = out_dir / "web"
    if target.exists() and not overwrite:
        raise ValueError(
            f"{target} already exists; pass --overwrite to replace it, or pick another --out."
        )
    check_folder(out_dir, "Pick a folder for the exports.")
    core, version = find_litertjs(node_modules)
    check_finite(generator)
    with staged_folder(out_dir, target, "web") as staging:
        model_path = export_tflite(generator, staging / MODEL_FILE, quantize=quantize)
        _write_page(staging, generator, name, quantize, model_path.stat().st_size, version)
        _copy_runtime(core, staging / "litert")
    return target


def _write_page(folder, generator, name, quantize, model_bytes, litertjs_version):
    for file_name in PAGE_FILES:
        shutil.copyfile(PAGE_DIR / file_name, folder / file_name)
    height, width, channels = generator.output_shape[1:]
    latent = LatentSpace.of(generator)
    info = {
        "name": name,
        "model": MODEL_FILE,
        "model_bytes": model_bytes,
        "quantize": quantize,
        "latent_dim": latent.latent_dim,
        "class_names": latent.class_names,
        "height": height,
        "width": width,
        "channels": channels,
        "litertjs_version": litertjs_version,
    }
    (folder / "model.json").write_text(json.dumps(info, indent=2) + "\n")


def _copy_runtime(core, folder):
    (folder / "core").mkdir(parents=True)
    (folder / "wasm-utils").mkdir()
    (folder / "wasm").mkdir()
    shutil.copyfile(core / "dist" / "index.js", folder / "core" / "index.js")
    shutil.copyfile(core.parent / "wasm-utils" / "dist" / "index.js",
                    folder / "wasm-utils" / "index.js")
    for build in WASM_BUILDS:
        for ext in ("js", "wasm"):
            shutil.copyfile(core / "wasm" / f"{build}.{ext}", folder / "wasm" / f"{build}.{ext}")
    (folder / "NOTICE.txt").write_text(
        "LiteRT.js (@litertjs/core and @litertjs/wasm-utils, "
        "https://github.com/google-ai-edge/LiteRT), Copyright Google LLC, under the Apache "
        "License 2.0: https://www.apache.org/licenses/LICENSE-2.0\n"
    )
