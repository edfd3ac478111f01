"""Helion's XML codec against every XML example of its seed (002), plus D6 rules and round trips.

Responses: the JSON view each example stands for is rendered and compared with the example structurally
(tests/unit/xml_seed.py). Requests: each example is parsed and compared with the JSON example of the same
operation. Round trips: dict -> XML -> read back gives the same dict.
"""
from __future__ import annotations

import builtins
import os
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.xml_common import COMMON_NS, EXTENSION_NS, VOLUME_NS, XMLRequestError, xml_value
from nodecompute.api.xml_helion_requests import parse_request
from tests.unit.xml_helion_docs import DOCS, FLAVOR, IMG, SERVER, SRV, VOL, pair
from tests.unit.xml_helion_requests_cases import REQUESTS
from tests.unit.xml_helion_responses import RESPONSES, SEED
from tests.unit.xml_seed import SEED_DIR, changed, differences, example_text, load_examples

EXAMPLES = load_examples(SEED)
V11 = "http://docs.openstack.org/compute/api/v1.1"
# D6: Helion's namespace is compute/api/v2; most 2013 samples declare v1.1.
ALIASES = {V11: xml_helion.COMPUTE_NS}
# The 2012 samples' integer ids (server, image, flavor, security group reference) read back as strings: those ids
# are strings in every current view (the helion dialect's own security groups keep their integer ids, D55).
OLD_INTEGER_IDS = {
    327: ((("server", "id"), "467571"), (("server", "image", "id"), "5579"), (("server", "flavor", "id"), "100"),
          (("server", "security_groups", 0, "id"), "9143")),
    371: ((("servers", 0, "id"), "488379"),),
}


def _id(case) -> str:
    return f"002:{case.line}"


def test_every_xml_example_of_the_seed_has_exactly_one_case():
    xml_lines = sorted(first for form, first in EXAMPLES if form == "xml")
    case_lines = sorted(case.line for case in RESPONSES + REQUESTS)
    assert case_lines == xml_lines
    assert (len(RESPONSES), len(REQUESTS), len(xml_lines)) == (85, 33, 118)


@pytest.mark.skipif(not (SEED_DIR / SEED).exists(), reason="the seeds are not on this machine")
def test_examples_are_copied_verbatim_from_the_seed():
    lines = (SEED_DIR / SEED).read_text(encoding="utf-8").split("\n")
    for example in EXAMPLES.values():
        assert example.text == "\n".join(lines[example.first - 1:example.last]), (example.form, example.first)


@pytest.mark.parametrize("case", RESPONSES, ids=_id)
def test_response_renders_as_the_seed_example(case):
    ours = ET.fromstring(xml_helion.render(case.doc, case.kind))
    theirs = ET.fromstring(example_text(EXAMPLES["xml", case.line], case, EXTENSION_NS))
    assert differences(ours, theirs, ALIASES) == []


@pytest.mark.parametrize("case", RESPONSES, ids=_id)
def test_response_reads_back_as_the_json_view(case):
    expected = changed(case.doc, *OLD_INTEGER_IDS.get(case.line, ()))
    assert xml_helion.read_back(xml_helion.render(case.doc, case.kind), case.kind) == expected


@pytest.mark.parametrize("case", REQUESTS, ids=_id)
def test_request_parses_as_the_json_example(case):
    body = example_text(EXAMPLES["xml", case.line], case, EXTENSION_NS).encode()
    assert parse_request(body, case.kind) == case.doc


# ------------------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("name, doc, kind", DOCS, ids=[d[0] for d in DOCS])
def test_round_trip(name, doc, kind):
    assert xml_helion.read_back(xml_helion.render(doc, kind), kind) == doc


# -------------------------------------------------------------------------------------------------- D6 rules
def _root(doc: dict, kind: str | None = None) -> ET.Element:
    return ET.fromstring(xml_helion.render(doc, kind))


def test_server_follows_d6():
    root = _root({"server": SERVER})
    v2 = xml_helion.COMPUTE_NS
    assert root.tag == f"{{{v2}}}server"
    assert (root.get("userId"), root.get("tenantId")) == ("u1", "p1")
    assert root.get("user_id") is None and root.get("tenant_id") is None
    assert root.get("key_name") == "None" and root.get(f"{{{EXTENSION_NS['OS-EXT-STS']}}}task_state") == "None"
    for key in [k for k in SERVER if ":" in k and not isinstance(SERVER[k], list)]:
        prefix, _, local = key.partition(":")
        assert root.get(f"{{{EXTENSION_NS[prefix]}}}{local}") == xml_value(SERVER[key]), key
    ip = root.find(f"{{{v2}}}addresses/{{{v2}}}network[@id='private net']/{{{v2}}}ip")
    assert ip.get(f"{{{EXTENSION_NS['OS-EXT-IPS-MAC']}}}mac_addr") == "fa:16:3e:00:00:01"
    assert [(m.get("key"), m.text) for m in root.find(f"{{{v2}}}metadata")] == \
        [("role", "web & db"), ("empty", None), ("None", "None")]
    links = root.findall("{http://www.w3.org/2005/Atom}link")
    assert [(link.get("rel"), link.get("href")) for link in links] == [(x["rel"], x["href"]) for x in SERVER["links"]]
    assert root.find(f"{{{EXTENSION_NS['os-extended-volumes']}}}volumes_attached")[0].get("id") == VOL


def test_booleans_are_True_and_False():
    flavor = _root({"flavor": FLAVOR})
    assert flavor.get(f"{{{EXTENSION_NS['os-flavor-access']}}}is_public") == "True"
    assert flavor.get(f"{{{EXTENSION_NS['OS-FLV-DISABLED']}}}disabled") == "False"
    assert (flavor.get("rxtx_factor"), flavor.get("swap")) == ("1.0", "")


def test_create_response_carries_an_empty_metadata_element():
    root = _root({"server": {"id": SRV, "adminPass": "x", "links": pair("servers", SRV),
                             "security_groups": [{"name": "default"}]}}, "server_created")
    metadata = root.find(f"{{{xml_helion.COMPUTE_NS}}}metadata")
    assert metadata is not None and len(metadata) == 0 and not metadata.attrib


@pytest.mark.parametrize("doc, namespace", [
    ({"volume": {"id": VOL}}, VOLUME_NS), ({"snapshots": []}, VOLUME_NS), ({"limits": {"absolute": {}}}, COMMON_NS),
    ({"extensions": []}, COMMON_NS), ({"version": {"id": "v2.0"}}, COMMON_NS),
    ({"keypairs": []}, xml_helion.COMPUTE_NS), ({"security_groups": []}, xml_helion.COMPUTE_NS)])
def test_document_namespaces(doc, namespace):
    root = _root(doc)
    assert root.tag.startswith(f"{{{namespace}}}")


def test_faults_are_xml_with_message_and_optional_details():
    plain = _root({"itemNotFound": {"code": 404, "message": "The resource could not be found."}})
    assert (plain.tag, plain.get("code")) == (f"{{{xml_helion.COMPUTE_NS}}}itemNotFound", "404")
    assert [(c.tag.rpartition("}")[2], c.text) for c in plain] == [("message", "The resource could not be found.")]
    detailed = _root({"resizeNotAllowed": {"code": 403, "message": "Resize is not allowed.", "details": "why"}})
    assert [(c.tag.rpartition("}")[2], c.text) for c in detailed] == [("message", "Resize is not allowed."),
                                                                      ("details", "why")]


def test_text_xml_cannot_hold_is_replaced_and_carriage_returns_survive():
    body = xml_helion.render({"output": "a\r\nb\x1b[74G[ OK ]\x00"})
    assert b"&#13;" in body
    assert xml_helion.read_back(body) == {"output": "a\r\nb\ufffd[74G[ OK ]\ufffd"}


@pytest.mark.parametrize("doc, kind, message", [
    ({"server": {}, "flavor": {}}, None, "one root"),
    ({"server": {}}, "no-such-kind", "unknown XML document kind"),
    ({"server": {"bad key": 1}}, None, "cannot be written as an XML name"),
    ({"server": {"OS-NOPE:x": 1}}, None, "no XML namespace is known"),
    ({"meta": {"a": "1", "b": "2"}}, None, "exactly one item"),
])
def test_documents_that_cannot_be_written_are_refused(doc, kind, message):
    with pytest.raises(ValueError, match=message):
        xml_helion.render(doc, kind)


# ------------------------------------------------------------------------------------------------- requests
@pytest.mark.parametrize("attributes, children, kind", [
    ('<reboot type="HARD"/>', "<reboot><type> HARD </type></reboot>", "action"),
    ('<resize flavorRef="2"/>', "<resize>\n  <flavorRef>2</flavorRef>\n</resize>", "action"),
    ('<changePassword adminPass="s3cr3t"/>', "<changePassword><adminPass>s3cr3t</adminPass></changePassword>",
     "action"),
    ('<addFloatingIp address="172.24.4.3" fixed_address="10.0.0.3"/>',
     "<addFloatingIp><address>172.24.4.3</address><fixed_address>10.0.0.3</fixed_address></addFloatingIp>", "action"),
    ('<server name="renamed"/>', "<server><name>renamed</name></server>", "server_update"),
    ('<server name="vm" imageRef="i" flavorRef="1" min_count="2" config_drive="True" key_name="k"/>',
     "<server><name>vm</name><imageRef>i</imageRef><flavorRef>1</flavorRef><min_count>2</min_count>"
     "<config_drive>true</config_drive><key_name>k</key_name></server>", "server_create"),
    ('<keypair name="k" public_key="ssh-rsa AAAA a@b"/>',
     "<keypair><name>k</name><public_key>\n  ssh-rsa AAAA a@b\n</public_key></keypair>", "keypair_create"),
    ('<security_group_rule parent_group_id="7" ip_protocol="tcp" from_port="22" to_port="22" cidr="0.0.0.0/0"/>',
     "<security_group_rule><parent_group_id>7</parent_group_id><ip_protocol>tcp</ip_protocol><from_port>22"
     "</from_port><to_port>22</to_port><cidr>0.0.0.0/0</cidr></security_group_rule>", "security_group_rule_create"),
    ('<volume size="1" display_name="v"/>', "<volume><size>1</size><display_name>v</display_name></volume>",
     "volume_create"),
])
def test_attribute_and_child_element_forms_give_the_same_dict(attributes, children, kind):
    assert parse_request(attributes.encode(), kind) == parse_request(children.encode(), kind)


def test_server_create_with_every_part():
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
    <server xmlns="{xml_helion.COMPUTE_NS}" xmlns:OS-SCH-HNT="{EXTENSION_NS['OS-SCH-HNT']}"
            name=" web 1 " imageRef="{IMG}" flavorRef="101" key_name="k" availability_zone="az1" max_count="3">
      <metadata><meta key="My Server Name">  Apache1 </meta></metadata>
      <personality>
        <file path="/etc/banner.txt">
            ICAgICAgDQoiQSBjbG91ZCBkb2VzIG5vdCBrbm93IHdoeSBp
            dCBtb3ZlcyBpbiBqdXN0IHN1Y2ggYSBkaXJlY3Rpb24gYW5k
        </file>
      </personality>
      <networks><network uuid="n1" fixed_ip="10.0.0.9"/><network port="p1"/></networks>
      <security_groups><security_group name="default"/><security_group><name>web</name></security_group></security_groups>
      <user_data>
        SUNBZ0lDQWdEUW9p
        UVNCamJHOTFaQ0Jr
      </user_data>
      <block_device_mapping_v2>
        <mapping uuid="{VOL}" source_type="volume" destination_type="volume" boot_index="0"
                 delete_on_termination="false"/>
      </block_device_mapping_v2>
      <OS-SCH-HNT:scheduler_hints>
        <near>x</near><different_host>a</different_host><different_host>b</different_host>
      </OS-SCH-HNT:scheduler_hints>
    </server>"""
    assert parse_request(body.encode(), "server_create") == {
        "server": {
            "name": "web 1", "imageRef": IMG, "flavorRef": "101", "key_name": "k", "availability_zone": "az1",
            "max_count": 3, "metadata": {"My Server Name": "Apache1"},
            "personality": [{"path": "/etc/banner.txt", "contents": "ICAgICAgDQoiQSBjbG91ZCBkb2VzIG5vdCBrbm93IHdoeSBp"
                                                                    "dCBtb3ZlcyBpbiBqdXN0IHN1Y2ggYSBkaXJlY3Rpb24gYW5k"}],
            "networks": [{"uuid": "n1", "fixed_ip": "10.0.0.9"}, {"port": "p1"}],
            "security_groups": [{"name": "default"}, {"name": "web"}],
            "user_data": "SUNBZ0lDQWdEUW9pUVNCamJHOTFaQ0Jr",
            "block_device_mapping_v2": [{"uuid": VOL, "source_type": "volume", "destination_type": "volume",
                                         "boot_index": 0, "delete_on_termination": False}],
        },
        "OS-SCH-HNT:scheduler_hints": {"near": "x", "different_host": ["a", "b"]},
    }


@pytest.mark.parametrize("body, expected", [
    ("<confirmResize/>", {"confirmResize": None}), ("<os-stop>\n</os-stop>", {"os-stop": None}),
    ("<os-getConsoleOutput/>", {"os-getConsoleOutput": {}}), ("<rescue/>", {"rescue": None}),
    ('<rebuild imageRef="i"><metadata><meta key="a" value="1"/></metadata><personality><file path="/p">YQ==</file>'
     "</personality></rebuild>", {"rebuild": {"imageRef": "i", "metadata": {"a": "1"},
                                              "personality": [{"path": "/p", "contents": "YQ=="}]}}),
    ('<createImage name="snap"><metadata><meta key="k">v</meta></metadata></createImage>',
     {"createImage": {"name": "snap", "metadata": {"k": "v"}}}),
    (f'<resize xmlns:OS-DCF="{EXTENSION_NS["OS-DCF"]}" flavorRef="2" OS-DCF:diskConfig="AUTO"/>',
     {"resize": {"flavorRef": "2", "OS-DCF:diskConfig": "AUTO"}}),
    ('<os-getConsoleOutput length="ten"/>', {"os-getConsoleOutput": {"length": "ten"}}),
])
def test_actions(body, expected):
    assert parse_request(body.encode(), "action") == expected


@pytest.mark.parametrize("body, kind, expected", [
    ('<meta key="k">v</meta>', "metadata_item", {"meta": {"k": "v"}}),
    ('<metadata><meta key="k">v</meta></metadata>', "metadata_item", {"metadata": {"k": "v"}}),
    ("<metadata/>", "metadata", {"metadata": {}}),
    ('<floating_ip pool="public"/>', "floating_ip_create", {"pool": "public"}),
    ("<floating_ip><pool> public </pool></floating_ip>", "floating_ip_create", {"pool": "public"}),
    ("<floating_ip/>", "floating_ip_create", {}),
    ('<security_group name="web"><description>  Web servers </description></security_group>',
     "security_group_create", {"security_group": {"name": "web", "description": "Web servers"}}),
    ('<snapshot volume_id="v" force="True"/>', "snapshot_create", {"snapshot": {"volume_id": "v", "force": True}}),
    ("<server><name>\u00e9t\u00e9</name></server>".encode("latin-1").decode("latin-1"), "server_update",
     {"server": {"name": "\u00e9t\u00e9"}}),
])
def test_other_bodies(body, kind, expected):
    assert parse_request(body.encode(), kind) == expected


def test_an_encoding_declaration_is_honoured():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><server name="\u00e9t\u00e9"/>'.encode("latin-1")
    assert parse_request(body, "server_update") == {"server": {"name": "\u00e9t\u00e9"}}


@pytest.mark.parametrize("body, kind, message", [
    (b"<keypair/>", "server_create", "is not a server create request"),
    (b"<server", "server_create", "Malformed request body"),
    (b"not xml at all", "action", "Malformed request body"),
    (b'<metadata><item key="k">v</item></metadata>', "metadata", "metadata items are"),
    (b"<meta>v</meta>", "metadata_item", "metadata items are"),
    (b"<a>" * 40 + b"</a>" * 40, "action", "nested too deeply"),
])
def test_bad_bodies_are_refused(body, kind, message):
    with pytest.raises(XMLRequestError, match=message):
        parse_request(body, kind)


def test_an_unknown_request_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown request kind"):
        parse_request(b"<server/>", "servers")


# ------------------------------------------------------------------------------------------- hostile bodies
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<server name="&lol9;"/>"""


def _external(url: str) -> bytes:
    return f'<?xml version="1.0"?><!DOCTYPE server [<!ENTITY xxe SYSTEM "{url}">]><server name="&xxe;"/>'.encode()


HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "quadratic blowup": b'<!DOCTYPE s [<!ENTITY a "' + b"x" * 50_000 + b'">]><server name="' + b"&a;" * 5_000 + b'"/>',
    "external entity file:///etc/passwd": _external("file:///etc/passwd"),
    "external entity over http": _external("http://127.0.0.1:9/secret"),
    "external DTD": b'<?xml version="1.0"?><!DOCTYPE server SYSTEM "file:///etc/passwd"><server name="x"/>',
    "parameter entity": b'<!DOCTYPE s [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><server name="x"/>',
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_xml_is_refused(body):
    with pytest.raises(XMLRequestError, match="document type declaration"):
        parse_request(body, "server_update")
    with pytest.raises(XMLRequestError):
        xml_helion.read_back(body)


def test_an_entity_without_a_declaration_is_refused():
    with pytest.raises(XMLRequestError, match="undefined entity"):
        parse_request(b'<server name="&xxe;"/>', "server_update")


def test_an_external_entity_reads_nothing(tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text("NODECOMPUTE-SECRET-MARKER")
    opened = []
    real_open, real_os_open = builtins.open, os.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: (opened.append(str(f)), real_open(f, *a, **k))[1])
    monkeypatch.setattr(os, "open", lambda f, *a, **k: (opened.append(str(f)), real_os_open(f, *a, **k))[1])
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: opened.append(a) or pytest.fail("fetched"))
    with pytest.raises(XMLRequestError) as refused:
        parse_request(_external(secret.as_uri()), "server_update")
    assert "NODECOMPUTE-SECRET-MARKER" not in str(refused.value)
    assert not [path for path in opened if "secret" in str(path)]


def test_a_scalar_where_the_schema_expects_an_object_is_written_as_text():
    """A list of names where the schema has objects (security_groups) used to recurse without end."""
    root = _root({"server": {"id": SRV, "security_groups": ["default"]}})
    assert [(g.tag.rpartition("}")[2], g.text) for g in root.find(f"{{{xml_helion.COMPUTE_NS}}}security_groups")] \
        == [("security_group", "default")]
