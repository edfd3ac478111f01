"""Helion's servers through /helion on the libvirt test driver (issue 24 slice 3; dialects.md D10, D21-D28, D33):
the create answer, names, STOPPED, config_drive, serial ids in paths, and the same server through both dialects."""
from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.keys import identity_key, servers_key
from nodecompute.domain import states
from tests.api.helpers import assert_fault
from tests.api.test_servers_api import _insert, _project_id, api, image_id, servers_api  # noqa: F401 (fixtures)

XML_IN = {"Content-Type": "application/xml"}
PUBLIC_URL = "http://internal.example:8774"


@pytest.fixture
def cfg(cfg):
    """A configured public URL, which the create's Location does not use (section 6: the request's host)."""
    return dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, public_url=PUBLIC_URL))
XML_OUT = {"Accept": "application/xml"}


@pytest.fixture
async def member(api, make_user):  # noqa: F811
    token = await make_user("proj-a", "member")
    project = api.client.server.app[identity_key].validate(token).project_id

    def call(method: str, path: str, headers: dict | None = None, **kw):
        return api.client.request(method, f"/helion/v2/{project}{path}",
                                  headers={"X-Auth-Token": token, **(headers or {})}, **kw)
    call.token, call.project = token, project
    return call


async def _names(member) -> list[str]:
    resp = await member("GET", "/servers")
    return sorted(s["name"] for s in (await resp.json())["servers"])


async def test_create_answer_and_location(member, image_id):  # noqa: F811
    """Seed 002, Create Server (JSON): 202, {id, links, adminPass, security_groups}, Location on the request's
    host; password and accessIPv4/6 are ignored (D22)."""
    body = {"server": {"name": "web1", "imageRef": image_id, "flavorRef": "42", "password": "ignored",
                       "accessIPv4": "not-an-address", "accessIPv6": "x"}}
    resp = await member("POST", "/servers", headers={"Host": "helion.example:8774"}, json=body)
    assert resp.status == 202, await resp.text()
    server = (await resp.json())["server"]
    assert set(server) == {"id", "links", "adminPass", "security_groups"}
    location = urlsplit(resp.headers["Location"])
    assert location.netloc == "helion.example:8774" and server["links"][0]["href"].startswith(PUBLIC_URL)
    assert location.path == f"/helion/v2/{member.project}/servers/{server['id']}"
    shown = (await (await member("GET", f"/servers/{server['id']}")).json())["server"]
    assert shown["accessIPv4"] == "" and shown["name"] == "web1"


async def test_names_need_a_letter_and_are_unique(member, image_id):  # noqa: F811
    body = {"server": {"name": "1234", "imageRef": image_id, "flavorRef": "42"}}
    await assert_fault(await member("POST", "/servers", json=body), 400, "badRequest", "letter")
    body["server"]["name"] = "twin"
    assert (await member("POST", "/servers", json=body)).status == 202
    await assert_fault(await member("POST", "/servers", json=body), 409, "conflictingRequest")
    assert await _names(member) == ["twin"]
    body["server"].update(name="many", min_count=3)
    assert (await member("POST", "/servers", json=body)).status == 202
    assert await _names(member) == ["many-1", "many-2", "many-3", "twin"]


async def test_unknown_security_group_by_name(member, image_id):  # noqa: F811
    body = {"server": {"name": "sg", "imageRef": image_id, "flavorRef": "42", "security_groups": [{"name": "nope"}]}}
    await assert_fault(await member("POST", "/servers", json=body), 400, "badRequest",
                       "Unable to find security_group with name 'nope'")
    assert await _names(member) == []


async def test_xml_create_shows_in_the_openstack_dialect(api, member, image_id):  # noqa: F811
    """Seed 002, Create Server (XML): an XML create through /helion is the same server in /compute/v2.1."""
    body = (f'<server xmlns="http://docs.openstack.org/compute/api/v2" name="xml-made" imageRef="{image_id}" '
            f'flavorRef="42"><metadata><meta key="role">web</meta></metadata></server>').encode()
    resp = await member("POST", "/servers", {**XML_IN, **XML_OUT}, data=body)
    assert resp.status == 202, await resp.text()
    root = ET.fromstring(await resp.read())
    created = xml_helion.read_back(ET.tostring(root), "server_created")["server"]
    assert set(created) == {"id", "links", "adminPass", "security_groups"}
    shown = await api.get(f"/servers/{created['id']}", member.token)
    assert shown.status == 200
    server = (await shown.json())["server"]
    assert server["name"] == "xml-made" and server["metadata"] == {"role": "web"}
    made = await api.post("/servers", member.token, json={"server": {"name": "os-made", "imageRef": image_id,
                                                                     "flavorRef": "42"}})
    uuid = (await made.json())["server"]["id"]
    back = await member("GET", f"/servers/{uuid}.xml")
    assert xml_helion.read_back(await back.read())["server"]["id"] == uuid


async def test_stopped_config_drive_and_serial_paths(api, member):  # noqa: F811
    server = await _insert(api, member.project, name="halted", vm_state=states.STOPPED, power_state=states.SHUTDOWN)
    helion = (await (await member("GET", f"/servers/{server.uuid}")).json())["server"]
    openstack = (await (await api.get(f"/servers/{server.uuid}", member.token)).json())["server"]
    assert (helion["status"], openstack["status"]) == ("STOPPED", "SHUTOFF")
    assert (helion["config_drive"], openstack["config_drive"]) == ("true", "True")
    assert helion["OS-EXT-STS:vm_state"] == "stopped"
    detail = (await (await member("GET", "/servers/detail")).json())["servers"]
    assert [s["status"] for s in detail] == ["STOPPED"]
    as_xml = await member("GET", f"/servers/{server.uuid}.xml")
    assert xml_helion.read_back(await as_xml.read()) == {"server": helion}  # seed 002 line 1817, XML
    root = ET.fromstring(await (await member("GET", f"/servers/{server.uuid}", XML_OUT)).read())
    assert (root.get("userId"), root.get("tenantId"), root.get("status")) == ("u-1", member.project, "STOPPED")
    by_serial = await member("GET", f"/servers/{server.serial}")
    assert by_serial.status == 200 and (await by_serial.json())["server"]["id"] == server.uuid
    await assert_fault(await member("GET", "/servers/999999"), 404, "itemNotFound")


async def test_volume_attachments_are_json_only(api, member):  # noqa: F811
    server = await _insert(api, member.project)
    resp = await member("POST", f"/servers/{server.uuid}/os-volume_attachments", XML_IN,
                        data=b'<volumeAttachment volumeId="v" device="auto"/>')
    await assert_fault(resp, 415, "badMediaType")


async def test_config_drive_is_vfat_with_meta_js_and_personality(api, member, image_id):  # noqa: F811
    """D65 (seed 002 line 4466, Create With Config Drive): a vfat drive labelled config-2 holding /meta.js and each
    personality file at its own path, beside Nova's tree."""
    body = {"server": {"name": "drive", "imageRef": image_id, "flavorRef": "42", "config_drive": True,
                       "metadata": {"role": "web"},
                       "personality": [{"path": "/etc/banner.txt", "contents": base64.b64encode(b"hi").decode()}]}}
    resp = await member("POST", "/servers", json=body)
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    service = api.client.server.app[servers_key]
    await service.wait_idle()
    drive = service.guests.instance_dir(server_id) / "disk.config"
    assert drive.stat().st_size == 64 << 20
    with open(drive, "rb") as f:
        boot = f.read(512)
    assert b"config-2" in boot.lower() and b"FAT" in boot  # the boot sector's label and file system type

    def mtype(path: str) -> bytes:
        return subprocess.run(["mtype", "-i", str(drive), f"::/{path}"], check=True, capture_output=True).stdout
    assert json.loads(mtype("meta.js")) == {"role": "web"}
    assert mtype("etc/banner.txt") == b"hi"
    assert json.loads(mtype("openstack/latest/meta_data.json"))["uuid"] == server_id
    shown = (await (await member("GET", f"/servers/{server_id}")).json())["server"]
    assert shown["config_drive"] == "true"


async def test_hints_in_json_and_xml(member, image_id):  # noqa: F811
    """Seed 002 line 5990 (Create Server With Hints): hints under OS-SCH-HNT:scheduler_hints (also os:), JSON and
    XML; an XML element in the hints namespace."""
    for name, key in (("hinted-1", "OS-SCH-HNT:scheduler_hints"), ("hinted-2", "os:scheduler_hints")):
        body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "42"}, key: {"near": "x"}}
        resp = await member("POST", "/servers", json=body)
        assert resp.status == 202, (key, await resp.text())
    xml = (f'<server xmlns="http://docs.openstack.org/compute/api/v1.1" '
           f'xmlns:OS-SCH-HNT="http://docs.openstack.org/compute/ext/scheduler-hints/api/v2" name="hinted-3" '
           f'imageRef="{image_id}" flavorRef="42"><OS-SCH-HNT:scheduler_hints><near>x</near>'
           f'</OS-SCH-HNT:scheduler_hints></server>').encode()
    resp = await member("POST", "/servers", XML_IN, data=xml)
    assert resp.status == 202, await resp.text()
    assert set((await resp.json())["server"]) == {"id", "links", "adminPass", "security_groups"}
    assert await _names(member) == ["hinted-1", "hinted-2", "hinted-3"]


async def test_a_rename_follows_the_name_rules(api, member):  # noqa: F811
    one = await _insert(api, member.project, name="one")
    await _insert(api, member.project, name="two")
    await assert_fault(await member("PUT", f"/servers/{one.uuid}", json={"server": {"name": "two"}}), 409,
                       "conflictingRequest")
    await assert_fault(await member("PUT", f"/servers/{one.uuid}", json={"server": {"name": "42"}}), 400,
                       "badRequest")
    resp = await member("PUT", f"/servers/{one.uuid}", json={"server": {"name": "one"}})
    assert resp.status == 200 and (await resp.json())["server"]["name"] == "one"
    resp = await member("PUT", f"/servers/{one.serial}", json={"server": {"name": "uno"}})
    assert resp.status == 200 and (await resp.json())["server"]["status"] == "ACTIVE"
    assert await _names(member) == ["two", "uno"]


async def test_the_vfat_drive_stays_vfat_and_current_after_rebuild_and_in_rescue(api, member, image_id):  # noqa: F811
    """D65 after a rebuild (seed 002 line 2609: new metadata and personality) and in rescue: the drive the daemon
    writes is again the vfat one, its /meta.js and personality files the server's as they are now; an openstack
    server's ISO drive stays ISO."""
    from nodecompute.compute.rescue import RESCUE_DRIVE
    from nodecompute.db import servers as servers_db
    from nodecompute.storage import configdrive

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()
    body = {"server": {"name": "redrive", "imageRef": image_id, "flavorRef": "42", "config_drive": True,
                       "metadata": {"role": "web"},
                       "personality": [{"path": "/etc/banner.txt", "contents": b64(b"hi")}]}}
    resp = await member("POST", "/servers", json=body)
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    service = api.client.server.app[servers_key]
    await service.wait_idle()
    rebuild = {"rebuild": {"imageRef": image_id, "metadata": {"role": "db"},
                           "personality": [{"path": "/etc/motd", "contents": b64(b"rebuilt")}]}}
    resp = await member("POST", f"/servers/{server_id}/action", json=rebuild)
    assert resp.status == 202, await resp.text()
    await service.wait_idle()
    inst = service.guests.instance_dir(server_id)

    def mtype(drive, path: str) -> bytes:
        return subprocess.run(["mtype", "-i", str(drive), f"::/{path}"], check=True, capture_output=True).stdout
    drive = inst / "disk.config"
    assert configdrive.is_vfat(drive) and drive.stat().st_size == 64 << 20
    assert json.loads(mtype(drive, "meta.js")) == {"role": "db"} and mtype(drive, "etc/motd") == b"rebuilt"
    assert (await (await member("GET", f"/servers/{server_id}")).json())["server"]["status"] == "ACTIVE"

    resp = await member("POST", f"/servers/{server_id}/action", json={"rescue": None})
    assert resp.status == 200, await resp.text()
    await service.wait_idle()
    rescue_drive = inst / RESCUE_DRIVE
    assert configdrive.is_vfat(rescue_drive) and json.loads(mtype(rescue_drive, "meta.js")) == {"role": "db"}
    instance_name = service.store.read(servers_db.get_server, server_id).instance_name
    domain = ET.fromstring(await service.guests.hv.live_xml(instance_name))
    drive_disk = next(d for d in domain.iter("disk") if d.find("source").get("file") == str(rescue_drive))
    assert drive_disk.get("device") == "disk"  # a vfat drive is a disk, not a cdrom, in rescue too
