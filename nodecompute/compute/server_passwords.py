"""The password a guest posts to the metadata service (openstack/<version>/password), kept per server.

Nova keeps it in the instance's system metadata (password_0..3, 255 characters each); the guest (cloudbase-init)
posts it encrypted with the server's public key, once: a second post is refused while one is stored. The same
value is what os-server-password (#1604, ServerPasswordService) returns and #1605 clears. The store is injected into the metadata service
(api/metadata_service.py); its methods are coroutines so a SQLite-backed store never blocks the event loop.
"""
from __future__ import annotations

from typing import Protocol

from nodecompute.compute.server_access import visible_server
from nodecompute.db import server_passwords as passwords_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import Forbidden
from nodecompute.domain.models import AuthContext

CHUNKS, CHUNK_LENGTH = 4, 255
MAX_PASSWORD_BYTES = CHUNKS * CHUNK_LENGTH  # Nova's password.MAX_SIZE: a larger POST is a 400


class AlreadySet(Exception):
    """The server already has a posted password (the metadata service answers 409)."""


class PasswordStore(Protocol):
    async def get(self, server_id: str) -> str | None:
        """The stored password, or None when there is none."""

    async def set_once(self, server_id: str, value: str) -> None:
        """Store `value` unless a password is already stored (then raise AlreadySet, atomically)."""


class StoredPasswords:
    """The PasswordStore on the daemon's SQLite store (table server_passwords): writes on the writer thread, the
    INSERT OR IGNORE making set_once atomic."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, server_id: str) -> str | None:
        return self.store.read(passwords_db.get_password, server_id)

    async def set_once(self, server_id: str, value: str) -> None:
        if not await self.store.write(passwords_db.set_password_once, server_id, value):
            raise AlreadySet(server_id)

    async def clear(self, server_id: str) -> None:
        await self.store.write(passwords_db.clear_password, server_id)


class ServerPasswordService:
    """os-server-password (#1604, #1605): what the server's guest posted, shown to the project and cleared by its
    members (Nova's policies os-server-password:show and :clear)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.passwords = StoredPasswords(store)

    async def show(self, ctx: AuthContext, server_id: str) -> str:
        server = visible_server(self.store, ctx, server_id)
        return await self.passwords.get(server.uuid) or ""

    async def clear(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        if not ctx.can_write:
            raise Forbidden("Policy doesn't allow os_compute_api:os-server-password:clear to be performed.")
        await self.passwords.clear(server.uuid)
