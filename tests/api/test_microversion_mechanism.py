"""The microversion mechanism (issue 9, nova-facts.md section 3.3): both request headers read as Nova reads them,
400 and 406 with Nova's messages and headers, `Vary` on every /v2.1 answer, routes and action keys with a
microversion range, and the signalling-only steps 2.18, 2.27 and 2.46."""
from __future__ import annotations

import pytest

from nodecompute.api import flavors
from nodecompute.api.microversions import version_text
from tests.api.conftest import LADDER_TOP
from tests.api.helpers import assert_fault

VARY = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
TOP = version_text(LADDER_TOP)


@pytest.fixture
async def api(ladder_api):
    return ladder_api


def _served_at(resp, version: str) -> None:
    assert resp.headers["OpenStack-API-Version"] == f"compute {version}"
    assert resp.headers["X-OpenStack-Nova-API-Version"] == version
    assert resp.headers["Vary"] == VARY


@pytest.mark.parametrize("headers, version", [
    ({}, "2.1"),
    ({"OpenStack-API-Version": "compute 2.10"}, "2.10"),
    ({"X-OpenStack-Nova-API-Version": "2.10"}, "2.10"),
    ({"OpenStack-API-Version": "compute latest"}, TOP),
    ({"X-OpenStack-Nova-API-Version": "latest"}, TOP),
    ({"OpenStack-API-Version": "COMPUTE   2.7 "}, "2.7"),  # the service name is matched without case
    # the standard header wins over the legacy one
    ({"OpenStack-API-Version": "compute 2.3", "X-OpenStack-Nova-API-Version": "2.9"}, "2.3"),
    # another service's entry is not ours: the legacy header decides
    ({"OpenStack-API-Version": "volume 3.50", "X-OpenStack-Nova-API-Version": "2.9"}, "2.9"),
    ({"OpenStack-API-Version": "volume 3.50"}, "2.1"),
    # the last entry naming compute wins; the legacy header's last value
    ({"OpenStack-API-Version": "compute 2.2, volume 3.0, compute 2.4"}, "2.4"),
    ({"X-OpenStack-Nova-API-Version": "2.2, 2.5"}, "2.5"),
])
async def test_the_requested_version(api, admin_token, headers, version):
    resp = await api.get("/flavors", admin_token, headers=headers)
    assert resp.status == 200, await resp.text()
    _served_at(resp, version)


async def test_repeated_header_lines_fold_like_one(api, admin_token):
    headers = [("X-Auth-Token", admin_token), ("OpenStack-API-Version", "compute 2.2"),
               ("OpenStack-API-Version", "compute 2.6")]
    resp = await api.client.get("/compute/v2.1/flavors", headers=headers)
    assert resp.status == 200
    _served_at(resp, "2.6")


@pytest.mark.parametrize("headers, value", [
    ({"OpenStack-API-Version": "compute two"}, "two"),
    ({"OpenStack-API-Version": "compute 2"}, "2"),
    ({"OpenStack-API-Version": "compute 2.01"}, "2.01"),
    ({"OpenStack-API-Version": "compute 02.1"}, "02.1"),
    ({"OpenStack-API-Version": "compute 2.1.1"}, "2.1.1"),
    ({"OpenStack-API-Version": "compute LATEST"}, "LATEST"),
    ({"X-OpenStack-Nova-API-Version": "2.x"}, "2.x"),
])
async def test_a_malformed_version_is_400_naming_no_version(api, admin_token, headers, value):
    resp = await api.get("/flavors", admin_token, headers=headers)
    await assert_fault(resp, 400, "badRequest",
                       f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum.")
    # Nova fails before any version is set: its fault carries neither version header nor Vary
    assert "OpenStack-API-Version" not in resp.headers and "X-OpenStack-Nova-API-Version" not in resp.headers
    assert "Vary" not in resp.headers


@pytest.mark.parametrize("asked", ["2.0", f"2.{LADDER_TOP[1] + 1}", "3.0", "1.1"])
async def test_out_of_range_is_406_naming_the_version_asked(api, admin_token, asked):
    resp = await api.get("/flavors", admin_token, headers={"OpenStack-API-Version": f"compute {asked}"})
    fault = await assert_fault(resp, 406, "computeFault")
    assert fault["message"] == f"Version {asked} is not supported by the API. Minimum is 2.1 and maximum is {TOP}."
    _served_at(resp, asked)


async def test_the_token_is_checked_before_the_version(api):
    """In Nova Keystone's middleware answers 401 before the API reads the version header."""
    for asked in ("compute 2.200", "compute two"):
        resp = await api.get("/flavors", headers={"OpenStack-API-Version": asked})
        assert resp.status == 401, asked
        assert "OpenStack-API-Version" not in resp.headers
    # the version documents need no token: the version decides
    await assert_fault(await api.client.get("/compute/v2.1", headers={"OpenStack-API-Version": "compute 2.200"}),
                       406, "computeFault")


async def test_version_headers_and_vary_on_every_v21_answer(api, admin_token):
    mv = {"OpenStack-API-Version": "compute 2.5"}
    answers = [
        await api.get("/flavors", admin_token, headers=mv),  # 200
        await api.get("/flavors/nope", admin_token, headers=mv),  # 404 fault
        await api.get("/no-such-thing", admin_token, headers=mv),  # unknown route
        await api.get("/flavors", headers=mv),  # 401 before anything
        await api.post("/flavors", admin_token, headers=mv, data=b"{no"),  # malformed body
        await api.client.get("/compute/v2.1", headers=mv),  # the version documents
        await api.client.get("/compute/v2.1/", headers={**mv, "X-Auth-Token": admin_token}),
    ]
    for resp in answers:
        _served_at(resp, "2.5")
    assert [resp.status for resp in answers] == [200, 404, 404, 401, 400, 200, 200]


async def test_other_faces_and_roots_ignore_the_compute_headers(api, admin_token):
    """Glance, Keystone and legacy /v2 keep their own version documents and never negotiate compute versions."""
    asked = {"OpenStack-API-Version": "compute 9.9", "X-OpenStack-Nova-API-Version": "9.9"}
    for path, token in (("/image/versions", None), ("/image/v2/images", admin_token), ("/identity/v3", None),
                        ("/compute/v2/flavors", admin_token), ("/", None), ("/compute/", None)):
        resp = await api.client.get(path, headers={**asked, **({"X-Auth-Token": token} if token else {})})
        assert resp.status in (200, 300), (path, resp.status)
        assert "OpenStack-API-Version" not in resp.headers and "Vary" not in resp.headers, path
    image_doc = await (await api.client.get("/image/versions")).json()
    assert {v["id"] for v in image_doc["versions"]} >= {"v2.0"} and "min_version" not in image_doc["versions"][0]
    identity_doc = (await (await api.client.get("/identity/v3")).json())["version"]
    assert identity_doc["id"].startswith("v3.")


# ----- routes and action keys with a microversion range --------------------------------------------------------------

async def test_a_route_outside_its_range_is_novas_bare_404(api, admin_token):
    """The compute image proxy ends at 2.36 (its metadata at 2.39): 404 "The resource could not be found." above,
    as Nova's version decorator answers, never the 'not implemented yet' of a route nodecompute lacks."""
    for path, last in (("/images", "2.35"), ("/images/detail", "2.35"), ("/images/nope/metadata", "2.38")):
        below = await api.get(path, admin_token, headers={"X-OpenStack-Nova-API-Version": last})
        assert below.status in (200, 404), path
        assert (await below.json()).get("itemNotFound", {}).get("message") != "The resource could not be found."
        after = f"2.{int(last.split('.')[1]) + 1}"
        resp = await api.get(path, admin_token, headers={"X-OpenStack-Nova-API-Version": after})
        await assert_fault(resp, 404, "itemNotFound")
        assert (await resp.json())["itemNotFound"]["message"] == "The resource could not be found."
        _served_at(resp, after)
        assert (await api.get(path, headers={"X-OpenStack-Nova-API-Version": after})).status == 401, path
    # legacy /v2 is served what 2.1 is
    assert (await api.get("/images", admin_token, version="v2")).status == 200


@pytest.fixture
def ranged_add_access(monkeypatch):
    """addTenantAccess served from 2.3 to 2.5 only (a data change: the flavor action table is the route's)."""
    action = flavors.ACTIONS["addTenantAccess"]
    monkeypatch.setitem(flavors.ACTIONS, "addTenantAccess", action._replace(since=(2, 3), until=(2, 5)))


async def test_an_action_key_outside_its_range_is_404(api, admin_token, make_user, ranged_add_access):
    member = await make_user("ranged", "member")
    good = {"addTenantAccess": {"tenant": "no-such-project"}}
    for version in ("2.2", "2.6", TOP):
        mv = {"X-OpenStack-Nova-API-Version": version}
        # before the policy and the body: a member and a bad body get the same 404
        for token, body in ((admin_token, good), (member, good), (admin_token, {"addTenantAccess": 5})):
            resp = await api.post("/flavors/1/action", token, json=body, headers=mv)
            fault = await assert_fault(resp, 404, "itemNotFound")
            assert fault["message"] == "The resource could not be found.", version
        await assert_fault(await api.post("/flavors/1/action", admin_token, json={"pause": None}, headers=mv), 400,
                           "badRequest", "There is no such action: pause")
    for version in ("2.3", "2.5"):
        mv = {"X-OpenStack-Nova-API-Version": version}
        await assert_fault(await api.post("/flavors/1/action", admin_token, json=good, headers=mv), 400,
                           "badRequest", "Project ID no-such-project is not a valid project.")
    # legacy /v2 is served what 2.1 is: below the range
    await assert_fault(await api.post("/flavors/1/action", admin_token, json=good, version="v2"), 404)


# ----- the signalling-only steps ----------------------------------------------------------------------------------

async def test_2_18_the_project_segment_is_optional_at_every_version(api, admin_token):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": admin_token}}}}
    project_id = (await (await api.client.post("/identity/v3/auth/tokens", json=body)).json())["token"]["project"]["id"]
    for version in ("2.17", "2.18"):
        mv = {"X-OpenStack-Nova-API-Version": version}
        with_project = await api.get(f"/{project_id}/flavors/1", admin_token, headers=mv)
        without = await api.get("/flavors/1", admin_token, headers=mv)
        assert with_project.status == without.status == 200
        links = [(await resp.json())["flavor"]["links"][0]["href"] for resp in (with_project, without)]
        assert links[0].endswith(f"/v2.1/{project_id}/flavors/1") and links[1].endswith("/v2.1/flavors/1")


async def test_2_27_the_standard_header_works_below_and_at_2_27(api, admin_token):
    for version in ("2.26", "2.27"):
        resp = await api.get("/flavors", admin_token, headers={"OpenStack-API-Version": f"compute {version}"})
        assert resp.status == 200
        _served_at(resp, version)


async def test_2_46_both_request_id_headers_below_and_at_2_46(api, admin_token):
    for version in ("2.45", "2.46"):
        resp = await api.get("/flavors/nope", admin_token, headers={"X-OpenStack-Nova-API-Version": version})
        assert resp.status == 404
        request_id = resp.headers["X-OpenStack-Request-ID"]
        assert request_id.startswith("req-") and resp.headers["X-Compute-Request-ID"] == request_id
