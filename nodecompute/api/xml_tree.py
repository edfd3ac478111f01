"""Render JSON-view dicts as XML by schema, and read such XML back into the dicts (xml_common has the schemas).

`Codec` is one dialect's XML: its names (default namespace, extension prefixes), its root kinds (JSON root key or
operation -> node) and its fault names. `render(doc, kind)` gives the bytes; `read(xml, kind)` gives the dict the
JSON answer would be, by the same schema, so a test can compare both answers of one request.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nodecompute.api.xml_common import (
    ATOM_NS, LINKS, METADATA, Entity, Keyed, ListOf, Map, Names, Node, Text, default_node, local_name, parse_xml,
    serialize, singular, typed, xml_value,
)


@dataclass(frozen=True)
class Kind:
    """A document kind: the JSON root key (None: the document's only key is a label, as in ips/{label}), the
    node that writes its value (a Map or Keyed without wrapper makes its single item the root element) and the
    document's default namespace when it is not the dialect's (volumes)."""
    root_key: str | None
    node: Node
    ns: str | None = None


class Codec:
    def __init__(self, names: Names, kinds: Mapping[str, Kind], fault: Callable[[str], Entity], faults: frozenset):
        self.names, self.kinds, self.fault, self.faults = names, kinds, fault, faults

    # -------------------------------------------------------------------------------------------- rendering
    def render(self, doc: Mapping[str, Any], kind: str | None = None) -> bytes:
        return serialize(*self.build(doc, kind))

    def build(self, doc: Mapping[str, Any], kind: str | None = None) -> tuple[ET.Element, str]:
        """The root element (default-namespace names bare) and the namespace `serialize` declares for them."""
        kind_, key = self._kind_of(doc, kind)
        value = doc[key]
        node = kind_.node if kind_ else self._root_node(key, value)
        if isinstance(node, (Map, Keyed)) and node.wrapper is None:
            items = self._items(node, value if kind_ and kind_.root_key is not None else {key: value}, None)
            if len(items) != 1:
                raise ValueError(f"a <{node.item}> document holds exactly one item, not {len(items)}")
            root = items[0]
        else:
            root = self._node(key, value, node, None)
        for link in doc.get(f"{key}_links", ()):
            root.append(self._entity(LINKS.item.tag, link, LINKS.item))
        return root, (kind_.ns if kind_ else None) or self.names.default_ns

    def _kind_of(self, doc: Mapping[str, Any], kind: str | None) -> tuple[Kind | None, str]:
        keys = [k for k in doc if not k.endswith("_links")]
        if len(keys) != 1:
            raise ValueError(f"an XML document has one root; this one has {keys}")
        kind_ = self.kinds.get(kind or keys[0])
        if kind and kind_ is None:
            raise ValueError(f"unknown XML document kind {kind!r}")
        return kind_, keys[0]

    def _root_node(self, key: str, value: Any) -> Node:
        if key in self.faults and isinstance(value, dict):
            return self.fault(key)
        return Text(key) if not isinstance(value, (dict, list)) else default_node(key, value)

    def _node(self, key: str, value: Any, node: Node, ns: str | None) -> ET.Element:
        if isinstance(node, Entity) and isinstance(value, dict):
            return self._entity(node.tag, value, node, ns)
        if isinstance(node, (ListOf, Map, Keyed)) and node.wrapper is not None:
            wrapper = ET.Element(self.names.element(node.wrapper, ns))
            wrapper.extend(self._items(node, value, ns))
            return wrapper
        if isinstance(node, Text) and not isinstance(value, (dict, list)):
            element = ET.Element(self.names.element(node.tag, ns))
            element.text = xml_value(value)
            return element
        return self._node(key, value, default_node(key, value), ns)

    def _items(self, node: Node, value: Any, ns: str | None) -> list[ET.Element]:
        names = self.names
        if isinstance(node, ListOf) and isinstance(value, list):
            return [self._node(node.item.tag, item, node.item, ns) for item in value]
        if isinstance(node, Map) and isinstance(value, dict):
            out = []
            for k, v in value.items():
                element = ET.Element(names.element(node.item, ns), {node.key_attr: xml_value(k)})
                if node.value_attr:
                    element.set(node.value_attr, xml_value(v))
                else:
                    element.text = xml_value(v)
                out.append(element)
            return out
        if isinstance(node, Keyed) and isinstance(value, dict):
            out = []
            for label, inner in value.items():
                element = ET.Element(names.element(node.item, ns), {node.key_attr: xml_value(label)})
                element.extend(self._items(node.inner, inner, ns))
                out.append(element)
            return out
        raise ValueError(f"cannot write {type(value).__name__} as {type(node).__name__}")

    def _entity(self, tag: str, value: Mapping[str, Any], entity: Entity, ns: str | None = None) -> ET.Element:
        ns = entity.ns or ns
        element = ET.Element(self.names.element(tag, ns))
        children: list[tuple[str, ET.Element | list[ET.Element]]] = []
        for key, item in value.items():
            if key in entity.omit or (key in entity.absent and item == entity.absent[key]
                                      and type(item) is type(entity.absent[key])):
                continue
            if isinstance(item, (dict, list)):
                node = entity.nested.get(key) or default_node(key, item)
                unwrapped = isinstance(node, (ListOf, Map, Keyed)) and node.wrapper is None
                children.append((key, self._items(node, item, ns) if unwrapped else self._node(key, item, node, ns)))
            elif key in entity.text:
                children.append((key, self._node(key, item, Text(key), ns)))
            else:
                element.set(self.names.attribute(entity.rename.get(key, key)), xml_value(item))
        children += [(extra, ET.Element(self.names.element(extra, ns))) for extra in entity.extras]
        rank = {key: i for i, key in enumerate(entity.order)}
        for _, child in sorted(children, key=lambda pair: rank.get(pair[0], len(rank))):
            element.extend(child if isinstance(child, list) else [child])
        return element

    # -------------------------------------------------------------------------------------------- reading
    def read(self, xml: bytes | str, kind: str | None = None) -> dict[str, Any]:
        return self.read_element(parse_xml(xml), kind)

    def read_element(self, root: ET.Element, kind: str | None = None) -> dict[str, Any]:
        tag = self.names.key(root.tag)
        kind_ = self.kinds.get(kind) if kind else self._kind_by_tag(tag)
        if kind and kind_ is None:
            raise ValueError(f"unknown XML document kind {kind!r}")
        if kind_ is None:
            return {tag: self._read_unknown(root)} if tag not in self.faults else \
                {tag: self._read_entity(root, self.fault(tag))}
        node, key = kind_.node, kind_.root_key
        if isinstance(node, (Map, Keyed)) and node.wrapper is None:
            value = self._read_items(node, [root])
            return {key: value} if key is not None else value
        doc = {key: self._read_node(root, node)}
        links = [self._read_entity(c, LINKS.item) for c in root if c.tag == f"{{{ATOM_NS}}}link"]
        if isinstance(node, ListOf) and links:
            doc[f"{key}_links"] = links
        return doc

    def _kind_by_tag(self, tag: str) -> Kind | None:
        for name, kind_ in self.kinds.items():
            node = kind_.node
            root_tag = node.tag if isinstance(node, (Entity, Text)) else node.wrapper or node.item
            if root_tag == tag and name == (kind_.root_key or name):
                return kind_
        return None

    def _read_node(self, element: ET.Element, node: Node) -> Any:
        if isinstance(node, Entity):
            return self._read_entity(element, node)
        if isinstance(node, Text):
            return typed(node.type, element.text or "")
        children = [c for c in element if not (isinstance(node, ListOf) and c.tag == f"{{{ATOM_NS}}}link"
                                               and node.item is not LINKS.item)]
        return self._read_items(node, children)

    def _read_items(self, node: Node, elements: list[ET.Element]) -> Any:
        if isinstance(node, ListOf):
            return [self._read_node(e, node.item) for e in elements]
        if isinstance(node, Map):
            return {e.get(node.key_attr, ""): typed(node.type, (e.get(node.value_attr) if node.value_attr
                                                               else e.text) or "") for e in elements}
        return {e.get(node.key_attr, ""): self._read_items(node.inner, list(e)) for e in elements}

    def _read_entity(self, element: ET.Element, entity: Entity) -> dict[str, Any]:
        back = {xml: key for key, xml in entity.rename.items()}
        out: dict[str, Any] = {}
        for name, text in element.attrib.items():
            key = back.get(self.names.key(name), self.names.key(name))
            out[key] = typed(entity.types.get(key, "s?"), text)
        by_tag = self._child_tags(entity)
        for child in element:
            key = self.names.key(child.tag)
            if key in entity.extras and not len(child) and not child.attrib:
                continue
            known = by_tag.get(key)
            if known is None:
                out[key] = typed(entity.types.get(key, "s?"), child.text or "") if key in entity.text \
                    else self._read_unknown(child)
                continue
            json_key, node, unwrapped = known
            if unwrapped:
                out.setdefault(json_key, []).append(self._read_node(child, node.item)) if isinstance(node, ListOf) \
                    else out.setdefault(json_key, {}).update(self._read_items(node, [child]))
            else:
                out[json_key] = self._read_node(child, node)
        for key, value in entity.absent.items():
            out.setdefault(key, value)
        return out

    def _child_tags(self, entity: Entity) -> dict[str, tuple[str, Node, bool]]:
        """Child element (as a JSON-style key, `atom:link`) -> (JSON key, node, items straight in the parent)."""
        tags = {"atom:link": ("links", LINKS, True), "metadata": ("metadata", METADATA, False)}
        for key, node in entity.nested.items():
            if isinstance(node, (Entity, Text)):
                tags[self._key_of(node.tag, getattr(node, "ns", None))] = (key, node, False)
            elif node.wrapper is not None:
                tags[self._key_of(node.wrapper, None)] = (key, node, False)
            else:
                item = node.item if isinstance(node, ListOf) else None
                tag = item.tag if item is not None else node.item
                tags[self._key_of(tag, getattr(item, "ns", None))] = (key, node, True)
        return tags

    def _key_of(self, tag: str, ns: str | None) -> str:
        return self.names.key(self.names.element(tag, ns))

    def _read_unknown(self, element: ET.Element) -> Any:
        """A child no schema names: the inverse of default_node, as far as the XML tells."""
        key = self.names.key(element.tag)
        children = list(element)
        if not children and not element.attrib:
            return typed("s?", element.text) if element.text else {}
        if children and not element.attrib and all(self.names.key(c.tag) == singular(key) for c in children):
            return [self._read_unknown(c) if len(c) or c.attrib else typed("s?", c.text or "") for c in children]
        return self._read_entity(element, Entity(local_name(element.tag)))
