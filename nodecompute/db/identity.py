"""Projects, users, role assignments and tokens. Functions take a sqlite-utils Database first."""
from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime

from sqlite_utils import Database

from nodecompute.domain.errors import Conflict, NotFound
from nodecompute.domain.models import AuthContext, Project, User, isotime, parse_isotime


def new_id() -> str:
    return uuid.uuid4().hex


def _project(row: sqlite3.Row) -> Project:
    return Project(id=row["id"], name=row["name"], description=row["description"], enabled=bool(row["enabled"]))


def create_project(db: Database, name: str, description: str = "", project_id: str | None = None, *,
                   now: datetime) -> Project:
    pid = project_id or new_id()
    try:
        db.execute(
            "INSERT INTO projects (id, name, description, created_at) VALUES (?, ?, ?, ?)",
            [pid, name, description, isotime(now)],
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"Project {name} already exists.") from None
    return Project(id=pid, name=name, description=description)


def find_project(db: Database, ref: str) -> Project | None:
    """A project by id or, failing that, by name."""
    row = db.execute("SELECT * FROM projects WHERE id = ? OR name = ? ORDER BY id = ? DESC", [ref, ref, ref]).fetchone()
    return _project(row) if row else None


def list_projects(db: Database) -> list[Project]:
    return [_project(r) for r in db.execute("SELECT * FROM projects ORDER BY name").fetchall()]


def create_user(db: Database, name: str, password_hash: str, project_id: str, role: str, *, now: datetime) -> User:
    uid = new_id()
    try:
        db.execute(
            "INSERT INTO users (id, name, password_hash, default_project_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [uid, name, password_hash, project_id, isotime(now)],
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"User {name} already exists.") from None
    grant_role(db, uid, project_id, role)
    return User(id=uid, name=name, default_project_id=project_id)


def grant_role(db: Database, user_id: str, project_id: str, role: str) -> None:
    db.execute(
        "INSERT OR IGNORE INTO role_assignments (user_id, project_id, role) VALUES (?, ?, ?)", [user_id, project_id, role]
    )


def find_user(db: Database, ref: str) -> tuple[User, str] | None:
    """(user, password hash) by id or name."""
    row = db.execute("SELECT * FROM users WHERE id = ? OR name = ? ORDER BY id = ? DESC", [ref, ref, ref]).fetchone()
    if row is None:
        return None
    user = User(id=row["id"], name=row["name"], default_project_id=row["default_project_id"], enabled=bool(row["enabled"]))
    return user, row["password_hash"]


def set_password_hash(db: Database, user_id: str, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])


def set_user_enabled(db: Database, user_id: str, enabled: bool) -> None:
    """Keystone revokes a user's tokens when it is disabled (re-enabling it must not revive them), and enabling a
    user clears its failed password count, which lifts a lockout."""
    db.execute("UPDATE users SET enabled = ? WHERE id = ?", [int(enabled), user_id])
    if enabled:
        set_failed_auth(db, user_id, 0, None)
    else:
        delete_user_tokens(db, user_id)


def failed_auth(db: Database, user_id: str) -> tuple[int, datetime | None]:
    """(failed password attempts since the last success, time of the last one)."""
    row = db.execute("SELECT failed_auth_count, failed_auth_at FROM users WHERE id = ?", [user_id]).fetchone()
    if row is None:
        return 0, None
    return row[0], parse_isotime(row[1]) if row[1] else None


def set_failed_auth(db: Database, user_id: str, count: int, at: datetime | None) -> None:
    db.execute("UPDATE users SET failed_auth_count = ?, failed_auth_at = ? WHERE id = ?",
               [count, isotime(at) if at else None, user_id])


def set_project_enabled(db: Database, project_id: str, enabled: bool) -> None:
    """Disabling a project revokes every token scoped to it (Keystone)."""
    db.execute("UPDATE projects SET enabled = ? WHERE id = ?", [int(enabled), project_id])
    if not enabled:
        db.execute("DELETE FROM tokens WHERE project_id = ?", [project_id])


def delete_user(db: Database, user_id: str) -> None:
    db.execute("DELETE FROM users WHERE id = ?", [user_id])  # role assignments and tokens cascade


def delete_project(db: Database, project_id: str) -> None:
    db.execute("UPDATE users SET default_project_id = NULL WHERE default_project_id = ?", [project_id])
    db.execute("DELETE FROM project_quotas WHERE project_id = ?", [project_id])
    db.execute("DELETE FROM flavor_projects WHERE project_id = ?", [project_id])
    db.execute("DELETE FROM network_quotas WHERE project_id = ?", [project_id])
    db.execute("DELETE FROM security_groups WHERE project_id = ?", [project_id])  # its ports are gone (refused else)
    db.execute("DELETE FROM projects WHERE id = ?", [project_id])  # role assignments and tokens cascade


def project_resources(db: Database, project_id: str) -> dict[str, int]:
    """What the project still owns in compute, image and network: servers and images not deleted, networks, ports,
    routers and floating IPs."""
    servers = db.execute("SELECT count(*) FROM servers WHERE project_id = ? AND deleted = 0", [project_id]).fetchone()
    images = db.execute("SELECT count(*) FROM images WHERE owner = ? AND deleted = 0", [project_id]).fetchone()
    networks = db.execute("SELECT count(*) FROM networks WHERE project_id = ?", [project_id]).fetchone()
    ports = db.execute("SELECT count(*) FROM ports WHERE project_id = ?", [project_id]).fetchone()
    routers = db.execute("SELECT count(*) FROM routers WHERE project_id = ?", [project_id]).fetchone()
    fips = db.execute("SELECT count(*) FROM floatingips WHERE project_id = ?", [project_id]).fetchone()
    return {"servers": servers[0], "images": images[0], "networks": networks[0], "ports": ports[0],
            "routers": routers[0], "floating IPs": fips[0]}


def delete_user_tokens(db: Database, user_id: str) -> int:
    return db.execute("DELETE FROM tokens WHERE user_id = ?", [user_id]).rowcount


def list_users(db: Database) -> list[dict]:
    rows = db.execute(
        """SELECT u.id, u.name, u.enabled, p.name AS project, group_concat(r.role, ',') AS roles
           FROM users u LEFT JOIN role_assignments r ON r.user_id = u.id LEFT JOIN projects p ON p.id = r.project_id
           GROUP BY u.id, p.id ORDER BY u.name, p.name"""
    ).fetchall()
    return [dict(r) for r in rows]


def roles_for(db: Database, user_id: str, project_id: str) -> tuple[str, ...]:
    rows = db.execute(
        "SELECT role FROM role_assignments WHERE user_id = ? AND project_id = ? ORDER BY role", [user_id, project_id]
    ).fetchall()
    return tuple(r["role"] for r in rows)


def insert_token(db: Database, digest: str, ctx: AuthContext) -> None:
    db.execute(
        "INSERT INTO tokens (digest, user_id, project_id, methods, audit_id, issued_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [digest, ctx.user_id, ctx.project_id, ",".join(ctx.methods), ctx.audit_id,
         isotime(ctx.issued_at), isotime(ctx.expires_at)],
    )
    # Keep the table small: tokens expired when this one was issued are useless.
    db.execute("DELETE FROM tokens WHERE expires_at < ?", [isotime(ctx.issued_at)])


_TOKEN_QUERY = """
SELECT t.user_id, u.name AS user_name, t.project_id, p.name AS project_name, t.methods, t.audit_id,
       t.issued_at, t.expires_at,
       (SELECT group_concat(role, ',') FROM role_assignments r
         WHERE r.user_id = t.user_id AND r.project_id = t.project_id) AS roles
FROM tokens t JOIN users u ON u.id = t.user_id JOIN projects p ON p.id = t.project_id
WHERE t.digest = ? AND t.expires_at > ? AND u.enabled = 1 AND p.enabled = 1
"""


def token_context(db: Database, digest: str, now: datetime) -> AuthContext | None:
    """The live context of a token digest at `now`, or None (unknown, expired, revoked, user or project disabled)."""
    row = db.execute(_TOKEN_QUERY, [digest, isotime(now)]).fetchone()
    if row is None or not row["roles"]:
        return None
    return AuthContext(
        user_id=row["user_id"], user_name=row["user_name"], project_id=row["project_id"],
        project_name=row["project_name"], roles=tuple(sorted(row["roles"].split(","))),
        expires_at=parse_isotime(row["expires_at"]), issued_at=parse_isotime(row["issued_at"]),
        audit_id=row["audit_id"], methods=tuple(row["methods"].split(",")),
    )


def delete_token(db: Database, digest: str) -> None:
    if db.execute("DELETE FROM tokens WHERE digest = ?", [digest]).rowcount == 0:
        raise NotFound("Could not find token.")
