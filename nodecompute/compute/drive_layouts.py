"""The files a config drive layout adds beside Nova's tree, from the server as it stands (its metadata and
personality files), so that a create, a rebuild and a rescue write the same drive (db/server_drives.py).

- `meta.js` (Helion, dialects.md D65): `/meta.js`, the server's metadata as JSON, and each personality file at its
  own path.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from nodecompute.domain.server_models import InjectedFileSpec

META_JS = "meta.js"


def extra_files(layout: str | None, metadata: Mapping[str, str],
                files: Iterable[InjectedFileSpec]) -> tuple[tuple[str, bytes], ...]:
    if layout != META_JS:
        return ()
    return (("meta.js", json.dumps(dict(metadata)).encode()), *((spec.path, spec.contents) for spec in files))
