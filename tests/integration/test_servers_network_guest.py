"""Servers on a project network, proved by the test guest: its address by DHCP from the port the server got, the
network_data.json of its config drive and its tagged NIC in meta_data.json's devices (issue 13), a second guest
reached by ping and unreachable once the first guest forges its MAC or address, a NIC hot-plugged into the running guest and unplugged again; a security group rule set that
blocks and then allows a TCP port between the two running guests, seen from the guests, and a third guest of
another project on the shared network, on a port of its own with its own group (issue 14); a router and
an external network: the guest pings its router, reaches an "outside" namespace through SNAT, and is reached on its
TCP port through a floating IP until it is disassociated (issue 15); `server create --nic auto` on a project with
no network boots on its auto-allocated topology; the guests still connected and filtered after the daemon is
SIGKILLed and restarted, and nothing left on the host (tap, port, bridge, namespace, dnsmasq, router) once the
servers, the router and the network are deleted.

One daemon (with an external network from its configuration) and two guests for the module (booted together, each
with a config drive and the command channel); the tests run in file order on them. Needs root and the host
networking tools, like test_networks_cli.py.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from nodecompute.hostnet import bridge_name, tap_name
from nodecompute.hostnet.dnsmasq import running_pid
from tests.integration import guest_channel
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon
from tests.integration.test_clients_foundation import nodecompute_cli, openstack_cli
from tests.integration.test_routers_cli import PORT as PEER_PORT
from tests.integration.test_routers_cli import Standin

pytestmark = pytest.mark.integration
NIC_TAG = "lab-nic"
SERVED, FILTERED = 8080, 8081  # the TCP ports guest b listens on; only SERVED is ever let in


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """The module's daemon, with an external network ("public", default) on a /24 of its own, no uplink."""
    d = Daemon(tmp_path_factory.mktemp("daemon"), external_network=True)
    try:
        yield d.start()
    finally:
        d.close()


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


@pytest.fixture(scope="module")
def network(cloud, daemon) -> dict:
    """The lab network on the first half of the daemon's /24 (auto-allocation takes a /26 of the other half)."""
    made = _neutron(cloud, "POST", "/networks", {"network": {"name": "lab"}}, 201)["network"]
    cidr = next(daemon.subnet_range.subnets(new_prefix=25))
    subnet = _neutron(cloud, "POST", "/subnets", {"subnet": {"network_id": made["id"], "ip_version": 4,
                                                             "cidr": str(cidr)}}, 201)["subnet"]
    return {**made, "subnet": subnet}


@pytest.fixture(scope="module")
def guests(cloud, network) -> dict[str, dict]:
    """Two guests on the network, booted at once: "a" (its NIC tagged, at 2.42) and "b"."""
    image_id = cloud.import_guest(properties={"nodecompute_test_channel": "yes"})
    created = {}
    for name, nic in (("a", {"tag": NIC_TAG}), ("b", {})):
        body = {"server": {"name": f"net-{name}", "imageRef": image_id, "flavorRef": "42", "config_drive": True,
                           "networks": [{"uuid": network["id"], **nic}]}}
        resp = cloud.post("/servers", body, headers={"OpenStack-API-Version": "compute 2.42"})
        assert resp.status_code == 202, resp.text
        created[name] = resp.json()["server"]["id"]
    found = {}
    for name, server_id in created.items():
        server = cloud.wait_status(server_id, "ACTIVE")
        found[name] = {"server": server, "report": cloud.wait_report(server_id)}
    return found


def _port_of(cloud: Cloud, server_id: str) -> dict:
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server_id}")["ports"]
    return port


def _master(link: str) -> str | None:
    path = Path(f"/sys/class/net/{link}/master")
    return os.path.basename(os.readlink(path)) if path.exists() else None


def test_each_guest_gets_its_ports_address_by_dhcp(cloud, network, guests):
    prefix = network["subnet"]["cidr"].split("/")[1]
    for guest in guests.values():
        server, report = guest["server"], guest["report"]
        port = _port_of(cloud, server["id"])
        address = port["fixed_ips"][0]["ip_address"]
        assert port["status"] == "ACTIVE" and port["device_owner"] == "compute:nova"
        assert server["addresses"] == {"lab": [{"version": 4, "addr": address, "OS-EXT-IPS:type": "fixed",
                                                "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
        assert report.value("nic eth0 ") == (f"mac={port['mac_address']} ip={address}/{prefix} "
                                             f"gw={network['subnet']['gateway_ip']}")
        assert _master(tap_name(port["id"])) == bridge_name(network["id"])


def test_the_guest_reads_network_data_from_its_config_drive(cloud, daemon, network, guests):
    server = guests["a"]["server"]
    answer = guest_channel.run(cloud, daemon, server, "cat /mnt/config/openstack/latest/network_data.json")
    assert answer.rc == 0, answer
    data = json.loads("".join(answer.out))
    port = _port_of(cloud, server["id"])
    assert data["links"] == [{"id": tap_name(port["id"]), "vif_id": port["id"], "type": "bridge", "mtu": None,
                              "ethernet_mac_address": port["mac_address"]}]
    assert data["networks"] == [{"id": "network0", "type": "ipv4_dhcp", "link": tap_name(port["id"]),
                                 "network_id": network["id"]}]


def test_the_guest_prints_its_tagged_nic_from_meta_data(cloud, guests):
    report, port = guests["a"]["report"], _port_of(cloud, guests["a"]["server"]["id"])
    (device,) = json.loads(base64.b64decode(report.value("metajson ")))["devices"]
    assert (device["type"], device["bus"], device["mac"], device["tags"]) == ("nic", "pci", port["mac_address"],
                                                                              [NIC_TAG])
    assert report.values("device ") == [f"type=nic bus=pci address={device['address']} mac={port['mac_address']} "
                                        f"tags={NIC_TAG}"]
    assert guests["b"]["report"].values("device ") == []  # an untagged NIC is no device


def test_guests_on_one_network_reach_each_other(cloud, daemon, guests):
    other = _port_of(cloud, guests["b"]["server"]["id"])["fixed_ips"][0]["ip_address"]
    answer = guest_channel.run(cloud, daemon, guests["a"]["server"], f"ping -c 1 -W 2 {other}")
    assert answer.rc == 0, answer


def test_a_guest_that_changes_its_own_mac_or_address_reaches_nobody(cloud, daemon, network, guests):
    """Anti-spoofing on the real guest (issue 14): with another MAC, or a free address of its subnet that is not
    its port's, a's pings to b are dropped (b's answers would reach it without the filter); with its own back, they
    pass again. (A guest claiming another guest's address: test_metadata_service_wire.py.)"""
    port = _port_of(cloud, guests["a"]["server"]["id"])
    mac, own = port["mac_address"], port["fixed_ips"][0]["ip_address"]
    b_ip, prefix = _address(cloud, guests["b"]), network["subnet"]["cidr"].split("/")[1]
    free = str(ipaddress.IPv4Network(network["subnet"]["cidr"])[-2])
    forged_mac = "fa:16:3e:" + ":".join(f"{octet:02x}" for octet in secrets.token_bytes(3))
    ping = f"ip neigh flush dev eth0; ping -c 1 -W 2 {b_ip}"
    claims = {
        "mac": (f"ip link set eth0 address {forged_mac}", f"ip link set eth0 address {mac}"),
        "address": (f"ip addr del {own}/{prefix} dev eth0; ip addr add {free}/{prefix} dev eth0",
                    f"ip addr del {free}/{prefix} dev eth0; ip addr add {own}/{prefix} dev eth0; "
                    f"ip route replace default via {network['subnet']['gateway_ip']} dev eth0"),
    }
    for claim, (forge, restore) in claims.items():
        answer = guest_channel.run(cloud, daemon, guests["a"]["server"], f"{forge}; {ping}; rc=$?; {restore}; exit $rc")
        assert answer.rc != 0, (claim, answer)
        answer = guest_channel.run(cloud, daemon, guests["a"]["server"], ping)
        assert answer.rc == 0, (claim, answer)  # its own MAC and address pass again


def test_a_nic_hot_plugged_into_the_running_guest_gets_its_address(cloud, network, guests):
    server_id = guests["a"]["server"]["id"]
    first = _port_of(cloud, server_id)["id"]
    resp = cloud.post(f"/servers/{server_id}/os-interface", {"interfaceAttachment": {"net_id": network["id"]}})
    assert resp.status_code == 200, resp.text
    attached = resp.json()["interfaceAttachment"]
    address = attached["fixed_ips"][0]["ip_address"]
    cloud.wait_report(server_id, last_line=f"nic eth1 mac={attached['mac_addr']} ip={address}/"
                      f"{network['subnet']['cidr'].split('/')[1]} gw={network['subnet']['gateway_ip']}")
    listed = cloud.get(f"/servers/{server_id}/os-interface").json()["interfaceAttachments"]
    assert {a["port_id"] for a in listed} == {first, attached["port_id"]}
    resp = cloud.delete(f"/servers/{server_id}/os-interface/{attached['port_id']}")
    assert resp.status_code == 202, resp.text
    cloud.wait_report(server_id, last_line="nic-removed eth1")
    assert [p["id"] for p in _neutron(cloud, "GET", f"/ports?device_id={server_id}")["ports"]] == [first]
    assert not Path(f"/sys/class/net/{tap_name(attached['port_id'])}").exists()


def test_the_stock_cli_creates_a_server_on_the_network_and_adds_and_removes_a_port(cloud, daemon, network, guests):
    created = _cli_json(daemon, "server", "create", "--image", "testguest", "--flavor", "42", "--network", "lab",
                        "--wait", "cli-vm")
    port = _port_of(cloud, created["id"])
    assert port["network_id"] == network["id"] and port["status"] == "ACTIVE"
    assert _master(tap_name(port["id"])) == bridge_name(network["id"])
    openstack_cli(daemon, "server", "delete", "--wait", "cli-vm")
    assert not Path(f"/sys/class/net/{tap_name(port['id'])}").exists()
    server_id = guests["b"]["server"]["id"]
    extra = _cli_json(daemon, "port", "create", "--network", "lab", "cli-port")
    openstack_cli(daemon, "server", "add", "port", server_id, extra["id"])
    cloud.wait_report(server_id, last_line=f"nic eth1 mac={extra['mac_address']} "
                      f"ip={extra['fixed_ips'][0]['ip_address']}/{network['subnet']['cidr'].split('/')[1]} "
                      f"gw={network['subnet']['gateway_ip']}")
    openstack_cli(daemon, "server", "remove", "port", server_id, extra["id"])
    kept = _cli_json(daemon, "port", "show", "cli-port")
    assert (kept["device_id"], kept["status"]) == ("", "DOWN")  # a given port is unbound, not deleted
    openstack_cli(daemon, "port", "delete", "cli-port")


def _cli_json(daemon, *args: str) -> dict:
    return json.loads(openstack_cli(daemon, *args, "-f", "json").stdout)


def _address(cloud: Cloud, guest: dict) -> str:
    return _port_of(cloud, guest["server"]["id"])["fixed_ips"][0]["ip_address"]


def _connects(cloud: Cloud, daemon, guest: dict, address: str, port: int) -> guest_channel.Answer:
    """The guest's `connect` (3 s connect timeout): rc 0 and the peer's answer when it got through."""
    return guest_channel.run(cloud, daemon, guest["server"], f"connect {address} {port}")


def _banner(guest: dict) -> str:
    """What the guest's `listen` answers on SERVED (its hostname from meta_data.json)."""
    return f"ncguest-banner host={guest['report'].value('hostname=')} port={SERVED}"


def _group_id(cloud: Cloud, name: str) -> str:
    (group,) = _neutron(cloud, "GET", f"/security-groups?name={name}&project_id={cloud.project_id}")[
        "security_groups"]
    return group["id"]


def test_a_security_group_blocks_then_allows_a_tcp_port_between_the_running_guests(cloud, daemon, guests):
    a, b = guests["a"], guests["b"]
    b_ip = _address(cloud, b)
    answer = guest_channel.run(cloud, daemon, b["server"], f"listen {SERVED} && listen {FILTERED}")
    assert answer.rc == 0, answer
    for port in (SERVED, FILTERED):  # both in the default group: members reach members
        assert _connects(cloud, daemon, a, b_ip, port).rc == 0
    web = _neutron(cloud, "POST", "/security-groups", {"security_group": {"name": "web"}}, 201)["security_group"]
    openstack_cli(daemon, "server", "add", "security", "group", b["server"]["id"], "web")
    resp = cloud.post(f"/servers/{b['server']['id']}/action", {"removeSecurityGroup": {"name": "default"}})
    assert resp.status_code == 202, resp.text
    assert _port_of(cloud, b["server"]["id"])["security_groups"] == [web["id"]]
    assert _connects(cloud, daemon, a, b_ip, SERVED).rc != 0  # a new group accepts nothing
    members = _group_id(cloud, "default")  # a is in it: the rules follow its members
    for protocol, ports in (("tcp", {"port_range_min": SERVED, "port_range_max": SERVED}), ("icmp", {})):
        _neutron(cloud, "POST", "/security-group-rules", {"security_group_rule": {
            "security_group_id": web["id"], "direction": "ingress", "protocol": protocol,
            "remote_group_id": members, **ports}}, 201)
    served = _connects(cloud, daemon, a, b_ip, SERVED)
    assert served.rc == 0 and served.out == [_banner(b)], served
    assert _connects(cloud, daemon, a, b_ip, FILTERED).rc != 0  # the rule names one port


def test_a_guest_of_another_project_on_the_shared_network_is_reached_only_by_its_groups_rule(cloud, daemon, network,
                                                                                              guests):
    """Issue 14 on real guests: the lab network shared with a second project, whose guest c boots on a port that
    project made with its own group (a user-supplied port keeps its groups). a (admin's default group) cannot reach
    c, c cannot reach b's served port (b lets in admin's default group only); a rule in c's group naming a's address
    lets a in. The network is unshared again once c and its port are gone."""
    _neutron(cloud, "PUT", f"/networks/{network['id']}", {"network": {"shared": True}})
    nodecompute_cli(daemon, "project", "create", "tenant-two")
    nodecompute_cli(daemon, "user", "create", "two-user", "--project", "tenant-two", "--role", "member",
                    "--password", "pw-two")
    two = Cloud(daemon, "two-user", "pw-two", "tenant-two")
    ours = _neutron(two, "POST", "/security-groups", {"security_group": {"name": "ours"}}, 201)["security_group"]
    port = _neutron(two, "POST", "/ports", {"port": {"network_id": network["id"], "name": "c-port",
                                                     "security_groups": [ours["id"]]}}, 201)["port"]
    c_id = two.create_server(name="net-c", imageRef=guests["a"]["server"]["image"]["id"], flavorRef="42",
                             networks=[{"port": port["id"]}])["server"]["id"]
    try:
        c = {"server": cloud.wait_status(c_id, "ACTIVE")}
        cloud.wait_report(c_id)
        c_ip = port["fixed_ips"][0]["ip_address"]
        assert _neutron(two, "GET", f"/ports/{port['id']}")["port"]["security_groups"] == [ours["id"]]
        assert guest_channel.run(cloud, daemon, c["server"], f"listen {SERVED}").rc == 0
        assert _connects(cloud, daemon, guests["a"], c_ip, SERVED).rc != 0  # c's group lets nobody in
        assert _connects(cloud, daemon, c, _address(cloud, guests["b"]), SERVED).rc != 0  # not admin's member
        _neutron(two, "POST", "/security-group-rules", {"security_group_rule": {
            "security_group_id": ours["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": SERVED,
            "port_range_max": SERVED, "remote_ip_prefix": f"{_address(cloud, guests['a'])}/32"}}, 201)
        reached = _connects(cloud, daemon, guests["a"], c_ip, SERVED)
        assert reached.rc == 0 and reached.out[0].startswith("ncguest-banner "), reached
    finally:
        assert two.delete(f"/servers/{c_id}").status_code == 204
        cloud.wait_gone(c_id)
    _neutron(two, "DELETE", f"/ports/{port['id']}", status=204)  # a given port outlives its server
    _neutron(cloud, "PUT", f"/networks/{network['id']}", {"network": {"shared": False}})


@pytest.fixture(scope="module")
def outside(daemon):
    """An "outside" namespace on the external network's bridge holding its .1, answering TCP connections on
    PEER_PORT with the address they came from."""
    (public,) = Cloud(daemon).http.get(f"{daemon.url}/networking/v2.0/networks?router:external=true",
                                       timeout=30).json()["networks"]
    standin = Standin(f"nco{secrets.token_hex(2)}", bridge_name(public["id"]), None,
                      f"{daemon.external[1]}/{daemon.external.prefixlen}", None)
    try:
        standin.serve_peers(seconds=600)
        yield {"standin": standin, "network": public}
    finally:
        standin.close()


@pytest.fixture(scope="module")
def router(cloud, network, outside) -> dict:
    """A router on the lab subnet with its gateway on the external network (the CLI's router steps are
    test_routers_cli.py's)."""
    made = _neutron(cloud, "POST", "/routers", {"router": {"name": "lab-router", "external_gateway_info": {
        "network_id": outside["network"]["id"]}}}, 201)["router"]
    _neutron(cloud, "PUT", f"/routers/{made['id']}/add_router_interface", {"subnet_id": network["subnet"]["id"]})
    return _neutron(cloud, "GET", f"/routers/{made['id']}")["router"]


def _from_outside(outside: dict, address: str, port: int) -> str:
    """What the outside namespace reads from address:port ("" when nothing answers within 2 s)."""
    done = outside["standin"].run("busybox", "nc", "-w", "2", address, str(port), check=False)
    return done.stdout.strip()


def test_the_guest_reaches_its_router_and_the_outside_and_is_reached_through_a_floating_ip(
        cloud, daemon, network, guests, outside, router):
    b, outside_ip = guests["b"], str(daemon.external[1])
    gateway_ip = router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
    assert guest_channel.run(cloud, daemon, b["server"], f"ping -c 1 -W 2 {network['subnet']['gateway_ip']}").rc == 0
    snat = _connects(cloud, daemon, b, outside_ip, PEER_PORT)
    assert snat.rc == 0 and snat.out == [gateway_ip], snat  # SNAT to the router's gateway address

    floating = _neutron(cloud, "POST", "/floatingips", {"floatingip": {
        "floating_network_id": outside["network"]["id"]}}, 201)["floatingip"]
    address = floating["floating_ip_address"]
    assert ipaddress.IPv4Address(address) in daemon.external and address != gateway_ip
    web = _group_id(cloud, "web")
    _neutron(cloud, "POST", "/security-group-rules", {"security_group_rule": {
        "security_group_id": web, "direction": "ingress", "protocol": "tcp", "port_range_min": SERVED,
        "port_range_max": SERVED, "remote_ip_prefix": f"{outside_ip}/32"}}, 201)
    assert _from_outside(outside, address, SERVED) == ""  # not associated yet: nothing answers
    openstack_cli(daemon, "server", "add", "floating", "ip", b["server"]["id"], address)
    assert _from_outside(outside, address, SERVED) == _banner(b)
    assert _from_outside(outside, address, FILTERED) == ""  # b's groups still decide what the FIP lets in
    snat = _connects(cloud, daemon, b, outside_ip, PEER_PORT)
    assert snat.rc == 0 and snat.out == [address], snat  # the guest's traffic now leaves from its floating IP
    shown = cloud.server(b["server"]["id"])["addresses"]["lab"]
    assert [(x["addr"], x["OS-EXT-IPS:type"]) for x in shown] == [(_address(cloud, b), "fixed"), (address, "floating")]

    _neutron(cloud, "PUT", f"/floatingips/{floating['id']}", {"floatingip": {"port_id": None}})
    assert _from_outside(outside, address, SERVED) == ""
    _neutron(cloud, "DELETE", f"/floatingips/{floating['id']}", status=204)


def test_the_stock_cli_boots_a_project_without_a_network_on_an_auto_allocated_one(cloud, daemon, guests, router):
    nodecompute_cli(daemon, "project", "create", "fresh")
    nodecompute_cli(daemon, "user", "create", "fresh-user", "--project", "fresh", "--role", "member",
                    "--password", "pw-fresh")
    created = _cli_json(daemon, "--os-project-name", "fresh", "--os-username", "fresh-user", "--os-password",
                        "pw-fresh", "server", "create", "--image", "testguest", "--flavor", "42", "--nic", "auto",
                        "--wait", "auto-vm")
    port = _port_of(cloud, created["id"])
    auto = _neutron(cloud, "GET", f"/networks/{port['network_id']}")["network"]
    fresh = cloud.server(created["id"])["tenant_id"]
    assert (auto["name"], auto["project_id"], port["status"]) == ("auto_allocated_network", fresh, "ACTIVE")
    assert fresh != cloud.project_id
    assert _master(tap_name(port["id"])) == bridge_name(auto["id"])
    assert cloud.delete(f"/servers/{created['id']}").status_code == 204
    cloud.wait_gone(created["id"])


def test_after_a_sigkill_and_a_restart_the_guests_still_reach_each_other_as_filtered(cloud, daemon, network,
                                                                                      guests):
    pid = running_pid(daemon.dhcp_dir(network["id"]) / "pid")
    daemon.stop(signal.SIGKILL)
    daemon.start()
    for guest in guests.values():
        server = cloud.wait_status(guest["server"]["id"], "ACTIVE")
        assert _master(tap_name(_port_of(cloud, server["id"])["id"])) == bridge_name(network["id"])
    assert running_pid(daemon.dhcp_dir(network["id"]) / "pid") == pid  # found again, not restarted
    b_ip = _address(cloud, guests["b"])
    answer = guest_channel.run(cloud, daemon, guests["a"]["server"], f"ping -c 1 -W 2 {b_ip}")
    assert answer.rc == 0, answer  # b's web group lets in ICMP from a's default group
    assert _connects(cloud, daemon, guests["a"], b_ip, SERVED).rc == 0  # the filtering holds: one port in
    assert _connects(cloud, daemon, guests["a"], b_ip, FILTERED).rc != 0


def test_deleting_the_servers_the_router_and_the_network_leaves_nothing(cloud, daemon, network, guests, router):
    _neutron(cloud, "PUT", f"/routers/{router['id']}/remove_router_interface", {"subnet_id": network["subnet"]["id"]})
    _neutron(cloud, "DELETE", f"/routers/{router['id']}", status=204)
    assert not os.path.exists(f"/run/netns/{daemon.network_prefix}-qrouter-{router['id']}")
    taps = [tap_name(_port_of(cloud, g["server"]["id"])["id"]) for g in guests.values()]
    for guest in guests.values():
        assert cloud.delete(f"/servers/{guest['server']['id']}").status_code == 204
    for guest in guests.values():
        cloud.wait_gone(guest["server"]["id"])
    assert [p["device_owner"] for p in _neutron(cloud, "GET", f"/ports?network_id={network['id']}")["ports"]] == [
        "network:dhcp"]
    assert not any(Path(f"/sys/class/net/{tap}").exists() for tap in taps)
    _neutron(cloud, "DELETE", f"/networks/{network['id']}", status=204)
    assert not Path(f"/sys/class/net/{bridge_name(network['id'])}").exists()
    assert not os.path.exists(f"/run/netns/{daemon.network_prefix}-qdhcp-{network['id']}")
    assert running_pid(daemon.dhcp_dir(network["id"]) / "pid") is None
    assert subprocess.run(["ip", "link", "show"], capture_output=True, text=True).stdout.count(
        bridge_name(network["id"])) == 0
