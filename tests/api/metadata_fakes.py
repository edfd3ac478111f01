"""Fakes for the metadata service tests: two instances on two networks, a lookup by (namespace, source address),
an in-memory password store, and an origin seam (aiohttp's test client has no namespaces)."""
from __future__ import annotations

import asyncio

from nodecompute.compute.server_passwords import AlreadySet
from nodecompute.compute.metadata_documents import DeviceMetadata, DriveMetadata, InjectedFile

UUID_A = "0d2b4f3c-5e6a-4b7c-8d9e-0f1a2b3c4d5e"
UUID_B = "b0b0b0b0-1111-4222-8333-444455556666"
MAC_A = "fa:16:3e:12:34:56"
NS_A, NS_B = "qdhcp-net-a", "qrouter-net-b"
IP_A, IP_B, IP_C = "10.0.0.5", "192.168.7.9", "192.168.7.10"
NETWORK_DATA_A = {
    "links": [{"id": "tap0d2b4f3c-5e", "ethernet_mac_address": MAC_A, "type": "bridge", "mtu": None,
               "vif_id": "7c0a8a4e-9d1b-4e2f-a3b4-c5d6e7f80910"}],
    "networks": [{"id": "network0", "link": "tap0d2b4f3c-5e", "network_id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
                  "type": "ipv4_dhcp"}],
    "services": [{"type": "dns", "address": "192.0.2.53"}],
}
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9wcyBrZXk ops@example"


def instance_a() -> DriveMetadata:
    """Everything set: keys, files, user data, admin_pass, network and vendor data, a tagged NIC, two groups."""
    return DriveMetadata(
        uuid=UUID_A, name="Web Server 01", hostname="web-server-01", launch_index=0, availability_zone="nova",
        project_id="a1b2c3d4e5f6", reservation_id="r-xk2l9m3n", ec2_id=7, flavor_name="m1.tiny",
        image_id="155d900f-4e14-4e4c-a73d-069cbf4541e6", meta={"dsmode": "net", "role": "web"},
        public_keys={"ops": KEY_A},
        files=(InjectedFile("/etc/banner.txt", b"hello\n"), InjectedFile("/opt/app/blob.bin", bytes(range(256)))),
        user_data=b"#cloud-config\nruncmd:\n  - [touch, /tmp/ok]\n", admin_pass="Adm1nPa55",
        network_data=NETWORK_DATA_A, vendor_data={"site": "lab"}, fixed_ipv4=IP_A, floating_ipv4="203.0.113.9",
        security_groups=("default", "web"), ephemeral_devices=("/dev/vdb",),
        devices=(DeviceMetadata(type="nic", bus="pci", address="0000:00:03.0", mac=MAC_A, tags=("mgmt",)),))


def instance_b() -> DriveMetadata:
    """Another tenant's server, on another network: nothing of it may ever reach A."""
    return DriveMetadata(
        uuid=UUID_B, name="secret-b", hostname="secret-b", launch_index=1, availability_zone="zone-b",
        project_id="bbbbproject", reservation_id="r-bbbbbbbb", ec2_id=0xB0B, flavor_name="m1.b",
        image_id="", meta={"secret": "b-meta-value"}, public_keys={"bkey": "ssh-rsa AAAAB3Nza b-key"},
        files=(InjectedFile("/etc/b-secret", b"b-file-contents"),), user_data=b"b-user-data-secret",
        admin_pass="b-admin-pass", network_data={}, vendor_data={"b": "vendor"}, fixed_ipv4=IP_B)


def instance_c() -> DriveMetadata:
    """The bare minimum: booted from a volume, no keys, files, user data or network data, no fixed IPv4 known."""
    return DriveMetadata(
        uuid="c0c0c0c0-2222-4333-8444-555566667777", name="bare", hostname="bare", launch_index=0,
        availability_zone="nova", project_id="bbbbproject", reservation_id="r-cccccccc", ec2_id=12,
        flavor_name="m1.c", image_id="")


B_MARKERS = (UUID_B, "secret-b", "b-meta-value", "b-key", "b-file-contents", "b-user-data-secret", "b-admin-pass",
             "bbbbproject", "r-bbbbbbbb", "i-00000b0b", "zone-b", IP_B, "Adm1nPa55")  # and A's own admin_pass


class FakeLookup:
    def __init__(self, instances: dict[tuple[str, str], DriveMetadata]) -> None:
        self.instances = instances
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, namespace: str, source_ip: str) -> DriveMetadata | None:
        self.calls.append((namespace, source_ip))
        return self.instances.get((namespace, source_ip))


class FakePasswords:
    """The PasswordStore contract in memory: set_once is atomic (one lock)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lock = asyncio.Lock()

    async def get(self, server_id: str) -> str | None:
        return self.values.get(server_id)

    async def set_once(self, server_id: str, value: str) -> None:
        async with self.lock:
            if self.values.get(server_id):
                raise AlreadySet(server_id)
            self.values[server_id] = value


class FixedOrigin:
    """The test seam standing in for socket_origin: every request comes from `current` (namespace, source)."""

    def __init__(self, namespace: str | None, source: str | None) -> None:
        self.current = (namespace, source)

    def __call__(self, request) -> tuple[str | None, str | None]:
        return self.current
