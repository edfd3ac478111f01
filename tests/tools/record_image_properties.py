"""Record the image property names Nova shows in a server's embedded image (microversion 2.98) as data:
nodecompute/compute/data/nova_image_properties.json, read by nodecompute/compute/image_properties.py.

    .venv/bin/python tests/tools/record_image_properties.py <path-to-nova-git-dir>

Nova shows the image properties it copied into the server at create (`image_` system metadata) whose names are
fields of its ImageMetaProps object or legacy names of them (`_legacy_property_map`), and skips a few it never
copies (nova/utils.py SM_SKIP_KEYS). This script reads those names from one commit (HEAD, through `git show`) with
`ast`: the keys of the two dict literals of class ImageMetaProps in nova/objects/image_meta.py and the tuple
SM_SKIP_KEYS of nova/utils.py. Names only; no line of Nova's code is written.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "nodecompute" / "compute" / "data" / "nova_image_properties.json"


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, text=True, check=True).stdout


def _assigned(body: list[ast.stmt], name: str) -> ast.expr:
    for node in body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [name]:
            return node.value
    raise LookupError(name)


def main(git_dir: str) -> None:
    commit, date = git(git_dir, "log", "-1", "--format=%H %cI", "HEAD").split()
    module = ast.parse(git(git_dir, "show", "HEAD:nova/objects/image_meta.py"))
    props = next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "ImageMetaProps")
    fields = [ast.literal_eval(key) for key in _assigned(props.body, "fields").keys]
    legacy = [ast.literal_eval(key) for key in _assigned(props.body, "_legacy_property_map").keys]
    skipped = ast.literal_eval(_assigned(ast.parse(git(git_dir, "show", "HEAD:nova/utils.py")).body, "SM_SKIP_KEYS"))
    record = {"source": {"nova": commit, "committed": date, "how": "tests/tools/record_image_properties.py"},
              "fields": sorted(fields), "legacy_names": sorted(legacy), "never_copied": sorted(skipped)}
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{OUT}: {len(fields)} fields, {len(legacy)} legacy names from nova {commit[:10]}")


if __name__ == "__main__":
    main(sys.argv[1])
