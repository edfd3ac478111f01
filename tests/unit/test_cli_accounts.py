"""`nodecompute project ...` and `nodecompute user ...` on a fresh database (no daemon)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodecompute import config as config_mod
from nodecompute.__main__ import main
from nodecompute.db import identity as identity_db
from nodecompute.db.store import open_and_migrate, run_write
from nodecompute.domain.models import utcnow
from nodecompute.identity import accounts


@pytest.fixture
def nc(cfg_file: Path, capsys):
    """nc(*args) -> (exit code, stdout, stderr) of one `nodecompute` command on the test's data directory."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(cfg_file), *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def db(cfg_file: Path):
    database = open_and_migrate(config_mod.load(cfg_file).db_path)
    run_write(database, accounts.bootstrap, config_mod.load(cfg_file), utcnow())
    yield database
    database.close()


def _password_ok(db, cfg_file: Path, user: str, password: str) -> bool:
    _, password_hash = identity_db.find_user(db, user)
    return accounts.verify_password(accounts.password_hasher(config_mod.load(cfg_file)), password_hash, password)


def _token(db, user: str, project: str) -> str:
    """Insert a live token for the user in the project, as the daemon would."""
    from datetime import timedelta

    from nodecompute.domain.models import AuthContext, utcnow

    found, _ = identity_db.find_user(db, user)
    scope = identity_db.find_project(db, project)
    token = accounts.new_token()
    ctx = AuthContext(user_id=found.id, user_name=found.name, project_id=scope.id, project_name=scope.name,
                      roles=("member",), expires_at=utcnow() + timedelta(hours=1), issued_at=utcnow(), audit_id="a")
    run_write(db, identity_db.insert_token, accounts.token_digest(token), ctx)
    return token


def _live(db, token: str) -> bool:
    return identity_db.token_context(db, accounts.token_digest(token), utcnow()) is not None


def test_user_create_on_an_existing_user_is_an_error_naming_set_password(nc, db, cfg_file):
    assert nc("project", "create", "demo")[0] == 0
    assert nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")[0] == 0
    code, out, err = nc("user", "create", "alice", "--project", "demo", "--role", "member")
    assert code == 1 and "password" not in out
    assert "exists already" in err and "nodecompute user set-password alice" in err
    assert _password_ok(db, cfg_file, "alice", "pw-a")


def test_set_password_generated_or_given_and_tokens_revoked(nc, db, cfg_file):
    nc("project", "create", "demo")
    nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    token = _token(db, "alice", "demo")
    code, out, _ = nc("user", "set-password", "alice")
    assert code == 0
    generated = out.split("password: ", 1)[1].strip()
    assert _password_ok(db, cfg_file, "alice", generated) and not _password_ok(db, cfg_file, "alice", "pw-a")
    assert not _live(db, token)
    assert nc("user", "set-password", "alice", "--password", "pw-new")[0] == 0
    assert _password_ok(db, cfg_file, "alice", "pw-new")
    code, _, err = nc("user", "set-password", "admin", "--password", "x")
    assert code == 1 and "admin_password" in err
    assert nc("user", "set-password", "ghost", "--password", "x")[2] == "nodecompute: no user 'ghost'\n"


def test_grant_gives_an_existing_user_a_role(nc, db):
    nc("project", "create", "demo")
    nc("project", "create", "other")
    nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    assert nc("user", "grant", "alice", "--project", "other", "--role", "reader")[0] == 0
    user, _ = identity_db.find_user(db, "alice")
    assert identity_db.roles_for(db, user.id, identity_db.find_project(db, "other").id) == ("reader",)


def test_disable_revokes_tokens_and_enable_does_not_revive_them(nc, db):
    nc("project", "create", "demo")
    nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    user_token, project_token = _token(db, "alice", "demo"), _token(db, "alice", "demo")
    code, out, _ = nc("user", "disable", "alice")
    assert code == 0 and "disabled" in out
    assert "alice  disabled" in nc("user", "list")[1]
    assert nc("user", "enable", "alice")[0] == 0
    assert not _live(db, user_token)
    fresh = _token(db, "alice", "demo")
    assert _live(db, fresh)
    assert nc("project", "disable", "demo")[0] == 0
    assert "demo  disabled" in nc("project", "list")[1]
    assert nc("project", "enable", "demo")[0] == 0
    assert not _live(db, fresh) and not _live(db, project_token)
    assert _live(db, _token(db, "alice", "demo"))


def test_revoke_tokens_of_one_user_only(nc, db):
    nc("project", "create", "demo")
    nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    nc("user", "create", "bob", "--project", "demo", "--role", "member", "--password", "pw-b")
    alice, bob = [_token(db, "alice", "demo") for _ in range(2)], _token(db, "bob", "demo")
    code, out, _ = nc("user", "revoke-tokens", "alice")
    assert code == 0 and "2 token(s) revoked" in out
    assert not any(_live(db, t) for t in alice) and _live(db, bob)


def test_delete_user_and_project(nc, db):
    nc("project", "create", "demo")
    nc("user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    token = _token(db, "alice", "demo")
    assert nc("user", "delete", "alice")[0] == 0
    assert identity_db.find_user(db, "alice") is None and not _live(db, token)
    nc("user", "create", "bob", "--project", "demo", "--role", "member", "--password", "pw-b")
    assert nc("project", "delete", "demo")[0] == 0
    assert identity_db.find_project(db, "demo") is None
    bob, _ = identity_db.find_user(db, "bob")
    assert bob.default_project_id is None and "bob  enabled  project=-" in nc("user", "list")[1]


def test_delete_project_refused_while_it_owns_servers_or_images(nc, db):
    nc("project", "create", "demo")
    project = identity_db.find_project(db, "demo")
    db.execute("INSERT INTO images (id, owner, created_at, updated_at) VALUES ('i1', ?, 'x', 'x')", [project.id])
    db.conn.commit()
    code, _, err = nc("project", "delete", "demo")
    assert code == 1 and "still owns 1 images" in err
    assert identity_db.find_project(db, "demo") is not None


def test_delete_project_refused_while_it_owns_networks_and_cleans_its_network_rows(nc, db):
    nc("project", "create", "demo")
    project = identity_db.find_project(db, "demo")
    db.execute("INSERT INTO networks (id, project_id, mtu, created_at, updated_at) VALUES ('n1', ?, 1500, 'x', 'x')",
               [project.id])
    db.execute("INSERT INTO network_quotas VALUES (?, 'network', 3)", [project.id])
    db.execute("INSERT INTO security_groups (id, project_id, name, created_at, updated_at) "
               "VALUES ('g1', ?, 'default', 'x', 'x')", [project.id])
    db.conn.commit()
    code, _, err = nc("project", "delete", "demo")
    assert code == 1 and "still owns 1 networks" in err
    db.execute("DELETE FROM networks WHERE id = 'n1'")
    db.conn.commit()
    assert nc("project", "delete", "demo")[0] == 0
    assert db.execute("SELECT count(*) FROM network_quotas").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM security_groups").fetchone()[0] == 0


def test_bootstrap_admin_cannot_be_disabled_or_deleted(nc, db):
    for args in (("user", "disable", "admin"), ("user", "delete", "admin"), ("project", "disable", "admin"),
                 ("project", "delete", "admin")):
        code, _, err = nc(*args)
        assert code == 1 and "bootstrap admin" in err, args
    assert identity_db.find_user(db, "admin")[0].enabled and identity_db.find_project(db, "admin").enabled
