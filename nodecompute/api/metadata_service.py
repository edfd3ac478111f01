"""The metadata service's guest-facing HTTP application (169.254.169.254:80, rows #2301-#2313, behaviour.md §14).

The daemon serves this application with web.SockSite on listening sockets it opened inside its own DHCP and router
namespaces (hostnet/listener.py). Which instance asks is never taken from the request's claims (no header, path or
query names it): the namespace the connection arrived in (from its socket's network-namespace cookie) and the
connection's source address go to the injected `lookup(namespace, source_ip)`, which resolves namespace -> network
and source address -> port -> server; None (or an unknown namespace) answers 404, as Nova does for an address it
cannot place. Only `/`, the EC2 version list, is answered before the lookup, to anybody, as in Nova.

Paths and documents are compute/metadata_paths.py's (the config drive's documents, meta_data.json without
admin_pass). The password (openstack/<v>/password, >= 2013-04-04) comes from the injected PasswordStore: GET
answers it (empty body when none), POST stores at most 1020 bytes once (409 while one is stored, 400 when larger),
any other method is a 400, as in Nova's password.handle_password. Other paths answer GET and HEAD only (405
otherwise; Nova ignores the method there).

Every answer is built on the event loop from the looked-up record: no file, database or process work here.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from nodecompute.compute.metadata_paths import (
    Answer, MetadataPathNotFound, PasswordPath, path_parts, resolve, root_listing)
from nodecompute.compute.server_passwords import MAX_PASSWORD_BYTES, AlreadySet, PasswordStore
from nodecompute.compute.metadata_documents import DriveMetadata

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], Awaitable[DriveMetadata | None]]
Origin = Callable[[web.Request], tuple[str | None, str | None]]  # -> (namespace, source address)
CLIENT_MAX_SIZE = 64 * 1024  # the largest body this listener reads; only a password is ever posted


def utc_today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def socket_origin(namespace_of: Callable[[Any], str | None]) -> Origin:
    """The origin of a request: the namespace its connection's socket lives in (namespace_of is
    ListenerRegistry.namespace_of) and the peer address of that connection (never X-Forwarded-For)."""

    def origin(request: web.Request) -> tuple[str | None, str | None]:
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        namespace = namespace_of(sock) if sock is not None else None
        return namespace, request.remote

    return origin


class MetadataSettings:
    def __init__(self, *, lookup: Lookup, passwords: PasswordStore, origin: Origin,
                 today: Callable[[], str]) -> None:
        self.lookup = lookup
        self.passwords = passwords
        self.origin = origin
        self.today = today


metadata_settings_key = web.AppKey("metadata_settings", MetadataSettings)


def create_metadata_app(*, lookup: Lookup, passwords: PasswordStore,
                        namespace_of: Callable[[Any], str | None] | None = None, origin: Origin | None = None,
                        today: Callable[[], str] = utc_today) -> web.Application:
    """The metadata listener's application. Give `namespace_of` (the daemon's ListenerRegistry.namespace_of);
    `origin` replaces it where connections have no namespace (tests). `today` dates the version list."""
    if (namespace_of is None) == (origin is None):
        raise ValueError("give exactly one of namespace_of and origin")
    app = web.Application(client_max_size=CLIENT_MAX_SIZE)
    app[metadata_settings_key] = MetadataSettings(
        lookup=lookup, passwords=passwords, origin=origin or socket_origin(namespace_of), today=today)
    app.router.add_route("*", "/{path:.*}", serve)
    return app


async def serve(request: web.Request) -> web.StreamResponse:
    settings = request.app[metadata_settings_key]
    if not path_parts(request.path):
        _allow_reading(request)
        return _respond(root_listing())
    md, source = await _instance(request, settings)
    try:
        answer = resolve(md, request.path, today=settings.today(), source_ip=source)
    except MetadataPathNotFound:
        raise web.HTTPNotFound() from None
    if isinstance(answer, PasswordPath):
        return await _password(request, settings.passwords, md.uuid)
    _allow_reading(request)
    return _respond(answer)


async def _instance(request: web.Request, settings: MetadataSettings) -> tuple[DriveMetadata, str]:
    namespace, source = settings.origin(request)
    md = await settings.lookup(namespace, source) if namespace and source else None
    if md is None:
        log.info("metadata request for %s from %s in namespace %s: no instance there", request.path, source,
                 namespace)
        raise web.HTTPNotFound()
    return md, source


def _allow_reading(request: web.Request) -> None:
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])


def _respond(answer: Answer) -> web.Response:
    return web.Response(body=answer.body, content_type=answer.content_type)


async def _password(request: web.Request, passwords: PasswordStore, server_id: str) -> web.Response:
    if request.method == "GET":
        return web.Response(text=await passwords.get(server_id) or "", content_type="text/plain")
    if request.method != "POST":
        raise web.HTTPBadRequest(text="GET and POST only are supported.")
    if await passwords.get(server_id):
        raise web.HTTPConflict()
    body = await _read_at_most(request, MAX_PASSWORD_BYTES)
    if body is None:
        raise web.HTTPBadRequest(text="Request is too large.")
    try:
        value = body.decode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="The password must be UTF-8 text.") from None
    if value:  # Nova stores empty chunks for an empty post: still no password, so a later post is accepted
        try:
            await passwords.set_once(server_id, value)
        except AlreadySet:
            raise web.HTTPConflict() from None
    return web.Response(status=200)


async def _read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes (read no further than limit + 1)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    return None
