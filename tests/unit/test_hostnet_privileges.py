"""The host networking adapter says which capabilities it lacks (a non-root daemon then runs without networking)."""
from __future__ import annotations

from nodecompute.hostnet import privileges

ROOT = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
NET_ADMIN_ONLY = f"CapEff:\t{1 << 12:016x}\n"
NOTHING = "CapEff:\t0000000000000000\n"


def test_missing_capabilities_from_the_status_text():
    assert privileges.missing(ROOT) == []
    assert privileges.missing(NET_ADMIN_ONLY) == ["CAP_SYS_ADMIN"]
    assert privileges.missing(NOTHING) == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]
    assert privileges.missing("Name:\tno caps line\n") == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]


def test_this_process():
    assert privileges.effective_capabilities() >= 0
    assert (privileges.describe_missing() is None) == (privileges.missing() == [])
