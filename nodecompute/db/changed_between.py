"""Nova's `changes-since` / `changes-before` filters as SQL terms: rows whose `updated_at` is at or after the one
and at or before the other (servers, instance actions and migrations filter alike)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from nodecompute.domain.models import isotime


def add_changed_between(where: list[str], args: list[Any], since: datetime | None, before: datetime | None) -> None:
    """Append the terms and their arguments for the bounds that are given (None: no bound)."""
    if since is not None:
        where.append("updated_at >= ?")
        args.append(isotime(since))
    if before is not None:
        where.append("updated_at <= ?")
        args.append(isotime(before))
