"""A server's NICs as pure data: the domain's `type='ethernet'` interface on the port's tap, network_data.json from
the ports (behaviour.md 13.5) and the tagged NICs' device metadata."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from nodecompute.compute.network_data import network_data, nic_devices
from nodecompute.domain.network_models import HostRoute, Subnet
from nodecompute.domain.server_models import ServerNic
from nodecompute.virt.domain_xml import InterfaceSpec, interface_macs, interface_xml

PORT = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
NET = "9a8f1b1e-0000-4000-8000-000000000000"


def _nic(**kw) -> ServerNic:
    values = {"port_id": PORT, "network_id": NET, "network_name": "lab", "mac": "fa:16:3e:00:00:01",
              "fixed_ips": (("s1", "198.18.3.5"),), "mtu": 1450}
    return ServerNic(**{**values, **kw})


def test_an_interface_is_an_ethernet_nic_on_the_tap_with_the_ports_mac():
    element = ET.fromstring(interface_xml(InterfaceSpec(mac="fa:16:3e:00:00:01", tap="tap3f1c2d4e-5a", mtu=1450,
                                                        pci_slot=0x11)))
    assert element.get("type") == "ethernet"
    assert element.find("mac").get("address") == "fa:16:3e:00:00:01"
    assert element.find("target").attrib == {"dev": "tap3f1c2d4e-5a", "managed": "no"}
    assert element.find("model").get("type") == "virtio" and element.find("mtu").get("size") == "1450"
    assert element.find("address").get("slot") == "0x11"
    domain = f"<domain><devices>{interface_xml(InterfaceSpec(mac='FA:16:3E:00:00:02', tap='t'))}</devices></domain>"
    assert set(interface_macs(domain)) == {"fa:16:3e:00:00:02"}


def test_the_tap_is_named_as_nova_names_it():
    assert _nic().tap == "tap3f1c2d4e-5a" and len(_nic().tap) <= 15


def test_no_nic_is_an_empty_document():
    assert network_data((), {}) == {}


def test_a_static_subnet_gives_address_routes_and_dns():
    subnet = Subnet(id="s1", project_id="p", network_id=NET, cidr="198.18.3.0/24", gateway_ip="198.18.3.1",
                    enable_dhcp=False, dns_nameservers=("198.18.3.53",),
                    host_routes=(HostRoute("198.19.0.0/16", "198.18.3.254"),))
    data = network_data((_nic(),), {"s1": subnet})
    assert data["links"] == [{"id": "tap3f1c2d4e-5a", "vif_id": PORT, "type": "bridge", "mtu": 1450,
                              "ethernet_mac_address": "fa:16:3e:00:00:01"}]
    assert data["networks"] == [{
        "id": "network0", "type": "ipv4", "link": "tap3f1c2d4e-5a", "network_id": NET, "ip_address": "198.18.3.5",
        "netmask": "255.255.255.0",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.18.3.1"},
                   {"network": "198.19.0.0", "netmask": "255.255.0.0", "gateway": "198.18.3.254"}],
        "services": [{"type": "dns", "address": "198.18.3.53"}]}]
    assert data["services"] == [{"type": "dns", "address": "198.18.3.53"}]


def test_a_nic_without_an_address_has_a_link_and_no_network():
    data = network_data((_nic(fixed_ips=()),), {})
    assert len(data["links"]) == 1 and data["networks"] == [] and data["services"] == []


def test_only_tagged_nics_are_devices_at_their_pinned_slot():
    devices = nic_devices((_nic(tag="front", position=2), _nic(position=3)))
    assert [(d.type, d.bus, d.address, d.mac, d.tags) for d in devices] == [
        ("nic", "pci", "0000:00:12.0", "fa:16:3e:00:00:01", ("front",))]
