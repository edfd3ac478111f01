"""#805 with Glance's older patch media type, application/openstack-images-v2.0-json-patch (JSON patch draft 4:
`{"add": "/name", "value": ...}`), which Glance still reads and Tempest's image client sends (test_server_rescue
sets hw_rescue_bus with it). Under draft 4 `add` needs a member the image lacks (Glance's 409 "Property x already
present."); replace and remove are as in draft 10. Another Content-Type is 415 with Glance's Accept-Patch."""
from __future__ import annotations

import json

import pytest

from nodecompute.api import glance
from tests.api.test_glance import assert_glance_error
from tests.api.test_images import gl  # noqa: F401 (fixture)

V20 = {"Content-Type": glance.PATCH_TYPE_V20}


async def _patch(gl, token, image_id, *ops):  # noqa: F811
    return await gl.request("PATCH", f"/images/{image_id}", token, headers=V20, data=json.dumps(list(ops)))


async def test_draft_4_operations_change_the_image(api, gl, make_user):  # noqa: F811
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="rescue", disk_format="qcow2")
    resp = await _patch(gl, token, image["id"], {"add": "/hw_rescue_bus", "value": "scsi"},
                        {"replace": "/name", "value": "renamed"}, {"replace": "/min_ram", "value": 64})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["hw_rescue_bus"], body["name"], body["min_ram"]) == ("scsi", "renamed", 64)
    resp = await _patch(gl, token, image["id"], {"remove": "/hw_rescue_bus"})
    assert resp.status == 200 and "hw_rescue_bus" not in await resp.json()


@pytest.mark.parametrize("op", [{"add": "/hw_rescue_bus", "value": "usb"}, {"add": "/name", "value": "x"},
                                {"add": "/min_disk", "value": 1}])
async def test_adding_a_member_the_image_has_is_409_and_changes_nothing(api, gl, make_user, op):  # noqa: F811
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="kept", disk_format="qcow2", hw_rescue_bus="scsi")
    name = op["add"][1:]
    await assert_glance_error(await _patch(gl, token, image["id"], {"add": "/new_one", "value": "v"}, op), 409,
                              f"Property {name} already present.")
    shown = await gl.show(token, image["id"])
    assert "new_one" not in shown and (shown["name"], shown["hw_rescue_bus"]) == ("kept", "scsi")
    # the same op under draft 10 replaces
    resp = await gl.request("PATCH", f"/images/{image['id']}", token, headers={"Content-Type": glance.PATCH_TYPE},
                            data=json.dumps([{"op": "add", "path": op["add"], "value": op["value"]}]))
    assert resp.status == 200 and (await resp.json())[name] == op["value"]


@pytest.mark.parametrize("doc, code, message", [
    ([{}], 400, 'Operation objects must contain exactly one member named "add", "remove", or "replace".'),
    ([{"op": "add", "path": "/x", "value": "v"}], 400, "exactly one member"),  # the draft 10 form
    ([{"add": "/x", "remove": "/y", "value": "v"}], 400,
     'Operation objects must contain only one member named "add", "remove", or "replace".'),
    (["add"], 400, "Operations must be JSON objects."),
    ({"add": "/x", "value": "v"}, 400, "Request body must be a JSON array of operation objects."),
    ([{"add": "/x"}], 400, 'Operation "add" requires a member named "value".'),
    ([{"replace": "/a/b", "value": "v"}], 400, "Nested paths are not allowed"),
    ([{"add": "/status", "value": "active"}], 403, "Attribute 'status' is read-only."),
    ([{"add": "/min_ram", "value": -1}], 400, None),
    ([{"replace": "/absent", "value": "v"}], 409, "Property absent does not exist."),
])
async def test_bad_draft_4_documents_are_refused_in_glances_words(api, gl, make_user, doc, code, message):  # noqa: F811
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="same")
    resp = await gl.request("PATCH", f"/images/{image['id']}", token, headers=V20, data=json.dumps(doc))
    await assert_glance_error(resp, code, message)
    assert (await gl.show(token, image["id"]))["updated_at"] == image["updated_at"]


async def test_another_patch_type_is_415_with_accept_patch(api, gl, make_user):  # noqa: F811
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="typed")
    resp = await gl.request("PATCH", f"/images/{image['id']}", token, headers={"Content-Type": "application/json"},
                            data=json.dumps([{"op": "replace", "path": "/name", "value": "n"}]))
    await assert_glance_error(resp, 415)
    assert resp.headers["Accept-Patch"] == f"{glance.PATCH_TYPE_V20}, {glance.PATCH_TYPE}"
