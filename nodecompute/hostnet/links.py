"""Interfaces through netlink (pyroute2 IPRoute), as idempotent blocking steps for the worker thread.

pyroute2 (some 9 MB of the daemon's memory) is imported by the first step that needs it (worker.Worker.ipr), not
when the daemon starts: an idle daemon with no network never loads it. Its NetlinkError is imported where it is
caught (pyroute2 is loaded by then: the IPRoute the step got made it).

Every ensure_* makes what is missing and corrects what differs (master, MAC, addresses, up); every delete_* is a
no-op when the interface is gone. Lookups are by exact name: nothing is ever found or deleted by a pattern.
Host-side interfaces (bridges, taps, veth host ends) get IPv6 disabled, so the host holds no address at all on a
guest network.
"""
from __future__ import annotations

import errno
import fcntl
import ipaddress
import socket
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from nodecompute.hostnet.errors import HostNetError

if TYPE_CHECKING:
    from pyroute2 import IPRoute

IFF_UP = 0x1
# As `ip tuntap add mode tap` (Nova's create_tap_dev) makes them: no packet-info header, one queue. QEMU sets the
# flags it needs (vnet_hdr) when it opens the tap.
TAP_FLAGS = {"no_pi": True, "one_queue": False, "vnet_hdr": False, "multi_queue": False}
_IPV6_CONF = Path("/proc/sys/net/ipv6/conf")
SIOCGIFFLAGS, SIOCGIFMTU = 0x8913, 0x8921
_IFREQ_SHORT, _IFREQ_INT = struct.Struct("16sh22x"), struct.Struct("16si20x")  # struct ifreq: name, then a union


def host_index(name: str) -> int | None:
    """The index of interface `name` in the calling thread's network namespace (one ioctl, where a netlink lookup
    through pyroute2 costs ~0.4 ms of CPU), None when absent. For host-side interfaces (bridges, taps): the worker
    starts every job in the host's namespace, the one its host IPRoute works in."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


def _host_flags_mtu(name: str) -> tuple[int, int] | None:
    """(flags, MTU) of interface `name` in the calling thread's namespace (two ioctls), None when absent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            flags = _IFREQ_SHORT.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ_SHORT.pack(name.encode(), 0)))[1]
            mtu = _IFREQ_INT.unpack(fcntl.ioctl(sock, SIOCGIFMTU, _IFREQ_INT.pack(name.encode(), 0)))[1]
    except OSError:
        return None
    return flags & 0xFFFF, mtu


def index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def present(ipr: IPRoute, names: Iterable[str]) -> set[str]:
    """Which of `names` exist (one dump, however many names)."""
    wanted = set(names)
    return {link.get("ifname") for link in ipr.link("dump")} & wanted


def _require(ipr: IPRoute, name: str) -> int:
    idx = index(ipr, name)
    if idx is None:
        raise HostNetError(f"interface {name} does not exist")
    return idx


def _link(ipr: IPRoute, name: str) -> dict:
    """The interface's attributes, index included, in one netlink call; HostNetError when it does not exist."""
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            raise HostNetError(f"interface {name} does not exist") from None
        raise


def set_up(ipr: IPRoute, name: str, *, mac: str | None = None, master: int | None = None,
           mtu: int | None = None) -> int:
    """Bring `name` up with the given MAC, master and MTU (only the attributes that differ are changed)."""
    link = _link(ipr, name)
    idx = link["index"]
    changes: dict = {}
    if mac is not None and link.get("address", "").lower() != mac.lower():
        changes["address"] = mac
    if master is not None and link.get("master") != master:
        changes["master"] = master
    if mtu is not None and link.get("mtu") != mtu:
        changes["mtu"] = mtu
    if not link["flags"] & IFF_UP:
        changes["state"] = "up"
    if changes:
        ipr.link("set", index=idx, **changes)
    return idx


def no_ipv6(name: str) -> None:
    """Turn IPv6 off on a host-side interface (no link-local address, no router solicitations from the host)."""
    conf = _IPV6_CONF / name / "disable_ipv6"
    if conf.exists() and conf.read_text().strip() != "1":
        conf.write_text("1")


def ensure_bridge(ipr: IPRoute, name: str, *, mtu: int | None = None) -> int:
    """A Linux bridge with no address, no uplink, no STP (ports forward at once), in the host's namespace. One that
    is there, up and of the MTU asked is checked by ioctls alone (every port made on a network passes here)."""
    idx = host_index(name)
    if idx is None:
        _create(ipr, name, ifname=name, kind="bridge", br_stp_state=0, br_forward_delay=0)
    no_ipv6(name)
    state = _host_flags_mtu(name) if idx is not None else None
    if state is not None and state[0] & IFF_UP and (mtu is None or state[1] == mtu):
        return idx
    return set_up(ipr, name, mtu=mtu)


def ensure_tap(ipr: IPRoute, name: str, *, mac: str, master: str | int, mtu: int | None = None) -> int:
    """A persistent tap in bridge `master`, made before QEMU opens it (libvirt type='ethernet', managed='no').

    Chosen over `<interface type='bridge'>` with a named target (which also hot-plugs under qemu:///embed): the
    daemon owns the tap's lifetime, so it exists before QEMU starts (per-port nft rules can be in place before the
    guest's first packet), survives a guest stop and a daemon restart under its recorded name, and is deleted only
    by the daemon. Checked by hand: QEMU under qemu:///embed opens such a tap at start and on hot-plug, and libvirt
    leaves it (and its MAC) in place when the domain is destroyed.

    Its own MAC is the guest's with the first byte fe, as libvirt sets on the taps it makes: the bridge never takes
    the guest's address as its own, and the tap never sorts below a real port. `master`: the bridge's name or index.
    """
    fresh = host_index(name) is None
    if fresh:
        _create(ipr, name, ifname=name, kind="tuntap", mode="tap", ifr=TAP_FLAGS)
    no_ipv6(name)
    bridge = master if isinstance(master, int) else host_index(master)
    if bridge is None:
        raise HostNetError(f"interface {master} does not exist")
    idx = host_index(name) if fresh else None
    if idx is None:  # one that was there (or went again): only what differs is changed
        return set_up(ipr, name, mac=host_side_mac(mac), master=bridge, mtu=mtu)
    # one made just now is down, in no bridge, with a random MAC: all of it set at once, without reading it first
    ipr.link("set", index=idx, address=host_side_mac(mac), master=bridge, state="up",
             **({"mtu": mtu} if mtu is not None else {}))
    return idx


def host_side_mac(guest_mac: str) -> str:
    return "fe" + guest_mac.lower()[2:]


def ensure_veth(ipr: IPRoute, ns_ipr: IPRoute, namespace_fd: int, host_name: str, inner_name: str) -> bool:
    """A veth pair with `host_name` in the host and `inner_name` in the namespace (created there directly).
    True when it had to be made.

    A pair with one end missing (its namespace was recreated, or a crash came between steps) is remade.
    """
    host_idx = index(ipr, host_name)
    inner_idx = index(ns_ipr, inner_name)
    if host_idx is not None and inner_idx is not None:
        return False
    if host_idx is not None:
        ipr.link("del", index=host_idx)
    if inner_idx is not None:
        ns_ipr.link("del", index=inner_idx)
    _create(ipr, host_name, ifname=host_name, kind="veth",
            peer={"ifname": inner_name, "net_ns_fd": namespace_fd})
    return True


def delete_link(ipr: IPRoute, name: str) -> bool:
    """Delete the interface called exactly `name` (False when there is none). A veth takes its peer with it."""
    from pyroute2.netlink.exceptions import NetlinkError

    idx = index(ipr, name)
    if idx is None:
        return False
    try:
        ipr.link("del", index=idx)
    except NetlinkError as exc:
        if exc.code != errno.ENODEV:
            raise HostNetError(f"cannot delete interface {name}: {exc}") from exc
    return True


def addresses(ipr: IPRoute, name: str) -> set[str]:
    """The IPv4 interface addresses on `name`, as "198.18.5.1/24"."""
    idx = _require(ipr, name)
    return {f"{a.get('address')}/{a['prefixlen']}" for a in ipr.addr("dump", index=idx, family=2)}


def ensure_addresses(ipr: IPRoute, name: str, wanted: Iterable[str]) -> None:
    """Exactly the IPv4 interface addresses `wanted` ("198.18.5.1/24") on `name`: missing ones added, others removed."""
    idx = _require(ipr, name)
    want = {ipaddress.IPv4Interface(a) for a in wanted}
    have = {ipaddress.IPv4Interface(a) for a in addresses(ipr, name)}
    for addr in sorted(have - want):
        ipr.addr("del", index=idx, address=str(addr.ip), prefixlen=addr.network.prefixlen)
    for addr in sorted(want - have):
        ipr.addr("add", index=idx, address=str(addr.ip), prefixlen=addr.network.prefixlen)


def ensure_default_route(ipr: IPRoute, gateway: str | None) -> None:
    """The namespace's IPv4 default route via `gateway`, or none."""
    current = [r for r in ipr.route("dump", family=2, table=254) if r["dst_len"] == 0]
    if any(r.get("gateway") == gateway for r in current) and len(current) == 1:
        return
    for route in current:
        ipr.route("del", family=2, dst="0.0.0.0/0", gateway=route.get("gateway"), table=254)
    if gateway:
        ipr.route("add", family=2, dst="0.0.0.0/0", gateway=gateway)


def ensure_loopback_up(ns_ipr: IPRoute) -> None:
    set_up(ns_ipr, "lo")


def _create(ipr: IPRoute, name: str, **spec) -> None:
    from pyroute2.netlink.exceptions import NetlinkError

    try:
        ipr.link("add", **spec)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise HostNetError(f"cannot create interface {name}: {exc}") from exc
