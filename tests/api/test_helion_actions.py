"""Helion's server actions on the scripted test hypervisor (issue 24 slice 4; dialects.md D9, D36, D39): every
reboot is hard with the status of the requested type, resize is 403 resizeNotAllowed, unrescue is 200."""
from __future__ import annotations

from nodecompute.api.keys import identity_key, servers_key
from nodecompute.domain import states
from tests.api.helpers import assert_fault
from tests.api.test_server_actions import _row, scripted  # noqa: F401 (fixture)


def _helion(api, token):
    project = api.client.server.app[identity_key].validate(token).project_id

    def call(method: str, path: str, **kw):
        return api.client.request(method, f"/helion/v2/{project}{path}", headers={"X-Auth-Token": token}, **kw)
    return call


async def _reboot_while_held(api, admin, hv, server_id, kind: str) -> tuple[str, str | None]:
    helion = _helion(api, admin)
    held = hv.hold("destroy")
    calls_before = len(hv.calls)
    resp = await helion("POST", f"/servers/{server_id}/action", json={"reboot": {"type": kind}})
    assert resp.status == 202, await resp.text()
    try:
        await held.wait_reached()
        shown = (await (await helion("GET", f"/servers/{server_id}")).json())["server"]
    finally:
        held.release()
    await api.client.server.app[servers_key].wait_idle()
    assert "shutdown" not in hv.calls[calls_before:]  # no ACPI power-off: hard, whatever was asked
    return shown["status"], shown["OS-EXT-STS:task_state"]


async def test_every_reboot_is_hard_and_the_status_follows_the_type(scripted):  # noqa: F811
    api, admin, hv, server_id = scripted
    status, task = await _reboot_while_held(api, admin, hv, server_id, "SOFT")
    assert status == "REBOOT" and task in states.SOFT_REBOOT_TASKS
    status, task = await _reboot_while_held(api, admin, hv, server_id, "HARD")
    assert status == "HARD_REBOOT" and task in states.HARD_REBOOT_TASKS
    row = _row(api, server_id)
    assert (row.vm_state, row.task_state) == (states.ACTIVE, None)


async def test_resize_is_not_allowed_and_confirm_stays_openstacks(scripted):  # noqa: F811
    api, admin, hv, server_id = scripted
    helion = _helion(api, admin)
    resp = await helion("POST", f"/servers/{server_id}/action", json={"resize": {"flavorRef": "42"}})
    await assert_fault(resp, 403, "resizeNotAllowed")
    resp = await helion("POST", f"/servers/{server_id}/action", json={"confirmResize": None})
    await assert_fault(resp, 409, "conflictingRequest")
    assert _row(api, server_id).flavorid == "42"


async def test_unrescue_is_200(scripted):  # noqa: F811
    api, admin, hv, server_id = scripted
    helion = _helion(api, admin)
    resp = await helion("POST", f"/servers/{server_id}/action", json={"rescue": None})
    assert resp.status == 200, await resp.text()
    await api.client.server.app[servers_key].wait_idle()
    assert _row(api, server_id).vm_state == states.RESCUED
    resp = await helion("POST", f"/servers/{server_id}/action", json={"unrescue": None})
    assert resp.status == 200 and await resp.read() == b""
    await api.client.server.app[servers_key].wait_idle()
    assert _row(api, server_id).vm_state == states.ACTIVE


async def test_addresses_are_keyed_by_network_name_and_ips_takes_the_name(scripted):  # noqa: F811
    """D33 (seed 002 lines 2790, 2857): `addresses` by network name; `ips/{name}` answers, a network UUID does not."""
    from tests.api.test_helion_xml_requests import Helion

    helion = Helion(scripted)
    server_id = await helion.networked_server()
    addresses = (await helion.server(server_id))["addresses"]
    assert list(addresses) == ["xml-net"]
    by_name = await helion.json(f"/servers/{server_id}/ips/xml-net")
    assert by_name == {"xml-net": [{"version": 4, "addr": addresses["xml-net"][0]["addr"]}]}
    networks = await helion.api.client.get("/networking/v2.0/networks", headers={"X-Auth-Token": helion.token})
    network_id = next(n["id"] for n in (await networks.json())["networks"] if n["name"] == "xml-net")
    await assert_fault(await helion.call("GET", f"/servers/{server_id}/ips/{network_id}"), 404, "itemNotFound")
