"""No request body, well-formed or not, gets a 5xx (behaviour.md section 1): every JSON-accepting route of the route
tables (compute, identity, Glance, Neutron, block storage) is walked with a valid sample body in which each value
in turn is replaced by a value of the wrong type, an integer far beyond 64 bits, a float overflow, deep nesting; and
with whole bodies that are deeply nested, not objects, or not JSON. Refusals keep each service's fault shape.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from nodecompute.compute import server_interfaces

from nodecompute.api import glance
from nodecompute.api.keys import block_storage_key, host_services_key, identity_key, images_key
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.volume_models import VolumeCreate
from tests.api.helpers import Api, assert_fault, assert_keystone_error
from tests.api.test_servers_api import (  # noqa: F401 (api, servers_api are fixtures)
    _insert, _project_id, _wait_idle, api, servers_api)

DEEP = object()  # stands for arrays nested DEPTH levels deep (past Python's recursion limit), written by _encode
DEPTH = 20_000  # 40 KB: within the 112 KiB body limit, so the parser sees it
MID = object()  # nested MID_DEPTH levels: parses, but deeper than any body needs
MID_DEPTH = 500
WRONG: list[Any] = [None, True, -1, 2**70, -(10**40), 1.5, "", "x" * 300, "\ud800", [], [1], {}, {"a": None}, DEEP, MID]
RAW_BODIES = [b"[" * DEPTH, b'{"a":' * (DEPTH // 2) + b"1" + b"}" * (DEPTH // 2), b"[1, 2", b"\xff\xfe",
              b'"\xed\xa0\x80"', b'{"a": "\xed\xa0\x80"}', b"", b"NaN", b'{"a": Infinity}', b"1e999",
              str(2**70).encode(), b"9" * 5000]
NOT_JSON_ROUTES = {("PUT", "/image/v2/images/{image_id}/file")}  # image data: octet-stream

SERVER = {"name": "vm", "imageRef": "IMAGE", "flavorRef": "42", "metadata": {"k": "v"}, "min_count": 1,
          "max_count": 1, "networks": "none", "personality": [{"path": "/p", "contents": "aGk="}],
          "block_device_mapping_v2": [{"boot_index": 0, "uuid": "IMAGE", "source_type": "image",
                                       "destination_type": "local", "delete_on_termination": True,
                                       "volume_size": 1}],
          "security_groups": [{"name": "default"}], "config_drive": True, "user_data": "aGk=",
          "accessIPv4": "1.2.3.4", "OS-DCF:diskConfig": "AUTO", "availability_zone": "nova", "adminPass": "p",
          "return_reservation_id": False}
# Booting from the image mapping alone, imageRef empty (what a client sends for --block-device source=image).
SERVER_BDM_ONLY = {"name": "vm", "imageRef": "", "flavorRef": "42", "networks": [], "block_device_mapping_v2": [
    {"boot_index": "0", "uuid": "IMAGE", "source_type": "image", "destination_type": "local"}]}
V3_PASSWORD = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"id": "default", "name": "Default"}, "password": "admin-secret"}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
V3_TOKEN = {"auth": {"identity": {"methods": ["token"], "token": {"id": "TOKEN"}},
                     "scope": {"project": {"id": "PROJECT"}}}}
V2 = {"auth": {"passwordCredentials": {"username": "admin", "password": "admin-secret"}, "tenantName": "admin"}}
V2_TOKEN = {"auth": {"token": {"id": "TOKEN"}, "tenantId": "PROJECT"}}
QUOTAS = {"instances": 20, "cores": 20, "ram": 51200, "metadata_items": 128, "key_pairs": 100}

# (method, path) -> sample bodies; the compute paths are relative to /compute/v2.1.
SAMPLES: dict[tuple[str, str], list[Any]] = {
    ("PUT", "/os-quota-sets/{tenant_id}"): [{"quota_set": {**QUOTAS, "force": True}}],
    ("PUT", "/os-quota-class-sets/{class_name}"): [{"quota_class_set": QUOTAS}],
    ("POST", "/flavors"): [{"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "id": "fz",
                                       "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 0,
                                       "os-flavor-access:is_public": False}},
                           {"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1, "rxtx_factor": 1.0}}],  # < 2.102
    ("PUT", "/flavors/{flavor_id}"): [{"flavor": {"description": "d"}}],
    ("POST", "/flavors/{flavor_id}/action"): [{"addTenantAccess": {"tenant": "PROJECT"}},
                                              {"removeTenantAccess": {"tenant": "PROJECT"}}],
    ("POST", "/flavors/{flavor_id}/os-extra_specs"): [{"extra_specs": {"hw:cpu_policy": "shared", "n": 1}}],
    ("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}"): [{"k": "v"}],
    ("POST", "/os-keypairs"): [{"keypair": {"name": "kp", "type": "ssh", "public_key": "ssh-ed25519 AAAA"}}],
    ("POST", "/images/{image_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/images/{image_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/images/{image_id}/metadata/{key}"): [{"meta": {"k": "v"}}],
    ("POST", "/servers"): [{"server": SERVER, "os:scheduler_hints": {"group": "g"}}, {"server": SERVER_BDM_ONLY}],
    ("POST", "/os-volumes_boot"): [{"server": SERVER_BDM_ONLY}],
    ("PUT", "/servers/{server_id}"): [{"server": {"name": "n", "accessIPv4": "1.2.3.4",
                                                  "OS-DCF:diskConfig": "AUTO"}}],
    ("POST", "/servers/{server_id}/action"): [{"reboot": {"type": "SOFT"}}, {"os-stop": None},
                                              {"os-start": None}, {"os-getConsoleOutput": {"length": 5}},
                                              {"os-getVNCConsole": {"type": "novnc"}},
                                              {"os-getSerialConsole": {"type": "serial"}},
                                              {"os-resetState": {"state": "error"}}, {"injectNetworkInfo": None},
                                              {"resetNetwork": None}, {"migrate": {"host": "h"}},
                                              {"os-migrateLive": {"host": None, "block_migration": "auto",
                                                                  "disk_over_commit": False, "force": False}},
                                              {"evacuate": {"host": "h", "onSharedStorage": "False",
                                                            "adminPass": "p", "force": False}},
                                              {"createImage": {"name": "i", "metadata": {"k": "v"}}},
                                              {"createBackup": {"name": "b", "backup_type": "daily",
                                                                "rotation": 1}},
                                              {"changePassword": {"adminPass": "new-secret"}},
                                              {"resize": {"flavorRef": "1", "OS-DCF:diskConfig": "AUTO"}},
                                              {"confirmResize": None}, {"revertResize": None},
                                              {"shelve": None}, {"shelveOffload": None}, {"unshelve": None}],
    ("POST", "/servers/{server_id}/remote-consoles"): [{"remote_console": {"protocol": "vnc", "type": "novnc"}}],
    ("PUT", "/servers/{server_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("POST", "/os-server-groups"): [{"server_group": {"name": "g", "policies": ["affinity"]}}],
    ("PUT", "/os-services/enable"): [{"host": "h", "binary": "nova-compute"}],
    ("PUT", "/os-services/disable"): [{"host": "h", "binary": "nova-compute"}],
    ("PUT", "/os-services/disable-log-reason"): [{"host": "h", "binary": "nova-compute", "disabled_reason": "r"}],
    ("PUT", "/os-services/force-down"): [{"host": "h", "binary": "nova-compute", "forced_down": True}],
    ("PUT", "/os-services/{service_id}"): [{"status": "disabled", "disabled_reason": "r", "forced_down": False}],
    ("PUT", "/os-hosts/{host_name}"): [{"status": "enable", "maintenance_mode": "disable"}],
    ("POST", "/servers/{server_id}/migrations/{migration_id}/action"): [{"force_complete": None}],
    ("POST", "/servers/{server_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/servers/{server_id}/metadata/{key}"): [{"meta": {"k": "v"}}],
    ("POST", "/servers/{server_id}/os-volume_attachments"): [{"volumeAttachment": {"volumeId": "VOLUME",
                                                                                    "device": "/dev/vdb"}}],
    ("PUT", "/servers/{server_id}/os-volume_attachments/{volume_id}"): [{"volumeAttachment": {
        "volumeId": "VOLUME", "delete_on_termination": True}}],
    ("PUT", "/servers/{server_id}/tags"): [{"tags": ["a", "b"]}],
    ("PUT", "/servers/{server_id}/tags/{tag}"): [None],
    ("POST", "/servers/{server_id}/os-interface"): [{"interfaceAttachment": {
        "net_id": "6a1a5c4e-0000-4000-8000-000000000000", "fixed_ips": [{"ip_address": "198.18.200.60"}]}}],
    ("POST", "/identity/v3/auth/tokens"): [V3_PASSWORD, V3_TOKEN],
    ("POST", "/identity/v2.0/tokens"): [V2, V2_TOKEN],
    ("POST", "/image/v2/images"): [{"name": "i", "disk_format": "raw", "container_format": "bare",
                                    "visibility": "private", "min_disk": 1, "min_ram": 1, "tags": ["t"],
                                    "protected": False, "prop": "v"}],
    ("PATCH", "/image/v2/images/{image_id}"): [[{"op": "replace", "path": "/name", "value": "n"},
                                                {"op": "add", "path": "/min_ram", "value": 1},
                                                {"op": "add", "path": "/prop", "value": "v"},
                                                {"op": "remove", "path": "/prop2"}]],
    ("POST", "/image/v2/images/{image_id}/members"): [{"member": "{member_id}"}],
    ("PUT", "/image/v2/images/{image_id}/members/{member_id}"): [{"status": "accepted"}],
    ("POST", "/networking/v2.0/networks"): [{"network": {"name": "n", "description": "d", "admin_state_up": True,
                                                         "shared": False, "mtu": 1400, "port_security_enabled": True,
                                                         "router:external": False, "project_id": "PROJECT"}}],
    ("PUT", "/networking/v2.0/networks/{network_id}"): [{"network": {"name": "n", "admin_state_up": True,
                                                                     "shared": True, "mtu": 1450}}],
    ("POST", "/networking/v2.0/subnets"): [{"subnet": {
        "network_id": "NETWORK", "cidr": "198.18.201.0/24", "ip_version": 4, "name": "s", "gateway_ip": "198.18.201.1",
        "allocation_pools": [{"start": "198.18.201.10", "end": "198.18.201.20"}], "enable_dhcp": True,
        "dns_nameservers": ["198.18.255.1"], "host_routes": [{"destination": "198.19.0.0/24",
                                                              "nexthop": "198.18.201.254"}]}}],
    ("PUT", "/networking/v2.0/subnets/{subnet_id}"): [{"subnet": {
        "name": "s", "gateway_ip": "198.18.200.1", "enable_dhcp": True, "dns_nameservers": ["198.18.255.1"],
        "allocation_pools": [{"start": "198.18.200.100", "end": "198.18.200.120"}],
        "host_routes": [{"destination": "198.19.0.0/24", "nexthop": "198.18.200.254"}]}}],
    ("POST", "/networking/v2.0/ports"): [{"port": {
        "network_id": "NETWORK", "name": "p", "mac_address": "fa:16:3e:00:00:99", "admin_state_up": True,
        "fixed_ips": [{"subnet_id": "SUBNET", "ip_address": "198.18.200.50"}], "device_id": "d",
        "device_owner": "compute:nova", "port_security_enabled": True, "security_groups": ["GROUP"],
        "binding:host_id": "h", "binding:vnic_type": "normal", "binding:profile": {}}}],
    ("PUT", "/networking/v2.0/ports/{port_id}"): [{"port": {
        "name": "p", "fixed_ips": [{"subnet_id": "SUBNET"}], "device_id": "d", "admin_state_up": False,
        "security_groups": ["GROUP"], "mac_address": "fa:16:3e:00:00:98"}}],
    ("POST", "/networking/v2.0/security-groups"): [{"security_group": {"name": "g", "description": "d",
                                                                       "project_id": "PROJECT"}}],
    ("PUT", "/networking/v2.0/security-groups/{security_group_id}"): [{"security_group": {"name": "g2",
                                                                                          "description": "d2"}}],
    ("POST", "/networking/v2.0/security-group-rules"): [{"security_group_rule": {
        "security_group_id": "USERGROUP", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
        "port_range_min": 22, "port_range_max": 23, "remote_ip_prefix": "198.18.0.0/16", "description": "d"}},
        {"security_group_rule": {"security_group_id": "USERGROUP", "direction": "egress", "protocol": "icmp",
                                 "port_range_min": 8, "port_range_max": 0, "remote_group_id": "GROUP"}}],
    ("POST", "/os-security-groups"): [{"security_group": {"name": "g", "description": "d"}}],
    ("PUT", "/os-security-groups/{security_group_id}"): [{"security_group": {"name": "g3", "description": "d3"}}],
    ("POST", "/os-security-group-rules"): [
        {"security_group_rule": {"parent_group_id": "USERGROUP", "ip_protocol": "tcp", "from_port": 80,
                                 "to_port": 81, "cidr": "198.18.0.0/24"}},
        {"security_group_rule": {"parent_group_id": "USERGROUP", "ip_protocol": "icmp", "from_port": -1,
                                 "to_port": -1, "group_id": "GROUP"}}],
    ("POST", "/os-security-group-default-rules"): [{"security_group_default_rule": {
        "ip_protocol": "udp", "from_port": 53, "to_port": 53, "cidr": "198.18.0.0/16"}}],
    ("PUT", "/networking/v2.0/quotas/{project_id}"): [{"quota": {"network": 50, "subnet": 50, "port": 100,
                                                                 "force": True}}],
    ("POST", "/os-volumes"): [{"volume": {"size": 1, "display_name": "n", "display_description": "d",
                                          "volume_type": "__DEFAULT__", "metadata": {"k": "v"},
                                          "availability_zone": "nova", "snapshot_id": "SNAPSHOT"}}],
    ("POST", "/os-snapshots"): [{"snapshot": {"volume_id": "VOLUME", "force": True, "display_name": "n",
                                              "display_description": "d"}}],
    ("POST", "/volume/v3/types"): [{"volume_type": {"name": "t", "description": "d", "extra_specs": {"k": "v"},
                                                    "os-volume-type-access:is_public": True}}],
    ("PUT", "/volume/v3/types/{type_id}"): [{"volume_type": {"name": "t2", "description": "d", "is_public": True}}],
    ("POST", "/volume/v3/types/{type_id}/extra_specs"): [{"extra_specs": {"k": "v", "n": None}}],
    ("PUT", "/volume/v3/types/{type_id}/extra_specs/{key}"): [{"k": "v"}],
    ("POST", "/volume/v3/volumes"): [{"volume": {"size": 1, "name": "n", "description": "d",
                                                 "volume_type": "__DEFAULT__", "availability_zone": "nova",
                                                 "metadata": {"k": "v"}, "snapshot_id": "SNAPSHOT",
                                                 "imageRef": "IMAGE", "source_volid": "VOLUME",
                                                 "multiattach": False},
                                      "OS-SCH-HNT:scheduler_hints": {"same_host": []}}],
    ("PUT", "/volume/v3/volumes/{volume_id}"): [{"volume": {"name": "n", "description": "d",
                                                            "metadata": {"k": "v"}}}],
    ("POST", "/volume/v3/volumes/{volume_id}/action"): [
        {"os-extend": {"new_size": 2}}, {"os-set_bootable": {"bootable": True}},
        {"os-volume_upload_image": {"image_name": "i", "force": False, "disk_format": "qcow2",
                                    "container_format": "bare"}}],  # qcow2: a raw 1 GiB image is slow to hash
    ("POST", "/volume/v3/volumes/{volume_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/volume/v3/volumes/{volume_id}/metadata"): [{"metadata": {"k": "v"}}],
    ("PUT", "/volume/v3/volumes/{volume_id}/metadata/{key}"): [{"meta": {"k": "v"}}],
    ("POST", "/volume/v3/snapshots"): [{"snapshot": {"volume_id": "VOLUME", "name": "n", "description": "d",
                                                     "force": True, "metadata": {"k": "v"}}}],
    ("PUT", "/volume/v3/snapshots/{snapshot_id}"): [{"snapshot": {"name": "n", "description": "d"}}],
    ("POST", "/volume/v3/snapshots/{snapshot_id}/action"): [{"fcx-restore": {}}, {"os-reset_status": None}],
    ("PUT", "/volume/v3/os-quota-sets/{tenant_id}"): [{"quota_set": {"volumes": 20, "gigabytes": 2000,
                                                                     "snapshots": 20, "id": "x"}}],
    ("POST", "/networking/v2.0/routers"): [{"router": {
        "name": "r", "description": "d", "admin_state_up": True, "project_id": "PROJECT", "external_gateway_info": {
            "network_id": "EXTERNAL", "enable_snat": True,
            "external_fixed_ips": [{"subnet_id": "EXTSUBNET", "ip_address": "203.0.113.50"}]}}}],
    ("PUT", "/networking/v2.0/routers/{router_id}"): [{"router": {
        "name": "r", "admin_state_up": False, "external_gateway_info": {"network_id": "EXTERNAL",
                                                                        "enable_snat": False}}}],
    ("PUT", "/networking/v2.0/routers/{router_id}/add_router_interface"): [{"subnet_id": "SUBNET"},
                                                                           {"port_id": "FREEPORT"}],
    ("PUT", "/networking/v2.0/routers/{router_id}/remove_router_interface"): [{"subnet_id": "SUBNET",
                                                                              "port_id": "{port_id}"}],
    ("POST", "/networking/v2.0/floatingips"): [{"floatingip": {
        "floating_network_id": "EXTERNAL", "floating_ip_address": "203.0.113.60", "subnet_id": "EXTSUBNET",
        "port_id": "{port_id}", "fixed_ip_address": "PORTIP", "description": "d", "project_id": "PROJECT"}}],
    ("PUT", "/networking/v2.0/floatingips/{floatingip_id}"): [{"floatingip": {
        "port_id": "{port_id}", "fixed_ip_address": "PORTIP", "description": "d"}}],
    ("POST", "/os-floating-ips"): [{"pool": "public"}],
}


def _table() -> list[tuple[str, str]]:
    """(method, path) of every route: compute relative to /compute/v2.1, identity, image, network and volume (its v3
    root) from the root."""
    prefix = {"identity": "/identity", "image": "/image", "network": "/networking"}
    rows = [(r.method, r.path) for r in ROUTES if r.face == "compute" and r.versioned]
    rows += [(r.method, "/volume/v3" + r.path) for r in ROUTES if r.face == "volume" and r.versioned]
    return rows + [(r.method, prefix[r.face] + r.path) for r in ROUTES if r.face in prefix]


def _json_routes() -> set[tuple[str, str]]:
    return {(m, p) for m, p in _table() if m in ("POST", "PUT", "PATCH")} - NOT_JSON_ROUTES


def test_every_json_route_has_a_sample():
    assert set(SAMPLES) == _json_routes()


def _encode(body: Any) -> bytes:
    """JSON text of `body`, DEEP written as arrays nested DEPTH levels (json.dumps itself would recurse)."""
    text = json.dumps(body, default=lambda o: "\0DEEP\0" if o is DEEP else "\0MID\0")
    text = text.replace('"\\u0000DEEP\\u0000"', "[" * DEPTH + "]" * DEPTH)
    return text.replace('"\\u0000MID\\u0000"', "[" * MID_DEPTH + "]" * MID_DEPTH).encode()


def _mutations(body: Any):
    """(where, body) for the body with each value in turn (the root included) replaced by each WRONG value."""
    def paths(node: Any, path: tuple):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            yield from paths(child, path + (key,))

    def replaced(node: Any, path: tuple, value: Any) -> Any:
        if not path:
            return value
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[path[0]] = replaced(node[path[0]], path[1:], value)
        return copy

    for path in paths(body, ()):
        for value in WRONG:
            yield path, replaced(body, path, value)


@pytest.fixture
def cfg(cfg):
    """The suite's configuration with an external network (routers' gateways, floating IPs)."""
    return dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_cidr="203.0.113.0/24"))


async def _l3_world(api: Api, headers: dict, network: str, subnet: str, port: dict) -> dict[str, str]:
    """A router on the walk's subnet with its gateway on the external network, a floating IP, a free port."""
    external = next(n for n in (await (await api.client.get("/networking/v2.0/networks", headers=headers)).json()
                                )["networks"] if n["router:external"])
    router = await api.client.post("/networking/v2.0/routers", headers=headers, json={"router": {
        "name": "walk", "external_gateway_info": {"network_id": external["id"]}}})
    router_id = (await router.json())["router"]["id"]
    made = await api.client.put(f"/networking/v2.0/routers/{router_id}/add_router_interface", headers=headers,
                                json={"subnet_id": subnet})
    assert made.status == 200, await made.text()
    fip = await api.client.post("/networking/v2.0/floatingips", headers=headers, json={"floatingip": {
        "floating_network_id": external["id"], "port_id": port["id"]}})
    assert fip.status == 201, await fip.text()
    free = await api.client.post("/networking/v2.0/ports", json={"port": {"network_id": network}}, headers=headers)
    return {"{router_id}": router_id, "{floatingip_id}": (await fip.json())["floatingip"]["id"],
            "EXTERNAL": external["id"], "EXTSUBNET": external["subnets"][0],
            "FREEPORT": (await free.json())["port"]["id"], "PORTIP": port["fixed_ips"][0]["ip_address"]}


@pytest.fixture
async def world(api: Api, admin_token, monkeypatch):
    """Ids the sample paths and bodies point at: a server, a flavor, an active image, all in the admin project.
    The server is a row without a domain: its NIC hot-plug (which libvirt's test driver lacks anyway) is a no-op."""
    async def hotplug(*_args, **_kw):
        return True

    monkeypatch.setattr(server_interfaces.nic_devices, "attach_interface", hotplug)
    monkeypatch.setattr(server_interfaces.nic_devices, "detach_interface", hotplug)
    pid = _project_id(api, "admin")
    app = api.client.server.app
    images = app[images_key]
    ctx = app[identity_key].validate(admin_token)
    image = await images.create(ctx, {"name": "walk", "disk_format": "raw", "container_format": "bare"}, {}, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await images.upload(ctx, image.id, chunks())
    image_id = image.id
    server = await _insert(api, pid, name="target")
    flavor = await api.post("/flavors", admin_token, json={"flavor": {"name": "walk", "ram": 64, "vcpus": 1,
                                                                      "disk": 1, "id": "walk"}})
    assert flavor.status == 200, await flavor.text()
    headers = {"X-Auth-Token": admin_token}
    made = await api.client.post("/networking/v2.0/networks", json={"network": {"name": "walk"}}, headers=headers)
    network = (await made.json())["network"]["id"]
    made = await api.client.post("/networking/v2.0/subnets", headers=headers, json={"subnet": {
        "network_id": network, "cidr": "198.18.200.0/24", "ip_version": 4}})
    subnet = (await made.json())["subnet"]["id"]
    made = await api.client.post("/networking/v2.0/ports", json={"port": {"network_id": network}}, headers=headers)
    port = (await made.json())["port"]
    block = app[block_storage_key]
    volume = await block.volumes.create(ctx, VolumeCreate(size=1, name="walk"))
    await block.wait_idle()
    snapshot = await block.snapshots.create(ctx, volume.id, "walk", None, False)
    volume_type = await block.types.create(ctx, "walk", None, {}, True)
    await block.wait_idle()
    made = await api.client.post("/networking/v2.0/security-groups", headers=headers,
                                 json={"security_group": {"name": "walk"}})
    group = (await made.json())["security_group"]["id"]
    return {"{tenant_id}": pid, "{class_name}": "default", "{flavor_id}": "walk", "{key}": "k", "{tag}": "t",
            "{image_id}": image_id, "{server_id}": server.uuid, "IMAGE": image_id, "PROJECT": pid,
            "TOKEN": admin_token, "{network_id}": network, "NETWORK": network, "{subnet_id}": subnet,
            "SUBNET": subnet, "{port_id}": port["id"], "GROUP": port["security_groups"][0], "{project_id}": pid,
            "{alias}": "quotas", "{volume_id}": volume.id, "VOLUME": volume.id, "{snapshot_id}": snapshot.id,
            "SNAPSHOT": snapshot.id, "{type_id}": volume_type.id, "{security_group_id}": group, "{service_id}": "3", "USERGROUP": group,
            "{member_id}": "walk-member",
            "{host_name}": app[host_services_key].cfg.host_name, "{migration_id}": "1",
            **await _l3_world(api, headers, network, subnet, port)}


def _fill(text: str, world: dict[str, str]) -> str:
    for name, value in world.items():
        text = text.replace(name, value)
    return text


def _url(path: str) -> str:
    """Identity, Glance, Neutron and volume paths are absolute; compute paths are relative to /compute/v2.1."""
    return path if path.startswith(("/identity", "/image/", "/networking", "/volume/")) else "/compute/v2.1" + path


def _fault_shape_ok(url: str, status: int, doc: Any) -> bool:
    """A 4xx body in the shape of the service the path belongs to (api/faults.py)."""
    if url.startswith("/identity"):
        return set(doc) == {"error"} and doc["error"]["code"] == status and doc["error"]["title"] \
            and doc["error"]["message"]
    if url.startswith("/image/"):
        return doc["code"].startswith(f"{status} ") and doc["title"] and doc["message"]
    if url.startswith("/networking"):
        if status == 401:
            return doc["error"]["code"] == 401  # keystonemiddleware's, as on every face
        return set(doc) == {"NeutronError"} and doc["NeutronError"]["type"] and doc["NeutronError"]["message"]
    (fault,) = doc.values()
    return fault["code"] == status and fault["message"]


async def _send(api: Api, method: str, path: str, raw: bytes, token: str) -> tuple[int, Any]:
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    if method == "PATCH":
        headers["Content-Type"] = glance.PATCH_TYPE
    url = _url(path)
    resp = await api.client.request(method, url, data=raw, headers=headers)
    text = await resp.text()
    if 400 <= resp.status < 500:
        assert _fault_shape_ok(url, resp.status, json.loads(text)), (raw[:200], resp.status, text)
    return resp.status, text


@pytest.mark.parametrize("route", sorted(SAMPLES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_no_body_gives_a_5xx(api, world, route):
    method, template = route
    path = _fill(template, world)
    samples = [json.loads(_fill(json.dumps(sample), world)) for sample in SAMPLES[route]]
    bodies = [_encode(body) for sample in samples for _, body in _mutations(sample)]
    bodies += [_encode(body) for body in (DEEP, MID, {"a": DEEP}, {"a": MID})] + RAW_BODIES
    failures = []
    for raw in bodies:
        status, text = await _send(api, method, path, raw, world["TOKEN"])
        if status >= 500:
            failures.append((raw[:200], status, text[:300]))
    await _wait_idle(api)
    await api.client.server.app[block_storage_key].wait_idle()
    assert failures == [], failures


# The handlers that read a query string (grep request.query in nodecompute/api), and what they read.
QUERY_ROUTES = ("/limits", "/os-quota-sets/{tenant_id}", "/flavors", "/flavors/detail", "/images", "/images/detail",
                "/servers", "/servers/detail", "/identity/v3/auth/tokens", "/identity/v3/projects",
                "/image/v2/images", "/networking/v2.0/networks", "/networking/v2.0/subnets", "/networking/v2.0/ports",
                "/networking/v2.0/networks/{network_id}", "/os-volumes", "/os-volumes/detail", "/os-snapshots",
                "/os-snapshots/detail", "/volume/v3/volumes", "/volume/v3/volumes/detail", "/volume/v3/snapshots",
                "/volume/v3/snapshots/detail", "/volume/v3/types", "/volume/v3/limits",
                "/volume/v3/os-quota-sets/{tenant_id}", "/networking/v2.0/routers", "/networking/v2.0/floatingips",
                "/networking/v2.0/routers/{router_id}", "/networking/v2.0/floatingips/{floatingip_id}",
                "/networking/v2.0/auto-allocated-topology/{project_id}", "/os-floating-ips", "/os-floating-ip-pools",
                "/networking/v2.0/security-groups", "/networking/v2.0/security-group-rules", "/os-security-groups",
                "/os-security-groups/{security_group_id}", "/os-security-group-default-rules", "/os-hypervisors",
                "/os-hypervisors/detail", "/os-services", "/os-server-groups", "/os-simple-tenant-usage",
                "/os-simple-tenant-usage/{tenant_id}", "/os-hosts", "/os-instance_usage_audit_log")
QUERY_KEYS = ("limit", "marker", "minRam", "minDisk", "is_public", "sort_key", "sort_dir", "name", "status", "image",
              "flavor", "changes-since", "reservation_id", "all_tenants", "tenant_id", "project_id", "ip", "host",
              "size_min", "size_max", "visibility", "tag", "owner", "id", "sort", "os_hidden", "server", "user_id",
              "nocatalog", "custom_prop", "fields", "page_reverse", "admin_state_up", "mtu", "fixed_ips",
              "device_owner", "network_id", "ip_version", "shared", "router:external", "revision_number",
              "external_gateway_info", "floating_ip_address", "port_id", "router_id", "is_default",
              "usage", "metadata", "bootable", "size", "display_name", "volume_id",
              "offset", "direction", "protocol", "port_range_min", "ethertype", "remote_ip_prefix",
              "security_group_id", "remote_group_id")
QUERY_VALUES = ("9" * 40, "-" + "9" * 40, "in:" + "9" * 40, "[")


def test_query_routes_exist():
    paths = {p for m, p in _table() if m == "GET"}
    assert set(QUERY_ROUTES) <= paths


@pytest.mark.parametrize("route", QUERY_ROUTES)
async def test_no_query_gives_a_5xx(api, world, route):
    url = _url(_fill(route, world))
    failures = []
    for key in QUERY_KEYS:
        for value in QUERY_VALUES:
            resp = await api.client.get(url, params={key: value}, headers={"X-Auth-Token": world["TOKEN"],
                                                                            "X-Subject-Token": world["TOKEN"]})
            text = await resp.read()
            if resp.status >= 500:
                failures.append((key, value[:10], resp.status, text[:200]))
    assert failures == [], failures


async def test_deep_json_is_a_400_in_each_services_shape(api, world):
    deep = b'{"server": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    headers = {"X-Auth-Token": world["TOKEN"], "Content-Type": "application/json"}
    await assert_fault(await api.post("/servers", data=deep, headers=headers), 400, "badRequest",
                       "Malformed request body")
    resp = await api.client.post("/identity/v2.0/tokens", data=deep, headers=headers)
    await assert_keystone_error(resp, 400)
    resp = await api.client.patch(f"/image/v2/images/{world['{image_id}']}", data=b"[" * MID_DEPTH + b"]" * MID_DEPTH,
                                  headers={**headers, "Content-Type": glance.PATCH_TYPE})
    assert resp.status == 400 and (await resp.json())["message"] == "Malformed JSON in request body."


def _v3(user: dict | None = None, token: Any = None, scope: Any = None) -> dict:
    identity: dict[str, Any] = {"methods": ["token" if token is not None else "password"]}
    if token is not None:
        identity["token"] = token
    else:
        identity["password"] = {"user": user}
    return {"auth": {"identity": identity, **({"scope": scope} if scope is not None else {})}}


@pytest.mark.parametrize("path, body, message", [
    ("v3/auth/tokens", _v3({"name": "admin", "password": 5}),
     "Invalid input for field 'identity/password/user/password': 5 is not of type 'string'"),
    ("v3/auth/tokens", _v3({"id": "", "password": "x"}), "Expecting to find id or name in user. The server could "
     "not comply with the request since it is either malformed or otherwise incorrect."),
    ("v3/auth/tokens", _v3({"id": ["admin"], "password": "x"}),
     "Invalid input for field 'identity/password/user/id': ['admin'] is not of type 'string'"),
    ("v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": True}}},
     "Invalid input for field 'identity/password': True is not of type 'object'"),
    ("v3/auth/tokens", _v3(token={"id": 2**70}),
     f"Invalid input for field 'identity/token/id': {2**70} is not of type 'string'"),
    ("v3/auth/tokens", _v3(token={"id": ""}), "Expecting to find id in token."),
    ("v3/auth/tokens", _v3({"name": "admin", "password": "x"}, scope={"project": {"id": ""}}),
     "Expecting to find id or name in project."),
    ("v3/auth/tokens", {"auth": {"identity": {"methods": "password"}}},
     "Invalid input for field 'identity/methods': 'password' is not of type 'array'"),
    ("v3/auth/tokens", {"nope": {}}, "Expecting to find auth in request body."),
    ("v2.0/tokens", {"auth": {"passwordCredentials": {"username": "admin", "password": 5}}},
     "Invalid input for field 'passwordCredentials/password': 5 is not of type 'string'"),
    ("v2.0/tokens", {"auth": {"passwordCredentials": {"username": "", "password": "x"}}},
     "Expecting to find username or userId in passwordCredentials."),
    ("v2.0/tokens", {"auth": {"passwordCredentials": {"username": "admin", "password": "x"}, "tenantName": 2**70}},
     f"Invalid input for field 'tenantName': {2**70} is not of type 'string'"),
    ("v2.0/tokens", {"auth": {"token": {"id": ""}}}, "Expecting to find id in token."),
    ("v2.0/tokens", {"auth": {"token": "abc"}}, "Invalid input for field 'token': 'abc' is not of type 'object'"),
    ("v2.0/tokens", {"auth": None}, "Expecting to find auth in request body."),
])
async def test_token_requests_are_checked_with_keystones_messages(api, path, body, message):
    resp = await api.client.post(f"/identity/{path}", json=body)
    error = await assert_keystone_error(resp, 400, message)
    assert error["title"] == "Bad Request"


async def test_block_device_mapping_fields_are_typed(api, world):
    bdm = {"boot_index": "0", "uuid": True, "source_type": "image", "destination_type": "local"}
    body = {"server": {"name": "vm", "imageRef": "", "flavorRef": "42", "block_device_mapping_v2": [bdm]}}
    await assert_fault(await api.post("/servers", world["TOKEN"], json=body), 400, "badRequest",
                       "Invalid input for field/attribute uuid. Value: True. True is not of type 'string'")
    body["server"]["block_device_mapping_v2"] = [{**bdm, "uuid": world["IMAGE"], "boot_index": {}}]
    await assert_fault(await api.post("/servers", world["TOKEN"], json=body), 400, "badRequest", "boot_index")
    body["server"]["block_device_mapping_v2"] = [{**bdm, "uuid": world["IMAGE"]}]
    body["server"]["block_device_mapping"] = [{"volume_size": 2**70}]
    await assert_fault(await api.post("/servers", world["TOKEN"], json=body), 400, "badRequest", "volume_size")


async def test_integers_beyond_64_bits_in_image_properties_are_a_400(api, world):
    headers = {"X-Auth-Token": world["TOKEN"]}
    resp = await api.client.post("/image/v2/images", json={"name": "i", "min_disk": 2**70}, headers=headers)
    assert resp.status == 400, await resp.text()
    assert "greater than the maximum of 2147483647" in (await resp.json())["message"]
    patch = json.dumps([{"op": "replace", "path": "/min_ram", "value": 2**70}])
    resp = await api.client.patch(f"/image/v2/images/{world['IMAGE']}", data=patch,
                                  headers={**headers, "Content-Type": glance.PATCH_TYPE})
    assert resp.status == 400, await resp.text()
    resp = await api.post(f"/images/{world['IMAGE']}/metadata", world["TOKEN"], json={"metadata": {"k": 2**70}})
    await assert_fault(resp, 400, "badRequest", "is not of type 'string'")
    resp = await api.client.get("/image/v2/images", params={"size_min": str(2**70)}, headers=headers)
    assert resp.status == 200 and (await resp.json())["images"] == []
