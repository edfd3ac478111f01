"""Record facts about upstream Nova's compute API into tests/data/nova/ (the oracle the API tests compare against).

    .venv/bin/python tests/tools/record_nova.py <path-to-nova-git-dir>

Reads one commit of a Nova git directory (HEAD, through `git show`; no work tree needed) and writes:

- SOURCE        the commit read and when
- samples.json  every doc/api_samples JSON file that can be tied to an operation: (base, method, path, action,
                microversion of its sample directory, request or response) and its key structure only: objects as
                {key: structure}, lists as [structure of the first item], scalars as their JSON type name
- status.json   the success status codes that api-ref gives each operation ("Normal response codes")
- routes.json   Nova's ROUTE_LIST resolved to controller methods with their microversion range and status codes
                (see nova_source.py), plus the API's minimum and maximum microversion

No value of a sample and no line of Nova's code is written: names, key sets, types, codes and versions only.
Paths use api-ref's parameter names (`/servers/{server_id}`); `base` is "/v2.1" except for the unversioned root.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nova_source  # noqa: E402
from sample_map import EXTRA_SAMPLES, SKIPPED_SAMPLES  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "data" / "nova"
SAMPLES = "doc/api_samples/"


class NovaTree:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", self.git_dir, *args], capture_output=True, text=True,
                              check=True).stdout

    def show(self, path: str) -> str:
        return self._git("show", f"HEAD:{path}")

    def files(self, prefix: str) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", "HEAD", prefix).split()

    def commit(self) -> tuple[str, str]:
        commit, date = self._git("log", "-1", "--format=%H %cI").split()
        return commit, date


def key_structure(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: key_structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_structure(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


def sample_version(name: str) -> str:
    directory = re.search(r"/v(2\.\d+)/", name)
    suffix = re.search(r"-v2(\d+)\.json$", name)
    if directory:
        return directory.group(1)
    if suffix:
        return f"2.{suffix.group(1)}"
    return "2.1"


def operation_key(method: str, path: str) -> tuple[str, str]:
    """(base, path) for an api-ref rest_method line."""
    if path == "/":
        return "", "/"
    if path == "/{api_version}/":
        return "/v2.1", "/"
    return "/v2.1", path


_CODES = re.compile(r"(\d{3})(?:\s*\(microversions?\s*(2\.\d+)\s*-\s*(2\.\d+)?\s*\))?")


def parse_codes(text: str) -> list[list[Any]]:
    return [[int(code), low or None, high or None] for code, low, high in _CODES.findall(text)]


def api_ref_sections(tree: NovaTree) -> list[dict[str, Any]]:
    """Each `.. rest_method::` section: method, path, codes and its sample includes with their side."""
    sections = []
    for name in tree.files("api-ref/source/"):
        if not name.endswith(".inc"):
            continue
        lines = tree.show(name).splitlines()
        current: dict[str, Any] | None = None
        side = "request"
        for index, line in enumerate(lines):
            underline = lines[index + 1] if index + 1 < len(lines) else ""
            if re.fullmatch(r"=+", underline.strip() or "x") and line.strip():
                current = None
                title = line.strip()
            elif re.fullmatch(r"-+", underline.strip() or "x") and line.strip() in ("Request", "Response"):
                side = line.strip().lower()
            rest = re.match(r"\.\. rest_method:: (\w+) (\S+)", line)
            if rest:
                base, path = operation_key(rest.group(1), rest.group(2))
                current = {"method": rest.group(1), "base": base, "path": path, "title": title, "codes": [],
                           "includes": [], "file": name}
                sections.append(current)
                side = "request"
            elif current is not None and re.match(r"Normal response codes:", line, re.I):
                current["codes"] = parse_codes(line.split(":", 1)[1])
            elif current is not None and "literalinclude::" in line and SAMPLES[4:] in line:
                sample = line.split("api_samples/", 1)[1].strip()
                current["includes"].append((sample, side))
    return sections


def section_action(tree: NovaTree, section: dict[str, Any]) -> str | None:
    if not section["path"].endswith("/action"):
        return None
    for sample, side in section["includes"]:
        if side == "request":
            body = json.loads(tree.show(SAMPLES + sample))
            return next(iter(body))
    found = re.search(r"\(([\w-]+) Action\)", section["title"])
    return found.group(1) if found else None


def _base_name(sample: str) -> str:
    parts = sample.split("/")
    return f"{parts[0]}/{parts[-1]}"


def sample_operations(tree: NovaTree, sections: list[dict[str, Any]]) -> dict[str, list[tuple]]:
    """Sample file -> its operations [(base, method, path, action, side)]: api-ref's includes (one file can serve
    several operations), else the hand-made table in sample_map.py, else the operations of the same file name in
    another version directory of the same sample folder."""
    direct: dict[str, list[tuple]] = {}
    for section in sections:
        action = section_action(tree, section)
        for sample, side in section["includes"]:
            operation = (section["base"], section["method"], section["path"], action, side)
            if operation not in direct.setdefault(sample, []):
                direct[sample].append(operation)
    by_base: dict[str, list[tuple]] = {}
    for sample, operations in direct.items():
        known = by_base.setdefault(_base_name(sample), [])
        known.extend(operation for operation in operations if operation not in known)
    found = {}
    for name in tree.files(SAMPLES):
        sample = name[len(SAMPLES):]
        if not sample.endswith(".json") or sample in SKIPPED_SAMPLES:
            continue
        if sample in direct:
            found[sample] = direct[sample]
        elif sample in EXTRA_SAMPLES:
            found[sample] = [EXTRA_SAMPLES[sample]]
        elif len(by_base.get(_base_name(sample), ())) == 1:
            found[sample] = by_base[_base_name(sample)]
        else:
            raise LookupError(f"no operation known for sample {sample} ({by_base.get(_base_name(sample))}): "
                              "add it to sample_map.py")
    return found


def record_samples(tree: NovaTree, operations: dict[str, list[tuple]]) -> list[dict[str, Any]]:
    records = []
    for sample, targets in operations.items():
        keys = key_structure(json.loads(tree.show(SAMPLES + sample)))
        for base, method, path, action, side in targets:
            records.append({"base": base, "method": method, "path": path, "action": action,
                            "version": sample_version("/" + sample), "side": side, "file": sample, "keys": keys})
    return sorted(records, key=lambda r: (r["base"], r["path"], r["method"], r["action"] or "",
                                          [int(p) for p in r["version"].split(".")], r["side"], r["file"]))


def record_status(tree: NovaTree, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    records = []
    for section in sections:
        records.append({"base": section["base"], "method": section["method"], "path": section["path"],
                        "action": section_action(tree, section), "codes": section["codes"],
                        "title": section["title"], "api_ref": section["file"].rsplit("/", 1)[1]})
    return sorted(records, key=lambda r: (r["base"], r["path"], r["method"], r["action"] or "", r["title"]))


def _lines(records: list[dict[str, Any]]) -> str:
    """A JSON list with one record a line: small, and a new Nova commit shows as a readable diff."""
    return "[\n" + ",\n".join(json.dumps(record, sort_keys=True) for record in records) + "\n]"


def write(name: str, data: Any) -> None:
    if isinstance(data, list):
        text = _lines(data)
    else:
        text = "{\n" + ",\n".join(f"{json.dumps(key)}: {_lines(value) if key == 'routes' else json.dumps(value)}"
                                  for key, value in sorted(data.items())) + "\n}"
    (OUT / name).write_text(text + "\n")
    print(f"{name}: {len(data) if isinstance(data, list) else len(data['routes'])}")


def main(git_dir: str) -> None:
    tree = NovaTree(git_dir)
    commit, date = tree.commit()
    OUT.mkdir(parents=True, exist_ok=True)
    sections = api_ref_sections(tree)
    write("samples.json", record_samples(tree, sample_operations(tree, sections)))
    write("status.json", record_status(tree, sections))
    versions = nova_source.version_facts(tree)
    routes = [r for r in nova_source.route_facts(tree) if "redirect" not in r]
    write("routes.json", {"min_version": versions["min"], "max_version": versions["max"],
                          "versions": versions["history"], "routes": routes})
    (OUT / "SOURCE").write_text(
        f"openstack/nova {commit}\ncommitted {date}\n"
        "read by tests/tools/record_nova.py: routes.py ROUTE_LIST and its controllers' decorators,\n"
        "api_version_request.py, api-ref/source/*.inc (rest_method, normal response codes, sample includes),\n"
        "doc/api_samples/**.json (key structure and value types only)\n")
    print(f"SOURCE: {commit}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
