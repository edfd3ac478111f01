"""Account management shared by the daemon's bootstrap and the `nodecompute` CLI (synchronous, on one Database).

Passwords are hashed with argon2id (argon2-cffi, the reference implementation's binding): a memory-hard KDF tuned
to a few tens of milliseconds. Tokens are 32 random bytes (urlsafe base64); only their SHA-256 digest is stored.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from nodecompute.compute.models import User
from nodecompute.config import Config
from nodecompute.db import identity as idb
from nodecompute.db.store import Database

ROLES = ("admin", "member", "reader")
ADMIN_PROJECT = "admin"
ADMIN_USER = "admin"
DOMAIN = {"id": "default", "name": "Default"}


def password_hasher(cfg: Config) -> PasswordHasher:
    return PasswordHasher(time_cost=cfg.identity.kdf_time_cost, memory_cost=cfg.identity.kdf_memory_kib, parallelism=1)


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def admin_password(cfg: Config) -> str:
    """The configured admin password, else the one generated on first start (kept in <data_dir>/admin-password)."""
    if cfg.identity.admin_password:
        return cfg.identity.admin_password
    path = cfg.data_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    password = generate_password()
    _write_private(path, password + "\n")
    return password


def bootstrap(db: Database, cfg: Config) -> str:
    """Make sure project `admin` and user `admin` (role admin) exist and the password matches; write clouds.yaml.

    Returns the admin password. Safe to run on every start; the caller holds the write transaction.
    """
    hasher = password_hasher(cfg)
    password = admin_password(cfg)
    project = idb.find_project(db, ADMIN_PROJECT) or idb.create_project(db, ADMIN_PROJECT, "Bootstrap project")
    found = idb.find_user(db, ADMIN_USER)
    if found is None:
        idb.create_user(db, ADMIN_USER, hasher.hash(password), project.id, "admin")
    else:
        user, password_hash = found
        if not verify_password(hasher, password_hash, password):
            idb.set_password_hash(db, user.id, hasher.hash(password))
        idb.grant_role(db, user.id, project.id, "admin")
    write_clouds_yaml(cfg, password)
    return password


def write_clouds_yaml(cfg: Config, password: str) -> Path:
    """A ready clouds.yaml: OS_CLIENT_CONFIG_FILE=<it> openstack --os-cloud nodecompute ..."""
    text = (
        "# Written by nodecompute at start-up; the admin credentials of this cloud.\n"
        "clouds:\n"
        "  nodecompute:\n"
        "    auth:\n"
        f"      auth_url: {cfg.public_url}/identity/v3\n"
        f"      username: {ADMIN_USER}\n"
        f"      password: {_yaml_quote(password)}\n"
        f"      project_name: {ADMIN_PROJECT}\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        f"    region_name: {cfg.identity.region}\n"
        "    identity_api_version: 3\n"
        "    interface: public\n"
    )
    path = cfg.data_dir / "clouds.yaml"
    _write_private(path, text)
    return path


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_user(db: Database, cfg: Config, name: str, project_ref: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    hashed = password_hasher(cfg).hash(password)
    project = idb.find_project(db, project_ref)
    if project is None:
        raise ValueError(f"no project {project_ref!r}")
    found = idb.find_user(db, name)
    if found is None:
        return idb.create_user(db, name, hashed, project.id, role)
    user, _ = found
    idb.grant_role(db, user.id, project.id, role)
    return user
