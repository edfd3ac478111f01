"""The network face with the real host side (nodecompute.hostnet as root): a DHCP subnet makes the network's bridge,
DHCP namespace and dnsmasq; a port's MAC gets the port's address from it; a restart finds everything again (and
rebuilds what went missing); deleting the network leaves nothing. A stand-in guest is a namespace on the bridge
running busybox udhcpc. Everything the test made is removed by exact name at the end."""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from nodecompute import hostnet as hostnet_pkg
from nodecompute.app import _hostnet as real_hostnet
from nodecompute.app import create_app
from tests.api.helpers import Api, Net


def _ip(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *argv], capture_output=True, text=True, check=check)


def _link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def _namespaces() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


class Guest:
    """A namespace with eth0 (the given MAC) whose veth peer is in the network's bridge."""

    def __init__(self, bridge: str, mac: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.namespace, self.host_end = f"ncguest-{tag}", f"ncg{tag}"
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.host_end, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        _ip("link", "set", self.host_end, "master", bridge, "up")
        self.run("ip", "link", "set", "eth0", "address", mac, "up")

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.namespace, *argv], capture_output=True, text=True,
                              timeout=30)

    def lease(self) -> str:
        """The address udhcpc is offered (busybox's default script is not run: -s /bin/true)."""
        done = self.run("busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "8", "-T", "1", "-s", "/bin/true")
        assert done.returncode == 0, done.stdout + done.stderr
        found = re.search(r"lease of (\S+) obtained", done.stdout + done.stderr)
        assert found, done.stdout + done.stderr
        return found.group(1)

    def remove(self) -> None:
        _ip("link", "del", self.host_end, check=False)
        _ip("netns", "del", self.namespace, check=False)


@pytest.fixture
def leftovers():
    """Exact names the test made on the host, removed at the end whatever happened."""
    made: dict[str, list] = {"links": [], "guests": [], "pids": []}
    yield made
    for guest in made["guests"]:
        guest.remove()
    for pid_file in made["pids"]:
        hostnet_pkg.dnsmasq.stop(pid_file)
    for name in made["links"]:
        _ip("link", "del", name, check=False)


async def _start(aiohttp_client, cfg) -> tuple[object, Net]:
    os.umask(0o077)  # the daemon's (nodecompute's main sets it): what it makes for dnsmasq must still be reachable
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=real_hostnet))
    return client, Net(client, await Api(client).token("admin", "admin-secret", "admin"))


async def test_dhcp_serves_the_port_address_and_survives_a_restart(aiohttp_client, cfg, leftovers):
    client, net = await _start(aiohttp_client, cfg)
    prefix = hostnet_pkg.daemon_prefix(cfg.data_dir)
    network = await net.network("real")
    bridge = hostnet_pkg.bridge_name(network["id"])
    leftovers["links"].append(bridge)
    assert _link_exists(bridge)
    subnet = await net.subnet(network["id"], "198.18.90.0/24")
    state = Path(cfg.network.state_dir) / f"{prefix}-dhcp-{network['id']}"
    leftovers["pids"].append(state / "pid")
    namespace = f"{prefix}-qdhcp-{network['id']}"
    assert namespace in _namespaces()
    pid = hostnet_pkg.dnsmasq.running_pid(state / "pid")
    assert pid is not None

    port = await net.port(network["id"], fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "198.18.90.77"}])
    assert f"{port['mac_address']},198.18.90.77,host-198-18-90-77" in (state / "hosts").read_text()
    guest = Guest(bridge, port["mac_address"])
    leftovers["guests"].append(guest)
    assert await asyncio.to_thread(guest.lease) == "198.18.90.77"

    await client.close()  # the daemon stops; dnsmasq and the bridge stay for the guests
    assert hostnet_pkg.dnsmasq.running_pid(state / "pid") == pid and _link_exists(bridge)
    _ip("link", "del", bridge)  # something lost while the daemon was down
    client, net = await _start(aiohttp_client, cfg)
    assert _link_exists(bridge) and hostnet_pkg.dnsmasq.running_pid(state / "pid") is not None
    _ip("link", "set", guest.host_end, "master", bridge, "up")  # the stand-in guest plugs in again
    assert await asyncio.to_thread(guest.lease) == "198.18.90.77"

    guest.remove()
    await net.ok("DELETE", f"/ports/{port['id']}", 204)
    assert "198.18.90.77" not in (state / "hosts").read_text()
    await net.ok("DELETE", f"/networks/{network['id']}", 204)
    assert not _link_exists(bridge) and namespace not in _namespaces() and not state.exists()
    assert hostnet_pkg.dnsmasq.running_pid(state / "pid") is None
    await client.close()
    assert not Path(cfg.network.state_dir).exists()  # an empty state directory goes with the daemon


async def test_a_start_sweeps_this_daemons_unrecorded_namespaces(aiohttp_client, cfg, leftovers):
    prefix = hostnet_pkg.daemon_prefix(cfg.data_dir)
    stray = f"{prefix}-qdhcp-{uuid.uuid4()}"
    _ip("netns", "add", stray)
    other = f"ncother-qdhcp-{uuid.uuid4()}"  # another daemon's: never touched
    _ip("netns", "add", other)
    try:
        client, _ = await _start(aiohttp_client, cfg)
        assert stray not in _namespaces() and other in _namespaces()
        await client.close()
    finally:
        _ip("netns", "del", stray, check=False)
        _ip("netns", "del", other, check=False)
