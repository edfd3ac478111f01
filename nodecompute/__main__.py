"""The `nodecompute` command: serve the API, manage projects and users, check the config, import images.

Management commands write the same SQLite file the running daemon uses (WAL, busy timeout), and the daemon keeps
no cache of it, so a user created here can log in at once.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from nodecompute import config as config_mod
from nodecompute.compute.errors import ComputeError
from nodecompute.config import Config, ConfigError

DEFAULT_CONFIG_PATHS = (Path("/etc/nodecompute/nodecompute.toml"),)


def _config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    env = os.environ.get("NODECOMPUTE_CONFIG")
    if env:
        return Path(env)
    return next((p for p in DEFAULT_CONFIG_PATHS if p.exists()), None)


def load_config(arg: str | None) -> Config:
    return config_mod.load(_config_path(arg))


def cmd_serve(args: argparse.Namespace) -> int:
    from nodecompute import sdnotify
    from nodecompute.app import create_app, serve

    cfg = load_config(args.config)
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("virEventAsyncIOImpl").setLevel(logging.INFO)  # libvirtaio logs every timer at DEBUG
    app = create_app(cfg)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(cfg, app, on_ready=lambda: sdnotify.notify("READY=1"), stop=stop)
        sdnotify.notify("STOPPING=1")

    asyncio.run(main())
    return 0


def _open_db(cfg: Config):
    from nodecompute.db.store import open_and_migrate

    return open_and_migrate(cfg.db_path)


def cmd_project_create(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as idb
    from nodecompute.db.store import run_write

    db = _open_db(load_config(args.config))
    project = run_write(db, idb.create_project, args.name, args.description or "")
    print(f"project {project.name} id {project.id}")
    return 0


def cmd_project_list(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as idb

    db = _open_db(load_config(args.config))
    for project in idb.list_projects(db):
        print(f"{project.id}  {project.name}  {project.description}")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from nodecompute.db.store import run_write
    from nodecompute.identity import accounts

    cfg = load_config(args.config)
    db = _open_db(cfg)
    password = args.password or accounts.generate_password()
    user = run_write(db, accounts.create_user, cfg, args.name, args.project, args.role, password)
    print(f"user {user.name} id {user.id} role {args.role} in project {args.project}")
    if not args.password:
        print(f"password: {password}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from nodecompute.db import identity as idb

    db = _open_db(load_config(args.config))
    for row in idb.list_users(db):
        print(f"{row['id']}  {row['name']}  project={row['project'] or '-'}  roles={row['roles'] or '-'}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"config OK: data_dir={cfg.data_dir} listen={cfg.server.listen_host}:{cfg.server.listen_port} "
          f"public_url={cfg.public_url} libvirt={cfg.libvirt_uri} virt_type={cfg.compute.virt_type}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodecompute", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML config file (default: $NODECOMPUTE_CONFIG, "
                        "/etc/nodecompute/nodecompute.toml if present, else built-in defaults)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API daemon").set_defaults(func=cmd_serve)

    project = sub.add_parser("project", help="manage projects").add_subparsers(dest="action", required=True)
    p = project.add_parser("create", help="create a project")
    p.add_argument("name")
    p.add_argument("--description")
    p.set_defaults(func=cmd_project_create)
    project.add_parser("list", help="list projects").set_defaults(func=cmd_project_list)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    u = user.add_parser("create", help="create a user, or grant an existing one a role in a project")
    u.add_argument("name")
    u.add_argument("--project", required=True)
    u.add_argument("--role", required=True, choices=("admin", "member", "reader"))
    u.add_argument("--password", help="default: generated and printed")
    u.set_defaults(func=cmd_user_create)
    user.add_parser("list", help="list users and their roles").set_defaults(func=cmd_user_list)

    conf = sub.add_parser("config", help="configuration").add_subparsers(dest="action", required=True)
    conf.add_parser("check", help="load the config and report the first wrong key").set_defaults(func=cmd_config_check)

    from nodecompute.cli_images import add_image_commands

    add_image_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"nodecompute: configuration error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, ComputeError) as exc:
        print(f"nodecompute: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
