"""Speed of the web demo (export.py --web): ms per image in headless Chromium with LiteRT.js.

Reference, measured in the same run: the LiteRT Python interpreter (`ai_edge_litert`, the same
XNNPack kernels, native instead of WebAssembly) on the same `.tflite` file, one image per call as
the page does. The page is measured single-threaded (a plain static host) and threaded (a host
that sends the cross-origin isolation headers); the interpreter with 1 and 2 threads. Variants
are interleaved round by round; each round is one 16-image grid of a new seed.

    python benchmarks/web_speed.py
    python benchmarks/web_speed.py --generator runs/RUN/generator.keras --quantize none
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tf_dcgan.environment import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from tests.browser import open_page, serve, start_chromium, wait_for  # noqa: E402
from tf_dcgan.checks import QUANTIZATIONS  # noqa: E402
from tf_dcgan.export.web import export_web  # noqa: E402
from tf_dcgan.model.saving import load_generator  # noqa: E402

GRID = 16


def page_ms_per_image(driver, seed):
    field = driver.find_element(By.ID, "seed")
    field.clear()
    field.send_keys(str(seed), Keys.ENTER)
    wait_for(driver, "return document.getElementById('grid').dataset.seed", str(seed))
    # "16 images in 12.3 ms: 0.77 ms per image (...)": the page times its own model runs.
    text = driver.find_element(By.ID, "timing").text
    return float(text.split(" images in ")[1].split(" ms")[0]) / GRID


def interpreter_ms_per_image(interpreter, noise):
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    start = time.perf_counter()
    for row in noise:
        interpreter.set_tensor(input_index, row[np.newaxis])
        interpreter.invoke()
        interpreter.get_tensor(output_index)
    return (time.perf_counter() - start) * 1000 / len(noise)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generator", default=str(ROOT / "docs/fashion_mnist_run/generator.keras"),
                        help="a generator .keras file (default: the README run's)")
    parser.add_argument("--quantize", default="float16", choices=QUANTIZATIONS)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    generator = load_generator(path=args.generator)
    latent_dim = generator.input_shape[-1]

    with tempfile.TemporaryDirectory() as tmp:
        page = export_web(generator, tmp, quantize=args.quantize)
        model = page / "generator.tflite"
        model_kib = model.stat().st_size / 1024
        interpreters = {threads: Interpreter(model_path=str(model), num_threads=threads)
                        for threads in (1, 2)}
        for interpreter in interpreters.values():
            interpreter.allocate_tensors()
        driver = start_chromium(Path(tmp) / "profile")
        results = {name: [] for name in ("page, single-threaded", "page, threads (COOP/COEP)",
                                         "LiteRT Python, 1 thread", "LiteRT Python, 2 threads")}
        load_seconds = {False: [], True: []}
        try:
            with serve(page) as plain_url, serve(page, isolated=True) as isolated_url:
                for round_index in range(args.rounds + 1):  # round 0 warms up
                    seed = round_index + 1
                    noise = np.random.default_rng(seed).normal(size=(GRID, latent_dim))
                    figures = {}
                    for isolated, url in ((False, plain_url), (True, isolated_url)):
                        start = time.perf_counter()
                        assert open_page(driver, url) == "ready"
                        load_seconds[isolated].append(time.perf_counter() - start)
                        name = "page, threads (COOP/COEP)" if isolated else "page, single-threaded"
                        figures[name] = page_ms_per_image(driver, seed)
                    for threads, interpreter in interpreters.items():
                        figures[f"LiteRT Python, {threads} thread{'s' * (threads > 1)}"] = \
                            interpreter_ms_per_image(interpreter, noise.astype("float32"))
                    if round_index:
                        for name, value in figures.items():
                            results[name].append(value)
        finally:
            driver.quit()

    print(f"generator {generator.output_shape[1:]}, latent {latent_dim}, {args.quantize} "
          f"weights ({model_kib:.0f} KiB), {os.cpu_count()} CPUs, "
          f"{args.rounds} rounds of {GRID} images, interleaved")
    reference = statistics.median(results["LiteRT Python, 1 thread"])
    print(f"{'':28s} {'ms/image median':>16s} {'min-max':>13s} {'vs Python 1 thread':>19s}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:28s} {median:16.3f} {min(values):6.3f}-{max(values):6.3f} "
              f"{reference / median:18.2f}x")
    for isolated, values in load_seconds.items():
        print(f"page ready after (open to first grid), {'threads' if isolated else 'single'}: "
              f"median {statistics.median(values[1:]):.2f} s")


if __name__ == "__main__":
    main()
