"""The seed 000 example requests against resources each test makes, checked STRICTLY (tests/api/cyclades_examples.py:
the example's keys plus the cyclades D-cells', no others, same JSON types at every level), the values that name a
resource equal to that resource's own, and each GET's ?xml answer read back equal to the JSON one. Each test names
the seed lines of its examples; docs/cyclades.md "Seed examples" maps every example to its test."""
from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.keys import config_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import public_serials
from tests.api import cyclades_examples as ex
from tests.api.cyclades_fixtures import Cyc, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, Net
from tests.api.test_cyclades_server_parts import made  # noqa: F401 (a fixture: an ACTIVE server with one NIC)

ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkV4P0vH9wFq0kqGfP8x5gqnP3Ph0jO1aP3p6VJv5yX import@test"


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


async def _get(cyc: Cyc, path: str, example) -> dict:
    """GET `path`: 200, shaped like `example`, and its ?xml answer reads back as the JSON one."""
    body = await cyc.ok("GET", path)
    ex.assert_like_example(body, example)
    resp = await cyc.get(path + ("&xml" if "?" in path else "?xml"))
    assert resp.status == 200 and resp.content_type == "application/xml", await resp.text()
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(body)
    return body


async def _same_again_in_xml(cyc: Cyc, method: str, path: str, status: int, body: dict, **kw) -> None:
    """The same (idempotent) request with ?xml: the same code, and the XML reads back as the JSON answer."""
    resp = await cyc.request(method, path + "?xml", **kw)
    assert resp.status == status and resp.content_type == "application/xml", await resp.text()
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(body)


async def _made_in_xml(cyc: Cyc, path: str, status: int, body: dict, example) -> dict:
    """A request that makes something, sent again with ?xml for a second one: the same code, and the XML answer read
    back is shaped like the example exactly as the JSON answer is (the same keys and JSON types at every level)."""
    resp = await cyc.request("POST", path + "?xml", json=body)
    assert resp.status == status and resp.content_type == "application/xml", await resp.text()
    back = xml_cyclades.read_back(await resp.read())
    ex.assert_like_example(back, example)
    return back


async def test_server_examples(api, made):  # noqa: F811
    # seed 000 lines 965-1073 (Example get server Details), 230 (List Servers), 266 (detail): strict, D25 adds deleted
    cyc, server, network = made
    shown = (await _get(cyc, f"/servers/{server['id']}", {"server": ex.SERVER}))["server"]
    uuid = api.client.server.app[store_key].read(public_serials.server_by_serial, int(server["id"]))[0]
    resp = await api.get(f"/servers/{uuid}", cyc.token)
    assert resp.status == 200, await resp.text()
    nova = (await resp.json())["server"]
    assert (shown["id"], shown["name"], shown["status"], shown["image"]["id"]) == (
        server["id"], "vm", "ACTIVE", nova["image"]["id"])
    assert (shown["user_id"], shown["tenant_id"], shown["flavor"]["id"]) == (nova["user_id"], nova["tenant_id"], 1)
    assert shown["created"][:19] == nova["created"][:19] and shown["metadata"]["OS"] == "debian"
    [port] = shown["attachments"]
    assert port["network_id"] == str(network) and list(shown["addresses"]) == [str(network)]
    assert shown["addresses"][str(network)][0]["addr"] in (port["ipv4"], port["ipv6"])
    detail = await _get(cyc, "/servers/detail", {"servers": [ex.SERVER]})
    assert detail["servers"] == [shown]
    brief = await _get(cyc, "/servers", ex.SERVER_LIST)
    assert [(s["id"], s["name"]) for s in brief["servers"]] == [(server["id"], "vm")]


async def test_ips_examples(api, made):  # noqa: F811
    # seed 000 lines 1252 (Example List Addresses), 1345 (ips/<network-id> Example), D33
    cyc, server, network = made
    both = await _get(cyc, f"/servers/{server['id']}/ips", ex.IPS)
    one = await _get(cyc, f"/servers/{server['id']}/ips/{network}", ex.IPS_OF_NETWORK)
    assert one["network"] == {str(network): both["addresses"][str(network)]}
    assert both["attachments"][0]["network_id"] == str(network)


@pytest.fixture
async def external_api(aiohttp_client, cfg) -> Api:
    """The app with an external network (the floating IPs' pool); no server is made on it."""
    cfg = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_cidr="198.19.0.0/24"))
    return Api(await aiohttp_client(create_app(cfg)))


async def test_floating_ip_examples(external_api):
    # seed 000 lines 3085 (Allocation of a floating IP), 2968 (List), 3030 (details), 3131 (deallocation 202), D54
    cyc = Cyc(external_api, await external_api.token("admin", "admin-secret", "admin"))
    made_ip = await cyc.ok("POST", "/os-floating-ips", json={"pool": "public"})
    ex.assert_like_example(made_ip, {"floating_ip": ex.FLOATING_IP})
    in_xml = await _made_in_xml(cyc, "/os-floating-ips", 200, {"pool": "public"}, {"floating_ip": ex.FLOATING_IP})
    assert (await cyc.delete(f"/os-floating-ips/{in_xml['floating_ip']['id']}")).status == 202
    listed = await _get(cyc, "/os-floating-ips", {"floating_ips": [ex.FLOATING_IP]})
    assert listed["floating_ips"] == [made_ip["floating_ip"]]
    shown = await _get(cyc, f"/os-floating-ips/{made_ip['floating_ip']['id']}", {"floating_ip": ex.FLOATING_IP})
    assert shown == made_ip
    assert (await cyc.delete(f"/os-floating-ips/{made_ip['floating_ip']['id']}")).status == 202


@pytest.mark.parametrize(("answer", "message"), [
    ({"a": 1, "b": [{"c": ""}], "x": 0}, "keys not in the example"),
    ({"a": 1}, "example keys missing"),
    ({"a": "1", "b": []}, "is not a int"),
    ({"a": 1, "b": [{"c": None}]}, "is not a str"),
    ({"a": True, "b": []}, "is not a int"),
])
def test_the_example_check_is_strict(answer, message):
    # the checker itself: extra or missing keys at any level, or another JSON type, fail
    with pytest.raises(AssertionError, match=message):
        ex.assert_like_example(answer, {"a": 1, "b": [{"c": ""}]})


async def test_create_example(api, made):  # noqa: F811
    # seed 000 lines 619-640 (Example Create Server Response: 200, the full server and adminPass; D11 string id)
    cyc, server, _network = made
    image = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["image"]["id"]
    created = await cyc.ok("POST", "/servers", json={"server": {"name": "My Example Server", "imageRef": image,
                                                                "flavorRef": 1, "networks": []}})
    ex.assert_like_example(created, ex.CREATED_SERVER)
    assert (created["server"]["name"], created["server"]["status"]) == ("My Example Server", "BUILD")
    assert created["server"]["image"]["id"] == image and created["server"]["flavor"]["id"] == 1
    body = {"server": {"name": "In XML", "imageRef": image, "flavorRef": 1, "networks": []}}
    in_xml = (await _made_in_xml(cyc, "/servers", 200, body, ex.CREATED_SERVER))["server"]
    shown = (await cyc.ok("GET", f"/servers/{in_xml['id']}"))["server"]
    assert (in_xml["name"], in_xml["image"], in_xml["flavor"], in_xml["links"]) == (
        "In XML", shown["image"], shown["flavor"], shown["links"])


async def test_create_on_various_networks_example(api, made):  # noqa: F811
    # seed 000 lines 725-738 (Example Connect server on various networks: integer network ids, one with fixed_ip)
    cyc, server, network = made
    image = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["image"]["id"]
    net = Net(api.client, cyc.token)
    private = await net.network("cyc-private")
    await net.subnet(private["id"], "198.18.8.0/24")
    store = api.client.server.app[store_key]
    private_serial = store.read(public_serials.serials_of, "network", [private["id"]])[private["id"]]
    created = await cyc.ok("POST", "/servers", json={"server": {
        "name": "two-nics", "imageRef": image, "flavorRef": 1,
        "networks": [{"uuid": private_serial}, {"uuid": network, "fixed_ip": "198.18.7.50"}]}})
    ex.assert_like_example(created, ex.CREATED_SERVER)
    await api.client.server.app[servers_key].wait_idle()
    shown = (await _get(cyc, f"/servers/{created['server']['id']}", {"server": ex.SERVER}))["server"]
    assert [a["network_id"] for a in shown["attachments"]] == [str(private_serial), str(network)]
    assert [a["addr"] for a in shown["addresses"][str(network)]] == ["198.18.7.50"]
    assert shown["addresses"][str(private_serial)][0]["addr"].startswith("198.18.8.")


async def test_stats_and_diagnostics_examples(api, made):  # noqa: F811
    # seed 000 lines 815-826 (Example Get Server Stats Response), 893-911 (Example Get Server Diagnostics Response)
    cyc, server, _network = made
    stats = await cyc.ok("GET", f"/servers/{server['id']}/stats")
    ex.assert_like_example(stats, ex.STATS)
    assert stats["stats"]["serverRef"] == int(server["id"])
    await _get(cyc, f"/servers/{server['id']}/diagnostics", [ex.DIAGNOSTIC])


async def test_console_example(api, made):  # noqa: F811
    # seed 000 lines 1781 (Example Get Server Console) and 1799-1810 (Example Action Console Response)
    cyc, server, _network = made
    console = await cyc.ok("POST", f"/servers/{server['id']}/action", json={"console": {"type": "vnc"}})
    ex.assert_like_example(console, ex.CONSOLE)
    public_host = urlsplit(api.client.server.app[config_key].public_url).hostname  # the seed's vm42.example.org
    assert console["console"]["type"] == "vnc" and console["console"]["host"] == public_host
    again = await _made_in_xml(cyc, f"/servers/{server['id']}/action", 200, {"console": {"type": "vnc"}}, ex.CONSOLE)
    assert (again["console"]["type"], again["console"]["host"]) == ("vnc", public_host)  # its own one-shot port


async def test_flavor_examples(api, made):  # noqa: F811
    # seed 000 lines 1932 (List Flavors (regular)), 1982 (List Flavors (detail)), 2086 (Flavor Details), D51
    cyc, _server, _network = made
    brief = await _get(cyc, "/flavors", {"flavors": [ex.FLAVOR_BRIEF]})
    detail = await _get(cyc, "/flavors/detail", {"flavors": [ex.FLAVOR]})
    assert [(f["id"], f["name"]) for f in brief["flavors"]] == [(f["id"], f["name"]) for f in detail["flavors"]]
    one = await _get(cyc, "/flavors/1", {"flavor": ex.FLAVOR})
    assert one["flavor"] == next(f for f in detail["flavors"] if f["id"] == 1)


async def test_image_examples(api, made):  # noqa: F811
    # seed 000 lines 2297 (image details), 2410 (Example List Image Metadata), 2191 (List Image), D52, D66
    cyc, server, _network = made
    image = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["image"]["id"]
    shown = (await _get(cyc, f"/images/{image}", {"image": ex.IMAGE}))["image"]
    assert shown["id"] == image and shown["status"] == "ACTIVE"
    listed = await _get(cyc, f"/images/{image}/metadata", {"metadata": ex.METADATA})
    assert listed["metadata"] == shown["metadata"]
    detail = await _get(cyc, "/images/detail", {"images": [ex.IMAGE]})
    assert shown in detail["images"]


async def test_keypair_examples(api, made):  # noqa: F811
    # seed 000 lines 2797 (Create Keypair Response), 2813 (Import Keypair Response), 2710 (List), 2875 (Details)
    cyc, _server, _network = made
    created = await cyc.ok("POST", "/os-keypairs", 201, json={"keypair": {"name": "create_key"}})
    ex.assert_like_example(created, ex.KEYPAIR_CREATED)
    imported = await cyc.ok("POST", "/os-keypairs", 201, json={"keypair": {"name": "import_key",
                                                                            "public_key": ED25519_KEY}})
    ex.assert_like_example(imported, ex.KEYPAIR_IMPORTED)
    await _made_in_xml(cyc, "/os-keypairs", 201, {"keypair": {"name": "create_in_xml"}}, ex.KEYPAIR_CREATED)
    await _made_in_xml(cyc, "/os-keypairs", 201, {"keypair": {"name": "import_in_xml", "public_key": ED25519_KEY}},
                       ex.KEYPAIR_IMPORTED)
    for name in ("create_in_xml", "import_in_xml"):
        assert (await cyc.delete(f"/os-keypairs/{name}")).status in (202, 204)
    assert imported["keypair"]["name"] == "import_key" and imported["keypair"]["public_key"] == ED25519_KEY
    listed = await _get(cyc, "/os-keypairs", ex.KEYPAIR_LIST)
    assert sorted(k["keypair"]["name"] for k in listed["keypairs"]) == ["create_key", "import_key"]
    shown = await _get(cyc, "/os-keypairs/import_key", ex.KEYPAIR)
    assert shown["keypair"]["fingerprint"] == imported["keypair"]["fingerprint"]


@pytest.mark.parametrize(("line", "method", "sub", "body", "status", "answer"), [
    (2410, "GET", "", None, 200, {"metadata": {"OS": "debian"}}),
    (2469, "POST", "", {"metadata": {"NewAttr": "NewVal", "OS": "Xubuntu"}}, 201,
     {"metadata": {"NewAttr": "NewVal", "OS": "Xubuntu"}}),  # 2496-2506 (keys kept as given, see docs/cyclades.md)
    (2552, "GET", "/OS", None, 200, {"metadata": {"OS": "debian"}}),
    (2589, "PUT", "/OS", {"metadata": {"OS": "Kubuntu"}}, 201, {"metadata": {"OS": "Kubuntu"}}),  # 2615
])
async def test_image_metadata_examples(api, made, line, method, sub, body, status, answer):  # noqa: F811
    # seed 000 line `line` (the image metadata examples, D46): the example's code and answer, exactly
    cyc, server, _network = made
    image = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["image"]["id"]
    await cyc.ok("POST", f"/images/{image}/metadata", 201, json={"metadata": {"OS": "debian"}})
    kw = {"json": body} if body is not None else {}
    got = await cyc.ok(method, f"/images/{image}/metadata{sub}", status, **kw)
    ex.assert_like_example(got, {"metadata": ex.METADATA})
    assert got == answer, f"seed 000 line {line}"
    await _same_again_in_xml(cyc, method, f"/images/{image}/metadata{sub}", status, got, **kw)


@pytest.mark.parametrize(("line", "method", "sub", "body", "status", "answer"), [
    (1403, "GET", "", None, 200, {"metadata": {"OS": "debian"}}),
    (1454, "POST", "", {"metadata": {"role": "webmail", "users": "root,maild"}}, 201,
     {"metadata": {"OS": "debian", "role": "webmail", "users": "root,maild"}}),  # 1483: the whole set
    (1529, "GET", "/OS", None, 200, {"metadata": {"OS": "debian"}}),
    (1562, "PUT", "/role", {"metadata": {"role": "gateway"}}, 201, {"metadata": {"role": "gateway"}}),  # 1588
])
async def test_server_metadata_examples(api, made, line, method, sub, body, status, answer):  # noqa: F811
    # seed 000 line `line` (the server metadata examples, D42-D44): the example's code and answer, exactly
    cyc, server, _network = made
    kw = {"json": body} if body is not None else {}
    got = await cyc.ok(method, f"/servers/{server['id']}/metadata{sub}", status, **kw)
    ex.assert_like_example(got, {"metadata": ex.METADATA})
    assert got == answer, f"seed 000 line {line}"
    await _same_again_in_xml(cyc, method, f"/servers/{server['id']}/metadata{sub}", status, got, **kw)
