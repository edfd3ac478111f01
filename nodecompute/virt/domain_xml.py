"""Domain configuration objects <-> libvirt domain XML. No policy here: designer.py decides what goes in.

Rendering is deterministic (fixed element and attribute order, mappings in their given order), so golden files
can pin it. Our own metadata lives under NAMESPACE as

    <metadata><nodecompute:instance xmlns:nodecompute="...">
        <nodecompute:name>the server's name</nodecompute:name>
        <nodecompute:tag key="server_id">...</nodecompute:tag> ...
    </nodecompute:instance></metadata>

and `parse_tags` recognises our domains by it. The server's name is only there, as Nova keeps it only in its
nova:instance/nova:name: libvirt refuses a <title> with a newline, which a valid server name may end with.
Text that XML 1.0 cannot carry at all (most C0 controls, U+FFFE/U+FFFF, lone surrogates) becomes U+FFFD.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from nodecompute.virt.hostcaps import HostInfo

NAMESPACE = "https://nodecompute.dev/xmlns/domain/1.0"
PREFIX = "nodecompute"
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class DiskSpec:
    path: str
    target: str  # vda, hda ...
    bus: str  # virtio, ide, scsi, sata
    device: str = "disk"  # disk | cdrom
    format: str = "qcow2"
    serial: str | None = None
    readonly: bool = False
    pci_slot: int | None = None  # a tagged virtio disk's pinned slot on PCI bus 0 (its device metadata names it)
    boot_order: int | None = None  # <boot order=N/>: then the domain has no <os><boot dev> (libvirt allows one)


@dataclass(frozen=True)
class ChannelSpec:
    """A virtio-serial port the guest sees by `name`, on a UNIX socket QEMU listens on: at `path`, or where
    libvirt chooses when None (libvirt then connects to it itself, as for the guest agent)."""

    name: str
    path: str | None = None


@dataclass(frozen=True)
class InterfaceSpec:
    """A virtio NIC on a tap the host made beforehand (`type='ethernet'`, `managed='no'`: libvirt opens it and
    leaves it in place), with the port's MAC. `pci_slot` pins its PCI address (bus 0) so that the device metadata
    written before the domain exists names the address the guest sees."""

    mac: str
    tap: str
    mtu: int | None = None
    pci_slot: int | None = None


@dataclass(frozen=True)
class TimerSpec:
    name: str  # pit, rtc, hpet ...
    tickpolicy: str | None = None
    present: bool | None = None


@dataclass(frozen=True)
class DomainSpec:
    name: str
    uuid: str
    memory_mb: int
    vcpus: int
    disks: tuple[DiskSpec, ...]
    console_log: str  # serial port 0 is appended to this file by QEMU
    vnc_socket: str | None  # the VNC display's UNIX socket; None: no graphics and no video device
    tags: Mapping[str, str]
    smbios: Mapping[str, str]  # <sysinfo type='smbios'><system> entries, in order
    display_name: str = ""  # the server's name, in our metadata only
    features: tuple[str, ...] = ()  # acpi, apic ...
    clock_offset: str = "utc"
    timers: tuple[TimerSpec, ...] = ()
    bios_serial: bool = False  # SeaBIOS messages on the serial console too
    video_model: str = "vga"
    usb_tablet: bool = False  # absolute pointer for VNC clients
    memballoon_period: int | None = None  # stats period in seconds; None: no balloon device
    boot_dev: str = "hd"
    # Serial port 0 as an interactive UNIX socket (the serial console) that QEMU also logs to console_log;
    # None: the port only appends to console_log (domains defined before the serial console existed).
    serial_socket: str | None = None
    channels: tuple[ChannelSpec, ...] = ()
    interfaces: tuple[InterfaceSpec, ...] = ()


def render(spec: DomainSpec, host: HostInfo) -> str:
    dom = ET.Element("domain", {"type": host.domain_type})
    _text(dom, "name", spec.name)
    _text(dom, "uuid", spec.uuid)
    dom.append(_metadata(spec.display_name, spec.tags))
    _text(dom, "memory", str(spec.memory_mb), unit="MiB")
    _text(dom, "vcpu", str(spec.vcpus))
    # Nova's default CPU for kvm is host-model. Under TCG libvirt's default is qemu64, which lacks x86-64-v2
    # (SSE4.2, POPCNT) and so cannot boot RHEL 9 family kernels; "maximum" is everything TCG emulates (-cpu max).
    ET.SubElement(dom, "cpu", {"mode": "host-model" if host.domain_type == "kvm" else "maximum"})
    if spec.smbios:
        dom.append(_sysinfo(spec.smbios))
    dom.append(_os(spec, host))
    if spec.features:
        features = ET.SubElement(dom, "features")
        for name in spec.features:
            ET.SubElement(features, name)
    dom.append(_clock(spec))
    dom.append(_devices(spec, host))
    ET.indent(dom, space="  ")
    return ET.tostring(dom, encoding="unicode") + "\n"


def parse_tags(domain_xml: str) -> dict[str, str] | None:
    """Our tags from a domain's XML, or None when the domain carries no nodecompute metadata."""
    instance = ET.fromstring(domain_xml).find(f"metadata/{{{NAMESPACE}}}instance")
    if instance is None:
        return None
    return {tag.get("key", ""): tag.text or "" for tag in instance.findall(f"{{{NAMESPACE}}}tag")}


def channels(domain_xml: str) -> dict[str, tuple[str | None, str | None]]:
    """name -> (socket path, state) of a domain's virtio channels; libvirt fills in the path it chose and, in the
    live XML, the state ("connected" once the guest opened its port)."""
    found = {}
    for element in ET.fromstring(domain_xml).findall("devices/channel"):
        target, source = element.find("target"), element.find("source")
        if target is not None and target.get("type") == "virtio":
            found[target.get("name", "")] = (source.get("path") if source is not None else None, target.get("state"))
    return found


def vnc_socket(domain_xml: str) -> str | None:
    """The UNIX socket of a domain's VNC display, None when it has no display or one on TCP."""
    graphics = ET.fromstring(domain_xml).find("devices/graphics[@type='vnc']")
    return None if graphics is None else _socket_of(graphics)


def vnc_tcp_address(domain_xml: str) -> str | None:
    """"address[:port]" of a VNC display on TCP (domains defined before displays became UNIX sockets), else None."""
    graphics = ET.fromstring(domain_xml).find("devices/graphics[@type='vnc']")
    if graphics is None or _socket_of(graphics) is not None:
        return None
    listen = graphics.find("listen[@type='address']")
    address = graphics.get("listen") or (listen.get("address") if listen is not None else None) or "127.0.0.1"
    port = int(graphics.get("port", "-1"))
    return f"{address}:{port}" if port > 0 else address


def _socket_of(graphics: ET.Element) -> str | None:
    listen = graphics.find("listen[@type='socket']")
    return graphics.get("socket") or (listen.get("socket") if listen is not None else None)


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = _NOT_XML_CHAR.sub("\ufffd", text)
    return element


def _metadata(display_name: str, tags: Mapping[str, str]) -> ET.Element:
    metadata = ET.Element("metadata")
    instance = ET.SubElement(metadata, f"{PREFIX}:instance", {f"xmlns:{PREFIX}": NAMESPACE})
    _text(instance, f"{PREFIX}:name", display_name)
    for key, value in tags.items():
        _text(instance, f"{PREFIX}:tag", value, key=key)
    return metadata


def _sysinfo(smbios: Mapping[str, str]) -> ET.Element:
    sysinfo = ET.Element("sysinfo", {"type": "smbios"})
    system = ET.SubElement(sysinfo, "system")
    for name, value in smbios.items():
        _text(system, "entry", value, name=name)
    return sysinfo


def _os(spec: DomainSpec, host: HostInfo) -> ET.Element:
    os_el = ET.Element("os")
    type_attrs = {"arch": host.arch}
    if host.machine:
        type_attrs["machine"] = host.machine
    _text(os_el, "type", "hvm", **type_attrs)
    if not any(disk.boot_order is not None for disk in spec.disks):
        ET.SubElement(os_el, "boot", {"dev": spec.boot_dev})
    if spec.bios_serial:
        ET.SubElement(os_el, "bios", {"useserial": "yes"})
    if spec.smbios:
        ET.SubElement(os_el, "smbios", {"mode": "sysinfo"})
    return os_el


def _clock(spec: DomainSpec) -> ET.Element:
    clock = ET.Element("clock", {"offset": spec.clock_offset})
    for timer in spec.timers:
        attrs = {"name": timer.name}
        if timer.tickpolicy is not None:
            attrs["tickpolicy"] = timer.tickpolicy
        if timer.present is not None:
            attrs["present"] = "yes" if timer.present else "no"
        ET.SubElement(clock, "timer", attrs)
    return clock


def _serial(spec: DomainSpec) -> ET.Element:
    """Serial port 0: a UNIX socket QEMU listens on, logged to the console log (QEMU opens the log with O_APPEND,
    so the trimmer may truncate it), or, without a socket, the console log itself."""
    if spec.serial_socket is None:
        serial = ET.Element("serial", {"type": "file"})
        ET.SubElement(serial, "source", {"path": spec.console_log, "append": "on"})
    else:
        serial = ET.Element("serial", {"type": "unix"})
        ET.SubElement(serial, "source", {"mode": "bind", "path": spec.serial_socket})
        ET.SubElement(serial, "log", {"file": spec.console_log, "append": "on"})
    ET.SubElement(serial, "target", {"port": "0"})
    return serial


def _devices(spec: DomainSpec, host: HostInfo) -> ET.Element:
    devices = ET.Element("devices")
    if host.emulator:
        _text(devices, "emulator", host.emulator)
    for disk in spec.disks:
        devices.append(_disk(disk))
    devices.append(_serial(spec))
    if spec.vnc_socket is not None:
        if spec.usb_tablet:
            ET.SubElement(devices, "input", {"type": "tablet", "bus": "usb"})
        graphics = ET.SubElement(devices, "graphics", {"type": "vnc"})
        ET.SubElement(graphics, "listen", {"type": "socket", "socket": spec.vnc_socket})
        video = ET.SubElement(devices, "video")
        ET.SubElement(video, "model", {"type": spec.video_model})
    for interface in spec.interfaces:
        devices.append(interface_element(interface))
    for channel in spec.channels:
        devices.append(_channel(channel))
    if spec.memballoon_period is None:
        ET.SubElement(devices, "memballoon", {"model": "none"})
    else:
        balloon = ET.SubElement(devices, "memballoon", {"model": "virtio"})
        ET.SubElement(balloon, "stats", {"period": str(spec.memballoon_period)})
    return devices


def interface_element(nic: InterfaceSpec) -> ET.Element:
    element = ET.Element("interface", {"type": "ethernet"})
    ET.SubElement(element, "mac", {"address": nic.mac})
    ET.SubElement(element, "target", {"dev": nic.tap, "managed": "no"})
    ET.SubElement(element, "model", {"type": "virtio"})
    if nic.mtu:
        ET.SubElement(element, "mtu", {"size": str(nic.mtu)})
    if nic.pci_slot is not None:
        ET.SubElement(element, "address", {"type": "pci", "domain": "0x0000", "bus": "0x00",
                                           "slot": f"0x{nic.pci_slot:02x}", "function": "0x0"})
    return element


def interface_xml(nic: InterfaceSpec) -> str:
    return ET.tostring(interface_element(nic), encoding="unicode")


def interface_macs(domain_xml: str) -> dict[str, str]:
    """mac -> the <interface> element's XML, of every NIC of a domain."""
    found = {}
    for element in ET.fromstring(domain_xml).findall("devices/interface"):
        mac = element.find("mac")
        if mac is not None:
            found[mac.get("address", "").lower()] = ET.tostring(element, encoding="unicode")
    return found


def _channel(channel: ChannelSpec) -> ET.Element:
    element = ET.Element("channel", {"type": "unix"})
    ET.SubElement(element, "source", {"mode": "bind", **({"path": channel.path} if channel.path else {})})
    ET.SubElement(element, "target", {"type": "virtio", "name": channel.name})
    return element


def _disk(disk: DiskSpec) -> ET.Element:
    element = ET.Element("disk", {"type": "file", "device": disk.device})
    ET.SubElement(element, "driver", {"name": "qemu", "type": disk.format})
    ET.SubElement(element, "source", {"file": disk.path})
    ET.SubElement(element, "target", {"dev": disk.target, "bus": disk.bus})
    if disk.serial:
        _text(element, "serial", disk.serial)
    if disk.boot_order is not None:
        ET.SubElement(element, "boot", {"order": str(disk.boot_order)})
    if disk.readonly:
        ET.SubElement(element, "readonly")
    if disk.pci_slot is not None and disk.bus == "virtio":
        ET.SubElement(element, "address", {"type": "pci", "domain": "0x0000", "bus": "0x00",
                                           "slot": f"0x{disk.pci_slot:02x}", "function": "0x0"})
    return element
