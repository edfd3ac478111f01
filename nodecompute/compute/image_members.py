"""Glance v2 image members (#809-#813): the owner of a `shared` image shares it with other projects; each member
answers pending, accepted or rejected. Only the owner (or an admin) adds and removes members; only the member
(or an admin) changes its status. A member sees the image (show, boot) whatever its status; listing it is the list query's
`member_status` business (db/images.py)."""
from __future__ import annotations

import dataclasses

from nodecompute.compute.images import ImageNotFound, seen_by
from nodecompute.db import image_members as members_db
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.domain import errors
from nodecompute.domain.image_models import MEMBER_STATUSES, Image, ImageMember
from nodecompute.domain.models import AuthContext, Clock

MAX_MEMBERS = 128  # Glance's image_member_quota


class MemberNotFound(errors.NotFound):
    msg_fmt = "%(member_id)s not found in the member list of the image %(image_id)s."

# Glance's faults (glance/api/v2/image_members.py)
ONLY_SHARED = "Only shared images have members."


def _visible(db, ctx: AuthContext, image_id: str) -> Image:
    image = images_db.get_image(db, image_id)
    if not seen_by(db, image, ctx.project_id, ctx.is_admin):
        raise ImageNotFound(image_id=image_id)
    return image


def _shared(image: Image, refusal: str = "") -> None:
    if image.visibility != "shared":
        raise errors.Forbidden(refusal or ONLY_SHARED)


def _owner_only(image: Image, ctx: AuthContext, verb: str) -> None:
    if not ctx.is_admin and image.owner != ctx.project_id:
        raise errors.Forbidden(f"Not allowed to {verb} members for image {image.id}.")


def _add_tx(db, ctx: AuthContext, image_id: str, member_id: str, now) -> ImageMember:
    image = _visible(db, ctx, image_id)
    _owner_only(image, ctx, "create")
    _shared(image)
    if members_db.get_member(db, image_id, member_id) is not None:
        raise errors.Conflict(f"Member {member_id} is duplicated for image {image_id}")
    if members_db.count_members(db, image_id) >= MAX_MEMBERS:
        raise errors.TooLarge(f"Image member limit exceeded for image {image_id}: The limit has been exceeded on "
                              f"the number of allowed image members for this image. Attempted: {MAX_MEMBERS + 1}, "
                              f"Maximum: {MAX_MEMBERS}:")
    return members_db.insert_member(db, ImageMember(image_id, member_id, "pending", now, now))


def _member_of(db, ctx: AuthContext, image: Image, member_id: str) -> ImageMember:
    """The membership the caller may see: the owner and an admin see every one, a member its own (404 otherwise)."""
    member = members_db.get_member(db, image.id, member_id)
    hidden = not ctx.is_admin and image.owner != ctx.project_id and member_id != ctx.project_id
    if member is None or hidden:
        raise MemberNotFound(member_id=member_id, image_id=image.id)
    return member


def _status_tx(db, ctx: AuthContext, image_id: str, member_id: str, status: str, now) -> ImageMember:
    image = _visible(db, ctx, image_id)
    refusal = f"Not allowed to update members for image {image_id}."
    _shared(image, refusal)
    if image.owner == ctx.project_id and not ctx.is_admin:
        raise errors.Forbidden(refusal)  # the owner does not answer for its members
    member = _member_of(db, ctx, image, member_id)
    return members_db.set_status(db, dataclasses.replace(member, status=status, updated_at=now))


def _remove_tx(db, ctx: AuthContext, image_id: str, member_id: str) -> None:
    image = _visible(db, ctx, image_id)
    _shared(image, f"Not allowed to delete members for image {image_id}.")
    _owner_only(image, ctx, "delete")
    _member_of(db, ctx, image, member_id)
    members_db.delete_member(db, image_id, member_id)


class ImageMemberService:
    def __init__(self, store: Store, *, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def list(self, ctx: AuthContext, image_id: str) -> list[ImageMember]:
        """The owner (and an admin) sees every member; a member only itself."""
        image = self.store.read(_visible, ctx, image_id)
        _shared(image, f"Not allowed to list members for image {image_id}: {ONLY_SHARED}")
        members = self.store.read(members_db.list_members, image_id)
        if ctx.is_admin or image.owner == ctx.project_id:
            return members
        return [m for m in members if m.member_id == ctx.project_id]

    def get(self, ctx: AuthContext, image_id: str, member_id: str) -> ImageMember:
        image = self.store.read(_visible, ctx, image_id)
        if image.visibility != "shared":
            raise errors.NotFound(ONLY_SHARED)  # Glance hides the refusal as a 404
        return self.store.read(_member_of, ctx, image, member_id)

    async def add(self, ctx: AuthContext, image_id: str, member_id: str) -> ImageMember:
        return await self.store.write(_add_tx, ctx, image_id, member_id, self.clock())

    async def set_status(self, ctx: AuthContext, image_id: str, member_id: str, status: str) -> ImageMember:
        if status not in MEMBER_STATUSES:
            raise errors.BadRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".')
        return await self.store.write(_status_tx, ctx, image_id, member_id, status, self.clock())

    async def remove(self, ctx: AuthContext, image_id: str, member_id: str) -> None:
        await self.store.write(_remove_tx, ctx, image_id, member_id)
