"""Copy every XML example of the seed documents, and the JSON examples beside them, into tests/data/xml_seeds/ (the
XML codecs' tests compare with them).

    .venv/bin/python tests/tools/extract_xml_examples.py /work/shared/seeds

An XML example is an indented block whose first line starts with `<` (HP Helion's Markdown, seed 002), or the body
of a `.. code:: xml` directive (Synnefo's reStructuredText, seeds 000 and 001). A JSON example (seed 002 only, where
the XML examples are) is an indented block from a line starting with `{` to the `}` at its indentation. Each seed
with XML examples gets one file, `<seed file name>`, holding the blocks verbatim, each under a
`=== xml|json <first line>-<last line>` header (line numbers of the seed, 1-based), so a test names the seed line
its example comes from. SOURCE records the seeds' digests.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "xml_seeds"
SEEDS = ("000_51abc51f7af56e5b.txt", "001_636c4dba57426fe6.txt", "002_ca5c748a8413901f.txt")
NOT_XML = ("<li", "<ul", "<p>", "</", "<em>")


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t")) and bool(line.strip())


def markdown_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Indented blocks starting with `<`; a blank line inside continues the block when XML follows it."""
    blocks, i = [], 0
    while i < len(lines):
        text = lines[i].strip()
        if _indented(lines[i]) and text.startswith("<") and not text.startswith(NOT_XML):
            end = i
            while end + 1 < len(lines):
                if _indented(lines[end + 1]):
                    end += 1
                elif not lines[end + 1].strip() and end + 2 < len(lines) and _indented(lines[end + 2]) \
                        and lines[end + 2].strip().startswith("<") and not lines[end + 2].strip().startswith("<?"):
                    end += 1
                else:
                    break
            blocks.append((i, end))
            i = end + 1
        else:
            i += 1
    return blocks


def json_blocks(lines: list[str]) -> list[tuple[int, int]]:
    blocks, i = [], 0
    while i < len(lines):
        if _indented(lines[i]) and lines[i].strip().startswith("{") and not lines[i - 1].strip():
            indent = len(lines[i]) - len(lines[i].lstrip())
            end = i
            while end + 1 < len(lines) and not (lines[end].strip() == "}" and end > i
                                                and len(lines[end]) - len(lines[end].lstrip()) <= indent):
                end += 1
            blocks.append((i, end))
            i = end + 1
        else:
            i += 1
    return blocks


def rst_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """The indented body of each `.. code:: xml` directive."""
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() == ".. code:: xml":
            start = i + 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            end = start
            while end + 1 < len(lines) and (lines[end + 1].startswith(" ") or not lines[end + 1].strip()):
                end += 1
            while not lines[end].strip():
                end -= 1
            blocks.append((start, end))
    return blocks


def main(seed_dir: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    source = []
    for name in SEEDS:
        raw = (seed_dir / name).read_bytes()
        lines = raw.decode("utf-8").split("\n")
        blocks = [("xml", b) for b in (rst_blocks(lines) if name < "002" else markdown_blocks(lines))]
        source.append(f"{name} sha256 {hashlib.sha256(raw).hexdigest()}: {len(blocks)} XML examples")
        if not blocks:
            continue
        if name >= "002":
            blocks = sorted(blocks + [("json", b) for b in json_blocks(lines)], key=lambda kb: kb[1])
        parts = [f"=== {kind} {start + 1}-{end + 1}\n" + "\n".join(lines[start:end + 1]) + "\n"
                 for kind, (start, end) in blocks]
        (OUT / name).write_text("".join(parts), encoding="utf-8")
    (OUT / "SOURCE").write_text("written by tests/tools/extract_xml_examples.py from ../shared/seeds\n"
                                + "\n".join(source) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
