"""Glance v2 image members (#809-#813) and the member schemas (#814) under /image: a `shared` image's owner shares
it with projects, each member accepts or rejects it (compute/image_members.py). Faults in Glance's words."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import images_key
from nodecompute.api.respond import Out, respond
from nodecompute.api.validation import json_body
from nodecompute.compute.image_members import ImageMemberService
from nodecompute.domain import errors
from nodecompute.domain.image_models import MEMBER_STATUSES, ImageMember
from nodecompute.domain.models import zulu

MEMBER_BODY = {"type": "object", "properties": {"member": {"type": "string", "minLength": 1, "maxLength": 255}},
               "required": ["member"]}
STATUS_BODY = {"type": "object", "properties": {"status": {"type": "string", "enum": list(MEMBER_STATUSES)}},
               "required": ["status"]}
_MEMBER_PROPERTIES = {
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "image_id": {"type": "string", "description": "An identifier for the image",
                 "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "status": {"type": "string", "description": "The status of this image member", "enum": list(MEMBER_STATUSES)},
    "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
    "schema": {"type": "string", "readOnly": True},
}
MEMBER_SCHEMA = {"name": "member", "properties": _MEMBER_PROPERTIES}
MEMBERS_SCHEMA = {"name": "members", "properties": {
    "members": {"type": "array", "items": MEMBER_SCHEMA}, "schema": {"type": "string"}},
    "links": [{"rel": "schema", "href": "{schema}"}]}


def member_entity(member: ImageMember) -> dict[str, Any]:
    return {"created_at": zulu(member.created_at), "updated_at": zulu(member.updated_at),
            "image_id": member.image_id, "member_id": member.member_id, "status": member.status,
            "schema": "/v2/schemas/member"}


def _service(request: web.Request) -> ImageMemberService:
    images = request.config_dict[images_key]
    return ImageMemberService(images.store, clock=images.clock)


def _field(body: dict[str, Any], name: str, missing: str) -> Any:
    """`body[name]` (json_body has checked that the body is an object)."""
    if name not in body:
        raise errors.BadRequest(missing)
    return body[name]


async def add_member(request: web.Request) -> web.StreamResponse:
    """#809: 200 with the new member, `pending`."""
    ctx = require_writer(request, "add_member")
    member_id = _field(await json_body(request), "member", "Member to be added not specified")
    if not member_id:
        raise errors.BadRequest("Member can't be empty")
    if not isinstance(member_id, str):
        raise errors.BadRequest('Expected a member in the form: {"member": "image_id"}')
    if len(member_id) > 255:
        raise errors.BadRequest("Member ID must be at most 255 characters")
    return respond(request, await _service(request).add(ctx, request.match_info["image_id"], member_id))


async def list_members(request: web.Request) -> web.StreamResponse:
    return respond(request, _service(request).list(context(request), request.match_info["image_id"]))


async def show_member(request: web.Request) -> web.StreamResponse:
    member = _service(request).get(context(request), request.match_info["image_id"], request.match_info["member_id"])
    return respond(request, member)


async def update_member(request: web.Request) -> web.StreamResponse:
    """#812: only the member itself changes its status."""
    ctx = require_writer(request, "modify_member")
    status = _field(await json_body(request), "status", "Status not specified")
    member = await _service(request).set_status(ctx, request.match_info["image_id"], request.match_info["member_id"],
                                                status)
    return respond(request, member)


async def delete_member(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "delete_member")
    await _service(request).remove(ctx, request.match_info["image_id"], request.match_info["member_id"])
    return respond(request)


async def show_schema(request: web.Request) -> web.StreamResponse:
    return respond(request)


VIEWS = {
    "#809": lambda out, member: member_entity(member), "#811": lambda out, member: member_entity(member),
    "#812": lambda out, member: member_entity(member),
    "#810": lambda out, members: {"members": [member_entity(m) for m in members], "schema": "/v2/schemas/members"},
    "#814": lambda out, _: MEMBERS_SCHEMA if out.request.path.endswith("/members") else MEMBER_SCHEMA,
}
STATUSES = {"#813": 204}
BODIES = {"#809": MEMBER_BODY, "#812": STATUS_BODY}
