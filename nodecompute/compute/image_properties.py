"""The image properties a server keeps from its image (Nova's `image_` system metadata) and the ones it shows in
its embedded image from microversion 2.98.

At create Nova copies every image property but a few (SM_SKIP_KEYS) as text cut to 255 bytes; its view shows
those whose names are fields of its ImageMetaProps object or their legacy names. The names are data:
data/nova_image_properties.json, recorded from Nova by tests/tools/record_image_properties.py.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "nova_image_properties.json"
MAX_VALUE_BYTES = 255


@cache
def _names() -> tuple[frozenset[str], frozenset[str]]:
    record = json.loads(DATA.read_text())
    return frozenset(record["fields"]) | frozenset(record["legacy_names"]), frozenset(record["never_copied"])


def _truncated(text: str) -> str:
    """oslo's safe_truncate: at most 255 bytes of UTF-8, never half a character."""
    return text.encode()[:MAX_VALUE_BYTES].decode(errors="ignore")


def copied(properties: dict[str, Any]) -> dict[str, str]:
    """What a server keeps of its image's properties at create."""
    skipped = _names()[1]
    return {key: _truncated(str(value)) for key, value in properties.items() if key not in skipped}


def shown(kept: dict[str, str]) -> dict[str, str]:
    """The kept properties a server's embedded image shows (2.98): Nova's standard names only."""
    known = _names()[0]
    return {key: value for key, value in kept.items() if key in known and value is not None}
