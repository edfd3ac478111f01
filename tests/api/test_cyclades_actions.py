"""Cyclades' server actions (dialects.md D9, D35, D36, D38) on libvirt's test driver: `shutdown` and `start`
(#311, #312), the unsupported ones 400, and the status both dialects show for the same server."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import quotas_key, servers_key
from nodecompute.app import store_key
from nodecompute.db import identity as identity_db
from nodecompute.db import public_serials
from nodecompute.db import servers as servers_db
from tests.api.cyclades_fixtures import Cyc, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, assert_fault, upload_raw_image


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


@pytest.fixture
async def made(api) -> tuple[Cyc, str, str]:
    """(client, serial, uuid) of an ACTIVE server made through /cyclades."""
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = (await cyc.ok("POST", "/servers", json={"server": {"name": "vm", "imageRef": image, "flavorRef": 1,
                                                                "networks": []}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    uuid = api.client.server.app[store_key].read(public_serials.server_by_serial, int(server["id"]))[0]
    return cyc, server["id"], uuid


async def _act(api: Api, cyc: Cyc, serial: str, body: dict) -> None:
    resp = await cyc.post(f"/servers/{serial}/action", json=body)
    assert resp.status == 202 and await resp.read() == b"", await resp.text()
    await api.client.server.app[servers_key].wait_idle()


async def _statuses(api: Api, cyc: Cyc, serial: str, uuid: str) -> tuple[str, str]:
    cyclades = (await cyc.ok("GET", f"/servers/{serial}"))["server"]["status"]
    nova = (await (await api.get(f"/servers/{uuid}", cyc.token)).json())["server"]["status"]
    return cyclades, nova


async def test_shutdown_and_start(api, made):
    # seed 000 line 1759 (Example Shutdown Server) and 1705 (Start server): 202, no body (D35)
    cyc, serial, uuid = made
    await _act(api, cyc, serial, {"shutdown": {}})
    assert await _statuses(api, cyc, serial, uuid) == ("STOPPED", "SHUTOFF")
    await assert_fault(await cyc.post(f"/servers/{serial}/action", json={"shutdown": {}}), 409,
                       "conflictingRequest")
    await _act(api, cyc, serial, {"start": {}})
    assert await _statuses(api, cyc, serial, uuid) == ("ACTIVE", "ACTIVE")


async def test_reboot_both_types(api, made):
    # seed 000 line 1728 (Reboot Server example, SOFT; HARD alike): 202 (D36)
    cyc, serial, uuid = made
    for kind in ("SOFT", "HARD"):
        await _act(api, cyc, serial, {"reboot": {"type": kind}})
        assert await _statuses(api, cyc, serial, uuid) == ("ACTIVE", "ACTIVE")


@pytest.mark.parametrize("body", [{"rebuild": {"imageRef": "x"}}, {"confirmResize": None}, {"revertResize": None},
                                  {"changePassword": {"adminPass": "x"}}, {"createImage": {"name": "x"}}])
async def test_unsupported_actions_are_400(api, made, body):
    # D9, D38: the actions Cyclades does not serve
    cyc, serial, _uuid = made
    await assert_fault(await cyc.post(f"/servers/{serial}/action", json=body), 400, "badRequest")


async def test_resize_is_confirmed_automatically(api, made):
    # seed 000 line 1744 (resize example, an integer flavorRef: 202), D37: no VERIFY_RESIZE to confirm
    cyc, serial, uuid = made
    flavors = (await cyc.ok("GET", "/flavors/detail"))["flavors"]
    current = (await cyc.ok("GET", f"/servers/{serial}"))["server"]["flavor"]["id"]
    bigger = next(f["id"] for f in flavors if f["id"] != current and f["disk"] >= 1)
    await _act(api, cyc, serial, {"resize": {"flavorRef": bigger}})
    shown = (await cyc.ok("GET", f"/servers/{serial}"))["server"]
    assert (shown["status"], shown["flavor"]["id"], shown["SNF:task_state"]) == ("ACTIVE", bigger, "")
    assert await _statuses(api, cyc, serial, uuid) == ("ACTIVE", "ACTIVE")


async def test_reassign_moves_usage_and_visibility(api, made, make_user):
    # seed 000 line 1850 (Example Action reassign), #328 and the decisions: 403, 413, usage moves
    cyc, serial, uuid = made
    quotas = api.client.server.app[quotas_key]
    owner = Cyc(api, await make_user("admin", "member", name="mover"))
    store = api.client.server.app[store_key]
    await make_user("target", "member", name="target-member")
    target = store.read(identity_db.find_project, "target").id
    mover = store.read(identity_db.find_user, "mover")[0]
    await store.write(identity_db.grant_role, mover.id, target, "member")  # the mover is a member of both
    await make_user("elsewhere", "member", name="stranger")
    elsewhere = api.client.server.app[store_key].read(identity_db.find_project, "elsewhere").id
    source = api.client.server.app[store_key].read(identity_db.find_project, "admin").id
    before = (quotas.usage(source), quotas.usage(target))
    await assert_fault(await owner.post(f"/servers/{serial}/action", json={"reassign": {"project": elsewhere}}),
                       403, "forbidden")
    await quotas.update_project(target, {"cores": 0})
    await assert_fault(await owner.post(f"/servers/{serial}/action", json={"reassign": {"project": target}}),
                       413, "overLimit")
    assert (quotas.usage(source), quotas.usage(target)) == before
    await quotas.update_project(target, {"cores": 20})
    resp = await owner.post(f"/servers/{serial}/action", json={"reassign": {"project": target}})
    assert resp.status == 202, await resp.text()
    after_source, after_target = quotas.usage(source), quotas.usage(target)
    server = api.client.server.app[store_key].read(servers_db.get_server, uuid)
    for key, amount in (("instances", 1), ("cores", server.vcpus), ("ram", server.memory_mb)):
        assert before[0][key] - after_source[key] == amount and after_target[key] - before[1][key] == amount
    assert server.project_id == target
