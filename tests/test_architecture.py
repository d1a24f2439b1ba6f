"""The shape of src/edm: no import circle between files or between packages, no huge module.

Imports are read with ``ast``, not by importing: an import inside a function or under
``TYPE_CHECKING`` counts too, since the code depends on that module all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import edm

SOURCE = Path(edm.__file__).resolve().parent
MAX_LINES = 400

Graph = dict[str, set[str]]


def module_files() -> dict[str, Path]:
    """``edm.x.y`` → its file, for every module and package under src/edm."""
    modules = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(module: str, path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """The edm modules ``module`` imports, wherever the import statement stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known_prefix(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from edm.pkg import name`: the submodule when `name` is one, else edm.pkg.
                submodule = f"{base}.{alias.name}"
                if submodule in known:
                    yield submodule
                else:
                    yield from _known_prefix(base, known)


def _known_prefix(name: str, known: Mapping[str, Path]) -> Iterator[str]:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            yield candidate
            return


def file_graph() -> Graph:
    known = module_files()
    graph: Graph = {module: set() for module in known}
    for module, path in known.items():
        for target in imported_modules(module, path, known):
            if target != module:
                graph[module].add(target)
    return graph


def package_of(module: str) -> str:
    """``edm.audio.cache`` → ``edm.audio``; a top-level module (``edm.errors``) is its own."""
    return ".".join(module.split(".")[:2])


def package_graph(files: Graph) -> Graph:
    graph: Graph = {}
    for module, targets in files.items():
        source = package_of(module)
        graph.setdefault(source, set())
        for target in targets:
            if package_of(target) != source:
                graph[source].add(package_of(target))
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle (``a → b → … → a``) per strongly connected component with more than one node."""
    found = []
    for component in _components(graph):
        if len(component) > 1:
            found.append(_cycle_within(graph, component))
    return sorted(found)


def _components(graph: Graph) -> list[set[str]]:
    # Tarjan's algorithm, iterative so that a long import chain cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _cycle_within(graph: Graph, component: set[str]) -> list[str]:
    """The shortest cycle through the component's first node (breadth-first)."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle in the component {sorted(component)}")


def _describe(found: list[list[str]]) -> str:
    return "\n".join(" → ".join(cycle) for cycle in found)


def test_no_import_cycle_between_files() -> None:
    found = cycles(file_graph())
    assert not found, "import cycles between modules:\n" + _describe(found)


def test_no_import_cycle_between_packages() -> None:
    found = cycles(package_graph(file_graph()))
    assert not found, "import cycles between packages:\n" + _describe(found)


def test_no_module_over_the_line_limit() -> None:
    too_long = {
        str(path.relative_to(SOURCE.parent)): lines
        for path in sorted(SOURCE.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The checks above are only as good as the graph: build one from known sources."""
    sources = {
        "edm/__init__.py": "",
        "edm/errors.py": "",
        "edm/a/__init__.py": "from edm.a.x import thing\n",
        "edm/a/x.py": (
            "from typing import TYPE_CHECKING\n"
            "from . import y\n"
            "if TYPE_CHECKING:\n    from edm.b import Thing\n"
        ),
        "edm/a/y.py": "def late():\n    import edm.errors\n    from ..b.z import f\n",
        "edm/b/__init__.py": "",
        "edm/b/z.py": "from edm.a import x\n",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    known = {
        module: tmp_path / name
        for name in sources
        for module in [name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")]
    }
    edges = {m: set(imported_modules(m, p, known)) for m, p in known.items()}
    assert edges["edm.a"] == {"edm.a.x"}
    assert edges["edm.a.x"] == {"edm.a.y", "edm.b"}
    assert edges["edm.a.y"] == {"edm.errors", "edm.b.z"}
    assert edges["edm.b.z"] == {"edm.a.x"}
    assert cycles(edges) == [["edm.a.x", "edm.a.y", "edm.b.z", "edm.a.x"]]
    assert cycles(package_graph(edges)) == [["edm.a", "edm.b", "edm.a"]]


def test_test_modules_have_unique_names() -> None:
    """Test folders share one import namespace (no __init__.py): two test files with one
    name stop pytest's collection of the whole suite."""
    from collections import Counter

    tests = Path(__file__).resolve().parent
    names = Counter(path.name for path in tests.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
