"""Facts about Nova's compute API read from its source with `ast` (never imported, never copied).

`route_facts(tree)` walks `ROUTE_LIST` in nova/api/openstack/compute/routes.py, resolves every (path, method) to its
controller method (through base classes and the action sub-controllers) and reads the method's decorators:
`wsgi.api_version(min, max)`, `wsgi.response(code, min, max)`, `wsgi.expected_errors(codes, min, max)`,
`wsgi.action(key)` and `wsgi.removed(...)`. A method without `wsgi.response` answers 200 (Nova's default) unless
its body returns `webob.Response(status_int=...)` / `ResponseObject(..., code=...)`: those codes are recorded
apart (`body_status`), because the body picks them by condition (version, or created vs existing); a removed
method, or one whose body only raises `HTTPGone`, answers 410.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

COMPUTE = "nova/api/openstack/compute"
VERSION_MODULE = "nova/api/openstack/api_version_request.py"


class Tree(Protocol):
    def show(self, path: str) -> str: ...


@dataclass
class Method:
    module: str
    cls: str
    name: str
    min_version: str | None = None
    max_version: str | None = None
    codes: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    errors: list[tuple[list[int], str | None, str | None]] = field(default_factory=list)
    action: str | None = None
    removed: bool = False
    body_codes: list[int] = field(default_factory=list)
    raises_gone: bool = False


@dataclass
class Klass:
    module: str
    name: str
    bases: list[tuple[str, str]]
    methods: dict[str, Method]


def version_facts(tree: Tree) -> dict[str, Any]:
    """The minimum, maximum and every microversion named in Nova's REST_API_VERSION_HISTORY."""
    text = tree.show(VERSION_MODULE)
    constants = _string_constants(ast.parse(text))
    history = re.findall(r"^\s*\* (2\.\d+) - ", text, re.M)
    return {"min": constants["_MIN_API_VERSION"], "max": constants["_MAX_API_VERSION"], "history": history}


def _string_constants(module: ast.Module) -> dict[str, str]:
    found = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


class Source:
    """Controller classes of nova/api/openstack/compute, parsed on demand."""

    def __init__(self, tree: Tree):
        self.tree = tree
        self.version_constants = _string_constants(ast.parse(tree.show(VERSION_MODULE)))
        self._classes: dict[tuple[str, str], Klass] = {}
        self._loaded: set[str] = set()

    def klass(self, module: str, name: str) -> Klass:
        if module not in self._loaded:
            self._load(module)
        return self._classes[(module, name)]

    def _load(self, module: str) -> None:
        self._loaded.add(module)
        parsed = ast.parse(self.tree.show(f"{COMPUTE}/{module}.py"))
        constants = dict(self.version_constants) | _string_constants(parsed)
        for node in parsed.body:
            if isinstance(node, ast.ClassDef):
                bases = [_base(module, b) for b in node.bases]
                methods = {}
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        methods[item.name] = _method(module, node.name, item, constants)
                self._classes[(module, node.name)] = Klass(module, node.name, [b for b in bases if b], methods)

    def lineage(self, module: str, name: str) -> list[Klass]:
        """The class and its Nova compute base classes, nearest first."""
        found = [self.klass(module, name)]
        for base_module, base_name in found[0].bases:
            found.extend(self.lineage(base_module, base_name))
        return found

    def method(self, module: str, name: str, method: str) -> Method:
        for klass in self.lineage(module, name):
            if method in klass.methods:
                return klass.methods[method]
        raise KeyError(f"{module}.{name}.{method}")

    def actions(self, module: str, name: str) -> dict[str, Method]:
        found: dict[str, Method] = {}
        for klass in reversed(self.lineage(module, name)):
            for method in klass.methods.values():
                if method.action:
                    found[method.action] = method
        return found


def _base(module: str, node: ast.expr) -> tuple[str, str] | None:
    if isinstance(node, ast.Name) and node.id not in ("object",):
        return (module, node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id != "wsgi":
        return (node.value.id, node.attr)
    return None


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        parts = []
        current: ast.expr = node.func
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name):
            parts.append(current.id)
        parts.reverse()
        if parts[0] == "wsgi":
            return parts[-1]
    return None


def _value(node: ast.expr, constants: dict[str, str]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return constants[node.id]
    if isinstance(node, ast.Attribute):
        return constants[node.attr]
    if isinstance(node, ast.Tuple):
        return [_value(element, constants) for element in node.elts]
    raise ValueError(ast.dump(node))


def _args(call: ast.Call, names: tuple[str, ...], constants: dict[str, str]) -> list[Any]:
    values: list[Any] = [None] * len(names)
    for index, arg in enumerate(call.args):
        values[index] = _value(arg, constants)
    for keyword in call.keywords:
        values[names.index(keyword.arg)] = _value(keyword.value, constants)
    return values


def _method(module: str, cls: str, node: ast.FunctionDef, constants: dict[str, str]) -> Method:
    method = Method(module, cls, node.name)
    for decorator in node.decorator_list:
        kind = _decorator_name(decorator)
        if kind == "api_version":
            method.min_version, method.max_version = _args(decorator, ("min_version", "max_version"), constants)
        elif kind == "response":
            code, low, high = _args(decorator, ("code", "min_version", "max_version"), constants)
            method.codes.append((code, low, high))
        elif kind == "expected_errors":
            errors, low, high = _args(decorator, ("errors", "min_version", "max_version"), constants)
            method.errors.append((errors if isinstance(errors, list) else [errors], low, high))
        elif kind == "action":
            method.action = _args(decorator, ("name",), constants)[0]
        elif kind == "removed":
            method.removed = True
    _read_body(method, node)
    return method


def _read_body(method: Method, node: ast.FunctionDef) -> None:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            for keyword in inner.keywords:
                if keyword.arg in ("status_int", "code", "status") and isinstance(keyword.value, ast.Constant):
                    if isinstance(keyword.value.value, int) and keyword.value.value not in method.body_codes:
                        method.body_codes.append(keyword.value.value)
        if isinstance(inner, ast.Attribute) and inner.attr == "HTTPGone":
            method.raises_gone = True


def _controller_partials(routes: ast.Module) -> dict[str, tuple[tuple[str, str], list[tuple[str, str]]]]:
    found = {}
    for node in routes.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "partial"):
            continue
        main = call.args[1]
        subs = call.args[2].elts if len(call.args) > 2 else []
        name = node.targets[0].id
        found[name] = (_dotted(main), [_dotted(sub) for sub in subs])
    return found


def _dotted(node: ast.expr) -> tuple[str, str]:
    assert isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name), ast.dump(node)
    return (node.value.id, node.attr)


def _route_list(routes: ast.Module) -> list[tuple[str, dict[str, tuple[str, str]] | str]]:
    for node in routes.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "ROUTE_LIST":
            entries = []
            for element in node.value.elts:
                path = element.elts[0].value
                target = element.elts[1]
                if isinstance(target, ast.Constant):
                    entries.append((path, target.value))
                    continue
                methods = {}
                for key, value in zip(target.keys, target.values):
                    methods[key.value] = (value.elts[0].id, value.elts[1].value)
                entries.append((path, methods))
            return entries
    raise LookupError("ROUTE_LIST not found")


def status_codes(method: Method) -> list[tuple[int, str | None, str | None]]:
    """The decorated success status per microversion range (200 when undecorated); 410 for a removed API."""
    if method.removed or (method.raises_gone and not method.codes and _only_gone(method)):
        return [(410, None, None)]
    if method.codes:
        return list(method.codes)
    return [(200, None, None)]


def _only_gone(method: Method) -> bool:
    return all(410 in errors for errors, _, _ in method.errors) if method.errors else True


def route_facts(tree: Tree) -> list[dict[str, Any]]:
    """One record per ROUTE_LIST (path, method), and per action key of every action route."""
    parsed = ast.parse(tree.show(f"{COMPUTE}/routes.py"))
    partials = _controller_partials(parsed)
    source = Source(tree)
    records = []
    for path, methods in _route_list(parsed):
        if isinstance(methods, str):
            records.append({"path": path, "redirect": methods})
            continue
        for http_method, (controller, name) in methods.items():
            (module, cls), subs = partials[controller]
            if name == "action":
                actions = source.actions(module, cls)
                for sub_module, sub_cls in subs:
                    actions |= source.actions(sub_module, sub_cls)
                for key in sorted(actions):
                    records.append(_record(path, http_method, actions[key], key))
            else:
                records.append(_record(path, http_method, source.method(module, cls, name), None))
    return records


def _record(path: str, http_method: str, method: Method, action: str | None) -> dict[str, Any]:
    return {
        "method": http_method,
        "path": path,
        "action": action,
        "name": f"{method.module}.{method.cls}.{method.name}",
        "min_version": method.min_version,
        "max_version": method.max_version,
        "status": [list(code) for code in status_codes(method)],
        "body_status": sorted(method.body_codes),
        "errors": [[codes, low, high] for codes, low, high in method.errors],
        "removed": method.removed,
    }
