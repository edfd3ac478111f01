"""The microversion ladder on the server lists (issue 9): 2.5 `ip6` for non-admins, 2.38 an unknown status is 400;
each request at the version before the step and at it."""
from __future__ import annotations

import pytest

from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)


async def _ids(api, token, query: str, version: str) -> list[str]:
    resp = await api.get(f"/servers{query}", token, **at(version))
    assert resp.status == 200, await resp.text()
    return [s["id"] for s in (await resp.json())["servers"]]


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


async def test_2_5_ip6_for_non_admins(api, member, admin_token):
    server = await insert(api, project_id(api, "proj-a"))
    assert await _ids(api, member, "?ip6=2001:db8::5", "2.4") == [server.uuid]  # dropped: an admin-only filter
    assert await _ids(api, member, "?ip6=2001:db8::5", "2.5") == []  # honoured: no server has an address yet
    assert await _ids(api, admin_token, "?all_tenants=1&ip6=2001:db8::5", "2.4") == []


@pytest.mark.parametrize("detail", ["", "/detail"])
async def test_2_38_unknown_status(api, member, admin_token, detail):
    server = await insert(api, project_id(api, "proj-a"))
    for token in (member, admin_token):
        assert await _ids(api, token, f"{detail}?status=SLEEPING", "2.37") == []
        await assert_fault(await api.get(f"/servers{detail}?status=SLEEPING", token, **at("2.38")), 400,
                           "badRequest", "Invalid status value")
    assert await _ids(api, member, f"{detail}?status=ACTIVE", "2.38") == [server.uuid]
    assert await _ids(api, member, f"{detail}?status=SLEEPING&status=active", "2.38") == [server.uuid]
