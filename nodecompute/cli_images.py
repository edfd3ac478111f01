"""`nodecompute image ...` commands."""
from __future__ import annotations

import argparse


def add_image_commands(sub: argparse._SubParsersAction) -> None:
    return None
