"""Ladder step 2.104 (issue 10): PUT /servers/{id} unpins (null) or pins again `pinned_availability_zone`, with
Nova's 409s, shown at 2.103 and at 2.104 (the advertised maximum) against Nova's record."""
from __future__ import annotations

import pytest

from nodecompute import app as app_module
from tests import oracle
from tests.api.conftest import ladder_dialect
from tests.api.helpers import Api, assert_fault
from tests.api.ladder_fixtures import at, insert, project_id

SHOW = "/servers/{server_id}"
UNPIN_FIRST = ("Cannot change pinned availability zone directly. Unpin first by setting pinned_availability_zone "
               "to null.")


@pytest.fixture
async def api(aiohttp_client, ladder_app, monkeypatch) -> Api:
    monkeypatch.setattr(app_module, "OPENSTACK", ladder_dialect((2, 104)))
    return Api(await aiohttp_client(ladder_app(with_servers=True)))


async def _pin(api: Api, token: str, server_id: str, zone, version: str = "2.104"):
    return await api.put(f"/servers/{server_id}", token, json={"server": {"pinned_availability_zone": zone}},
                         **at(version))


async def _zone(api: Api, token: str, server_id: str) -> str | None:
    resp = await api.get(f"/servers/{server_id}", token, **at("2.104"))
    return (await resp.json())["server"]["pinned_availability_zone"]


async def test_2_104_unpin_and_pin_again(api, make_user):
    member = await make_user("proj-a", "member")
    server = await insert(api, project_id(api, "proj-a"), pinned_availability_zone="nova")
    await assert_fault(await _pin(api, member, server.uuid, None, "2.103"), 400, "badRequest",
                       "('pinned_availability_zone' was unexpected)")
    await assert_fault(await _pin(api, member, server.uuid, "elsewhere"), 409, "conflictingRequest", UNPIN_FIRST)
    resp = await _pin(api, member, server.uuid, None)
    body = await resp.json()
    assert resp.status == 200 and body["server"]["pinned_availability_zone"] is None
    oracle.validate_with_tempest("PUT", SHOW, None, "2.100", resp.status, body)  # Tempest's last servers schema
    oracle.assert_keys_like_nova(body, "PUT", SHOW, None, "2.104")
    assert await _zone(api, member, server.uuid) is None
    assert (await (await _pin(api, member, server.uuid, None)).json())["server"]["pinned_availability_zone"] is None
    await assert_fault(await _pin(api, member, server.uuid, "elsewhere"), 409, "conflictingRequest",
                       "Server can only be pinned to its current availability zone 'nova', but 'elsewhere' was "
                       "requested.")
    assert await _zone(api, member, server.uuid) is None  # a refused request changes nothing
    resp = await _pin(api, member, server.uuid, "nova")
    assert resp.status == 200 and (await resp.json())["server"]["pinned_availability_zone"] == "nova"
    assert (await (await _pin(api, member, server.uuid, "nova")).json())["server"]["pinned_availability_zone"] == \
        "nova"
    for bad in ("", 7, "x" * 256):
        await assert_fault(await _pin(api, member, server.uuid, bad), 400, "badRequest")
    assert await _zone(api, member, server.uuid) == "nova"
