"""NIC hot-plug: a virtio NIC on a tap the host made beforehand, added to or removed from a domain (live when it
runs, and always in its definition). NICs are found by MAC, the port's: one domain never has two with one MAC."""
from __future__ import annotations

import asyncio

import libvirt

from nodecompute.virt.disk_devices import on_domain
from nodecompute.virt.domain_xml import InterfaceSpec, interface_macs, interface_xml
from nodecompute.virt.errors import HypervisorError
from nodecompute.virt.hypervisor import Hypervisor

UNPLUG_WAIT_SECONDS = 20.0
UNPLUG_POLL_SECONDS = 0.2


async def attach_interface(hv: Hypervisor, name: str, nic: InterfaceSpec) -> bool:
    """Add the NIC (hot-plugged when the domain runs). True when it was hot-plugged. Adding a MAC the domain
    already has is a no-op (a repeated attach after a crash)."""
    def op(dom: libvirt.virDomain) -> bool:
        live = bool(dom.isActive())
        if nic.mac.lower() in interface_macs(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)):
            return False
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0)
        dom.attachDeviceFlags(interface_xml(nic), flags)
        return live
    return await on_domain(hv, "attach interface to", name, op)


async def detach_interface(hv: Hypervisor, name: str, mac: str, *, wait_seconds: float = UNPLUG_WAIT_SECONDS,
                           poll_seconds: float = UNPLUG_POLL_SECONDS) -> None:
    """Remove the NIC with this MAC from the running guest (waiting for it to let go) and from the definition.
    Nothing to do when neither has it."""
    mac = mac.lower()

    def unplug_live(dom: libvirt.virDomain) -> bool:
        if not dom.isActive():
            return False
        xml = interface_macs(dom.XMLDesc(0)).get(mac)
        if xml is None:
            return False
        dom.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return True

    def live_has(dom: libvirt.virDomain) -> bool:
        return bool(dom.isActive()) and mac in interface_macs(dom.XMLDesc(0))

    def unplug_config(dom: libvirt.virDomain) -> None:
        xml = interface_macs(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).get(mac)
        if xml is not None:
            dom.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_CONFIG)

    if await on_domain(hv, "detach interface from", name, unplug_live):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while await on_domain(hv, "detach interface from", name, live_has):
            if loop.time() >= deadline:
                raise HypervisorError(f"the guest did not release the interface {mac} within {wait_seconds:g} s")
            await asyncio.sleep(poll_seconds)
    await on_domain(hv, "detach interface from", name, unplug_config)
