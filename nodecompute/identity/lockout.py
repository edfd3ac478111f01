"""Keystone's account lockout ([security_compliance] lockout_failure_attempts and lockout_duration).

Keystone's rule (identity/backends/sql.py): a user with at least `lockout_failure_attempts` failed passwords is
locked until `lockout_duration` seconds after the last failure, and is refused even with the right password
("The account is locked for user: <id>.", 401). Each wrong password counts one more failure; once the lockout
has expired the count starts over; a successful password clears it, and so does enabling the user. Off when
lockout_failure_attempts is 0 (Keystone: unset), and never for the bootstrap admin (its password comes from the
config, and locking it out would leave the operator without an admin).

The functions taking `db` run in one write transaction each, on the store's single writer, so a burst of
concurrent guesses cannot slip past the limit: the last check runs after every failure already recorded.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from nodecompute.domain.errors import Unauthorized
from nodecompute.domain.models import User
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
from nodecompute.db.store import Database
from nodecompute.identity.accounts import ADMIN_USER


class AccountLocked(Unauthorized):
    msg_fmt = "The account is locked for user: %(user_id)s."


def applies(cfg: Config, user: User) -> bool:
    return cfg.identity.lockout_failure_attempts > 0 and user.name != ADMIN_USER


def is_locked(cfg: Config, count: int, last_failure: datetime | None, now: datetime) -> bool:
    limit = cfg.identity.lockout_failure_attempts
    if not limit or count < limit or last_failure is None:
        return False
    return now < last_failure + timedelta(seconds=cfg.identity.lockout_duration)


def check(db: Database, cfg: Config, user_id: str, now: datetime) -> None:
    """Raise AccountLocked while the user is locked out."""
    count, last_failure = identity_db.failed_auth(db, user_id)
    if is_locked(cfg, count, last_failure, now):
        raise AccountLocked(user_id=user_id)


def record_failure(db: Database, cfg: Config, user_id: str, now: datetime) -> None:
    count, last_failure = identity_db.failed_auth(db, user_id)
    if count >= cfg.identity.lockout_failure_attempts and not is_locked(cfg, count, last_failure, now):
        count = 0  # the lockout has expired: start over
    identity_db.set_failed_auth(db, user_id, count + 1, now)


def record_success(db: Database, cfg: Config, user_id: str, now: datetime) -> None:
    """The right password: refused all the same while locked (failures that raced it count), else clear the count."""
    count, last_failure = identity_db.failed_auth(db, user_id)
    if is_locked(cfg, count, last_failure, now):
        raise AccountLocked(user_id=user_id)
    if count:
        identity_db.set_failed_auth(db, user_id, 0, None)
