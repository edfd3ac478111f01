"""A data directory deeper than 100 bytes: the VNC display sockets cannot fit under it (a UNIX socket path has at
most 107 bytes), so the daemon keeps them in its short runtime directory, private as ever, and a real guest's
display answers there. (The libvirt embed root stays short: the Daemon fixture puts it under /tmp.)"""
from __future__ import annotations

import socket
import stat

import pytest

from nodecompute.virt import displays
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def deep_daemon(tmp_path_factory):
    base = tmp_path_factory.mktemp("deep")
    data_dir = base / ("d" * (110 - len(str(base))))
    data_dir.mkdir()
    daemon = Daemon(data_dir)
    try:
        yield daemon.start()
    finally:
        daemon.close()  # the runtime display directory too


def test_guest_display_in_the_runtime_directory(deep_daemon):
    daemon = deep_daemon
    assert len(str(daemon.data_dir)) > 100
    expected_dir = displays.runtime_dir(daemon.data_dir)
    assert f"VNC displays are UNIX sockets in {expected_dir}" in daemon.log_tail(200)
    assert stat.S_IMODE(expected_dir.stat().st_mode) == 0o700
    assert not (daemon.data_dir / "vnc").exists()

    cloud = Cloud(daemon)
    image_id = cloud.import_guest()
    server_id = cloud.create_server(name="deep", imageRef=image_id, flavorRef="42")["server"]["id"]
    cloud.wait_status(server_id, "ACTIVE")
    path = expected_dir / f"{server_id}.sock"
    assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o600
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(path))
        assert client.recv(12) == b"RFB 003.008\n"

    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    assert not path.exists()
