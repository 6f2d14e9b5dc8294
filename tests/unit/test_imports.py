"""No import cycles in sqslab: the graph of its own imports, read from the source with ast.

Every ``import sqslab...`` and ``from sqslab... import`` counts (relative ones
too), at module level or inside a function alike: a function-level import is
still a dependency, only a later one. Imports under ``if TYPE_CHECKING:`` never
run and do not count. The edge goes to the module named; ``from P import m``
goes to ``P.m`` when that is a module of the package.
"""


from __future__ import annotations

import ast
from pathlib import Path

import sqslab

ROOT = Path(sqslab.__file__).resolve().parent

WORKER = "sqslab.offline.awslambda.worker"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: set[str]):
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.found: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self.found.add(sub if sub in self.modules else base)


def import_graph() -> dict[str, set[str]]:
    """Each sqslab module and the sqslab modules it imports."""
    files = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    graph = {}
    for name, path in files.items():
        visitor = _Imports(name, path.name == "__init__.py", set(files))
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        graph[name] = {m for m in visitor.found if m in files and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules, as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm; the graph is a few dozen modules
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)

    return sorted(_shortest_cycle(graph, group) for group in groups)


def _shortest_cycle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle in {sorted(group)}")  # a strongly connected group always has one


def test_the_graph_sees_function_level_and_relative_imports():
    graph = {"sqslab.a": set(), "sqslab.b": set(), "sqslab.p": set(), "sqslab.p.m": set()}
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import sqslab.a\n"
        "def f():\n    from sqslab.p import m\n"
        "def g():\n    from . import b\n"
        "if TYPE_CHECKING:\n    from sqslab import p\n"
    )
    visitor = _Imports("sqslab.x", False, set(graph))
    visitor.visit(ast.parse(source))
    assert {m for m in visitor.found if m in graph} == {"sqslab.a", "sqslab.p.m", "sqslab.b"}


def test_cycles_are_found_and_shown_as_paths():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = import_graph()
    assert "sqslab.offline.server.process" in graph and "sqslab.offline.awslambda.service" in graph
    found = [" -> ".join(path) for path in cycles(graph)]
    assert not found, "import cycles in sqslab:\n  " + "\n  ".join(found)


def test_the_worker_is_a_script_of_its_own():
    """worker.py runs isolated (python -I) in the function's task root: the package
    never imports it, and it imports nothing of the package."""
    graph = import_graph()
    assert [m for m, deps in graph.items() if WORKER in deps] == []
    assert graph[WORKER] == set()


# The learner side, bottom to top: a module imports its own layer and the ones below, never
# one above. The emulator (sqslab.offline) is a world of its own beside them: it imports only
# itself and sqslab.base, and the learner side may start it (target, series, cli).
LAYERS = [
    ("sqslab", "sqslab.base"),  # the package's version; errors, log lines, progress, names, time
    ("sqslab.config",),  # where the series' files are, templates, profiles
    ("sqslab.target",),  # the one place that makes AWS clients
    ("sqslab.deploy",),  # templates checked and packaged, stacks deployed and torn down
    ("sqslab.analysis",),  # logs fetched and turned into frames, timelines, figures, prices
    ("sqslab.lab",),  # the lab: a deployed stack with its clients and timings; the notebooks' setup
    ("sqslab.experiments",),  # experiments and the exercises' checks
    ("sqslab.series",),  # running the series, its kernels, handouts, navigation, recording
    ("sqslab.cli",),  # the command
]


def layer_of(module: str) -> int | None:
    """The index of a learner-side module's layer in :data:`LAYERS` (None for the emulator)."""
    found = None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + ".") and prefix != "sqslab":
                found = i
    return found


def layering_problems(graph: dict[str, set[str]]) -> list[str]:
    """The imports that break the layers: sqslab.offline imports only itself and sqslab.base;
    sqslab.base imports only itself; only the server process (which applies them) and the
    patches themselves import sqslab.offline.patches; on the learner side no module imports a
    layer above its own (:data:`LAYERS`)."""
    wrong = []
    for module, deps in graph.items():
        for dep in deps:
            mine, theirs = layer_of(module), layer_of(dep)
            if mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{module} -> {dep} (a layer above its own)")
            if module.startswith("sqslab.offline") and not dep.startswith(("sqslab.offline", "sqslab.base")):
                wrong.append(f"{module} -> {dep} (the emulator imports the learner side)")
            if module.startswith("sqslab.base") and not dep.startswith("sqslab.base"):
                wrong.append(f"{module} -> {dep} (the base imports something above it)")
            if dep.startswith("sqslab.offline.patches") and not module.startswith("sqslab.offline.patches") \
                    and module != "sqslab.offline.server.process":
                wrong.append(f"{module} -> {dep} (only the server applies the patches)")
    return sorted(wrong)


def test_the_layers_hold():
    """The emulator is one world and the learner side another; moto is patched in one place."""
    wrong = layering_problems(import_graph())
    assert not wrong, "\n  ".join(["layering broken:", *wrong])


def test_every_module_has_a_layer():
    graph = import_graph()
    homeless = [m for m in graph if not m.startswith("sqslab.offline") and layer_of(m) is None]
    assert homeless == [], f"modules in no layer of LAYERS: {homeless}"


def test_the_layering_rule_fails_on_a_wrong_way_import():
    graph = {"sqslab.offline.x": {"sqslab.deploy.template", "sqslab.base.errors"},
             "sqslab.base.errors": {"sqslab.config"},
             "sqslab.offline.awslambda.service": {"sqslab.offline.patches.sqs"}, "sqslab.deploy.template": set(),
             "sqslab.analysis.logs": {"sqslab.lab.handle", "sqslab.target"}, "sqslab.lab.handle": {"sqslab.deploy.stack"}}
    assert layering_problems(graph) == [
        "sqslab.analysis.logs -> sqslab.lab.handle (a layer above its own)",
        "sqslab.base.errors -> sqslab.config (a layer above its own)",
        "sqslab.base.errors -> sqslab.config (the base imports something above it)",
        "sqslab.offline.awslambda.service -> sqslab.offline.patches.sqs (only the server applies the patches)",
        "sqslab.offline.x -> sqslab.deploy.template (the emulator imports the learner side)",
    ]


def underscored_uses() -> list[str]:
    """Where a module reaches for another module's underscored (private) name: ``from m import _x``
    or ``m._x`` with ``m`` an imported sqslab module."""
    files = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
    found = []
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqslab"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in files:
                        aliases[alias.asname or alias.name] = full
                    elif alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("sqslab") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and aliases[node.value.id] != name and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append(f"{name}: {node.value.id}.{node.attr}")
    return sorted(found)


def test_no_module_uses_another_modules_private_names():
    assert underscored_uses() == []
