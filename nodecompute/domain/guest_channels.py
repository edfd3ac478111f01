"""The virtio-serial channels a server's domain may carry, chosen by its image's properties.

- `org.nodecompute.test.0`, for images with `nodecompute_test_channel=yes`: the test guest's command channel
  (images/README.md "Commands at run time"); QEMU listens on a UNIX socket of the daemon's (virt/displays.py).
- `org.qemu.guest_agent.0`, for images with `hw_qemu_guest_agent=yes` (Nova's property): the QEMU guest agent's
  port; libvirt makes its socket and talks to the agent itself.
"""
from __future__ import annotations

from collections.abc import Mapping

TEST_CHANNEL = "org.nodecompute.test.0"
AGENT_CHANNEL = "org.qemu.guest_agent.0"
_PROPERTIES = (("nodecompute_test_channel", TEST_CHANNEL), ("hw_qemu_guest_agent", AGENT_CHANNEL))
_YES = ("yes", "true", "1", "on", "y", "t")  # oslo's strutils, as Nova reads hw_qemu_guest_agent


def channels_for(image_properties: Mapping[str, str]) -> tuple[str, ...]:
    """The channel names an image asks for, in a fixed order."""
    return tuple(name for prop, name in _PROPERTIES if str(image_properties.get(prop, "")).strip().lower() in _YES)
