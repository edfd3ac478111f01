"""The parts of the daemon that need the hypervisor (servers, images): services and routes added to create_app."""
from __future__ import annotations

from nodecompute.config import Config


def server_features(cfg: Config) -> tuple[dict, list]:
    return {}, []
