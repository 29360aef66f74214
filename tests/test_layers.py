"""The house's layers: each package imports only those below it (README, Layout). Read from the
source, every import statement, at module level or inside a function."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "napari_mg3d"
# what each layer may not import (its own layer and those below are fine)
FORBIDDEN = {
    "io": ("knowledge", "model", "data", "inference", "train", "widgets", "plugin"),
    "knowledge": ("model", "data", "inference", "train", "widgets", "plugin"),
    "model": ("data", "inference", "train", "widgets", "plugin"),
    "inference": ("train", "widgets"),
    "train": ("widgets", "plugin"),
}


def imported_packages(path: Path) -> set[str]:
    """The napari_mg3d subpackages a file imports, relative or absolute."""
    layer = path.relative_to(PACKAGE).parts[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level >= 2 and node.module:  # from ..model.x import y
                found.add(node.module.split(".")[0])
            elif node.level == 2:  # from .. import x
                found.update(a.name for a in node.names)
            elif node.level == 0 and (node.module or "").startswith("napari_mg3d."):
                found.add(node.module.split(".")[1])
            elif node.level == 1:
                found.add(layer)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("napari_mg3d."))
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_those_below_it(layer):
    wrong = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        bad = imported_packages(path) & set(FORBIDDEN[layer])
        if bad:
            wrong[str(path.relative_to(PACKAGE))] = sorted(bad)
    assert wrong == {}
