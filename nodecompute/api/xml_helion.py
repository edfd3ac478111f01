"""Helion's XML responses (dialects.md D5, D6, D13): the JSON views' dicts written the way HP's Compute document shows
them, and read back into those dicts for tests. Requests are parsed by xml_helion_requests.

Conventions (D6): namespace http://docs.openstack.org/compute/api/v2; each extension's attributes in its own
namespace (xml_common.EXTENSION_NS); volumes and snapshots in http://docs.openstack.org/volume/api/v1; limits,
extensions and version documents in http://docs.openstack.org/common/api/v1.0 (the seed's limits sample; Nova
for the other two); scalars as attributes, except where the seed's samples show child elements (floating IPs,
keypairs, security-group descriptions and rule ports, console type and url, fault message and details); null
"None", booleans "True"/"False"; `<meta key="k">v</meta>`; `<atom:link rel href/>`; server `userId`/`tenantId`;
the create response carries an empty `<metadata/>` as every sample shows.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodecompute.api.xml_common import (
    COMMON_NS, EXTENSION_NS, METADATA, VOLUME_NS, Entity, Keyed, ListOf, Map, Names, Text,
)
from nodecompute.api.xml_tree import Codec, Kind

COMPUTE_NS = "http://docs.openstack.org/compute/api/v2"
FAULT_NAMES = frozenset({
    "cloudServersFault", "computeFault", "badRequest", "unauthorized", "forbidden", "resizeNotAllowed",
    "itemNotFound", "badMethod", "conflictingRequest", "overLimit", "badMediaType", "notImplemented",
    "serviceUnavailable", "buildInProgress",
})

IP = Entity("ip", types={"version": "i"})
ADDRESSES = Keyed("addresses", "network", ListOf(IP, None))
SERVER_TYPES = {
    "id": "s", "uuid": "s", "name": "s", "status": "s", "progress": "i", "hostId": "s", "tenant_id": "s",
    "user_id": "s", "created": "s", "updated": "s", "accessIPv4": "s", "accessIPv6": "s", "config_drive": "s",
    "adminPass": "s", "image": "s", "key_name": "s?", "OS-DCF:diskConfig": "s", "OS-EXT-STS:power_state": "i",
    "OS-EXT-STS:task_state": "s?", "OS-EXT-STS:vm_state": "s", "OS-EXT-AZ:availability_zone": "s?",
}
_SERVER = dict(
    types=SERVER_TYPES, rename={"user_id": "userId", "tenant_id": "tenantId"},
    nested={
        "image": Entity("image", types={"id": "s"}), "flavor": Entity("flavor", types={"id": "s"}),
        "addresses": ADDRESSES, "security_groups": ListOf(Entity("security_group"), "security_groups"),
        "fault": Entity("fault", types={"code": "i"}, text=frozenset({"message", "details"})),
        "os-extended-volumes:volumes_attached": ListOf(
            Entity("os-extended-volumes:volume_attached", types={"delete_on_termination": "b"}),
            "os-extended-volumes:volumes_attached"),
    },
    order=("image", "flavor", "metadata", "addresses", "os-extended-volumes:volumes_attached", "links",
           "security_groups", "fault"),
)
SERVER = Entity("server", **_SERVER)
SERVER_CREATED = Entity("server", extras=("metadata",), **_SERVER)
FLAVOR = Entity("flavor", types={
    "id": "s", "name": "s", "ram": "i", "vcpus": "i", "disk": "i", "swap": "i", "rxtx_factor": "n",
    "OS-FLV-EXT-DATA:ephemeral": "i", "OS-FLV-DISABLED:disabled": "b", "os-flavor-access:is_public": "b"})
IMAGE = Entity("image", types={
    "id": "s", "name": "s", "status": "s", "created": "s", "updated": "s", "progress": "i", "minDisk": "i",
    "minRam": "i", "OS-EXT-IMG-SIZE:size": "i"}, order=("metadata", "links"))
KEYPAIR = Entity("keypair", text=frozenset({
    "name", "public_key", "fingerprint", "private_key", "user_id", "id", "type", "created_at", "updated_at",
    "deleted", "deleted_at"}), types={
    "name": "s", "public_key": "s", "fingerprint": "s", "private_key": "s", "user_id": "s", "id": "i",
    "deleted": "b", "created_at": "s", "updated_at": "s?", "deleted_at": "s?"})
FLOATING_IP = Entity("floating_ip", text=frozenset({"id", "ip", "fixed_ip", "instance_id", "pool"}),
                     types={"id": "i", "ip": "s", "fixed_ip": "s?", "instance_id": "s?", "pool": "s?"})


def _rule(tag: str) -> Entity:
    return Entity(
        tag, types={"id": "i", "parent_group_id": "i", "from_port": "i?", "to_port": "i?", "ip_protocol": "s?"},
        text=frozenset({"from_port", "to_port", "ip_protocol"}),
        nested={"group": Entity("group", text=frozenset({"name", "tenant_id"})),
                "ip_range": Entity("ip_range", text=frozenset({"cidr"}))},
        order=("from_port", "group", "ip_protocol", "to_port", "ip_range"))


SECURITY_GROUP = Entity("security_group", types={"id": "i", "name": "s", "tenant_id": "s", "description": "s"},
                        text=frozenset({"description"}), nested={"rules": ListOf(_rule("rule"), "rules")},
                        order=("rules", "description"))
LIMITS = Entity("limits", nested={
    "rate": ListOf(Entity("rate", nested={"limit": ListOf(
        Entity("limit", types={"value": "i", "remaining": "i"}), None)}), "rates"),
    "absolute": Map("limit", "absolute", key_attr="name", value_attr="value", type="i")},
    order=("rate", "absolute"))
EXTENSION = Entity("extension", types={"description": "s"}, text=frozenset({"description"}),
                   absent={"links": []})
VERSION = Entity("version", nested={"media-types": ListOf(Entity("media-type"), "media-types")},
                 order=("media-types", "links"))
ZONE = Entity("availabilityZone", rename={"zoneName": "name"}, absent={"hosts": None}, extras=("metadata",),
              nested={"zoneState": Entity("zoneState", types={"available": "b"})})
INSTANCE_ACTION = Entity("instanceAction", types={"message": "s?"}, nested={"events": ListOf(Entity(
    "event", types={"result": "s?", "traceback": "s?", "finish_time": "s?"}), "events")})
CONSOLE = Entity("console", text=frozenset({"type", "url"}))
VOLUME = Entity("volume", types={
    "id": "s", "status": "s", "size": "i", "availabilityZone": "s?", "createdAt": "s", "displayName": "s?",
    "displayDescription": "s?", "snapshotId": "s?", "volumeType": "s", "display_name": "s?",
    "display_description": "s?", "snapshot_id": "s?", "volume_type": "s?", "availability_zone": "s?",
    "created_at": "s"}, nested={"attachments": ListOf(Entity("attachment"), "attachments")},
    order=("attachments", "metadata"))
SNAPSHOT = Entity("snapshot", types={"size": "i", "display_name": "s?", "display_description": "s?",
                                     "displayName": "s?", "displayDescription": "s?"})
VOLUME_TYPE = Entity("volume_type", nested={"extra_specs": Map("extra_spec", "extra_specs")})
RULE = _rule("security_group_rule")


def _pair(one: str, many: str, entity: Entity, ns: str | None = None) -> dict[str, Kind]:
    return {one: Kind(one, entity, ns), many: Kind(many, ListOf(entity, many), ns)}


KINDS: dict[str, Kind] = {
    **_pair("server", "servers", SERVER), "server_created": Kind("server", SERVER_CREATED),
    **_pair("flavor", "flavors", FLAVOR), **_pair("image", "images", IMAGE),
    "keypair": Kind("keypair", KEYPAIR),
    "keypairs": Kind("keypairs", ListOf(Entity("keypair", nested={"keypair": KEYPAIR}), "keypairs")),
    **_pair("floating_ip", "floating_ips", FLOATING_IP), **_pair("security_group", "security_groups", SECURITY_GROUP),
    "security_group_rule": Kind("security_group_rule", RULE),
    "metadata": Kind("metadata", METADATA), "meta": Kind("meta", Map("meta", None)),
    "addresses": Kind("addresses", ADDRESSES), "network": Kind(None, Keyed(None, "network", ListOf(IP, None))),
    "limits": Kind("limits", LIMITS, COMMON_NS),
    **_pair("extension", "extensions", EXTENSION, COMMON_NS), **_pair("version", "versions", VERSION, COMMON_NS),
    "availabilityZoneInfo": Kind("availabilityZoneInfo", ListOf(ZONE, "availabilityZones")),
    **_pair("instanceAction", "instanceActions", INSTANCE_ACTION),
    "console": Kind("console", CONSOLE), "output": Kind("output", Text("output")),
    "adminPass": Kind("adminPass", Text("adminPass")), "password": Kind("password", Text("password")),
    **_pair("volume", "volumes", VOLUME, VOLUME_NS), **_pair("snapshot", "snapshots", SNAPSHOT, VOLUME_NS),
    **_pair("volume_type", "volume_types", VOLUME_TYPE, VOLUME_NS),
    **_pair("volumeAttachment", "volumeAttachments", Entity("volumeAttachment")),
}


def fault_entity(name: str) -> Entity:
    """`<itemNotFound code="404"><message>...</message><details>...</details></itemNotFound>` (seed 3.11)."""
    return Entity(name, types={"code": "i", "message": "s", "details": "s"},
                  text=frozenset({"message", "details"}), order=("message", "details"))


CODEC = Codec(Names(COMPUTE_NS, EXTENSION_NS), KINDS, fault_entity, FAULT_NAMES)


def render(doc: Mapping[str, Any], kind: str | None = None) -> bytes:
    """XML for a JSON-view dict; `kind` names the document when its root key does not (server_created: the
    create response; network: `ips/{label}`, whose root key is the network's name)."""
    return CODEC.render(doc, kind)


def read_back(xml: bytes | str, kind: str | None = None) -> dict[str, Any]:
    """The dict the JSON answer gives for this XML answer, by the rules above (for tests)."""
    return CODEC.read(xml, kind)
