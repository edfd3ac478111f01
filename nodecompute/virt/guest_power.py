"""The libvirt calls of Nova's pause, suspend and crash dump, beside hypervisor.py (same pool, same errors):
pause = virDomainSuspend (the vCPUs stop, the memory stays in QEMU), unpause = virDomainResume, suspend =
virDomainManagedSave (the memory goes to a file libvirt keeps beside the domain and the domain is off; the next
start restores it, also after a daemon or host restart), an NMI (virDomainInjectNMI) for trigger_crash_dump, and
changePassword's virDomainSetUserPassword through the guest agent.
"""
from __future__ import annotations

import libvirt

from nodecompute.virt.errors import AgentUnresponsive
from nodecompute.virt.hypervisor import Hypervisor


async def pause(hv: Hypervisor, name: str) -> None:
    await hv.run("pause", name, lambda conn: conn.lookupByName(name).suspend())


async def unpause(hv: Hypervisor, name: str) -> None:
    await hv.run("unpause", name, lambda conn: conn.lookupByName(name).resume())


async def managed_save(hv: Hypervisor, name: str) -> None:
    await hv.run("suspend", name, lambda conn: conn.lookupByName(name).managedSave(0))


async def drop_managed_save(hv: Hypervisor, name: str) -> bool:
    """Forget a suspended domain's saved memory (a hard reboot boots afresh). True when there was one."""
    def op(conn: libvirt.virConnect) -> bool:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return False
            raise
        if not dom.hasManagedSaveImage(0):
            return False
        dom.managedSaveRemove(0)
        return True
    return await hv.run("managed save remove", name, op)


async def inject_nmi(hv: Hypervisor, name: str) -> None:
    await hv.run("inject NMI", name, lambda conn: conn.lookupByName(name).injectNMI(0))


async def set_user_password(hv: Hypervisor, name: str, user: str, password: str) -> None:
    """The guest agent sets `user`'s password (AgentUnresponsive when no agent answers)."""
    def op(conn: libvirt.virConnect) -> None:
        try:
            conn.lookupByName(name).setUserPassword(user, password, 0)
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_AGENT_UNRESPONSIVE:
                raise AgentUnresponsive(f"set user password in {name}: {err.get_error_message()}") from None
            raise
    await hv.run("set user password", name, op)
