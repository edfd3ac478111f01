"""What a failed real-guest test leaves for its reader: each open daemon's log and config, its domains' XML
(persistent and live) and QEMU logs, and its guests' console logs, copied under the pytest basetemp
(`<basetemp>/artifacts/<test>/<daemon data dir name>/...`). The session's basetemp is kept when a test failed
(pyproject: tmp_path_retention_policy = "failed"), so the copies outlive the daemons' own cleanup."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path

from bench.daemon_util import Daemon


def artifact_dir(basetemp: Path, nodeid: str) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[-120:]
    return basetemp / "artifacts" / name


def keep_artifacts(daemons: Iterable[Daemon], dest: Path) -> list[Path]:
    """Copy every daemon's artifacts under `dest`; returns the copies."""
    copied = []
    for daemon in daemons:
        target = dest / daemon.data_dir.name
        for path in daemon.artifacts():
            root = daemon.libvirt_root if path.is_relative_to(daemon.libvirt_root) else daemon.data_dir
            copy = target / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, copy)
            except OSError:  # gone meanwhile (a domain undefined, a log rotated)
                continue
            copied.append(copy)
    return copied
