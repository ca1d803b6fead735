"""The training layer knows the recorder only through its callbacks (issue 15)."""

import ast
import pathlib

import centered_nn._training as training

PACKAGE = pathlib.Path(training.__file__).parent


def _imported_modules(path):
    """Every module an import statement of ``path`` names, relative ones with their dots."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_training_modules_import_nothing_from_diagnostics():
    paths = sorted(PACKAGE.glob("*.py"))
    assert PACKAGE / "loops.py" in paths
    offending = {path.name: module for path in paths for module in _imported_modules(path)
                 if "diagnostics" in module.split(".")}
    assert offending == {}
