"""The package's layering: which module may import which (see the README's layout section)."""

import ast

from tests.conftest import ROOT

ALLOWED = {
    "checks": set(),
    "environment": set(),
    "files": set(),
    "losses": set(),
    "config": {"checks"},
    "run_folder": {"checks", "config", "files"},
    "cli": {"environment"},
    "transforms": {"checks"},
    "sources": {"checks", "environment", "transforms"},
    "data": {"checks", "files", "sources", "transforms"},
    "latent": {"checks"},
    "layers": set(),
    "models": {"checks", "layers"},
    "distribute": {"checks"},
    "gan": {"checks", "distribute", "latent", "losses", "models"},
    "callbacks": {"files", "run_folder", "transforms"},
    "export": {"checks", "files", "latent", "run_folder", "transforms", "gan"},
    "web": {"checks", "export", "files", "latent"},
    "checkpoints": {"callbacks", "files"},
    "metrics": set(),
    "extractors": {"checks", "files"},
    "evaluation": {"checks", "data", "experiments", "extractors", "latent", "metrics", "files",
                   "sources"},
    "experiments": {"callbacks", "latent"},
    "training": {"callbacks", "checkpoints", "checks", "data", "distribute", "evaluation", "gan",
                 "models", "run_folder", "sources"},
}
# Modules that must not import TensorFlow or Keras at all, so the CLIs answer without them.
TENSORFLOW_FREE = {"checks", "environment", "files", "config", "run_folder", "cli"}


def _imports(module):
    tree = ast.parse((ROOT / "tf_dcgan" / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "tf_dcgan":
                names |= {f"tf_dcgan.{alias.name}" for alias in node.names}
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_every_module_is_listed_and_imports_only_lower_layers():
    modules = {p.stem for p in (ROOT / "tf_dcgan").glob("*.py")} - {"__init__"}
    assert modules == set(ALLOWED)
    for module, allowed in ALLOWED.items():
        ours = {name.split(".")[1] for name in _imports(module) if name.startswith("tf_dcgan.")}
        assert ours <= allowed, (module, ours - allowed)


def test_the_settings_layer_names_no_tensorflow():
    for module in TENSORFLOW_FREE:
        heavy = {name for name in _imports(module)
                 if name.split(".")[0] in {"tensorflow", "keras", "tensorflow_datasets"}}
        # environment imports TensorFlow on request only, inside a function.
        assert heavy <= ({"tensorflow", "tensorflow_datasets", "tensorflow_datasets.core.download"}
                         if module == "environment" else set()), (module, heavy)
