"""GET /openapi.json: served outside the faces with no token, at the advertised maximum or at ?version=2.1, and a
version the compute face does not negotiate is a Nova fault."""
from __future__ import annotations

from nodecompute.api import openapi
from nodecompute.api.docs import FACES
from nodecompute.api.route_table import face_routes
from nodecompute.api.versions import MICROVERSIONS
from tests.api.helpers import assert_fault

TOP = f"{MICROVERSIONS.max[0]}.{MICROVERSIONS.max[1]}"


async def test_served_without_a_token_at_the_maximum_and_at_2_1(api):
    resp = await api.client.get("/openapi.json")
    assert resp.status == 200, await resp.text()
    top = await resp.json()
    assert top == openapi.describe(openapi.Faces(face_routes("root"), FACES), MICROVERSIONS.max)
    assert top["info"]["version"] == TOP and top["openapi"].startswith("3.1")
    assert "/openapi.json" in top["paths"] and "/compute/v2.1/servers" in top["paths"]
    low = await (await api.client.get("/openapi.json", params={"version": "2.1"})).json()
    assert low["info"]["version"] == "2.1" and "/compute/v2.1/images" in low["paths"]


async def test_a_version_not_negotiated_is_refused(api):
    for asked in ("2.0", "9.9", f"2.{MICROVERSIONS.max[1] + 1}", "latest", "2.1.1", ""):
        resp = await api.client.get("/openapi.json", params={"version": asked})
        await assert_fault(resp, 400, "badRequest", "Invalid version")


async def test_not_under_the_compute_face(api, admin_token):
    """Nova has no such route: under /compute it is an unknown path as before."""
    resp = await api.get("/openapi.json", admin_token)
    await assert_fault(resp, 404)
