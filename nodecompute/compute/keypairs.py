"""Keypairs (#901-#904): per-user SSH public keys (or, from 2.2, x509 certificates), imported or generated, with
Nova's fingerprint and checks; listed by name, a page at a time (2.35)."""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import string
from datetime import datetime

from nodecompute.domain.errors import BadRequest, QuotaExceeded
from nodecompute.domain.models import Clock, Keypair
from nodecompute.compute.quotas import QuotaService
from nodecompute.db import keypairs as keypairs_db
from nodecompute.db.store import Store

KEYPAIR_TYPE_SSH = "ssh"
KEYPAIR_TYPE_X509 = "x509"
GENERATED_KEY_BITS = 2048  # nova/crypto.py generate_key_pair default
SAFE_NAME_CHARS = frozenset("_- " + string.digits + string.ascii_letters)
SAFE_NAME_CHARS_V292 = SAFE_NAME_CHARS | {"@", "."}  # Nova's keypair_name_special_chars_v292
MAX_NAME_LENGTH = 255


class InvalidKeypair(BadRequest):
    msg_fmt = "Keypair data is invalid: %(reason)s"


class KeypairLimitExceeded(QuotaExceeded):
    """A quota error like the others (403 in Nova, 413 overLimit in the vendor dialects, dialects.md D15)."""

    msg_fmt = "Quota exceeded, too many key pairs."


def fingerprint(public_key: str) -> str:
    """MD5 of the decoded key blob as colon-separated hex pairs (nova/crypto.py generate_fingerprint).

    The key must load as an OpenSSH public key (rsa, ecdsa, ed25519, ...); anything else is InvalidKeypair.
    """
    from cryptography.hazmat.primitives import serialization  # loaded on first use: ~10 MB of the idle daemon
    try:
        serialization.load_ssh_public_key(public_key.encode("utf-8"))
        blob = base64.b64decode(public_key.split(" ")[1])
    except Exception:
        raise InvalidKeypair(reason="failed to generate fingerprint") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _fingerprint(public_key: str, key_type: str) -> str:
    if key_type != KEYPAIR_TYPE_X509:
        return fingerprint(public_key)
    from nodecompute.compute.keypair_x509 import x509_fingerprint  # cryptography on first use
    try:
        return x509_fingerprint(public_key)
    except ValueError as exc:
        raise InvalidKeypair(reason=str(exc)) from None


def generate_key_pair(bits: int = GENERATED_KEY_BITS) -> tuple[str, str, str]:
    """(private key PEM, OpenSSH public key, fingerprint) of a new RSA key, as nova/crypto.py makes them."""
    from cryptography.hazmat.primitives import serialization  # loaded on first use: ~10 MB of the idle daemon
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_key = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.TraditionalOpenSSL,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()
    public_key = key.public_key().public_bytes(
        encoding=serialization.Encoding.OpenSSH, format=serialization.PublicFormat.OpenSSH,
    ).decode() + " Generated-by-Nova"
    return private_key, public_key, fingerprint(public_key)


def _generate_x509(user_id: str, *, now: datetime) -> tuple[str, str, str]:
    from nodecompute.compute.keypair_x509 import generate_x509  # cryptography on first use
    return generate_x509(user_id, now=now)


def validate_name(name: str, safe_chars: frozenset[str] = SAFE_NAME_CHARS) -> None:
    """Nova's compute API check (after the schema): only [_\\- a-zA-Z0-9] (from 2.92 also `@` and `.`: the
    caller passes SAFE_NAME_CHARS_V292), 1 to 255 characters."""
    if any(ch not in safe_chars for ch in name):
        raise InvalidKeypair(reason="Keypair name contains unsafe characters")
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise InvalidKeypair(reason="Keypair name must be string and between 1 and 255 characters long")


class KeypairService:
    def __init__(self, store: Store, quotas: QuotaService, clock: Clock) -> None:
        self.store = store
        self.quotas = quotas
        self.clock = clock

    def list(self, user_id: str, limit: int | None = None, marker: str | None = None) -> list[Keypair]:
        """The user's keypairs by name: all, or `limit` of them after the one named `marker` (400 if unknown)."""
        return self.store.read(keypairs_db.list_keypairs, user_id, limit, marker)

    def get(self, user_id: str, name: str) -> Keypair:
        """The user's keypair `name`; NotFound "Keypair <name> not found for user <uid>" otherwise."""
        return self.store.read(keypairs_db.get_keypair, user_id, name)

    async def create(self, project_id: str, user_id: str, name: str, public_key: str | None = None,
                     key_type: str = KEYPAIR_TYPE_SSH, safe_chars: frozenset[str] = SAFE_NAME_CHARS) -> Keypair:
        """Import `public_key`, or generate a pair of `key_type` when it is None (the result then carries
        `private_key`): an RSA SSH key, or an x509 certificate for `user_id`.

        Checks in Nova's order: name, key_pairs quota, key data, then uniqueness.
        """
        validate_name(name, safe_chars)
        limit = self.quotas.limits(project_id)["key_pairs"]
        self._check_quota(user_id, limit)
        private_key = None
        if public_key is None and key_type == KEYPAIR_TYPE_X509:
            private_key, public_key, print_ = await asyncio.to_thread(_generate_x509, user_id, now=self.clock())
        elif public_key is None:
            private_key, public_key, print_ = await asyncio.to_thread(generate_key_pair)
        else:
            print_ = _fingerprint(public_key, key_type)
        record = Keypair(user_id=user_id, name=name, fingerprint=print_, public_key=public_key,
                         type=key_type, created_at=self.clock())
        try:
            stored = await self.store.write(keypairs_db.insert_keypair, record, limit)
        except keypairs_db.KeypairQuotaReached:
            raise KeypairLimitExceeded() from None
        return dataclasses.replace(stored, private_key=private_key)

    def _check_quota(self, user_id: str, limit: int) -> None:
        if limit >= 0 and self.store.read(keypairs_db.count_keypairs, user_id) >= limit:
            raise KeypairLimitExceeded()

    async def delete(self, user_id: str, name: str) -> None:
        await self.store.write(keypairs_db.delete_keypair, user_id, name)
