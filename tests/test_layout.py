"""The package's layering: which part may import which (see docs/architecture.md, Layout)."""

import ast

from tests.helpers import ROOT

PACKAGE = ROOT / "tf_dcgan"

# The TensorFlow-free foundation at the top, module by module.
FOUNDATION = {
    "checks": set(),
    "deprecation": set(),
    "environment": set(),
    "files": set(),
    "config": {"checks", "environment"},
    "model_card": {"checks", "environment", "files"},
    "run_folder": {"checks", "config", "deprecation", "files", "model_card"},
    "cli": {"environment"},
}
BASE = set(FOUNDATION)
# Each stage of the pipeline, and the parts it may import besides its own modules.
STAGES = {
    "distribute": BASE,
    "model": BASE | {"distribute"},
    "data": BASE,
    "evaluation": BASE | {"model", "data"},
    "export": BASE | {"model", "data"},
    "training": BASE | {"distribute", "model", "data", "evaluation"},
    # The command lines: the foundation at import time, a stage inside the function that runs.
    "commands": BASE | {"distribute", "model", "data", "evaluation", "export", "training"},
}


def _imports(path):
    tree = ast.parse(path.read_text())
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


def _top_level_imports(path):
    """What a module imports when it is imported (not inside its functions)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def _part(path):
    """'checks' for tf_dcgan/checks.py, 'model' for anything in tf_dcgan/model/."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _ours(path):
    return {name.split(".")[1] for name in _imports(path) if name.startswith("tf_dcgan.")}


def test_every_part_is_known_and_imports_only_lower_layers():
    files = [path for path in PACKAGE.rglob("*.py") if path != PACKAGE / "__init__.py"]
    assert {_part(path) for path in files} == set(FOUNDATION) | set(STAGES)
    for path in files:
        part = _part(path)
        allowed = FOUNDATION.get(part, STAGES.get(part, set())) | {part}
        assert _ours(path) <= allowed, (str(path.relative_to(ROOT)), _ours(path) - allowed)


def test_the_top_level_and_the_foundation_name_no_tensorflow():
    heavy_roots = {"tensorflow", "keras", "tensorflow_datasets"}
    modules = [*FOUNDATION, "__init__", *(f"commands/{path.stem}" for path in
                                           (PACKAGE / "commands").glob("*.py"))]
    for module in modules:
        heavy = {name for name in _top_level_imports(PACKAGE / f"{module}.py")
                 if name.split(".")[0] in heavy_roots}
        # environment imports TensorFlow on request only, inside a function.
        assert heavy <= ({"tensorflow", "tensorflow_datasets", "tensorflow_datasets.core.download"}
                         if module == "environment" else set()), (module, heavy)
    # The top level imports its stages only on first use of one of its names.
    assert _ours(PACKAGE / "__init__.py") <= {"environment"}


def test_each_stage_lists_its_public_names():
    for stage in set(STAGES) - {"distribute", "commands"}:
        init = PACKAGE / stage / "__init__.py"
        tree = ast.parse(init.read_text())
        exported = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                        and node.targets[0].id == "__all__")
        names = {element.value for element in exported.elts}
        imported = {alias.asname or alias.name for node in tree.body
                    if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert names and names <= imported, (stage, names - imported)


def test_no_python_file_names_something_undefined_or_imports_something_unused():
    """pyflakes over the package, tests, benchmarks, scripts and examples: the benchmarks and
    scripts run no test of their own, so an undefined name there (a call left in an old form)
    is found here, not by the next person who measures."""
    import subprocess
    import sys

    folders = ["tf_dcgan", "tests", "benchmarks", "scripts", "examples"]
    scripts = [path.name for path in ROOT.glob("*.py")]
    result = subprocess.run([sys.executable, "-m", "flake8", "--select", "F", *folders, *scripts],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
