"""The package as a whole: its modules import each other without a cycle, each logs under its own name, and input
is checked by code that `python -O` keeps."""

import ast
from pathlib import Path

from tests.support import REPO

PACKAGE = REPO / "colorization"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def syntax_trees():
    return {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def imported_modules(name: str, tree: ast.Module) -> set[str]:
    """The package's modules that module `name` imports anywhere: at the top, inside functions and under
    TYPE_CHECKING alike. `from .x import y` names module x.y where that is a module, else x (its __init__)."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(trees: dict) -> dict[str, set[str]]:
    return {name: imported_modules(name, tree) for name, tree in trees.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as the modules along it (the first closing the loop again), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return path[path.index(imported) :] + [imported]
            if imported not in state:
                cycle = visit(imported)
                if cycle:
                    return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph(syntax_trees()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_sees_each_kind_of_import(tmp_path):
    """The checks above would pass on a graph they misread: the reader is tried on the forms the package uses."""
    source = """
from __future__ import annotations
from typing import TYPE_CHECKING
from . import errors
from .engines import base
from .model import OUTPUT_LAYER
import colorization.paths
if TYPE_CHECKING:
    from .pipeline import Colorizer
def later():
    from .web.photos import FORMATS
"""
    found = imported_modules("colorization.preparation", ast.parse(source))
    assert found == {
        "colorization.errors",
        "colorization.engines.base",
        "colorization.model",
        "colorization.paths",
        "colorization.pipeline",
        "colorization.web.photos",
    }
    relative = imported_modules(
        "colorization.engines.choice", ast.parse("from ..pipeline import Colorizer\nfrom . import base")
    )
    assert relative == {"colorization.pipeline", "colorization.engines.base"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


PACKAGE_LOGGER_USERS = {
    "colorization.commands.logs": "configures it",
    "colorization.progress": "redirects its handlers",
}
"""The modules that name the package's logger itself, and why; every other module logs under its own name."""


def literal_logger_names(tree: ast.Module) -> list[str]:
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "getLogger"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_modules_log_under_their_own_names():
    named = {name: literal_logger_names(tree) for name, tree in syntax_trees().items()}
    offenders = {
        name: loggers
        for name, loggers in named.items()
        if "colorization" in loggers and name not in PACKAGE_LOGGER_USERS
    }
    assert offenders == {}, "use logging.getLogger(__name__)"
    assert all("colorization" in named[name] for name in PACKAGE_LOGGER_USERS), "update PACKAGE_LOGGER_USERS"


def test_the_commands_logging_shows_every_modules_messages(capsys):
    """The commands put their handler and level on the package's logger; a module's logger is its child."""
    import argparse
    import logging

    from colorization.commands import logs

    package = logging.getLogger("colorization")
    saved = package.handlers[:], package.level, package.propagate
    try:
        logs.configure_logging(argparse.Namespace(quiet=False, verbose=True))
        logging.getLogger("colorization.engines.choice").info("engine: shown with -v")
        logs.configure_logging(argparse.Namespace(quiet=False, verbose=False))
        logging.getLogger("colorization.fetch").info("hidden without -v")
        logging.getLogger("colorization.fetch").warning("warning: shown")
    finally:
        package.handlers[:], package.level, package.propagate = saved
    assert capsys.readouterr().err.splitlines() == ["engine: shown with -v", "warning: shown"]


def test_no_assert_checks_anything_in_the_package():
    """`python -O` removes asserts: input is checked by code that raises the package's errors."""
    asserts = [
        f"{MODULES[name].relative_to(REPO)}:{node.lineno}"
        for name, tree in syntax_trees().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert)
    ]
    assert asserts == []


MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 80
"""Rooms a newcomer can hold in their head: a module that grows past this is doing two jobs."""


def test_no_module_or_function_is_too_long_to_hold_in_the_head():
    long_modules = {
        name: lines
        for name, path in MODULES.items()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    long_functions = [
        f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in syntax_trees().items()
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_modules == {} and long_functions == [], "split it by what it does"


def test_the_architecture_page_names_every_module_and_no_other():
    """docs/architecture.md is the newcomer's map: a module it does not name, or names but is gone, makes it wrong."""
    import re

    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = {name for name in re.findall(r"`((?:[a-z_]+/)?[a-z_]+\.py)`", page) if not name.startswith("tests/")}
    present = {
        path.relative_to(PACKAGE).as_posix()
        for path in MODULES.values()
        if path.name not in ("__init__.py", "__main__.py")
    }
    assert sorted(present - named) == [], "name these modules in docs/architecture.md"
    gone = [name for name in named - present if not (PACKAGE / name).exists() and not (REPO / name).exists()]
    assert gone == [], "docs/architecture.md names modules that do not exist"
