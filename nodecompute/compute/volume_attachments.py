"""Volume attachments (Nova's os-volume_attachments, #1101-#1105): a volume hot-plugged into a server's guest.

Attach (Nova's attach_volume with Cinder's attachment flow on one host): the volume moves available -> attaching
and the attachment row is written in one transaction, then under the server's lock the device name is chosen
(disk_devices.next_device_name over the domain's disks: the requested one when free, else the next free vdX) and
the virtio disk is plugged (LIVE|CONFIG on a running or paused guest, CONFIG on a stopped one); then the row gets
its device and the volume goes in-use. The device name's faults come before the answer (Nova's
reserve_block_device_name); a failed plug does not fail the request (Nova's compute attaches after the answer):
the volume is available again, the row removed, and the `attach_volume` instance action's `compute_attach_volume`
event records the error.

Detach answers 202 at once (the volume is detaching) and unplugs in the background: Nova's retry loop
(`[volume] detach_attempts` x `detach_wait_seconds`) until the guest lets go; then the row goes and the volume is
available. A guest that never lets go keeps the disk, and the volume goes back to in-use.

A server's domain is always designed with its attached volumes after its local disks (Guests.volume_disks), so a
hard reboot or a start keeps them; deleting a server detaches its volumes (available again) or, for attachments
made with delete_on_termination, deletes them.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Protocol

from nodecompute.compute import attachment_records as records
from nodecompute.compute.block_storage import BlockStorage
from nodecompute.compute.guests import crash_point
from nodecompute.compute.root_volumes import RootVolumes
from nodecompute.compute.server_access import check_writable
from nodecompute.compute.servers import ServerService
from nodecompute.compute.volume_attach_side import AttachedDisk
from nodecompute.compute.volume_backed_images import VolumeBackedImages
from nodecompute.compute.volume_boot import VolumeBoot, disk_pci_slots
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import states
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import BadRequest, Conflict, Forbidden, InstanceInvalidState, NotFound
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server
from nodecompute.db import servers as servers_db
from nodecompute.virt import designer, domain_xml
from nodecompute.virt.disk_devices import next_device_name
from nodecompute.virt.errors import DeviceStillAttached, DomainNotFound, InvalidDevicePath, TooManyDisks

log = logging.getLogger(__name__)
SWAPPABLE = (states.ACTIVE, states.PAUSED_VM, states.RESIZED)  # Nova's swap_volume vm_states
ATTACHABLE = (states.ACTIVE, states.PAUSED_VM, states.STOPPED, states.RESIZED, states.SOFT_DELETED, states.SHELVED,
              states.SHELVED_OFFLOADED)  # Nova's attach_volume/detach_volume vm_states (task_state None)
LIVE = (states.ACTIVE, states.PAUSED_VM)  # a domain that runs: the plug is live too
ROOT_DEVICE = "/dev/vda"
MAX_DISKS = 26 * 27  # vda ... vdzz
GIB = 1024 ** 3


class DiskPlug(Protocol):
    """The hot-plug calls (virt/disk_devices.py in the daemon; tests on libvirt's test driver record them)."""

    async def used_names(self, domain: str) -> set[str]: ...

    async def plug(self, domain: str, path: str, target: str, serial: str) -> None: ...

    async def unplug(self, domain: str, target: str) -> None: ...

    async def target_of(self, domain: str, path: str) -> str | None:
        """The domain's disk (live or defined) whose source is `path`; None when it has none (or no domain)."""

    async def move(self, domain: str, target: str, path: str, size_bytes: int) -> None:
        """Swap: the running domain's disk `target` copied onto the volume file `path` and pivoted there (live and
        in the definition), then grown to size_bytes when that is larger."""


class VolumeAttachments:
    def __init__(self, servers: ServerService, blocks: BlockStorage, plug: DiskPlug, clock: Clock) -> None:
        self.servers = servers
        self.store = servers.store
        self.blocks = blocks
        self.plug = plug
        self.clock = clock
        servers.guests.volume_disks = self.guest_disks
        servers.guests.disks_named = self.record_names
        servers.release_volumes = self.release_server
        servers.volume_boot = VolumeBoot(self.store, blocks, clock)
        servers.rebuilds.root_volumes = servers.rescues.root_volumes = RootVolumes(self.store, blocks, clock)
        servers.images_of.volume_backed = VolumeBackedImages(self.store, blocks, servers.images)

    # reads ------------------------------------------------------------------------------------------------------

    def list(self, ctx: AuthContext, server_id: str) -> list[vm.Attachment]:
        server = self.servers.get(ctx, server_id)
        return self.store.read(attachments_db.of_server, server.uuid)

    def get(self, ctx: AuthContext, server_id: str, volume_id: str) -> vm.Attachment:
        server = self.servers.get(ctx, server_id)
        found = self.store.read(attachments_db.find, server.uuid, volume_id)
        if found is None:
            raise NotFound(f"Instance {server_id} is not attached to volume {volume_id}")
        return found

    def guest_disks(self, server_uuid: str) -> list[designer.GuestDisk]:
        """The attached volumes as the domain's disks, after the local ones (each keeps its device name)."""
        attached = [a for a in self.store.read(attachments_db.of_server, server_uuid) if a.attached_at is not None]
        slots = disk_pci_slots(attached)  # tagged ones at the address their device metadata names
        attached.sort(key=lambda a: a.boot_index != 0)  # a volume-backed server's root first (Guests.disks: vda)
        return [designer.GuestDisk(str(self.blocks.volumes.files.volume_path(a.volume_id)), "qcow2",
                                   bus=a.disk_bus or designer.LOCAL_DISK_BUS, serial=a.volume_id[:20],
                                   requested=a.device, pci_slot=slots.get(a.id))
                for a in attached]

    def disk_of(self, volume_id: str) -> AttachedDisk | None:
        """block storage's AttachedDisks: the running domain's disk that is this volume."""
        for attachment in self.store.read(attachments_db.of_volume, volume_id):
            server = self._live_server(attachment.server_id)
            if server is not None and server.vm_state in LIVE and attachment.device:
                return AttachedDisk(server.instance_name, attachment.device.removeprefix("/dev/"))
        return None

    # attach -----------------------------------------------------------------------------------------------------

    async def attach(self, ctx: AuthContext, server_id: str, req: vm.AttachRequest, *,
                     shelved_ok: bool = True, multiattach_ok: bool = True) -> vm.Attachment:
        """`shelved_ok`: a shelved server takes volumes (Nova from 2.20); `multiattach_ok`: the request may name a
        multiattach volume (Nova from 2.60). This host cannot share a volume between guests (libvirt shares only
        raw disks; volumes are qcow2), so a multiattach volume is refused as Nova refuses it on a compute whose
        driver lacks the capability."""
        server = self._writable(ctx, server_id, "attach_volume", shelved_ok)
        volume = self.blocks.volumes.get(ctx, req.volume_id)
        if volume.multiattach:
            raise BadRequest("Multiattach volumes are only supported starting with compute API version 2.60."
                             if not multiattach_ok else
                             f"Volume {volume.id} has 'multiattach' set, which is not supported for this instance.")
        if req.tag and server.vm_state == states.SHELVED_OFFLOADED:
            raise BadRequest("Tagged volume attachment is not supported for shelved-offloaded instances.")
        attachment = vm.Attachment(id=str(uuid.uuid4()), volume_id=volume.id, server_id=server.uuid, device=None,
                                   attached_at=None, attached_host=server.host, tag=req.tag,
                                   delete_on_termination=req.delete_on_termination)
        await self.store.write(records.reserve_tx, attachment, self.clock())
        try:
            async with self.servers.tasks.lock(server.uuid):
                current = self._live_server(server.uuid) or server
                target = await self._device_for(current, req.device)  # Nova's reserve_block_device_name: faults now
                action_id = await self.servers.action_log.start(ctx, server, "attach_volume")
                try:
                    async with self.servers.action_log.event(action_id, "compute_attach_volume"):
                        if current.vm_state != states.SHELVED_OFFLOADED:
                            await self.plug.plug(current.instance_name,
                                                 str(self.blocks.volumes.files.volume_path(volume.id)),
                                                 target.removeprefix("/dev/"), volume.id)
                        crash_point("volume_plugged")
                except Exception as exc:  # Nova's compute fails after the answer: the volume available again
                    log.error("attach of volume %s to server %s failed: %s", volume.id, server.uuid, exc)
                    await self.store.write(records.unreserve_tx, attachment, self.clock())
                    return replace(attachment, device=target or None)
        except BaseException:
            await self.store.write(records.unreserve_tx, attachment, self.clock())
            raise
        await self.store.write(records.attached_tx, attachment, target, self.clock())
        log.info("volume %s attached to server %s as %s", volume.id, server.uuid, target)
        return self.store.read(attachments_db.find, server.uuid, volume.id)

    async def record_names(self, server: Server, named: tuple[domain_xml.DiskSpec, ...]) -> None:
        """A volume attached while the server had no domain (shelved offloaded, or a create's volume: issue 20) gets
        the device name its defined domain gave it (Nova names such mappings at unshelve and at build)."""
        targets = {disk.path: disk.target for disk in named}
        for attachment in self.store.read(attachments_db.of_server, server.uuid):
            target = targets.get(str(self.blocks.volumes.files.volume_path(attachment.volume_id)))
            if attachment.attached_at is not None and target and attachment.device != f"/dev/{target}":
                await self.store.write(attachments_db.set_device, attachment.id, f"/dev/{target}")

    async def _device_for(self, server: Server, requested: str | None) -> str:
        """The device the volume will be (Nova's reserve_block_device_name, before the answer)."""
        if server.vm_state == states.SHELVED_OFFLOADED:  # no domain: the device is chosen at unshelve
            return requested or ""
        try:
            used = await self.plug.used_names(server.instance_name)
        except DomainNotFound:  # the reconciler puts such a server right; nothing to plug into meanwhile
            raise Conflict(f"Cannot 'attach_volume' instance {server.uuid}: its domain is not on this host") from None
        try:
            target = next_device_name(used, requested=requested, max_devices=MAX_DISKS)
        except InvalidDevicePath as exc:
            raise (Conflict(str(exc)) if exc.in_use else BadRequest(str(exc))) from None
        except TooManyDisks as exc:
            raise Forbidden(str(exc)) from None
        return f"/dev/{target}"

    # update and swap (#1104) ------------------------------------------------------------------------------------

    async def update(self, ctx: AuthContext, server_id: str, volume_id: str, changes: vm.AttachmentChanges) -> None:
        """2.85: the attachment's fields as the GET shows them; only delete_on_termination may change."""
        server = self.servers.get(ctx, server_id)
        attachment = self.store.read(attachments_db.find, server.uuid, volume_id)
        if attachment is None:
            raise NotFound(f"No volume Block Device Mapping with id {volume_id}.")
        for name, current in (("id", volume_id), ("serverId", server.uuid), ("device", attachment.device),
                              ("tag", attachment.tag)):
            if name in changes.given and changes.given[name] != current:
                raise BadRequest(f"The {name} property is not mutable")
        if changes.delete_on_termination is not None:
            await self.store.write(attachments_db.set_delete_on_termination, attachment.id,
                                   changes.delete_on_termination)

    async def swap(self, ctx: AuthContext, server_id: str, old_id: str, new_id: str) -> None:
        """Nova's swap_volume: the running guest's disk moves from the old volume onto the new one with its data
        (a block copy and a pivot, in the background); the old volume is then available, the new one in-use
        with the old attachment's device, tag and delete_on_termination."""
        server = self.servers.get(ctx, server_id)
        old = self.blocks.volumes.get(ctx, old_id)
        try:
            new = self.blocks.volumes.get(ctx, new_id)
        except NotFound as exc:
            raise BadRequest(str(exc)) from None  # a body's missing resource is a bad request (Nova)
        check_writable(ctx, server)
        if server.vm_state not in SWAPPABLE or server.task_state is not None:
            attr, state = ("vm_state", server.vm_state) if server.vm_state not in SWAPPABLE else \
                ("task_state", server.task_state)
            raise InstanceInvalidState(action="swap_volume", uuid=server.uuid, attr=attr, state=state)
        attachment = next((a for a in old.attachments if a.server_id == server.uuid), None)
        if attachment is None:
            raise BadRequest("Invalid volume: Old volume is attached to a different instance.")
        if new.attachments:
            raise BadRequest("Invalid volume: New volume must be detached in order to swap.")
        if new.size < old.size:
            raise BadRequest("Invalid volume: New volume must be the same size or larger.")
        if len(old.attachments) > 1:
            raise BadRequest("Swapping multi-attach volumes with more than one read/write attachment is not "
                             "supported.")
        incoming = records.swap_in(attachment, new.id, str(uuid.uuid4()))
        await self.store.write(records.begin_swap_tx, attachment, incoming, self.clock())
        action_id = await self.servers.action_log.start(ctx, server, "swap_volume")
        self.blocks.jobs.start(f"swap of volume {old.id} for {new.id}",
                               self._move(server, attachment, incoming, new.size, action_id))

    async def _move(self, server: Server, old: vm.Attachment, new: vm.Attachment, size_gb: int,
                    action_id: int) -> None:
        async with self.servers.tasks.lock(server.uuid):
            try:
                async with self.servers.action_log.event(action_id, "compute_swap_volume"):
                    current = self._live_server(server.uuid)
                    if current is None or current.vm_state not in SWAPPABLE or not old.device:
                        raise Conflict(f"Cannot 'swap_volume' instance {server.uuid}: it no longer runs")
                    await self.plug.move(current.instance_name, old.device.removeprefix("/dev/"),
                                         str(self.blocks.volumes.files.volume_path(new.volume_id)), size_gb * GIB)
            except Exception as exc:
                log.error("swap of volume %s for %s on server %s failed: %s", old.volume_id, new.volume_id,
                          server.uuid, exc)
                await self.store.write(records.undo_swap_tx, old, new, self.clock())
                return
            await self.store.write(records.end_swap_tx, old, new, self.clock())
            log.info("volume %s swapped for %s on server %s", old.volume_id, new.volume_id, server.uuid)

    # detach -----------------------------------------------------------------------------------------------------

    async def detach(self, ctx: AuthContext, server_id: str, volume_id: str, *, shelved_ok: bool = True) -> None:
        server = self._writable(ctx, server_id, "detach_volume", shelved_ok)
        self.blocks.volumes.get(ctx, volume_id)  # 404 for a volume that is not there (Nova asks Cinder)
        attachment = self.get(ctx, server.uuid, volume_id)
        if attachment.boot_index == 0 or (server.volume_backed and attachment.device == ROOT_DEVICE):
            raise BadRequest("Cannot detach a root device volume")  # Nova's InvalidVolume for the root BDM
        moved = await self.store.write(volumes_db.update_volume, volume_id, {"status": vm.DETACHING}, (vm.IN_USE,),
                                       now=self.clock())
        if moved is None:
            status = self.blocks.volumes.get(ctx, volume_id).status
            raise BadRequest(f"Invalid volume: Unable to detach volume. Volume status must be 'in-use' and "
                             f"attach_status must be 'attached' to detach. Currently: status: '{status}'")
        self.blocks.jobs.start(f"detach of volume {volume_id}", self._unplug(server, attachment))

    async def _unplug(self, server: Server, attachment: vm.Attachment) -> None:
        async with self.servers.tasks.lock(server.uuid):
            current = self._live_server(server.uuid)
            try:
                if current is not None and current.vm_state != states.SHELVED_OFFLOADED and attachment.device:
                    await self.plug.unplug(current.instance_name, attachment.device.removeprefix("/dev/"))
            except Exception as exc:
                level = logging.WARNING if isinstance(exc, DeviceStillAttached) else logging.ERROR
                log.log(level, "detach of volume %s from server %s failed: %s", attachment.volume_id, server.uuid,
                        exc, exc_info=not isinstance(exc, DeviceStillAttached))
                await self.store.write(volumes_db.update_volume, attachment.volume_id, {"status": vm.IN_USE},
                                       (vm.DETACHING,), now=self.clock())
                return
            crash_point("volume_unplugged")
            await self.store.write(records.detached_tx, attachment, self.clock())
            log.info("volume %s detached from server %s", attachment.volume_id, server.uuid)

    async def release_server(self, server: Server) -> None:
        """A deleted server's volumes (its domain is gone): available again, or deleted with
        delete_on_termination (Nova's _local_cleanup_bdm_volumes)."""
        for attachment in self.store.read(attachments_db.of_server, server.uuid):
            await self.store.write(records.detached_tx, attachment, self.clock())
            if attachment.delete_on_termination:
                try:
                    await self.blocks.volumes.delete(AuthContext.system("nodecompute", self.clock()),
                                                     attachment.volume_id)
                except Exception as exc:  # Nova logs and goes on: the volume stays, available
                    log.warning("volume %s of deleted server %s was not deleted: %s", attachment.volume_id,
                                server.uuid, exc)

    # start ------------------------------------------------------------------------------------------------------

    async def at_start(self) -> None:
        """What a stop or a crash interrupted, settled by what the domain holds: an attach whose plug happened is
        finished (in-use, with the disk's name), else undone (available, no row); a detach whose unplug happened
        is finished (available), else the volume is in-use again (detach it again)."""
        for attachment in self.store.read(attachments_db.pending):
            target = await self._target(attachment)
            if target is None:
                await self.store.write(records.unreserve_tx, attachment, self.clock())
            else:
                await self.store.write(records.attached_tx, attachment, f"/dev/{target}", self.clock())
            log.warning("volume %s was being attached to server %s when the daemon stopped: %s", attachment.volume_id,
                        attachment.server_id, "attached" if target else "not attached")
        for volume in self.store.read(volumes_db.in_status, (vm.DETACHING,)):
            for attachment in self.store.read(attachments_db.of_volume, volume.id):
                if await self._target(attachment) is None:
                    await self.store.write(records.detached_tx, attachment, self.clock())
                else:
                    await self.store.write(volumes_db.update_volume, volume.id, {"status": vm.IN_USE},
                                           (vm.DETACHING,), now=self.clock())
                log.warning("volume %s was being detached when the daemon stopped: now %s", volume.id,
                            self.store.read(volumes_db.get_volume, volume.id).status)

    async def _target(self, attachment: vm.Attachment) -> str | None:
        server = self._live_server(attachment.server_id)
        if server is None:
            return None
        try:
            return await self.plug.target_of(server.instance_name,
                                             str(self.blocks.volumes.files.volume_path(attachment.volume_id)))
        except DomainNotFound:
            return None

    # helpers ----------------------------------------------------------------------------------------------------

    def _writable(self, ctx: AuthContext, server_id: str, action: str, shelved_ok: bool) -> Server:
        server = self.servers.get(ctx, server_id)
        check_writable(ctx, server)
        shelved = server.vm_state in (states.SHELVED, states.SHELVED_OFFLOADED)
        if server.vm_state not in ATTACHABLE or (shelved and not shelved_ok):
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="vm_state", state=server.vm_state)
        if server.task_state is not None:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="task_state", state=server.task_state)
        return server

    def _live_server(self, server_uuid: str) -> Server | None:
        try:
            return self.store.read(servers_db.get_server, server_uuid)
        except NotFound:
            return None
