"""Neutron's list queries on the network face: filters by any attribute (repeated values OR'd, booleans and integers
converted, fixed_ips by address or subnet), `fields`, sorting, and limit/marker/page_reverse paging with
`<collection>_links`, with Neutron's 400s for what it refuses."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.api.helpers import Net, assert_neutron_fault


@pytest.fixture
def net(api, admin_token) -> Net:
    return Net(api.client, admin_token)


@pytest.fixture
async def five(net) -> list[dict]:
    """Five networks named n0..n4; n1 and n3 are down, n4 is shared."""
    made = []
    for i in range(5):
        made.append(await net.network(f"n{i}", admin_state_up=i not in (1, 3), shared=i == 4, mtu=1400 + i))
    return made


def _names(body: dict, collection: str = "networks") -> list[str]:
    return [item["name"] for item in body[collection]]


async def test_filters(net, five):
    assert _names(await net.ok("GET", "/networks?name=n2")) == ["n2"]
    assert sorted(_names(await net.ok("GET", "/networks?name=n2&name=n4"))) == ["n2", "n4"]
    for down in ("False", "false", "0"):
        assert sorted(_names(await net.ok("GET", f"/networks?admin_state_up={down}"))) == ["n1", "n3"]
    assert _names(await net.ok("GET", "/networks?shared=true&admin_state_up=true")) == ["n4"]
    assert _names(await net.ok("GET", "/networks?mtu=1403")) == ["n3"]
    assert _names(await net.ok("GET", "/networks?router:external=True")) == []
    assert _names(await net.ok("GET", f"/networks?id={five[0]['id']}")) == ["n0"]
    assert len((await net.ok("GET", f"/networks?tenant_id={five[0]['project_id']}"))["networks"]) == 5
    assert _names(await net.ok("GET", "/networks?name=")) != []  # an empty value is no filter


@pytest.mark.parametrize("query, type_, message", [
    ("nope=1", "HTTPBadRequest", "['nope'] is invalid attribute for filtering"),
    ("allocation_pools=x", "HTTPBadRequest", "['allocation_pools'] is invalid attribute for filtering"),
    ("admin_state_up=maybe", "InvalidInput", "Invalid input for operation: 'maybe' cannot be converted to boolean."),
    ("mtu=big", "InvalidInput", "Invalid input for operation: 'big' is not an integer."),
    ("tenant_id=a&project_id=a", "TenantIdProjectIdFilterConflict", "Both tenant_id and project_id passed as "
                                                                    "filters."),
    ("limit=x", "BadRequest", "Bad limit request: Limit must be an integer 0 or greater and not 'x'."),
    ("limit=-1", "BadRequest", None),
    ("sort_key=name", "HTTPBadRequest", "The number of sort_keys and sort_dirs must be same"),
    ("sort_key=nope&sort_dir=asc", "HTTPBadRequest", "['nope'] is invalid attribute for sort_keys"),
    ("sort_key=name&sort_dir=up", "HTTPBadRequest",
     "['up'] is invalid value for sort_dirs, valid value is 'asc' and 'desc'"),
])
async def test_refused_queries(net, five, query, type_, message):
    await assert_neutron_fault(await net.get(f"/networks?{query}"), 400, type_, message)


async def test_fields_on_lists_and_members(net, five):
    body = await net.ok("GET", "/networks?fields=id&fields=name")
    assert all(set(n) == {"id", "name"} for n in body["networks"])
    shown = await net.ok("GET", f"/networks/{five[0]['id']}?fields=mtu")
    assert shown == {"network": {"mtu": 1400}}


async def test_sorting(net, five):
    assert _names(await net.ok("GET", "/networks?sort_key=name&sort_dir=desc")) == ["n4", "n3", "n2", "n1", "n0"]
    body = await net.ok("GET", "/networks?sort_key=admin_state_up&sort_dir=asc&sort_key=name&sort_dir=desc")
    assert _names(body) == ["n3", "n1", "n4", "n2", "n0"]


def _link(body: dict, rel: str) -> str | None:
    return next((link["href"] for link in body.get("networks_links", []) if link["rel"] == rel), None)


def _relative(href: str) -> str:
    parts = urlsplit(href)
    assert parts.path == "/networking/v2.0/networks"
    return "/networks?" + parts.query


async def test_paging_forward_and_back(net, five):
    by_id = sorted(five, key=lambda n: n["id"])
    first = await net.ok("GET", "/networks?limit=2")
    assert [n["id"] for n in first["networks"]] == [n["id"] for n in by_id[:2]]  # pages are in id order
    query = dict(parse_qsl(urlsplit(_link(first, "next")).query))
    assert query == {"limit": "2", "marker": by_id[1]["id"]}
    assert dict(parse_qsl(urlsplit(_link(first, "previous")).query)) == {
        "limit": "2", "marker": by_id[0]["id"], "page_reverse": "True"}
    second = await net.ok("GET", _relative(_link(first, "next")))
    assert [n["id"] for n in second["networks"]] == [n["id"] for n in by_id[2:4]]
    third = await net.ok("GET", _relative(_link(second, "next")))
    assert [n["id"] for n in third["networks"]] == [by_id[4]["id"]]
    assert _link(third, "next") is None and _link(third, "previous") is not None  # a short last page
    back = await net.ok("GET", _relative(_link(third, "previous")))
    assert [n["id"] for n in back["networks"]] == [n["id"] for n in by_id[2:4]]
    start = await net.ok("GET", _relative(_link(await net.ok("GET", _relative(_link(back, "previous"))),
                                                 "previous")))
    assert start["networks"] == [] and _link(start, "previous") is None and _link(start, "next") is not None


async def test_paging_with_filters_sorting_and_fields(net, five):
    body = await net.ok("GET", "/networks?admin_state_up=true&sort_key=name&sort_dir=desc&limit=2&fields=name")
    assert body["networks"] == [{"name": "n4"}, {"name": "n2"}]
    second = await net.ok("GET", _relative(_link(body, "next")))
    assert second["networks"] == [{"name": "n0"}] and _link(second, "next") is None


async def test_an_unknown_marker_gives_nothing(net, five):
    body = await net.ok("GET", "/networks?limit=2&marker=00000000-0000-0000-0000-000000000000")
    assert body["networks"] == []


async def test_port_filters(net):
    network = await net.network()
    subnet = await net.subnet(network["id"], "198.18.50.0/24")
    one = await net.port(network["id"], device_id="vm-1", fixed_ips=[{"ip_address": "198.18.50.10"}])
    await net.port(network["id"], device_id="vm-2", fixed_ips=[{"ip_address": "198.18.50.11"}])
    found = await net.ok("GET", "/ports?fixed_ips=ip_address%3D198.18.50.10")
    assert [p["id"] for p in found["ports"]] == [one["id"]]
    found = await net.ok("GET", f"/ports?fixed_ips=subnet_id%3D{subnet['id']}&device_owner=")
    assert len(found["ports"]) == 3  # the DHCP port too
    found = await net.ok("GET", "/ports?device_id=vm-1&device_id=vm-2")
    assert len(found["ports"]) == 2
    group = one["security_groups"][0]
    assert len((await net.ok("GET", f"/ports?security_groups={group}"))["ports"]) == 2
    assert (await net.ok("GET", "/ports?binding:vif_type=bridge"))["ports"][0]["device_owner"] == "network:dhcp"
    subnets = await net.ok("GET", "/subnets?cidr=198.18.50.0/24&ip_version=4&enable_dhcp=True")
    assert [s["id"] for s in subnets["subnets"]] == [subnet["id"]]
    await assert_neutron_fault(await net.get("/subnets?ip_version=four"), 400, "InvalidInput")


async def test_each_listed_port_is_the_port_shown(net):
    """A list is read and encoded off the event loop (another thread, orjson), a port shown inline: same bodies."""
    network = await net.network()
    await net.subnet(network["id"], "198.18.51.0/24")
    made = [await net.port(network["id"], name=f"p{n}", device_id=f"vm-{n}") for n in range(3)]
    listed = (await net.ok("GET", "/ports"))["ports"]
    assert {p["id"] for p in made} <= {p["id"] for p in listed}
    for port in listed:
        assert port == (await net.ok("GET", f"/ports/{port['id']}"))["port"]


async def test_an_empty_list_still_checks_its_query(net):
    assert (await net.ok("GET", "/ports?device_id=x"))["ports"] == []
    await assert_neutron_fault(await net.get("/ports?nope=1"), 400, "HTTPBadRequest")
