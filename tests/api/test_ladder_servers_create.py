"""The microversion ladder on server create and update (issue 9): 2.19 description, 2.32/2.33/2.37/2.42 device
tags, 2.37 networks required, 2.52 tags at create; each request at the version before the step and at it."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, images_key
from nodecompute.app import store_key
from nodecompute.db import servers as sdb
from nodecompute.domain.server_models import DeviceTag
from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)

UNEXPECTED = "Additional properties are not allowed ('{}' was unexpected)"


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


@pytest.fixture
async def image_id(api, member) -> str:
    """An active 1 MiB raw image of proj-a."""
    app = api.client.server.app
    ctx = app[identity_key].validate(member)
    image = await app[images_key].create(ctx, {"name": "tiny", "disk_format": "raw", "container_format": "bare"},
                                         {}, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await app[images_key].upload(ctx, image.id, chunks())
    return image.id


def _body(image_id: str, **server) -> dict:
    return {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", **server}}


def _root_mapping(image_id: str, **extra) -> list[dict]:
    """The image disk itself, as `openstack server create --image` sends it."""
    return [{"uuid": image_id, "boot_index": 0, "source_type": "image", "destination_type": "local", **extra}]


async def _create(api, token, body, version: str) -> dict:
    resp = await api.post("/servers", token, json=body, **at(version))
    assert resp.status == 202, await resp.text()
    created = await resp.json()
    oracle.validate_with_tempest("POST", "/servers", None, version, resp.status, created)
    return created["server"]


async def _refused(api, token, body, version: str, message: str) -> None:
    await assert_fault(await api.post("/servers", token, json=body, **at(version)), 400, "badRequest", message)


def _stored(api, server_id: str):
    return api.client.server.app[store_key].read(sdb.get_server, server_id)


async def _shown(api, token, server_id: str, version: str) -> dict:
    return (await (await api.get(f"/servers/{server_id}", token, **at(version))).json())["server"]


async def test_2_19_description_at_create(api, member, image_id):
    await _refused(api, member, _body(image_id, description="d"), "2.18", UNEXPECTED.format("description"))
    old = await _create(api, member, _body(image_id, name="named"), "2.18")
    assert (await _shown(api, member, old["id"], "2.19"))["description"] == "named"  # Nova: the name, before 2.19
    new = await _create(api, member, _body(image_id, description="a web server"), "2.19")
    assert (await _shown(api, member, new["id"], "2.19"))["description"] == "a web server"
    bare = await _create(api, member, _body(image_id), "2.19")
    assert (await _shown(api, member, bare["id"], "2.19"))["description"] is None
    await _refused(api, member, _body(image_id, description="a\nb"), "2.19",
                   "Invalid input for field/attribute description.")
    await _refused(api, member, _body(image_id, description="x" * 256), "2.19",
                   "Invalid input for field/attribute description.")


async def test_2_19_description_at_update(api, member):
    server = await insert(api, project_id(api, "proj-a"), description="old")
    url = f"/servers/{server.uuid}"
    await assert_fault(await api.put(url, member, json={"server": {"description": "new"}}, **at("2.18")), 400,
                       "badRequest", UNEXPECTED.format("description"))
    resp = await api.put(url, member, json={"server": {"description": "new"}}, **at("2.19"))
    assert resp.status == 200 and (await resp.json())["server"]["description"] == "new"
    resp = await api.put(url, member, json={"server": {"description": None}}, **at("2.19"))
    assert (await resp.json())["server"]["description"] is None
    resp = await api.put(url, member, json={"server": {"name": "renamed"}}, **at("2.19"))
    assert (await resp.json())["server"]["description"] is None  # a new name leaves the description alone


# The networks item `tag`: 2.32-2.36 and from 2.42; until networking lands a network is not found after the
# schema, so the answer shows which versions take the tag.
NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
NETWORK_TAG_REFUSED = UNEXPECTED.format("tag")
NETWORK_NOT_FOUND = f"Network {NETWORK} could not be found."


@pytest.mark.parametrize("version, message", [
    ("2.31", NETWORK_TAG_REFUSED), ("2.32", NETWORK_NOT_FOUND), ("2.36", NETWORK_NOT_FOUND),
    ("2.37", NETWORK_TAG_REFUSED), ("2.41", NETWORK_TAG_REFUSED), ("2.42", NETWORK_NOT_FOUND),
    ("2.52", NETWORK_NOT_FOUND)])
async def test_2_32_2_37_2_42_network_tag(api, member, image_id, version, message):
    body = _body(image_id, networks=[{"uuid": NETWORK, "tag": "nic1"}])
    await _refused(api, member, body, version, message)


@pytest.mark.parametrize("version, accepted", [
    ("2.31", False), ("2.32", True), ("2.33", False), ("2.41", False), ("2.42", True), ("2.52", True)])
async def test_2_32_2_33_2_42_block_device_tag(api, member, image_id, version, accepted):
    networks = {"networks": "none"} if int(version.split(".")[1]) >= 37 else {}
    body = _body(image_id, block_device_mapping_v2=_root_mapping(image_id, tag="root"), **networks)
    if not accepted:
        await _refused(api, member, body, version, NETWORK_TAG_REFUSED)
        return
    server = await _create(api, member, body, version)
    assert _stored(api, server["id"]).device_tags == (DeviceTag("disk", 0, "root"),)


@pytest.mark.parametrize("tag", ["a,b", "a/b", "", "x" * 61])
async def test_device_tags_are_nova_tags(api, member, image_id, tag):
    body = _body(image_id, networks="none", block_device_mapping_v2=_root_mapping(image_id, tag=tag))
    await _refused(api, member, body, "2.42", "Invalid input for field/attribute tag.")


async def test_2_37_networks_required_auto_and_none(api, member, image_id):
    assert (await _create(api, member, _body(image_id), "2.36"))["id"]
    await _refused(api, member, _body(image_id), "2.37", "'networks' is a required property")
    for value in ("auto", "none"):
        await _refused(api, member, _body(image_id, networks=value), "2.36",
                       f"Invalid input for field/attribute networks. Value: {value}. '{value}' is not of type 'array'")
        server = await _create(api, member, _body(image_id, networks=value), "2.37")
        assert (await _shown(api, member, server["id"], "2.37"))["addresses"] == {}  # no NIC until networking
    await _refused(api, member, _body(image_id, networks="all"), "2.37",
                   "Invalid input for field/attribute networks.")
    await _refused(api, member, _body(image_id, networks=[{"uuid": "n-1"}]), "2.36", "Network n-1 could not be found.")
    await _refused(api, member, _body(image_id, networks=[{"uuid": "n-1"}]), "2.37",
                   "Invalid input for field/attribute uuid.")


async def test_cli_networks_auto_with_a_flavor_url(api, member, image_id):
    """What `openstack server create` sends from 2.37 when no --nic is given."""
    body = _body(image_id, networks="auto")
    body["server"]["flavorRef"] = "http://x/compute/flavors/42"
    server = await _create(api, member, body, "2.37")
    assert _stored(api, server["id"]).flavorid == "42"


async def test_2_52_tags_at_create(api, member, image_id):
    await _refused(api, member, _body(image_id, networks="none", tags=["a"]), "2.51", UNEXPECTED.format("tags"))
    resp = await api.post("/servers", member, json={**_body(image_id, networks="none", tags=["web", "db"]),
                                                    }, **at("2.52"))
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    assert (await _shown(api, member, server_id, "2.52"))["tags"] == ["db", "web"]
    many = _body(image_id, networks="none", tags=[f"t{n}" for n in range(51)])
    await _refused(api, member, many, "2.52", "Invalid input for field/attribute tags.")
    await _refused(api, member, _body(image_id, networks="none", tags=["a,b"]), "2.52",
                   "Invalid input for field/attribute 0.")
    two = _body(image_id, networks="none", tags=["batch"], min_count=2)
    await _create(api, member, two, "2.52")
    resp = await api.get("/servers?tags=batch", member, **at("2.52"))
    assert len((await resp.json())["servers"]) == 2


async def test_access_ipv6_canonical(api, member, image_id):
    server = await _create(api, member, _body(image_id, accessIPv6="2001:DB8:0000::0001"), "2.1")
    assert (await _shown(api, member, server["id"], "2.1"))["accessIPv6"] == "2001:db8::1"
    resp = await api.put(f"/servers/{server['id']}", member, json={"server": {"accessIPv6": "::FFFF:192.0.2.1"}})
    assert (await resp.json())["server"]["accessIPv6"] == "::ffff:192.0.2.1"
