"""How far a reader travels following the training config through the code from `prepare_run`.

Runs `tf_dcgan.training.run.prepare_run` on a tiny array file under Python's profiler and keeps
the calls of tf_dcgan functions that receive the `TrainConfig` (as an argument, or as `self` for
its own methods), each function once under each caller: the tree a reader walks who starts at
`prepare_run` and follows `config` into every function it is handed to (not into the methods
Python runs by itself, such as `__post_init__` when `dataclasses.replace` makes a new config,
unless `--dunders`). Walking that tree depth
first (into each call and back out of it), the script counts

- moves: steps from one module to another (`training/run` -> `config` is one, and the way back
  another);
- climbs: moves up to a higher layer of the package (the layers that `tests/test_layout.py`
  checks: foundation modules lowest, then `distribute` and `data`, `model`, `evaluation` and
  `export`, `training`), i.e. the times the reader has to come back up after following `config` down.

It prints the tree with each function's module and the two counts.

    python scripts/follow_config.py
    python scripts/follow_config.py --dunders
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.test_layout import FOUNDATION, STAGES  # noqa: E402

PACKAGE = ROOT / "tf_dcgan"
# What each part may import, as the layering test checks it.
ALLOWED = {**FOUNDATION, **STAGES}


def layer(module: str) -> int:
    """A part's height: 0 for one that imports nothing of ours, else one above the highest part
    it may import (checks 0, config 1, run_folder 2, ..., training 6, commands 7)."""
    part = module.split("/")[0]
    below = ALLOWED[part] - {part}
    return 1 + max(map(layer, below)) if below else 0


class Node:
    def __init__(self, name, module):
        self.name, self.module, self.children = name, module, []

    def child(self, name, module):
        for node in self.children:
            if node.name == name:
                return node
        self.children.append(Node(name, module))
        return self.children[-1]


def trace_prepare_run(show_dunders: bool = False):
    """The tree of calls that receive the config, from `prepare_run` down (without the methods
    Python runs by itself, `__post_init__` when `dataclasses.replace` makes a config, unless
    `show_dunders`)."""
    from tf_dcgan.config import TrainConfig
    from tf_dcgan.training import run as training

    images = np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8)
    folder = Path(tempfile.mkdtemp(prefix="follow-config-"))
    np.save(folder / "images.npy", images)
    config = TrainConfig(dataset=str(folder / "images.npy"), epochs=1, batch_size=8,
                         steps_per_epoch=2, precision="float32", out=str(folder / "run"))
    root, nodes = Node("training/run.prepare_run", "training/run"), {}

    def receives_config(frame):
        code = frame.f_code
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        return any(isinstance(frame.f_locals.get(name), TrainConfig) for name in names)

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(str(PACKAGE)):
            return
        if frame.f_code.co_name == "prepare_run" and not nodes:
            nodes[frame] = root
            return
        if not receives_config(frame) or (frame.f_code.co_name.startswith("__")
                                          and not show_dunders):
            return
        caller = frame.f_back
        while caller is not None and caller not in nodes:
            caller = caller.f_back
        if caller is None:
            return
        path = Path(frame.f_code.co_filename).relative_to(PACKAGE).with_suffix("")
        module = path.as_posix()
        nodes[frame] = nodes[caller].child(f"{module}.{frame.f_code.co_qualname}", module)

    sys.setprofile(profile)
    try:
        training.prepare_run(config)
    finally:
        sys.setprofile(None)
    return root


def walk(node, visit, depth=0):
    """The modules a depth-first reader is in, in order: into each call and back."""
    visit(node, depth)
    modules = [node.module]
    for child in node.children:
        modules += walk(child, visit, depth + 1)
        modules.append(node.module)
    return modules


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dunders", action="store_true",
                        help="follow config into the methods Python calls by itself too "
                        "(TrainConfig.__post_init__ on each dataclasses.replace)")
    root = trace_prepare_run(parser.parse_args().dunders)
    modules = walk(root, lambda node, depth: print(f"{'  ' * depth}{node.name}"))
    path = [module for index, module in enumerate(modules)
            if index == 0 or module != modules[index - 1]]
    moves = len(path) - 1
    climbs = sum(layer(after) > layer(before) for before, after in zip(path, path[1:]))
    print(f"\nfollowing config from prepare_run: {moves} moves between modules, "
          f"{climbs} climbs back up to a higher layer")
    print(" -> ".join(path))


if __name__ == "__main__":
    main()
