"""The architecture as a test (Nova's HACKING N307/N311 idea): api -> compute -> adapters, never backwards.

- only nodecompute.api (and the app factory) import aiohttp;
- only nodecompute.virt imports libvirt, libvirtaio or qemu.qmp;
- only nodecompute.db imports sqlite_utils or sqlite3;
- only nodecompute.hostnet imports pyroute2, and it imports no other nodecompute package (its inputs are its own
  records);
- nodecompute.compute imports neither api nor aiohttp; adapters import nothing from api and nothing from compute:
  the records, errors and state tables they share live in nodecompute.domain, which imports no other package;
- nodecompute.api reaches the adapters only through compute: it imports no db, virt or storage module (app.py, the
  composition root, opens them);
- no import cycle between modules (every import counts: module level, inside functions, under TYPE_CHECKING;
  `from package import submodule` is an import of the submodule);
- no module under nodecompute/ is over 400 lines.
"""
from __future__ import annotations

import ast
from tests.conftest import REPO

PACKAGE = REPO / "nodecompute"
ALLOWED = {
    "aiohttp": ("nodecompute.api", "nodecompute.app"),
    "multidict": ("nodecompute.api",),
    "libvirt": ("nodecompute.virt",),
    "libvirtaio": ("nodecompute.virt",),
    "qemu": ("nodecompute.virt",),
    "sqlite_utils": ("nodecompute.db",),
    "sqlite3": ("nodecompute.db",),
    "pyroute2": ("nodecompute.hostnet",),
}
MAX_MODULE_LINES = 400
FORBIDDEN_INTERNAL = {
    "nodecompute.api": ("nodecompute.db", "nodecompute.virt", "nodecompute.storage"),
    "nodecompute.compute": ("nodecompute.api", "nodecompute.app"),
    "nodecompute.virt": ("nodecompute.api", "nodecompute.app", "nodecompute.compute", "nodecompute.db",
                         "nodecompute.storage"),
    "nodecompute.storage": ("nodecompute.api", "nodecompute.app", "nodecompute.compute", "nodecompute.db",
                            "nodecompute.virt"),
    "nodecompute.db": ("nodecompute.api", "nodecompute.app", "nodecompute.compute", "nodecompute.virt",
                       "nodecompute.storage"),
    "nodecompute.identity": ("nodecompute.api", "nodecompute.app", "nodecompute.compute"),
    "nodecompute.domain": ("nodecompute.api", "nodecompute.app", "nodecompute.compute", "nodecompute.db",
                           "nodecompute.virt", "nodecompute.storage", "nodecompute.identity", "nodecompute.hostnet"),
    "nodecompute.hostnet": ("nodecompute.api", "nodecompute.app", "nodecompute.compute", "nodecompute.db",
                            "nodecompute.virt", "nodecompute.storage", "nodecompute.identity"),
}


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(), str(path))


def _module_graph() -> dict[str, set[str]]:
    """module -> the nodecompute modules it imports (a name imported from a package counts as the package)."""
    trees = dict(_modules())
    graph: dict[str, set[str]] = {}
    for name, tree in trees.items():
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{alias.name}" for alias in node.names} & trees.keys()
                found.update(subs)
                if len(subs) < len(node.names):
                    found.add(node.module)
        graph[name] = {imported for imported in found if imported in trees and imported != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_third_party_adapters_stay_in_their_package():
    bad = []
    for module, tree in _modules():
        for imported in _imports(tree):
            top = imported.split(".")[0]
            allowed = ALLOWED.get(top)
            if allowed and not module.startswith(allowed):
                bad.append(f"{module} imports {imported}")
    assert bad == []


def test_no_backward_internal_imports():
    bad = []
    for module, tree in _modules():
        for package, forbidden in FORBIDDEN_INTERNAL.items():
            if not module.startswith(package):
                continue
            for imported in _imports(tree):
                if imported.startswith(forbidden):
                    bad.append(f"{module} imports {imported}")
    assert bad == []


def test_no_import_cycle():
    assert _cycles(_module_graph()) == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"x": {"y"}, "y": {"x"}, "z": {"x"}}) == [["x", "y"]]


def test_modules_stay_readable():
    too_long = [f"{p.relative_to(REPO)}: {n}" for p in PACKAGE.rglob("*.py")
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert too_long == []
