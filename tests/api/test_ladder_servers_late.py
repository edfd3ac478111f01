"""The ladder's last steps on the server routes (issue 10): 2.90 (`hostname` at create and update, shown to
everyone, a filter for everyone), 2.94 (FQDN hostnames), 2.96 (`pinned_availability_zone`), 2.98 (the embedded
image's `properties`) and 2.100 (`scheduler_hints`); each at the version before the step and at it, the views
checked against Nova's record (Tempest's schema at that version, the keys of Nova's samples)."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, images_key
from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)
from tests.api.test_ladder_servers_create import (UNEXPECTED, _body, _create, _refused, _stored,  # noqa: F401
                                                  image_id, member)

SHOW = "/servers/{server_id}"
HOSTNAME = "OS-EXT-SRV-ATTR:hostname"


async def _show(api, token, server_id: str, version: str) -> dict:
    resp = await api.get(f"/servers/{server_id}", token, **at(version))
    body = await resp.json()
    oracle.validate_with_tempest("GET", SHOW, None, version, resp.status, body)
    return body["server"]


async def _update(api, token, server_id: str, version: str, **fields) -> dict:
    resp = await api.put(f"/servers/{server_id}", token, json={"server": fields}, **at(version))
    body = await resp.json()
    assert resp.status == 200, body
    oracle.validate_with_tempest("PUT", SHOW, None, version, resp.status, body)
    return body["server"]


async def _detail(api, token, version: str, query: str = "") -> list[dict]:
    resp = await api.get(f"/servers/detail{query}", token, **at(version))
    body = await resp.json()
    assert resp.status == 200, body
    oracle.validate_with_tempest("GET", "/servers/detail", None, version, resp.status, body)
    return body["servers"]


async def test_2_90_hostname_at_create_and_update(api, member, image_id):
    await _refused(api, member, _body(image_id, networks="none", hostname="web-1"), "2.89", UNEXPECTED.format(
        "hostname"))
    created = await _create(api, member, _body(image_id, networks="none", hostname="web-1", name="Web Server"),
                            "2.90")
    assert _stored(api, created["id"]).hostname == "web-1"
    unnamed = await _create(api, member, _body(image_id, networks="none", name="Other One"), "2.90")
    assert _stored(api, unnamed["id"]).hostname == "other-one"  # made from the name, as before
    for bad in ("a", "-web", "web.example.com", "x" * 64, "web_1"):
        resp = await api.post("/servers", member, json=_body(image_id, networks="none", hostname=bad), **at("2.90"))
        assert resp.status == 400, bad
    await _refused(api, member, _body(image_id, networks="none", hostname="many", max_count=2), "2.90",
                   "Unable to allocate a single hostname to multiple instances")
    await assert_fault(await api.put(f"/servers/{created['id']}", member, json={"server": {"hostname": "h2"}},
                                     **at("2.89")), 400, "badRequest", UNEXPECTED.format("hostname"))
    updated = await _update(api, member, created["id"], "2.90", hostname="renamed-2")
    assert updated[HOSTNAME] == "renamed-2" and _stored(api, created["id"]).hostname == "renamed-2"
    assert len(await _detail(api, member, "2.90")) == 2  # nothing else was made


async def test_2_90_hostname_shown_to_everyone_and_filtered(api, member, admin_token):
    project = project_id(api, "proj-a")
    web = await insert(api, project, hostname="web-1", name="web")
    await insert(api, project, hostname="db-1", name="db")
    assert HOSTNAME not in await _show(api, member, web.uuid, "2.89")
    assert (await _show(api, member, web.uuid, "2.90"))[HOSTNAME] == "web-1"
    assert (await _show(api, admin_token, web.uuid, "2.90"))[HOSTNAME] == "web-1"
    assert {s[HOSTNAME] for s in await _detail(api, member, "2.90")} == {"web-1", "db-1"}
    # the filter (a regex, as Nova's): a member's is ignored below 2.90, an admin's works at every version
    assert len(await _detail(api, member, "2.89", "?hostname=web")) == 2
    assert [s["id"] for s in await _detail(api, member, "2.90", "?hostname=web")] == [web.uuid]
    assert [s["id"] for s in await _detail(api, admin_token, "2.89", "?hostname=^web-&all_tenants=1")] == [web.uuid]


async def test_2_94_fqdn_hostnames(api, member, image_id):
    fqdn = "web-1.example.com"
    resp = await api.post("/servers", member, json=_body(image_id, networks="none", hostname=fqdn), **at("2.93"))
    assert resp.status == 400
    created = await _create(api, member, _body(image_id, networks="none", hostname=fqdn), "2.94")
    assert _stored(api, created["id"]).hostname == fqdn
    await assert_fault(await api.put(f"/servers/{created['id']}", member, json={"server": {"hostname": "a.b"}},
                                     **at("2.93")), 400, "badRequest")
    assert (await _update(api, member, created["id"], "2.94", hostname="db_2.example.org"))[HOSTNAME] == \
        "db_2.example.org"
    for bad in ("", "white space", "x" * 256):
        resp = await api.put(f"/servers/{created['id']}", member, json={"server": {"hostname": bad}}, **at("2.94"))
        assert resp.status == 400, bad


async def test_2_96_pinned_availability_zone(api, member, image_id):
    pinned = await _create(api, member, _body(image_id, networks="none", availability_zone="nova"), "2.95")
    free = await _create(api, member, _body(image_id, networks="none"), "2.95")
    assert "pinned_availability_zone" not in await _show(api, member, pinned["id"], "2.95")
    assert (await _show(api, member, pinned["id"], "2.96"))["pinned_availability_zone"] == "nova"
    assert (await _show(api, member, free["id"], "2.96"))["pinned_availability_zone"] is None
    assert (await _update(api, member, pinned["id"], "2.96", name="n"))["pinned_availability_zone"] == "nova"
    zones = {s["id"]: s["pinned_availability_zone"] for s in await _detail(api, member, "2.96")}
    assert zones == {pinned["id"]: "nova", free["id"]: None}


async def test_2_98_image_properties_embedded(api, member):
    app = api.client.server.app
    ctx = app[identity_key].validate(member)
    props = {"architecture": "x86_64", "hw_disk_bus": "virtio", "os_distro": "d" * 300, "my_label": "not shown",
             "img_block_device_mapping": "[]"}
    image = await app[images_key].create(ctx, {"name": "p", "disk_format": "raw", "container_format": "bare"},
                                         props, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await app[images_key].upload(ctx, image.id, chunks())
    created = await _create(api, member, _body(image.id, networks="none"), "2.97")
    assert "properties" not in (await _show(api, member, created["id"], "2.97"))["image"]
    shown = (await _show(api, member, created["id"], "2.98"))["image"]
    assert shown["id"] == image.id
    assert shown["properties"] == {"architecture": "x86_64", "hw_disk_bus": "virtio", "os_distro": "d" * 255}
    assert (await _update(api, member, created["id"], "2.98", name="n"))["image"]["properties"] == \
        shown["properties"]
    assert [s["image"]["properties"] for s in await _detail(api, member, "2.98")] == [shown["properties"]]
    assert "img_block_device_mapping" not in _stored(api, created["id"]).image_properties  # never copied


async def test_2_100_scheduler_hints(api, member, image_id):
    """As Nova's request spec keeps them: each value a list (Nova's code; its and Tempest's response schemas say a
    `query` hint is a string or an object, which Nova's view never answers, so none is given here)."""
    hints = {"same_host": "48e6a9f6-30af-47e0-bc04-acaed113bb4e", "different_host": [
        "a0cf03a5-d921-4877-bb5c-86d26cf818e1", "0b5d2c72-12cc-4ba6-a8d2-3ff5a1d5a1a1"], "my_hint": 5}
    body = {**_body(image_id, networks="none"), "os:scheduler_hints": hints}
    created = await _create(api, member, body, "2.99")
    plain = await _create(api, member, _body(image_id, networks="none"), "2.99")
    assert "scheduler_hints" not in await _show(api, member, created["id"], "2.99")
    expected = {"same_host": [hints["same_host"]], "different_host": hints["different_host"], "my_hint": ["5"]}
    assert (await _show(api, member, created["id"], "2.100"))["scheduler_hints"] == expected
    assert (await _show(api, member, plain["id"], "2.100"))["scheduler_hints"] == {}
    assert (await _update(api, member, plain["id"], "2.100", name="n"))["scheduler_hints"] == {}
    assert {s["id"]: s["scheduler_hints"] for s in await _detail(api, member, "2.100")} == {
        created["id"]: expected, plain["id"]: {}}


ADMIN_ONLY = ("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name",
              "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:kernel_id",
              "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name", "OS-EXT-SRV-ATTR:user_data",
              "host_status")


@pytest.mark.parametrize("version", ("2.90", "2.94", "2.96", "2.98", "2.100"))
async def test_show_detail_and_update_match_novas_record(api, member, admin_token, version):
    server = await insert(api, project_id(api, "proj-a"), name="web", pinned_availability_zone="nova",
                          image_properties={"architecture": "x86_64", "auto_disk_config": "True"},
                          scheduler_hints={"same_host": ["48e6a9f6-30af-47e0-bc04-acaed113bb4e"]})
    for token in (admin_token, member):
        # Nova's samples from 2.90 on are a member's: an admin has more keys (a member would lack them if not)
        which = "extra" if token == admin_token else "missing"
        optional = tuple(f"{which} server.{key}" for key in ADMIN_ONLY)
        body = {"server": await _show(api, token, server.uuid, version)}
        oracle.assert_keys_like_nova(body, "GET", SHOW, None, version, optional=optional)
        params = "?all_tenants=1" if token == admin_token else ""
        resp = await api.get(f"/servers/detail{params}", token, **at(version))
        listed = await resp.json()
        oracle.validate_with_tempest("GET", "/servers/detail", None, version, resp.status, listed)
        listed_optional = ("missing servers_links", *(o.replace(" server.", " servers[].") for o in optional))
        oracle.assert_keys_like_nova(listed, "GET", "/servers/detail", None, version, optional=listed_optional)
        updated = {"server": await _update(api, token, server.uuid, version, name="web")}
        oracle.assert_keys_like_nova(updated, "PUT", SHOW, None, version, optional=optional)
