"""The seam the server side calls for a server's security groups (compute/server_security_groups.py), over ports
whose device_id is the server: the groups named on server create, a server's groups (#1508), addSecurityGroup /
removeSecurityGroup (#1509-#1510) with Nova's faults and messages, every port changed at once and the firewall
following; a refused change changes nothing."""
from __future__ import annotations

import uuid

import pytest

from nodecompute.api.keys import identity_key, network_key
from nodecompute.domain.errors import BadRequest, Conflict, NotFound
from tests.api.helpers import Net

SERVER = str(uuid.uuid4())


@pytest.fixture
async def member(api, make_user) -> Net:
    return Net(api.client, await make_user("alpha", "member"))


@pytest.fixture
def seam(api):
    return api.client.server.app[network_key].server_groups


@pytest.fixture
def ctx(api, member):
    return api.client.server.app[identity_key].validate(member.token)


@pytest.fixture
async def lab(member) -> dict:
    network = await member.network("sgnet")
    await member.subnet(network["id"], "198.18.41.0/24")
    ports = [await member.port(network["id"], device_id=SERVER, device_owner="compute:nova") for _ in range(2)]
    web = (await member.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}}))[
        "security_group"]
    return {"network": network, "ports": ports, "web": web, "default": ports[0]["security_groups"][0]}


async def _groups_of(member: Net, lab: dict) -> list[list[str]]:
    return [sorted((await member.ok("GET", f"/ports/{p['id']}"))["port"]["security_groups"]) for p in lab["ports"]]


async def test_add_and_remove_by_name_or_id_on_every_port(member, ctx, seam, lab, hostnet):
    assert [g.name for g in seam.of_server(SERVER)] == ["default"]
    await seam.add(ctx, SERVER, "web")
    assert await _groups_of(member, lab) == [sorted([lab["default"], lab["web"]["id"]])] * 2
    assert sorted(g.name for g in seam.of_server(SERVER)) == ["default", "web"]
    await seam.remove(ctx, SERVER, lab["web"]["id"])
    await seam.remove(ctx, SERVER, "default")
    assert await _groups_of(member, lab) == [[], []] and seam.of_server(SERVER) == []
    assert seam.of_server(str(uuid.uuid4())) == []


async def test_refusals_with_novas_messages_change_nothing(member, ctx, seam, lab, api):
    with pytest.raises(NotFound, match=f"^Security group nope is not found for project {ctx.project_id}$"):
        await seam.add(ctx, SERVER, "nope")
    other = str(uuid.uuid4())
    with pytest.raises(NotFound, match=f"^instance_id {other} could not be found as device id on any ports$"):
        await seam.add(ctx, other, "web")
    with pytest.raises(BadRequest, match="Duplicate items in the list: '" + lab["default"]):
        await seam.add(ctx, SERVER, "default")
    with pytest.raises(NotFound, match=f"^Security group web not associated with the instance {SERVER}$"):
        await seam.remove(ctx, SERVER, "web")
    await member.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}})
    with pytest.raises(Conflict, match="^Multiple security_group matches found for name 'web', use an ID"):
        await seam.add(ctx, SERVER, "web")
    await member.ok("PUT", f"/ports/{lab['ports'][1]['id']}", json={"port": {"security_groups": [],
                                                                            "port_security_enabled": False}})
    with pytest.raises(BadRequest, match="^Network requires port_security_enabled and subnet associated"):
        await seam.add(ctx, SERVER, lab["web"]["id"])
    assert await _groups_of(member, lab) == [[lab["default"]], []]  # the first port did not get it either


async def test_another_projects_group_is_not_found(api, make_user, ctx, seam, lab):
    beta = Net(api.client, await make_user("beta", "member"))
    theirs = (await beta.ok("POST", "/security-groups", 201, json={"security_group": {"name": "theirs"}}))[
        "security_group"]
    with pytest.raises(NotFound):
        await seam.add(ctx, SERVER, theirs["id"])
    with pytest.raises(BadRequest, match=f"^Security group {theirs['id']} not found.$"):
        seam.resolve(ctx.project_id, [theirs["id"]])


async def test_resolve_names_and_ids_for_server_create(member, ctx, seam, lab):
    assert seam.resolve(ctx.project_id, ["default", lab["web"]["id"]]) == (lab["default"], lab["web"]["id"])
    with pytest.raises(BadRequest, match="^Security group nope not found.$"):
        seam.resolve(ctx.project_id, ["default", "nope"])
    await member.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}})
    with pytest.raises(Conflict, match="^Multiple security groups found matching 'web'. Use an ID to be more "
                                       "specific.$"):
        seam.resolve(ctx.project_id, ["web"])


async def test_the_firewall_follows_a_bound_servers_groups(member, ctx, seam, lab, hostnet, api):
    ports = api.client.server.app[network_key].ports
    await ports.bind(lab["ports"][0]["id"], "tapsrv-a", "h")
    await seam.add(ctx, SERVER, "web")
    (plugged,) = hostnet.firewall.ports
    assert set(plugged.security_groups) == {lab["default"], lab["web"]["id"]}
    await seam.remove(ctx, SERVER, "default")
    assert hostnet.firewall.ports[0].security_groups == (lab["web"]["id"],)
