"""Cyclades servers (dialects.md D10, D11, D18-D21, D25-D31, D33, D66, D67) on libvirt's test driver: each test
names the seed 000 example it checks, creates what it reads, and checks the ?xml answer reads back as the JSON one.
A server made in one dialect is the same server in the other."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pycdlib
import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.keys import clock_key, identity_key, images_key, quotas_key, servers_key
from nodecompute.app import store_key
from nodecompute.compute import placement
from nodecompute.db import identity as identity_db
from nodecompute.db import public_serials
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import isotime
from tests.api.cyclades_fixtures import Cyc, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, assert_fault, upload_raw_image

# seed 000 lines 263-350: the keys of a detailed server (the example's, plus D25's `deleted`)
DETAIL_KEYS = {"addresses", "attachments", "links", "image", "suspended", "flavor", "id", "security_groups",
               "user_id", "accessIPv4", "accessIPv6", "progress", "config_drive", "status", "updated", "hostId",
               "SNF:fqdn", "key_name", "SNF:key_names", "name", "created", "tenant_id", "SNF:port_forwarding",
               "SNF:task_state", "diagnostics", "metadata", "deleted"}


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


@pytest.fixture
async def cyc(api) -> Cyc:
    return Cyc(api, await api.token("admin", "admin-secret", "admin"))


@pytest.fixture
async def image(api, cyc) -> str:
    return await upload_raw_image(api.client.server.app, cyc.token)


async def _idle(api: Api) -> None:
    await api.client.server.app[servers_key].wait_idle()


async def _create(cyc: Cyc, image: str, name: str = "My Example Server") -> dict:
    body = await cyc.ok("POST", "/servers", json={"server": {"name": name, "imageRef": image, "flavorRef": 1,
                                                             "networks": []}})
    return body["server"]


async def _same_in_xml(cyc: Cyc, path: str, body: dict) -> None:
    resp = await cyc.get(path + ("&xml" if "?" in path else "?xml"))
    assert resp.status == 200 and resp.content_type == "application/xml"
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(body)


async def test_create_answers_200_with_the_full_server(api, cyc, image):
    # seed 000 lines 614-632 (Example Create Server Response: 200, status BUILD, progress 0, adminPass) and D21
    server = await _create(cyc, image)
    assert set(server) == DETAIL_KEYS | {"adminPass"}
    assert server["status"] == "BUILD" and server["progress"] == 0 and server["name"] == "My Example Server"
    row = api.client.server.app[store_key].read(servers_db.get_server, _uuid(api, server["id"]))
    assert server["id"] == str(row.serial) and isinstance(server["flavor"]["id"], int)
    assert server["created"] == row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"
    assert (server["hostId"], server["accessIPv4"], server["accessIPv6"], server["config_drive"]) == ("",) * 4
    assert server["SNF:fqdn"] == f"snf-{row.serial}.vm.nodecompute.local"


def _uuid(api: Api, serial: str) -> str:
    return api.client.server.app[store_key].read(public_serials.server_by_serial, int(serial))[0]


async def test_list_and_detail_examples(api, cyc, image):
    # seed 000 lines 228-254 (Example List Servers: JSON (regular)) and 256-480 (detail)
    server = await _create(cyc, image, "My Server")
    await _idle(api)
    brief = await cyc.ok("GET", "/servers")
    href = f"{ROOT_URL(api)}/servers/{server['id']}"
    assert brief["servers"] == [{"id": server["id"], "name": "My Server",
                                 "links": [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}]}]
    await _same_in_xml(cyc, "/servers", brief)
    detail = await cyc.ok("GET", "/servers/detail")
    [shown] = detail["servers"]
    assert set(shown) == DETAIL_KEYS
    assert shown["status"] == "ACTIVE" and shown["progress"] == 100 and shown["SNF:task_state"] == ""
    assert shown["image"]["links"][2] == {"href": f"{api.client.make_url('/cyclades/image/v1.0/images/')}{image}",
                                          "rel": "alternate"}
    await _same_in_xml(cyc, "/servers/detail", detail)
    show = await cyc.ok("GET", f"/servers/{server['id']}")
    assert show["server"] == shown
    await _same_in_xml(cyc, f"/servers/{server['id']}", show)


def ROOT_URL(api: Api) -> str:  # noqa: N802
    return str(api.client.make_url("/cyclades/compute/v2.0"))


async def test_ids_malformed_unknown_and_deleted(api, cyc, image):
    # seed 000 lines 1174-1178 (Delete Server: 400 malformed id or machine already deleted, 404 not found), D10
    await assert_fault(await cyc.get("/servers/abc"), 400, "badRequest", "Malformed server id")
    await assert_fault(await cyc.get("/servers/987654"), 404, "itemNotFound")
    await assert_fault(await cyc.get("/flavors/x"), 400, "badRequest")
    server = await _create(cyc, image)
    await _idle(api)
    assert (await cyc.delete(f"/servers/{server['id']}")).status == 204
    await _idle(api)
    await assert_fault(await cyc.delete(f"/servers/{server['id']}"), 400, "badRequest", "machine already deleted")
    await assert_fault(await cyc.get(f"/servers/{server['id']}/ips"), 400, "badRequest", "machine already deleted")


async def test_rename_is_204_and_build_guard_is_409(api, cyc, image):
    # seed 000 lines 1101-1146 (Example Rename Server Request; 204, 409 Build In Progress), D30, D31
    server = await _create(cyc, image)
    store = api.client.server.app[store_key]
    uuid = _uuid(api, server["id"])
    await _idle(api)
    await store.write(servers_db.update_server, uuid, {"vm_state": states.BUILDING, "task_state": "spawning"},
                      now=api.client.server.app[clock_key]())
    await assert_fault(await cyc.put(f"/servers/{server['id']}", json={"server": {"name": "New name"}}),
                       409, "buildInProgress")
    await assert_fault(await cyc.delete(f"/servers/{server['id']}"), 409, "buildInProgress")
    await store.write(servers_db.update_server, uuid, {"vm_state": states.ACTIVE, "task_state": None},
                      now=api.client.server.app[clock_key]())
    resp = await cyc.put(f"/servers/{server['id']}", json={"server": {"name": "New name", "accessIPv4": "1.2.3.4"}})
    assert resp.status == 204 and await resp.read() == b""
    shown = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]
    assert shown["name"] == "New name" and shown["accessIPv4"] == ""


async def test_changes_since_304_and_deleted_servers(api, cyc, image):
    # seed 000 lines 39-49 (changes-since polling, POLL_TIME) and 204 (304 when nothing changed), D19, D20
    server = await _create(cyc, image)
    await _idle(api)
    clock = api.client.server.app[clock_key]
    later = isotime(clock() + timedelta(minutes=5))
    resp = await cyc.get(f"/servers/detail?changes-since={later}")
    assert resp.status == 304 and await resp.read() == b""
    before = isotime(clock() - timedelta(minutes=5))
    assert (await cyc.delete(f"/servers/{server['id']}")).status == 204
    await _idle(api)
    assert (await cyc.ok("GET", "/servers"))["servers"] == []
    polled = (await cyc.ok("GET", f"/servers/detail?changes-since={before}"))["servers"]
    assert [(s["id"], s["status"], s["deleted"]) for s in polled] == [(server["id"], "DELETED", True)]
    await assert_fault(await cyc.get("/servers?changes-since=yesterday"), 400, "badRequest")


async def test_the_same_server_in_both_dialects(api, cyc, image):
    server = await _create(cyc, image)
    await _idle(api)
    uuid = _uuid(api, server["id"])
    nova = (await (await api.get(f"/servers/{uuid}", cyc.token)).json())["server"]
    assert nova["name"] == server["name"] and nova["status"] == "ACTIVE"
    resp = await api.post("/servers", cyc.token, json={"server": {"name": "from-nova", "imageRef": image,
                                                                  "flavorRef": "1", "networks": "none"}},
                         headers={"OpenStack-API-Version": "compute 2.37"})
    assert resp.status == 202, await resp.text()
    made = (await resp.json())["server"]["id"]
    await _idle(api)
    serial = api.client.server.app[store_key].read(servers_db.get_server, made).serial
    shown = (await cyc.ok("GET", f"/servers/{serial}"))["server"]
    assert shown["name"] == "from-nova" and shown["status"] == "ACTIVE"


async def test_flavor_list_detail_and_show(api, cyc):
    # seed 000 lines 1978-2020 (Example List Flavors (detail)) and 2082 (Example Flavor Details), D51
    brief = (await cyc.ok("GET", "/flavors"))["flavors"]
    assert brief and all(set(f) == {"id", "name", "links"} and isinstance(f["id"], int) for f in brief)
    await _same_in_xml(cyc, "/flavors", {"flavors": brief})
    detail = await cyc.ok("GET", "/flavors/detail")
    first = detail["flavors"][0]
    assert set(first) == {"id", "name", "links", "ram", "disk", "vcpus", "SNF:disk_template", "SNF:flavor-access",
                          "os-flavor-access:is_public"}
    await _same_in_xml(cyc, "/flavors/detail", detail)
    shown = await cyc.ok("GET", f"/flavors/{first['id']}")
    assert shown["flavor"] == first
    await _same_in_xml(cyc, f"/flavors/{first['id']}", shown)


async def test_flavor_access_lists_the_members_projects(api, cyc, make_user):
    # seed 000 lines 2003-2024 (detail example: a private flavor's SNF:flavor-access lists project ids), line 3292
    # (the projects the user is a member of), line 1896 (the SNF:flavor-access list query), D51
    member = Cyc(api, await make_user("shared-a", "member", name="flavor-user"))
    await make_user("shared-b", "member")
    store = api.client.server.app[store_key]
    shared_a, shared_b = (store.read(identity_db.find_project, name).id for name in ("shared-a", "shared-b"))
    made = await api.post("/flavors", cyc.token, json={"flavor": {"name": "private", "ram": 64, "vcpus": 1,
                                                                  "disk": 1, "os-flavor-access:is_public": False}})
    assert made.status == 200, await made.text()
    flavorid = (await made.json())["flavor"]["id"]
    for project in (shared_a, shared_b):
        resp = await api.post(f"/flavors/{flavorid}/action", cyc.token, json={"addTenantAccess": {"tenant": project}})
        assert resp.status == 200, await resp.text()
    serial = next(f["id"] for f in (await member.ok("GET", "/flavors"))["flavors"] if f["name"] == "private")
    shown = (await cyc.ok("GET", f"/flavors/{serial}"))["flavor"]
    assert shown["os-flavor-access:is_public"] is False
    assert sorted(shown["SNF:flavor-access"]) == sorted([shared_a, shared_b])  # the admin sees every project
    mine = (await member.ok("GET", f"/flavors/{serial}"))["flavor"]
    assert mine["SNF:flavor-access"] == [shared_a]  # the member sees only their own
    public = [f for f in (await member.ok("GET", "/flavors/detail"))["flavors"] if f["id"] != serial]
    assert public and all(f["SNF:flavor-access"] == [] and f["os-flavor-access:is_public"] for f in public)
    only = (await cyc.ok("GET", f"/flavors/detail?is_public=none&SNF:flavor-access={shared_b}"))["flavors"]
    assert [f["id"] for f in only] == [serial]
    assert (await cyc.ok("GET", "/flavors?SNF:flavor-access=nobody"))["flavors"] == []


async def test_create_extras_and_errors(api, cyc, image):
    # seed 000 lines 534-560 (create attributes: project, metadata OS/USERS), D22, D23, D32
    images = api.client.server.app[images_key]
    ctx = api.client.server.app[identity_key].validate(cyc.token)
    await images.set_properties(ctx, image, {"OS": "debian", "USERS": "root"}, replace=False)
    server = await _create(cyc, image)
    assert server["metadata"] == {"OS": "debian", "USERS": "root"}
    body = {"server": {"name": "x", "imageRef": image, "flavorRef": 1, "networks": [], "metadata": {"OS": "mine"}}}
    given = (await cyc.ok("POST", "/servers", json=body))["server"]
    assert given["metadata"] == {"OS": "mine", "USERS": "root"}
    for change, code in (({"imageRef": "00000000-0000-0000-0000-000000000000"}, 404), ({"flavorRef": 99999}, 404),
                         ({"project": "someone-else"}, 403)):
        resp = await cyc.post("/servers", json={"server": {**body["server"], **change}})
        await assert_fault(resp, code)


async def test_create_in_another_project_of_the_user(api, make_user):
    # seed 000 lines 554-556 (project: "the project where the VM is to be assigned"), D22: a project the user is a
    # member of takes the server and its usage; one they are not a member of is 403 and creates nothing
    store = api.client.server.app[store_key]
    user = Cyc(api, await make_user("home", "member", name="two-projects"))
    await make_user("billing", "member", name="billing-member")
    await make_user("foreign", "member", name="foreign-member")
    billing, foreign = (store.read(identity_db.find_project, name).id for name in ("billing", "foreign"))
    user_id = store.read(identity_db.find_user, "two-projects")[0].id
    await store.write(identity_db.grant_role, user_id, billing, "member")
    await store.write(identity_db.grant_role, user_id, foreign, "reader")  # a reader there may not create
    quotas = api.client.server.app[quotas_key]
    before = quotas.usage(billing)["instances"]
    in_billing = Cyc(api, await api.token("two-projects", "pw-two-projects", "billing"))
    image = await upload_raw_image(api.client.server.app, in_billing.token)
    body = {"name": "billed", "imageRef": image, "flavorRef": 1, "networks": []}
    for project in (foreign, "no-such-project"):
        await assert_fault(await user.post("/servers", json={"server": {**body, "project": project}}), 403,
                           "forbidden")
    assert quotas.usage(foreign)["instances"] == 0 and (await user.ok("GET", "/servers"))["servers"] == []
    server = (await user.ok("POST", "/servers", json={"server": {**body, "project": billing}}))["server"]
    await _idle(api)
    assert server["tenant_id"] == billing and quotas.usage(billing)["instances"] == before + 1
    assert (await in_billing.ok("GET", f"/servers/{server['id']}"))["server"]["tenant_id"] == billing


async def test_quota_exceeded_is_413_overlimit(api, cyc, image):
    # seed 000 line 592 (create: 413 Over Limit), D15
    project = api.client.server.app[identity_key].validate(cyc.token).project_id
    resp = await api.put(f"/os-quota-sets/{project}", cyc.token, json={"quota_set": {"instances": 0}})
    assert resp.status == 200, await resp.text()
    resp = await cyc.post("/servers", json={"server": {"name": "x", "imageRef": image, "flavorRef": 1,
                                                       "networks": []}})
    await assert_fault(resp, 413, "overLimit")
    assert (await cyc.ok("GET", "/servers"))["servers"] == []


async def test_key_names_and_personality_ownership_reach_the_config_drive(api, cyc, image):
    # seed 000 lines 670-692 (Example Create Server Request with personality owner/group/mode) and line 3209
    # (SNF:key_names: every key inserted), D22, D65: every key in meta_data.json, each file's owner, group and
    # mode in its files[] entry, the mode on the drive's own copy (Rock Ridge)
    keys = {}
    for name in ("first", "second"):
        made = await cyc.ok("POST", "/os-keypairs", 201, json={"keypair": {"name": name}})
        keys[name] = made["keypair"]["public_key"]
    personality = [{"path": "/home/someuser/.ssh/authorized_keys", "contents": "c29tZSBrZXk=", "group": "users",
                    "mode": 0o600, "owner": "someuser"},
                   {"path": "/home/someuser/.bashrc", "contents": "YmFzaA==", "mode": 0o777}]
    body = {"name": "keys", "imageRef": image, "flavorRef": 1, "networks": [], "personality": personality,
            "SNF:key_names": ["first", "second"]}
    for wrong in ({"personality": [{**personality[0], "mode": "0600"}]}, {"personality": [{**personality[0],
                  "mode": 0o10000}]}, {"SNF:key_names": ["first", "missing"]}, {"SNF:key_names": "first"}):
        await assert_fault(await cyc.post("/servers", json={"server": {**body, **wrong}}), 400, "badRequest")
    assert (await cyc.ok("GET", "/servers"))["servers"] == []
    server = (await cyc.ok("POST", "/servers", json={"server": body}))["server"]
    assert (server["key_name"], server["SNF:key_names"]) == ("first", ["first", "second"])
    await _idle(api)
    uuid = api.client.server.app[store_key].read(public_serials.server_by_serial, int(server["id"]))[0]
    iso = pycdlib.PyCdlib()
    iso.open(str(api.client.server.app[servers_key].guests.instance_dir(uuid) / "disk.config"))
    try:
        meta = json.loads(_iso_file(iso, "/openstack/latest/meta_data.json"))
        modes = [iso.get_record(rr_path=f"/openstack/content/{n:04d}").rock_ridge.get_file_mode() for n in (0, 1)]
    finally:
        iso.close()
    assert meta["public_keys"] == keys
    assert meta["keys"] == [{"name": name, "type": "ssh", "data": key} for name, key in keys.items()]
    assert meta["files"] == [
        {"path": "/home/someuser/.ssh/authorized_keys", "content_path": "/content/0000", "owner": "someuser",
         "group": "users", "mode": 0o600},
        {"path": "/home/someuser/.bashrc", "content_path": "/content/0001", "mode": 0o777}]
    assert modes == [0o100600, 0o100777]
    assert (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["SNF:key_names"] == ["first", "second"]


def _iso_file(iso: pycdlib.PyCdlib, path: str) -> bytes:
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, rr_path=path)
    return out.getvalue()


async def test_no_capacity_is_503_service_unavailable(api, cyc, image):
    # seed 000 lines 597-598 (create: 503 "No available backends"), D23: refused before anything is made
    service = api.client.server.app[servers_key]
    full = service.capacity
    service.capacity = placement.HostCapacity(vcpus=full.vcpus, memory_mb=0, disk_bytes=full.disk_bytes)
    try:
        resp = await cyc.post("/servers", json={"server": {"name": "x", "imageRef": image, "flavorRef": 1,
                                                           "networks": []}})
        await assert_fault(resp, 503, "serviceUnavailable")
        assert (await cyc.ok("GET", "/servers"))["servers"] == []
    finally:
        service.capacity = full
    await _create(cyc, image)


async def test_a_volume_backed_server_needs_no_room_for_its_flavors_root_disk(api, cyc, image):
    # D23 beside the core's boot from volume: the root is a volume, so a host whose disk the flavor's root would
    # not fit still takes it (Nova asks placement for no root DISK_GB then); an image-backed one is refused
    service = api.client.server.app[servers_key]
    full = service.capacity
    service.capacity = placement.HostCapacity(vcpus=full.vcpus, memory_mb=full.memory_mb, disk_bytes=0)
    try:
        resp = await cyc.post("/servers", json={"server": {"name": "local", "imageRef": image, "flavorRef": 1,
                                                           "networks": []}})
        await assert_fault(resp, 503, "serviceUnavailable")
        mapping = {"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume",
                   "volume_size": 1, "delete_on_termination": True}
        server = await cyc.ok("POST", "/servers", json={"server": {
            "name": "on-volume", "imageRef": image, "flavorRef": 1, "networks": [],
            "block_device_mapping_v2": [mapping]}})
        await _idle(api)
        shown = (await cyc.ok("GET", f"/servers/{server['server']['id']}"))["server"]
        assert (shown["name"], shown["status"]) == ("on-volume", "ACTIVE")
    finally:
        service.capacity = full


async def test_another_projects_server_is_not_there(api, cyc, image, make_user):
    # tenancy (as tests/api/test_tenant_isolation.py for the openstack faces): B neither lists nor reaches A's server
    server = await _create(cyc, image)
    await _idle(api)
    other = Cyc(api, await make_user("project-b", "member"))
    assert (await other.ok("GET", "/servers"))["servers"] == []
    for method, path in (("GET", ""), ("GET", "/ips"), ("GET", "/metadata"), ("GET", "/stats"),
                         ("GET", "/diagnostics"), ("DELETE", "")):
        resp = await other.request(method, f"/servers/{server['id']}{path}")
        await assert_fault(resp, 404, "itemNotFound")
    resp = await other.post(f"/servers/{server['id']}/action", json={"shutdown": {}})
    await assert_fault(resp, 404, "itemNotFound")
