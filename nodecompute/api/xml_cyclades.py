"""Cyclades' XML responses (dialects.md D5, D6, D13): `?xml` answers, rendered from the JSON views' dicts and read
back into them for tests. Cyclades renders XML and never parses it (requests are JSON only, D4).

Conventions (D6): namespace http://docs.openstack.org/compute/api/v1 plus Atom, declared on every root as the
seed's only sample shows; list items are elements carrying their scalars as attributes (fault message and details,
as in Synnefo's fault template, are child elements); the summary flavor list carries no links. Where the seed is
silent the Helion rules apply: null "None", booleans "True"/"False", `<meta key="k">v</meta>`, atom links,
extension attributes in their namespaces; `SNF:*` keys in SNF_NS (no namespace is documented; this one is ours).
JSON key names are kept (no userId/tenantId renaming, which D6 gives Helion only). `ips` answers `addresses` and
`attachments` together: `<addresses>` holds its `<network>` elements and one `<attachments>` element. Diagnostics
are a JSON list: `<diagnostics><diagnostic .../></diagnostics>`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodecompute.api.xml_common import (
    EXTENSION_NS, METADATA, Entity, Keyed, ListOf, Names, Text, clean_text, parse_xml, register_prefixes,
    serialize,
)
from nodecompute.api.xml_tree import Codec, Kind

COMPUTE_NS = "http://docs.openstack.org/compute/api/v1"
SNF_NS = "http://www.synnefo.org/compute/ext/snf/api/v1"
PREFIXES = {**EXTENSION_NS, "SNF": SNF_NS}
register_prefixes({"SNF": SNF_NS})
FAULT_NAMES = frozenset({
    "computeFault", "badRequest", "unauthorized", "forbidden", "itemNotFound", "badMethod", "conflictingRequest",
    "overLimit", "badMediaType", "notImplemented", "serviceUnavailable", "buildInProgress",
})

IP = Entity("ip", types={"version": "i"})
ADDRESSES = Keyed("addresses", "network", ListOf(IP, None))
ATTACHMENT = Entity("attachment", types={"id": "s", "network_id": "s", "ipv4": "s", "ipv6": "s"})
DIAGNOSTIC = Entity("diagnostic", types={"details": "s?", "message": "s"})
SERVER = Entity("server", types={
    "id": "s", "name": "s", "status": "s", "progress": "i", "hostId": "s", "tenant_id": "s", "user_id": "s",
    "created": "s", "updated": "s", "accessIPv4": "s", "accessIPv6": "s", "config_drive": "s", "adminPass": "s",
    "key_name": "s?", "suspended": "b", "deleted": "b", "SNF:fqdn": "s", "SNF:task_state": "s"}, nested={
    "image": Entity("image", types={"id": "s"}), "flavor": Entity("flavor", types={"id": "i"}),
    "addresses": ADDRESSES, "attachments": ListOf(ATTACHMENT, "attachments"),
    "security_groups": ListOf(Entity("security_group"), "security_groups"),
    "diagnostics": ListOf(DIAGNOSTIC, "diagnostics"),
    "SNF:key_names": ListOf(Text("SNF:key_name"), "SNF:key_names"),
    "SNF:port_forwarding": Entity("SNF:port_forwarding")},
    order=("image", "flavor", "metadata", "addresses", "attachments", "links", "security_groups"))
_FLAVOR = dict(types={
    "id": "i", "name": "s", "ram": "i", "vcpus": "i", "disk": "i", "swap": "i", "rxtx_factor": "n",
    "OS-FLV-EXT-DATA:ephemeral": "i", "OS-FLV-DISABLED:disabled": "b", "os-flavor-access:is_public": "b",
    "SNF:disk_template": "s"}, nested={"SNF:flavor-access": ListOf(Text("SNF:project"), "SNF:flavor-access")})
FLAVOR = Entity("flavor", **_FLAVOR)
FLAVOR_SUMMARY = Entity("flavor", omit=frozenset({"links"}), **_FLAVOR)
IMAGE = Entity("image", types={"id": "s", "name": "s", "status": "s", "progress": "i", "created": "s",
                               "updated": "s"}, order=("metadata", "links"))
KEYPAIR = Entity("keypair", types={"id": "i", "deleted": "b", "updated_at": "s?", "deleted_at": "s?",
                                   "name": "s", "public_key": "s", "fingerprint": "s"})
FLOATING_IP = Entity("floating_ip", types={"id": "i", "ip": "s?", "fixed_ip": "s?", "instance_id": "s?",
                                           "pool": "s?"})
VOLUME_ATTACHMENT = Entity("volumeAttachment", types={"id": "i", "serverId": "i", "volumeId": "i", "device": "s"})
STATS = Entity("stats", types={"serverRef": "i", "refresh": "i"})
CONSOLE = Entity("console", types={"port": "i", "type": "s", "host": "s", "password": "s"})
NETWORK = Keyed(None, "network", ListOf(IP, None))


def _pair(one: str, many: str, entity: Entity) -> dict[str, Kind]:
    return {one: Kind(one, entity), many: Kind(many, ListOf(entity, many))}


KINDS: dict[str, Kind] = {
    **_pair("server", "servers", SERVER),
    "flavor": Kind("flavor", FLAVOR), "flavors": Kind("flavors", ListOf(FLAVOR_SUMMARY, "flavors")),
    "flavors_detail": Kind("flavors", ListOf(FLAVOR, "flavors")),
    **_pair("image", "images", IMAGE), "keypair": Kind("keypair", KEYPAIR),
    "keypairs": Kind("keypairs", ListOf(Entity("keypair", nested={"keypair": KEYPAIR}), "keypairs")),
    **_pair("floating_ip", "floating_ips", FLOATING_IP),
    **_pair("volumeAttachment", "volumeAttachments", VOLUME_ATTACHMENT),
    "metadata": Kind("metadata", METADATA), "addresses": Kind("addresses", ADDRESSES),
    "attachments": Kind("attachments", ListOf(ATTACHMENT, "attachments")),
    "network": Kind("network", NETWORK), "stats": Kind("stats", STATS), "console": Kind("console", CONSOLE),
    "diagnostics": Kind("diagnostics", ListOf(DIAGNOSTIC, "diagnostics")),
    "password": Kind("password", Text("password")),
}


def fault_entity(name: str) -> Entity:
    return Entity(name, types={"code": "i", "message": "s", "details": "s"},
                  text=frozenset({"message", "details"}), order=("message", "details"))


CODEC = Codec(Names(COMPUTE_NS, PREFIXES), KINDS, fault_entity, FAULT_NAMES)


def render(doc: Mapping[str, Any] | list, kind: str | None = None) -> bytes:
    """XML for a JSON-view dict (`?xml`). `kind` names the document where the root key does not: flavors (the
    summary list, the default when no flavor has `ram`) or flavors_detail; ips (addresses and attachments);
    diagnostics (the JSON answer is a bare list)."""
    kind = kind or _default_kind(doc)
    if kind == "diagnostics":
        return CODEC.render({"diagnostics": list(doc)}, "diagnostics")
    if kind == "ips":
        root, ns = CODEC.build({"addresses": doc["addresses"]})
        root.append(CODEC.build({"attachments": doc["attachments"]})[0])
        return serialize(root, ns)
    return CODEC.render(doc, kind)


def read_back(xml: bytes | str, kind: str | None = None) -> Any:
    """The JSON answer this XML answer stands for, by the rules above (for tests)."""
    root = parse_xml(xml)
    if kind == "diagnostics" or (kind is None and root.tag == f"{{{COMPUTE_NS}}}diagnostics"):
        return CODEC.read_element(root, "diagnostics")["diagnostics"]
    attachments = root.find(f"{{{COMPUTE_NS}}}attachments")
    if kind == "ips" or (kind is None and root.tag == f"{{{COMPUTE_NS}}}addresses" and attachments is not None):
        root.remove(attachments)
        return {**CODEC.read_element(root, "addresses"), **CODEC.read_element(attachments, "attachments")}
    return CODEC.read_element(root, kind)


def xml_view_of(doc: Any, kind: str | None = None) -> Any:
    """The JSON answer as its XML form carries it, to compare with read_back: without the summary flavor list's
    links, and with the characters XML cannot hold replaced (xml_common.clean_text)."""
    doc = _cleaned(doc)
    if (kind or _default_kind(doc)) == "flavors":
        return {**doc, "flavors": [{k: v for k, v in f.items() if k != "links"} for f in doc["flavors"]]}
    return doc


def _default_kind(doc: Any) -> str | None:
    if isinstance(doc, list):
        return "diagnostics"
    if set(doc) == {"addresses", "attachments"}:
        return "ips"
    if "flavors" in doc:
        return "flavors_detail" if any("ram" in f for f in doc["flavors"]) else "flavors"
    return None


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    return value
