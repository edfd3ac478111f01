"""The metadata service's paths resolved against one instance's documents, as Nova's InstanceMetadata.lookup and
ec2_md_print do (nova/api/metadata/base.py); pure, no I/O: api/metadata_service.py adds the request, the instance
lookup and the password store.

The documents are the config drive's own (metadata_documents.py: openstack_version_files, ec2_meta_data), so a
guest reads the same thing from either; meta_data.json is served without admin_pass. Paths are normalised as
Nova does (posixpath.normpath: a trailing "/", "." and ".." change nothing); a first part other than "openstack"
or "ec2" is an EC2 version. Where Nova would raise a 500 on an odd path (a name under a list or a value), this
answers 404. Unlike Nova's service, which has no personality files, openstack/content/NNNN and meta_data.json's
`files` are served as on the drive: a guest booted without a drive still gets them.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from nodecompute.compute.metadata_documents import (
    EC2_VERSIONS, GRIZZLY, LATEST, OPENSTACK_VERSIONS, DriveMetadata, ec2_meta_data, openstack_version_files)

TEXT = "text/plain"
JSON = "application/json"
OPENSTACK, EC2, CONTENT, PASSWORD = "openstack", "ec2", "content", "password"


class MetadataPathNotFound(LookupError):
    """No such path for this instance (or no such version)."""


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str = TEXT


@dataclass(frozen=True)
class PasswordPath:
    """openstack/<version>/password: answered from the password store, not from the documents."""

    version: str


def path_parts(path: str) -> list[str]:
    """The path's parts after Nova's normalisation; [] for the root."""
    return [part for part in posixpath.normpath("/" + path.lstrip("/")).split("/") if part]


def listing(names: list[str]) -> Answer:
    return Answer("\n".join(names).encode("utf-8"))


def root_listing() -> Answer:
    """`/`: the EC2 versions and latest (Nova answers this one to anybody, before looking the instance up)."""
    return listing([*EC2_VERSIONS, LATEST])


def openstack_listing(today: str) -> Answer:
    """`/openstack`: versions dated today or earlier (later ones are hidden but answered), then latest."""
    return listing([version for version in OPENSTACK_VERSIONS if version <= today] + [LATEST])


def resolve(md: DriveMetadata, path: str, *, today: str, source_ip: str | None = None) -> Answer | PasswordPath:
    """What `path` answers for instance `md`: an Answer, or PasswordPath; raises MetadataPathNotFound.

    `today` is the UTC date as YYYY-MM-DD; `source_ip` stands in for EC2 local-ipv4 when the instance has no
    fixed IPv4 (Nova: `fixed_ip or self.address`)."""
    parts = path_parts(path)
    if not parts:
        return root_listing()
    if parts[0] == OPENSTACK:
        return _openstack(md, parts[1:], today)
    if parts[0] == EC2:
        parts = parts[1:]
    if not parts:
        return listing([*EC2_VERSIONS, LATEST])
    return _ec2(md, parts, source_ip)


def _openstack(md: DriveMetadata, parts: list[str], today: str) -> Answer | PasswordPath:
    if not parts:
        return openstack_listing(today)
    if parts[0] == CONTENT:
        return _content(md, parts[1:])
    version = OPENSTACK_VERSIONS[-1] if parts[0] == LATEST else parts[0]
    if version not in OPENSTACK_VERSIONS:
        raise MetadataPathNotFound(parts[0])
    has_password = OPENSTACK_VERSIONS.index(version) >= OPENSTACK_VERSIONS.index(GRIZZLY)
    name = "/".join(parts[1:])
    if name == PASSWORD and has_password:
        return PasswordPath(version)
    files = openstack_version_files(md, version, include_admin_pass=False)
    if not name:
        names = list(files)
        if has_password:
            names.insert(names.index("meta_data.json") + 1 + ("user_data" in files), PASSWORD)
        return listing(names)
    if name not in files:
        raise MetadataPathNotFound(name)
    return Answer(files[name], JSON if name.endswith(".json") else TEXT)


def _content(md: DriveMetadata, parts: list[str]) -> Answer:
    """openstack/content/NNNN: the personality files, numbered as in meta_data.json's content_path; no listing."""
    contents = {f"{index:04d}": injected.contents for index, injected in enumerate(md.files)}
    if len(parts) != 1 or parts[0] not in contents:
        raise MetadataPathNotFound("/".join([CONTENT, *parts]))
    return Answer(contents[parts[0]])


def ec2_tree(md: DriveMetadata, version: str, source_ip: str | None = None) -> dict:
    """Nova's get_ec2_metadata: {"meta-data": {...}, "user-data": bytes (when given)} with public-keys/0/_name."""
    meta = ec2_meta_data(md, version, for_drive=False)
    if meta.get("local-ipv4") is None and source_ip:
        meta["local-ipv4"] = source_ip
    tree: dict = {"meta-data": meta}
    if md.user_data is not None:
        tree["user-data"] = md.user_data
    return tree


def _ec2(md: DriveMetadata, parts: list[str], source_ip: str | None) -> Answer:
    if parts[0] not in (*EC2_VERSIONS, LATEST):
        raise MetadataPathNotFound(parts[0])
    node: object = ec2_tree(md, parts[0], source_ip)
    for part in parts[1:]:
        if not isinstance(node, dict) or part not in node:
            raise MetadataPathNotFound("/".join(parts))
        node = node[part]
    return Answer(ec2_text(node))


def ec2_text(node: object) -> bytes:
    """Nova's ec2_md_print: a directory lists its names sorted, one a line, sub-directories with a trailing "/"
    (or their `_name`, e.g. "0=mykey"); a list is one item a line; other values as text."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == "_name":
                continue
            value = node[key]
            lines.append(str(value.get("_name", f"{key}/")) if isinstance(value, dict) else key)
        return "\n".join(lines).encode("utf-8")
    if isinstance(node, list):
        return "\n".join(str(item) for item in node).encode("utf-8")
    if isinstance(node, bytes):
        return node
    return str(node).encode("utf-8")
