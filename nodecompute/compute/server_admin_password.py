"""changePassword (#308): the guest agent sets the image's admin user's password while the caller waits (Nova's
set_admin_password is an RPC call, not a cast).

The rule is domain/states.py ACTIONS "change_password" (ACTIVE, no task, the lock checked; task updating_password,
shown as status PASSWORD); it runs as every action does (server_actions.py: recorded, under the server's lock, the
task cleared at the end whatever happens) and its outcome is handed back to the request. Nova's answers: 409
"QEMU guest agent is not enabled" for an image without hw_qemu_guest_agent (no agent channel in the domain), 501
"Unable to set password on instance" when the agent does not answer (libvirt's VIR_ERR_AGENT_UNRESPONSIVE), 409
"Failed to set admin password on <id> because ..." when the guest is not running or anything else fails (the
cause goes to the log only: it could carry the password).
"""
from __future__ import annotations

import asyncio
import logging

from nodecompute.compute.guests import Guests
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.domain import errors, states
from nodecompute.domain.guest_channels import AGENT_CHANNEL
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import Server
from nodecompute.virt import guest_power
from nodecompute.virt.errors import AgentUnresponsive

log = logging.getLogger(__name__)


class AgentNotEnabled(errors.Conflict):
    msg_fmt = "QEMU guest agent is not enabled"


class PasswordSetFailed(errors.Conflict):
    msg_fmt = "Failed to set admin password on %(instance)s because %(reason)s"


class PasswordNotSupported(errors.NotImplementedYet):
    msg_fmt = "Unable to set password on instance"


class ServerAdminPassword:
    def __init__(self, store: Store, actions: ServerActions) -> None:
        self.store = store
        self.actions = actions

    async def change(self, ctx: AuthContext, server_id: str, password: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["change_password"], server)
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def work(guests: Guests, server: Server, started: Started) -> None:
            try:
                await self._set(guests, server, password)
            except Exception as exc:
                outcome.set_exception(exc)
                raise
            outcome.set_result(None)

        await self.actions.begin(ctx, "change_password", server, (None,), work=work)
        try:
            await outcome
        finally:
            async with self.actions.tasks.lock(server.uuid):  # the action has cleared its task
                pass

    async def _set(self, guests: Guests, server: Server, password: str) -> None:
        if await guests.hv.power_state(server.instance_name) != states.RUNNING:
            raise PasswordSetFailed(instance=server.uuid, reason=f"instance {server.uuid} is not running")
        if AGENT_CHANNEL not in server.guest_channels:
            raise AgentNotEnabled()
        image = self.store.read(lambda db: images_db.get_image(db, server.image_id, include_deleted=True))
        user = (image.properties.get("os_admin_user") if image else None) or "root"  # Nova's default for Linux
        try:
            await guest_power.set_user_password(guests.hv, server.instance_name, user, password)
        except AgentUnresponsive:
            raise PasswordNotSupported() from None
        except Exception:
            log.exception("setting the admin password of server %s failed", server.uuid)
            raise PasswordSetFailed(instance=server.uuid, reason="error setting admin password") from None
