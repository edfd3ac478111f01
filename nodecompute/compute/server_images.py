"""createImage (#307) and createBackup (#324): a point-in-time copy of a server's root disk becomes an image.

Nova's order: the states are checked (domain/states.py ACTIONS "snapshot" / "backup": ACTIVE, SHUTOFF, PAUSED or
SUSPENDED, no task; no lock check, as Nova), then the image record is made (queued, Nova's snapshot properties),
then the task is compare-and-set and the action recorded; the answer names the image at once. In the background
(server_actions.py runs it as the action's event): the task goes image_snapshot (snapshots only), the root disk is
copied (guests.copy_root_disk: libvirt's backup job while QEMU holds the disk, qemu-img when it is off) while the
image is `saving`, then image_pending_upload and image_uploading while the copy is hashed into the store; the image
turns active and the task clears. A backup then rotates: the backups of the same server and backup_type beyond the
`rotation` newest are deleted (Nova's _rotate_backups). A failure deletes the unfinished image and clears the task:
the server keeps its states (Nova). A stop in the middle is settled at start-up by `abandon` (reconcile.py).
"""
from __future__ import annotations

import logging
import uuid as uuidlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nodecompute.compute.guests import Guests, crash_point
from nodecompute.compute.images import ImageDeletedDuringUpload, ImageService
from nodecompute.compute.server_access import visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state
from nodecompute.db import images as images_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import errors, states
from nodecompute.domain.image_models import QUEUED, SAVING, Image, ImageQuery
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server
from nodecompute.storage.image_files import SNAPSHOT_TEMP_PREFIX

if TYPE_CHECKING:
    from nodecompute.compute.volume_backed_images import VolumeBackedImages

log = logging.getLogger(__name__)

# Nova's NON_INHERITABLE_IMAGE_PROPERTIES and namespaces: never copied from the source image to a snapshot
NON_INHERITABLE = frozenset({"cinder_encryption_key_id", "cinder_encryption_key_deletion_policy", "img_signature",
                             "img_signature_hash_method", "img_signature_key_type", "img_signature_certificate_uuid"})
NON_INHERITABLE_PREFIXES = ("os_glance",)
SNAPSHOT_FORMAT = "qcow2"


@dataclass(frozen=True)
class Backup:
    backup_type: str
    rotation: int


class ServerImages:
    def __init__(self, store: Store, guests: Guests, images: ImageService, actions: ServerActions,
                 clock: Clock) -> None:
        self.store = store
        self.guests = guests
        self.images = images
        self.actions = actions
        self.clock = clock
        self.volume_backed: VolumeBackedImages | None = None  # set by the attachments service (issue 20)

    async def create_image(self, ctx: AuthContext, server_id: str, name: str, metadata: dict[str, str]) -> Image:
        return await self._start(ctx, server_id, "snapshot", name, metadata, None)

    async def create_backup(self, ctx: AuthContext, server_id: str, name: str, backup_type: str, rotation: int,
                            metadata: dict[str, str]) -> Image:
        return await self._start(ctx, server_id, "backup", name, {**metadata, "backup_type": backup_type},
                                 Backup(backup_type, rotation))

    async def _start(self, ctx: AuthContext, server_id: str, action: str, name: str, metadata: dict[str, str],
                     backup: Backup | None) -> Image:
        server = visible_server(self.store, ctx, server_id)
        if not ctx.can_write:
            raise errors.Forbidden("Policy doesn't allow os_compute_api:servers:create_image to be performed.")
        check_state(states.ACTIONS[action], server)
        if server.volume_backed and backup is not None:
            raise errors.BadRequest("Backup is not supported for volume-backed instances.")  # Nova's text
        if server.volume_backed:  # Nova: its volumes snapshotted, an image of size 0 naming them
            return await self._volume_backed(ctx, server, name, metadata)
        image = await self.images.create(ctx, *self._record(ctx, server, name, metadata, backup))
        try:
            await self.actions.begin(ctx, action, server, (None,), work=self._work(ctx, image, backup))
        except BaseException:
            await self.images.delete_unfinished(image.id)
            raise
        return image

    async def _volume_backed(self, ctx: AuthContext, server: Server, name: str, metadata: dict[str, str]) -> Image:
        if self.volume_backed is None:
            raise errors.BadRequest("Snapshots of volume-backed servers are not supported on this host.")
        fields, properties, _ = self._record(ctx, server, name, metadata, None)
        image = await self.volume_backed.create_image(ctx, server, fields, properties)
        await self.actions.begin(ctx, "snapshot", server, (None,), work=_recorded_only)
        return image

    def record(self, ctx: AuthContext, server: Server, name: str, metadata: dict[str, str]
               ) -> tuple[dict, dict[str, str], list[str]]:
        """A snapshot's image record (shelve's "<name>-shelved" too, compute/shelve.py)."""
        return self._record(ctx, server, name, metadata, None)

    def _record(self, ctx: AuthContext, server: Server, name: str, metadata: dict[str, str],
                backup: Backup | None) -> tuple[dict, dict[str, str], list[str]]:
        """Nova's create_image: the source image's inheritable properties, min_disk at least the flavor's root disk,
        then instance_uuid, user_id, image_type and the request's metadata (which win). The image belongs to the
        server's project (Nova shares an admin's snapshot of another project's server with that project)."""
        source = self.store.read(lambda db: images_db.get_image(db, server.image_id, include_deleted=True))
        inherited = {key: value for key, value in (source.properties if source else {}).items()
                     if key not in NON_INHERITABLE and not key.startswith(NON_INHERITABLE_PREFIXES)}
        properties = {**inherited, "base_image_ref": server.image_id, "instance_uuid": server.uuid,
                      "user_id": ctx.user_id, "image_type": "backup" if backup else "snapshot"}
        if ctx.project_id == server.project_id:
            properties.update(owner_project_name=ctx.project_name, owner_user_name=ctx.user_name)
        properties.update(metadata)
        fields = {"name": name, "owner": server.project_id, "visibility": "private",
                  "min_disk": max(source.min_disk if source else 0, server.root_gb),
                  "min_ram": source.min_ram if source else 0}
        if backup is not None and source is not None:  # a snapshot's formats come with its data (Nova)
            fields.update(disk_format=SNAPSHOT_FORMAT, container_format=source.container_format or "bare")
        return fields, properties, []

    def _work(self, ctx: AuthContext, image: Image, backup: Backup | None):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            try:
                await started()
                await self.images.upload_produced(ctx, image.id, lambda: self._produce(server))
            except ImageDeletedDuringUpload:
                # Nova: "Image not found during snapshot"; the server as it was, no fault, a backup still rotates
                log.warning("server %s: image %s was deleted during its snapshot", server.uuid, image.id)
            except BaseException:
                await self.images.delete_unfinished(image.id)
                raise
            if backup is not None:
                await self._rotate(ctx, server, backup)
        return work

    async def _produce(self, server: Server):
        dest = self.images.files.images_dir / f"{SNAPSHOT_TEMP_PREFIX}{uuidlib.uuid4()}"
        try:
            await self.guests.copy_root_disk(server, dest)
            crash_point("snapshot_copied")  # the crash tests' SIGKILL: a copy on disk, the image saving
            await self._task(server, states.IMAGE_PENDING_UPLOAD)
            await self._task(server, states.IMAGE_UPLOADING)
            return await self.images.files.adopt(dest, SNAPSHOT_FORMAT)
        finally:
            dest.unlink(missing_ok=True)

    async def _task(self, server: Server, task: str) -> None:
        await self.store.write(servers_db.update_server, server.uuid, {"task_state": task}, now=self.clock())

    async def _rotate(self, ctx: AuthContext, server: Server, backup: Backup) -> None:
        """Nova's _rotate_backups: the server's backups of this type, newest first; those past `rotation` go."""
        query = ImageQuery(properties=(("image_type", "backup"), ("backup_type", backup.backup_type),
                                       ("instance_uuid", server.uuid)), sort=(("created_at", "desc"),), limit=1000)
        found = self.store.read(images_db.list_images, query, None)
        for old in found[backup.rotation:]:
            log.info("rotating out backup %s of server %s (rotation %d)", old.id, server.uuid, backup.rotation)
            try:
                await self.images.delete(ctx, old.id)
            except errors.ComputeError as exc:
                log.warning("backup %s of server %s could not be rotated out: %s", old.id, server.uuid, exc)

    async def abandon(self, server: Server) -> None:
        """At start: an action whose work came with the request (states.ABANDONED_TASKS: createImage,
        createBackup, changePassword) a stop cut short. An unfinished image of the server is deleted (the copy it was
        writing is swept with the store's temp files) and the task cleared: the server is as it was."""
        query = ImageQuery(properties=(("instance_uuid", server.uuid),), statuses=(QUEUED, SAVING), limit=1000)
        for image in self.store.read(images_db.list_images, query, None):
            log.warning("server %s: deleting image %s, left unfinished by a createImage/createBackup a stop cut "
                        "short", server.uuid, image.id)
            await self.images.delete_unfinished(image.id)
        await self.store.write(servers_db.update_server, server.uuid, {"task_state": None}, now=self.clock(),
                               expected_task_state=(server.task_state,))


async def _recorded_only(guests: Guests, server: Server, started: Started) -> None:
    """A volume-backed server's snapshot is made before the answer: the action is recorded, nothing more runs."""
