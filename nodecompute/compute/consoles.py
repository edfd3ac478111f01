"""Console URLs: a token for one server's VNC display or serial port, and where a presented token leads.

Nova's flow (compute/api.py get_vnc_console and get_serial_console, manager.py, objects/console_auth_token.py):
- `get_console(ctx, server_id, protocol, console_type)`: the server must be visible to the caller (404), have
  reached its host (BUILD: 409 "Instance <id> is not ready"), and not be deleting (409, Nova's
  reject_instance_state). The console type must match the protocol (novnc for vnc, serial for serial; else 400
  "Invalid console type <type>"); spice, mks and rdp are not enabled on this cloud (400 "Unavailable console type
  <type>.", what Nova answers when [spice]/[mks] enabled is false). A server that is not running, or a domain
  defined before it had a serial console, has no such console: 400 "Unavailable console type <vnc|serial>." (Nova
  hands out a URL that fails later; row #1601 asks for the 400.)
- The URL: Nova's forms exactly, on the configured public host (domain/console_tokens.py has the token rules):
  `<novnc base>?path=%3Ftoken%3D<token>` and `<serial base>?token=<token>`.
- `resolve(token)`: the record by the token's digest, unexpired, for a server that still runs, leading to the
  server's display or serial socket (ConsoleTokenInvalid for anything else: the caller learns nothing more).
- `revoke(server_id)`: the hook Guests calls when a server stops or goes away: its records are dropped and its open
  sessions closed (`close_sessions`, the API's ConsoleSessions).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path
from urllib.parse import urlencode

from nodecompute.compute.guests import Guests
from nodecompute.compute.server_access import visible_server
from nodecompute.db import console_tokens as console_tokens_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.console_tokens import (ConsoleTarget, ConsoleTokenInvalid, check_token, issue_token,
                                               lookup_digest)
from nodecompute.domain.errors import BadRequest, Conflict, InstanceInvalidState
from nodecompute.domain.models import AuthContext, Clock

log = logging.getLogger(__name__)

# protocol -> (the console type it serves here, our token kind); Nova's handler names for the conflict texts
SERVED = {"vnc": ("novnc", "novnc"), "serial": ("serial", "serial")}
NOT_ENABLED = ("spice", "mks")  # Nova with [spice] and [mks] enabled = false: "Unavailable console type <type>."
NOVA_METHOD = {"vnc": "get_vnc_console", "serial": "get_serial_console", "spice": "get_spice_console",
               "mks": "get_mks_console", "rdp": "get_rdp_console"}


@dataclass(frozen=True)
class ConsoleBases:
    """Where users reach the console listeners (Nova's [vnc] novncproxy_base_url, [serial_console] base_url)."""

    novnc: str = ""  # http://<public host>:6080/vnc_lite.html; "": the listener is off
    serial: str = ""  # ws://<public host>:6083/


class ConsoleService:
    def __init__(self, store: Store, guests: Guests, *, ttl: int, clock: Clock) -> None:
        self.store = store
        self.guests = guests
        self.bases = ConsoleBases()  # set once the listeners are bound (api/console_listeners.py)
        self.ttl = ttl
        self.clock = clock
        self.close_sessions: Callable[[str], Awaitable[int]] | None = None

    def _now(self) -> float:
        return self.clock().replace(tzinfo=timezone.utc).timestamp()

    async def get_console(self, ctx: AuthContext, server_id: str, protocol: str, console_type: str) -> str:
        """The console URL for the server (see the module's docstring for the checks, in Nova's order)."""
        server = visible_server(self.store, ctx, server_id)
        if protocol == "rdp":  # the Hyper-V driver's, gone from Nova since 29.0.0; refused before any state check
            raise BadRequest("Unavailable console type rdp.")
        if server.vm_state == states.BUILDING:
            raise Conflict(f"Instance {server.uuid} is not ready")
        if server.task_state == states.DELETING:
            raise InstanceInvalidState(action=NOVA_METHOD.get(protocol, "get_vnc_console"), uuid=server.uuid,
                                       attr="task_state", state=server.task_state)
        if protocol in NOT_ENABLED:
            raise BadRequest(f"Unavailable console type {console_type}.")
        served_type, kind = SERVED[protocol]
        if console_type != served_type:
            raise BadRequest(f"Invalid console type {console_type}")
        base = self.bases.novnc if kind == "novnc" else self.bases.serial
        if not base or not self._available(server.uuid, server.power_state, protocol):
            raise BadRequest(f"Unavailable console type {protocol}.")
        token, record = issue_token(server.uuid, kind, now=self._now(), ttl=self.ttl)
        await self.store.write(console_tokens_db.add, record)
        if kind == "novnc":
            return f"{base}?{urlencode({'path': f'?token={token}'})}"
        return f"{base}?token={token}"

    def _socket(self, server_uuid: str, kind: str) -> Path:
        return self.guests.display_socket(server_uuid) if kind == "novnc" else self.guests.serial_socket(server_uuid)

    def _available(self, server_uuid: str, power_state: int, protocol: str) -> bool:
        """A running domain whose console socket is there (a domain defined before the serial console has none)."""
        return power_state == states.RUNNING and self._socket(server_uuid, SERVED[protocol][1]).exists()

    async def resolve(self, token: str) -> ConsoleTarget:
        """Where a presented token leads; ConsoleTokenInvalid for anything but a live token of a running server."""
        record = check_token(self.store.read(console_tokens_db.find, lookup_digest(token)),
                             kinds=("novnc", "serial"), now=self._now())
        server = self.store.read(servers_db.find_server, record.server_id)
        if server is None or server.vm_state == states.DELETED or server.power_state != states.RUNNING or server.task_state == states.DELETING:
            raise ConsoleTokenInvalid()
        return ConsoleTarget(record.kind, str(self._socket(server.uuid, record.kind)), server.uuid)

    async def revoke(self, server_id: str) -> None:
        """The server's consoles went away: drop its tokens, close its open sessions."""
        dropped = await self.store.write(console_tokens_db.revoke_server, server_id)
        closed = await self.close_sessions(server_id) if self.close_sessions is not None else 0
        if dropped or closed:
            log.info("server %s: revoked %d console tokens, closed %d console sessions", server_id, dropped, closed)

    async def purge_expired(self) -> int:
        return await self.store.write(console_tokens_db.purge_expired, self._now())
