"""K5's compute differences through /k5/v2/{tenant_id} (issue 25, slice 2) on libvirt's test:///: create's K5 rules
(networks required, config_drive only false-ish at server level and inside a mapping, imageRef without a boot
mapping refused), the host name derivation checked in meta_data.json (D34, inventory 3.8), the `fcx.dedicated` and
`group` hints (D22, D25), STOPPED (D28), GET /flavors detailed (D51), metadata POST 202 echoing the keys sent
(D42), image metadata denied by role -> 500 (D14). The same servers show through /compute/v2.1 unchanged."""
from __future__ import annotations

import asyncio

import pytest

from nodecompute.api import k5_compute
from nodecompute.api.keys import config_key, reconciler_key, servers_key
from nodecompute.app import store_key
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import utcnow
from nodecompute.identity import accounts
from nodecompute.compute.metadata_documents import openstack_meta_data
from tests.api.helpers import assert_fault
from tests.api.test_metadata_wiring import _lookup, cloud  # noqa: F401 (fixture)

# inventory 3.8, Linux: (server name, guest host name); None: the core's default (Nova's sanitised name)
HOST_NAMES = [
    ("web server_01", "web-server-01"),
    ("Web.Server.", "web.server"),
    ("..DB#1!..", "db1"),
    ("a(b)c@d", "abcd"),
    ("x" * 63, "x" * 63),
    ("Long " * 13, "host-<eth0>"),  # 65 characters: host-<the eth0 fixed IP, dots as hyphens>
]
METADATA = {"who": "k5", "admin_pass": "passwordSetForInstance"}  # seed 003 §1.4's Windows password key


@pytest.mark.parametrize(("name", "expected"),
                         HOST_NAMES + [("---", None), ("x" * 64, "host-{fixed_ip}"), ("日本", None)])
def test_host_name_rules(name, expected):
    assert k5_compute.host_name(name) == (expected.replace("<eth0>", "{fixed_ip}") if expected else None)


def _k5(api, method, path, token, **kw):
    return api.client.request(method, f"/k5/v2{path}", headers={"X-Auth-Token": token}, **kw)


def _body(image_id, network_id, name="k5-vm", **server):
    mapping = [{"boot_index": "0", "uuid": image_id, "source_type": "image", "destination_type": "volume",
                "volume_size": "1", "delete_on_termination": "True"}]
    return {"server": {"name": name, "imageRef": image_id, "flavorRef": "42", "networks": [{"uuid": network_id}],
                       "block_device_mapping_v2": mapping, **server}}


@pytest.fixture
async def k5_world(cloud):  # noqa: F811
    api, admin, net, image_id, hostnet = cloud
    network = await net.network("k5net")
    await net.subnet(network["id"], "198.18.25.0/24")
    return api, admin, image_id, network["id"], hostnet


async def test_create_rules(k5_world):
    api, admin, image_id, network_id, _ = k5_world
    body = _body(image_id, network_id)
    del body["server"]["networks"]
    await assert_fault(await _k5(api, "POST", "/servers", admin, json=body), 400, "badRequest", "networks")
    for where in ("server", "mapping"):
        for value in (True, "true", "1"):
            body = _body(image_id, network_id)
            place = body["server"] if where == "server" else body["server"]["block_device_mapping_v2"][0]
            place["config_drive"] = value
            await assert_fault(await _k5(api, "POST", "/servers", admin, json=body), 400, "badRequest",
                               "config_drive")
    body = _body(image_id, network_id)
    del body["server"]["block_device_mapping_v2"]
    await assert_fault(await _k5(api, "POST", "/servers", admin, json=body), 400, "badRequest",
                       k5_compute.BOOT_FROM_VOLUME)
    # "volume" is the only destination K5 documents (seed 003 section 1.2.6.2): local (given or left out) is refused
    for destination in ("local", None):
        body = _body(image_id, network_id)
        body["server"]["block_device_mapping_v2"].append({"source_type": "blank", "volume_size": "1",
                                                          "boot_index": "-1", "destination_type": destination})
        if destination is None:
            del body["server"]["block_device_mapping_v2"][1]["destination_type"]
        await assert_fault(await _k5(api, "POST", "/servers", admin, json=body), 400, "badRequest",
                           k5_compute.VOLUME_DESTINATION)
    # nothing was made; the openstack face takes the same imageRef-only body
    assert (await (await _k5(api, "GET", "/servers", admin)).json())["servers"] == []


async def test_host_names_in_meta_data_and_k5_views(k5_world):
    api, admin, image_id, network_id, hostnet = k5_world
    made = {}
    for name, expected in HOST_NAMES:
        body = _body(image_id, network_id, name=name, config_drive="false", metadata=dict(METADATA))
        if expected == HOST_NAMES[0][1]:
            body["os:scheduler_hints"] = {k5_compute.DEDICATED: "true"}
        resp = await _k5(api, "POST", "/servers", admin, json=body)
        assert resp.status == 202, await resp.text()
        made[(await resp.json())["server"]["id"]] = expected
    app = api.client.server.app
    await app[servers_key].wait_idle()
    lookup = _lookup(api, hostnet)
    namespace = hostnet.dhcp_namespace(network_id)
    for server_id, expected in made.items():
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]
        address = shown["addresses"]["k5net"][0]["addr"]
        md = await lookup(namespace, address)
        assert md.uuid == server_id
        document = openstack_meta_data(md, "latest")
        expected = expected.replace("<eth0>", address.replace(".", "-"))
        assert document["hostname"] == f"{expected}.{md.dhcp_domain}"
        assert document["meta"] == METADATA  # admin_pass reaches cloudbase-init through `meta` (D32, D50)
        dedicated = expected == HOST_NAMES[0][1]
        assert (shown.get("OS-SCH-HNT:scheduler_hints") == {"fcx.dedicated": "True"}) == dedicated
    # limit and marker are served (D18), the next link under /k5/v2
    page = await (await _k5(api, "GET", "/servers?limit=2", admin)).json()
    assert len(page["servers"]) == 2 and "/k5/v2/" in page["servers_links"][0]["href"]
    rest = await (await _k5(api, "GET", f"/servers/detail?marker={page['servers'][-1]['id']}", admin)).json()
    assert {s["id"] for s in rest["servers"]} == set(made) - {s["id"] for s in page["servers"]}
    # the same servers through the openstack face, without K5's keys
    listed = (await (await api.get("/servers/detail", admin)).json())["servers"]
    assert {server["id"] for server in listed} == set(made)
    assert all("OS-SCH-HNT:scheduler_hints" not in server for server in listed)

    first = next(iter(made))
    resp = await _k5(api, "POST", f"/servers/{first}/action", admin, json={"os-stop": None})
    assert resp.status == 202, await resp.text()
    await app[servers_key].wait_idle()
    assert (await (await _k5(api, "GET", f"/servers/{first}", admin)).json())["server"]["status"] == "STOPPED"
    for path in ("/servers?status=STOPPED", "/servers/detail?status=stopped"):
        listed = (await (await _k5(api, "GET", path, admin)).json())["servers"]
        assert [s["id"] for s in listed] == [first]
    assert len((await (await _k5(api, "GET", "/servers?status=ACTIVE", admin)).json())["servers"]) == len(made) - 1
    detail = (await (await _k5(api, "GET", "/servers/detail", admin)).json())["servers"]
    assert {s["id"]: s["status"] for s in detail}[first] == "STOPPED"
    assert (await (await api.get(f"/servers/{first}", admin)).json())["server"]["status"] == "SHUTOFF"

    # metadata POST: 202, only the keys sent (the server keeps the others)
    resp = await _k5(api, "POST", f"/servers/{first}/metadata", admin, json={"metadata": {"added": "1"}})
    assert resp.status == 202 and await resp.json() == {"metadata": {"added": "1"}}
    kept = (await (await api.get(f"/servers/{first}/metadata", admin)).json())["metadata"]
    assert kept == {**METADATA, "added": "1"}


async def test_get_flavors_is_detailed(k5_world):
    api, admin, *_ = k5_world
    k5_list = (await (await _k5(api, "GET", "/flavors", admin)).json())["flavors"]
    detail = (await (await _k5(api, "GET", "/flavors/detail", admin)).json())["flavors"]
    assert k5_list == detail and {"ram", "vcpus", "disk", "os-flavor-access:is_public"} <= set(k5_list[0])
    assert set((await (await api.get("/flavors", admin)).json())["flavors"][0]) == {"id", "links", "name"}


async def _reader(api, cfg) -> str:
    """A reader of the admin project, in this app's store."""
    def create(db):
        return accounts.create_user(db, cfg, "k5-reader", "admin", "reader", "pw-k5-reader", now=utcnow())

    await api.client.server.app[store_key].write(create)
    return await api.token("k5-reader", "pw-k5-reader", "admin")


async def test_image_metadata_denied_by_role_is_500(k5_world, cfg):
    api, admin, image_id, *_ = k5_world
    reader = await _reader(api, cfg)
    body = {"metadata": {"k": "v"}}
    await assert_fault(await _k5(api, "POST", f"/images/{image_id}/metadata", reader, json=body), 500,
                       "cloudServersFault")
    await assert_fault(await api.post(f"/images/{image_id}/metadata", reader, json=body), 403, "forbidden")


async def test_keypairs_and_server_groups_in_the_zone(k5_world):
    api, admin, *_ = k5_world
    zone = api.client.server.app[config_key].compute.availability_zone
    made = await _k5(api, "POST", "/os-keypairs", admin, json={"keypair": {"name": "k5kp", "availability_zone": zone}})
    assert made.status == 200, await made.text()
    assert set((await made.json())["keypair"]) >= {"name", "public_key", "fingerprint", "user_id"}
    await assert_fault(await _k5(api, "POST", "/os-keypairs", admin, json={"keypair": {
        "name": "elsewhere", "availability_zone": "jp-east-1a"}}), 400, "badRequest")
    shown = await (await _k5(api, "GET", f"/os-keypairs/k5kp?availability_zone={zone}", admin)).json()
    assert shown["keypair"]["availability_zone"] == zone and shown["keypair"]["name"] == "k5kp"
    await assert_fault(await _k5(api, "GET", "/os-keypairs/k5kp?availability_zone=jp-east-1a", admin), 400)
    await assert_fault(await _k5(api, "DELETE", "/os-keypairs/k5kp?availability_zone=jp-east-1a", admin), 400)
    assert "availability_zone" not in (await (await api.get("/os-keypairs/k5kp", admin)).json())["keypair"]
    assert (await _k5(api, "DELETE", f"/os-keypairs/k5kp?availability_zone={zone}", admin)).status == 202

    body = {"server_group": {"name": "g", "policies": ["anti-affinity"], "availability_zone": zone}}
    made = await _k5(api, "POST", "/os-server-groups", admin, json=body)
    assert made.status == 200, await made.text()
    group = (await made.json())["server_group"]
    shown = await (await _k5(api, "GET", f"/os-server-groups/{group['id']}", admin)).json()
    assert shown == {"server_group": group, "availability_zone": zone}
    body["server_group"]["policies"] = ["anti-affinity", "affinity"]
    await assert_fault(await _k5(api, "POST", "/os-server-groups", admin, json=body), 400)
    body["server_group"].update(policies=["affinity"], availability_zone="jp-east-1a")
    await assert_fault(await _k5(api, "POST", "/os-server-groups", admin, json=body), 400)


async def test_reboot_is_hard_consoles_novnc_and_console_output_length(k5_world, monkeypatch):
    api, admin, image_id, network_id, _ = k5_world
    resp = await _k5(api, "POST", "/servers", admin, json=_body(image_id, network_id))
    server_id = (await resp.json())["server"]["id"]
    app = api.client.server.app
    await app[servers_key].wait_idle()
    asked = []
    real_act = app[servers_key].act

    async def act(ctx, uuid, request):
        asked.append((request.action, request.work))
        return await real_act(ctx, uuid, request)

    monkeypatch.setattr(app[servers_key], "act", act)
    # every reboot runs the hard reboot's work (D36); the status follows the type asked, kept as the server's
    # task_state in the database (no memory of the face's: a restart shows it as well): REBOOT after SOFT,
    # HARD_REBOOT after HARD, here while the work is held
    store, release = app[servers_key].store, asyncio.Event()
    hard_work = app[servers_key].actions.work["reboot_hard"]
    ran = []

    async def held_hard_work(guests, server, started):
        await release.wait()
        ran.append(server.uuid)
        await hard_work(guests, server, started)

    monkeypatch.setitem(app[servers_key].actions.work, "reboot_hard", held_hard_work)
    for kind, task, status in (("SOFT", states.REBOOTING, "REBOOT"), ("HARD", states.REBOOTING_HARD, "HARD_REBOOT")):
        release.clear()
        resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"reboot": {"type": kind}})
        assert resp.status == 202, await resp.text()
        assert store.read(servers_db.get_server, server_id).task_state == task
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]
        assert shown["status"] == status
        assert (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]["status"] == status
        release.set()
        await app[servers_key].wait_idle()
        assert store.read(servers_db.get_server, server_id).task_state is None
    # the type is ignored where Nova allows only HARD (seed 003 section 1.2.6.6): SOFT of a stopped server runs hard
    resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"os-stop": None})
    assert resp.status == 202, await resp.text()
    await app[servers_key].wait_idle()
    resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"reboot": {"type": "SOFT"}})
    assert resp.status == 202, await resp.text()
    assert store.read(servers_db.get_server, server_id).task_state == states.REBOOTING_HARD
    await app[servers_key].wait_idle()
    assert [a for a in asked if a[0].startswith("reboot")] == [
        ("reboot", "reboot_hard"), ("reboot_hard", None), ("reboot_hard", None)]
    assert ran == [server_id] * 3
    assert store.read(servers_db.get_server, server_id).vm_state == states.ACTIVE
    await assert_fault(await _k5(api, "POST", f"/servers/{server_id}/action", admin,
                                 json={"os-getVNCConsole": {"type": "xvpvnc"}}), 400)
    # rebuild without imageRef: the current image (D38)
    resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"rebuild": {"name": "again"}})
    assert resp.status == 202, await resp.text()
    rebuilt = (await resp.json())["server"]
    assert rebuilt["image"]["id"] == image_id and rebuilt["name"] == "again"
    await app[servers_key].wait_idle()
    for length in (5, "5"):
        resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin,
                         json={"os-getConsoleOutput": {"length": length}})
        assert resp.status == 200, await resp.text()
        assert isinstance((await resp.json())["output"], str)


async def test_autofailover_restarts_a_guest_found_gone_at_start(k5_world):
    """fcx.autofailover "true" (inventory 3.9, behaviour.md section 12): a guest killed while the daemon was down is
    ACTIVE again after the start-up reconciliation; with "false", and for an ERROR server, it is not."""
    api, admin, image_id, network_id, _ = k5_world
    app = api.client.server.app
    service = app[servers_key]
    made = {}
    for name, value in (("fails-over", "true"), ("stays-down", "false"), ("broken", "true")):
        body = _body(image_id, network_id, name=name, metadata={"fcx.autofailover": value})
        resp = await _k5(api, "POST", "/servers", admin, json=body)
        assert resp.status == 202, await resp.text()
        made[name] = (await resp.json())["server"]["id"]
    await service.wait_idle()
    await app[store_key].write(servers_db.set_fault, made["broken"], 500, "broken on purpose", now=utcnow())
    for server_id in made.values():  # QEMU killed while the daemon is down
        row = app[store_key].read(servers_db.get_server, server_id)
        await service.guests.hv.destroy(row.instance_name)
    await app[reconciler_key].at_start()
    await service.wait_idle()
    shown = {name: (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]["status"]
             for name, server_id in made.items()}
    assert shown == {"fails-over": "ACTIVE", "stays-down": "STOPPED", "broken": "ERROR"}
    row = app[store_key].read(servers_db.get_server, made["fails-over"])
    assert await service.guests.hv.power_state(row.instance_name) == states.RUNNING
