"""The package layout: stages import only earlier stages, no cycles, small modules.

Every import counts, also those inside functions and under TYPE_CHECKING: a lazy
import of a later stage is still a dependency on it. `from pkg import name` counts
as an import of `pkg.name` when that is a module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "abkit"
MAX_LINES = 450

STAGES = {
    "abkit.errors": 0,
    "abkit.resources": 0,
    "abkit.jsonable": 0,
    "abkit.config": 1,
    "abkit.demo": 1,
    "abkit.sql": 2,
    "abkit.engines": 3,
    "abkit.aggregates": 4,
    "abkit.stats": 5,
    "abkit.analysis": 6,
    "abkit.report": 7,
    "abkit.store": 8,
    "abkit.frontends": 9,
}
"""The first stage of each part of the package; a module may import only its own
stage and earlier ones. The root `abkit/__init__.py` re-exports, so it is exempt."""

HEAVY = ("pandas", "duckdb", "scipy", "statsmodels", "plotly", "streamlit")


def module_name(path: Path) -> str:
    """`abkit/analysis/run.py` -> `abkit.analysis.run`; a package's `__init__` -> it."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> Iterator[str]:
    """Every abkit module `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in MODULES else base


def import_graph() -> dict[str, set[str]]:
    """abkit module -> the abkit modules it imports (the root package excluded)."""
    return {
        name: {
            target
            for target in imported_modules(name, path)
            if target == "abkit" or target.startswith("abkit.")
        }
        - {name}
        for name, path in MODULES.items()
        if name != "abkit"
    }


def stage(name: str) -> int:
    """The stage of a module: that of the longest listed prefix of its name."""
    matches = [p for p in STAGES if name == p or name.startswith(f"{p}.")]
    if not matches:
        raise AssertionError(f"{name} has no stage; add its package to STAGES")
    return STAGES[max(matches, key=len)]


def import_loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other in a loop (Tarjan's SCCs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def cycle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest import cycle from the group's first module back to it."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"{group} is not a loop")


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    loops = [
        f"{' -> '.join(cycle_through(group, graph))}  (loop of {', '.join(group)})"
        for group in import_loops(graph)
    ]
    assert not loops, "import cycles:\n" + "\n".join(loops)


def test_no_module_imports_a_later_stage():
    violations = [
        f"{name} (stage {stage(name)}) imports {target} "
        + ("(the root re-exports everything; import the module itself)"
           if target == "abkit" else f"(stage {stage(target)})")
        for name, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if target == "abkit" or stage(target) > stage(name)
    ]  # fmt: skip
    assert not violations, "\n".join(violations)


def test_modules_are_at_most_450_lines():
    paths = [*PACKAGE.rglob("*.py"), *(REPO / "app").rglob("*.py")]
    lengths = {p.relative_to(REPO): len(p.read_text(encoding="utf-8").splitlines())
               for p in paths}  # fmt: skip
    too_long = [f"{path}: {n} lines" for path, n in sorted(lengths.items())
                if n > MAX_LINES]  # fmt: skip
    assert not too_long, "\n".join(too_long)


def test_the_layout_graph_reads_imports_everywhere():
    graph = import_graph()
    # in a function (the CLI's commands import what they need when they run)
    assert "abkit.analysis.run" in graph["abkit.frontends.cli.analysis_commands"]
    # `from abkit.analysis import health` is the submodule, not the package
    assert "abkit.analysis.health" in graph["abkit.analysis.assembly"]
    loop = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}}
    assert import_loops(loop) == [["a", "b", "c"], ["d", "e"]]
    assert cycle_through(["a", "b", "c"], loop) == ["a", "b", "c", "a"]


def loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of `modules` a fresh interpreter has loaded after running `code`."""
    report = (
        f"import json, sys\n"
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        capture_output=True, text=True, check=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    loaded: list[str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "code", ["import abkit", "import abkit; abkit.AbkitError; abkit.render_sql",
             "from abkit.frontends.cli import app"]
)  # fmt: skip
def test_importing_abkit_loads_no_heavy_library(code):
    assert loaded_after(code) == []


@pytest.mark.parametrize("output", ["table", "json", "markdown"])
def test_an_analysis_and_its_output_load_no_pandas(tiny_exp, output):
    # the rows an analysis reads are a few dozen: no data-frame library for them
    written = str(tiny_exp.with_name(f"result.{output}"))
    code = (
        "from abkit.frontends.cli import app\n"
        f"try:\n    app(['analyze', {str(tiny_exp)!r}, '--format', {output!r},"
        f" '--output', {written!r}])\n"
        "except SystemExit as done:\n    assert done.code == 0, done.code"
    )
    assert loaded_after(code, ("pandas",)) == []


def test_abkit_sql_loads_no_plotting_or_dataframe_library(tiny_exp):
    code = (
        "from abkit.frontends.cli import app\n"
        f"try:\n    app(['sql', {str(tiny_exp)!r}, '--dialect', 'spark'])\n"
        "except SystemExit as done:\n    assert done.code == 0, done.code"
    )
    assert loaded_after(code) == []
