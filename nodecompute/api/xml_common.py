"""XML codec machinery shared by the dialects that speak XML (dialects.md D4-D6): pure functions, bytes in, bytes out.

A dialect describes its documents with small schemas (`Entity`, `ListOf`, `Text`, `Map`, `Keyed`) and gets three
things from here: rendering of the dicts its JSON views produce (`render_document`), reading such a document back
into the dict the JSON answer gives (`read_document`, for tests that compare both answers), and the one safe way to
parse XML a client sent (`parse_xml`, defusedxml: no DTD, no entities, no external references).

Rendering rules, common to Cyclades and Helion (D6): scalars are attributes unless the schema makes them text
children; `None` is "None", booleans "True"/"False"; `links` are `<atom:link rel href [type]/>`; `metadata` is
`<metadata><meta key="k">v</meta></metadata>`; a key `PREFIX:name` lives in that extension's namespace. Reading
back types the strings again from the schema; keys no schema names come back as strings ("None" as null).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

ATOM_NS = "http://www.w3.org/2005/Atom"
COMMON_NS = "http://docs.openstack.org/common/api/v1.0"
VOLUME_NS = "http://docs.openstack.org/volume/api/v1"
_EXT = "http://docs.openstack.org/compute/ext/"
# Extension prefix -> namespace: Helion's GET /extensions payload, Nova's extension list for the rest. Nova gave
# OS-EXT-SRV-ATTR the extended_status URI too, which makes its attributes indistinguishable from OS-EXT-STS ones
# once parsed; it gets a URI of its own here.
EXTENSION_NS = {
    "atom": ATOM_NS,
    "OS-DCF": _EXT + "disk_config/api/v1.1",
    "OS-EXT-AZ": _EXT + "extended_availability_zone/api/v2",
    "OS-EXT-IMG-SIZE": _EXT + "image_size/api/v1.1",
    "OS-EXT-IPS": _EXT + "extended_ips/api/v1.1",
    "OS-EXT-IPS-MAC": _EXT + "extended_ips_mac/api/v1.1",
    "OS-EXT-SRV-ATTR": _EXT + "extended_server_attributes/api/v1.1",
    "OS-EXT-STS": _EXT + "extended_status/api/v1.1",
    "OS-FLV-DISABLED": _EXT + "flavor_disabled/api/v1.1",
    "OS-FLV-EXT-DATA": _EXT + "flavor_extra_data/api/v1.1",
    "OS-SCH-HNT": _EXT + "scheduler-hints/api/v2",
    "OS-SRV-USG": _EXT + "server_usage/api/v1.1",
    "os-extended-volumes": _EXT + "extended_volumes/api/v1.1",
    "os-flavor-access": _EXT + "flavor_access/api/v2",
}
_NAME = re.compile(r"[A-Za-z_][\w.-]*\Z")
_INT = re.compile(r"-?[0-9]+\Z")
_FLOAT = re.compile(r"-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\Z")
# Characters XML 1.0 cannot carry at all, not even as references (console logs hold ANSI escapes).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_DEPTH = 32


class XMLRequestError(ValueError):
    """A request body that is not acceptable XML; the dialect answers 400 with this message."""


def register_prefixes(prefixes: Mapping[str, str]) -> None:
    """Make ElementTree write these prefixes (its prefix table is process-wide; the entries never conflict)."""
    for prefix, uri in prefixes.items():
        ET.register_namespace(prefix, uri)


register_prefixes(EXTENSION_NS)


# ---------------------------------------------------------------------------------------------------- schemas
@dataclass(frozen=True)
class Text:
    """A scalar written as an element's text: `<output>...</output>`, list items of strings."""
    tag: str
    type: str = "s"


@dataclass(frozen=True)
class Entity:
    """A dict written as one element. `types` gives the read-back type of a key ("s" string, "i" integer,
    "f" float, "n" integer or float, "b" boolean; "?" adds "None" means null); unnamed keys read as "s?"."""
    tag: str
    types: Mapping[str, str] = field(default_factory=dict)
    text: frozenset[str] = frozenset()           # scalar keys written as text children, not attributes
    nested: Mapping[str, "Node"] = field(default_factory=dict)
    rename: Mapping[str, str] = field(default_factory=dict)  # JSON key -> XML attribute name
    ns: str | None = None                        # None: the document's default namespace
    order: tuple[str, ...] = ()                  # child elements first in this order, then the rest as given
    absent: Mapping[str, Any] = field(default_factory=dict)  # not written when equal; read back when missing
    extras: tuple[str, ...] = ()                 # empty child elements written, ignored when read back
    omit: frozenset[str] = frozenset()           # keys the XML form never carries


@dataclass(frozen=True)
class ListOf:
    """A list: a wrapper element holding one element per item, or (wrapper None) items straight in the parent."""
    item: Union[Entity, Text]
    wrapper: str | None


@dataclass(frozen=True)
class Map:
    """A dict of arbitrary string keys: `<metadata><meta key="k">v</meta></metadata>`, `<limit name value/>`."""
    item: str
    wrapper: str | None
    key_attr: str = "key"
    value_attr: str | None = None                # None: the value is the item's text
    type: str = "s"


@dataclass(frozen=True)
class Keyed:
    """A dict of labelled lists: `<addresses><network id="label"><ip .../></network></addresses>`."""
    wrapper: str | None
    item: str
    inner: ListOf
    key_attr: str = "id"


Node = Union[Entity, ListOf, Text, Map, Keyed]
LINK = Entity("link", ns=ATOM_NS)
LINKS = ListOf(LINK, wrapper=None)
METADATA = Map("meta", wrapper="metadata")
SINGULAR = {"flavor-access": "project", "policies": "policy", "media-types": "media-type", "key_names": "key_name"}


def singular(name: str) -> str:
    prefix, _, local = name.rpartition(":")
    one = SINGULAR.get(local) or (local[:-3] + "y" if local.endswith("ies") else local[:-1] if local.endswith("s")
                                  else local + "_item")
    return f"{prefix}:{one}" if prefix else one


def default_node(key: str, value: Any) -> Node:
    """How a key no schema mentions is written: links, metadata, nested elements, wrapped lists, text."""
    if key == "links":
        return LINKS
    if key == "metadata" and isinstance(value, dict):
        return METADATA
    if isinstance(value, list):
        items_are_dicts = any(isinstance(item, dict) for item in value)
        return ListOf(Entity(singular(key)) if items_are_dicts else Text(singular(key)), wrapper=key)
    return Entity(key) if isinstance(value, dict) else Text(key)


# ------------------------------------------------------------------------------------------------------ values
def xml_value(value: Any) -> str:
    """D6: null is "None", booleans "True"/"False", numbers as Python writes them (1.0 stays "1.0")."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    return clean_text(str(value))


def clean_text(text: str) -> str:
    """Characters XML 1.0 cannot carry become U+FFFD (the only lossy step of rendering)."""
    return _NOT_XML.sub("\ufffd", text)


def typed(code: str, text: str) -> Any:
    """Read a string back as the JSON type the schema names; text that does not fit stays text."""
    base = code.rstrip("?")
    if code.endswith("?") and text == "None":
        return None
    if base == "i" and _INT.match(text):
        return int(text)
    if base in ("f", "n") and _FLOAT.match(text):
        return int(text) if base == "n" and _INT.match(text) else float(text)
    if base == "b" and text in ("True", "False"):
        return text == "True"
    return text


# ------------------------------------------------------------------------------------------------------- names
class Names:
    """Qualified names for one dialect: its default namespace and its extension prefixes."""

    def __init__(self, default_ns: str, prefixes: Mapping[str, str]):
        self.default_ns = default_ns
        self.prefixes = dict(prefixes)
        self.by_uri = {uri: prefix for prefix, uri in self.prefixes.items()}

    def element(self, tag: str, ns: str | None = None) -> str:
        """A bare name stands for the document's default namespace (ElementTree cannot write a default namespace
        beside unqualified attributes, so `serialize` declares it on the root instead)."""
        prefix, _, local = tag.rpartition(":")
        if prefix:
            return f"{{{self._uri(prefix)}}}{self._check(local, tag)}"
        return f"{{{ns}}}{self._check(local, tag)}" if ns else self._check(local, tag)

    def attribute(self, key: str) -> str:
        prefix, _, local = key.rpartition(":")
        return f"{{{self._uri(prefix)}}}{self._check(local, key)}" if prefix else self._check(local, key)

    def key(self, qualified: str) -> str:
        """`{uri}local` -> JSON key: `PREFIX:local` for an extension namespace, else `local`."""
        if not qualified.startswith("{"):
            return qualified
        uri, _, local = qualified[1:].partition("}")
        prefix = self.by_uri.get(uri)
        return f"{prefix}:{local}" if prefix else local

    def _uri(self, prefix: str) -> str:
        if prefix not in self.prefixes:
            raise ValueError(f"no XML namespace is known for the prefix {prefix!r}")
        return self.prefixes[prefix]

    @staticmethod
    def _check(local: str, key: str) -> str:
        if not _NAME.match(local):
            raise ValueError(f"{key!r} cannot be written as an XML name")
        return local


def local_name(qualified: str) -> str:
    return qualified.rpartition("}")[2]


# ---------------------------------------------------------------------------------------------------- parsing
def parse_xml(body: bytes | str) -> ET.Element:
    """Parse XML from a client: a DTD, entity declarations and external references are refused before anything
    is expanded or read (billion laughs, file:///etc/passwd)."""
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise XMLRequestError("Malformed request body: a document type declaration (DTD) is not allowed") from None
    except EntitiesForbidden:
        raise XMLRequestError("Malformed request body: entity declarations are not allowed") from None
    except ExternalReferenceForbidden:
        raise XMLRequestError("Malformed request body: external references are not allowed") from None
    except ET.ParseError as exc:
        raise XMLRequestError(f"Malformed request body: {exc}") from None


def serialize(root: ET.Element, default_ns: str) -> bytes:
    """UTF-8 with the XML declaration; the Atom prefix declared on the root as every sample shows it; a carriage
    return in text written as a reference so that a reader gets it back (XML parsers turn raw CR LF into LF)."""
    root.set("xmlns", default_ns)
    if not any(el.tag.startswith("{" + ATOM_NS) for el in root.iter()):
        root.set("xmlns:atom", ATOM_NS)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True).replace(b"\r", b"&#13;")
