"""The local image service: image records (SQLite) and their bytes (content-addressed files).

Both the Glance v2 subset and Nova's /images proxy call it. Rules: owner = project id; non-admins see public
images and their own; only the owner (member role) or an admin changes or deletes an image; making an image public
is admin-only; protected images cannot be deleted. Bytes are stored once per sha256 and removed only when no live
image row references them (checked and removed under one lock, so an upload finishing at that moment is safe).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nodecompute.domain import errors
from nodecompute.domain.image_models import ACTIVE, HASH_ALGO, QUEUED, SAVING, Image, ImageQuery
from nodecompute.compute.image_patch import PatchOp, apply_patch, check_property_names
from nodecompute.domain.models import AuthContext, Clock, id_from_ref, isotime
from nodecompute.compute.quotas import QuotaService
from nodecompute.config import Config
from nodecompute.db import image_members as image_members_db
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.storage.errors import ImageTooLarge as StoredTooLarge
from nodecompute.storage.errors import InvalidImage
from nodecompute.storage.image_files import ImageFiles, StoredImage

IMAGE_SIZE_CAP = 1 << 40  # Glance's default image_size_cap (1 TiB)
MAX_TAGS = 128  # Glance's image_tag_quota


class ImageNotFound(errors.NotFound):
    msg_fmt = "No image found with ID %(image_id)s"


class ImageNotAuthorized(errors.Forbidden):
    msg_fmt = "Not authorized for image %(image_id)s."


class ImageProtected(errors.Forbidden):
    msg_fmt = "Image %(image_id)s is protected and cannot be deleted."


class ImageDeletedDuringUpload(errors.Gone):
    """Glance's 410 for an upload whose image was deleted while its data came in (the data is not kept)."""

    msg_fmt = ("Image %(image_id)s could not be found after upload. The image may have been deleted during the "
               "upload, cleaning up the chunks uploaded.")


class ImageStateConflict(errors.Conflict):
    msg_fmt = "Image status transition from %(current)s to %(new)s is not allowed"


class ImagePropertyLimit(errors.Forbidden):
    """Nova answers 403 "Image metadata limit exceeded"; the Glance API turns it into its own 413."""

    msg_fmt = "Image metadata limit exceeded"

    def __init__(self, attempted: int, maximum: int) -> None:
        super().__init__()
        self.attempted, self.maximum = attempted, maximum


class ImageTooLarge(errors.TooLarge):
    msg_fmt = "Denying attempt to upload image larger than %(maximum)s bytes."


def image_files(cfg: Config) -> ImageFiles:
    """The image store of a data dir (<data_dir>/images/<sha256>), as the daemon and the CLI open it."""
    return ImageFiles(cfg.data_dir)


def new_image(owner: str, fields: dict[str, Any], properties: dict[str, str], tags: list[str] | tuple[str, ...],
              now: datetime) -> Image:
    """A queued image record from already validated fields (id, name, visibility, protected, min_disk, min_ram,
    disk_format, container_format); the id is generated when absent."""
    values = {k: v for k, v in fields.items() if v is not None}
    return Image(id=values.pop("id", None) or str(uuid.uuid4()), owner=owner, status=QUEUED, created_at=now,
                 updated_at=now, name=fields.get("name"), visibility=values.pop("visibility", "private"),
                 container_format=values.pop("container_format", "bare"),
                 **{k: values[k] for k in ("disk_format", "protected", "min_disk", "min_ram") if k in values},
                 properties=dict(properties), tags=tuple(dict.fromkeys(tags)))


def with_content(image: Image, stored: StoredImage, now: datetime) -> Image:
    """The image made active on stored bytes."""
    return dataclasses.replace(
        image, status=ACTIVE, disk_format=stored.disk_format, container_format=image.container_format or "bare",
        size=stored.size, virtual_size=stored.virtual_size, checksum=stored.md5, os_hash_algo=HASH_ALGO,
        os_hash_value=stored.sha512, content_sha256=stored.sha256, updated_at=now)


def seen_by(db, image: Image | None, project_id: str, is_admin: bool = False) -> bool:
    """Does the project see the image: public, its own, or shared with it (a member in any status)?"""
    if image is None:
        return False
    if image.visible_to(project_id, is_admin):
        return True
    return image.visibility == "shared" and image_members_db.get_member(db, image.id, project_id) is not None


def _owned(db, image_id: str, ctx: AuthContext) -> Image:
    """The image if the caller may change it: 404 when invisible, 403 when visible but someone else's."""
    image = images_db.get_image(db, image_id)
    if not seen_by(db, image, ctx.project_id, ctx.is_admin):
        raise ImageNotFound(image_id=image_id)
    if not ctx.is_admin and image.owner != ctx.project_id:
        raise ImageNotAuthorized(image_id=image_id)
    return image


def _check_limit(count: int, limit: int) -> None:
    if 0 <= limit < count:
        raise ImagePropertyLimit(attempted=count, maximum=limit)


def _check_publicize(ctx: AuthContext, before: str | None, after: str) -> None:
    if after == "public" and before != "public" and not ctx.is_admin:
        raise errors.PolicyNotAuthorized(action="image:publicize_image")


# Write transactions: each runs whole on the writer thread inside BEGIN IMMEDIATE.

def create_tx(db, image: Image) -> Image:
    if images_db.image_exists(db, image.id):
        raise errors.Conflict(f"Image with identifier {image.id} already exists!")
    return images_db.insert_image(db, image)


def _patch_tx(db, ctx: AuthContext, image_id: str, ops: list[PatchOp], limit: int, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    changed = apply_patch(image, ops, now)
    _check_publicize(ctx, image.visibility, changed.visibility)
    if len(changed.properties) > len(image.properties):
        _check_limit(len(changed.properties), limit)
    if len(changed.tags) > MAX_TAGS:
        raise errors.TooLarge(f"The limit has been exceeded on the number of allowed image tags. "
                              f"Attempted: {len(changed.tags)}, Maximum: {MAX_TAGS}")
    return images_db.save_image(db, changed)


def _properties_tx(db, ctx: AuthContext, image_id: str, properties: dict[str, str], replace: bool,
                   limit: int, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    merged = dict(properties) if replace else {**image.properties, **properties}
    _check_limit(len(merged), limit)
    return images_db.save_image(db, dataclasses.replace(image, properties=merged, updated_at=now))


def _delete_property_tx(db, ctx: AuthContext, image_id: str, key: str, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    if key not in image.properties:
        raise errors.NotFound("Invalid metadata key")
    remaining = {k: v for k, v in image.properties.items() if k != key}
    return images_db.save_image(db, dataclasses.replace(image, properties=remaining, updated_at=now))


def delete_tx(db, ctx: AuthContext, image_id: str, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    if image.protected:
        raise ImageProtected(image_id=image_id)
    # Glance deletes an image in any status, saving too: the upload then finds it gone (ImageDeletedDuringUpload)
    images_db.mark_deleted(db, image_id, isotime(now))
    return image


def _begin_upload_tx(db, ctx: AuthContext, image_id: str, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    if image.status != QUEUED:
        raise ImageStateConflict(current=image.status, new=SAVING)
    return images_db.save_image(db, dataclasses.replace(image, status=SAVING, updated_at=now), expected_status=QUEUED)


def _activate_empty_tx(db, ctx: AuthContext, image_id: str, now: datetime) -> Image:
    image = _owned(db, image_id, ctx)
    if image.status != QUEUED:
        raise ImageStateConflict(current=image.status, new=ACTIVE)
    return images_db.save_image(db, dataclasses.replace(image, status=ACTIVE, size=0, updated_at=now),
                                expected_status=QUEUED)


def _reset_upload_tx(db, image_id: str, now: datetime) -> None:
    image = images_db.get_image(db, image_id)
    if image is not None and image.status == SAVING:
        images_db.save_image(db, dataclasses.replace(image, status=QUEUED, updated_at=now), expected_status=SAVING)


def _finish_upload_tx(db, image_id: str, stored: StoredImage, now: datetime) -> Image | None:
    image = images_db.get_image(db, image_id)
    if image is None or image.status != SAVING:
        return None
    return images_db.save_image(db, with_content(image, stored, now), expected_status=SAVING)


async def _capped(chunks: AsyncIterator[bytes], maximum: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > maximum:
            raise ImageTooLarge(maximum=maximum)
        yield chunk


class ImageService:
    def __init__(self, store: Store, files: ImageFiles, cfg: Config, quotas: QuotaService | None = None, *,
                 clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.files = files
        self.cfg = cfg
        self.quotas = quotas  # for per-project metadata_items; cfg.quota when absent
        self.size_cap = IMAGE_SIZE_CAP
        self._content_lock = asyncio.Lock()

    # Reads (inline on the read connection).

    def get(self, ctx: AuthContext, image_id: str) -> Image:
        image = self.store.read(images_db.get_image, image_id)
        if not self.store.read(seen_by, image, ctx.project_id, ctx.is_admin):
            raise ImageNotFound(image_id=image_id)
        return image

    def list(self, ctx: AuthContext, query: ImageQuery) -> list[Image]:
        visible_to = None if ctx.is_admin else ctx.project_id
        marker = None
        if query.marker is not None:
            deleted_too = query.changes_since is not None
            marker = self.store.read(lambda db: images_db.get_image(db, query.marker, include_deleted=deleted_too))
            if not self.store.read(seen_by, marker, ctx.project_id, ctx.is_admin):
                raise errors.MarkerNotFound(marker=query.marker)
        return self.store.read(images_db.list_images, query, visible_to, marker)

    def get_for_boot(self, image_ref: str, project_id: str) -> Image:
        """The active image a server of `project_id` may boot: `image_ref` is an id or a URL ending in it."""
        image_id = id_from_ref(image_ref)
        image = self.store.read(images_db.get_image, image_id)
        if not self.store.read(seen_by, image, project_id):
            raise ImageNotFound(f"Image {image_id} could not be found.")
        if image.status != ACTIVE:
            raise errors.BadRequest(f"Image {image_id} is not active.")
        return image

    def data_path(self, ctx: AuthContext, image_id: str) -> tuple[Image, Path | None]:
        """The image and the file holding its bytes (None while it has no data)."""
        image = self.get(ctx, image_id)
        if image.status != ACTIVE or not image.content_sha256:
            return image, None
        path = self.files.path_for(image.content_sha256)
        if not path.exists():
            raise errors.NotFound(f"Image data for {image_id} could not be found.")
        return image, path

    def property_limit(self, project_id: str) -> int:
        if self.quotas is not None:
            return int(self.quotas.limits(project_id).get("metadata_items", self.cfg.quota.metadata_items))
        return self.cfg.quota.metadata_items

    # Writes.

    async def create(self, ctx: AuthContext, fields: dict[str, Any], properties: dict[str, str],
                     tags: list[str]) -> Image:
        owner = fields.pop("owner", None) or ctx.project_id
        if owner != ctx.project_id and not ctx.is_admin:
            raise errors.Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        check_property_names(properties)
        _check_publicize(ctx, None, fields.get("visibility") or "private")
        _check_limit(len(properties), self.property_limit(owner))
        if len(set(tags)) > MAX_TAGS:
            raise errors.TooLarge(f"The limit has been exceeded on the number of allowed image tags. "
                                  f"Attempted: {len(set(tags))}, Maximum: {MAX_TAGS}")
        return await self.store.write(create_tx, new_image(owner, fields, properties, tags, self.clock()))

    async def update(self, ctx: AuthContext, image_id: str, ops: list[PatchOp]) -> Image:
        limit = self.property_limit(self.get(ctx, image_id).owner or ctx.project_id)
        return await self.store.write(_patch_tx, ctx, image_id, ops, limit, self.clock())

    async def set_properties(self, ctx: AuthContext, image_id: str, properties: dict[str, str], *,
                             replace: bool) -> Image:
        """Nova's image metadata: merge into (or replace) the custom properties."""
        check_property_names(properties)
        limit = self.property_limit(self.get(ctx, image_id).owner or ctx.project_id)
        return await self.store.write(_properties_tx, ctx, image_id, properties, replace, limit, self.clock())

    async def delete_property(self, ctx: AuthContext, image_id: str, key: str) -> Image:
        return await self.store.write(_delete_property_tx, ctx, image_id, key, self.clock())

    async def delete(self, ctx: AuthContext, image_id: str) -> None:
        image = await self.store.write(delete_tx, ctx, image_id, self.clock())
        if image.content_sha256:
            await self.release_content(image.content_sha256)
        before = self.clock() - timedelta(seconds=self.cfg.compute.deleted_retention)
        await self.store.write(images_db.purge_deleted, isotime(before))

    async def delete_unfinished(self, image_id: str) -> bool:
        """Delete an image that never got its data (queued or saving): what a volume upload that failed or was
        interrupted leaves, as Cinder deletes it. True when deleted."""
        image = self.store.read(images_db.get_image, image_id)
        if image is None or image.status not in (QUEUED, SAVING):
            return False
        await self.store.write(images_db.mark_deleted, image_id, isotime(self.clock()))
        return True

    async def requeue_interrupted_uploads(self) -> int:
        """At start: uploads a previous process was receiving can never finish; their images go back to queued."""
        return await self.store.write(images_db.requeue_saving, isotime(self.clock()))

    async def release_content(self, sha256: str) -> bool:
        """Remove the bytes when no live image references them any more; True when removed."""
        async with self._content_lock:
            if self.store.read(images_db.content_referenced, sha256):
                return False
            await self.files.remove(sha256)
            return True

    async def upload(self, ctx: AuthContext, image_id: str, chunks: AsyncIterator[bytes],
                     length: int | None = None) -> Image:
        """queued -> saving -> active; on any failure the image goes back to queued and nothing stays stored."""
        if length is not None and length > self.size_cap:
            raise ImageTooLarge(maximum=self.size_cap)
        image = await self.store.write(_begin_upload_tx, ctx, image_id, self.clock())
        try:
            stored = await self.files.store_from_stream(_capped(chunks, self.size_cap), image.disk_format,
                                                        max_bytes=self.size_cap)
        except StoredTooLarge:
            await asyncio.shield(self.store.write(_reset_upload_tx, image_id, self.clock()))
            raise ImageTooLarge(maximum=self.size_cap) from None
        except InvalidImage as exc:
            await asyncio.shield(self.store.write(_reset_upload_tx, image_id, self.clock()))
            raise errors.BadRequest(str(exc)) from None
        except BaseException:
            await asyncio.shield(self.store.write(_reset_upload_tx, image_id, self.clock()))
            raise
        return await self._commit_upload(image_id, stored)

    async def activate_empty(self, ctx: AuthContext, image_id: str) -> Image:
        """A queued image made active with no data (size 0): a volume-backed server's snapshot, whose content is
        in its block_device_mapping's volume snapshots (Nova uploads zero bytes to get the same)."""
        return await self.store.write(_activate_empty_tx, ctx, image_id, self.clock())

    async def upload_produced(self, ctx: AuthContext, image_id: str,
                              produce: Callable[[], Awaitable[StoredImage]]) -> Image:
        """queued -> saving -> active on bytes `produce()` puts in the store (a volume the block storage service
        converts and the store adopts); on any failure the image goes back to queued and nothing stays stored. An
        image deleted meanwhile (before or during the upload) raises ImageDeletedDuringUpload."""
        try:
            await self.store.write(_begin_upload_tx, ctx, image_id, self.clock())
        except ImageNotFound:
            raise ImageDeletedDuringUpload(image_id=image_id) from None
        try:
            stored = await produce()
        except BaseException:
            await asyncio.shield(self.store.write(_reset_upload_tx, image_id, self.clock()))
            raise
        return await self._commit_upload(image_id, stored)

    async def create_with_content(self, image: Image, stored: StoredImage) -> Image:
        """Register bytes already in the store (a K5 import's converted file) as `image`, a queued record from
        new_image with the caller's id: active at once. An id in use raises Conflict, and the bytes go unless another
        image uses them."""
        created = None
        async with self._content_lock:
            if not self.files.path_for(stored.sha256).exists():
                raise errors.Conflict(f"The data of image {image.id} was removed while it was registered.")
            with contextlib.suppress(errors.Conflict):
                created = await self.store.write(create_tx, with_content(image, stored, self.clock()))
        if created is None:
            await self.release_content(stored.sha256)
            raise errors.Conflict(f"Image with identifier {image.id} already exists!")
        return created

    async def _commit_upload(self, image_id: str, stored: StoredImage) -> Image:
        async with self._content_lock:
            active = None
            if self.files.path_for(stored.sha256).exists():
                active = await self.store.write(_finish_upload_tx, image_id, stored, self.clock())
        if active is None:
            await asyncio.shield(self.store.write(_reset_upload_tx, image_id, self.clock()))
            await self.release_content(stored.sha256)
            if self.store.read(images_db.get_image, image_id) is None:
                raise ImageDeletedDuringUpload(image_id=image_id)
            raise errors.Conflict(f"Image {image_id} changed while its data was uploaded; upload it again.")
        return active
