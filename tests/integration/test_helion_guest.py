"""Issue 24's real-guest proof, on one test guest created through /helion (TCG, one daemon): the guest reads
/meta.js and a personality file at its own path from its vfat config-2 drive (D65); a SOFT reboot through /helion
is a hard one (the boot counter moves and the boot before it never powered off, D36); the server shows STOPPED in
/helion and SHUTOFF in /compute/v2.1 once stopped (D28). The tests run in file order and share the guest."""
from __future__ import annotations

import base64
import json

import pytest

from tests.integration import guest_channel
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

METADATA = {"role": "helion-web"}
BANNER = b"personality at its own path\n"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon")).start()
    yield d
    d.close()


@pytest.fixture(scope="module")
def admin(daemon) -> Cloud:
    return Cloud(daemon)


def helion(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict | None:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/helion/v2/{cloud.project_id}{path}", json=body,
                              timeout=60)
    assert resp.status_code == status, (method, path, resp.status_code, resp.text)
    return resp.json() if resp.content else None


@pytest.fixture(scope="module")
def guest(admin) -> dict:
    image = admin.import_guest(properties={"nodecompute_test_channel": "yes"})
    body = {"server": {"name": "helion-guest", "imageRef": image, "flavorRef": "42", "config_drive": True,
                       "metadata": METADATA,
                       "personality": [{"path": "/etc/banner.txt", "contents": base64.b64encode(BANNER).decode()}]}}
    server_id = helion(admin, "POST", "/servers", body, 202)["server"]["id"]
    admin.wait_status(server_id, "ACTIVE")
    admin.wait_report(server_id)
    return admin.server(server_id)


def test_the_guest_reads_meta_js_and_a_personality_file_from_its_vfat_drive(admin, daemon, guest):
    report = admin.boots(guest["id"])[-1]
    assert report.value("source=") == "configdrive"
    assert json.loads(base64.b64decode(report.value("metajs "))) == METADATA
    answer = guest_channel.run(admin, daemon, guest, "mkdir -p /tmp/cd && mount -t vfat -o ro LABEL=config-2 "
                                                     "/tmp/cd && cat /tmp/cd/etc/banner.txt && umount /tmp/cd")
    assert answer.rc == 0 and answer.out == [BANNER.decode().strip()]


def test_a_soft_reboot_through_helion_is_hard(admin, guest):
    boots = len(admin.boots(guest["id"]))
    helion(admin, "POST", f"/servers/{guest['id']}/action", {"reboot": {"type": "SOFT"}}, 202)
    admin.wait_report(guest["id"], count=boots + 1)
    reports = admin.boots(guest["id"])
    assert len(reports) == boots + 1
    assert "poweroff" not in reports[boots - 1].lines  # destroyed, never shut down through ACPI
    assert int(reports[-1].value("boot=")) == boots + 1


def test_stopped_is_stopped_in_helion_and_shutoff_in_openstack(admin, guest):
    helion(admin, "POST", f"/servers/{guest['id']}/action", {"os-stop": None}, 202)
    admin.wait_status(guest["id"], "SHUTOFF")
    assert helion(admin, "GET", f"/servers/{guest['id']}")["server"]["status"] == "STOPPED"
