"""Routers and floating IPs end to end on a real daemon, with the stock `openstack` CLI: an external network from
configuration (a /24 of 198.18.0.0/15, no uplink), `router create`, `router add subnet`, `router set
--external-gateway`, `floating ip create`, `floating ip set --port` / `unset --port`. The guest is a stand-in: a
namespace joined by a veth to the project network's bridge with the MAC and address of a port made through the API
(servers with ports come with the server side of networking); the world beyond the router is an "outside" namespace
on the external network's bridge holding the external gateway address. Proved: the stand-in pings its router leg,
reaches the outside through SNAT (seen from the router's gateway address, then from its floating IP), the outside
reaches the stand-in through its floating IP until it is disassociated; the router's namespace and NAT survive a
daemon restart, and nothing of the router is left on the host after it is deleted."""
from __future__ import annotations

import ipaddress
import json
import os
import random
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from bench.daemon_util import TEST_RANGE, Daemon
from nodecompute.hostnet import bridge_name
from tests.integration.cloud import Cloud
from tests.integration.test_clients_foundation import openstack_cli

pytestmark = pytest.mark.integration
TOOL = Path(__file__).with_name("nettool.py")
PORT = 7070


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


class Standin:
    """A namespace on a bridge (veth, host end `tap`): a guest's place on a network, or the outside world."""

    def __init__(self, name: str, bridge: str, mac: str | None, cidr: str, gateway: str | None) -> None:
        self.namespace, self.tap = f"ncl3-{name}", name
        self.procs: list[subprocess.Popen] = []
        try:
            run("ip", "netns", "add", self.namespace)
            run("ip", "link", "add", self.tap, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
            run("ip", "link", "set", self.tap, "master", bridge, "up")
            self.run("ip", "link", "set", "lo", "up")
            if mac:
                self.run("ip", "link", "set", "eth0", "address", mac)
            self.run("ip", "addr", "add", cidr, "dev", "eth0")
            self.run("ip", "link", "set", "eth0", "up")
            if gateway:
                self.run("ip", "route", "add", "default", "via", gateway)
        except subprocess.CalledProcessError:
            self.close()
            raise

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", self.namespace, *argv, check=check)

    def ping(self, address: str) -> bool:
        return self.run("busybox", "ping", "-c", "1", "-W", "2", address, check=False).returncode == 0

    def serve_peers(self, seconds: int = 120) -> None:
        """Answer each TCP connection on PORT with the address it came from (nettool tcp-peer)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.namespace, sys.executable, str(TOOL), "tcp-peer",
                                 str(PORT), str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()

    def peer_seen_by(self, address: str) -> str | None:
        """The address `address`'s peer server saw this namespace's connection come from (None: no answer, three
        tries of 2 s: a first connection can miss its 2 s on a loaded host, as one did once in a full run)."""
        for _ in range(3):
            done = self.run("busybox", "nc", "-w", "2", address, str(PORT), check=False)
            if done.stdout.strip():
                return done.stdout.strip()
        return None

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.communicate()
        run("ip", "netns", "del", self.namespace, check=False)
        run("ip", "link", "del", self.tap, check=False)


def _json(daemon: Daemon, *args: str):
    return json.loads(openstack_cli(daemon, *args, "-f", "json").stdout)


def _namespace_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    daemon = Daemon(tmp_path_factory.mktemp("daemon"))
    external = random.choice([n for n in TEST_RANGE.subnets(new_prefix=24) if n != daemon.subnet_range])
    keys = f'external_cidr = "{external}"\nexternal_pool = ["{external[10]}-{external[20]}"]\n'
    daemon.config.write_text(daemon.config.read_text().replace("[compute]\n", keys + "[compute]\n"))
    standins: list[Standin] = []
    try:
        daemon.start()
        yield daemon, external, standins
    finally:
        for standin in standins:
            standin.close()
        daemon.close()


def _host_ends(cloud: Cloud, router_id: str) -> list[str]:
    """Host ends of the router's legs (tap + 11 characters of each port id), from its ports."""
    ports = cloud.http.get(f"{cloud.daemon.url}/networking/v2.0/ports?device_id={router_id}", timeout=30).json()
    return ["tap" + p["id"][:11] for p in ports["ports"]]


def _link_exists(name: str) -> bool:
    return run("ip", "link", "show", "dev", name, check=False).returncode == 0


class Neutron:
    """The network face over HTTP (for the steps the CLI is not what is being proved)."""

    def __init__(self, daemon: Daemon) -> None:
        self.cloud, self.url = Cloud(daemon), f"{daemon.url}/networking/v2.0"

    def call(self, method: str, path: str, status: int = 200, **body) -> dict | None:
        resp = self.cloud.http.request(method, self.url + path, json=body or None, timeout=30)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if status != 204 else None


def test_router_and_floating_ip_with_the_cli(lab):
    daemon, external, standins = lab
    tenant, tag, api = daemon.subnet_range, secrets.token_hex(2), Neutron(daemon)
    host_forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    (public,) = api.call("GET", "/networks?router:external=true")["networks"]
    assert (public["name"], public["is_default"]) == ("public", True)
    network = api.call("POST", "/networks", 201, network={"name": "l3net"})["network"]
    subnet = api.call("POST", "/subnets", 201, subnet={"network_id": network["id"], "cidr": str(tenant),
                                                       "ip_version": 4, "name": "l3sub"})["subnet"]

    router = _json(daemon, "router", "create", "l3router")
    namespace = f"{daemon.network_prefix}-qrouter-{router['id']}"
    assert _namespace_exists(namespace)
    openstack_cli(daemon, "router", "add", "subnet", "l3router", "l3sub")
    openstack_cli(daemon, "router", "set", "--external-gateway", "public", "l3router")
    gateway = api.call("GET", f"/routers/{router['id']}")["router"]["external_gateway_info"]
    gateway_ip = gateway["external_fixed_ips"][0]["ip_address"]
    assert (gateway["network_id"], gateway_ip) == (public["id"], str(external[10]))

    port = api.call("POST", "/ports", 201, port={"network_id": network["id"], "name": "standin",
                                                 "device_owner": "compute:nova", "device_id": "standin"})["port"]
    fixed = port["fixed_ips"][0]["ip_address"]
    guest = Standin(f"ncg{tag}", bridge_name(network["id"]), port["mac_address"], f"{fixed}/{tenant.prefixlen}",
                    subnet["gateway_ip"])
    standins.append(guest)
    outside = Standin(f"nco{tag}", bridge_name(public["id"]), None, f"{external[1]}/{external.prefixlen}", None)
    standins.append(outside)
    outside.serve_peers()
    guest.serve_peers()

    assert guest.ping(subnet["gateway_ip"])  # the router's leg answers
    forwarding = run("ip", "netns", "exec", namespace, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip()
    assert forwarding == "1" and Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forwarding
    assert guest.peer_seen_by(str(external[1])) == gateway_ip  # SNAT to the router's gateway address

    floating = _json(daemon, "floating", "ip", "create", "public")
    address, path = floating["floating_ip_address"], f"/floatingips/{floating['id']}"
    assert ipaddress.IPv4Address(address) in external and address != gateway_ip
    assert outside.peer_seen_by(address) is None  # not associated: nothing answers
    openstack_cli(daemon, "floating", "ip", "set", "--port", port["id"], address)
    assert api.call("GET", path)["floatingip"]["status"] == "ACTIVE"
    assert outside.peer_seen_by(address) == str(external[1])  # DNAT to the stand-in, the outside's own address
    assert guest.peer_seen_by(str(external[1])) == address  # the stand-in's traffic leaves from its floating IP

    daemon.stop()
    daemon.start()
    assert outside.peer_seen_by(address) == str(external[1])  # restored at start, as the database says

    api = Neutron(daemon)
    api.call("PUT", path, floatingip={"port_id": None})
    assert outside.peer_seen_by(address) is None
    assert guest.peer_seen_by(str(external[1])) == gateway_ip

    api.call("DELETE", path, 204)
    api.call("PUT", f"/routers/{router['id']}", router={"external_gateway_info": {}})
    assert guest.peer_seen_by(str(external[1])) is None  # no gateway, no way out
    legs = _host_ends(api.cloud, router["id"])
    assert len(legs) == 1 and all(_link_exists(leg) for leg in legs)  # the subnet leg (the gateway leg went)
    api.call("PUT", f"/routers/{router['id']}/remove_router_interface", subnet_id=subnet["id"])
    api.call("DELETE", f"/routers/{router['id']}", 204)
    assert not _namespace_exists(namespace) and not any(_link_exists(leg) for leg in legs)
    assert api.call("GET", "/routers")["routers"] == [] and api.call("GET", "/floatingips")["floatingips"] == []
