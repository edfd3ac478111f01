"""Every XML request example of the Helion seed (002) as a case for test_xml_helion.py: the request kind, and the
dict the JSON example of the same operation (`json_line`) gives, with the XML example's own values where the two
samples disagree (`changed(...)`, noted), after the repairs a sample needs to be XML at all."""
from __future__ import annotations

from tests.unit.xml_helion_responses import J, XML_VALUES
from tests.unit.xml_seed import DROP, Case, Fix, changed

_SEVERAL = "the XML sample shows two items where the JSON sample shows one"
_META = {"key-1": "value-1", "key-2": "value-2"}


def _req(line: int, json_line: int, kind: str, *changes, repairs: tuple = (), notes: tuple = ()) -> Case:
    return Case(line, changed(J(json_line), *changes), kind=kind, json_line=json_line, repairs=repairs,
                notes=notes + ((XML_VALUES,) if changes and not notes else ()))


REQUESTS = [
    _req(1586, 1558, "server_create", (("server", "metadata"), _META),
         notes=("the XML sample lists key-1 and key-2 with value attributes (the inventory's form), the JSON one "
                "a placeholder",)),
    _req(1977, 1969, "server_update"),
    _req(2218, 2210, "metadata", (("metadata", "{key_2}"), "{value_2}"), notes=(_SEVERAL,)),
    _req(2295, 2286, "metadata"),
    _req(2434, 2425, "metadata_item", notes=(
        "D43/section 6: the dialect takes `meta` with exactly the URL key, or a `metadata` wrapper with that one key; "
        "the sample's two keys parse as given and are the dialect's to refuse",)),
    _req(2562, 2554, "action"),
    _req(2621, 2609, "action", (("rebuild", "metadata"), {"key-1": "value-1"})),
    _req(2762, 2750, "action", (("createImage", "metadata"), DROP),
         notes=("the XML sample sends only the name; the JSON sample metadata too",)),
    _req(3470, 3462, "metadata", (("metadata", "key-2"), "value-2"), notes=(_SEVERAL,)),
    _req(3605, 3596, "metadata"),
    _req(3794, 3786, "metadata_item"),
    _req(4273, 4245, "server_create", (("server", "metadata"), _META),
         notes=("the XML sample lists key-1 and key-2 with value attributes, the JSON one a placeholder",)),
    _req(4482, 4491, "server_create", (("server", "metadata"), {"My Server Name": "Apache1"})),
    _req(4698, 4690, "action"),
    _req(5429, 5421, "action", (("addFloatingIp", "address"), "15.185.230.99")),
    _req(5476, 5468, "action", (("removeFloatingIp", "address"), "15.185.230.99")),
    _req(5848, 5840, "keypair_create", (("keypair", "name"), "keypair-2")),
    _req(6013, 6000, "server_create", (("OS-SCH-HNT:scheduler_hints", "near"), "eb999657-dd6b-464e-8713-95c532ac3b18")),
    _req(6330, 6322, "action", (("addSecurityGroup", "name"), "security-group-2")),
    _req(6374, 6366, "action", (("removeSecurityGroup", "name"), "security-group-2")),
    _req(6599, 6590, "security_group_create", (("security_group", "name"), "security-group-2"),
         (("security_group", "description"), "Security group 2")),
    _req(6791, 6779, "security_group_rule_create", (("security_group_rule", "parent_group_id"), "17963")),
    _req(7194, 7180, "volume_create", repairs=(
        Fix('<volume xmlns="http://docs.openstack.org/volume/api/v1"/>',
            '<volume xmlns="http://docs.openstack.org/volume/api/v1">',
            "the start tag closes itself before the children it has"),
        Fix("<meta key=contents>", '<meta key="contents">', "an unquoted attribute value"))),
    _req(7372, 7361, "snapshot_create"),
    _req(7658, 7649, "volume_attach", notes=("D56: the dialect takes attachments in JSON only; the codec parses them",)),
    _req(7821, 7813, "action"),
    _req(7872, 7866, "action"),
    _req(7920, 7908, "server_create", repairs=(
        Fix("min_count=5,", 'min_count="5"', "unquoted attribute values and commas between attributes"),
        Fix("max_count=10,", 'max_count="10"', "unquoted attribute values and commas between attributes"),
        Fix('flavorRef="101",', 'flavorRef="101"', "commas between attributes"),
        Fix('name="server-group",', 'name="server-group"', "commas between attributes"))),
    _req(8006, 7998, "action"),
    _req(8561, 8550, "server_create"),
    _req(8636, 8627, "action", (("addFloatingIp", "address"), "15.185.230.99")),
    _req(9197, 9191, "action"),
    _req(9232, 9226, "action"),
]
