"""Helion's integer ids for flavors and volumes (issue 24; dialects.md D10; seed 002 lines 3871-4145: flavor ids
"100", a flavor path "can be an integer ID or a UUID"): flavors shown by serial in their views and in servers,
flavor and volume paths and `flavorRef` by serial or public id; the openstack dialect unchanged."""
from __future__ import annotations

from nodecompute.api.keys import identity_key, serial_ids_key, servers_key
from tests.api.helpers import assert_fault
from tests.api.test_servers_api import api, image_id, servers_api  # noqa: F401 (fixtures)

UUID_FLAVOR = "5f0bd6d6-0bb5-4c4b-9d0f-2b0a1d6e1c7e"


async def test_flavors_and_volumes_by_serial(api, admin_token, make_user, image_id):  # noqa: F811
    app = api.client.server.app
    token = await make_user("proj-a", "member")
    project = app[identity_key].validate(token).project_id
    headers = {"X-Auth-Token": token}
    base = f"/helion/v2/{project}"
    body = {"flavor": {"name": "uuid-flavor", "ram": 128, "vcpus": 1, "disk": 1, "id": UUID_FLAVOR}}
    assert (await api.post("/flavors", admin_token, json=body)).status == 200
    serial = str(app[serial_ids_key].flavor_serials()[UUID_FLAVOR])

    for path in ("/flavors", "/flavors/detail"):
        listed = (await (await api.client.get(base + path, headers=headers)).json())["flavors"]
        mine = [flavor for flavor in listed if flavor["name"] == "uuid-flavor"]
        assert [flavor["id"] for flavor in mine] == [serial]
        assert all(link["href"].endswith(f"/flavors/{serial}") for link in mine[0]["links"])
        assert all(flavor["id"].isdigit() for flavor in listed)
    for ref in (serial, UUID_FLAVOR):
        shown = await api.client.get(f"{base}/flavors/{ref}", headers=headers)
        assert (await shown.json())["flavor"]["id"] == serial
    openstack = (await (await api.get(f"/flavors/{UUID_FLAVOR}", admin_token)).json())["flavor"]
    assert openstack["id"] == UUID_FLAVOR

    # flavorRef as the seed's integer (line 316), then as the flavorid
    for ref in (int(serial), UUID_FLAVOR):
        resp = await api.client.post(f"{base}/servers", headers=headers,
                                     json={"server": {"name": f"by-{ref}", "imageRef": image_id, "flavorRef": ref}})
        assert resp.status == 202, await resp.text()
        server_id = (await resp.json())["server"]["id"]
        shown = await api.client.get(f"{base}/servers/{server_id}", headers=headers)
        flavor = (await shown.json())["server"]["flavor"]
        assert flavor["id"] == serial and flavor["links"][0]["href"].endswith(f"/flavors/{serial}")
        core = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]["flavor"]
        assert core["id"] == UUID_FLAVOR
    await app[servers_key].wait_idle()

    resp = await api.client.post(f"{base}/os-volumes", headers=headers, json={"volume": {"size": 1}})
    assert resp.status == 202, await resp.text()
    volume_id = (await resp.json())["volume"]["id"]
    volume_serial = app[serial_ids_key].store.read(
        lambda db: db.execute("SELECT serial FROM volumes WHERE id = ?", [volume_id]).fetchone()[0])
    shown = await api.client.get(f"{base}/os-volumes/{volume_serial}", headers=headers)
    assert (await shown.json())["volume"]["id"] == volume_id
    await assert_fault(await api.client.get(f"{base}/os-volumes/999999", headers=headers), 404, "itemNotFound")
    await assert_fault(await api.client.get(f"{base}/flavors/999999", headers=headers), 404, "itemNotFound")
