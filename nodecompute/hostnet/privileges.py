"""Whether this process may do what the adapter does: make bridges, veths and addresses (CAP_NET_ADMIN) and make and
enter network namespaces (CAP_SYS_ADMIN: unshare, setns and the bind mount under /run/netns)."""
from __future__ import annotations

import os
from pathlib import Path

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
NEEDED = {"CAP_NET_ADMIN": CAP_NET_ADMIN, "CAP_SYS_ADMIN": CAP_SYS_ADMIN}


def effective_capabilities(status: str | None = None) -> int:
    """The CapEff mask of this process (from /proc/self/status, or `status` text)."""
    text = status if status is not None else Path("/proc/self/status").read_text()
    for line in text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def missing(status: str | None = None) -> list[str]:
    """The capabilities the adapter needs and this process lacks (empty: it may run)."""
    mask = effective_capabilities(status)
    return [name for name, bit in NEEDED.items() if not mask & (1 << bit)]


def describe_missing() -> str | None:
    lacking = missing()
    if not lacking:
        return None
    return (f"host networking needs root or the capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN (bridges, network "
            f"namespaces); this process (uid {os.geteuid()}) lacks {' and '.join(lacking)}")
