"""The shape of the codebase, checked from its source: the rules a reviewer would otherwise police.

- no import cycle between modules of terminal/, drivers/ and hw_sim — function-level imports,
  ``import_module("literal")``-style lazy imports and ``import_module(f"pkg.{name}")`` (any module
  of ``pkg``) counted, and importing ``a.b.c`` counted as importing ``a`` and ``a.b`` too (Python
  runs their ``__init__`` first);
- no dynamic import whose target the graph cannot see;
- small modules (at most ~600 lines) and at most 12 modules directly in terminal/;
- one clock: no ``time.time()``, ``time.monotonic()`` or ``time.sleep()`` in terminal/ outside
  terminal/clock.py;
- terminal/ imports no hardware library (devices are reached through terminal.daemon.devices,
  which imports ``drivers``/``hw_sim`` by name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"terminal": ROOT / "terminal", "drivers": ROOT / "drivers",
            "hw_sim": ROOT / "hw-sim" / "hw_sim"}
MAX_LINES = 600
MAX_TOP_LEVEL = 12
HARDWARE = {"cv2", "picamera2", "gpiozero", "serial", "pyzbar", "zxingcpp", "lgpio", "evdev",
            "RPi"}


def _modules() -> dict[str, Path]:
    found = {}
    for top, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _with_parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            yield candidate


def _resolve(name: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if _is_package(name) else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _package_prefix(node: ast.expr) -> str | None:
    """``"pkg."`` for an f-string ``f"pkg.{...}"`` naming a package of ours, else None."""
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if (isinstance(head, ast.Constant) and isinstance(head.value, str)
                and head.value.endswith(".") and head.value[:-1] in MODULES):
            return head.value
    return None


def imports_of(name: str) -> set[str]:
    """Every module of ours that importing ``name`` may import, at any depth of its code."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                targets.update(_with_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node)
            targets.update(_with_parents(base))
            for alias in node.names:
                targets.update(_with_parents(f"{base}.{alias.name}"))
        elif isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                targets.update(m for m in _with_parents(first.value) if first.value in MODULES)
            prefix = _package_prefix(first)
            if prefix:                          # import_module(f"pkg.{name}"): any module of pkg
                targets.update(m for m in MODULES if m.startswith(prefix))
    targets.update(p for p in _with_parents(name) if p != name)   # parents run first
    targets.discard(name)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_sees_lazy_imports():
    """The walker itself: a function-level import and a by-name import are edges."""
    assert "terminal.daemon.devices" in imports_of("terminal.daemon.compose")
    assert "drivers.decoder" in imports_of("terminal.daemon.devices")      # _module("drivers...")
    assert "terminal.formats" in imports_of("terminal.formats.native")       # a parent package
    assert "terminal.cli.commands.verify" in imports_of("terminal.cli.main")  # f"pkg.{name}"


def test_no_import_cycle_anywhere():
    graph = {name: imports_of(name) for name in MODULES}
    assert _cycles(graph) == []


def test_no_dynamic_import_the_graph_cannot_see():
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "import_module"):
                arg = node.args[0] if node.args else None
                literal = isinstance(arg, ast.Constant) or (arg is not None
                                                             and _package_prefix(arg) is not None)
                helper = name == "terminal.daemon.devices" and isinstance(arg, ast.Name)
                assert literal or helper, f"{name}:{node.lineno} imports a module by a computed name"


def test_package_inits_import_nothing_of_their_own_package():
    for name in MODULES:
        if _is_package(name):
            own = {m for m in imports_of(name) if m.startswith(name + ".")}
            assert own == set(), f"{name}/__init__.py imports {sorted(own)}: a cycle waiting to happen"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines; split it by what it does"


def test_few_modules_directly_in_terminal():
    top = sorted(p.name for p in PACKAGES["terminal"].glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_one_clock_in_terminal():
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith("terminal.") or name == "terminal.clock":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "time" and node.attr in ("time", "monotonic", "sleep",
                                                                   "perf_counter")):
                offenders.append(f"{name}:{node.lineno} time.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module == "time":
                offenders.append(f"{name}:{node.lineno} from time import ...")
    assert offenders == []


def test_terminal_imports_no_hardware_library():
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith("terminal"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = [(node.module or "").split(".")[0]]
            else:
                continue
            offenders += [f"{name}:{node.lineno} {r}" for r in roots if r in HARDWARE]
    assert offenders == []
