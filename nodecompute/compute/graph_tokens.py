"""The per-server token in Cyclades' graph URLs (#1903), the pure parts: no I/O.

An `<img>` tag sends no X-Auth-Token, so a graph URL must carry its own proof: `/stats/<token>/cpu-bar.png`.
The token is the server's uuid followed by an HMAC-SHA256 of that uuid under a daemon secret:
`<uuid>.<43 characters of unpadded URL-safe base64>`. Only the daemon can make one; anyone holding it (the owner
who asked for the stats, or whoever they pass the URL to) sees that server's graphs and nothing else. It is
deterministic, so the URLs of a server never change while the secret stays; a new secret invalidates them all.

The uuid in front lets the route find the server without trying every server's token (Synnefo's stats app
encrypts the host name instead; the uuid is an id, not a credential). `token_server` recomputes the MAC and
compares it in constant time; anything else (no dot, another secret, a changed character) is None, which the
route answers with 404.

The secret: 32 random bytes (`new_secret()`), created once and kept in the data directory by the caller.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 200  # a uuid (36), a dot and the MAC (43): anything much longer is not ours


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def graph_mac(secret: bytes, server_uuid: str) -> str:
    """HMAC-SHA256 of the server uuid, unpadded URL-safe base64."""
    _check_secret(secret)
    digest = hmac.new(secret, server_uuid.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def graph_token(secret: bytes, server_uuid: str) -> str:
    """The URL path segment for the server's graphs."""
    if not server_uuid or "." in server_uuid or "/" in server_uuid:
        raise ValueError(f"not a server uuid: {server_uuid!r}")
    return f"{server_uuid}.{graph_mac(secret, server_uuid)}"


def token_server(secret: bytes, token: str | None) -> str | None:
    """The server uuid a token was made for, or None when the daemon did not make it."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    server_uuid, dot, mac = token.rpartition(".")
    if not dot or not server_uuid or "/" in server_uuid:
        return None
    expected = graph_mac(secret, server_uuid)
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("utf-8")):
        return None
    return server_uuid


def check_token(secret: bytes, server_uuid: str, token: str | None) -> bool:
    """Whether `token` is the graph token of `server_uuid` (constant time in the MAC)."""
    found = token_server(secret, token)
    return found is not None and hmac.compare_digest(found.encode("utf-8"), server_uuid.encode("utf-8"))


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < SECRET_BYTES:
        raise ValueError(f"the graph secret must be at least {SECRET_BYTES} bytes")
