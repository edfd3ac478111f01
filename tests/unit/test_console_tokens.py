"""Console tokens: random, stored only as a digest, bound to one server and kind, reusable until they expire."""
from __future__ import annotations

import hashlib
import uuid

import pytest

from nodecompute.domain import console_tokens as ct

NOW = 1_700_000_000.0
SERVER = "0b9c5e2a-8f14-4a3b-9c51-2d7e6f0a1b2c"


def test_issue_returns_a_random_uuid_and_a_record_without_it():
    token, record = ct.issue_token(SERVER, "novnc", now=NOW, ttl=600)
    assert uuid.UUID(token).version == 4 and str(uuid.UUID(token)) == token
    assert record == ct.ConsoleToken(hashlib.sha256(token.encode()).hexdigest(), SERVER, "novnc", NOW + 600)
    assert token not in repr(record)
    others = {ct.issue_token(SERVER, "novnc", now=NOW)[0] for _ in range(100)}
    assert len(others) == 100 and token not in others


def test_default_lifetime_is_ten_minutes():
    _, record = ct.issue_token(SERVER, "serial", now=NOW)
    assert record.expires_at == NOW + 600 and record.kind == "serial"


@pytest.mark.parametrize("kind, ttl", [("spice-html5", 600), ("vnc", 600), ("novnc", 0), ("novnc", -5)])
def test_issue_refuses_unknown_kinds_and_lifetimes(kind, ttl):
    with pytest.raises(ValueError):
        ct.issue_token(SERVER, kind, now=NOW, ttl=ttl)


def test_a_token_is_valid_and_reusable_until_it_expires():
    token, record = ct.issue_token(SERVER, "novnc", now=NOW, ttl=600)
    assert ct.lookup_digest(token) == record.digest
    for now in (NOW, NOW + 1, NOW + 599.999):  # any number of uses within the lifetime
        assert ct.check_token(record, kinds=("novnc",), now=now) is record
    for now in (NOW + 600, NOW + 10_000):
        with pytest.raises(ct.ConsoleTokenInvalid):
            ct.check_token(record, kinds=("novnc",), now=now)


def test_a_token_opens_only_its_own_kind_of_console():
    _, record = ct.issue_token(SERVER, "serial", now=NOW)
    with pytest.raises(ct.ConsoleTokenInvalid):
        ct.check_token(record, kinds=("novnc",), now=NOW)
    assert ct.check_token(record, kinds=frozenset({"serial", "novnc"}), now=NOW) is record


def test_unknown_tokens_are_invalid():
    with pytest.raises(ct.ConsoleTokenInvalid):
        ct.check_token(None, kinds=("novnc",), now=NOW)


@pytest.mark.parametrize("presented", [None, "", "x" * 256])
def test_input_that_cannot_be_a_token_is_refused_before_hashing(presented):
    with pytest.raises(ct.ConsoleTokenInvalid):
        ct.lookup_digest(presented)


def test_the_digest_is_hex_sha256():
    assert ct.token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
