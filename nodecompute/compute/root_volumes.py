"""The root volume of a volume-backed server (issue 20): the image it holds and its re-image (Nova 2.93's rebuild).

Nova's rebuild of a volume-backed server reads the image from the root volume's volume_image_metadata; from 2.93 it
re-images that volume (Cinder's reimage: the volume `downloading`, its content the image's at the volume's size, its
volume_image_metadata the image's, then in-use again; the same volume id). As Nova's
_rebuild_volume_backed_instance, the root volume's attachment is made anew first (a new attachment id, the same
block device mapping: its bdm_uuid stays), in the transaction that starts the re-image. A failure leaves the volume
in-use with its old content and fails the rebuild with Nova's BuildAbortException (the server goes to ERROR).
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from nodecompute.compute.block_storage import BlockStorage
from nodecompute.compute.volumes import image_metadata
from nodecompute.db import images as images_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain import volume_models as vm
from nodecompute.domain.models import Clock
from nodecompute.domain.server_models import Server

log = logging.getLogger(__name__)
ROOT_DEVICE = "/dev/vda"


class ReimageFailed(Exception):
    """Nova's BuildAbortException from _rebuild_volume_backed_instance."""


@dataclass(frozen=True)
class RootVolume:
    volume_id: str
    size_gb: int
    image_id: str | None  # volume_image_metadata's image_id
    attachment: vm.Attachment | None = None


class RootVolumes:
    def __init__(self, store: Store, blocks: BlockStorage, clock: Clock) -> None:
        self.store = store
        self.blocks = blocks
        self.clock = clock

    def of(self, server: Server) -> RootVolume | None:
        """The root volume (boot index 0, or attached as /dev/vda) of a server; None when it has none."""
        for attachment in self.store.read(attachments_db.of_server, server.uuid):
            if attachment.boot_index == 0 or attachment.device == ROOT_DEVICE:
                volume = self.store.read(volumes_db.get_volume, attachment.volume_id)
                if volume is None:
                    return None
                return RootVolume(volume.id, volume.size, (volume.image_metadata or {}).get("image_id"), attachment)
        return None

    def image_of(self, server: Server) -> str | None:
        root = self.of(server)
        return root.image_id if root else None

    async def reimage(self, server: Server, image_id: str) -> None:
        """The root volume re-written from the image (the guest is off). ReimageFailed when it cannot be."""
        root = self.of(server)
        image = self.store.read(lambda db: images_db.get_image(db, image_id, include_deleted=True))
        if root is None or image is None or not image.content_sha256:
            raise ReimageFailed(self._abort(server))
        moved = await self.store.write(_begin_reimage, root, str(uuid.uuid4()), self.clock())
        if moved is None:
            raise ReimageFailed(self._abort(server))
        values: dict = {"status": vm.IN_USE, "previous_status": None}
        try:
            files = self.blocks.volumes.files
            await files.reimage(root.volume_id, self.blocks.volumes.images.files.path_for(image.content_sha256),
                                image.disk_format, root.size_gb)
            values["image_metadata"] = image_metadata(image)
            values["bootable"] = True
        except Exception as exc:
            log.error("server %s: its root volume %s was not re-imaged from %s: %s", server.uuid, root.volume_id,
                      image_id, exc)
            raise ReimageFailed(self._abort(server)) from exc
        finally:
            await self.store.write(volumes_db.update_volume, root.volume_id, values, (vm.DOWNLOADING,),
                                   now=self.clock())

    @staticmethod
    def _abort(server: Server) -> str:
        return f"Build of instance {server.uuid} aborted: Failed to rebuild volume backed instance."


def _begin_reimage(db, root: RootVolume, attachment_id: str, now) -> vm.Volume | None:
    """The volume in-use -> downloading and its attachment made anew (one transaction); None: not in-use."""
    moved = volumes_db.update_volume(db, root.volume_id, {"status": vm.DOWNLOADING, "previous_status": vm.IN_USE},
                                     (vm.IN_USE,), now=now)
    if moved is not None and root.attachment is not None:
        attachments_db.renew(db, root.attachment, attachment_id)
    return moved
