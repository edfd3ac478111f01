"""Admin passwords generated for servers (create, rebuild, rescue, evacuate) when the request gives none."""
from __future__ import annotations

import secrets

PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")


def generate_password(length: int = 12) -> str:
    """Nova's rule: at least one character of each group, the rest from all groups."""
    chars = [secrets.choice(group) for group in PASSWORD_GROUPS]
    everything = "".join(PASSWORD_GROUPS)
    chars += [secrets.choice(everything) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
