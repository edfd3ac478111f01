"""Servers on a project network, proved by the test guest: its address by DHCP from the port the server got, the
network_data.json of its config drive, a second guest reached by ping, a NIC hot-plugged into the running guest
and unplugged again, the guests still connected after the daemon is SIGKILLed and restarted, and nothing left on the host (tap, port, bridge, namespace, dnsmasq) once the servers and the
network are deleted.

One daemon and two guests for the module (booted together, each with a config drive and the command channel);
the tests run in file order on them. Needs root and the host networking tools, like test_networks_cli.py.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from nodecompute.hostnet import bridge_name, tap_name
from nodecompute.hostnet.dnsmasq import running_pid
from tests.integration import guest_channel
from tests.integration.cloud import Cloud
from tests.integration.test_clients_foundation import openstack_cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cloud(daemon) -> Cloud:
    return Cloud(daemon)


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


@pytest.fixture(scope="module")
def network(cloud, daemon) -> dict:
    made = _neutron(cloud, "POST", "/networks", {"network": {"name": "lab"}}, 201)["network"]
    subnet = _neutron(cloud, "POST", "/subnets", {"subnet": {"network_id": made["id"], "ip_version": 4,
                                                             "cidr": str(daemon.subnet_range)}}, 201)["subnet"]
    return {**made, "subnet": subnet}


@pytest.fixture(scope="module")
def guests(cloud, network) -> dict[str, dict]:
    """Two guests on the network, booted at once: "a" and "b"."""
    image_id = cloud.import_guest(properties={"nodecompute_test_channel": "yes"})
    created = {name: cloud.create_server(name=f"net-{name}", imageRef=image_id, flavorRef="42", config_drive=True,
                                         networks=[{"uuid": network["id"]}])["server"]["id"]
               for name in ("a", "b")}
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


def test_guests_on_one_network_reach_each_other(cloud, daemon, guests):
    other = _port_of(cloud, guests["b"]["server"]["id"])["fixed_ips"][0]["ip_address"]
    answer = guest_channel.run(cloud, daemon, guests["a"]["server"], f"ping -c 1 -W 2 {other}")
    assert answer.rc == 0, answer


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


def test_after_a_sigkill_and_a_restart_the_guests_still_reach_each_other(cloud, daemon, network, guests):
    pid = running_pid(daemon.dhcp_dir(network["id"]) / "pid")
    daemon.stop(signal.SIGKILL)
    daemon.start()
    for guest in guests.values():
        server = cloud.wait_status(guest["server"]["id"], "ACTIVE")
        assert _master(tap_name(_port_of(cloud, server["id"])["id"])) == bridge_name(network["id"])
    assert running_pid(daemon.dhcp_dir(network["id"]) / "pid") == pid  # found again, not restarted
    other = _port_of(cloud, guests["a"]["server"]["id"])["fixed_ips"][0]["ip_address"]
    answer = guest_channel.run(cloud, daemon, guests["b"]["server"], f"ping -c 1 -W 2 {other}")
    assert answer.rc == 0, answer


def test_deleting_the_servers_and_the_network_leaves_nothing(cloud, daemon, network, guests):
    taps = [tap_name(_port_of(cloud, g["server"]["id"])["id"]) for g in guests.values()]
    for guest in guests.values():
        assert cloud.delete(f"/servers/{guest['server']['id']}").status_code == 204
    for guest in guests.values():
        cloud.wait_gone(guest["server"]["id"])
    assert [p["device_owner"] for p in _neutron(cloud, "GET", "/ports")["ports"]] == ["network:dhcp"]
    assert not any(Path(f"/sys/class/net/{tap}").exists() for tap in taps)
    _neutron(cloud, "DELETE", f"/networks/{network['id']}", status=204)
    assert not Path(f"/sys/class/net/{bridge_name(network['id'])}").exists()
    assert not os.path.exists(f"/run/netns/{daemon.network_prefix}-qdhcp-{network['id']}")
    assert running_pid(daemon.dhcp_dir(network["id"]) / "pid") is None
    assert subprocess.run(["ip", "link", "show"], capture_output=True, text=True).stdout.count(
        bridge_name(network["id"])) == 0
