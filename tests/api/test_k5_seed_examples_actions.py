"""The K5 seed's documented server create and action examples (seeds/003 section 1.2.6), sent through
/k5/v2/{tenant_id} to servers the test makes on libvirt's test:///: create's keys as the example's (strict,
tests/api/k5_examples.py); the actions with no response shown give their code with no body, and the status the
action leads to as K5 shows it (STOPPED, D28). Each step names the seed line of its example."""
from __future__ import annotations

from nodecompute.api import k5_compute
from nodecompute.api.keys import servers_key
from tests.api.helpers import assert_fault
from tests.api.k5_examples import assert_like
from tests.api.test_k5_compute import _body, _k5, k5_world  # noqa: F401 (fixture)
from tests.api.test_metadata_wiring import cloud  # noqa: F401 (fixture)

STEPS = [  # (seed line, request body, status after)
    (1407, {"reboot": {"type": "SOFT"}}, "ACTIVE"),
    (4489, {"os-stop": None}, "STOPPED"),
    (4456, {"os-start": None}, "ACTIVE"),
    (4997, {"shelve": None}, "SHELVED_OFFLOADED"),
    (5031, {"unshelve": None}, "ACTIVE"),
]


async def test_actions_l1407_l4489_l4456_l4997_l5031(k5_world):  # noqa: F811
    api, admin, image_id, network_id, _ = k5_world
    resp = await _k5(api, "POST", "/servers", admin, json=_body(image_id, network_id))
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    app = api.client.server.app
    await app[servers_key].wait_idle()
    for line, body, status in STEPS:
        resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json=body)
        assert (resp.status, await resp.read()) == (202, b""), (line, await resp.text())
        await app[servers_key].wait_idle()
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]
        assert (line, shown["id"], shown["status"]) == (line, server_id, status)


async def test_resize_confirm_revert_l1570_l1599_l1626(k5_world):  # noqa: F811
    api, admin, image_id, network_id, _ = k5_world
    resp = await _k5(api, "POST", "/servers", admin, json=_body(image_id, network_id))
    server_id = (await resp.json())["server"]["id"]
    app = api.client.server.app
    await app[servers_key].wait_idle()
    flavors = (await (await _k5(api, "GET", "/flavors", admin)).json())["flavors"]
    other = next(f["id"] for f in flavors if f["id"] != "42" and f["disk"] >= 1)
    # the seed's codes: confirm 204 (section 1.2.6.9), revert 202 (1.2.6.10)
    for line, confirm, code in ((1599, {"confirmResize": None}, 204), (1626, {"revertResize": None}, 202)):
        start = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]["flavor"]["id"]
        target = other if start != other else "42"
        resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"resize": {"flavorRef": target}})
        assert (resp.status, await resp.read()) == (202, b""), (1570, await resp.text())  # L1570
        await app[servers_key].wait_idle()
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]
        assert (shown["status"], shown["flavor"]["id"]) == ("VERIFY_RESIZE", target)
        resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json=confirm)
        assert (resp.status, await resp.read()) == (code, b""), (line, resp.status)
        await app[servers_key].wait_idle()
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]
        assert (shown["status"], shown["flavor"]["id"]) == ("ACTIVE", target if line == 1599 else start)


async def test_create_l923_l990(k5_world):  # noqa: F811
    api, admin, image_id, network_id, _ = k5_world
    example = {"server": {"name": "server-test-1", "imageRef": image_id, "flavorRef": "42",
                          "networks": [{"uuid": network_id}]}}  # L923 (its flavor "2" is the test cloud's "42")
    # as shown, with no boot mapping: refused (issue 25's decision, docs/k5.md)
    await assert_fault(await _k5(api, "POST", "/servers", admin, json=example), 400, "badRequest",
                       k5_compute.BOOT_FROM_VOLUME)
    body = {"server": {**example["server"],
                       "block_device_mapping_v2": _body(image_id, network_id)["server"]["block_device_mapping_v2"]}}
    resp = await _k5(api, "POST", "/servers", admin, json=body)
    assert resp.status == 202, await resp.text()
    made = await resp.json()
    href = "http://166.78.46.130:8774/v2/4fd44f30292945e481c7b8a0c8908869/servers/c6d04159-9bfc-4ab8-823d-0d5ca2abe152"
    assert_like(made, {"server": {"security_groups": [{"name": "default"}], "OS-DCF:diskConfig": "MANUAL",
                                  "id": "c6d04159-9bfc-4ab8-823d-0d5ca2abe152",
                                  "links": [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}],
                                  "adminPass": "aabbccddeeff"}})  # L990
    server = made["server"]
    await api.client.server.app[servers_key].wait_idle()
    shown = (await (await _k5(api, "GET", f"/servers/{server['id']}", admin)).json())["server"]
    assert (shown["id"], shown["name"], shown["status"]) == (server["id"], "server-test-1", "ACTIVE")
    assert server["links"][0]["href"].endswith(f"/k5/v2/servers/{server['id']}")  # as asked: no tenant in the path
