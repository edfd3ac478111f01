"""The availability zone a server is pinned to (Nova's request spec zone): set at create when one is asked for
(shown from 2.96), and from 2.104 unpinned (null) or pinned again through PUT /servers/{id}, with Nova's rules."""
from __future__ import annotations

from nodecompute.domain.errors import Conflict
from nodecompute.domain.server_models import Server


def repinned(server: Server, requested: str | None) -> str | None:
    """The pinned zone after an update asks for `requested` (Nova's servers.update at 2.104): null unpins; a pinned
    server keeps its zone (asking for another is 409: unpin first); an unpinned one may be pinned only to the zone
    it is in (409 otherwise)."""
    current = server.pinned_availability_zone
    if requested is None:
        return None
    if current is not None:
        if requested != current:
            raise Conflict("Cannot change pinned availability zone directly. Unpin first by setting "
                           "pinned_availability_zone to null.")
        return current
    if requested != server.availability_zone:
        raise Conflict(f"Server can only be pinned to its current availability zone '{server.availability_zone}', "
                       f"but '{requested}' was requested.")
    return requested
