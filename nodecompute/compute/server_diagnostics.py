"""Server diagnostics (#1901) from libvirt's own counters of the server's domain (virt/domain_stats.py), in the
form virt/diagnostics.py gives: Nova's free-form dict before 2.48, its standard object from 2.48.

Admin only (the API checks the policy). A server whose domain is not running answers 409, as the operations row
says (Nova's libvirt driver has no counters to give for a stopped domain either): `uptime` is the seconds since
the server was launched, `hypervisor` the domain type (qemu, or kvm where KVM is used).
"""
from __future__ import annotations

from typing import Any

from nodecompute.compute.guests import Guests
from nodecompute.compute.server_access import visible_server
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import Conflict, InstanceInvalidState
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.virt import diagnostics, domain_stats
from nodecompute.virt.errors import DomainNotFound


class ServerDiagnostics:
    def __init__(self, store: Store, guests: Guests, clock: Clock) -> None:
        self.store = store
        self.guests = guests
        self.clock = clock

    async def read(self, ctx: AuthContext, server_id: str, standard: bool) -> dict[str, Any]:
        server = visible_server(self.store, ctx, server_id)
        if server.power_state != states.RUNNING or server.vm_state == states.BUILDING:
            raise InstanceInvalidState(action="get_diagnostics", uuid=server.uuid, attr="vm_state",
                                       state=server.vm_state)
        try:
            counters = await domain_stats.read_domain_counters(self.guests.hv, server.instance_name)
        except DomainNotFound:  # the reconciler puts such a server right; no counters to give meanwhile
            raise Conflict(f"Cannot 'get_diagnostics' instance {server.uuid}: its domain is not on this host"
                           ) from None
        if not standard:
            return diagnostics.legacy_diagnostics(counters)
        uptime = int((self.clock() - server.launched_at).total_seconds()) if server.launched_at else None
        return diagnostics.standard_diagnostics(
            counters, hypervisor=self.guests.hv.host.domain_type, uptime=uptime,
            config_drive=bool(server.config_drive)).as_nova()
