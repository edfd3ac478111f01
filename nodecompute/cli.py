"""What every `nodecompute` command shares: where the config file is and how it is loaded, and the --config help.

__main__.py builds the parser from cli_accounts.py and cli_images.py, which import this module (never __main__).
"""
from __future__ import annotations

import os
from pathlib import Path

from nodecompute import config as config_mod
from nodecompute.config import Config
from nodecompute.domain.models import Clock, utcnow

clock: Clock = utcnow  # what the commands stamp their rows with (the daemon's is create_app's)
DEFAULT_CONFIG_PATHS = (Path("/etc/nodecompute/nodecompute.toml"),)
CONFIG_HELP = ("TOML config file (default: $NODECOMPUTE_CONFIG, /etc/nodecompute/nodecompute.toml if present, else "
               "built-in defaults); before or after the command")


def config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    env = os.environ.get("NODECOMPUTE_CONFIG")
    if env:
        return Path(env)
    return next((p for p in DEFAULT_CONFIG_PATHS if p.exists()), None)


def load_config(arg: str | None) -> Config:
    return config_mod.load(config_path(arg))
