"""Account management shared by the daemon's bootstrap and the `nodecompute` CLI (synchronous, on one Database).

Passwords are hashed with argon2id (argon2-cffi, the reference implementation's binding): a memory-hard KDF tuned
to a few tens of milliseconds. Tokens are 32 random bytes (urlsafe base64); only their SHA-256 digest is stored.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from nodecompute import filemodes
from nodecompute.domain.models import Project, User
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
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
    filemodes.make_dir(path.parent)
    filemodes.write_atomically(path, text.encode())


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


def bootstrap(db: Database, cfg: Config, now: datetime) -> str:
    """Make sure project `admin` and user `admin` (role admin) exist and the password matches; write clouds.yaml.

    Returns the admin password. Safe to run on every start; the caller holds the write transaction.
    """
    hasher = password_hasher(cfg)
    password = admin_password(cfg)
    project = (identity_db.find_project(db, ADMIN_PROJECT)
               or identity_db.create_project(db, ADMIN_PROJECT, "Bootstrap project", now=now))
    found = identity_db.find_user(db, ADMIN_USER)
    if found is None:
        identity_db.create_user(db, ADMIN_USER, hasher.hash(password), project.id, "admin", now=now)
    else:
        user, password_hash = found
        if not verify_password(hasher, password_hash, password):
            identity_db.set_password_hash(db, user.id, hasher.hash(password))
        identity_db.grant_role(db, user.id, project.id, "admin")
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


def create_user(db: Database, cfg: Config, name: str, project_ref: str, role: str, password: str, *,
                now: datetime) -> User:
    """A new user with `role` in the project; an existing name is an error (its password is never touched here)."""
    _check_role(role)
    project = _project(db, project_ref)
    if identity_db.find_user(db, name) is not None:
        raise ValueError(f"user {name!r} exists already: change its password with `nodecompute user set-password "
                         f"{name}`, give it a role with `nodecompute user grant {name}`")
    return identity_db.create_user(db, name, password_hasher(cfg).hash(password), project.id, role, now=now)


def grant_role(db: Database, user_ref: str, project_ref: str, role: str) -> tuple[User, Project]:
    _check_role(role)
    user, project = _user(db, user_ref), _project(db, project_ref)
    identity_db.grant_role(db, user.id, project.id, role)
    return user, project


def set_password(db: Database, cfg: Config, user_ref: str, password: str) -> User:
    user = _user(db, user_ref)
    if user.name == ADMIN_USER:
        raise ValueError("the bootstrap admin's password is [identity] admin_password (or <data_dir>/admin-password)")
    identity_db.set_password_hash(db, user.id, password_hasher(cfg).hash(password))
    identity_db.delete_user_tokens(db, user.id)  # Keystone revokes a user's tokens when its password changes
    return user


def set_user_enabled(db: Database, user_ref: str, enabled: bool) -> User:
    """Disable (revoking every token of the user, as Keystone does) or enable a user."""
    user = _user(db, user_ref)
    if not enabled and user.name == ADMIN_USER:
        raise ValueError("the bootstrap admin user cannot be disabled")
    identity_db.set_user_enabled(db, user.id, enabled)
    return user


def delete_user(db: Database, user_ref: str) -> User:
    user = _user(db, user_ref)
    if user.name == ADMIN_USER:
        raise ValueError("the bootstrap admin user cannot be deleted")
    identity_db.delete_user(db, user.id)
    return user


def revoke_tokens(db: Database, user_ref: str) -> tuple[User, int]:
    user = _user(db, user_ref)
    return user, identity_db.delete_user_tokens(db, user.id)


def set_project_enabled(db: Database, project_ref: str, enabled: bool) -> Project:
    """Disable (revoking every token scoped to the project) or enable a project."""
    project = _project(db, project_ref)
    if not enabled and project.name == ADMIN_PROJECT:
        raise ValueError("the bootstrap admin project cannot be disabled")
    identity_db.set_project_enabled(db, project.id, enabled)
    return project


def delete_project(db: Database, project_ref: str) -> Project:
    """Delete a project that owns no server, image, network or port (they would be left without an owner who can
    act)."""
    project = _project(db, project_ref)
    if project.name == ADMIN_PROJECT:
        raise ValueError("the bootstrap admin project cannot be deleted")
    owned = {kind: count for kind, count in identity_db.project_resources(db, project.id).items() if count}
    if owned:
        listed = " and ".join(f"{count} {kind}" for kind, count in owned.items())
        raise ValueError(f"project {project.name!r} still owns {listed}: delete them first")
    identity_db.delete_project(db, project.id)
    return project


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")


def _user(db: Database, ref: str) -> User:
    found = identity_db.find_user(db, ref)
    if found is None:
        raise ValueError(f"no user {ref!r}")
    return found[0]


def _project(db: Database, ref: str) -> Project:
    project = identity_db.find_project(db, ref)
    if project is None:
        raise ValueError(f"no project {ref!r}")
    return project
