"""The house's floor plan, checked from the source (docs/architecture.md describes it).

Layers, bottom to top: platform, storage, the domain rooms, api, app.py; every import points down
(or, between rooms, across, through the other room's public names). Only the HTTP edge knows
chalice. No import cycles between modules, no module much past 500 lines, and each package says
what lives there.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

ROOMS = ("surveys", "delivery", "followups", "insight", "leads", "contacts", "integrations", "apikeys", "events", "why")
# What each layer may import from closeloop, besides itself.
MAY_IMPORT = {"platform": set(), "storage": {"platform"}, "room": {"platform", "storage", "room"},
              "api": {"platform", "storage", "room"}}
# Only these modules know chalice: the blueprints, and the HTTP edge below them.
KNOWS_CHALICE = ("chalicelib.api", "chalicelib.platform.edge")
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in (ROOT / "chalicelib").rglob("*.py")}


def layer(module: str) -> str:
    part = module.split(".")[1] if module.count(".") else ""
    return "room" if part in ROOMS else part


def room(module: str) -> str:
    return module.split(".")[1]


def imports(module: str) -> list[tuple[str, tuple[str, ...], bool]]:
    """(imported module, names, at module level) of every import in `module`, relative ones resolved."""
    tree = ast.parse(MODULES[module].read_text())
    top = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, (), id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.append((base, tuple(alias.name for alias in node.names), id(node) in top))
    return found


def public(package: str) -> set[str]:
    return set(importlib.import_module(package).__all__)


def defining_modules(imported: str, names: tuple[str, ...]) -> set[str]:
    """The closeloop modules an import reaches: a room's public name resolves to where it is defined."""
    reached = set()
    for name in names or ("",):
        if f"{imported}.{name}" in MODULES:
            reached.add(f"{imported}.{name}")
        elif imported in MODULES:
            value = getattr(importlib.import_module(imported), name, None) if name else None
            defined = getattr(value, "__module__", None)
            reached.add(defined if defined in MODULES and defined != imported else imported)
    return reached


def test_every_import_points_down_the_layers():
    wrong = []
    for module in MODULES:
        for imported, _names, _top in imports(module):
            if imported.startswith("chalicelib.") and layer(imported) not in MAY_IMPORT[layer(module)] | {layer(module)}:
                wrong.append(f"{module} imports {imported}")
            if imported == "app" or imported.startswith("app."):
                wrong.append(f"{module} imports app.py")
    assert wrong == []


def test_only_the_http_edge_knows_chalice():
    knowing = {module for module in MODULES for imported, _, _ in imports(module)
               if imported == "chalice" or imported.startswith("chalice.")}
    assert knowing and all(module.startswith(KNOWS_CHALICE) for module in knowing), sorted(knowing)


def test_a_room_uses_another_room_through_its_public_names_only():
    wrong = []
    for module in MODULES:
        for imported, names, _top in imports(module):
            if not imported.startswith("chalicelib.") or layer(imported) != "room" or layer(module) not in ("room", "api"):
                continue
            if layer(module) == "room" and room(imported) == room(module):
                continue
            package = f"chalicelib.{room(imported)}"
            if imported != package:
                wrong.append(f"{module} reaches into {imported}")
            elif set(names) - public(package):
                wrong.append(f"{module} uses {sorted(set(names) - public(package))} of {package}, not in its __all__")
    assert wrong == []


def test_a_room_imported_whole_is_used_through_its_public_names_only():
    """`import chalicelib.surveys as surveys` (the blueprints' way: a room's modules load when a
    route first uses them, not at a cold start's import): every `surveys.<name>` is in its __all__."""
    wrong = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text())
        aliases = {alias.asname or alias.name: alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                   for alias in node.names if alias.name.startswith("chalicelib.") and layer(alias.name) == "room"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                package = aliases[node.value.id]
                if package != f"chalicelib.{room(package)}":
                    wrong.append(f"{module} reaches into {package}")
                elif node.attr not in public(package):
                    wrong.append(f"{module} uses {node.attr} of {package}, not in its __all__")
    assert wrong == []


def test_a_survey_page_cold_start_loads_no_other_room():
    """Importing app.py loads the blueprints, not the rooms behind them: those load at first use."""
    import subprocess
    import sys

    script = ("import sys, app; print(' '.join(sorted(m for m in sys.modules if m.startswith('chalicelib.')"
              " and m.count('.') >= 2 and m.split('.')[1] not in ('api', 'platform', 'storage'))))")
    loaded = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    rooms_loaded = set(loaded.stdout.split())
    # leads.model: the sign-in's form and session types, which its blueprint names at import.
    assert rooms_loaded <= {"chalicelib.leads.model"}, sorted(rooms_loaded)


def test_every_public_name_of_a_room_resolves():
    for name in ROOMS:
        package = importlib.import_module(f"chalicelib.{name}")
        assert package.__doc__ and package.__all__
        for public_name in package.__all__:
            assert getattr(package, public_name) is not None, f"chalicelib.{name}.{public_name}"


def test_no_import_cycles_between_modules():
    graph = {module: set() for module in MODULES}
    for module in MODULES:
        for imported, names, top in imports(module):
            if top and imported.startswith("chalicelib"):
                graph[module] |= defining_modules(imported, names) - {module}
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "visiting"
        for reached in sorted(graph[module]):
            if reached.endswith("__init__") or reached not in graph:
                continue
            if state.get(reached) == "visiting":
                cycles.append(" -> ".join(path[path.index(reached):] + [reached]))
            elif reached not in state:
                visit(reached, path + [reached])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_much_longer_than_500_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_LINES


def test_every_package_says_what_lives_there():
    packages = [path for path in (ROOT / "chalicelib").rglob("__init__.py")]
    assert len(packages) == len(ROOMS) + 4  # chalicelib, platform, storage, api
    for path in packages:
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} has no docstring"


def test_app_py_is_a_table_of_contents():
    source = (ROOT / "app.py").read_text()
    assert len(source.splitlines()) <= 60
    tree = ast.parse(source)
    assert not [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert "@app.route" not in source
