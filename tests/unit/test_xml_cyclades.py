"""Cyclades' XML codec (render only; read back for tests) against the one XML example of its seeds (000; 001 has
none), plus D6 rules and round trips of the seeds' JSON examples (transcribed; where an example is not valid JSON,
section 6 says it is used for structure only, and the corrections are noted)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.xml_common import EXTENSION_NS
from tests.unit.xml_seed import DATA, SEED_DIR, Case, differences, example_text, load_examples

SEED = "000_51abc51f7af56e5b.txt"
EXAMPLES = load_examples(SEED)
V1 = xml_cyclades.COMPUTE_NS
ATOM = "http://www.w3.org/2005/Atom"
E = "https://example.org/compute/v2.0"


def pair(collection: str, ident: object) -> list[dict]:
    """D66: self and bookmark identical."""
    return [{"href": f"{E}/{collection}/{ident}", "rel": "self"}, {"href": f"{E}/{collection}/{ident}", "rel": "bookmark"}]


# 000:1934, "List Flavors (regular): JSON"; its first flavor is "One code" there and "One core" in the XML example.
FLAVORS_SUMMARY = Case(1971, json_line=1934, doc={"flavors": [
    {"id": 1, "name": "One core", "links": pair("flavors", 1)}, {"id": 3, "name": "Four core", "links": pair("flavors", 3)}]},
    notes=("the JSON example names the first flavor \"One code\", the XML example \"One core\"",))
ADDRESSES = {"2718": [{"version": 6, "addr": "2001:443:2dfc:1232:a810:3cf:fe9b:21cd", "OS-EXT-IPS:type": "fixed"}],
             "4178": [{"version": 4, "addr": "192.168.1.3", "OS-EXT-IPS:type": "floating"}]}
ATTACHMENTS = [
    {"id": "36", "network_id": "2718", "mac_address": "aa:01:02:6c:34:cd", "firewallProfile": "DISABLED", "ipv4": "",
     "ipv6": "2001:443:2dfc:1232:a810:3cf:fe9b:21cd", "OS-EXT-IPS:type": "fixed"},
    {"id": "38", "network_id": "4178", "mac_address": "aa:00:0c:6d:34:cc", "firewallProfile": "PROTECTED",
     "ipv4": "192.168.1.3", "ipv6": "", "OS-EXT-IPS:type": "floating"}]
DIAGNOSTICS = [  # 000:895
    {"level": "DEBUG", "created": "2013-04-09T15:25:53.965144+00:00", "source": "image-helper-task-start",
     "source_date": "2013-04-09T15:25:53.954695+00:00", "message": "FixPartitionTable", "details": None},
    {"level": "DEBUG", "created": "2013-04-09T15:25:46.413718+00:00", "source": "image-info",
     "source_date": "2013-04-09T15:25:46.404477+00:00", "message": "Starting customization VM...", "details": None}]
# 000:966, with section 6's corrections: addresses an object (the example writes `[ "2718": ... ]`), `created` once,
# flavor id the integer 3 (`3"` in the example; D11), commas restored.
SERVER = {
    "addresses": ADDRESSES, "attachments": ATTACHMENTS, "links": pair("servers", 84),
    "image": {"id": "im4g3-1d", "links": pair("images", "im4g3-1d") + [
        {"href": "https://example.org/image/v1.0/images/im4g3-1d", "rel": "alternate"}]},
    "suspended": False, "flavor": {"id": 3, "links": pair("flavors", 3)}, "id": "84",
    "security_groups": [{"name": "default"}], "user_id": "s0m5-u5e7-1d", "accessIPv4": "", "accessIPv6": "",
    "progress": 100, "config_drive": "", "status": "ACTIVE", "updated": "2011-05-30T14:07:07.037602+00:00",
    "hostId": "", "SNF:fqdn": "snf-84.vm.example.org", "key_name": None, "SNF:key_names": [], "name": "My Other Server",
    "created": "2014-02-21T08:31:37.834542+00:00", "tenant_id": "s0m5-u5e7-1d", "SNF:port_forwarding": {},
    "SNF:task_state": "", "diagnostics": DIAGNOSTICS[:1], "metadata": {"os": "debian", "users": "root"},
    "deleted": False,
}
KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCgk3JCX59fAQt7sZNflwhOX3wWHImNeni0sxvaGaMUxzcNBVPRebHoIwZPZ+8YyGUFPPShrFGS50"
       "Z7tizwYS8p6oORzAVlBGSDzjlSTOQ9d9s4Y4Tmmea4biA/zzAGYUhsnSAirEC35zUrWQlqpiSEBWrvVUJHsX61QAKi7VT1ObTxrj6WdARQBd53/GHE9fB"
       "oJZ/sEtQSwf+VzEAt5TOfu38X6j524YymaN79DGfOminmXlxS9W8H21R2sKfhE7Zuw6LxCSGOvV/M2+wlGWkWb8C/AJG2iZjlPWtp2isvX2i2as8Vqh6"
       "8Dcse7KnlkVwqnqhhGoZydbAp+VorCL6R")
DOCS: list[tuple[str, object, str | None]] = [
    ("server detail (000:966)", {"server": SERVER}, None),
    ("servers summary", {"servers": [{"id": "84", "name": "My Other Server", "links": pair("servers", 84)}]}, None),
    ("create response (D21: 200 and the full server)", {"server": {**SERVER, "status": "BUILD", "progress": 0,
                                                                    "adminPass": "4QAx7M8MrXVmXZSL"}}, None),
    ("ips (000:1255)", {"addresses": ADDRESSES, "attachments": ATTACHMENTS}, None),
    ("ips of one network (000:1347)", {"network": {"2718": ADDRESSES["2718"]}}, None),
    ("stats (000:818)", {"stats": {
        "serverRef": 5678, "refresh": 60, "cpuBar": "http://stats.okeanos.grnet.gr/b9a...048c/cpu-bar.png",
        "cpuTimeSeries": "http://stats.okeanos.grnet.gr/b9a...048c/cpu-ts.png",
        "netBar": "http://stats.okeanos.grnet.gr/b9a...048c/net-bar.png",
        "netTimeSeries": "http://stats.okeanos.grnet.gr/b9a...048c/net-ts.png"}}, None),
    ("diagnostics (000:895, a bare list)", DIAGNOSTICS, None),
    ("flavors detail (000:1982)", {"flavors": [
        {"id": 1, "name": "One core", "ram": 1024, "SNF:disk_template": "drbd", "disk": 20, "vcpus": 1,
         "os-flavor-access:is_public": True, "SNF:flavor-access": [], "links": pair("flavors", 1)},
        {"id": 3, "name": "Four core", "ram": 1024, "SNF:disk_template": "drbd", "disk": 40, "vcpus": 4,
         "os-flavor-access:is_public": False, "SNF:flavor-access": ["c0f0188f-2644-4768-8781-cccae7b61344"],
         "links": pair("flavors", 3)}]}, None),
    ("flavor", {"flavor": {"id": 1, "name": "One core", "ram": 1024, "SNF:disk_template": "drbd", "disk": 20,
                           "vcpus": 1, "os-flavor-access:is_public": True, "SNF:flavor-access": [],
                           "links": pair("flavors", 1)}}, None),
    ("images detail (000:2190)", {"images": [{
        "status": "ACTIVE", "updated": "2013-03-02T15:57:03+00:00", "name": "edx_saas",
        "created": "2013-03-02T12:21:00+00:00", "progress": 100, "id": "07h3r-1m4g3-1d",
        "links": pair("images", "07h3r-1m4g3-1d"),
        "metadata": {"PARTITION_TABLE": "ext3", "OSFAMILY": "Linux", "USERS": "root", "OS": "Debian"}}]}, None),
    ("keypairs (000:2712)", {"keypairs": [{"keypair": {
        "fingerprint": "e0:29:a7:c2:47:6e:d3:e6:68:3f:71:62:6b:c8:17:93", "name": "my_key", "public_key": KEY}}]}, None),
    ("keypair details (000:2877)", {"keypair": {
        "created_at": "2016-12-20T10:14:07.988431", "deleted": False, "deleted_at": None,
        "fingerprint": "e0:29:a7:c2:47:6e:d3:e6:68:3f:71:62:6b:c8:17:93", "id": 1, "name": "my_key",
        "public_key": KEY, "updated_at": "2016-12-20T10:14:07.988548"}}, None),
    ("keypair created", {"keypair": {"fingerprint": "e0:29", "name": "create_key", "public_key": KEY,
                                     "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"}},
     None),
    ("floating ip (000:3033)", {"floating_ip": {"instance_id": None, "ip": "10.2.1.2", "fixed_ip": None, "id": 42,
                                                "pool": None}}, None),
    ("console (000:1803)", {"console": {"type": "vnc", "host": "vm42.example.org", "port": 1234,
                                        "password": "513NR14PN0T"}}, None),
    ("volume attachments (001)", {"volumeAttachments": [{"device": "", "serverId": 1134, "id": 9, "volumeId": 9},
                                                        {"device": "", "serverId": 1134, "id": 99, "volumeId": 99}]},
     None),
    ("server password not set", {"password": ""}, None),
    ("metadata (000:1487)", {"metadata": {"OS": "Linux", "role": "webmail", "users": "root,maild"}}, None),
    ("fault", {"badRequest": {"code": 400, "message": "Malformed server id", "details": ""}}, None),
    ("fault while building", {"buildInProgress": {"code": 409, "message": "Server is being built.", "details": "x"}},
     None),
]


def test_the_seed_example_is_the_summary_flavor_list():
    assert sorted(first for form, first in EXAMPLES if form == "xml") == [FLAVORS_SUMMARY.line]
    assert not (DATA / "001_636c4dba57426fe6.txt").exists()  # seed 001 has no XML example


@pytest.mark.skipif(not (SEED_DIR / SEED).exists(), reason="the seeds are not on this machine")
def test_the_example_is_copied_verbatim_from_the_seed():
    lines = (SEED_DIR / SEED).read_text(encoding="utf-8").split("\n")
    example = EXAMPLES["xml", FLAVORS_SUMMARY.line]
    assert example.text == "\n".join(lines[example.first - 1:example.last])


def test_summary_flavor_list_renders_as_the_seed_example():
    ours = ET.fromstring(xml_cyclades.render(FLAVORS_SUMMARY.doc))
    theirs = ET.fromstring(example_text(EXAMPLES["xml", 1971], FLAVORS_SUMMARY, EXTENSION_NS))
    assert differences(ours, theirs, {}) == []
    assert ours.tag == f"{{{V1}}}flavors" and not ours.findall(f".//{{{ATOM}}}link")


def test_summary_flavor_list_reads_back_without_its_links():
    body = xml_cyclades.render(FLAVORS_SUMMARY.doc)
    expected = {"flavors": [{"id": 1, "name": "One core"}, {"id": 3, "name": "Four core"}]}
    assert xml_cyclades.read_back(body) == xml_cyclades.xml_view_of(FLAVORS_SUMMARY.doc) == expected


@pytest.mark.parametrize("name, doc, kind", DOCS, ids=[d[0] for d in DOCS])
def test_round_trip(name, doc, kind):
    assert xml_cyclades.read_back(xml_cyclades.render(doc, kind), kind) == xml_cyclades.xml_view_of(doc, kind) == doc


@pytest.mark.parametrize("name, doc, kind", DOCS + [("summary flavors", FLAVORS_SUMMARY.doc, None)],
                         ids=[d[0] for d in DOCS] + ["summary flavors"])
def test_every_root_is_in_compute_v1_and_declares_atom(name, doc, kind):
    body = xml_cyclades.render(doc, kind)
    assert ET.fromstring(body).tag.startswith(f"{{{V1}}}")
    assert f'xmlns:atom="{ATOM}"'.encode() in body


def test_server_follows_d6():
    root = ET.fromstring(xml_cyclades.render({"server": SERVER}))
    assert (root.get("user_id"), root.get("tenant_id"), root.get("userId")) == ("s0m5-u5e7-1d", "s0m5-u5e7-1d", None)
    assert (root.get("key_name"), root.get("suspended"), root.get("deleted")) == ("None", "False", "False")
    snf = xml_cyclades.SNF_NS
    assert (root.get(f"{{{snf}}}fqdn"), root.get(f"{{{snf}}}task_state")) == ("snf-84.vm.example.org", "")
    assert root.find(f"{{{snf}}}port_forwarding") is not None
    attachments = root.find(f"{{{V1}}}attachments")
    assert [a.get("id") for a in attachments] == ["36", "38"]
    assert attachments[1].get(f"{{{EXTENSION_NS['OS-EXT-IPS']}}}type") == "floating"
    assert [(m.get("key"), m.text) for m in root.find(f"{{{V1}}}metadata")] == [("os", "debian"), ("users", "root")]
    diagnostic = root.find(f"{{{V1}}}diagnostics/{{{V1}}}diagnostic")
    assert (diagnostic.get("details"), diagnostic.get("message")) == ("None", "FixPartitionTable")


def test_faults_carry_message_and_details_as_elements():
    root = ET.fromstring(xml_cyclades.render({"itemNotFound": {"code": 404, "message": "Server not found",
                                                              "details": "gone"}}))
    assert (root.tag, root.get("code")) == (f"{{{V1}}}itemNotFound", "404")
    assert [(c.tag, c.text) for c in root] == [(f"{{{V1}}}message", "Server not found"), (f"{{{V1}}}details", "gone")]


def test_ips_holds_its_attachments_in_addresses():
    root = ET.fromstring(xml_cyclades.render({"addresses": ADDRESSES, "attachments": ATTACHMENTS}))
    assert [c.tag.rpartition("}")[2] for c in root] == ["network", "network", "attachments"]
    assert xml_cyclades.read_back(ET.tostring(root), "ips") == {"addresses": ADDRESSES, "attachments": ATTACHMENTS}


def test_xml_view_drops_what_xml_cannot_carry():
    doc = {"server": {**SERVER, "name": "bell\x07"}}
    assert xml_cyclades.xml_view_of(doc)["server"]["name"] == "bell\ufffd"
    assert xml_cyclades.read_back(xml_cyclades.render(doc)) == xml_cyclades.xml_view_of(doc)
