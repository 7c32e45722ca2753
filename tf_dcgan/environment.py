"""Workarounds for the environment, kept apart from the code they serve.

TensorFlow's native start-up notes, native image decoders' messages, chatty Python loggers and
TensorFlow Datasets' long download retries are all handled here, so the reading and training code
reads as what it does. TensorFlow-free at import time.
"""

import contextlib
import importlib
import importlib.abc
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# TensorFlow's C++ log below warnings would bury our one-line errors; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null for the duration, then restores it.

    Native code (TensorFlow's oneDNN/absl start-up notes, libjpeg's "Improper call to JPEG
    library") writes below Python's `sys.stderr` and ignores TF_CPP_MIN_LOG_LEVEL, so only the
    descriptor itself can be redirected. Python exceptions still propagate.

    Example:
        >>> with native_stderr_silenced():
        ...     import tensorflow
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its C++ start-up notes (oneDNN, absl) kept off stderr.

    A failed import still raises, and its traceback is shown.
    """
    with native_stderr_silenced():
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def logger_quieted(*names) -> Iterator[None]:
    """Raises the Python loggers `names` to ERROR for the duration."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved):
            logger.setLevel(level)


@contextlib.contextmanager
def quiet_tfds_download() -> Iterator[None]:
    """Makes a TensorFlow Datasets download fail fast and quietly when there is no network.

    TFDS retries a failed download 10 times with exponential backoff: offline, that is 3.5
    minutes before the error; two tries tell a missing network in seconds. Its progress bars
    and absl notes are switched off for the duration, and urllib3's one warning per retry is muted
    for the rest of the process (TFDS's download threads go on logging after the error is
    raised), so the error is the one line that shows.
    """
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download import downloader

    saved = downloader.MAX_RETRIES
    downloader.MAX_RETRIES = 2
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    tfds.display_progress_bar(False)
    try:
        with logger_quieted("absl"):
            yield
    finally:
        downloader.MAX_RETRIES = saved
        tfds.display_progress_bar(True)


class _AfterKerasLoads(importlib.abc.MetaPathFinder):
    """Finds `keras` with the other finders, and imports `module` once Keras has loaded."""

    def __init__(self, module: str):
        self.module = module

    def find_spec(self, name: str, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)  # once: the real finders take it from here
        spec = importlib.util.find_spec("keras")
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_then_register(module):
                exec_module(module)
                _import_unless_loading(self.module)

            spec.loader.exec_module = exec_then_register
        return spec


def _import_unless_loading(module: str) -> None:
    # A module already in sys.modules is imported or being imported (it may be the one that
    # imported Keras): its classes are registered by the time that import ends.
    if module not in sys.modules:
        importlib.import_module(module)


def register_when_keras_loads(module: str) -> None:
    """Imports `module` as soon as Keras is imported (now, if it already is).

    Keras finds a custom class of a `.keras` file only among the classes registered so far
    (`register_keras_serializable`); it imports the module named in the file only for its own
    packages. Importing the module that registers them when Keras loads lets
    `import tf_dcgan; keras.models.load_model(...)` work while `import tf_dcgan` alone stays
    TensorFlow-free, so the command lines answer `--help` at once.

    Args:
        module: str. The module whose import registers the classes, e.g. "tf_dcgan.model".
    """
    if "keras" in sys.modules:
        _import_unless_loading(module)
    elif not any(isinstance(finder, _AfterKerasLoads) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasLoads(module))


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, set[str]]:
    """(the CPU's model name, its feature flags) from /proc/cpuinfo; ("", set()) where there is none."""
    model, flags = "", set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return model, flags


def native_bfloat16_cpu(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512_BF16 or AMX-BF16). Elsewhere (AVX2-only
    CPUs) TensorFlow emulates it, about 7x slower than float32 on this project's AVX2 host."""
    return bool(cpu_flags(cpuinfo)[1] & {"avx512_bf16", "amx_bf16"})


# The LiteRT.js runtime that export.py --web copies into its page: an npm package (package.json).
LITERTJS_VERSION = "2.5.3"


def _default_node_modules():
    # A checkout's own node_modules (next to package.json), else the current folder's.
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "package.json").is_file():
        return checkout / "node_modules"
    return Path.cwd() / "node_modules"


# The runtime files the page loads: the ES modules and the three WebAssembly builds LiteRT.js
# picks from (threads with cross-origin isolation; relaxed SIMD; and the compatible fallback).
# The JSPI build (WebNN, WebGPU partitioning) is left out: the page runs on the CPU.
WASM_BUILDS = ("litert_wasm_internal", "litert_wasm_threaded_internal",
               "litert_wasm_compat_internal")


def find_litertjs(node_modules: str | Path | None = None) -> tuple[Path, str]:
    """The folder of the installed `@litertjs/core` package and its version.

    Args:
        node_modules: the `node_modules` folder holding `@litertjs/core`; default the project's.

    Raises:
        ValueError: the package, or one of the files the page needs, is missing.
    """
    node_modules = Path(node_modules or os.environ.get("TF_DCGAN_NODE_MODULES")
                        or _default_node_modules())
    core = node_modules / "@litertjs" / "core"
    needed = [core / "package.json", core / "dist" / "index.js",
              node_modules / "@litertjs" / "wasm-utils" / "dist" / "index.js"]
    needed += [core / "wasm" / f"{build}.{ext}" for build in WASM_BUILDS for ext in ("js", "wasm")]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        raise ValueError(
            f"the LiteRT.js runtime is not installed: {missing[0]} is missing. Run `npm ci` in "
            "the tf-dcgan checkout (scripts/setup.sh does), or `npm install "
            f"@litertjs/core@{LITERTJS_VERSION}` in any folder and set TF_DCGAN_NODE_MODULES to "
            "its node_modules."
        )
    version = json.loads((core / "package.json").read_text())["version"]
    return core, version
