"""Record Nova's registry of known flavor extra specs (microversion 2.86) as data: nodecompute/compute/data/
nova_extra_specs.json, read by nodecompute/compute/extra_spec_registry.py.

    PYTHONPATH=<dir with os_traits and os_resource_classes> .venv/bin/python tests/tools/record_extra_specs.py \
        <path-to-nova-git-dir>

(the two libraries are the ones Nova's requirements name; e.g. `pip install --target /tmp/gen os-traits
os-resource-classes`; they are not dependencies of nodecompute.)

Nova builds its registry at import time: each module named under the `nova.api.extra_spec_validators` entry point
of its pyproject.toml returns `ExtraSpecValidator`s (a name that may hold `{parameter}` placeholders, the
parameters' regexes, and the value's type with its enum, pattern, min or max), some of them generated from
os-traits and os-resource-classes. This script runs those modules of one commit (HEAD, through `git show`) with a
recorder in place of Nova's ExtraSpecValidator and of nova.objects.fields (its enum classes are read from
nova/objects/fields.py), and writes the facts only: names, parameters and value rules, in Nova's order (the order
its linear search tries the patterns; a name registered twice keeps its first place and its last rules, as
Nova's dict does). No description and no line of Nova's code is written.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "nodecompute" / "compute" / "data" / "nova_extra_specs.json"
ENTRY_POINT = '[project.entry-points."nova.api.extra_spec_validators"]'
TYPES = {int: "int", str: "str", bool: "bool"}


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, text=True, check=True).stdout


def validator_modules(pyproject: str) -> list[str]:
    """The modules of the entry point, in the order pyproject.toml lists them."""
    section = pyproject.split(ENTRY_POINT, 1)[1].split("\n[", 1)[0]
    return [line.split("=", 1)[1].strip().strip('"') for line in section.splitlines() if "=" in line]


def recorder() -> types.ModuleType:
    """Stands for nova.api.validation.extra_specs.base: keeps what each validator says, checks nothing."""
    module = types.ModuleType("base")

    class ExtraSpecValidator:
        def __init__(self, name, description, value, deprecated=False, parameters=None):
            self.name, self.value, self.parameters = name, value, list(parameters or [])

    module.ExtraSpecValidator = ExtraSpecValidator  # type: ignore[attr-defined]
    return module


def enum_fields(source: str) -> types.ModuleType:
    """Stands for nova.objects.fields: its enum classes (constants and ALL), run with a plain base class."""
    module = types.ModuleType("fields")
    namespace: dict = {"BaseNovaEnum": object, "__name__": "fields"}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and [ast.unparse(base) for base in node.bases] == ["BaseNovaEnum"]:
            try:
                exec(compile(ast.Module([node], []), "fields.py", "exec"), namespace)  # noqa: S102 (facts only)
            except NameError:  # built from other libraries (os-vif, ...): the validators use none of these
                continue
            setattr(module, node.name, namespace[node.name])
    return module


def run_module(name: str, source: str, stubs: dict[str, types.ModuleType]) -> list:
    module = types.ModuleType(name)
    saved = {key: sys.modules.get(key) for key in stubs}
    sys.modules.update(stubs)
    try:
        exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    return module.register()


def value_rules(value: dict) -> dict:
    rules = {"type": TYPES[value["type"]]}
    for key in ("enum", "pattern", "min", "max"):
        if key in value:
            rules[key] = list(value[key]) if key == "enum" else value[key]
    return rules


def main(git_dir: str) -> None:
    commit, date = git(git_dir, "log", "-1", "--format=%H %cI", "HEAD").split()
    base = recorder()
    package = types.ModuleType("nova.api.validation.extra_specs")
    package.base = base  # type: ignore[attr-defined]
    objects = types.ModuleType("nova.objects")
    objects.fields = enum_fields(git(git_dir, "show", "HEAD:nova/objects/fields.py"))  # type: ignore[attr-defined]
    stubs = {"nova": types.ModuleType("nova"), "nova.api": types.ModuleType("nova.api"),
             "nova.api.validation": types.ModuleType("nova.api.validation"),
             "nova.api.validation.extra_specs": package, "nova.api.validation.extra_specs.base": base,
             "nova.objects": objects, "nova.objects.fields": objects.fields}
    registry: dict[str, dict] = {}  # Nova's VALIDATORS: a later validator of the same name replaces the earlier
    for name in validator_modules(git(git_dir, "show", "HEAD:pyproject.toml")):
        path = name.replace(".", "/") + ".py"
        for found in run_module(name, git(git_dir, "show", f"HEAD:{path}"), stubs):
            entry = {"name": found.name, "value": value_rules(found.value)}
            if found.parameters:
                entry["parameters"] = [{"name": p["name"], "pattern": p["pattern"]} for p in found.parameters]
            registry[found.name] = entry
    validators = list(registry.values())
    record = {
        "source": {"nova": commit, "committed": date, "os-traits": metadata.version("os-traits"),
                   "os-resource-classes": metadata.version("os-resource-classes"),
                   "how": "tests/tools/record_extra_specs.py"},
        "validators": validators,
    }
    lines = ",\n".join(json.dumps(v, sort_keys=True) for v in validators)
    head = json.dumps(record["source"], sort_keys=True)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(f'{{"source": {head},\n"validators": [\n{lines}\n]}}\n')
    print(f"{OUT}: {len(validators)} validators from nova {commit[:10]}")
    assert json.loads(OUT.read_text()) == record
    assert all(re.compile(v["name"]) for v in validators if "{" not in v["name"])


if __name__ == "__main__":
    main(sys.argv[1])
