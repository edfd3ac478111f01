"""Seed 002's JSON floating-IP examples (allocate 5567, list 5492, show 5619, associate 5399 and 8612, disassociate
5445, release 5673) and a server's addresses on one network (2857), held strictly to the response examples' keys
(tests/api/helion_strict_keys.py) on a server with a NIC behind a router (test_servers_floating_ips_api's world);
the values naming a resource equal to that resource's own."""
from __future__ import annotations

from nodecompute.api import xml_helion
import pytest

from tests.api.helion_strict_keys import strict_mismatches
from tests.api.l3_env import with_external
from tests.api.test_helion_examples_strict import example
from tests.api.test_helion_examples_strict_writes import request, send
from tests.api.test_helion_xml_requests import Helion
from tests.api.test_servers_floating_ips_api import cloud  # noqa: F401 (fixture)


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


async def test_floating_ip_examples(cloud):  # noqa: F811
    api, admin, _l3, server_id, network = cloud
    helion = Helion((api, admin, None, server_id))
    allocated = (await send(helion, "POST", "/os-floating-ips", (5567, 0, 5588), 200))["floating_ip"]
    assert isinstance(allocated["id"], int) and allocated["instance_id"] is None
    listed = await helion.json("/os-floating-ips")
    assert strict_mismatches(example(5512), listed) == [] and listed["floating_ips"] == [allocated]
    assert await read_back(helion, "/os-floating-ips") == listed  # 5531
    shown = await helion.json(f"/os-floating-ips/{allocated['id']}")
    assert strict_mismatches(example(5642), shown) == [] and shown["floating_ip"] == allocated
    assert await read_back(helion, f"/os-floating-ips/{allocated['id']}") == shown  # 5653

    act = f"/servers/{server_id}/action"
    fixed = (await helion.server())["addresses"][network["name"]][0]["addr"]
    await send(helion, "POST", act, (5399, 5421, None), 202, request(5421, ("15.185.230.113", allocated["ip"])))
    shown = (await helion.json(f"/os-floating-ips/{allocated['id']}"))["floating_ip"]
    assert (shown["instance_id"], shown["fixed_ip"]) == (server_id, fixed)
    ips = await helion.json(f"/servers/{server_id}/ips/{network['name']}")
    # the one key is the network's name: compared as the data key of `addresses`
    assert list(ips) == [network["name"]]
    assert strict_mismatches({"addresses": example(2887)}, {"addresses": ips}) == [], 2857
    assert await read_back(helion, f"/servers/{server_id}/ips/{network['name']}", "network") == ips  # 2902
    assert sorted(entry["addr"] for entry in ips[network["name"]]) == sorted([fixed, allocated["ip"]])
    await send(helion, "POST", act, (5445, 5468, None), 202, request(5468, ("15.185.230.113", allocated["ip"])))
    assert (await helion.json(f"/os-floating-ips/{allocated['id']}"))["floating_ip"]["instance_id"] is None
    await send(helion, "POST", act, (8612, 8627, None), 202,
               request(8627, ("15.185.230.113", allocated["ip"]), ("10.10.10.22", fixed)))
    assert (await helion.json(f"/os-floating-ips/{allocated['id']}"))["floating_ip"]["fixed_ip"] == fixed
    await send(helion, "POST", act, (5445, 5468, None), 202, request(5468, ("15.185.230.113", allocated["ip"])))
    await send(helion, "DELETE", f"/os-floating-ips/{allocated['id']}", (5673, 0, None), 202)
    assert (await helion.json("/os-floating-ips"))["floating_ips"] == []
    resp = await helion.call("POST", "/os-floating-ips.xml")  # 5599: the allocate answered in XML
    assert resp.status == 200 and resp.content_type == "application/xml", await resp.text()
    again = xml_helion.read_back(await resp.read(), None)
    assert again == await helion.json(f"/os-floating-ips/{again['floating_ip']['id']}")


async def read_back(helion: Helion, path: str, kind: str | None = None) -> object:
    """The `.xml` answer of a GET read back by the documented rules."""
    resp = await helion.call("GET", path + ".xml")
    assert resp.status == 200 and resp.content_type == "application/xml", (path, await resp.text())
    return xml_helion.read_back(await resp.read(), kind)
