"""The architecture as a test (Nova's HACKING N307/N311 idea): api -> compute -> adapters, never backwards.

- only nodecompute.api (and the app factory) import aiohttp;
- only nodecompute.virt imports libvirt, libvirtaio or qemu.qmp;
- only nodecompute.db imports sqlite_utils or sqlite3;
- only nodecompute.hostnet imports pyroute2, and it imports no other nodecompute package (its inputs are its own
  records);
- nodecompute.compute imports neither api nor aiohttp; adapters import nothing from api and nothing from compute:
  the records, errors and state tables they share live in nodecompute.domain, which imports no other package.
"""
from __future__ import annotations

import ast
from pathlib import Path

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
FORBIDDEN_INTERNAL = {
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


def test_modules_stay_readable():
    too_long = [f"{p.relative_to(REPO)}: {n}" for p in PACKAGE.rglob("*.py")
                if (n := len(p.read_text().splitlines())) > 600]
    assert too_long == []
