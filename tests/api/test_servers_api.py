"""The server API through HTTP (#201-#203, #205-#207, #302, #309, #310, #401-#406, #501-#502, #1603) without a
running guest: validation, views, filters, paging, sorting, roles, tenancy and action dispatch (the pure parsing is
tests/unit/test_server_requests.py's, the views tests/unit/test_server_views.py's).

The app is the real one on the libvirt test driver (`test:///default`); list/filter tests insert server rows
straight through nodecompute.db.servers.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from nodecompute.api.keys import config_key, identity_key, images_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.domain import states
from nodecompute.domain.models import isotime, utcnow
from nodecompute.db import identity as identity_db
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


@pytest.fixture
async def servers_api(aiohttp_client, cfg) -> Api:
    client = await aiohttp_client(create_app(cfg))
    yield Api(client)
    service = client.server.app[servers_key]
    await service.wait_idle()
    # test:///default is shared by the whole process and names domains by serial: leave no domain behind.
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


@pytest.fixture
async def api(servers_api) -> Api:
    """conftest's admin_token and make_user work on this app."""
    return servers_api


def _store(api: Api):
    return api.client.server.app[store_key]


def _project_id(api: Api, name: str) -> str:
    return _store(api).read(identity_db.find_project, name).id


def _row(project_id: str, **over) -> dict:
    when = over.pop("when", utcnow())
    row = {
        "uuid": str(uuid.uuid4()), "name": "srv", "project_id": project_id, "user_id": "u-1", "hostname": "srv",
        "flavorid": "42", "flavor_name": "m1.nano", "memory_mb": 128, "vcpus": 1, "root_gb": 1, "ephemeral_gb": 0,
        "swap": 0, "image_id": IMAGE_ID, "image_sha256": None, "key_name": None, "key_data": None,
        "user_data": None, "config_drive": 1, "access_ipv4": "", "access_ipv6": "", "disk_config": "MANUAL",
        "availability_zone": "nova", "vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING,
        "launch_index": 0, "reservation_id": "r-abcd1234", "host": "testhost", "scheduler_hints": {},
        "created_at": isotime(when), "updated_at": isotime(when),
    }
    row.update(over)
    return row


async def _insert(api: Api, project_id: str, metadata: dict | None = None, **over):
    return (await _store(api).write(servers_db.insert_servers, [_row(project_id, **over)], metadata or {}, []))[0]


async def _insert_many(api: Api, project_id: str, count: int, **over) -> list:
    """`count` servers created one minute apart (oldest first)."""
    start = utcnow() - timedelta(hours=1)
    made = []
    for n in range(count):
        made.append(await _insert(api, project_id, name=f"vm-{n}", when=start + timedelta(minutes=n), **over))
    return made


async def _server_ids(api: Api, token: str, query: str = "", detail: bool = False) -> list[str]:
    resp = await api.get(f"/servers{'/detail' if detail else ''}{query}", token)
    assert resp.status == 200, await resp.text()
    return [s["id"] for s in (await resp.json())["servers"]]


def _create_body(**server) -> dict:
    body = {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "42", **server}
    return {"server": {k: v for k, v in body.items() if v is not None}}


# ----- create validation ----------------------------------------------------------------------------------------

BAD_CREATE = [
    ({"name": None}, "'name' is a required property"),
    ({"name": ""}, "Invalid input for field/attribute name."),
    ({"name": " padded"}, "Invalid input for field/attribute name."),
    ({"name": "x" * 256}, "Invalid input for field/attribute name."),
    ({"imageRef": None}, "'imageRef' is a required property"),
    ({"imageRef": 5}, "Invalid input for field/attribute imageRef."),
    ({"imageRef": ""}, "Block Device Mapping is Invalid"),
    ({"flavorRef": None}, "'flavorRef' is a required property"),
    ({"flavorRef": ""}, "Invalid input for field/attribute flavorRef."),
    ({"flavorRef": [1]}, "Invalid input for field/attribute flavorRef."),
    ({"metadata": {"k": 1}}, "Invalid input for field/attribute k."),
    ({"metadata": {"bad/key": "v"}}, "Invalid input for field/attribute metadata."),
    ({"metadata": {"k": "v" * 256}}, "Invalid input for field/attribute k."),
    ({"personality": [{"path": "/a", "contents": "not base64!"}]}, "Personality content for /a cannot be decoded"),
    ({"personality": [{"path": "/a", "contents": "YWJj="}]}, "Personality content for /a cannot be decoded"),
    ({"personality": [{"path": "", "contents": "YQ=="}]}, "Invalid input for field/attribute path."),
    ({"personality": [{"path": "/a"}]}, "'contents' is a required property"),
    ({"user_data": "%%%"}, "Invalid input for field/attribute user_data. Value: %%%. '%%%' is not a 'base64'"),
    ({"user_data": "A" * 65536}, "Invalid input for field/attribute user_data."),
    ({"config_drive": "maybe"}, "Invalid input for field/attribute config_drive."),
    ({"accessIPv4": "1.2.3"}, "Invalid input for field/attribute accessIPv4."),
    ({"accessIPv6": "1.2.3.4"}, "Invalid input for field/attribute accessIPv6."),
    ({"OS-DCF:diskConfig": "auto"}, "Invalid input for field/attribute OS-DCF:diskConfig."),
    ({"min_count": 0}, "Invalid input for field/attribute min_count."),
    ({"max_count": "two"}, "Invalid input for field/attribute max_count."),
    ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
    ({"return_reservation_id": "sure"}, "Invalid input for field/attribute return_reservation_id."),
    ({"adminPass": 123}, "Invalid input for field/attribute adminPass."),
    ({"security_groups": [{"name": "web"}]}, "Security group web not found for project"),
    ({"networks": "all"}, "Invalid input for field/attribute networks."),
    ({"networks": [{"uuid": "n-1"}]}, "Network n-1 could not be found."),
    ({"networks": [{"port": "p-1"}]}, "Port id p-1 could not be found."),  # Nova's PortNotFound text
    ({"networks": [{"fixed_ip": "10.0.0.5"}]}, "Bad networks format: network uuid is not in proper format (None)"),
    ({"block_device_mapping_v2": [{"boot_index": 0, "uuid": IMAGE_ID}]}, "Block Device Mapping is Invalid"),
    ({"block_device_mapping_v2": [{"boot_index": 0, "uuid": "6a1a5c4e-0000-4000-8000-000000000002",
                                   "source_type": "volume", "destination_type": "volume"}], "imageRef": ""},
     "Block Device Mapping is Invalid: failed to get volume 6a1a5c4e-0000-4000-8000-000000000002."),
    ({"block_device_mapping_v2": [{"boot_index": 0, "uuid": IMAGE_ID, "source_type": "image",
                                   "destination_type": "local"},
                                  {"boot_index": -1, "source_type": "blank", "destination_type": "local",
                                   "guest_format": "swap", "volume_size": 1}]},
     "Swap drive requested is larger than instance type allows."),  # the flavor has no swap
    ({"block_device_mapping_v2": [{"boot_index": 0, "uuid": "6a1a5c4e-0000-4000-8000-000000000000",
                                   "source_type": "image", "destination_type": "local"}]},
     "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination"),
    ({"block_device_mapping": [{"volume_id": "6a1a5c4e-0000-4000-8000-000000000001"}],
      "block_device_mapping_v2": [{"uuid": "v"}]},
     "Using different block_device_mapping syntaxes is not allowed"),
    ({"os:scheduler_hints": {"group": "g"}}, "Additional properties are not allowed"),
    ({"unknown_field": 1}, "Additional properties are not allowed ('unknown_field' was unexpected)"),
]


@pytest.mark.parametrize("fields, message", BAD_CREATE, ids=[str(i) for i in range(len(BAD_CREATE))])
async def test_create_rejects_bad_field_and_creates_nothing(api, make_user, fields, message):
    token = await make_user("proj-a", "member")
    resp = await api.post("/servers", token, json=_create_body(**fields))
    await assert_fault(resp, 400, "badRequest", message)
    assert await _server_ids(api, token) == []


@pytest.mark.parametrize("body, message", [
    ({"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "1"}, "os:scheduler_hints": "g"},
     "Invalid input for field/attribute os:scheduler_hints."),
    ({"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "1"}, "extra": {}}, "Additional properties"),
    ({"servers": {}}, "'server' is a required property"),
])
async def test_create_rejects_bad_top_level(api, make_user, body, message):
    token = await make_user("proj-a", "member")
    await assert_fault(await api.post("/servers", token, json=body), 400, "badRequest", message)
    assert await _server_ids(api, token) == []


async def test_create_malformed_json_and_media_type(api, make_user):
    token = await make_user("proj-a", "member")
    await assert_fault(await api.post("/servers", token, data=b"{not json"), 400, "badRequest",
                       "Malformed request body")
    await assert_fault(await api.post("/servers", token, data=b"<x/>", headers={"Content-Type": "application/xml"}),
                       415, "badMediaType")


async def test_create_unknown_flavor_and_image_are_400(api, make_user):
    token = await make_user("proj-a", "member")
    await assert_fault(await api.post("/servers", token, json=_create_body(flavorRef="nope")), 400, "badRequest",
                       "Flavor nope could not be found.")
    await assert_fault(await api.post("/servers", token, json=_create_body()), 400, "badRequest",
                       "Can not find requested image")  # Nova's create
    assert await _server_ids(api, token) == []


async def test_legacy_v2_relaxes_unknown_properties_and_names(api, make_user):
    token = await make_user("proj-a", "member")
    body = _create_body(name=" spaced ", unknown_field=1, flavorRef="nope")
    body["server"]["user_data"] = None
    # Validation passes on /v2: the refusal comes from the flavor lookup, after the schema.
    await assert_fault(await api.post("/servers", token, json=body, version="v2"), 400, "badRequest",
                       "Flavor nope could not be found.")
    await assert_fault(await api.post("/servers", token, json=body), 400, "badRequest",
                       "Invalid input for field/attribute")


async def test_reader_cannot_create_update_delete(api, make_user):
    token = await make_user("proj-a", "reader")
    await assert_fault(await api.post("/servers", token, json=_create_body()), 403, "forbidden",
                       "os_compute_api:servers:create")
    server = await _insert(api, _project_id(api, "proj-a"))
    await assert_fault(await api.put(f"/servers/{server.uuid}", token, json={"server": {"name": "n"}}), 403,
                       "forbidden")
    await assert_fault(await api.delete(f"/servers/{server.uuid}", token), 403, "forbidden")
    resp = await api.get(f"/servers/{server.uuid}", token)
    assert resp.status == 200 and (await resp.json())["server"]["name"] == "srv"


async def test_reader_of_another_project_gets_not_found_before_forbidden(api, make_user):
    """Nova looks the server up before it checks the policy: another project's reader writing to a server it cannot
    see gets 404, as a member would (Tempest's ServersNegativeTestMultiTenantJSON), and nothing changes."""
    member = await make_user("proj-a", "member")
    token = await make_user("proj-b", "reader")
    server = await _insert(api, _project_id(api, "proj-a"))
    message = f"Instance {server.uuid} could not be found."
    await assert_fault(await api.put(f"/servers/{server.uuid}", token, json={"server": {"name": "n"}}), 404,
                       "itemNotFound", message)
    await assert_fault(await api.delete(f"/servers/{server.uuid}", token), 404, "itemNotFound", message)
    await assert_fault(await _action(api, token, server.uuid, {"os-stop": None}), 404, "itemNotFound", message)
    await assert_fault(await api.delete("/servers/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12, token), 404,
                       "itemNotFound")
    resp = await api.get(f"/servers/{server.uuid}", member)
    assert resp.status == 200 and (await resp.json())["server"]["name"] == "srv"


# ----- create, with a real image --------------------------------------------------------------------------------

@pytest.fixture
async def image_id(api, make_user) -> str:
    """An active 1 MiB raw image owned by proj-a, uploaded through the image service."""
    token = await make_user("proj-a", "member", name="image-owner")
    ctx = api.client.server.app[identity_key].validate(token)
    images = api.client.server.app[images_key]
    image = await images.create(ctx, {"name": "tiny", "disk_format": "raw", "container_format": "bare"}, {}, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await images.upload(ctx, image.id, chunks())
    return image.id


async def test_create_response_shape_and_location(api, make_user, image_id):
    token = await make_user("proj-a", "member")
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, metadata={"role": "web"},
                                                                **{"OS-DCF:diskConfig": "AUTO"}))
    assert resp.status == 202, await resp.text()
    server = (await resp.json())["server"]
    assert set(server) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert server["OS-DCF:diskConfig"] == "AUTO" and server["security_groups"] == [{"name": "default"}]
    assert len(server["adminPass"]) == 12
    assert resp.headers["Location"] == server["links"][0]["href"]
    assert urlsplit(resp.headers["Location"]).path == f"/compute/v2.1/servers/{server['id']}"
    shown = (await (await api.get(f"/servers/{server['id']}", token)).json())["server"]
    assert shown["status"] in ("BUILD", "ACTIVE", "ERROR") and shown["metadata"] == {"role": "web"}
    assert shown["image"]["id"] == image_id and shown["flavor"]["id"] == "42"
    assert "adminPass" not in shown


async def test_create_multiple_with_reservation_id(api, make_user, image_id):
    token = await make_user("proj-a", "member")
    body = _create_body(imageRef=image_id, min_count=2, max_count="2", return_reservation_id=True)
    resp = await api.post("/servers", token, json=body)
    assert resp.status == 202, await resp.text()
    assert "Location" not in resp.headers
    reservation = (await resp.json())["reservation_id"]
    assert reservation.startswith("r-") and len(reservation) == 10
    resp = await api.get(f"/servers?reservation_id={reservation}", token)
    assert sorted(s["name"] for s in (await resp.json())["servers"]) == ["vm-1", "vm-2"]


async def test_create_accepts_the_cli_image_root_mapping(api, make_user, image_id):
    """`openstack server create --image X` sends imageRef plus the image -> local boot_index 0 mapping (the image
    disk itself); with imageRef "" that mapping alone names the image."""
    token = await make_user("proj-a", "member")
    root = {"uuid": image_id, "boot_index": 0, "source_type": "image", "destination_type": "local",
            "delete_on_termination": True}
    created = []
    for image_ref, mapping in [(image_id, root), ("", dict(root, boot_index="0"))]:
        resp = await api.post("/servers", token, json=_create_body(imageRef=image_ref, networks=[],
                                                                    block_device_mapping_v2=[mapping]))
        assert resp.status == 202, await resp.text()
        created.append((await resp.json())["server"]["id"])
    for server_id in created:
        shown = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]
        assert shown["image"]["id"] == image_id


async def _wait_idle(api: Api) -> None:
    await api.client.server.app[servers_key].wait_idle()


async def _status(api: Api, token: str, server_id: str) -> tuple[str, int]:
    body = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]
    return body["status"], body["OS-EXT-STS:power_state"]


async def test_actions_drive_a_test_driver_guest(api, make_user, image_id):
    token = await make_user("proj-a", "member")
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id))
    server_id = (await resp.json())["server"]["id"]
    await _wait_idle(api)
    assert await _status(api, token, server_id) == ("ACTIVE", states.RUNNING)
    for body, status, power in [({"os-stop": None}, "SHUTOFF", states.SHUTDOWN),
                                ({"os-start": None}, "ACTIVE", states.RUNNING),
                                ({"reboot": {"type": "SOFT"}}, "ACTIVE", states.RUNNING),
                                ({"reboot": {"type": "hard"}}, "ACTIVE", states.RUNNING)]:
        resp = await api.post(f"/servers/{server_id}/action", token, json=body)
        assert resp.status == 202 and await resp.read() == b"", await resp.text()
        await _wait_idle(api)
        assert await _status(api, token, server_id) == (status, power), body
    resp = await api.post(f"/servers/{server_id}/action", token, json={"os-getConsoleOutput": {"length": 3}})
    assert resp.status == 200 and isinstance((await resp.json())["output"], str)
    assert (await api.delete(f"/servers/{server_id}", token)).status == 204
    await assert_fault(await api.get(f"/servers/{server_id}", token), 404, "itemNotFound")


# ----- views ----------------------------------------------------------------------------------------------------

MEMBER_KEYS = {
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor", "created", "updated",
    "addresses", "accessIPv4", "accessIPv6", "links", "OS-DCF:diskConfig", "key_name", "config_drive",
    "OS-EXT-AZ:availability_zone", "OS-EXT-STS:power_state", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state",
    "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "os-extended-volumes:volumes_attached",
    "security_groups", "progress",
}
ADMIN_KEYS = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name"}
# Nova's update answers these only (server-update-resp.json at 2.1; every key of GET from 2.75)
UPDATE_KEYS = {
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor", "created", "updated",
    "addresses", "accessIPv4", "accessIPv6", "links", "OS-DCF:diskConfig", "progress",
}


async def test_detail_view_for_member_and_admin(api, make_user, admin_token):
    token = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    when = datetime(2024, 1, 2, 3, 4, 5, 678000)
    server = await _insert(api, pid, {"a": "1"}, when=when, launched_at=isotime(when), key_name="k1",
                           access_ipv4="10.1.2.3", progress=100)
    body = (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]
    assert set(body) == MEMBER_KEYS
    assert body["hostId"] == hashlib.sha224((pid + "testhost").encode()).hexdigest()
    assert (body["status"], body["progress"], body["tenant_id"], body["user_id"]) == ("ACTIVE", 100, pid, "u-1")
    assert (body["created"], body["updated"]) == ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z")
    assert body["OS-SRV-USG:launched_at"] == "2024-01-02T03:04:05.678000"
    assert body["OS-SRV-USG:terminated_at"] is None
    assert (body["config_drive"], body["key_name"], body["accessIPv4"], body["accessIPv6"]) == ("True", "k1",
                                                                                                  "10.1.2.3", "")
    assert body["addresses"] == {} and body["metadata"] == {"a": "1"}
    assert body["os-extended-volumes:volumes_attached"] == []
    assert (body["OS-EXT-STS:vm_state"], body["OS-EXT-STS:task_state"], body["OS-EXT-STS:power_state"]) == (
        "active", None, 1)
    assert urlsplit(body["image"]["links"][0]["href"]).path == f"/compute/images/{IMAGE_ID}"
    assert [link["rel"] for link in body["flavor"]["links"]] == ["bookmark"]
    assert [urlsplit(link["href"]).path for link in body["links"]] == [
        f"/compute/v2.1/servers/{server.uuid}", f"/compute/servers/{server.uuid}"]
    admin_view = (await (await api.get(f"/servers/{server.uuid}", admin_token)).json())["server"]
    assert set(admin_view) == MEMBER_KEYS | ADMIN_KEYS
    assert admin_view["OS-EXT-SRV-ATTR:instance_name"] == f"instance-{server.serial:08x}"
    assert admin_view["OS-EXT-SRV-ATTR:host"] == "testhost"


async def test_links_keep_version_and_project_segment(api, make_user):
    token = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    server = await _insert(api, pid)
    resp = await api.get(f"/{pid}/servers", token, version="v2")
    hrefs = [urlsplit(link["href"]).path for link in (await resp.json())["servers"][0]["links"]]
    assert hrefs == [f"/compute/v2/{pid}/servers/{server.uuid}", f"/compute/{pid}/servers/{server.uuid}"]


async def test_fault_and_progress_follow_status(api, make_user, admin_token):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), vm_state=states.BUILDING, task_state=states.SPAWNING)
    body = (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]
    assert (body["status"], body["progress"]) == ("BUILD", 0) and "fault" not in body
    await _store(api).write(servers_db.set_fault, server.uuid, 500, "Build failed: boom", "Traceback ...", now=utcnow())
    body = (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]
    assert body["status"] == "ERROR" and "progress" not in body
    assert body["fault"]["message"] == "Build failed: boom" and body["fault"]["code"] == 500
    assert body["fault"]["created"].endswith("Z") and "details" not in body["fault"]
    admin = (await (await api.get(f"/servers/{server.uuid}", admin_token)).json())["server"]
    assert admin["fault"]["details"] == "Traceback ..."


@pytest.mark.parametrize("vm_state, task_state, status", [
    (states.STOPPED, None, "SHUTOFF"), (states.ACTIVE, states.REBOOTING, "REBOOT"),
    (states.ACTIVE, states.REBOOTING_HARD, "HARD_REBOOT"), (states.ACTIVE, states.POWERING_OFF, "ACTIVE"),
])
async def test_status_from_states(api, make_user, vm_state, task_state, status):
    token = await make_user("proj-a", "reader")
    server = await _insert(api, _project_id(api, "proj-a"), vm_state=vm_state, task_state=task_state)
    body = (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]
    assert body["status"] == status


async def test_show_404_for_names_other_projects_and_deleted(api, make_user):
    token_a = await make_user("proj-a", "member")
    token_b = await make_user("proj-b", "member")
    server = await _insert(api, _project_id(api, "proj-a"), name="named")
    await assert_fault(await api.get("/servers/named", token_a), 404, "itemNotFound",
                       "Instance named could not be found.")
    await assert_fault(await api.get(f"/servers/{server.uuid}", token_b), 404, "itemNotFound")
    await _store(api).write(servers_db.mark_deleted, server.uuid, now=utcnow())
    await assert_fault(await api.get(f"/servers/{server.uuid}", token_a), 404, "itemNotFound")


async def test_a_server_shown_again_is_read_again_only_once_the_database_changed(api, make_user, monkeypatch):
    token_a = await make_user("proj-a", "member")
    token_b = await make_user("proj-b", "member")
    server = await _insert(api, _project_id(api, "proj-a"), name="polled")
    reads = []
    real_get_server = servers_db.get_server
    monkeypatch.setattr(servers_db, "get_server", lambda db, uuid, **kw: reads.append(uuid) or
                        real_get_server(db, uuid, **kw))

    for _ in range(3):  # a client polling its server
        resp = await api.get(f"/servers/{server.uuid}", token_a)
        assert resp.status == 200 and (await resp.json())["server"]["name"] == "polled"
    assert reads == [server.uuid]
    await assert_fault(await api.get(f"/servers/{server.uuid}", token_b), 404, "itemNotFound")  # kept, not shown
    assert reads == [server.uuid]

    await _store(api).write(servers_db.update_server, server.uuid, {"name": "renamed"}, now=utcnow())
    reads.clear()  # (the update read it on the writer's connection)
    resp = await api.get(f"/servers/{server.uuid}", token_a)
    assert (await resp.json())["server"]["name"] == "renamed" and reads == [server.uuid]


# ----- list, filters, paging, sorting ---------------------------------------------------------------------------

async def test_list_brief_and_detail(api, make_user):
    token = await make_user("proj-a", "reader")
    made = await _insert_many(api, _project_id(api, "proj-a"), 2)
    brief = (await (await api.get("/servers", token)).json())
    assert [set(s) for s in brief["servers"]] == [{"id", "name", "links"}] * 2
    assert [s["id"] for s in brief["servers"]] == [made[1].uuid, made[0].uuid]  # newest first
    assert "servers_links" not in brief
    detail = (await (await api.get("/servers/detail", token)).json())["servers"]
    assert [set(s) for s in detail] == [MEMBER_KEYS] * 2


async def test_filters_name_status_image_flavor_reservation(api, make_user):
    token = await make_user("proj-a", "reader")
    pid = _project_id(api, "proj-a")
    web1 = await _insert(api, pid, name="web-1", reservation_id="r-aaaaaaaa")
    web2 = await _insert(api, pid, name="web-2", vm_state=states.STOPPED, flavorid="1")
    db = await _insert(api, pid, name="db", image_id="other-image", vm_state=states.BUILDING)
    assert set(await _server_ids(api, token, "?name=web")) == {web1.uuid, web2.uuid}
    assert await _server_ids(api, token, "?name=^d.$") == [db.uuid]
    assert await _server_ids(api, token, "?status=SHUTOFF") == [web2.uuid]
    assert set(await _server_ids(api, token, "?status=active&status=BUILD")) == {web1.uuid, db.uuid}
    assert await _server_ids(api, token, "?status=NOT_A_STATUS") == []
    assert await _server_ids(api, token, "?image=other-image") == [db.uuid]
    assert set(await _server_ids(api, token, f"?image=http://h/compute/images/{IMAGE_ID}")) == {web1.uuid, web2.uuid}
    assert await _server_ids(api, token, "?flavor=1") == [web2.uuid]
    assert await _server_ids(api, token, "?reservation_id=r-aaaaaaaa") == [web1.uuid]
    assert await _server_ids(api, token, "?ip=10.0.0.1") == []
    assert len(await _server_ids(api, token, "?deleted=False&unknown=1&project_id=x", detail=True)) == 3
    await assert_fault(await api.get("/servers?name=[", token), 400, "badRequest", "name")


async def test_changes_since_includes_deleted(api, make_user):
    token = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    old = await _insert(api, pid, when=utcnow() - timedelta(days=2))
    gone = await _insert(api, pid)
    await _store(api).write(servers_db.mark_deleted, gone.uuid, now=utcnow())
    since = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = await api.get("/servers/detail", token, params={"changes-since": since})
    found = (await resp.json())["servers"]
    assert [(s["id"], s["status"]) for s in found] == [(gone.uuid, "DELETED")]
    assert await _server_ids(api, token) == [old.uuid]
    await assert_fault(await api.get("/servers?changes-since=yesterday", token), 400, "badRequest",
                       "Invalid filter field: changes-since.")


async def test_deleted_status_is_admin_only(api, make_user):
    token = await make_user("proj-a", "member")
    await assert_fault(await api.get("/servers?status=DELETED", token), 403, "forbidden",
                       "Only administrators may list deleted instances")


async def test_all_tenants_and_project_filters(api, make_user, admin_token):
    token_a = await make_user("proj-a", "member")
    await make_user("proj-b", "member")
    host = api.client.server.app[config_key].host_name
    a = await _insert(api, _project_id(api, "proj-a"), host=host, when=utcnow() - timedelta(minutes=1))
    b = await _insert(api, _project_id(api, "proj-b"), host=host)
    await assert_fault(await api.get("/servers?all_tenants=1", token_a), 403, "forbidden",
                       "os_compute_api:servers:index:get_all_tenants")
    await assert_fault(await api.get("/servers/detail?all_tenants=True", token_a), 403, "forbidden",
                       "os_compute_api:servers:detail:get_all_tenants")
    assert await _server_ids(api, token_a, "?all_tenants=0") == [a.uuid]
    assert await _server_ids(api, token_a, "?host=elsewhere") == [a.uuid]  # admin-only filter: dropped
    assert await _server_ids(api, admin_token) == []  # the admin's own project
    assert await _server_ids(api, admin_token, "?all_tenants=1") == [b.uuid, a.uuid]
    assert await _server_ids(api, admin_token, f"?all_tenants=1&project_id={b.project_id}") == [b.uuid]
    # without all_tenants Nova ignores tenant_id and project_id: the admin's own project
    assert await _server_ids(api, admin_token, f"?tenant_id={a.project_id}") == []
    assert await _server_ids(api, admin_token, f"?project_id={a.project_id}", detail=True) == []
    assert await _server_ids(api, admin_token, f"?all_tenants=1&tenant_id={a.project_id}") == [a.uuid]
    assert await _server_ids(api, admin_token, f"?all_tenants=1&host={host}") == [b.uuid, a.uuid]
    assert await _server_ids(api, admin_token, "?all_tenants=1&host=elsewhere") == []


async def test_paging_with_next_links(api, make_user):
    token = await make_user("proj-a", "reader")
    made = [s.uuid for s in reversed(await _insert_many(api, _project_id(api, "proj-a"), 5))]  # newest first
    resp = await api.get("/servers?limit=2", token)
    body = await resp.json()
    assert [s["id"] for s in body["servers"]] == made[:2]
    next_href = body["servers_links"][0]["href"]
    assert body["servers_links"][0]["rel"] == "next"
    assert parse_qs(urlsplit(next_href).query) == {"limit": ["2"], "marker": [made[1]]}
    assert urlsplit(next_href).path == "/compute/v2.1/servers"
    page2 = await (await api.get(f"/servers?{urlsplit(next_href).query}", token)).json()
    assert [s["id"] for s in page2["servers"]] == made[2:4]
    last = await (await api.get(f"/servers/detail?limit=2&marker={made[3]}", token)).json()
    assert [s["id"] for s in last["servers"]] == made[4:] and "servers_links" not in last
    assert await _server_ids(api, token, "?limit=0") == []  # Nova: nothing (not the default page)
    assert await _server_ids(api, token, "?limit=5000") == made
    await assert_fault(await api.get("/servers?limit=-1", token), 400, "badRequest",
                       "Invalid input for query parameters limit.")
    await assert_fault(await api.get("/servers?limit=two", token), 400, "badRequest")
    await assert_fault(await api.get("/servers?marker=nope", token), 400, "badRequest", "marker [nope] not found")


async def test_sorting(api, make_user, admin_token):
    token = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    made = await _insert_many(api, pid, 3)  # vm-0 oldest
    names = lambda body: [s["name"] for s in body["servers"]]  # noqa: E731
    resp = await api.get("/servers?sort_key=display_name&sort_dir=asc", token)
    assert names(await resp.json()) == ["vm-0", "vm-1", "vm-2"]
    resp = await api.get("/servers?sort_dir=asc", token)
    assert names(await resp.json()) == ["vm-0", "vm-1", "vm-2"]
    resp = await api.get("/servers?sort_key=vcpus&sort_key=display_name", token)  # vcpus ignored, as Nova does
    assert names(await resp.json()) == ["vm-2", "vm-1", "vm-0"]
    await assert_fault(await api.get("/servers?sort_dir=up", token), 400, "badRequest",
                       "Invalid input for query parameters sort_dir.")
    await assert_fault(await api.get("/servers?sort_key=colour", token), 400, "badRequest",
                       "Invalid input for query parameters sort_key.")
    await assert_fault(await api.get("/servers?sort_key=uuid&sort_dir=asc&sort_dir=desc", token), 400,
                       "badRequest", "Sort direction size exceeds sort key size")
    await assert_fault(await api.get("/servers?sort_key=host", token), 403, "forbidden",
                       "Only administrators can sort servers by host")
    resp = await api.get("/servers?all_tenants=1&sort_key=host&sort_key=created_at&sort_dir=asc", admin_token)
    assert [s["id"] for s in (await resp.json())["servers"]] == [s.uuid for s in made]


# ----- update, delete -------------------------------------------------------------------------------------------

async def test_update_returns_novas_update_view(api, make_user, admin_token):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"))
    body = {"server": {"name": "renamed", "accessIPv4": "192.0.2.7", "accessIPv6": "2001:DB8:0:0:0:0:0:7",
                       "OS-DCF:diskConfig": "AUTO"}}
    resp = await api.put(f"/servers/{server.uuid}", token, json=body)
    assert resp.status == 200, await resp.text()
    shown = (await resp.json())["server"]
    assert set(shown) == UPDATE_KEYS  # not OS-EXT-*, config_drive, key_name, security_groups, volumes_attached
    assert (shown["name"], shown["accessIPv4"], shown["accessIPv6"], shown["OS-DCF:diskConfig"]) == (
        "renamed", "192.0.2.7", "2001:db8::7", "AUTO")  # IPv6 in its canonical form, as Nova stores it
    admin_shown = (await (await api.put(f"/servers/{server.uuid}", admin_token, json=body)).json())["server"]
    assert set(admin_shown) == UPDATE_KEYS
    assert (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]["name"] == "renamed"


@pytest.mark.parametrize("body, message", [
    ({"server": {"accessIPv4": "300.1.1.1"}}, "Invalid input for field/attribute accessIPv4."),
    ({"server": {"name": ""}}, "Invalid input for field/attribute name."),
    ({"server": {"OS-DCF:diskConfig": "SOMETIMES"}}, "Invalid input for field/attribute OS-DCF:diskConfig."),
    ({"server": {"key_name": "k"}}, "Additional properties are not allowed ('key_name' was unexpected)"),
    ({"name": "x"}, "'server' is a required property"),
])
async def test_update_rejects_bad_body(api, make_user, body, message):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"))
    await assert_fault(await api.put(f"/servers/{server.uuid}", token, json=body), 400, "badRequest", message)
    assert (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]["name"] == "srv"


async def test_delete_then_gone_and_listed_as_deleted_to_pollers(api, make_user):
    token = await make_user("proj-a", "member")
    since = (utcnow() - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S")
    server = await _insert(api, _project_id(api, "proj-a"))
    resp = await api.delete(f"/servers/{server.uuid}", token)
    assert resp.status == 204 and await resp.read() == b""
    await assert_fault(await api.get(f"/servers/{server.uuid}", token), 404, "itemNotFound")
    await assert_fault(await api.delete(f"/servers/{server.uuid}", token), 404, "itemNotFound")
    assert await _server_ids(api, token) == []
    resp = await api.get(f"/servers/detail?changes-since={since}", token)
    assert [s["status"] for s in (await resp.json())["servers"]] == ["DELETED"]


async def test_other_project_cannot_touch_a_server(api, make_user):
    await make_user("proj-a", "member")
    token_b = await make_user("proj-b", "member")
    server = await _insert(api, _project_id(api, "proj-a"), {"k": "v"})
    uid = server.uuid
    for resp in [await api.put(f"/servers/{uid}", token_b, json={"server": {"name": "x"}}),
                 await api.delete(f"/servers/{uid}", token_b),
                 await api.post(f"/servers/{uid}/action", token_b, json={"os-stop": None}),
                 await api.get(f"/servers/{uid}/metadata", token_b),
                 await api.put(f"/servers/{uid}/metadata/k", token_b, json={"meta": {"k": "w"}}),
                 await api.get(f"/servers/{uid}/ips", token_b)]:
        await assert_fault(resp, 404, "itemNotFound", f"Instance {uid} could not be found.")
    assert await _server_ids(api, token_b) == []


# ----- actions --------------------------------------------------------------------------------------------------

async def _action(api, token, server_id, body):
    return await api.post(f"/servers/{server_id}/action", token, json=body)


async def test_action_dispatch_errors(api, make_user):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"))
    await assert_fault(await _action(api, token, server.uuid, {"frobnicate": None}), 400, "badRequest",
                       "There is no such action: frobnicate")
    await assert_fault(await _action(api, token, server.uuid, {"os-start": None, "os-stop": None}), 400,
                       "badRequest", "Malformed message body: too many body keys")
    await assert_fault(await _action(api, token, server.uuid, {}), 400, "badRequest")
    await assert_fault(await api.post(f"/servers/{server.uuid}/action", token, data=b"[1"), 400, "badRequest",
                       "Malformed request body")
    await assert_fault(await _action(api, token, str(uuid.uuid4()), {"os-stop": None}), 404, "itemNotFound")


@pytest.mark.parametrize("body, message", [
    ({"reboot": {}}, "'type' is a required property"),
    ({"reboot": {"type": "GENTLE"}}, "Invalid input for field/attribute type."),
    ({"reboot": {"type": "SOFT", "force": True}}, "Additional properties are not allowed"),
    ({"reboot": "HARD"}, "Invalid input for field/attribute reboot."),
    ({"os-getConsoleOutput": {"length": "ten"}}, "Invalid input for field/attribute length."),
    ({"os-getConsoleOutput": {"length": -2}}, "Invalid input for field/attribute length."),
    ({"os-getConsoleOutput": {"length": 1.5}}, "Invalid input for field/attribute length."),
    ({"os-getConsoleOutput": {"lines": 1}}, "Additional properties are not allowed"),
])
async def test_action_body_validation(api, make_user, body, message):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"))
    await assert_fault(await _action(api, token, server.uuid, body), 400, "badRequest", message)
    assert _store(api).read(servers_db.get_server, server.uuid).task_state is None


@pytest.mark.parametrize("body", [{"reboot": {"type": "HARD"}}, {"os-start": None}, {"os-stop": None},
                                  {"os-getConsoleOutput": {}}])
async def test_reader_cannot_run_actions(api, make_user, body):
    token = await make_user("proj-a", "reader")
    server = await _insert(api, _project_id(api, "proj-a"), vm_state=states.STOPPED)
    await assert_fault(await _action(api, token, server.uuid, body), 403, "forbidden", "Policy doesn't allow")


@pytest.mark.parametrize("vm_state, body, message", [
    (states.ACTIVE, {"os-start": None}, "Cannot 'start' instance {} while it is in vm_state active"),
    (states.STOPPED, {"os-stop": None}, "Cannot 'stop' instance {} while it is in vm_state stopped"),
    (states.STOPPED, {"reboot": {"type": "SOFT"}}, "Cannot 'reboot' instance {} while it is in vm_state stopped"),
    (states.BUILDING, {"os-getConsoleOutput": {"length": 5}},
     "Cannot 'get_console_output' instance {} while it is in vm_state building"),
])
async def test_actions_in_wrong_state_conflict(api, make_user, vm_state, body, message):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), vm_state=vm_state)
    await assert_fault(await _action(api, token, server.uuid, body), 409, "conflictingRequest",
                       message.format(server.uuid))


async def test_action_while_another_task_runs_conflicts(api, make_user):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), task_state=states.POWERING_OFF)
    await assert_fault(await _action(api, token, server.uuid, {"os-stop": None}), 409, "conflictingRequest",
                       "while it is in task_state powering-off")


async def test_console_output_lengths(api, make_user):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"))
    log = api.client.server.app[config_key].instances_dir / server.uuid / "console.log"
    log.parent.mkdir(parents=True)
    log.write_text("one\ntwo\nthree\n")

    async def output(body):
        resp = await _action(api, token, server.uuid, {"os-getConsoleOutput": body})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["output"]

    assert await output({}) == "one\ntwo\nthree\n"
    assert await output({"length": None}) == "one\ntwo\nthree\n"
    assert await output({"length": -1}) == "one\ntwo\nthree\n"
    assert await output({"length": 2}) == "two\nthree\n"
    assert await output({"length": "1"}) == "three\n"
    assert await output({"length": 0}) == ""


# ----- metadata -------------------------------------------------------------------------------------------------

async def test_metadata_list_replace_merge(api, make_user):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), {"a": "1", "b": "2"})
    path = f"/servers/{server.uuid}/metadata"
    assert await (await api.get(path, token)).json() == {"metadata": {"a": "1", "b": "2"}}
    resp = await api.post(path, token, json={"metadata": {"b": "20", "c": "3"}})
    assert resp.status == 200 and await resp.json() == {"metadata": {"a": "1", "b": "20", "c": "3"}}
    resp = await api.put(path, token, json={"metadata": {"z": "26"}})
    assert resp.status == 200 and await resp.json() == {"metadata": {"z": "26"}}
    assert await (await api.get(path, token)).json() == {"metadata": {"z": "26"}}
    shown = (await (await api.get(f"/servers/{server.uuid}", token)).json())["server"]
    assert shown["metadata"] == {"z": "26"}


async def test_metadata_items(api, make_user):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), {"a": "1"})
    path = f"/servers/{server.uuid}/metadata"
    assert await (await api.get(f"{path}/a", token)).json() == {"meta": {"a": "1"}}
    await assert_fault(await api.get(f"{path}/nope", token), 404, "itemNotFound", "Metadata item was not found")
    resp = await api.put(f"{path}/new key", token, json={"meta": {"new key": "v"}})
    assert resp.status == 200 and await resp.json() == {"meta": {"new key": "v"}}
    await assert_fault(await api.put(f"{path}/a", token, json={"meta": {"b": "v"}}), 400, "badRequest",
                       "Request body and URI mismatch")
    await assert_fault(await api.put(f"{path}/a", token, json={"meta": {"a": "v", "b": "w"}}), 400, "badRequest",
                       "Invalid input for field/attribute meta.")
    await assert_fault(await api.put(f"{path}/a", token, json={"metadata": {"a": "v"}}), 400, "badRequest")
    resp = await api.delete(f"{path}/a", token)
    assert resp.status == 204
    await assert_fault(await api.delete(f"{path}/a", token), 404, "itemNotFound", "Metadata item was not found")
    assert await (await api.get(path, token)).json() == {"metadata": {"new key": "v"}}


@pytest.mark.parametrize("body, message", [
    ({"metadata": {"bad/key": "v"}}, "Invalid input for field/attribute metadata."),
    ({"metadata": {"k": 5}}, "Invalid input for field/attribute k."),
    ({"metadata": {"k": "v" * 256}}, "Invalid input for field/attribute k."),
    ({"metadata": {"": "v"}}, "Invalid input for field/attribute metadata."),
    ({"metadata": ["k"]}, "Invalid input for field/attribute metadata."),
    ({"meta": {"k": "v"}}, "'metadata' is a required property"),
])
async def test_metadata_validation(api, make_user, body, message):
    token = await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), {"a": "1"})
    for method in (api.put, api.post):
        await assert_fault(await method(f"/servers/{server.uuid}/metadata", token, json=body), 400, "badRequest",
                           message)
    assert await (await api.get(f"/servers/{server.uuid}/metadata", token)).json() == {"metadata": {"a": "1"}}


async def test_metadata_roles_state_and_quota(api, make_user):
    reader = await make_user("proj-a", "reader")
    member = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    server = await _insert(api, pid, {"a": "1"})
    path = f"/servers/{server.uuid}/metadata"
    assert (await api.get(f"{path}/a", reader)).status == 200
    for resp in [await api.put(path, reader, json={"metadata": {}}),
                 await api.post(path, reader, json={"metadata": {}}),
                 await api.put(f"{path}/a", reader, json={"meta": {"a": "2"}}),
                 await api.delete(f"{path}/a", reader)]:
        await assert_fault(resp, 403, "forbidden", "os_compute_api:server-metadata:")
    building = await _insert(api, pid, vm_state=states.BUILDING)
    await assert_fault(await api.post(f"/servers/{building.uuid}/metadata", member, json={"metadata": {"x": "y"}}),
                       409, "conflictingRequest", "Cannot 'update_metadata' instance")
    too_many = {"metadata": {f"k{n}": "v" for n in range(129)}}
    await assert_fault(await api.put(path, member, json=too_many), 403, "forbidden",
                       "Quota exceeded for metadata_items")
    assert await (await api.get(path, member)).json() == {"metadata": {"a": "1"}}


# ----- addresses ------------------------------------------------------------------------------------------------

async def test_ips(api, make_user):
    token = await make_user("proj-a", "reader")
    server = await _insert(api, _project_id(api, "proj-a"))
    resp = await api.get(f"/servers/{server.uuid}/ips", token)
    assert resp.status == 200 and await resp.json() == {"addresses": {}}
    await assert_fault(await api.get(f"/servers/{server.uuid}/ips/private", token), 404, "itemNotFound",
                       "Instance is not a member of specified network")
    await assert_fault(await api.get(f"/servers/{uuid.uuid4()}/ips", token), 404, "itemNotFound")
