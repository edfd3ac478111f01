"""`nodecompute project ...` and `nodecompute user ...`: the operator's side of the built-in Keystone.

Each command is one write transaction on the SQLite file the running daemon uses. The daemon drops its validated
tokens whenever SQLite's data_version moves (nodecompute.caching), so a disable, delete or revocation made here
takes effect on the very next request.
"""
from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from nodecompute import cli
from nodecompute.cli import load_config
from nodecompute.config import Config

ROLE_CHOICES = ("admin", "member", "reader")


def _write(args: argparse.Namespace, fn: Callable[..., Any], *fn_args: Any, with_cfg: bool = False) -> Any:
    from nodecompute.db.store import open_and_migrate, run_write

    cfg: Config = load_config(args.config)
    db = open_and_migrate(cfg.db_path)
    try:
        return run_write(db, fn, cfg, *fn_args) if with_cfg else run_write(db, fn, *fn_args)
    finally:
        db.close()


def _read(args: argparse.Namespace, fn: Callable[..., Any]) -> Any:
    from nodecompute.db.store import open_and_migrate

    db = open_and_migrate(load_config(args.config).db_path)
    try:
        return fn(db)
    finally:
        db.close()


def _enabled(flag: bool) -> str:
    return "enabled" if flag else "disabled"


def cmd_project_create(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as identity_db

    create = functools.partial(identity_db.create_project, now=cli.clock())
    project = _write(args, create, args.name, args.description or "")
    print(f"project {project.name} id {project.id}")
    return 0


def cmd_project_list(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as identity_db

    for project in _read(args, identity_db.list_projects):
        print(f"{project.id}  {project.name}  {_enabled(project.enabled)}  {project.description}")
    return 0


def cmd_project_enable(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    enable = args.action == "enable"
    project = _write(args, accounts.set_project_enabled, args.name, enable)
    print(f"project {project.name} {_enabled(enable)}" + ("" if enable else "; its tokens are revoked"))
    return 0


def cmd_project_delete(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    project = _write(args, accounts.delete_project, args.name)
    print(f"project {project.name} deleted")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    password = args.password or accounts.generate_password()
    user = _write(args, functools.partial(accounts.create_user, now=cli.clock()), args.name, args.project, args.role,
                  password, with_cfg=True)
    print(f"user {user.name} id {user.id} role {args.role} in project {args.project}")
    if not args.password:
        print(f"password: {password}")
    return 0


def cmd_user_grant(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    user, project = _write(args, accounts.grant_role, args.name, args.project, args.role)
    print(f"user {user.name} has role {args.role} in project {project.name}")
    return 0


def cmd_user_set_password(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    password = args.password or accounts.generate_password()
    user = _write(args, accounts.set_password, args.name, password, with_cfg=True)
    print(f"password of user {user.name} changed; its tokens are revoked")
    if not args.password:
        print(f"password: {password}")
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    enable = args.action == "enable"
    user = _write(args, accounts.set_user_enabled, args.name, enable)
    print(f"user {user.name} {_enabled(enable)}" + ("" if enable else "; its tokens are revoked"))
    return 0


def cmd_user_delete(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    user = _write(args, accounts.delete_user, args.name)
    print(f"user {user.name} deleted")
    return 0


def cmd_user_revoke_tokens(args: argparse.Namespace) -> int:
    from nodecompute.identity import accounts

    user, count = _write(args, accounts.revoke_tokens, args.name)
    print(f"user {user.name}: {count} token(s) revoked")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as identity_db

    for row in _read(args, identity_db.list_users):
        print(f"{row['id']}  {row['name']}  {_enabled(row['enabled'])}  project={row['project'] or '-'}  "
              f"roles={row['roles'] or '-'}")
    return 0


def add_account_commands(sub: argparse._SubParsersAction) -> None:
    project = sub.add_parser("project", help="manage projects").add_subparsers(dest="action", required=True)
    p = project.add_parser("create", help="create a project")
    p.add_argument("name")
    p.add_argument("--description")
    p.set_defaults(func=cmd_project_create)
    project.add_parser("list", help="list projects").set_defaults(func=cmd_project_list)
    for action, func, text in (
        ("disable", cmd_project_enable, "disable a project and revoke every token scoped to it"),
        ("enable", cmd_project_enable, "enable a disabled project"),
        ("delete", cmd_project_delete, "delete a project that owns no server and no image"),
    ):
        project_cmd = project.add_parser(action, help=text)
        project_cmd.add_argument("name", help="project name or id")
        project_cmd.set_defaults(func=func)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    u = user.add_parser("create", help="create a user with a role in a project")
    u.add_argument("name")
    u.add_argument("--project", required=True)
    u.add_argument("--role", required=True, choices=ROLE_CHOICES)
    u.add_argument("--password", help="default: generated and printed")
    u.set_defaults(func=cmd_user_create)
    g = user.add_parser("grant", help="give an existing user a role in a project")
    g.add_argument("name", help="user name or id")
    g.add_argument("--project", required=True)
    g.add_argument("--role", required=True, choices=ROLE_CHOICES)
    g.set_defaults(func=cmd_user_grant)
    s = user.add_parser("set-password", help="set a user's password and revoke its tokens (Keystone)")
    s.add_argument("name", help="user name or id")
    s.add_argument("--password", help="default: generated and printed")
    s.set_defaults(func=cmd_user_set_password)
    for action, func, text in (
        ("disable", cmd_user_enable, "disable a user and revoke its tokens"),
        ("enable", cmd_user_enable, "enable a disabled user; also lifts a lockout"),
        ("delete", cmd_user_delete, "delete a user, its role assignments and tokens"),
        ("revoke-tokens", cmd_user_revoke_tokens, "revoke every token of a user"),
    ):
        user_cmd = user.add_parser(action, help=text)
        user_cmd.add_argument("name", help="user name or id")
        user_cmd.set_defaults(func=func)
    user.add_parser("list", help="list users and their roles").set_defaults(func=cmd_user_list)
