"""The signalling-only steps of the ladder on the server routes (issue 9): 2.18 the project id in the URL is
optional, 2.27 the `OpenStack-API-Version` header, 2.46 `X-OpenStack-Request-ID`. Nova answers the same way
before and at each of them; each is shown at the version before and at its version."""
from __future__ import annotations

import pytest

from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)


@pytest.mark.parametrize("version", ["2.17", "2.18"])
async def test_2_18_project_id_in_the_url_is_optional(api, make_user, version):
    token = await make_user("proj-a", "member")
    pid = project_id(api, "proj-a")
    server = await insert(api, pid)
    for prefix in ("", f"/{pid}"):
        resp = await api.get(f"{prefix}/servers/{server.uuid}", token, **at(version))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["server"]["id"] == server.uuid


@pytest.mark.parametrize("version", ["2.26", "2.27"])
async def test_2_27_both_version_headers(api, admin_token, version):
    for headers in ({"OpenStack-API-Version": f"compute {version}"}, {"X-OpenStack-Nova-API-Version": version}):
        resp = await api.get("/servers", admin_token, headers=headers)
        assert resp.status == 200
        assert resp.headers["OpenStack-API-Version"] == f"compute {version}"
        assert resp.headers["X-OpenStack-Nova-API-Version"] == version
        assert resp.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    both = {"OpenStack-API-Version": f"compute {version}", "X-OpenStack-Nova-API-Version": "2.1"}
    resp = await api.get("/servers", admin_token, headers=both)  # the new header wins
    assert resp.headers["X-OpenStack-Nova-API-Version"] == version


@pytest.mark.parametrize("version", ["2.45", "2.46"])
async def test_2_46_both_request_id_headers(api, admin_token, version):
    resp = await api.get("/servers", admin_token, **at(version))
    assert resp.headers["X-OpenStack-Request-ID"].startswith("req-")
    assert resp.headers["X-Compute-Request-ID"] == resp.headers["X-OpenStack-Request-ID"]
