"""The tree's rules, checked on the source (the import graph read with ``ast``, never run):

- no import cycles among the gateway's modules;
- ``gateway/errors.py`` is a leaf: at run time it imports nothing of the gateway;
- a module outside a sub-package imports it only through its face (``gateway.session``, not
  ``gateway.session.cache``), so each face is the whole of what the package offers;
- each face has a docstring and an ``__all__``;
- only the CLI and the demo import the serving package (nothing the request path uses does);
- no module is over 300 lines;
- docs/architecture.md names every module;
- nothing in the repository cites a contract that is not in it.
"""

from __future__ import annotations

import ast
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gateway"
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return _modules()[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if _is_package(module) else base[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _runtime_nodes(tree: ast.Module) -> list[ast.stmt]:
    """Top-level and nested statements, minus ``if TYPE_CHECKING:`` blocks."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


@cache
def _imports(module: str) -> frozenset[str]:
    """The gateway modules ``module`` imports at run time: for ``from pkg import name``, the
    submodule ``pkg.name`` when there is one, else ``pkg`` itself."""
    tree = ast.parse(_modules()[module].read_text())
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        assert isinstance(node, ast.ImportFrom)
        source = _resolve(module, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            found.add(submodule if submodule in _modules() else source)
    return frozenset(name for name in found if name in _modules() and name != module)


def _cycle_from(start: str) -> list[str] | None:
    path: list[str] = []
    seen: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in seen:
            return None
        seen.add(module)
        path.append(module)
        for imported in sorted(_imports(module)):
            if found := visit(imported):
                return found
        path.pop()
        return None

    return visit(start)


def test_no_import_cycles() -> None:
    # A package's __init__ importing its own submodules is the face being assembled, and a
    # submodule importing a sibling through the face would be the cycle this catches.
    for module in _modules():
        assert _cycle_from(module) is None, " -> ".join(_cycle_from(module) or [])


def test_errors_is_a_leaf() -> None:
    assert _imports("gateway.errors") == frozenset()


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 3 and not (len(parts) == 2 and _is_package(module)):
        return None
    return ".".join(parts[:2])


def test_outside_modules_use_the_faces() -> None:
    wrong = []
    for module in _modules():
        own = _package_of(module)
        for imported in _imports(module):
            package = _package_of(imported)
            if package and package != own and imported != package:
                wrong.append(f"{module} imports {imported} (use {package})")
    assert wrong == []


# The demo is an entry point (python -m gateway.demo), not a package anything imports from.
FACES = sorted(
    name for name in _modules() if _is_package(name) and name not in {"gateway", "gateway.demo"}
)


@pytest.mark.parametrize("face", FACES)
def test_each_face_has_a_docstring_and_all(face: str) -> None:
    tree = ast.parse(_modules()[face].read_text())
    assert ast.get_docstring(tree), face
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "__all__" in names, face


def test_only_the_cli_and_the_demo_import_serve() -> None:
    importers = {
        module
        for module in _modules()
        if _package_of(module) != "gateway.serve"
        and any(_package_of(name) == "gateway.serve" for name in _imports(module))
    }
    assert importers <= {"gateway.cli", "gateway.demo", "gateway.demo.__main__"}, importers


@pytest.mark.parametrize("module", sorted(_modules()))
def test_module_under_the_line_limit(module: str) -> None:
    lines = len(_modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines"


def test_architecture_names_every_module() -> None:
    # A flat module by its file name, a sub-package's module by its name in that package's row.
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [
        str(path.relative_to(ROOT))
        for path in _modules().values()
        if path.name != "__init__.py"
        and f"{path.name}" not in text
        and f"`{path.stem}`" not in text
    ]
    assert missing == []


def test_nothing_cites_a_contract_outside_the_repository() -> None:
    found = subprocess.run(
        ["git", "grep", "-n", "DESIGN" + ".md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""
