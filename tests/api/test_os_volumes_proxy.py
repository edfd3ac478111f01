"""Nova's block storage proxies (#1201-#1210) at /compute/v2.1: camelCase bodies as Tempest and Nova's samples have
them, Nova's statuses and its translation of Cinder's refusals, on the block storage service of the /volume face;
and 404 from microversion 2.36 on (a test dialect advertising up to 2.40, the openstack one stops at 2.1 today)."""
from __future__ import annotations

import pytest

from nodecompute.api import face
from nodecompute.api.dialect import Microversions, VersionRoot
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.app import create_app
from tests.api.helpers import Api, assert_fault
from tests.api.volume_helpers import Cinder, admin, member  # noqa: F401 (fixtures)
from tests.oracle import assert_keys_like_nova, validate_with_tempest

UNTIL_2_40 = OPENSTACK.derive(
    name="proxytest", prefix="/proxytest",
    roots=(VersionRoot("/v2.1", microversions=Microversions("compute", "X-OpenStack-Nova-API-Version", (2, 1),
                                                            (2, 40)), project_segment=True),))


def _detached(where: str) -> tuple[str, ...]:
    """Nova's samples show an attached volume; a detached one has `attachments: [{}]`."""
    return tuple(f"missing {where}.attachments[].{key}" for key in ("device", "id", "serverId", "volumeId"))


async def nova(cinder: Cinder, method: str, path: str, status: int, check: str | None = None, **kw):
    resp = await cinder.api.request(method, path, cinder.token, **kw)
    assert resp.status == status, (method, path, resp.status, await resp.text())
    body = await resp.json() if resp.content_length else None
    if check is not None:
        validate_with_tempest(method, check, None, "2.1", resp.status, body)
        if body is not None:
            optional = _detached("volume") + _detached("volumes[]")
            assert_keys_like_nova(body, method, check, None, "2.1", optional=optional)
    return resp, body


async def test_volumes_through_the_proxy(member: Cinder):
    resp, body = await nova(member, "POST", "/os-volumes", 200, check="/os-volumes", json={"volume": {
        "size": 1, "display_name": "Volume Name", "display_description": "Volume Description",
        "availability_zone": "nova", "metadata": {"k": "v"}}})
    volume = body["volume"]
    assert resp.headers["Location"].endswith(f"/compute/v2.1/os-volumes/{volume['id']}")
    assert (volume["status"], volume["displayName"], volume["attachments"]) == ("creating", "Volume Name", [{}])
    assert (volume["volumeType"], volume["snapshotId"], volume["metadata"]) == ("__DEFAULT__", None, {"k": "v"})
    await member.idle()
    _, shown = await nova(member, "GET", f"/os-volumes/{volume['id']}", 200, check="/os-volumes/{id}")
    assert shown["volume"]["status"] == "available"
    assert shown["volume"]["createdAt"] == (await member.show(volume["id"]))["created_at"]
    for path in ("/os-volumes", "/os-volumes/detail"):
        _, listed = await nova(member, "GET", path, 200, check=path)
        assert listed["volumes"] == [shown["volume"]]
    second = await member.create(name="second")
    _, page = await nova(member, "GET", "/os-volumes?limit=1&offset=1", 200)
    assert [v["id"] for v in page["volumes"]] == [volume["id"]]  # newest first, cut by offset and limit
    _, page = await nova(member, "GET", "/os-volumes?limit=1", 200)
    assert [v["id"] for v in page["volumes"]] == [second["id"]]
    await assert_fault(await member.api.get("/os-volumes?limit=-1", member.token), 400,
                       message="Invalid input for query parameters limit.")
    resp, _ = await nova(member, "DELETE", f"/os-volumes/{volume['id']}", 202, check="/os-volumes/{id}")
    await member.idle()
    missing = volume["id"]
    await assert_fault(await member.api.get(f"/os-volumes/{missing}", member.token), 404,
                       message=f"Volume {missing} could not be found.")


async def test_snapshots_through_the_proxy(member: Cinder):
    volume = await member.create()
    _, body = await nova(member, "POST", "/os-snapshots", 200, check="/os-snapshots", json={"snapshot": {
        "volume_id": volume["id"], "display_name": "snap", "display_description": "d", "force": False}})
    snapshot = body["snapshot"]
    assert (snapshot["volumeId"], snapshot["status"], snapshot["size"]) == (volume["id"], "creating", 1)
    await member.idle()
    _, shown = await nova(member, "GET", f"/os-snapshots/{snapshot['id']}", 200, check="/os-snapshots/{id}")
    assert shown["snapshot"]["status"] == "available"
    for path in ("/os-snapshots", "/os-snapshots/detail"):
        _, listed = await nova(member, "GET", path, 200, check=path)
        assert listed["snapshots"] == [shown["snapshot"]]
    resp = await member.api.delete(f"/os-volumes/{volume['id']}", member.token)  # it has a snapshot
    refused = await assert_fault(resp, 400, message="Invalid input received: Invalid volume: Volume status must be "
                                                    "available")
    assert refused["message"].endswith(f"(HTTP 400) (Request-ID: {resp.headers['x-openstack-request-id']})")
    await nova(member, "DELETE", f"/os-snapshots/{snapshot['id']}", 202, check="/os-snapshots/{id}")
    await member.idle()
    await assert_fault(await member.api.get(f"/os-snapshots/{snapshot['id']}", member.token), 404,
                       message=f"Snapshot {snapshot['id']} could not be found.")


async def test_cinders_refusals_as_nova_translates_them(member: Cinder, admin: Cinder, make_user, api):
    await admin.ok("PUT", f"/os-quota-sets/{member.project_id}", 200,
                   json={"quota_set": {"volumes": 1, "snapshots": 0}})
    volume = await member.create()
    await assert_fault(await member.api.post("/os-volumes", member.token, json={"volume": {"size": 1}}), 403,
                       message="VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota "
                               "'volumes'.")
    await assert_fault(await member.api.post("/os-snapshots", member.token,
                                             json={"snapshot": {"volume_id": volume["id"]}}), 403,
                       message="Quota exceeded for resources: snapshots")
    fault = await assert_fault(await member.api.post("/os-volumes", member.token, json={
        "volume": {"size": 1, "availability_zone": "elsewhere"}}), 400,
        message="Invalid input received: Availability zone 'elsewhere' is invalid. (HTTP 400) (Request-ID: req-")
    assert fault["message"].endswith(")")
    await assert_fault(await member.api.post("/os-volumes", member.token, json={
        "volume": {"size": 1, "metadata": {"k": 1}}}), 400, message="Invalid input received: Invalid input for field")
    await assert_fault(await member.api.post("/os-volumes", member.token, json={"volume": {"size": 1, "name": "x"}}), 400,
                       message="Additional properties are not allowed")
    missing = "11111111-2222-3333-4444-555555555555"
    await assert_fault(await member.api.post("/os-snapshots", member.token, json={"snapshot": {"volume_id": missing}}),
                       404, message=f"Volume {missing} could not be found.")
    reader = await make_user("voltenant", "reader")
    await assert_fault(await api.post("/os-volumes", reader, json={"volume": {"size": 1}}), 403,
                       message="Policy doesn't allow os_compute_api:os-volumes:create to be performed.")
    await assert_fault(await api.delete(f"/os-volumes/{volume['id']}", reader), 403,
                       message="Policy doesn't allow os_compute_api:os-volumes:delete to be performed.")


async def test_compute_volume_types_stay_404(member: Cinder):
    """#1211, #1212 are Helion's: Nova v2.1 has no os-volume-types."""
    for path in ("/os-volume-types", "/os-volume-types/x"):
        fault = await assert_fault(await member.api.get(path, member.token), 404)
        assert fault["message"] == "The resource could not be found."


@pytest.fixture
async def until_2_40(aiohttp_client, cfg) -> Api:
    app = create_app(cfg, with_servers=False)
    face.mount(app, UNTIL_2_40)
    return Api(await aiohttp_client(app))


@pytest.mark.parametrize("method, path", [("GET", "/os-volumes"), ("GET", "/os-volumes/detail"),
                                          ("POST", "/os-volumes"), ("GET", "/os-snapshots/x"),
                                          ("DELETE", "/os-snapshots/x")])
async def test_the_proxies_answer_404_from_2_36(until_2_40, path, method):
    token = await until_2_40.token("admin", "admin-secret", "admin")
    url = f"/proxytest/v2.1{path}"
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.35"}
    body = {"volume": {"size": 1}} if method == "POST" else None
    served = await until_2_40.client.request(method, url, headers=headers, json=body)
    assert served.status != 404 or "could not be found" in await served.text() and "/x" in path
    headers["OpenStack-API-Version"] = "compute 2.36"
    gone = await until_2_40.client.request(method, url, headers=headers, json=body)
    fault = await assert_fault(gone, 404)
    assert fault["message"] == "The resource could not be found."
    assert gone.headers["OpenStack-API-Version"] == "compute 2.36"
    unauthenticated = await until_2_40.client.request(method, url, headers={"OpenStack-API-Version": "compute 2.36"})
    assert unauthenticated.status == 401
