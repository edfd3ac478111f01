"""Helion request bodies in XML (dialects.md D4): both the attribute form (`<reboot type="SOFT"/>`,
`<server name=".." imageRef="..">`) and the child-element form (`<addFloatingIp><address>..</address>`,
`<keypair><name>..</name>`), whitespace trimmed, become the dict the JSON body would be.

Parsing goes through xml_common.parse_xml (defusedxml: no DTD, entities or external references). The namespace of
the main elements is not checked (the seed's samples use compute v1.1, v2, the volume namespace or none); an
extension element or attribute (`OS-SCH-HNT:scheduler_hints`, `OS-DCF:diskConfig`) is named by its namespace.
Values become the JSON types the schemas expect where the key says so (counts integers, flags booleans); text
that does not fit stays text, so that validation answers it as it answers the JSON form.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from nodecompute.api.xml_common import EXTENSION_NS, MAX_DEPTH, Names, XMLRequestError, parse_xml
from nodecompute.api.xml_helion import COMPUTE_NS

NAMES = Names(COMPUTE_NS, EXTENSION_NS)
HINTS = "OS-SCH-HNT:scheduler_hints"
INTEGERS = frozenset({"min_count", "max_count", "length", "size", "rotation", "boot_index", "volume_size"})
BOOLEANS = frozenset({"config_drive", "force", "delete_on_termination", "preserve_ephemeral",
                      "return_reservation_id"})
BASE64 = frozenset({"user_data", "contents"})
# Actions whose JSON value is null: `{"os-start": null}` is `<os-start/>`.
NULL_ACTIONS = frozenset({
    "confirmResize", "revertResize", "os-start", "os-stop", "unrescue", "rescue", "pause", "unpause", "suspend",
    "resume", "lock", "unlock", "shelve", "shelveOffload", "unshelve", "restore", "forceDelete", "migrate",
    "resetNetwork", "injectNetworkInfo", "trigger_crash_dump",
})
# Request kind -> the root elements it accepts (None: any, for server actions whose root is the action's name).
KINDS: dict[str, tuple[str, ...] | None] = {
    "server_create": ("server",), "server_update": ("server",), "action": None,
    "metadata": ("metadata",), "metadata_item": ("meta", "metadata"),
    "keypair_create": ("keypair",), "floating_ip_create": ("floating_ip", "pool"),
    "security_group_create": ("security_group",), "security_group_rule_create": ("security_group_rule",),
    "volume_create": ("volume",), "snapshot_create": ("snapshot",), "volume_attach": ("volumeAttachment",),
}
_SPACE = re.compile(r"\s+")


def parse_request(body: bytes, kind: str) -> dict[str, Any]:
    """The JSON-equivalent dict of an XML request body of the given kind; XMLRequestError for bad XML or an
    element this kind does not take (the dialect answers 400)."""
    if kind not in KINDS:
        raise ValueError(f"unknown request kind {kind!r}")
    root = parse_xml(body)
    name = NAMES.key(root.tag)
    accepted = KINDS[kind]
    if accepted is not None and name not in accepted:
        raise XMLRequestError(f"Malformed request body: <{name}> is not a {kind.replace('_', ' ')} request")
    if name == "metadata":
        return {"metadata": _meta_items(root)}
    if name == "meta":
        return {"meta": _meta_items([root])}
    if name == "pool":
        return {"pool": _text(root)}
    if name == "floating_ip":
        return _pool(root)
    value = _object(root, 0)
    if not value and not (root.text or "").strip() and kind == "action" and name in NULL_ACTIONS:
        return {name: None}
    doc = {name: value}
    if name == "server" and HINTS in value:
        doc[HINTS] = value.pop(HINTS)
    return doc


def _object(element: ET.Element, depth: int) -> dict[str, Any]:
    """Attributes and child elements of one element as a JSON object."""
    if depth > MAX_DEPTH:
        raise XMLRequestError("Malformed request body: elements nested too deeply")
    out: dict[str, Any] = {NAMES.key(name): _scalar(NAMES.key(name), value) for name, value in element.attrib.items()}
    for child in element:
        key = NAMES.key(child.tag)
        value = _child(key, child, depth + 1)
        if key in out and key not in SPECIAL:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _child(key: str, child: ET.Element, depth: int) -> Any:
    if key in SPECIAL:
        return SPECIAL[key](child, depth)
    if not len(child) and not child.attrib:
        return _scalar(key, child.text or "")
    return _object(child, depth)


def _scalar(key: str, text: str) -> Any:
    if key in BASE64:
        return _SPACE.sub("", text)
    text = text.strip()
    if key in INTEGERS and re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    if key in BOOLEANS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _pool(root: ET.Element) -> dict[str, str]:
    """Allocating a floating IP: `<floating_ip pool="p"/>` or `<floating_ip><pool>p</pool></floating_ip>`."""
    pool = root.get("pool")
    if pool is None:
        child = next((c for c in root if NAMES.key(c.tag) == "pool"), None)
        pool = child.text or "" if child is not None else None
    return {"pool": pool.strip()} if pool is not None else {}


def _meta_items(elements) -> dict[str, str]:
    """`<meta key="k">v</meta>`, or `<meta key="k" value="v"/>` as the seed's create sample writes it."""
    items = {}
    for meta in elements:
        if NAMES.key(meta.tag) != "meta" or meta.get("key") is None:
            raise XMLRequestError("Malformed request body: metadata items are <meta key=\"...\">value</meta>")
        items[meta.get("key").strip()] = meta.get("value", "").strip() if meta.get("value") is not None \
            else _text(meta)
    return items


def _list_of_objects(child: ET.Element, depth: int) -> list[dict[str, Any]]:
    return [_object(item, depth + 1) for item in child]


def _personality(child: ET.Element, depth: int) -> list[dict[str, str]]:
    return [{"path": (f.get("path") or "").strip(), "contents": _scalar("contents", f.text or "")} for f in child]


def _hints(child: ET.Element, depth: int) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for hint in child:
        key, value = NAMES.key(hint.tag), _text(hint)
        hints[key] = (hints[key] if isinstance(hints[key], list) else [hints[key]]) + [value] \
            if key in hints else value
    return hints


SPECIAL = {
    "metadata": lambda child, depth: _meta_items(child),
    "personality": _personality,
    "networks": _list_of_objects, "security_groups": _list_of_objects,
    "block_device_mapping": _list_of_objects, "block_device_mapping_v2": _list_of_objects,
    HINTS: _hints,
}
