"""The import direction: knowledge_base ← core ← actions / bot.server / bot.web ← bot.ops
(and `python -m bot`).

A module may import its own package and the layers below it, never one above or beside it, and no two
modules import each other round a circle (also through imports inside functions). Read from the source with
`ast`, so nothing is imported and a test fails with the offending file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.config import ROOT

# package prefix → what it may import besides itself (the layers below)
ALLOWED = {
    "knowledge_base": set(),
    "core": {"knowledge_base"},
    "actions": {"knowledge_base", "core"},
    "bot.server": {"knowledge_base", "core"},
    "bot.web": {"knowledge_base", "core"},
    "bot.ops": {"knowledge_base", "core", "bot.server", "bot.web", "actions"},
    "bot": {"knowledge_base", "core", "bot.ops"},  # bot/__init__.py and `python -m bot`
}
OURS = ("knowledge_base", "core", "actions", "bot")


def layer(module: str) -> str:
    parts = module.split(".")
    return (
        ".".join(parts[:2])
        if parts[0] == "bot" and len(parts) > 1 and parts[1] in ("server", "web", "ops")
        else parts[0]
    )


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of our packages in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] in OURS]


def resolve(name: str, modules: set[str]) -> str | None:
    """`core.replies.text` → `core.replies`; a package's name itself stays."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


SOURCES = sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))
MODULES = {module_name(p) for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down_only(path):
    here = layer(module_name(path))
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name} ({layer(name)} is not below {here})"
        for line, name in imports(path)
        if layer(name) != here and layer(name) not in ALLOWED[here]
    ]
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_round_a_circle():
    graph = {
        module_name(p): {resolve(n, MODULES) for _, n in imports(p)} - {None, module_name(p)} for p in SOURCES
    }
    # a package's __init__ is imported with each of its modules; only module-to-module edges count
    graph = {
        m: {d for d in deps if not any(o.startswith(d + ".") for o in MODULES) or d == m}
        for m, deps in graph.items()
    }
    seen, stack, cycles = set(), [], []

    def visit(module):
        if module in stack:
            cycles.append(stack[stack.index(module) :] + [module])
            return
        if module in seen:
            return
        seen.add(module)
        stack.append(module)
        for dependency in sorted(graph.get(module, ())):
            visit(dependency)
        stack.pop()

    for module in sorted(graph):
        visit(module)
    assert not cycles, "\n".join(" → ".join(cycle) for cycle in cycles)


def test_the_layer_check_sees_a_wrong_import(tmp_path):
    """The check itself: an upward import in a module is found (so the tests above can fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from bot.server.availability import install\n", encoding="utf-8")
    assert imports(bad) == [(2, "bot.server.availability.install")]
    assert layer("bot.server.availability.install") not in ALLOWED["core"]


def test_test_modules_share_helpers_only_through_conftest_and_support():
    wrong = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            wrong += [
                f"{path.name}:{node.lineno} imports {name}"
                for name in names
                if name.startswith("tests.") and name not in ("tests.conftest", "tests.support")
            ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "folder, forbidden",
    [("tests", ("benchmarks",)), ("evaluation", ("benchmarks", "tests"))],
)
def test_tests_and_evaluation_do_not_lean_on_the_benchmark_scripts(folder, forbidden):
    """Shared scoring and load-driving code lives in evaluation/; benchmarks/ only prints figures."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / folder).glob("*.py"))
        for line, name in imports_of(path)
        if name.split(".")[0] in forbidden
    ]
    assert not wrong, "\n".join(wrong)


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found
