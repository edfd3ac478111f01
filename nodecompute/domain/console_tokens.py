"""Console access tokens, the pure parts: issue, digest, check. No I/O here (see docs/consoles.md).

A token is a random secret handed out once inside a console URL. Only its SHA-256 digest is stored, bound to one
server and one console kind, with an expiry time; it can be used again and again until then (a page reload and
noVNC's reconnect open new websockets with the same URL). Stopping or deleting the server revokes its tokens.

The store that keeps the records (a table) and the resolver that turns a token into a console target belong to the
compute service; this module gives them the record type, the checks and the store's interface.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Protocol

# Console kinds a token can be bound to: Nova's console_type values that nodecompute serves.
CONSOLE_KINDS = ("novnc", "serial")
DEFAULT_TTL = 600
# Longer input is never a token we issued: refuse it before hashing anything.
MAX_TOKEN_LENGTH = 255


class ConsoleTokenInvalid(Exception):
    """Unknown, expired, revoked or for another console kind: one error, so a caller learns nothing more."""


@dataclass(frozen=True)
class ConsoleToken:
    """What is stored for an issued token: never the token itself."""

    digest: str
    server_id: str
    kind: str
    expires_at: float  # seconds since the epoch

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class ConsoleTarget:
    """Where a valid token leads: the server's display or serial UNIX socket."""

    kind: str
    socket_path: str
    server_id: str


def token_digest(token: str) -> str:
    """Hex SHA-256 of the token, the only form a store keeps (Nova's ConsoleAuthToken does the same)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(server_id: str, kind: str, *, now: float, ttl: int = DEFAULT_TTL) -> tuple[str, ConsoleToken]:
    """A new random token (a UUID4 as Nova's: 122 random bits from os.urandom) and the record to store for it."""
    if kind not in CONSOLE_KINDS:
        raise ValueError(f"unknown console kind {kind!r}")
    if ttl <= 0:
        raise ValueError(f"a console token needs a positive lifetime, got {ttl}")
    token = str(uuid.uuid4())
    return token, ConsoleToken(token_digest(token), server_id, kind, now + ttl)


def lookup_digest(token: str | None) -> str:
    """The digest to look a presented token up by; ConsoleTokenInvalid for input that cannot be a token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ConsoleTokenInvalid()
    return token_digest(token)


def check_token(record: ConsoleToken | None, *, kinds: tuple[str, ...] | frozenset[str], now: float) -> ConsoleToken:
    """The record when it exists, is for one of `kinds` and has not expired; else ConsoleTokenInvalid."""
    if record is None or record.kind not in kinds or record.expired(now):
        raise ConsoleTokenInvalid()
    return record


class ConsoleTokenStore(Protocol):
    """What the compute service needs from the token table (comes with the consoles issue)."""

    async def add(self, record: ConsoleToken) -> None:
        """Keeps a new record."""

    async def find(self, digest: str) -> ConsoleToken | None:
        """The record with this digest, expired or not; None when there is none."""

    async def revoke_server(self, server_id: str) -> int:
        """Drops every record of the server (stop, delete); returns how many there were."""

    async def purge_expired(self, now: float) -> int:
        """Drops the records that expired before `now`; returns how many."""
