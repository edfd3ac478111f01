"""The dialect seam (issue 7 item 3): a test-only dialect, mounted beside the openstack one, changes a success
status, a fault mapping and one field from a microversion on, lacks a route and adds one from a microversion on,
all as data: every handler it serves is a handler of the core route table."""
from __future__ import annotations

import dataclasses
import json

import pytest

from nodecompute.api import face, zones
from nodecompute.api.dialect import Microversions, Versioned, VersionRoot, route_filter
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import identity_key
from nodecompute.api.route_table import ROUTES, Route
from nodecompute.app import create_app
from nodecompute.domain.errors import QuotaExceeded
from tests.api.helpers import Api, assert_fault

ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkV4P0vH9wFq0kqGfP8x5gqnP3Ph0jO1aP3p6VJv5yX seam@test"


def _flavor_with_description(out, flavor):
    """#603 from 2.2 on: the openstack view plus one field (what Nova's 2.55 did)."""
    body = OPENSTACK.views["#603"].at((2, 1))(out, flavor)
    body["flavor"]["description"] = None
    return body


SEAM = OPENSTACK.derive(
    name="seamtest",
    prefix="/seamtest",
    roots=(VersionRoot("/v2.1", microversions=Microversions("compute", "X-OpenStack-Nova-API-Version", (2, 1), (2, 3)),
                       project_segment=True),),
    routes=route_filter(ROUTES, "compute", lacks={"#1003"}, adds=(
        Route("compute", "seam:zones", "GET", "/seam-zones", zones.list_zones, since=(2, 3)),)),
    statuses={"#904": Versioned(204)},
    views={"#603": OPENSTACK.views["#603"].then((2, 2), _flavor_with_description),
           "seam:zones": Versioned(lambda out, found: {"zones": [zone["zoneName"] for zone in found]})},
    faults=dataclasses.replace(OPENSTACK.faults, by_class={QuotaExceeded: (413, "overLimit")}),
)


@pytest.fixture
async def both(aiohttp_client, cfg):
    """The whole app with the test dialect mounted at /seamtest beside /compute."""
    app = create_app(cfg, with_servers=False)
    face.mount(app, SEAM)
    return Api(await aiohttp_client(app))


def seam(api, method, path, token, **kw):
    headers = {"X-Auth-Token": token, **kw.pop("headers", {})}
    return api.client.request(method, f"/seamtest/v2.1{path}", headers=headers, **kw)


def test_no_handler_is_copied():
    core = {route.handler for route in ROUTES}
    assert {route.handler for route in SEAM.routes} <= core
    assert SEAM.routes != OPENSTACK.routes


async def test_a_success_status_changes(both, admin_token):
    for name in ("one", "two"):
        assert (await both.post("/os-keypairs", admin_token, json={"keypair": {"name": name}})).status == 200
    assert (await both.delete("/os-keypairs/one", admin_token)).status == 202
    resp = await seam(both, "DELETE", "/os-keypairs/two", admin_token)
    assert resp.status == 204 and await resp.read() == b""
    assert (await (await both.get("/os-keypairs", admin_token)).json())["keypairs"] == []


async def test_a_fault_mapping_changes(both, admin_token, make_user):
    token = await make_user("seam-quota")
    project_id = both.client.server.app[identity_key].validate(token).project_id
    resp = await both.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": {"key_pairs": 0}})
    assert resp.status == 200
    body = {"keypair": {"name": "over", "public_key": ED25519_KEY}}
    await assert_fault(await both.post("/os-keypairs", token, json=body), 403, "forbidden",
                       "Quota exceeded, too many key pairs.")
    await assert_fault(await seam(both, "POST", "/os-keypairs", token, json=body), 413, "overLimit",
                       "Quota exceeded, too many key pairs.")
    # Errors outside the mapping keep the shared names.
    await assert_fault(await seam(both, "GET", "/flavors/no-such", token), 404, "itemNotFound")


async def test_one_field_from_a_microversion_on(both, admin_token):
    core = await (await both.get("/flavors/1", admin_token)).json()
    at_21 = await seam(both, "GET", "/flavors/1", admin_token)
    assert at_21.headers["OpenStack-API-Version"] == "compute 2.1"
    body_21 = await at_21.json()
    assert body_21 == _relinked(core)
    at_22 = await seam(both, "GET", "/flavors/1", admin_token, headers={"OpenStack-API-Version": "compute 2.2"})
    assert at_22.status == 200 and at_22.headers["OpenStack-API-Version"] == "compute 2.2"
    body_22 = await at_22.json()
    assert body_22["flavor"].pop("description") is None
    assert body_22 == body_21
    # Each dialect negotiates its own range: the openstack one serves 2.4 (its own view, no description there).
    resp = await both.get("/flavors/1", admin_token, headers={"OpenStack-API-Version": "compute 2.4"})
    assert resp.status == 200 and "description" not in (await resp.json())["flavor"]
    # A version the test dialect lacks: 406 with its own range.
    fault = await assert_fault(await seam(both, "GET", "/flavors/1", admin_token,
                                          headers={"OpenStack-API-Version": "compute 2.4"}), 406)
    assert "Minimum is 2.1 and maximum is 2.3" in fault["message"]


def _relinked(body):
    """The openstack dialect's body with its links under /seamtest (links follow the face)."""
    return json.loads(json.dumps(body).replace("/compute/", "/seamtest/"))


async def test_route_filter_lacks_and_adds(both, admin_token):
    resp = await both.get("/os-availability-zone/nova", admin_token)
    assert resp.status == 200
    await assert_fault(await seam(both, "GET", "/os-availability-zone/nova", admin_token), 404, "itemNotFound")
    # the added row exists from 2.3 on only
    await assert_fault(await seam(both, "GET", "/seam-zones", admin_token), 404, "itemNotFound")
    resp = await seam(both, "GET", "/seam-zones", admin_token, headers={"OpenStack-API-Version": "compute 2.3"})
    assert resp.status == 200 and await resp.json() == {"zones": ["nova"]}
    assert (await both.get("/seam-zones", admin_token)).status == 404


async def test_the_seam_keeps_the_shared_protocol(both, admin_token):
    """Token check, project-in-URL check and the not-implemented answer come with the face, not the handler."""
    assert (await both.client.get("/seamtest/v2.1/flavors")).status == 401
    fault = await assert_fault(await seam(both, "GET", "/os-aggregates/1", admin_token), 404,
                               "itemNotFound")
    assert "is not implemented yet" in fault["message"]
    await assert_fault(await seam(both, "GET", "/other-project/flavors", admin_token), 400, "badRequest",
                       "doesn't match Context's project_id")
