"""K5's image face (/k5/image) and block storage face (/k5/volume/v2/{tenant_id}, D58, D60, D63), and their
entries in the /k5/identity catalog (row #2203's types `image` and `blockstoragev2`)."""
from __future__ import annotations

from nodecompute.api import k5_storage
from nodecompute.api.keys import block_storage_key, config_key, identity_key
from tests.api.helpers import assert_fault


def _k5(api, method, path, token, **kw):
    return api.client.request(method, f"/k5{path}", headers={"X-Auth-Token": token} if token else {}, **kw)


async def _wait(api):
    await api.client.server.app[block_storage_key].wait_idle()


async def test_volumes_snapshots_and_types(api, admin_token):
    tenant = api.client.server.app[identity_key].validate(admin_token).project_id
    zone = api.client.server.app[config_key].compute.availability_zone
    v2 = f"/volume/v2/{tenant}"
    made = await _k5(api, "POST", f"{v2}/volumes", admin_token, json={"volume": {"size": 1, "name": "src"}})
    assert made.status == 202, await made.text()
    source = (await made.json())["volume"]
    await _wait(api)
    shown = (await (await _k5(api, "GET", f"{v2}/volumes/{source['id']}", admin_token)).json())["volume"]
    assert shown["bootable"] == "false" and shown["availability_zone"] == zone
    assert isinstance(shown["volume_type"], str)
    for alias in ("source_vol_id", "source_volume_id", "source_volid"):
        made = await _k5(api, "POST", f"{v2}/volumes", admin_token, json={"volume": {alias: source["id"]}})
        assert made.status == 202, (alias, await made.text())
        assert (await made.json())["volume"]["source_volid"] == source["id"]
        await _wait(api)
    made = await _k5(api, "POST", f"{v2}/snapshots", admin_token, json={"snapshot": {"volume_id": source["id"]}})
    assert made.status == 202, await made.text()
    snapshot = (await made.json())["snapshot"]
    await _wait(api)
    detail = (await (await _k5(api, "GET", f"{v2}/snapshots/detail", admin_token)).json())["snapshots"]
    assert [s["availability_zone"] for s in detail if s["id"] == snapshot["id"]] == [zone]
    one = (await (await _k5(api, "GET", f"{v2}/snapshots/{snapshot['id']}", admin_token)).json())["snapshot"]
    assert one["availability_zone"] == zone
    core = await (await api.client.get(f"/volume/v3/{tenant}/snapshots/{snapshot['id']}",
                                       headers={"X-Auth-Token": admin_token})).json()
    assert "availability_zone" not in core["snapshot"]
    types = (await (await _k5(api, "GET", f"{v2}/types", admin_token)).json())["volume_types"]
    shown_type = (await (await _k5(api, "GET", f"{v2}/types/{types[0]['id']}", admin_token)).json())["volume_type"]
    assert shown_type["availability_zone"] == zone
    # only v2 under /k5/volume; K5's faults
    await assert_fault(await _k5(api, "GET", f"/volume/v3/{tenant}/volumes", admin_token), 404)
    await assert_fault(await _k5(api, "GET", f"{v2}/volumes", None), 401, "unauthorized")
    resp = await _k5(api, "PUT", f"{v2}/volumes", admin_token)
    await assert_fault(resp, 405, "badMethod")


def test_a_volume_without_a_type_shows_none_as_a_string():
    assert k5_storage._typed({"volumes": [{"volume_type": None}, {"volume_type": "standard"}]}) == {
        "volumes": [{"volume_type": "None"}, {"volume_type": "standard"}]}


async def test_image_face_and_the_catalog(api, admin_token):
    resp = await _k5(api, "GET", "/image/v2/images", admin_token)
    assert resp.status == 200 and "images" in await resp.json()
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    issued = await api.client.post("/k5/identity/v3/auth/tokens", json=body)
    token = (await issued.json())["token"]
    urls = {entry["type"]: entry["endpoints"][0]["url"] for entry in token["catalog"]}
    assert set(urls) == {"compute", "image", "blockstoragev2"}
    assert urls["image"].endswith("/k5/image")
    assert urls["blockstoragev2"].endswith(f"/k5/volume/v2/{token['project']['id']}")
