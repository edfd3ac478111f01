"""Cyclades' keypair views and codes (dialects.md D53, section 6): list and show 200, create 201, delete 204; the
create answer has no `user_id`; show has the integer `id`, `created_at`/`updated_at` with microseconds and no
zone (D67), `deleted`, `deleted_at`, and no `user_id`. The handlers are the core's."""
from __future__ import annotations

from typing import Any

from nodecompute.api.respond import Out
from nodecompute.domain.models import Keypair, isotime


def _summary(keypair: Keypair) -> dict[str, Any]:
    return {"fingerprint": keypair.fingerprint, "name": keypair.name, "public_key": keypair.public_key}


def _created(out: Out, keypair: Keypair) -> dict[str, Any]:
    view = _summary(keypair)
    if keypair.private_key is not None:
        view["private_key"] = keypair.private_key
    return {"keypair": view}


def _shown(out: Out, keypair: Keypair) -> dict[str, Any]:
    when = isotime(keypair.created_at)
    return {"keypair": {**_summary(keypair), "id": keypair.serial, "created_at": when, "updated_at": when,
                        "deleted": False, "deleted_at": None}}


VIEWS = {"#901": lambda out, result: {"keypairs": [{"keypair": _summary(k)} for k in result[1]]},
         "#902": _created, "#903": _shown}
STATUSES = {"#902": 201, "#904": 204}
