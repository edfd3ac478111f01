"""How the route oracle (test_oracle_routes.py) calls each served compute operation: one case per operation of
Nova's catalog that the route table serves, keyed like tests/oracle.py's TEMPEST table.

A case is `async (world, version) -> Call`: it makes what the call needs (a fresh keypair to delete, a stopped
server to start, ...) and returns the path under /compute/v2.1, the body, and, where the success path cannot be
reached yet, the answer expected instead with the reason (`awaiting`). Every call is made as the admin, the
caller of Nova's api_samples. The world is one app (a compute face negotiating up to LADDER_TOP, servers on
libvirt's test driver) shared by the whole module.
"""
from __future__ import annotations

import itertools
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nodecompute.api.keys import (block_storage_key, host_services_key, identity_key, images_key, servers_key,
                                  volume_attachments_key)
from nodecompute.app import store_key
from nodecompute.db import host_services as host_services_db
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import utcnow
from nodecompute.api.nova_operations import ACTION, version_key
from nodecompute.domain.volume_models import AttachRequest, VolumeCreate
from tests.api.attachment_fakes import RecordingPlug
from tests import oracle
from tests.api.helpers import Api
from tests.api.test_keypairs import ED25519_KEY

SERVER, FLAVOR, IMAGE = "/servers/{server_id}", "/flavors/{flavor_id}", "/images/{image_id}"
SPECS = FLAVOR + "/os-extra_specs"
QUOTAS = "/os-quota-sets/{tenant_id}"


@dataclass(frozen=True)
class Call:
    path: str
    body: Any = None
    awaiting: str = ""  # why the success path is out of reach for now; `status` is then the answer expected
    status: int | None = None
    optional: tuple[str, ...] = ()  # key differences from Nova's sample that depend on data, not on the API


class World:
    """The module's app and what the cases share: the admin, a project for quota changes, an image, a server."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.names = itertools.count(1)
        self.admin = ""
        self.project_id = ""
        self.quota_project_id = ""
        self.image_id = ""
        self.server_id = ""
        self.network_id = ""

    def name(self, prefix: str) -> str:
        return f"{prefix}-{next(self.names)}"

    async def call(self, method: str, path: str, body: Any = None, version: str = "2.1", ok: int | None = None):
        resp = await self.api.request(method, path, self.admin, json=body,
                                      headers={"X-OpenStack-Nova-API-Version": version})
        assert ok is None or resp.status == ok, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_type == "application/json" else None

    async def setup(self, make_project_token: Callable[[str], Awaitable[str]]) -> None:
        app = self.api.client.server.app
        self.admin = await self.api.token("admin", "admin-secret", "admin")
        self.project_id = app[identity_key].validate(self.admin).project_id
        self.quota_project_id = app[identity_key].validate(await make_project_token("oracle-quotas")).project_id
        unlimited = {name: -1 for name in ("instances", "cores", "ram", "key_pairs", "server_groups",
                                           "server_group_members")}
        await self.call("PUT", f"/os-quota-sets/{self.project_id}", {"quota_set": unlimited}, ok=200)
        resp = await self.api.client.put(f"/networking/v2.0/quotas/{self.project_id}",
                                         headers={"X-Auth-Token": self.admin},
                                         json={"quota": {"security_group": -1, "security_group_rule": -1}})
        assert resp.status == 200, await resp.text()
        self.image_id = await self._image(app)
        self.network_id = await self._network()
        self.server_id = await self.server()  # on the network "private" (the one network there is)
        await self.call("PUT", f"/servers/{self.server_id}/metadata", {"metadata": {"role": "oracle"}}, ok=200)

    async def _network(self) -> str:
        """Network "private" with a DHCP subnet, for servers' addresses and interfaces."""
        async def post(path: str, body: dict) -> dict:
            resp = await self.api.client.post(f"/networking/v2.0{path}", json=body,
                                              headers={"X-Auth-Token": self.admin})
            assert resp.status == 201, await resp.text()
            return await resp.json()

        network = (await post("/networks", {"network": {"name": "private"}}))["network"]
        await post("/subnets", {"subnet": {"network_id": network["id"], "cidr": "198.18.250.0/24", "ip_version": 4}})
        return network["id"]

    async def _image(self, app) -> str:
        ctx = app[identity_key].validate(self.admin)
        images = app[images_key]
        image = await images.create(ctx, {"name": "oracle", "disk_format": "raw", "container_format": "bare",
                                          "visibility": "public"}, {}, [])

        async def chunks():
            yield b"\0" * (1 << 20)

        await images.upload(ctx, image.id, chunks())
        return image.id

    async def server(self, stopped: bool = False) -> str:
        """A new ACTIVE (or SHUTOFF) server on the test driver."""
        body = {"server": {"name": self.name("vm"), "imageRef": self.image_id, "flavorRef": "42"}}
        server_id = (await self.call("POST", "/servers", body, ok=202))["server"]["id"]
        await self.idle()
        if stopped:
            await self.call("POST", f"/servers/{server_id}/action", {"os-stop": None}, ok=202)
            await self.idle()
        return server_id

    async def tidy(self) -> None:
        """Delete every server but the shared one (the one host's capacity is finite)."""
        await self.idle()
        await self.restore_services()
        listed = (await self.call("GET", "/servers?all_tenants=1"))["servers"]
        for server in listed:
            if server["id"] != self.server_id:
                await self.call("DELETE", f"/servers/{server['id']}")
        await self.idle()

    async def restore_services(self) -> None:
        """The compute service enabled and up, and every service registered (a case may delete or disable one)."""
        app = self.api.client.server.app
        services = app[host_services_key]
        await app[store_key].write(host_services_db.register_services, services.cfg.host_name, now=services.clock())
        compute = next(s for s in services.list(binary="nova-compute"))
        await app[store_key].write(host_services_db.update_service, compute.id,
                                   {"disabled": 0, "disabled_reason": None, "forced_down": 0}, now=services.clock())

    async def service_id(self, binary: str, version: str) -> str:
        await self.restore_services()
        found = next(s for s in self.api.client.server.app[host_services_key].list(binary=binary))
        return found.uuid if version_key(version) >= (2, 53) else str(found.id)

    async def hypervisor(self, version: str) -> dict:
        return (await self.call("GET", "/os-hypervisors", version=version, ok=200))["hypervisors"][0]

    async def idle(self) -> None:
        await self.api.client.server.app[servers_key].wait_idle()

    async def flavor(self, public: bool = True, specs: dict | None = None) -> str:
        flavor_id = self.name("flv")
        body = {"flavor": {"name": flavor_id, "id": flavor_id, "ram": 64, "vcpus": 1, "disk": 1,
                           "os-flavor-access:is_public": public}}
        await self.call("POST", "/flavors", body, ok=200)
        if specs:
            await self.call("POST", f"/flavors/{flavor_id}/os-extra_specs", {"extra_specs": specs}, ok=200)
        return flavor_id

    async def keypair(self) -> str:
        name = self.name("kp")
        await self.call("POST", "/os-keypairs", {"keypair": {"name": name, "public_key": ED25519_KEY}}, ok=200)
        return name

    async def security_group(self) -> str:
        """A new security group of the admin project, made through the networking API (at every version)."""
        resp = await self.api.client.post("/networking/v2.0/security-groups", headers={"X-Auth-Token": self.admin},
                                          json={"security_group": {"name": self.name("sg")}})
        assert resp.status == 201, await resp.text()
        return (await resp.json())["security_group"]["id"]

    async def security_group_rule(self) -> str:
        group_id = await self.security_group()
        resp = await self.api.client.post("/networking/v2.0/security-group-rules", headers={"X-Auth-Token": self.admin},
                                          json={"security_group_rule": {"security_group_id": group_id,
                                                                        "direction": "ingress", "protocol": "tcp",
                                                                        "port_range_min": 22, "port_range_max": 22}})
        assert resp.status == 201, await resp.text()
        return (await resp.json())["security_group_rule"]["id"]

    async def default_rule(self) -> int:
        """A new os-security-group-default-rule (its port unique, so it never exists already)."""
        port = next(self.names)
        body = {"security_group_default_rule": {"ip_protocol": "tcp", "from_port": port, "to_port": port,
                                                "cidr": "198.18.0.0/16"}}
        made = await self.call("POST", "/os-security-group-default-rules", body, ok=200)
        return made["security_group_default_rule"]["id"]

    async def glance_image(self) -> str:
        resp = await self.api.client.post("/image/v2/images", headers={"X-Auth-Token": self.admin},
                                          json={"name": self.name("img"), "disk_format": "raw",
                                                "container_format": "bare"})
        assert resp.status == 201, await resp.text()
        return (await resp.json())["id"]


Case = Callable[[World, str], Awaitable[Call]]


def _fixed(path: str, body: Any = None, optional: tuple[str, ...] = ()) -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(path.format(image=world.image_id, server=world.server_id, project=world.project_id,
                                quotas=world.quota_project_id, network=world.network_id), body, optional=optional)
    return case


NOT_A_FULL_PAGE = ("missing servers_links",)  # Nova's list samples were taken with ?limit= on a full page
NO_AUTO_DISK_CONFIG = ("missing image.OS-DCF:diskConfig",)  # shown only for images with auto_disk_config


async def _create_flavor(world: World, version: str) -> Call:
    name = world.name("new")
    return Call("/flavors", {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 1}})


async def _delete_flavor(world: World, version: str) -> Call:
    return Call(f"/flavors/{await world.flavor()}")


async def _add_access(world: World, version: str) -> Call:
    return Call(f"/flavors/{await world.flavor(public=False)}/action",
                {"addTenantAccess": {"tenant": world.project_id}})


async def _remove_access(world: World, version: str) -> Call:
    flavor_id = await world.flavor(public=False)
    await world.call("POST", f"/flavors/{flavor_id}/action", {"addTenantAccess": {"tenant": world.project_id}},
                     ok=200)
    return Call(f"/flavors/{flavor_id}/action", {"removeTenantAccess": {"tenant": world.project_id}})


async def _access_list(world: World, version: str) -> Call:
    flavor_id = await world.flavor(public=False)
    await world.call("POST", f"/flavors/{flavor_id}/action", {"addTenantAccess": {"tenant": world.project_id}},
                     ok=200)
    return Call(f"/flavors/{flavor_id}/os-flavor-access")


def _specs(tail: str, body: Any = None, method: str = "") -> Case:
    """A flavor with extra specs, and the path `tail` below its os-extra_specs; PUT (`method`) on the flavor
    itself changes its description (2.55)."""
    async def case(world: World, version: str) -> Call:
        flavor_id = await world.flavor(specs={"hw:cpu_policy": "shared"})
        if method == "PUT":
            return Call(f"/flavors/{flavor_id}", {"flavor": {"description": "changed"}})
        return Call(f"/flavors/{flavor_id}/os-extra_specs{tail}", body)
    return case


async def _delete_image(world: World, version: str) -> Call:
    return Call(f"/images/{await world.glance_image()}")


def _image_meta_item(body: Any = None) -> Case:
    async def case(world: World, version: str) -> Call:
        await world.call("POST", f"/images/{world.image_id}/metadata", {"metadata": {"color": "blue"}})
        return Call(f"/images/{world.image_id}/metadata/color", body)
    return case


async def _keypairs(world: World, version: str) -> Call:
    await world.keypair()
    return Call("/os-keypairs")  # not a full page: Tempest's schemas have no keypairs_links


async def _create_keypair(world: World, version: str) -> Call:
    if version_key(version) >= (2, 92):  # imported: nothing is generated from 2.92 (Nova's sample imports too)
        return Call("/os-keypairs", {"keypair": {"name": world.name("kp"), "public_key": ED25519_KEY}})
    return Call("/os-keypairs", {"keypair": {"name": world.name("kp")}})  # generated, as in Nova's samples


async def _keypair(world: World, version: str) -> Call:
    return Call(f"/os-keypairs/{await world.keypair()}")


def _create_server_body(world: World, version: str) -> dict:
    server = {"name": world.name("new-vm"), "imageRef": world.image_id, "flavorRef": "42"}
    if version_key(version) >= (2, 37):
        server["networks"] = "none"
    return {"server": server}


# Nova's samples of the full server are an admin's, except the 2.26 ones (os-server-tags), a member's: at the
# versions where that sample is the nearest, an admin also has the admin-only keys.
ADMIN_ONLY = ("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name",
              "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:launch_index",
              "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:root_device_name",
              "OS-EXT-SRV-ATTR:user_data", "host_status")


def _server_view(path: str, where: str, optional: tuple[str, ...] = ()) -> Case:
    async def case(world: World, version: str) -> Call:
        nearest = oracle.sample_keys("GET", path.replace("{server}", "{server_id}"), None, version)[0]
        member_sample = nearest == "2.26" or version_key(nearest) >= (2, 87)  # Nova's samples from 2.87 too
        extra = tuple(f"extra {where}.{key}" for key in ADMIN_ONLY) if member_sample else ()
        return Call(path.format(server=world.server_id), optional=optional + extra)
    return case


async def _update_server(world: World, version: str) -> Call:
    """Nova's PUT samples are at 2.1, 2.19 and 2.47 only, but its update view gains `locked` at 2.9 and `tags` at
    2.26 as its show view does (views/servers.py show(), which update() calls): allowed where the nearest sample
    predates them. Its PUT samples from 2.90 on are a member's: an admin also has the admin-only keys."""
    optional = tuple(f"extra server.{key}" for key, since in (("locked", (2, 9)), ("tags", (2, 26)))
                     if version_key(version) >= since)
    if version_key(version) >= (2, 90):
        optional += tuple(f"extra server.{key}" for key in ADMIN_ONLY)
    return Call(f"/servers/{world.server_id}", {"server": {"name": "renamed"}}, optional=optional)


async def _create_server(world: World, version: str) -> Call:
    return Call("/servers", _create_server_body(world, version))


async def _create_server_by_volumes_boot(world: World, version: str) -> Call:
    """#204: Nova's alias of the create (boot from volume is tests/api/test_boot_from_volume.py's)."""
    return Call("/os-volumes_boot", _create_server_body(world, version))


async def _fresh_server(world: World, version: str) -> Call:
    return Call(f"/servers/{await world.server()}")


def _action(body: dict, stopped: bool = False) -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(f"/servers/{await world.server(stopped=stopped)}/action", body)
    return case


def _action_after(body: dict, *before: dict) -> Case:
    """An action on a new server the `before` actions brought to the state it needs (paused, suspended, locked)."""
    async def case(world: World, version: str) -> Call:
        server_id = await world.server()
        for earlier in before:
            await world.call("POST", f"/servers/{server_id}/action", earlier, ok=202)
            await world.idle()
        return Call(f"/servers/{server_id}/action", body)
    return case


async def _restore(world: World, version: str) -> Call:
    """The world runs without a reclaim interval (its deletes are immediate): the server is made SOFT_DELETED in
    its row, as a DELETE with an interval leaves it."""
    server_id = await world.server()
    store = world.api.client.server.app[store_key]
    await store.write(servers_db.update_server, server_id, {"vm_state": states.SOFT_DELETED,
                                                            "power_state": states.SHUTDOWN}, now=utcnow())
    return Call(f"/servers/{server_id}/action", {"restore": None})


async def _shelve_offload(world: World, version: str) -> Call:
    """The world offloads at shelve (shelved_offload_time 0, Nova's default): the server is made SHELVED in its row,
    as a shelve with offloading off leaves it (its domain and disk still there)."""
    server_id = await world.server()
    store = world.api.client.server.app[store_key]
    await store.write(servers_db.update_server, server_id, {"vm_state": states.SHELVED,
                                                            "power_state": states.SHUTDOWN}, now=utcnow())
    return Call(f"/servers/{server_id}/action", {"shelveOffload": None})


async def _change_password(world: World, version: str) -> Call:
    """A server whose image asked for the guest agent (its channel on the row, as an image with
    hw_qemu_guest_agent=yes leaves it); the test driver sets the password."""
    server_id = await world.server()
    store = world.api.client.server.app[store_key]
    await store.write(servers_db.update_server, server_id, {"guest_channels": '["org.qemu.guest_agent.0"]'},
                      now=utcnow())
    return Call(f"/servers/{server_id}/action", {"changePassword": {"adminPass": "new-secret"}})


async def _rebuild(world: World, version: str) -> Call:
    """Nova's rebuild samples skip 2.9 (its view gains `locked` there, as the update view: _update_server); from
    2.90 they are a member's: an admin also has the admin-only keys (but the extended `user_data`, which Nova's
    rebuild view leaves out for its own `user_data`)."""
    optional = ("extra server.locked",) if (2, 9) <= version_key(version) < (2, 19) else ()
    if version_key(version) >= (2, 90):
        optional += tuple(f"extra server.{key}" for key in ADMIN_ONLY if key != "OS-EXT-SRV-ATTR:user_data")
    return Call(f"/servers/{await world.server()}/action", {"rebuild": {"imageRef": world.image_id}},
                optional=optional)


async def _unrescue(world: World, version: str) -> Call:
    server_id = await world.server()
    await world.call("POST", f"/servers/{server_id}/action", {"rescue": None}, ok=200)
    await world.idle()
    return Call(f"/servers/{server_id}/action", {"unrescue": None})


async def _instance_action(world: World, version: str) -> Call:
    listed = await world.call("GET", f"/servers/{world.server_id}/os-instance-actions", ok=200)
    request_id = listed["instanceActions"][-1]["request_id"]  # the create, with its build event
    return Call(f"/servers/{world.server_id}/os-instance-actions/{request_id}")


def _server_meta_item(body: Any = None) -> Case:
    async def case(world: World, version: str) -> Call:
        await world.call("POST", f"/servers/{world.server_id}/metadata", {"metadata": {"tier": "db"}}, ok=200)
        return Call(f"/servers/{world.server_id}/metadata/tier", body)
    return case


def _tags(tail: str, body: Any = None) -> Case:
    """A tags call on a fresh server holding the tag `blue` (from 2.26; below, the call is Nova's bare 404)."""
    async def case(world: World, version: str) -> Call:
        server_id = await world.server()
        if version_key(version) >= (2, 26):
            await world.call("PUT", f"/servers/{server_id}/tags", {"tags": ["blue"]}, version=version, ok=200)
        return Call(f"/servers/{server_id}/tags{tail}", body)
    return case


async def _ips_by_label(world: World, version: str) -> Call:
    return Call(f"/servers/{world.server_id}/ips/private")


async def _interface(world: World, version: str) -> Call:
    listed = await world.call("GET", f"/servers/{world.server_id}/os-interface", ok=200)
    return Call(f"/servers/{world.server_id}/os-interface/{listed['interfaceAttachments'][0]['port_id']}")


async def _attach_interface(world: World, version: str) -> Call:
    return Call(f"/servers/{await world.server()}/os-interface",
                {"interfaceAttachment": {"net_id": world.network_id}},
                awaiting="libvirt's test driver has no device hot-plug (virDomainAttachDeviceFlags): the attach is "
                         "proved on a real guest (tests/integration/test_servers_network_guest.py)", status=500)


async def _detach_interface(world: World, version: str) -> Call:
    server_id = await world.server()
    listed = await world.call("GET", f"/servers/{server_id}/os-interface", ok=200)
    return Call(f"/servers/{server_id}/os-interface/{listed['interfaceAttachments'][0]['port_id']}",
                awaiting="libvirt's test driver has no device hot-plug (virDomainDetachDeviceFlags): the detach is "
                         "proved on a real guest (tests/integration/test_servers_network_guest.py)", status=500)


def _console(body: dict) -> Case:
    """A console of the shared server: its display and serial sockets made as QEMU would (test:/// has none)."""
    async def case(world: World, version: str) -> Call:
        guests = world.api.client.server.app[servers_key].guests
        for path in (guests.display_socket(world.server_id), guests.serial_socket(world.server_id)):
            if not path.exists():
                with socket.socket(socket.AF_UNIX) as listener:
                    listener.bind(str(path))
        return Call(f"/servers/{world.server_id}" + ("/remote-consoles" if "remote_console" in body else "/action"),
                    body)
    return case


# Nova's os-volumes samples show an attached volume; the proxies' volumes here are detached (`attachments: [{}]`)
DETACHED = tuple(f"missing {where}.attachments[].{key}" for where in ("volume", "volumes[]")
                 for key in ("device", "id", "serverId", "volumeId"))


async def _volume(world: World) -> str:
    """An available volume of the admin's (block storage quotas lifted: every version of every case makes some)."""
    app = world.api.client.server.app
    block = app[block_storage_key]
    ctx = app[identity_key].validate(world.admin)
    await block.quotas.update(ctx.project_id, {"volumes": -1, "gigabytes": -1, "snapshots": -1})
    volume = await block.volumes.create(ctx, VolumeCreate(size=1, name=world.name("vol")))
    await block.wait_idle()
    return volume.id


async def _snapshot(world: World) -> str:
    app = world.api.client.server.app
    block = app[block_storage_key]
    snapshot = await block.snapshots.create(app[identity_key].validate(world.admin), await _volume(world),
                                            world.name("snap"), None, False)
    await block.wait_idle()
    return snapshot.id


def _volumes(path: str, **kw: Any) -> Case:
    async def case(world: World, version: str) -> Call:
        volume_id = await _volume(world)
        return Call(path.format(volume=volume_id), kw.get("body"), optional=DETACHED)
    return case


def _snapshots(path: str) -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(path.format(snapshot=await _snapshot(world)))
    return case


async def _attached(world: World) -> str:
    """A volume attached to the shared server (libvirt's test driver has no hot-plug: a recording plug)."""
    app = world.api.client.server.app
    attachments = app[volume_attachments_key]
    if not isinstance(attachments.plug, RecordingPlug):
        attachments.plug = RecordingPlug()
    volume_id = await _volume(world)
    await attachments.attach(app[identity_key].validate(world.admin), world.server_id, AttachRequest(volume_id))
    return volume_id


def _attachments(path: str, attach: bool = True) -> Case:
    async def case(world: World, version: str) -> Call:
        volume_id = await _attached(world) if attach else await _volume(world)
        body = None if attach else {"volumeAttachment": {"volumeId": volume_id}}
        return Call(path.format(server=world.server_id, volume=volume_id), body)
    return case


async def _swap(world: World, version: str) -> Call:
    """The swap of an attached volume for a fresh one (from 2.85 the same body can also carry the view's fields)."""
    old, new = await _attached(world), await _volume(world)
    return Call(f"/servers/{world.server_id}/os-volume_attachments/{old}", {"volumeAttachment": {"volumeId": new}})


async def _create_snapshot(world: World, version: str) -> Call:
    return Call("/os-snapshots", {"snapshot": {"volume_id": await _volume(world), "display_name": "snap"}})


def _hypervisor(tail: str = "") -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(f"/os-hypervisors/{(await world.hypervisor(version))['id']}{tail}", optional=NUMA_CELLS)
    return case


# Nova's libvirt driver counts the NUMA cells in cpu_info's topology; its samples come from the fake driver
NUMA_CELLS = ("extra hypervisors[].cpu_info.topology.cells", "extra hypervisor.cpu_info.topology.cells")


def _hypervisors(tail: str) -> Case:
    """A full page from 2.33 (limit=1 on the one host), so the next-page link shows as in Nova's samples."""
    async def case(world: World, version: str) -> Call:
        return Call(f"/os-hypervisors{tail}" + ("?limit=1" if version_key(version) >= (2, 33) else ""),
                    optional=NUMA_CELLS)
    return case


def _by_pattern(tail: str) -> Case:
    async def case(world: World, version: str) -> Call:
        hostname = (await world.hypervisor("2.1"))["hypervisor_hostname"]
        return Call(f"/os-hypervisors/{hostname[:3]}{tail}")
    return case


def _service_update(body: dict) -> Case:
    async def case(world: World, version: str) -> Call:
        await world.restore_services()
        return Call("/os-services/{}".format(body["path"]),
                    {"host": world.api.client.server.app[host_services_key].cfg.host_name, **body["body"]})
    return case


async def _update_service(world: World, version: str) -> Call:
    return Call(f"/os-services/{await world.service_id('nova-compute', version)}",
                {"status": "disabled", "disabled_reason": "maintenance"})


async def _delete_service(world: World, version: str) -> Call:
    return Call(f"/os-services/{await world.service_id('nova-conductor', version)}")


def _server_group_body(world: World, version: str) -> dict:
    if version_key(version) >= (2, 64):
        return {"server_group": {"name": world.name("grp"), "policy": "anti-affinity",
                                 "rules": {"max_server_per_host": 1}}}
    return {"server_group": {"name": world.name("grp"), "policies": ["anti-affinity"]}}


# Nova's 2.64 samples show an anti-affinity group with max_server_per_host, its 2.71 sample (from the servers tests) a
# group with no rules; groups of every version share the module's project, so the list shows both kinds: data.
GROUP_RULES = ("missing server_groups[].rules.max_server_per_host", "extra server_group.rules.max_server_per_host")


async def _create_server_group(world: World, version: str) -> Call:
    return Call("/os-server-groups", _server_group_body(world, version), optional=GROUP_RULES)


async def _server_group(world: World, version: str) -> Call:
    made = await world.call("POST", "/os-server-groups", _server_group_body(world, version), version=version, ok=200)
    group_id = made["server_group"]["id"]
    body = {"server": {"name": world.name("member"), "imageRef": world.image_id, "flavorRef": "42"},
            "os:scheduler_hints": {"group": group_id}}
    await world.call("POST", "/servers", body, ok=202)  # a member, so `members` has an item as in Nova's samples
    await world.idle()
    return Call(f"/os-server-groups/{group_id}")


async def _server_groups(world: World, version: str) -> Call:
    await _server_group(world, version)
    return Call("/os-server-groups", optional=GROUP_RULES)


async def _server_migration(world: World, version: str) -> Call:
    return Call(f"/servers/{world.server_id}/migrations/1", awaiting="a one-host cloud never migrates a server",
                status=404)


COMPUTE_BINARY = {"binary": "nova-compute"}
# Before 2.48 diagnostics are keyed by device names and memoryStats() keys (data): the test driver's domain has a
# disk hda, no NIC, and memory statistics Nova's sample domain did not show
LEGACY_DIAGNOSTICS = (
    *(f"missing vnet1_{c}" for c in ("rx", "rx_drop", "rx_errors", "rx_packets", "tx", "tx_drop", "tx_errors",
                                     "tx_packets")),
    *(f"extra hda_{c}" for c in ("errors", "read", "read_req", "write", "write_req")),
    *(f"extra memory-{k}" for k in ("actual", "available", "disk_caches", "hugetlb_pgalloc", "hugetlb_pgfail",
                                    "last_update", "major_fault", "minor_fault", "rss", "swap_in", "swap_out",
                                    "unused", "usable")))
async def _floating_ip(world: World) -> str:
    """A new floating IP of the world's project, from the external network (`public`, the oracle world's)."""
    return (await world.call("POST", "/os-floating-ips", {"pool": "public"}, ok=200))["floating_ip"]["id"]


async def _routed(world: World) -> None:
    """The world's private subnet behind a router on the external network (once), so floating IPs reach it."""
    if getattr(world, "routed", False):
        return
    headers = {"X-Auth-Token": world.admin}
    client = world.api.client
    nets = await (await client.get("/networking/v2.0/networks?router:external=true", headers=headers)).json()
    subnets = await (await client.get(f"/networking/v2.0/subnets?network_id={world.network_id}",
                                      headers=headers)).json()
    body = {"router": {"name": "oracle", "external_gateway_info": {"network_id": nets["networks"][0]["id"]}}}
    router = (await (await client.post("/networking/v2.0/routers", json=body, headers=headers)).json())["router"]
    resp = await client.put(f"/networking/v2.0/routers/{router['id']}/add_router_interface",
                            json={"subnet_id": subnets["subnets"][0]["id"]}, headers=headers)
    assert resp.status == 200, await resp.text()
    world.routed = True


async def _floating_action(world: World, version: str, remove: bool) -> Call:
    await _routed(world)
    server_id = await world.server()
    fip_id = await _floating_ip(world)
    address = (await world.call("GET", f"/os-floating-ips/{fip_id}", ok=200))["floating_ip"]["ip"]
    if remove:
        await world.call("POST", f"/servers/{server_id}/action", {"addFloatingIp": {"address": address}}, ok=202)
    key = "removeFloatingIp" if remove else "addFloatingIp"
    return Call(f"/servers/{server_id}/action", {key: {"address": address}})


async def _add_floating_ip(world: World, version: str) -> Call:
    return await _floating_action(world, version, remove=False)


async def _remove_floating_ip(world: World, version: str) -> Call:
    return await _floating_action(world, version, remove=True)


async def _floating_ips(world: World, version: str) -> Call:
    await _floating_ip(world)
    return Call("/os-floating-ips")


async def _create_floating_ip(world: World, version: str) -> Call:
    return Call("/os-floating-ips", {"pool": "public"})


async def _one_floating_ip(world: World, version: str) -> Call:
    return Call(f"/os-floating-ips/{await _floating_ip(world)}")


async def _create_group(world: World, version: str) -> Call:
    return Call("/os-security-groups", {"security_group": {"name": world.name("sg"), "description": "oracle"}})


async def _add_group(world: World, version: str) -> Call:
    return Call(f"/servers/{await world.server()}/action", {"addSecurityGroup": {"name": await world.security_group()}})


def _group(body: Any = None) -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(f"/os-security-groups/{await world.security_group()}", body)
    return case


async def _create_group_rule(world: World, version: str) -> Call:
    return Call("/os-security-group-rules", {"security_group_rule": {
        "parent_group_id": await world.security_group(), "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
        "cidr": "198.18.0.0/24"}})


async def _group_rule(world: World, version: str) -> Call:
    return Call(f"/os-security-group-rules/{await world.security_group_rule()}")


async def _create_default_rule(world: World, version: str) -> Call:
    port = next(world.names)
    return Call("/os-security-group-default-rules", {"security_group_default_rule": {
        "ip_protocol": "udp", "from_port": port, "to_port": port, "cidr": "198.18.0.0/16"}})


async def _default_rule(world: World, version: str) -> Call:
    return Call(f"/os-security-group-default-rules/{await world.default_rule()}")


NIC_COUNTERS = ("rx", "rx_drop", "rx_errors", "rx_packets", "tx", "tx_drop", "tx_errors", "tx_packets")


async def _diagnostics(world: World, version: str) -> Call:
    """Before 2.48 the NIC counters are keyed by the tap's name (data): the server's own taps stand for vnet1."""
    legacy = await world.call("GET", f"/servers/{world.server_id}/diagnostics", ok=200)
    taps = {key[:-3] for key in legacy if key.endswith("_rx")}
    named = tuple(f"extra {tap}_{counter}" for tap in taps for counter in NIC_COUNTERS)
    return Call(f"/servers/{world.server_id}/diagnostics", optional=LEGACY_DIAGNOSTICS + named)


CASES: dict[tuple[str, str, str | None], Case] = {
    ("GET", "/", None): _fixed("/"),
    ("GET", "/extensions", None): _fixed("/extensions"),
    ("GET", "/extensions/{alias}", None): _fixed("/extensions/os-keypairs"),
    ("GET", "/limits", None): _fixed("/limits"),
    ("GET", QUOTAS, None): _fixed("/os-quota-sets/{quotas}"),
    ("GET", QUOTAS + "/defaults", None): _fixed("/os-quota-sets/{quotas}/defaults"),
    ("GET", QUOTAS + "/detail", None): _fixed("/os-quota-sets/{quotas}/detail"),
    ("PUT", QUOTAS, None): _fixed("/os-quota-sets/{quotas}", {"quota_set": {"instances": 12}}),
    ("DELETE", QUOTAS, None): _fixed("/os-quota-sets/{quotas}"),
    ("GET", "/os-quota-class-sets/{id}", None): _fixed("/os-quota-class-sets/default"),
    ("PUT", "/os-quota-class-sets/{id}", None): _fixed("/os-quota-class-sets/oracle",
                                                       {"quota_class_set": {"instances": 10}}),
    ("GET", "/flavors", None): _fixed("/flavors"),
    ("GET", "/flavors/detail", None): _fixed("/flavors/detail"),
    ("GET", FLAVOR, None): _fixed("/flavors/1"),
    ("POST", "/flavors", None): _create_flavor,
    ("PUT", FLAVOR, None): _specs("", None, "PUT"),
    ("DELETE", FLAVOR, None): _delete_flavor,
    ("GET", FLAVOR + "/os-flavor-access", None): _access_list,
    ("POST", FLAVOR + "/action", "addTenantAccess"): _add_access,
    ("POST", FLAVOR + "/action", "removeTenantAccess"): _remove_access,
    ("GET", SPECS, None): _specs(""),
    ("POST", SPECS, None): _specs("", {"extra_specs": {"hw:mem_page_size": "small"}}),
    ("GET", SPECS + "/{key}", None): _specs("/hw:cpu_policy"),
    ("PUT", SPECS + "/{key}", None): _specs("/hw:cpu_policy", {"hw:cpu_policy": "dedicated"}),
    ("DELETE", SPECS + "/{key}", None): _specs("/hw:cpu_policy"),
    ("GET", "/os-keypairs", None): _keypairs,
    ("POST", "/os-keypairs", None): _create_keypair,
    ("GET", "/os-keypairs/{keypair_name}", None): _keypair,
    ("DELETE", "/os-keypairs/{keypair_name}", None): _keypair,
    ("GET", "/os-availability-zone", None): _fixed("/os-availability-zone"),
    ("GET", "/os-availability-zone/detail", None): _fixed("/os-availability-zone/detail"),
    ("GET", "/images", None): _fixed("/images"),
    ("GET", "/images/detail", None): _fixed("/images/detail"),
    ("GET", IMAGE, None): _fixed("/images/{image}", optional=NO_AUTO_DISK_CONFIG),
    ("DELETE", IMAGE, None): _delete_image,
    ("GET", IMAGE + "/metadata", None): _fixed("/images/{image}/metadata"),
    ("POST", IMAGE + "/metadata", None): _fixed("/images/{image}/metadata", {"metadata": {"os": "linux"}}),
    ("PUT", IMAGE + "/metadata", None): _fixed("/images/{image}/metadata", {"metadata": {"os": "linux"}}),
    ("GET", IMAGE + "/metadata/{key}", None): _image_meta_item(),
    ("PUT", IMAGE + "/metadata/{key}", None): _image_meta_item({"meta": {"color": "red"}}),
    ("DELETE", IMAGE + "/metadata/{key}", None): _image_meta_item(),
    ("GET", "/servers", None): _fixed("/servers", optional=NOT_A_FULL_PAGE),
    ("GET", "/servers/detail", None): _server_view("/servers/detail", "servers[]", optional=NOT_A_FULL_PAGE),
    ("POST", "/servers", None): _create_server,
    ("POST", "/os-volumes_boot", None): _create_server_by_volumes_boot,
    ("GET", SERVER, None): _server_view("/servers/{server}", "server"),
    ("PUT", SERVER, None): _update_server,
    ("DELETE", SERVER, None): _fresh_server,
    ("POST", ACTION, "reboot"): _action({"reboot": {"type": "SOFT"}}),
    ("POST", ACTION, "os-stop"): _action({"os-stop": None}),
    ("POST", ACTION, "os-start"): _action({"os-start": None}, stopped=True),
    ("POST", ACTION, "pause"): _action({"pause": None}),
    ("POST", ACTION, "unpause"): _action_after({"unpause": None}, {"pause": None}),
    ("POST", ACTION, "suspend"): _action({"suspend": None}),
    ("POST", ACTION, "resume"): _action_after({"resume": None}, {"suspend": None}),
    ("POST", ACTION, "lock"): _action({"lock": None}),
    ("POST", ACTION, "unlock"): _action_after({"unlock": None}, {"lock": None}),
    ("POST", ACTION, "forceDelete"): _action({"forceDelete": None}),
    ("POST", ACTION, "restore"): _restore,
    ("POST", ACTION, "trigger_crash_dump"): _action({"trigger_crash_dump": None}),
    ("POST", ACTION, "changePassword"): _change_password,
    ("POST", ACTION, "createImage"): _action({"createImage": {"name": "snap", "metadata": {"meta_var": "v"}}},
                                             stopped=True),
    ("POST", ACTION, "createBackup"): _action({"createBackup": {"name": "bk", "backup_type": "daily",
                                                                "rotation": 1}}, stopped=True),
    ("POST", ACTION, "resize"): _action({"resize": {"flavorRef": "1"}}),
    ("POST", ACTION, "confirmResize"): _action_after({"confirmResize": None}, {"resize": {"flavorRef": "1"}}),
    ("POST", ACTION, "revertResize"): _action_after({"revertResize": None}, {"resize": {"flavorRef": "1"}}),
    ("POST", ACTION, "shelve"): _action({"shelve": None}),
    ("POST", ACTION, "shelveOffload"): _shelve_offload,
    ("POST", ACTION, "unshelve"): _action_after({"unshelve": None}, {"shelve": None}),
    ("POST", ACTION, "rebuild"): _rebuild,
    ("POST", ACTION, "rescue"): _action({"rescue": {"adminPass": "MySecretPass"}}),
    ("POST", ACTION, "unrescue"): _unrescue,
    ("GET", SERVER + "/topology", None): _fixed("/servers/{server}/topology"),
    ("GET", SERVER + "/os-instance-actions", None): _fixed("/servers/{server}/os-instance-actions"),
    ("GET", SERVER + "/os-instance-actions/{request_id}", None): _instance_action,
    ("POST", ACTION, "os-getConsoleOutput"): _fixed("/servers/{server}/action", {"os-getConsoleOutput": {}}),
    ("POST", ACTION, "os-getVNCConsole"): _console({"os-getVNCConsole": {"type": "novnc"}}),
    ("POST", ACTION, "os-getSerialConsole"): _console({"os-getSerialConsole": {"type": "serial"}}),
    ("POST", SERVER + "/remote-consoles", None): _console({"remote_console": {"protocol": "vnc", "type": "novnc"}}),
    ("GET", SERVER + "/metadata", None): _fixed("/servers/{server}/metadata"),
    ("PUT", SERVER + "/metadata", None): _fixed("/servers/{server}/metadata", {"metadata": {"role": "oracle"}}),
    ("POST", SERVER + "/metadata", None): _fixed("/servers/{server}/metadata", {"metadata": {"zone": "a"}}),
    ("GET", SERVER + "/metadata/{key}", None): _server_meta_item(),
    ("PUT", SERVER + "/metadata/{key}", None): _server_meta_item({"meta": {"tier": "web"}}),
    ("DELETE", SERVER + "/metadata/{key}", None): _server_meta_item(),
    ("GET", SERVER + "/tags", None): _tags(""),
    ("PUT", SERVER + "/tags", None): _tags("", {"tags": ["red", "green"]}),
    ("DELETE", SERVER + "/tags", None): _tags(""),
    ("GET", SERVER + "/tags/{tag}", None): _tags("/blue"),
    ("PUT", SERVER + "/tags/{tag}", None): _tags("/red"),
    ("DELETE", SERVER + "/tags/{tag}", None): _tags("/blue"),
    ("GET", SERVER + "/ips", None): _fixed("/servers/{server}/ips"),
    ("GET", SERVER + "/ips/{network_label}", None): _ips_by_label,
    ("GET", "/os-volumes", None): _volumes("/os-volumes"),
    ("GET", "/os-volumes/detail", None): _volumes("/os-volumes/detail"),
    ("POST", "/os-volumes", None): _volumes("/os-volumes", body={"volume": {"size": 1, "display_name": "n"}}),
    ("GET", "/os-volumes/{volume_id}", None): _volumes("/os-volumes/{volume}"),
    ("DELETE", "/os-volumes/{volume_id}", None): _volumes("/os-volumes/{volume}"),
    ("GET", "/os-snapshots", None): _snapshots("/os-snapshots"),
    ("GET", "/os-snapshots/detail", None): _snapshots("/os-snapshots/detail"),
    ("POST", "/os-snapshots", None): _create_snapshot,
    ("GET", SERVER + "/os-volume_attachments", None): _attachments("/servers/{server}/os-volume_attachments"),
    ("POST", SERVER + "/os-volume_attachments", None): _attachments("/servers/{server}/os-volume_attachments",
                                                                    attach=False),
    ("GET", SERVER + "/os-volume_attachments/{volume_id}", None): _attachments(
        "/servers/{server}/os-volume_attachments/{volume}"),
    ("PUT", SERVER + "/os-volume_attachments/{volume_id}", None): _swap,
    ("DELETE", SERVER + "/os-volume_attachments/{volume_id}", None): _attachments(
        "/servers/{server}/os-volume_attachments/{volume}"),
    ("GET", "/os-snapshots/{snapshot_id}", None): _snapshots("/os-snapshots/{snapshot}"),
    ("DELETE", "/os-snapshots/{snapshot_id}", None): _snapshots("/os-snapshots/{snapshot}"),
    ("GET", "/os-hypervisors", None): _hypervisors(""),
    ("GET", "/os-hypervisors/detail", None): _hypervisors("/detail"),
    ("GET", "/os-hypervisors/statistics", None): _fixed("/os-hypervisors/statistics"),
    ("GET", "/os-hypervisors/{hypervisor_id}", None): _hypervisor(),
    ("GET", "/os-hypervisors/{hypervisor_id}/uptime", None): _hypervisor("/uptime"),
    ("GET", "/os-hypervisors/{pattern}/search", None): _by_pattern("/search"),
    ("GET", "/os-hypervisors/{pattern}/servers", None): _by_pattern("/servers"),
    ("GET", SERVER + "/diagnostics", None): _diagnostics,
    ("GET", SERVER + "/os-server-password", None): _fixed("/servers/{server}/os-server-password"),
    ("DELETE", SERVER + "/os-server-password", None): _fixed("/servers/{server}/os-server-password"),
    ("GET", "/os-simple-tenant-usage", None): _fixed("/os-simple-tenant-usage?detailed=1&start=2020-01-01T00:00:00",
                                                     optional=("missing tenant_usages_links",)),
    ("GET", "/os-simple-tenant-usage/{tenant_id}", None): _fixed(
        "/os-simple-tenant-usage/{project}?start=2020-01-01T00:00:00", optional=("missing tenant_usage_links",)),
    ("GET", "/os-migrations", None): _fixed("/os-migrations"),
    ("GET", "/os-aggregates", None): _fixed("/os-aggregates"),
    ("GET", SERVER + "/migrations", None): _fixed("/servers/{server}/migrations"),
    ("GET", SERVER + "/migrations/{migration_id}", None): _server_migration,
    ("GET", "/os-server-groups", None): _server_groups,
    ("POST", "/os-server-groups", None): _create_server_group,
    ("GET", "/os-server-groups/{server_group_id}", None): _server_group,
    ("DELETE", "/os-server-groups/{server_group_id}", None): _server_group,
    ("GET", "/os-services", None): _fixed("/os-services"),
    ("PUT", "/os-services/enable", None): _service_update({"path": "enable", "body": COMPUTE_BINARY}),
    ("PUT", "/os-services/disable", None): _service_update({"path": "disable", "body": COMPUTE_BINARY}),
    ("PUT", "/os-services/disable-log-reason", None): _service_update(
        {"path": "disable-log-reason", "body": {**COMPUTE_BINARY, "disabled_reason": "maintenance"}}),
    ("PUT", "/os-services/force-down", None): _service_update(
        {"path": "force-down", "body": {**COMPUTE_BINARY, "forced_down": True}}),
    ("PUT", "/os-services/{service_id}", None): _update_service,
    ("DELETE", "/os-services/{service_id}", None): _delete_service,
    ("GET", SERVER + "/os-interface", None): _fixed("/servers/{server}/os-interface"),
    ("POST", SERVER + "/os-interface", None): _attach_interface,
    ("GET", SERVER + "/os-interface/{port_id}", None): _interface,
    ("DELETE", SERVER + "/os-interface/{port_id}", None): _detach_interface,
    ("GET", SERVER + "/os-security-groups", None): _fixed("/servers/{server}/os-security-groups"),
    ("POST", ACTION, "addSecurityGroup"): _add_group,
    ("POST", ACTION, "removeSecurityGroup"): _action({"removeSecurityGroup": {"name": "default"}}),
    ("POST", ACTION, "addFloatingIp"): _add_floating_ip,
    ("POST", ACTION, "removeFloatingIp"): _remove_floating_ip,
    ("GET", "/os-networks", None): _fixed("/os-networks"),
    ("GET", "/os-networks/{network_id}", None): _fixed("/os-networks/{network}"),
    ("GET", "/os-tenant-networks", None): _fixed("/os-tenant-networks"),
    ("GET", "/os-tenant-networks/{network_id}", None): _fixed("/os-tenant-networks/{network}"),
    ("GET", "/os-floating-ips", None): _floating_ips,
    ("POST", "/os-floating-ips", None): _create_floating_ip,
    ("GET", "/os-floating-ips/{floating_ip_id}", None): _one_floating_ip,
    ("DELETE", "/os-floating-ips/{floating_ip_id}", None): _one_floating_ip,
    ("GET", "/os-floating-ip-pools", None): _fixed("/os-floating-ip-pools"),
    ("GET", "/os-security-groups", None): _fixed("/os-security-groups"),
    ("POST", "/os-security-groups", None): _create_group,
    ("GET", "/os-security-groups/{security_group_id}", None): _group(),
    ("PUT", "/os-security-groups/{security_group_id}", None): _group(
        {"security_group": {"name": "renamed", "description": "oracle"}}),
    ("DELETE", "/os-security-groups/{security_group_id}", None): _group(),
    ("POST", "/os-security-group-rules", None): _create_group_rule,
    ("DELETE", "/os-security-group-rules/{security_group_rule_id}", None): _group_rule,
    ("GET", "/os-security-group-default-rules", None): _fixed("/os-security-group-default-rules"),
    ("POST", "/os-security-group-default-rules", None): _create_default_rule,
    ("GET", "/os-security-group-default-rules/{security_group_default_rule_id}", None): _default_rule,
    ("DELETE", "/os-security-group-default-rules/{security_group_default_rule_id}", None): _default_rule,
}
