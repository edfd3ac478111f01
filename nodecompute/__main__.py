"""The `nodecompute` command: serve the API, manage projects and users, check the config, import images.

Management commands write the same SQLite file the running daemon uses (WAL, busy timeout); the daemon's caches
follow SQLite's data_version, so a user created, disabled or revoked here is seen by the next request.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from nodecompute import config as config_mod
from nodecompute.cli import CONFIG_HELP, load_config
from nodecompute.cli_accounts import add_account_commands
from nodecompute.cli_images import add_image_commands
from nodecompute.config import ConfigError
from nodecompute.domain.errors import ComputeError
from nodecompute.process_tuning import tune_process


def cmd_serve(args: argparse.Namespace) -> int:
    from nodecompute import sdnotify
    from nodecompute.app import create_app, serve

    cfg = load_config(args.config)
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("virEventAsyncIOImpl").setLevel(logging.INFO)  # libvirtaio logs every timer at DEBUG
    # pyroute2 (every netlink message dumped whole at DEBUG) is quieted when it is imported: hostnet/worker.py
    for warning in config_mod.warnings(cfg):
        logging.getLogger("nodecompute").warning("%s", warning)
    tune_process()
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


def cmd_config_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"config OK: data_dir={cfg.data_dir} listen={cfg.server.listen_host}:{cfg.server.listen_port} "
          f"public_url={cfg.public_url} libvirt={cfg.libvirt_uri} virt_type={cfg.compute.virt_type}")
    for warning in config_mod.warnings(cfg):
        print(f"nodecompute: warning: {warning}", file=sys.stderr)
    return 0


def _config_on_every_command(parser: argparse.ArgumentParser) -> None:
    """Let every command take --config after its name too (`nodecompute config check --config X`). SUPPRESS keeps a
    value given before the command when the command's own parser does not see one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)
                _config_on_every_command(command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nodecompute", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the API daemon").set_defaults(func=cmd_serve)
    add_account_commands(sub)

    conf = sub.add_parser("config", help="configuration").add_subparsers(dest="action", required=True)
    conf.add_parser("check", help="load the config and report the first wrong key").set_defaults(func=cmd_config_check)
    add_image_commands(sub)
    _config_on_every_command(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from nodecompute.filemodes import restrict_umask

    restrict_umask()  # state and secrets are the daemon user's alone, whatever the caller's umask
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
