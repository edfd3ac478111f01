"""The server lists' `ip` and `ip6` filters on servers with ports (Nova: a regex matched from the start of a fixed
address of that family of the server's ports; Tempest's ListServerFiltersTestJSON by_ip and by_ip_regex)."""
from __future__ import annotations

from tests.api.helpers import assert_fault
from tests.api.test_servers_networks import _active, _create, _network, cloud  # noqa: F401 (fixtures)


async def _ids(api, token: str, query: str, version: str = "2.1") -> list[str]:
    resp = await api.get(f"/servers{query}", token, headers={"OpenStack-API-Version": f"compute {version}"})
    assert resp.status == 200, await resp.text()
    return sorted(s["id"] for s in (await resp.json())["servers"])


async def test_ip_filters_match_the_fixed_addresses_from_their_start(cloud):  # noqa: F811
    api, admin, net, image_id, _hostnet = cloud
    network, _subnet = await _network(net)
    first = (await _create(api, admin, image_id, networks=[{"uuid": network["id"], "fixed_ip": "198.18.7.50"}]))
    second = (await _create(api, admin, image_id, networks=[{"uuid": network["id"], "fixed_ip": "198.18.7.5"}]))
    bare = (await _create(api, admin, image_id, version="2.37", networks="none"))
    ids = [first["server"]["id"], second["server"]["id"], bare["server"]["id"]]
    for server_id in ids:
        await _active(api, admin, server_id)
    assert await _ids(api, admin, "?ip=198.18.7.50") == [ids[0]]
    assert await _ids(api, admin, "?ip=198.18.7.5") == sorted(ids[:2])  # a prefix, as Nova's re.match
    assert await _ids(api, admin, "?ip=198\\.18\\.7\\.5$") == [ids[1]]
    assert await _ids(api, admin, "?ip=7.50") == []  # from the start only
    assert await _ids(api, admin, "/detail?ip=198.18") == sorted(ids[:2])  # never the server without an address
    assert await _ids(api, admin, "?ip6=198.18.7.50") == []  # an IPv4 address is not an ip6 match
    assert await _ids(api, admin, "?ip=198.18.7.50&name=^vm$") == [ids[0]]
    await assert_fault(await api.get("/servers?ip=(", admin), 400, "badRequest",
                       "Invalid input for query parameters ip")
