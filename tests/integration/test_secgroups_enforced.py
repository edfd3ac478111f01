"""Security groups enforced through the whole chain on the real kernel: the networking API (Neutron's, and Nova's
os-security-group-rules proxy) changes the rows, the firewall (compute/firewall.py) applies them through the real
host adapter (nftables), and stand-in guests see the traffic pass or not. The guests are network namespaces on
veths in the networks' own bridges (made by the daemon's host adapter); each veth's host end is bound as its port's
tap through PortService.bind, the seam the server side calls when it plugs a guest's NIC.

One in-process app (no servers) for the module, on a random /24 of 198.18.0.0/15 and a random daemon prefix; a
test may restart it on the same data directory. At the end its networks are deleted through the API and nothing of
the daemon's (tables, bridges, namespaces) may be left. If the kernel probe finds a feature missing, networking
does not start and every test here fails with the probe's message (never skips).
"""
from __future__ import annotations

import ipaddress
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from nodecompute.api.keys import network_key, network_off_key
from nodecompute.app import create_app, store_key
from nodecompute.config import Config, IdentityConfig, NetworkConfig, ServerConfig
from nodecompute.db import identity as identity_db
from nodecompute.domain.models import utcnow
from nodecompute.hostnet import bridge_name, daemon_prefix, nft
from nodecompute.hostnet.secgroups import our_tables
from nodecompute.identity import accounts
from tests.api.helpers import Api, Net
from tests.integration.netlab import Guest, Lab, run

pytestmark = pytest.mark.integration


class Cloud:
    """The app, its admin and project clients, and the lab whose guests stand in for servers."""

    def __init__(self) -> None:
        self.lab = Lab()
        self.data_dir = Path(tempfile.mkdtemp(prefix="ncsg", dir="/tmp"))
        self.state_dir = Path(tempfile.mkdtemp(prefix="ncsgnet", dir="/tmp"))
        self.state_dir.chmod(0o755)  # dnsmasq reads its files as its own user
        self.cidrs = iter(random.sample(list(ipaddress.IPv4Network("198.18.0.0/15").subnets(new_prefix=24)), 16))
        self.cfg = Config(data_dir=self.data_dir, server=ServerConfig(listen_port=8774),
                          identity=IdentityConfig(admin_password="admin-secret", kdf_time_cost=1,
                                                  kdf_memory_kib=1024),
                          network=NetworkConfig(enabled="true", subnet_ranges=("198.18.0.0/15",),
                                                state_dir=str(self.state_dir)))
        self.prefix = daemon_prefix(self.data_dir)
        self.client: TestClient | None = None
        self.admin: Net | None = None
        self.members: dict[str, Net] = {}

    async def start(self) -> None:
        self.client = TestClient(TestServer(create_app(self.cfg, with_servers=False)))
        await self.client.start_server()
        assert network_off_key not in self.client.server.app, self.client.server.app[network_off_key]
        self.admin = Net(self.client, await Api(self.client).token("admin", "admin-secret", "admin"))
        for project in list(self.members):
            self.members[project] = Net(self.client, await Api(self.client).token(f"{project}-user", "pw", project))

    async def stop(self) -> None:
        await self.client.close()

    async def member(self, project: str) -> Net:
        if project not in self.members:
            def create(db):
                identity_db.create_project(db, project, now=utcnow())
                accounts.create_user(db, self.cfg, f"{project}-user", project, "member", "pw", now=utcnow())

            await self.client.server.app[store_key].write(create)
            self.members[project] = Net(self.client, await Api(self.client).token(f"{project}-user", "pw", project))
        return self.members[project]

    @property
    def ports(self):
        return self.client.server.app[network_key].ports

    async def network(self, owner: Net, name: str, **attrs) -> dict:
        """A network with a subnet on a /24 of its own (remote groups match members by address, as Neutron's do:
        with one cidr on two networks, a member's address would also match its twin on the other network)."""
        network = await owner.network(name, **attrs)
        cidr = next(self.cidrs)
        await owner.subnet(network["id"], str(cidr))
        return {**network, "cidr": str(cidr), "spare": str(cidr[250])}

    async def guest(self, owner: Net, network: dict, name: str, **attrs) -> tuple[Guest, dict]:
        """A port made through the API and a namespace wearing its MAC and address, plugged and bound."""
        port = await owner.port(network["id"], name=name, **attrs)
        ip = port["fixed_ips"][0]["ip_address"]
        guest = Guest(self.lab, name, f"{self.lab.tag}-{name}", f"{self.lab.tag}{name}", port["mac_address"], ip,
                      bridge_name(network["id"]))
        run("ip", "netns", "add", guest.ns)
        self.lab.guests.append(guest)
        run("ip", "link", "add", guest.tap, "type", "veth", "peer", "name", "eth0", "netns", guest.ns)
        await self.ports.bind(port["id"], guest.tap, "host1")  # filtered before its tap carries anything
        run("ip", "link", "set", guest.tap, "master", guest.bridge, "up")
        guest.run("ip", "link", "set", "lo", "up", check=True)
        guest.set_mac(guest.mac)
        guest.run("ip", "addr", "add", f"{ip}/24", "dev", "eth0", check=True)
        guest.run("ip", "link", "set", "eth0", "up", check=True)
        return guest, port

    async def tables(self) -> list[str]:
        """Every nftables table name of this daemon."""
        return [name for _, name in await nft.list_tables() if name.startswith(self.prefix)]

    async def listing(self) -> str:
        text = ""
        for family, name in our_tables(self.prefix):
            done = run("nft", "list", "table", family, name, check=False)
            text += done.stdout
        return text


@pytest.fixture(scope="module")
async def cloud():
    cloud = Cloud()
    try:
        await cloud.start()
        yield cloud
        for network in (await cloud.admin.ok("GET", "/networks"))["networks"]:
            for port in (await cloud.admin.ok("GET", f"/ports?network_id={network['id']}"))["ports"]:
                if port["device_owner"] != "network:dhcp":
                    await cloud.ports.unbind(port["id"])
                    await cloud.admin.ok("DELETE", f"/ports/{port['id']}", 204)
            await cloud.admin.ok("DELETE", f"/networks/{network['id']}", 204)
        assert await cloud.tables() == []  # the last port unplugged took the tables with it
    finally:
        if cloud.client is not None:
            await cloud.stop()
        try:
            await nft.delete_tables(our_tables(cloud.prefix))
        finally:
            cloud.lab.cleanup()
            shutil.rmtree(cloud.data_dir, ignore_errors=True)
            shutil.rmtree(cloud.state_dir, ignore_errors=True)
    assert cloud.lab.leftovers() == []


async def _rule(net: Net, group_id: str, **attrs) -> dict:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **attrs}}
    return (await net.ok("POST", "/security-group-rules", 201, json=body))["security_group_rule"]


async def test_rules_changed_through_the_apis_block_and_allow_a_tcp_port_live(cloud):
    alpha = await cloud.member("alpha")
    network = await cloud.network(alpha, "tcpnet")
    web = (await alpha.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}}))[
        "security_group"]
    a, _ = await cloud.guest(alpha, network, "a", security_groups=[web["id"]])
    b, _ = await cloud.guest(alpha, network, "b", security_groups=[web["id"]])
    b.serve_tcp(8080)
    assert not a.tcp(b.ip, 8080)  # a new group sends anything, accepts nothing
    rule = await _rule(alpha, web["id"], protocol="tcp", port_range_min=8080, port_range_max=8080,
                       remote_group_id=web["id"])
    assert a.tcp(b.ip, 8080)
    await alpha.ok("DELETE", f"/security-group-rules/{rule['id']}", 204)
    assert not a.tcp(b.ip, 8080)
    nova = {"security_group_rule": {"parent_group_id": web["id"], "ip_protocol": "tcp", "from_port": 8080,
                                    "to_port": 8080, "cidr": f"{a.ip}/32"}}
    resp = await Api(cloud.client).post("/os-security-group-rules", alpha.token, json=nova)
    assert resp.status == 200, await resp.text()
    assert a.tcp(b.ip, 8080) and not b.tcp(a.ip, 8080)  # from a's address only, and only into b's group


async def test_a_guest_that_changes_its_address_or_mac_reaches_nobody(cloud):
    alpha = await cloud.member("alpha")
    network = await cloud.network(alpha, "spoofnet")
    a, _ = await cloud.guest(alpha, network, "c")  # both in the project's default group: members reach members
    b, _ = await cloud.guest(alpha, network, "d")
    assert a.ping(b.ip)
    address = a.ip
    a.set_ip(network["spare"])
    assert not a.ping(b.ip)
    a.set_ip(address)
    assert a.ping(b.ip)
    a.set_mac("02:00:00:00:00:01")
    run("ip", "netns", "exec", b.ns, "ip", "neigh", "flush", "dev", "eth0")
    assert not a.ping(b.ip)


async def test_projects_on_a_shared_network_are_apart_unless_a_rule_allows(cloud):
    alpha, beta = await cloud.member("alpha"), await cloud.member("beta")
    network = await cloud.network(cloud.admin, "shared", shared=True)
    a, _ = await cloud.guest(alpha, network, "e")
    b, b_port = await cloud.guest(beta, network, "f")
    assert not a.ping(b.ip) and not b.ping(a.ip)
    await _rule(beta, b_port["security_groups"][0], protocol="icmp", remote_ip_prefix=f"{a.ip}/32")
    assert a.ping(b.ip)  # the reply is the same connection
    assert not b.ping(a.ip)  # alpha's default group still accepts only alpha's members


async def test_port_security_off_is_unfiltered_and_on_again_filtered(cloud):
    alpha = await cloud.member("alpha")
    network = await cloud.network(alpha, "opennet")
    svc = (await alpha.ok("POST", "/security-groups", 201, json={"security_group": {"name": "svc"}}))[
        "security_group"]
    await _rule(alpha, svc["id"], protocol="tcp", port_range_min=9090, port_range_max=9090,
                remote_ip_prefix=network["cidr"])
    a, a_port = await cloud.guest(alpha, network, "g")  # the default group
    b, _ = await cloud.guest(alpha, network, "h", security_groups=[svc["id"]])
    a.serve_tcp(7070)
    b.serve_tcp(9090)
    assert not b.tcp(a.ip, 7070)  # b is no member of a's default group
    off = {"port": {"port_security_enabled": False, "security_groups": []}}
    await alpha.ok("PUT", f"/ports/{a_port['id']}", json=off)
    assert b.tcp(a.ip, 7070)  # nothing filters what reaches a
    a.set_ip(network["spare"])
    assert a.tcp(b.ip, 9090)  # nor what a sends: b's own rules still decide, and they allow the subnet
    on = {"port": {"port_security_enabled": True, "security_groups": a_port["security_groups"]}}
    await alpha.ok("PUT", f"/ports/{a_port['id']}", json=on)
    assert not a.tcp(b.ip, 9090)  # anti-spoofing again
    a.set_ip(a_port["fixed_ips"][0]["ip_address"])
    assert a.tcp(b.ip, 9090) and not b.tcp(a.ip, 7070)


async def test_a_restart_keeps_the_filtering_and_deletes_leave_no_rule(cloud):
    alpha = await cloud.member("alpha")
    network = await cloud.network(alpha, "restartnet")
    db = (await alpha.ok("POST", "/security-groups", 201, json={"security_group": {"name": "db"}}))[
        "security_group"]
    await _rule(alpha, db["id"], protocol="tcp", port_range_min=5432, port_range_max=5432,
                remote_ip_prefix=network["cidr"])
    a, _ = await cloud.guest(alpha, network, "i")
    b, b_port = await cloud.guest(alpha, network, "j", security_groups=[db["id"]])
    b.serve_tcp(5432, 5433)
    assert a.tcp(b.ip, 5432) and not a.tcp(b.ip, 5433)
    await cloud.stop()
    assert a.tcp(b.ip, 5432) and not a.tcp(b.ip, 5433)  # the tables outlive the daemon
    await cloud.start()
    alpha = await cloud.member("alpha")  # a client of the new app
    assert a.tcp(b.ip, 5432) and not a.tcp(b.ip, 5433)
    assert b.tap in await cloud.listing() and db["id"] in await cloud.listing()
    await cloud.ports.unbind(b_port["id"])
    await alpha.ok("DELETE", f"/ports/{b_port['id']}", 204)
    await alpha.ok("DELETE", f"/security-groups/{db['id']}", 204)
    listing = await cloud.listing()
    assert a.tap in listing and b.tap not in listing and db["id"] not in listing
