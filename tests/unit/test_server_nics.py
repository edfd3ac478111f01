"""A server's NICs as pure data: the domain's `type='ethernet'` interface on the port's tap, network_data.json from
the ports (behaviour.md 13.5) and the tagged NICs' device metadata."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlite_utils import Database

from nodecompute.compute.network_data import network_data, nic_devices
from nodecompute.db import migrations, server_nics as nics_db
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
    devices = nic_devices((_nic(tag="front", position=2, pci_slot=0x12), _nic(position=3)))
    assert [(d.type, d.bus, d.address, d.mac, d.tags) for d in devices] == [
        ("nic", "pci", "0000:00:12.0", "fa:16:3e:00:00:01", ("front",))]


def test_a_tagged_nic_takes_the_lowest_slot_its_servers_other_nics_leave_free():
    """Slots are chosen when a NIC is plugged and kept: attaching and detaching over time never walks a tagged NIC
    into the tagged volumes' 0x18-0x1f; a ninth tagged NIC at once is left unpinned (not in the device metadata)."""
    db = Database(memory=True)
    migrations.apply(db)

    def slots() -> dict[str, int | None]:
        rows = db.execute("SELECT port_id, pci_slot FROM server_interfaces WHERE server_uuid = 's'")
        return {port: slot for port, slot in rows}
    nics_db.add(db, "s", "p0", "a", True)
    nics_db.add(db, "s", "plain", None, True)
    nics_db.add(db, "s", "p1", "b", True)
    assert slots() == {"p0": 0x10, "plain": None, "p1": 0x11}
    for n in range(2, 12):  # churn: attach a new tagged NIC, detach the older one
        nics_db.add(db, "s", f"p{n}", "t", True)
        nics_db.remove(db, f"p{n - 1}")
    assert slots() == {"p0": 0x10, "plain": None, "p11": 0x11}
    nics_db.add(db, "other", "q0", "x", True)  # another server's NICs do not count
    assert db.execute("SELECT pci_slot FROM server_interfaces WHERE port_id = 'q0'").fetchone()[0] == 0x10
    for n in range(12, 18):
        nics_db.add(db, "s", f"p{n}", "t", True)
    assert sorted(s for s in slots().values() if s is not None) == list(range(0x10, 0x18))
    assert slots()["p17"] == 0x17
    nics_db.add(db, "s", "ninth", "t", True)
    assert slots()["ninth"] is None
    nics_db.add(db, "s", "p0", "a", True)  # plugged again (INSERT OR REPLACE): its own slot is free for it
    assert slots()["p0"] == 0x10
