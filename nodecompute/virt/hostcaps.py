"""What the host can run: the virt type to use and the guest arch/machine/emulator, from libvirt capabilities.

Pure functions over paths and XML text, so they are tested without a hypervisor. `qemu:///embed` reports
`<domain type='kvm'/>` whenever /dev/kvm exists, even where KVM does not work (nested without vmx/svm hangs the
guest), hence `choose_virt_type` looks at the CPU flags too.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from nodecompute.virt.errors import HypervisorError

VIRT_TYPES = ("auto", "kvm", "qemu")
PREFERRED_MACHINE = "pc"  # i440fx: the config drive goes on IDE, which q35 lacks


@dataclass(frozen=True)
class HostInfo:
    domain_type: str  # "kvm" | "qemu" | "test"
    arch: str
    machine: str  # "" when the driver lists no machine types (test driver)
    emulator: str | None
    hostname: str
    vcpus: int
    memory_mb: int


def kvm_usable(kvm_device: str = "/dev/kvm", cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the KVM device opens read-write and the CPU advertises hardware virtualisation."""
    try:
        fd = os.open(kvm_device, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.MULTILINE) is not None


def choose_virt_type(setting: str, *, kvm_device: str = "/dev/kvm", cpuinfo: str = "/proc/cpuinfo") -> str:
    """'kvm' or 'qemu' (TCG). 'auto' picks kvm only when `kvm_usable`; explicit settings are kept as they are."""
    if setting not in VIRT_TYPES:
        raise ValueError(f"virt_type must be one of {VIRT_TYPES}, not {setting!r}")
    if setting != "auto":
        return setting
    return "kvm" if kvm_usable(kvm_device, cpuinfo) else "qemu"


def host_info_from_capabilities(caps_xml: str, virt_type: str, *, hostname: str, vcpus: int,
                                memory_mb: int) -> HostInfo:
    """Pick the hvm guest of the host's own arch and the domain type to write into <domain type=...>.

    `virt_type` is what `choose_virt_type` returned; a driver that offers only its own type (the test driver's
    'test') gets that type instead. Raises HypervisorError when the driver offers no usable hvm guest.
    """
    root = ET.fromstring(caps_xml)
    host_arch = root.findtext("host/cpu/arch", default="")
    arches = [g.find("arch") for g in root.findall("guest") if g.findtext("os_type") == "hvm"]
    arches = [a for a in arches if a is not None]
    if not arches:
        raise HypervisorError("libvirt capabilities offer no hvm guest")
    arch = next((a for a in arches if a.get("name") == host_arch), arches[0])
    offered = [d.get("type", "") for d in arch.findall("domain")]
    if virt_type in offered:
        domain_type = virt_type
    elif offered and all(t not in ("kvm", "qemu") for t in offered):
        domain_type = offered[0]
    else:
        raise HypervisorError(f"virt type {virt_type!r} is not offered for {arch.get('name')} (offered: {offered})")
    domain = next(d for d in arch.findall("domain") if d.get("type") == domain_type)
    return HostInfo(
        domain_type=domain_type,
        arch=arch.get("name", ""),
        machine=_machine(arch),
        emulator=domain.findtext("emulator") or arch.findtext("emulator"),
        hostname=hostname,
        vcpus=vcpus,
        memory_mb=memory_mb,
    )


def _machine(arch: ET.Element) -> str:
    names = [m.text or "" for m in arch.findall("machine")]
    if PREFERRED_MACHINE in names:
        return PREFERRED_MACHINE
    return names[0] if names else ""
