"""Names of everything the adapter makes on the host, as pure functions.

Interface names (at most 15 characters, the kernel's IFNAMSIZ - 1) come from the ids of the records they belong to,
as Nova and Neutron's Linux-bridge layout name them: `tap` + 11 characters of the port id for a guest tap and for the
host end of every veth, `brq` + 11 characters of the network id for a bridge, `ns-`/`qr-`/`qg-` + 11 characters of
the port id for the end inside a DHCP namespace, on a router's subnet leg and on its gateway leg. Those ids are
random UUIDs, so two daemons on one host never pick the same name.

Everything else (namespaces, nft tables, the DHCP state directories) carries the per-daemon prefix, so a daemon
finds its own leftovers and never another daemon's.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

IFNAME_MAX = 15
ID_CHARS = 11
_ID = re.compile(r"^[0-9a-zA-Z][0-9a-zA-Z-]{10,}$")
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,15}$")


def daemon_prefix(data_dir: Path) -> str:
    """A short stable prefix for one daemon: `nc` + 8 hex digits of the data directory's absolute path."""
    digest = hashlib.sha256(str(Path(data_dir).absolute()).encode()).hexdigest()
    return "nc" + digest[:8]


def _short(record_id: str) -> str:
    if not _ID.match(record_id):
        raise ValueError(f"not an id an interface can be named after: {record_id!r}")
    return record_id[:ID_CHARS]


def tap_name(port_id: str) -> str:
    """The guest's tap, and the host end of the veth of a DHCP or router port."""
    return "tap" + _short(port_id)


def bridge_name(network_id: str) -> str:
    return "brq" + _short(network_id)


def dhcp_leg_name(port_id: str) -> str:
    """The end of the DHCP port's veth inside the network's DHCP namespace."""
    return "ns-" + _short(port_id)


def router_leg_name(port_id: str) -> str:
    """The end of a router's subnet leg inside the router namespace (it carries the subnet's gateway address)."""
    return "qr-" + _short(port_id)


def gateway_leg_name(port_id: str) -> str:
    """The end of a router's external gateway leg inside the router namespace."""
    return "qg-" + _short(port_id)


@dataclass(frozen=True)
class DaemonNames:
    """The names that carry the per-daemon prefix."""

    prefix: str

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"a daemon prefix is 2-16 lowercase letters and digits, starting with a letter: "
                             f"{self.prefix!r}")

    @property
    def dhcp_namespace_start(self) -> str:
        return f"{self.prefix}-qdhcp-"

    @property
    def router_namespace_start(self) -> str:
        return f"{self.prefix}-qrouter-"

    def dhcp_namespace(self, network_id: str) -> str:
        _short(network_id)
        return self.dhcp_namespace_start + network_id

    def router_namespace(self, router_id: str) -> str:
        _short(router_id)
        return self.router_namespace_start + router_id

    @property
    def nat_table(self) -> str:
        """The nftables table (family ip) inside each router namespace."""
        return f"{self.prefix}-router"

    def dhcp_dir_name(self, network_id: str) -> str:
        """The directory (under the adapter's state directory) with one network's dnsmasq files."""
        _short(network_id)
        return f"{self.prefix}-dhcp-{network_id}"

    @property
    def dhcp_dir_start(self) -> str:
        return f"{self.prefix}-dhcp-"
