"""network_data.json of a two-NIC server, as compute/network_data.py builds it from the ports, turned into network
configuration by cloud-init's own converter (Debian's cloud-init, run in the system python, as
test_configdrive_readers.py does): a DHCP NIC and a static one with its routes and DNS, matched to the guest's
interfaces by MAC."""
from __future__ import annotations

import json
import subprocess

import pytest

from nodecompute.compute.network_data import network_data
from nodecompute.domain.network_models import HostRoute, Subnet
from nodecompute.domain.server_models import ServerNic

pytestmark = pytest.mark.integration

SYSTEM_PYTHON = "/usr/bin/python3"
CONVERT = r"""
import json, sys
from cloudinit.sources.helpers.openstack import convert_net_json
print(json.dumps(convert_net_json(json.loads(sys.argv[1]), known_macs=json.loads(sys.argv[2]))))
"""
DHCP_MAC, STATIC_MAC = "fa:16:3e:00:00:0a", "fa:16:3e:00:00:0b"


def test_cloud_init_configures_both_nics():
    dhcp = Subnet(id="s1", project_id="p", network_id="n1", cidr="198.18.40.0/24", gateway_ip="198.18.40.1")
    static = Subnet(id="s2", project_id="p", network_id="n2", cidr="198.18.41.0/24", gateway_ip="198.18.41.1",
                    enable_dhcp=False, dns_nameservers=("198.18.41.53",),
                    host_routes=(HostRoute("198.19.0.0/16", "198.18.41.254"),))
    nics = (ServerNic(port_id="3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", network_id="n1", network_name="a",
                      mac=DHCP_MAC, fixed_ips=(("s1", "198.18.40.7"),), mtu=1500),
            ServerNic(port_id="8b2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", network_id="n2", network_name="b",
                      mac=STATIC_MAC, fixed_ips=(("s2", "198.18.41.9"),), mtu=1450, position=1))
    data = network_data(nics, {"s1": dhcp, "s2": static})
    out = subprocess.run([SYSTEM_PYTHON, "-c", CONVERT, json.dumps(data),
                          json.dumps({DHCP_MAC: "eth0", STATIC_MAC: "eth1"})],
                         capture_output=True, text=True, timeout=60, check=True)
    config = json.loads(out.stdout)
    physical = {c["name"]: c for c in config["config"] if c["type"] == "physical"}
    assert {name: c["mac_address"] for name, c in physical.items()} == {"eth0": DHCP_MAC, "eth1": STATIC_MAC}
    assert [s["type"] for s in physical["eth0"]["subnets"]] == ["dhcp4"]
    (subnet,) = physical["eth1"]["subnets"]
    assert (subnet["type"], subnet["address"], subnet["netmask"]) == ("static", "198.18.41.9", "255.255.255.0")
    assert physical["eth1"]["mtu"] == 1450
    assert {(r["network"], r["gateway"]) for r in subnet["routes"]} == {("0.0.0.0", "198.18.41.1"),
                                                                       ("198.19.0.0", "198.18.41.254")}
    nameservers = [c for c in config["config"] if c["type"] == "nameserver"]
    assert [c["address"] for c in nameservers] == ["198.18.41.53"]
