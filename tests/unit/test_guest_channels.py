"""Which virtio-serial channels an image's properties ask for (domain/guest_channels.py), and where the test
channel's socket goes (virt/displays.py: beside the display's, within the UNIX path limit)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodecompute.domain.guest_channels import AGENT_CHANNEL, TEST_CHANNEL, channels_for
from nodecompute.virt import displays

UUID = "6a3f1c2e-0d4b-4c43-9f7e-3c1d2b9a8e11"


@pytest.mark.parametrize("properties, channels", [
    ({}, ()),
    ({"nodecompute_test_channel": "yes"}, (TEST_CHANNEL,)),
    ({"hw_qemu_guest_agent": "True"}, (AGENT_CHANNEL,)),
    ({"hw_qemu_guest_agent": "yes", "nodecompute_test_channel": " YES "}, (TEST_CHANNEL, AGENT_CHANNEL)),
    ({"nodecompute_test_channel": "no", "hw_qemu_guest_agent": "false"}, ()),
    ({"nodecompute_test_channel": "maybe"}, ()),
])
def test_channels_follow_the_image_properties(properties, channels):
    assert channels_for(properties) == channels


def test_the_channel_socket_fits_wherever_the_display_socket_fits():
    assert len(displays.CHANNEL_SUFFIX) <= len(displays.SOCKET_SUFFIX)
    deepest = Path("/" + "d" * (displays.MAX_SOCKET_PATH - 1 - 36 - len(displays.SOCKET_SUFFIX) - 1))
    assert displays.fits(deepest)
    assert len(str(displays.channel_path(deepest, UUID))) <= displays.MAX_SOCKET_PATH
    assert displays.channel_path(Path("/run/x"), UUID) == Path(f"/run/x/{UUID}.chan")
