"""Every XML response example of the Helion seed (002) as a case for test_xml_helion.py: the JSON view the example
stands for (the JSON example of the same call, `json=<line>`, with the XML example's own values where the two
samples of the call disagree: `changed(...)`), how the sample must be repaired to be XML at all, and where a D-row
or section 6 of dialects.md decides against the sample."""
from __future__ import annotations

import copy
from functools import cache

from tests.unit.xml_seed import Case, Fix, changed, load_examples, read_json_example

SEED = "002_ca5c748a8413901f.txt"
D6_NULL = "D6: JSON null is written \"None\" (the 2014 samples do so; these older ones write \"\")"
ADDRESSES_OUTSIDE = ("the sample closes <addresses/> before its <network> (the JSON puts the network in addresses)")
XML_VALUES = "the XML sample shows another call than the JSON sample: its values are used"


@cache
def _parsed(line: int, fixes: tuple[Fix, ...]) -> object:
    text = load_examples(SEED)["json", line].text
    for fix in fixes:
        assert fix.old in text, fix
        text = text.replace(fix.old, fix.new)
    return read_json_example(text)


def J(line: int, *fixes: Fix) -> object:
    """The JSON example starting at `line`, after textual fixes (a copy: cases may share an example)."""
    return copy.deepcopy(_parsed(line, fixes))


def _sample_text(line: int, tag: str) -> str:
    text = load_examples(SEED)["xml", line].text
    return text[text.index(f"<{tag}>") + len(tag) + 2:text.index(f"</{tag}>")]


def _unwrap_addresses(indent: str, network: str, addr: str) -> Fix:
    old = (f"<addresses/>\n{indent}    <network id=\"{network}\">\n{indent}        <ip version=\"4\" addr=\"{addr}\"/>\n"
           f"{indent}    </network>")
    return Fix(old, f"<addresses><network id=\"{network}\"><ip version=\"4\" addr=\"{addr}\"/></network></addresses>",
               ADDRESSES_OUTSIDE)


_SYSTEST = "http://compute.systestb.hpcloud.net/10424127775376/servers/"
_TASK_STATE = Fix('OS-EXT-STS:task_state=""', 'OS-EXT-STS:task_state="None"', D6_NULL)
_CONFIG_DRIVE = Fix('config_drive=""', 'config_drive="true"',
                    "section 6: config_drive is \"true\" in JSON and XML alike (the JSON sample says \"true\")")


def _systest_server(doc_path: tuple) -> tuple:
    """The 2013 samples' XML shows server 44e39c34 of tenant 10389545063147 with no hostId; their JSON 129e43cb."""
    return ((doc_path + ("id",), "44e39c34-7ec8-4b69-bb85-315fdc1bb3ae"),
            (doc_path + ("tenant_id",), "10389545063147"), (doc_path + ("hostId",), ""))


_FLAVOR_IDS = "section 6: flavor ids are strings (\"100\"); the extension samples write integers"
RESPONSES = [
    Case(327, kind="server", notes=(
        "no JSON sample; the 2012 create response is a full server (section 6 keeps the minimal 2014 create "
        "response for the dialect; the codec renders any server view)",), doc={"server": {
            "accessIPv4": "", "accessIPv6": "", "adminPass": "4QAx7M8MrXVmXZSL", "created": "2012-10-25T22:37:13Z",
            "hostId": "", "id": 467571, "name": "webserver", "status": "BUILD(scheduling)",
            "tenant_id": "11692683195772", "updated": "2012-10-25T22:37:13Z", "user_id": "28187593996363",
            "uuid": "e5ac3d3c-cda3-4106-b60a-0a29b382fda2",
            "links": [
                {"href": "https://region-a.geo-1.compute.hpcloudsvc.com/v2/11692683195772/servers/467571", "rel": "self"},
                {"href": "https://region-a.geo-1.compute.hpcloudsvc.com/11692683195772/servers/467571",
                 "rel": "bookmark"}],
            "image": {"id": 5579, "links": [
                {"href": "https://region-a.geo-1.compute.hpcloudsvc.com/11692683195772/images/5579", "rel": "bookmark"}]},
            "flavor": {"id": 100, "links": [
                {"href": "https://region-a.geo-1.compute.hpcloudsvc.com/11692683195772/flavors/100", "rel": "bookmark"}]},
            "addresses": {},
            "security_groups": [{"id": 9143, "name": "default", "links": [{
                "href": "https://region-a.geo-1.compute.hpcloudsvc.com/v2/11692683195772/os-security-groups/9143",
                "rel": "bookmark"}]}]}}),
    Case(371, json_line=380, doc=J(380), decisions=(Fix(
        '<server id="488379" name="web 1">',
        '<server id="488379" name="web 1" uuid="7d447c46-cdde-45b4-bdf6-6412a272ce32">',
        "the JSON answer has uuid; the XML answer carries every key of it (D6; issue 24: XML read back equals "
        "the JSON answer)"),)),
    Case(485, json_line=495, doc=J(495), repairs=(Fix("</computeFault>", "</cloudServersFault>",
                                                      "the closing tag does not match (a typo, inventory)"),)),
    Case(523, json_line=533, doc=J(533)),
    Case(545, json_line=556, doc=J(556), repairs=(
        Fix('code="413"\n', 'code="413">\n', "the start tag is not closed"),
        Fix('<message>"This', "<message>This", "a stray quote (the JSON message has none)"))),
    Case(915, json_line=879, doc=changed(J(879), (("version", "links", 0, "href"),
                                                  "http://region-b.geo-1.compute.hpcloudsvc.com/v2/")),
         notes=(XML_VALUES + " (region-b)",)),
    Case(1184, json_line=965, doc=changed(J(965), *[
        (("extensions", i, "description"), J(965)["extensions"][i]["description"].strip()) for i in range(26)],
        (("extensions", 24, "namespace"), "http://docs.openstack.org/compute/ext/userdata/api/v1.1")),
        notes=("section 6: the user-data namespace without the JSON sample's stray space",)),
    Case(1319, json_line=1306, doc=J(1306)),
    Case(1399, json_line=1368, doc=J(1368)),
    Case(1483, json_line=1464, doc=J(1464)),
    Case(1640, json_line=1612, kind="server_created", doc=changed(
        J(1612), (("server", "id"), "bc652b77-1343-4804-a905-ecd11055ccd7"), (("server", "adminPass"), "bvTHj8wLuom5"),
        *[(("server", "links", i, "href"), J(1612)["server"]["links"][i]["href"].replace(
            "516a97d6-d8b7-4830-9a87-ff4b396b07ea", "bc652b77-1343-4804-a905-ecd11055ccd7")) for i in (0, 1)]),
        notes=(XML_VALUES,)),
    Case(1664, json_line=1655, doc=changed(J(1655), (("badRequest", "message"),
                                                     "Unable to find security_group with name 'test'")),
         notes=(XML_VALUES + " (D23's message)",)),
    Case(1782, json_line=1710, doc=J(1710, Fix("        }\n        }\n    }", "        }\n    }",
                                               "the listing closes its one-item array with a stray }")),
         repairs=(Fix("hpcloudsvc. com", "hpcloudsvc.com", "a space inside the sample's flavor URL"),)),
    Case(1911, json_line=1843, doc=J(1843)),
    Case(2049, json_line=1993, doc=changed(J(1993), (("server", "name"), "InstanceNameChange_Example"),
                                           (("server", "updated"), "2014-04-16T17:04:25Z")), notes=(XML_VALUES,)),
    Case(2167, json_line=2153, doc=J(2153), decisions=(
        Fix('<meta key="key-2" />', '<meta key="key-2">value-2</meta>',
            "section 6: the sample's <meta/> without values is a documentation artefact"),
        Fix('<meta key="key-1" />', '<meta key="key-1">value-1</meta>',
            "section 6: the sample's <meta/> without values is a documentation artefact"))),
    Case(2248, json_line=2235, doc=changed(J(2235), (("metadata", "key-2"), "value-2"), (("metadata", "key"), "value")),
         notes=("the XML sample shows the whole merged set (three items), the JSON sample one",)),
    Case(2327, json_line=2313, doc=changed(J(2313), (("metadata", "key"), "value")),
         notes=("the XML sample shows a third item",)),
    Case(2391, json_line=2378, doc={"meta": {"key-2": "value-2"}}, notes=(XML_VALUES + " (key-2)",)),
    Case(2466, json_line=2452, doc=changed(J(2452), (("metadata", "key"), "value")), notes=(
        "section 6: the helion dialect answers this call with `meta` (the 2391 shape); the codec renders the "
        "sample's `metadata` document as given",)),
    Case(2700, json_line=2640, doc=changed(J(2640), (("server", "name"), "Instance_Test7"),
                                           (("server", "adminPass"), "t26DD4ikri4F"),
                                           (("server", "updated"), "2014-04-16T20:43:58Z")), notes=(XML_VALUES,)),
    Case(2836, json_line=2819, doc=J(2819)),
    Case(2902, json_line=2887, kind="network", doc=J(2887)),
    Case(3031, json_line=2964, doc=J(2964)),
    Case(3152, json_line=3098, doc=J(3098)),
    Case(3271, json_line=3220, doc=J(3220)),
    Case(3404, json_line=3377, doc=J(3377)),
    Case(3524, json_line=3487, doc=changed(J(3487), (("metadata", "key_2"), "value-2")), decisions=(
        Fix("value-1,value-1", "value-1", "section 6: the merged value value-1,value-1 is a documentation artefact"),),
        notes=("the XML sample shows a key_2 the JSON sample lacks",)),
    Case(3659, json_line=3622, doc=changed(J(3622), (("metadata", "key_2"), "value-2")), decisions=(
        Fix("value-1,value-1", "value-1", "section 6: the merged value value-1,value-1 is a documentation artefact"),),
        notes=("the XML sample shows a key_2 the JSON sample lacks",)),
    Case(3747, json_line=3734, doc=J(3734)),
    Case(3812, json_line=3804, doc=J(3804)),
    Case(3943, json_line=3903, doc=J(3903)),
    Case(4052, json_line=4001, doc=changed(J(4001), *[(("flavors", i, "rxtx_factor"), 1.0) for i in (0, 1)]),
         notes=("section 6: rxtx_factor is a number; 1.0 is written \"1.0\" as the XML sample shows",)),
    Case(4126, json_line=4102, doc=changed(
        J(4102), (("flavor", "rxtx_factor"), 1.0),
        (("flavor", "links", 1, "href"), "http://region-b.geo-1.compute.hpcloudsvc.com/10979209027984/flavors/100")),
        notes=("the JSON sample's bookmark has spaces inside the host name; rxtx_factor a number (section 6)",)),
    Case(4194, json_line=4167, doc=J(4167)),
    Case(4315, json_line=4293, kind="server_created", doc=changed(
        J(4293), (("server", "id"), "bc652b77-1343-4804-a905-ecd11055ccd7"), (("server", "adminPass"), "bvTHj8wLuom5"),
        *[(("server", "links", i, "href"), J(4293)["server"]["links"][i]["href"].replace(
            "516a97d6-d8b7-4830-9a87-ff4b396b07ea", "bc652b77-1343-4804-a905-ecd11055ccd7")) for i in (0, 1)]),
        notes=(XML_VALUES,)),
    Case(4431, json_line=4361, doc=changed(J(4361), (("servers", 0, "name"), "PaulsCD"),
                                           (("servers", 0, "addresses", "default", 0, "addr"), "15.184.40.12")),
         decisions=(_CONFIG_DRIVE,), notes=(XML_VALUES,)),
    Case(4533, json_line=4509, kind="server_created", doc=J(4509)),
    Case(4637, json_line=4569, doc=changed(J(4569), (("server", "name"), "PaulsCD"),
                                           (("server", "addresses", "default", 0, "addr"), "15.184.40.12")),
         decisions=(_CONFIG_DRIVE,), notes=(XML_VALUES,)),
    Case(4717, json_line=4711, doc={"output": _sample_text(4717, "output")}, notes=(
        "the JSON sample is the raw log (\\r\\n, ANSI escapes a terminal interprets), the XML sample the log as a "
        "terminal shows it: the value is the XML sample's; rendering the raw string is a round-trip test",)),
    Case(4858, json_line=4795, doc=changed(J(4795), *_systest_server(("servers", 0))),
         repairs=(_unwrap_addresses("            ", "default", "16.24.24.2"),
                  Fix("    </server>\n    <servers>", "    </server>\n    </servers>", "the end tag lacks its slash")),
         notes=(XML_VALUES,)),
    Case(4980, json_line=4919, doc=changed(J(4919), *_systest_server(("server",))),
         repairs=(_unwrap_addresses("        ", "default", "16.24.24.2"),), notes=(XML_VALUES,)),
    Case(5104, json_line=5039, doc=changed(J(5039), *_systest_server(("servers", 0))),
         repairs=(_unwrap_addresses("            ", "default", "16.24.24.2"),), decisions=(_TASK_STATE,),
         notes=(XML_VALUES,)),
    Case(5229, json_line=5166, doc=changed(J(5166), *_systest_server(("server",))),
         repairs=(_unwrap_addresses("        ", "default", "16.24.24.2"),), decisions=(_TASK_STATE,),
         notes=(XML_VALUES,)),
    Case(5327, json_line=5290, doc=changed(J(5290), (("flavors", 0, "id"), "100"), (("flavors", 1, "id"), "101")),
         notes=(_FLAVOR_IDS,)),
    Case(5386, json_line=5364, doc=changed(J(5364), (("flavors", 0, "id"), "100")), notes=(
        _FLAVOR_IDS, "section 6: the dialect answers this call {\"flavor\": {...}}; the codec renders the sample's "
        "one-item flavors list as given")),
    Case(5531, json_line=5512, doc=J(5512)),
    Case(5599, json_line=5588, doc=changed(J(5588), (("floating_ip", "id"), 1146), (("floating_ip", "ip"), "15.185.228.121")),
         notes=(XML_VALUES,)),
    Case(5653, json_line=5642, doc=J(5642)),
    Case(5756, json_line=5721, doc=J(5721)),
    Case(5871, json_line=5859, doc=changed(J(5859), (("keypair", "name"), "keypair-2"), (
        ("keypair", "fingerprint"), "76:e3:b7:ca:95:91:fb:86:f7:fe:5d:d4:11:4d:77:65"),
        (("keypair", "public_key"), J(5721)["keypairs"][3]["keypair"]["public_key"]),
        (("keypair", "private_key"), "-----BEGIN RSA PRIVATE KEY-----\n"
         "MIICXQIBAAKBgQDZcOCJGRF2REub4+j5Y6LnF7Lk4xyvpdeqAEZYRJe8lC0YOhkF\n"
         "9PxOAQnSgRuAvcmFiff9E1Dt9yLCSlU40zRClLEMwchG4S51y4JI/mbMwppWKYxg\n"
         "PnIa9rHSIccEtZbhBU1MkwpUHeRcZE+b60y5xXiYSmVacmtwDZ89qf6TvQIDAQAB\n"
         "AoGACJA2d4/CLUsxQxltsmynHLzFMdhz58L7RFmwa4eABlA7mmmnVKG6UgQec+jb\n"
         "wW04A4dUeeYJ2OVTvB0bUBqZQzdpHDb0wAu+y/LiQJ1cIvpLhXF7NSCmqjfLPHYQ\n"
         "KQEeTEaixl6gBenrgenPW+t2QDKsyL3mAnUU+9yYiWAJDg0CQQD1BWWgkp4t8Hk/\n"
         "l4JViymp4FCY9Vyp6h4uzO9Q7kKQiJk2ApeJHlShlw7VLaJJ/wJhj2P2881CaYPs\n"
         "zn5LcBR3AkEA4y8cqLOgHvlhQJ1ceC6fYkX/6TKtGo10ptHqhczZbQj8CbUiNAmA\n"
         "iFxlVRToyUI+lrI2vOdAHFMpXiwZ3qmqawJBANsqGa5Yl26mI/5Syn0z/m96Ov2m\n"
         "s101EgxwuTvd8uKPnOPny54V6EOl99mNeRXRKVMUzKjviNF3yk5+og9eUJ8CQFwT\n"
         "wifV9bXYGUSZAttq+gpYmKopceNrJbZfKhBkwFLi61P76ArzNvcNi7x6Jwc7JCbr\n"
         "wCe8Ck3wnrmeYjXOylUCQQDqwdYfAlkoWjxtJ8GfxmFteIQOUVopoLS4opRTNafw\n"
         "Naws/HNm7BwTeXRI+XgnFaIB+yxVMmzmh0/qRVEPEC/P\n-----END RSA PRIVATE KEY-----\n")),
        notes=(XML_VALUES + " (keypair-2, whose public key the list sample shows)",)),
    Case(5941, json_line=5931, doc=J(5931)),
    Case(6048, json_line=6029, kind="server_created", doc=changed(
        J(6029), (("server", "id"), "a14a9bf5-93b3-49e4-85f1-01d7cf2645b4"), (("server", "adminPass"), "Q6jfHPrnvB9X"),
        *[(("server", "links", i, "href"), J(6029)["server"]["links"][i]["href"].replace(
            "f8f4f3ce-f6e0-4e05-8f79-bf984fdfce45", "a14a9bf5-93b3-49e4-85f1-01d7cf2645b4")) for i in (0, 1)]),
        notes=(XML_VALUES,)),
    Case(6143, json_line=6081, doc=changed(J(6081), *_systest_server(("servers", 0))),
         repairs=(_unwrap_addresses("            ", "default", "16.24.24.2"),), notes=(XML_VALUES,)),
    Case(6262, json_line=6202, doc=changed(J(6202), *_systest_server(("server",))),
         repairs=(_unwrap_addresses("        ", "default", "16.24.24.2"),), notes=(XML_VALUES,)),
    Case(6479, json_line=6409, doc=J(6409)),
    Case(6624, json_line=6612, doc=changed(J(6612), (("security_group", "id"), 17755),
                                           (("security_group", "name"), "security-group-2"),
                                           (("security_group", "description"), "Security group 2")),
         notes=(XML_VALUES,)),
    Case(6683, json_line=6659, doc=J(6659)),
    Case(6822, json_line=6806, doc=changed(J(6806), (("security_group_rule", "id"), 45003),
                                           (("security_group_rule", "parent_group_id"), 17963)),
         notes=(XML_VALUES,)),
    Case(6919, json_line=6893, doc=J(6893)),
    Case(7011, json_line=6969, doc=J(6969)),
    Case(7113, json_line=7071, doc=J(7071)),
    Case(7230, json_line=7213, doc=J(7213), decisions=(
        Fix('status="active"\n            size="30"', 'size="30" snapshot_id="None"',
            "D57: create answers the JSON sample's snake_case body (no status; snapshot_id null) and the XML "
            "carries every key of it"),
        Fix("    <metadata>", "    <attachments/><metadata>",
            "D57: the JSON answer's empty attachments list is carried as <attachments/>"))),
    Case(7291, json_line=7271, doc=J(7271)),
    Case(7399, json_line=7385, doc=J(7385)),
    Case(7460, json_line=7435, doc=J(7435)),
    Case(7529, json_line=7504, doc=J(7504)),
    Case(7587, json_line=7573, doc=J(7573)),
    Case(7718, json_line=7705, doc=J(7705), notes=(
        "D56: the helion dialect answers volume attachments in JSON only; the codec renders the sample",)),
    Case(7837, json_line=7831, doc=J(7831)),
    Case(7958, json_line=7934, kind="server_created", doc=changed(
        J(7934), (("server", "id"), "6c69cc67-6515-45f9-a46f-2ddd57998307"), (("server", "adminPass"), "x4thKcrBwKLn"),
        *[(("server", "links", i, "href"), J(7934)["server"]["links"][i]["href"].replace(
            "b1852c63-9e93-46bd-93e2-063006e33d7f", "6c69cc67-6515-45f9-a46f-2ddd57998307")) for i in (0, 1)]),
        notes=(XML_VALUES,)),
    Case(8024, json_line=8015, doc=changed(J(8015), (("console", "url"), J(8015)["console"]["url"].partition("&")[0])),
         notes=("the XML sample's URL lacks the &title=... the JSON one has (D41 keeps the title)",)),
    Case(8094, json_line=8057, doc=changed(J(8057), *[(("flavors", i, key), value) for i, fid in ((0, "100"), (1, "101"))
                                                      for key, value in (("id", fid), ("rxtx_factor", 1.0))]),
         notes=(_FLAVOR_IDS, "section 6: rxtx_factor a number, not the string \"1.0\"")),
    Case(8153, json_line=8131, doc=changed(J(8131), (("flavors", 0, "id"), "100"), (("flavors", 0, "rxtx_factor"), 1.0)),
         notes=(_FLAVOR_IDS, "section 6: rxtx_factor a number; {\"flavor\": ...} for this call")),
    Case(8224, json_line=8187, doc=changed(J(8187), (("flavors", 0, "id"), "100"), (("flavors", 1, "id"), "101")),
         notes=(_FLAVOR_IDS,)),
    Case(8283, json_line=8261, doc=changed(J(8261, Fix("swap 5", '"swap": 5', "section 6: swap is an integer")),
                                           (("flavors", 0, "id"), "100")),
         repairs=(Fix("swap 5>", 'swap="5">', "the attribute has no value (section 6: swap 5)"),),
         notes=(_FLAVOR_IDS,)),
    Case(8361, json_line=8316, doc=J(8316)),
    Case(8421, json_line=8399, doc={"image": J(8399)}, notes=("section 6: the image-size sample is wrapped in image",)),
    Case(8469, json_line=8453, doc=J(8453), decisions=(Fix('message=""', 'message="None"', D6_NULL),)),
    Case(8517, json_line=8503, doc=J(8503), decisions=(Fix('message=""', 'message="None"', D6_NULL),)),
    Case(8596, json_line=8572, kind="server_created", doc=J(8572)),
    Case(8742, json_line=8677, doc=J(8677)),
    Case(8871, json_line=8808, doc=J(8808)),
    Case(9000, json_line=8934, doc=J(8934)),
    Case(9131, json_line=9067, doc=J(9067)),
]
