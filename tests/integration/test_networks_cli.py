"""The stock `openstack` CLI against a real daemon's network face (Keystone catalog entry `network`): network,
subnet and port create/list/show/delete and `quota show`, with the host side checked as the CLI goes: the bridge
after `network create`, the DHCP namespace and dnsmasq (serving the port's MAC and address) after `subnet create`
and `port create`, and nothing left after `network delete`."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from nodecompute.hostnet import bridge_name
from nodecompute.hostnet.dnsmasq import running_pid
from tests.integration.test_clients_foundation import openstack_cli

pytestmark = pytest.mark.integration


def _json(daemon, *args: str):
    return json.loads(openstack_cli(daemon, *args, "-f", "json").stdout)


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


def _namespace_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def test_network_subnet_port_and_quota_with_the_cli(daemon):
    cidr = str(daemon.subnet_range)
    network = _json(daemon, "network", "create", "clinet")
    assert network["status"] == "ACTIVE" and network["mtu"] == 1500 and network["router:external"] is False
    bridge = bridge_name(network["id"])
    assert _link_exists(bridge)

    subnet = _json(daemon, "subnet", "create", "--network", "clinet", "--subnet-range", cidr,
                   "--dns-nameserver", "198.18.255.53", "clisub")
    assert subnet["cidr"] == cidr and subnet["network_id"] == network["id"] and subnet["enable_dhcp"] is True
    first = str(daemon.subnet_range[1])
    assert subnet["gateway_ip"] == first
    namespace = f"{daemon.network_prefix}-qdhcp-{network['id']}"
    dhcp_dir = daemon.dhcp_dir(network["id"])
    assert _namespace_exists(namespace) and running_pid(dhcp_dir / "pid") is not None

    port = _json(daemon, "port", "create", "--network", "clinet", "--fixed-ip",
                 f"subnet=clisub,ip-address={daemon.subnet_range[20]}", "cliport")
    assert port["mac_address"].startswith("fa:16:3e:") and port["status"] == "DOWN"
    assert f"{port['mac_address']},{daemon.subnet_range[20]}," in (dhcp_dir / "hosts").read_text()

    networks = _json(daemon, "network", "list")
    assert {"ID": network["id"], "Name": "clinet", "Subnets": [subnet["id"]]} in networks
    ports = {p["Name"]: p for p in _json(daemon, "port", "list", "--network", "clinet")}
    assert set(ports) == {"cliport", ""}  # and the network's DHCP port
    assert ports["cliport"]["Fixed IP Addresses"] == [{"subnet_id": subnet["id"],
                                                       "ip_address": str(daemon.subnet_range[20])}]
    assert _json(daemon, "subnet", "show", "clisub")["dns_nameservers"] == ["198.18.255.53"]

    limits = {row["Resource"]: row["Limit"] for row in _json(daemon, "quota", "show")}
    assert {name: limits[name] for name in ("networks", "subnets", "ports", "routers", "floating_ips",
                                            "security_groups", "security_group_rules")} == {
        "networks": 100, "subnets": 100, "ports": 500, "routers": 10, "floating_ips": 50, "security_groups": 10,
        "security_group_rules": 100}  # Neutron's (Nova's security_group_rules would be 20)
    openstack_cli(daemon, "quota", "set", "--networks", "7", "admin")
    usage = {row["Resource"]: row for row in _json(daemon, "quota", "show", "--usage")}
    assert (usage["networks"]["Limit"], usage["networks"]["In Use"]) == (7, 1)
    assert (usage["ports"]["In Use"], usage["subnets"]["In Use"]) == (2, 1)  # the DHCP port counts

    refused = openstack_cli(daemon, "network", "delete", "clinet", check=False)
    assert refused.returncode != 0 and "ports still in use" in refused.stderr
    openstack_cli(daemon, "port", "delete", "cliport")
    openstack_cli(daemon, "network", "delete", "clinet")
    assert not _link_exists(bridge) and not _namespace_exists(namespace) and not dhcp_dir.exists()
    assert _json(daemon, "network", "list") == [] and _json(daemon, "port", "list") == []


def test_security_groups_and_rules_with_the_cli(daemon):
    group = _json(daemon, "security", "group", "create", "--description", "web servers", "cliweb")
    assert (group["name"], group["description"]) == ("cliweb", "web servers")
    assert sorted((r["direction"], r["ethertype"]) for r in group["rules"]) == [("egress", "IPv4"),
                                                                                ("egress", "IPv6")]
    rule = _json(daemon, "security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "8080:8081",
                 "--remote-ip", "198.18.0.0/16", "cliweb")
    assert (rule["direction"], rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["remote_ip_prefix"], rule["security_group_id"]) == ("ingress", "tcp", 8080, 8081, "198.18.0.0/16",
                                                                     group["id"])
    listed = {row["Name"]: row for row in _json(daemon, "security", "group", "list")}
    assert {"cliweb", "default"} <= set(listed)
    default_rules = _json(daemon, "security", "group", "rule", "list", "default")
    assert len(default_rules) == 4 and {r["Remote Security Group"] for r in default_rules} == {
        None, listed["default"]["ID"]}
    openstack_cli(daemon, "security", "group", "rule", "delete", rule["id"])
    openstack_cli(daemon, "security", "group", "delete", "cliweb", "default")  # an admin may delete the default
    again = {row["Name"]: row["ID"] for row in _json(daemon, "security", "group", "list")}
    assert "cliweb" not in again and again["default"] != listed["default"]["ID"]  # made again on first use
