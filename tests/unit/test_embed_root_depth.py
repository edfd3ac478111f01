"""A data directory too deep for the embedded driver's sockets stops the daemon with the cause, before libvirt's
capability probe fails and reports only "no hvm guest" (virt/embed.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodecompute.virt.embed import PROBE_SOCKET_TAIL, SOCKET_PATH_MAX, root_too_deep
from nodecompute.virt.errors import HypervisorError
from nodecompute.virt.hypervisor import Hypervisor


def test_the_probe_socket_decides():
    fits = Path("/" + "d" * (SOCKET_PATH_MAX - len(PROBE_SOCKET_TAIL) - 1))
    assert root_too_deep(fits) is None and root_too_deep(Path("/var/lib/nodecompute/libvirt")) is None
    deeper = fits / "x"
    message = root_too_deep(deeper)
    assert message is not None and str(deeper) in message and f"at most {SOCKET_PATH_MAX}" in message


async def test_open_refuses_before_touching_the_root(tmp_path):
    root = tmp_path / ("deep" * 30) / "libvirt"
    hypervisor = Hypervisor(f"qemu:///embed?root={root}", virt_type="auto")
    with pytest.raises(HypervisorError, match="too deep"):
        await hypervisor.open()
    assert not root.exists()
    await hypervisor.close()
