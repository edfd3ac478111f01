"""nodecompute.virt without a hypervisor: domain XML goldens, tags, VNC displays, host capabilities, virt type
choice, console log capping. Regenerate the goldens after an intended change with NODECOMPUTE_REGEN_GOLDEN=1."""
from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nodecompute.virt import designer, domain_xml
from nodecompute.virt.console import read_console_tail, rotated_path, trim_console_log
from nodecompute.virt.embed import embed_root, qemu_conf_text
from nodecompute.virt.errors import HypervisorError, InvalidDevicePath
from nodecompute.virt.hostcaps import HostInfo, choose_virt_type, host_info_from_capabilities

DATA = Path(__file__).resolve().parent.parent / "data"
UUID = "6a3f1c2e-0d4b-4c43-9f7e-3c1d2b9a8e11"
INST = f"/var/lib/nodecompute/instances/{UUID}"
VNC_SOCKET = f"/var/lib/nodecompute/vnc/{UUID}.sock"
TCG_HOST = HostInfo(domain_type="qemu", arch="x86_64", machine="pc", emulator="/usr/bin/qemu-system-x86_64",
                    hostname="node1", vcpus=2, memory_mb=4096)


def full_spec() -> domain_xml.DomainSpec:
    return designer.design_domain(
        name="instance-0000002a", uuid=UUID, display_name="web & db <1>", memory_mb=512, vcpus=2,
        disks=designer.image_backed_disks(root=f"{INST}/disk", ephemeral=f"{INST}/disk.local",
                                          swap=f"{INST}/disk.swap", config_drive=f"{INST}/disk.config"),
        console_log=f"{INST}/console.log", vnc_socket=VNC_SOCKET,
        server_id=UUID, project_id="0c4e939acacf4376bdcd1129f1a054ad",
    )


def minimal_spec() -> domain_xml.DomainSpec:
    return designer.design_domain(
        name="instance-00000001", uuid=UUID, display_name="", memory_mb=64, vcpus=1,
        disks=designer.image_backed_disks(root=f"{INST}/disk"), console_log=f"{INST}/console.log",
        vnc_socket=None,
        server_id=UUID, project_id="p",
    )


def assert_golden(name: str, text: str) -> None:
    path = DATA / name
    if os.environ.get("NODECOMPUTE_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


# -- rendering ---------------------------------------------------------------------------------------------------

def test_full_domain_matches_golden():
    assert_golden("domain_full.xml", domain_xml.render(full_spec(), TCG_HOST))


def test_minimal_domain_matches_golden():
    assert_golden("domain_minimal.xml", domain_xml.render(minimal_spec(), TCG_HOST))


def test_rendering_is_deterministic():
    assert domain_xml.render(full_spec(), TCG_HOST) == domain_xml.render(full_spec(), TCG_HOST)


def test_full_domain_disk_layout_and_smbios():
    dom = ET.fromstring(domain_xml.render(full_spec(), TCG_HOST))
    disks = [(d.get("device"), d.find("target").get("dev"), d.find("target").get("bus"),
              d.find("driver").get("type"), d.find("readonly") is not None) for d in dom.findall("devices/disk")]
    assert disks == [("disk", "vda", "virtio", "qcow2", False), ("disk", "vdb", "virtio", "raw", False),
                     ("disk", "vdc", "virtio", "raw", False), ("cdrom", "hda", "ide", "raw", True)]
    entries = {e.get("name"): e.text for e in dom.findall("sysinfo/system/entry")}
    assert entries == {"manufacturer": "OpenStack Foundation", "product": "OpenStack Nova", "serial": UUID,
                       "uuid": UUID, "family": "Virtual Machine"}
    assert dom.find("os/smbios").get("mode") == "sysinfo"
    assert dom.find("title") is None  # libvirt refuses titles with a newline: the name is in our metadata only
    assert dom.findtext(f"metadata/{{{domain_xml.NAMESPACE}}}instance/{{{domain_xml.NAMESPACE}}}name") == \
        "web & db <1>"


@pytest.mark.parametrize(("name", "stored"), [
    ("ends in a newline\n", "ends in a newline\n"),  # Nova's name pattern lets a trailing newline through
    ("tab\tand\x7f del", "tab\tand\x7f del"),
    ("bell\x07 \ufffe \ud800 \U0001f600", "bell\ufffd \ufffd \ufffd \U0001f600"),  # no XML 1.0 character
])
def test_any_name_makes_well_formed_xml(name, stored):
    spec = designer.design_domain(
        name="instance-00000001", uuid=UUID, display_name=name, memory_mb=64, vcpus=1,
        disks=designer.image_backed_disks(root="/r"), console_log="/l", vnc_socket=None, server_id=UUID,
        project_id="p")
    xml = domain_xml.render(spec, TCG_HOST)
    xml.encode()  # no lone surrogate left: libvirt's binding must be able to encode it
    dom = ET.fromstring(xml)
    assert dom.find("title") is None
    assert dom.findtext(f"metadata/{{{domain_xml.NAMESPACE}}}instance/{{{domain_xml.NAMESPACE}}}name") == stored
    assert domain_xml.parse_tags(xml) == {"server_id": UUID, "project_id": "p"}


def test_swap_without_ephemeral_takes_next_free_name():
    spec = designer.design_domain(
        name="i", uuid=UUID, display_name="", memory_mb=64, vcpus=1,
        disks=designer.image_backed_disks(root="/r", swap="/s", config_drive="/c"), console_log="/l",
        vnc_socket=None, server_id=UUID, project_id="p")
    assert [(d.path, d.target) for d in spec.disks] == [("/r", "vda"), ("/s", "vdb"), ("/c", "hda")]


def test_a_per_disk_boot_order_replaces_the_os_boot_device():
    """Nova's stable device rescue: the rescue disk, last, boots first (libvirt takes one way of ordering boot)."""
    disks = designer.image_backed_disks(root="/r", config_drive="/c") + [
        designer.GuestDisk("/rescue", "qcow2", boot_order=1)]
    spec = designer.design_domain(name="i", uuid=UUID, display_name="", memory_mb=64, vcpus=1, disks=disks,
                                  console_log="/l", vnc_socket=None, server_id=UUID, project_id="p")
    root = ET.fromstring(domain_xml.render(spec, TCG_HOST))
    assert [(d.find("target").get("dev"), d.find("boot").get("order") if d.find("boot") is not None else None)
            for d in root.findall("devices/disk")] == [("vda", None), ("hda", None), ("vdb", "1")]
    assert root.find("os/boot") is None
    assert ET.fromstring(domain_xml.render(minimal_spec(), TCG_HOST)).find("os/boot").get("dev") == "hd"


def test_disks_take_the_requested_name_or_the_next_free_one_of_their_bus():
    disks = [designer.GuestDisk("/r", "qcow2"), designer.GuestDisk("/v", "raw", requested="/dev/vdd"),
             designer.GuestDisk("/e", "raw"), designer.GuestDisk("/s", "raw", bus="scsi", serial="vol-1"),
             designer.GuestDisk("/c", "raw", bus="ide", device="cdrom", readonly=True),
             designer.GuestDisk("/c2", "raw", bus="ide", device="cdrom", readonly=True)]
    named = designer.name_disks(disks)
    assert [(d.path, d.target, d.bus) for d in named] == [
        ("/r", "vda", "virtio"), ("/v", "vdd", "virtio"), ("/e", "vdb", "virtio"), ("/s", "sda", "scsi"),
        ("/c", "hda", "ide"), ("/c2", "hdb", "ide")]
    assert named[3].serial == "vol-1" and named[4].readonly and named[4].device == "cdrom"


def test_a_requested_name_in_use_or_of_another_bus_is_refused():
    with pytest.raises(InvalidDevicePath, match="in use"):
        designer.name_disks([designer.GuestDisk("/r", "qcow2"), designer.GuestDisk("/v", "raw", requested="vda")])
    with pytest.raises(InvalidDevicePath, match="invalid"):
        designer.name_disks([designer.GuestDisk("/v", "raw", requested="/dev/sdb")])


def test_many_disks_go_past_vdz():
    named = designer.name_disks([designer.GuestDisk(f"/d{n}", "raw") for n in range(28)])
    assert [d.target for d in named[24:]] == ["vdy", "vdz", "vdaa", "vdab"]


def test_no_vnc_means_no_graphics_video_or_tablet():
    dom = ET.fromstring(domain_xml.render(minimal_spec(), TCG_HOST))
    assert dom.find("devices/graphics") is None
    assert dom.find("devices/video") is None
    assert dom.find("devices/input") is None


def test_test_driver_host_has_no_machine_attribute():
    host = HostInfo("test", "i686", "", "/usr/bin/test-hv", "vm", 16, 3072)
    dom = ET.fromstring(domain_xml.render(minimal_spec(), host))
    assert dom.get("type") == "test"
    assert dom.find("os/type").attrib == {"arch": "i686"}


# -- parsing -----------------------------------------------------------------------------------------------------

def test_parse_tags_round_trip():
    xml = domain_xml.render(full_spec(), TCG_HOST)
    assert domain_xml.parse_tags(xml) == {"server_id": UUID, "project_id": "0c4e939acacf4376bdcd1129f1a054ad"}


def test_parse_tags_of_libvirt_reserialised_metadata():
    # libvirt writes our element back with its own prefix choice; only the namespace counts.
    xml = (f"<domain><name>x</name><metadata><nc:instance xmlns:nc='{domain_xml.NAMESPACE}'>"
           "<nc:tag key='server_id'>abc</nc:tag></nc:instance>"
           "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'/></metadata></domain>")
    assert domain_xml.parse_tags(xml) == {"server_id": "abc"}


def test_parse_tags_is_none_for_foreign_domains():
    assert domain_xml.parse_tags("<domain type='kvm'><name>other</name></domain>") is None
    foreign = "<domain><metadata><x:i xmlns:x='urn:other'/></metadata></domain>"
    assert domain_xml.parse_tags(foreign) is None


def test_vnc_display_is_a_unix_socket_only():
    dom = ET.fromstring(domain_xml.render(full_spec(), TCG_HOST))
    (graphics,) = dom.findall("devices/graphics")
    assert graphics.attrib == {"type": "vnc"}  # no port, no autoport, no listen address
    assert [listen.attrib for listen in graphics] == [{"type": "socket", "socket": VNC_SOCKET}]


def test_serial_console_is_a_unix_socket_logged_to_the_console_log():
    spec = dataclasses.replace(full_spec(), serial_socket=f"/var/lib/nodecompute/vnc/{UUID}.ser")
    (serial,) = ET.fromstring(domain_xml.render(spec, TCG_HOST)).findall("devices/serial")
    assert serial.attrib == {"type": "unix"}
    assert [(child.tag, child.attrib) for child in serial] == [
        ("source", {"mode": "bind", "path": f"/var/lib/nodecompute/vnc/{UUID}.ser"}),
        ("log", {"file": f"{INST}/console.log", "append": "on"}), ("target", {"port": "0"})]


def test_without_a_serial_socket_the_port_writes_the_console_log():
    (serial,) = ET.fromstring(domain_xml.render(full_spec(), TCG_HOST)).findall("devices/serial")
    assert serial.attrib == {"type": "file"}
    assert [(child.tag, child.attrib) for child in serial] == [
        ("source", {"path": f"{INST}/console.log", "append": "on"}), ("target", {"port": "0"})]


@pytest.mark.parametrize(("graphics", "socket", "tcp"), [
    # as we define it, and as libvirt shows it back
    (f"<graphics type='vnc'><listen type='socket' socket='{VNC_SOCKET}'/></graphics>", VNC_SOCKET, None),
    (f"<graphics type='vnc' socket='{VNC_SOCKET}'><listen type='socket' socket='{VNC_SOCKET}'/></graphics>",
     VNC_SOCKET, None),
    # defined before displays became sockets: running (libvirt filled the port in) and not running
    ("<graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>"
     "<listen type='address' address='127.0.0.1'/></graphics>", None, "127.0.0.1:5901"),
    ("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>", None, "127.0.0.1"),
    ("<graphics type='spice' port='5930'/>", None, None),
    ("", None, None),
])
def test_vnc_socket_and_tcp_address(graphics, socket, tcp):
    xml = f"<domain><devices>{graphics}</devices></domain>"
    assert domain_xml.vnc_socket(xml) == socket
    assert domain_xml.vnc_tcp_address(xml) == tcp


# -- host capabilities and virt type -----------------------------------------------------------------------------

@pytest.fixture
def fake_host(tmp_path):
    def make(*, kvm: bool, flags: str) -> dict[str, str]:
        device = tmp_path / "kvm"
        if kvm:
            device.write_bytes(b"")
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: fpu {flags} sse2\n\nprocessor\t: 1\nflags\t\t: fpu\n")
        return {"kvm_device": str(device), "cpuinfo": str(cpuinfo)}
    return make


@pytest.mark.parametrize(("kvm", "flags", "expected"), [
    (True, "vmx", "kvm"), (True, "svm", "kvm"), (True, "hypervisor", "qemu"),
    (False, "vmx", "qemu"), (True, "vmxnot svmx", "qemu"),
])
def test_choose_virt_type_auto(fake_host, kvm, flags, expected):
    assert choose_virt_type("auto", **fake_host(kvm=kvm, flags=flags)) == expected


def test_choose_virt_type_explicit_settings_are_kept(fake_host):
    paths = fake_host(kvm=False, flags="")
    assert choose_virt_type("kvm", **paths) == "kvm"
    assert choose_virt_type("qemu", **fake_host(kvm=True, flags="vmx")) == "qemu"
    with pytest.raises(ValueError):
        choose_virt_type("xen", **paths)


def test_choose_virt_type_device_that_does_not_open_rw(fake_host, tmp_path):
    paths = fake_host(kvm=False, flags="vmx")
    paths["kvm_device"] = str(tmp_path)  # a directory: O_RDWR fails even for root
    assert choose_virt_type("auto", **paths) == "qemu"


def test_host_info_from_real_qemu_capabilities():
    caps = (DATA / "capabilities_qemu_x86_64.xml").read_text()
    info = host_info_from_capabilities(caps, "qemu", hostname="vm", vcpus=2, memory_mb=24105)
    assert info == HostInfo("qemu", "x86_64", "pc", "/usr/bin/qemu-system-x86_64", "vm", 2, 24105)
    assert host_info_from_capabilities(caps, "kvm", hostname="vm", vcpus=2, memory_mb=1).domain_type == "kvm"


def test_host_info_test_driver_offers_its_own_type():
    caps = ("<capabilities><host><cpu><arch>i686</arch></cpu></host><guest><os_type>hvm</os_type>"
            "<arch name='i686'><emulator>/usr/bin/test-hv</emulator><domain type='test'/></arch></guest>"
            "</capabilities>")
    info = host_info_from_capabilities(caps, "qemu", hostname="h", vcpus=16, memory_mb=3072)
    assert (info.domain_type, info.arch, info.machine, info.emulator) == ("test", "i686", "", "/usr/bin/test-hv")


def test_host_info_refuses_missing_virt_type():
    caps = ("<capabilities><host><cpu><arch>x86_64</arch></cpu></host><guest><os_type>hvm</os_type>"
            "<arch name='x86_64'><machine>pc</machine><domain type='qemu'/></arch></guest></capabilities>")
    with pytest.raises(HypervisorError, match="'kvm' is not offered"):
        host_info_from_capabilities(caps, "kvm", hostname="h", vcpus=1, memory_mb=1)


def test_embed_root_and_qemu_conf():
    assert embed_root("qemu:///embed?root=/tmp/nc1") == Path("/tmp/nc1")
    assert embed_root("qemu:///system") is None
    assert embed_root("test:///default") is None
    assert 'stdio_handler = "file"' in qemu_conf_text(as_root=False)
    assert 'user = "root"' not in qemu_conf_text(as_root=False)
    assert 'user = "root"' in qemu_conf_text(as_root=True)
    assert "dynamic_ownership = 0" in qemu_conf_text(as_root=True)  # root QEMU: no relabelling, no /dev namespace
    assert "dynamic_ownership" not in qemu_conf_text(as_root=False)


# -- console log -------------------------------------------------------------------------------------------------

def test_console_tail_spans_rotated_part(tmp_path):
    log = tmp_path / "console.log"
    rotated_path(log).write_bytes(b"old-1\nold-2\n")
    log.write_bytes(b"new-1\n")
    assert read_console_tail(log, 1000) == "old-1\nold-2\nnew-1\n"
    assert read_console_tail(log, 12) == "old-2\nnew-1\n"
    assert read_console_tail(tmp_path / "missing.log", 100) == ""


def test_console_tail_replaces_broken_utf8(tmp_path):
    log = tmp_path / "console.log"
    log.write_bytes("é-ok".encode())
    assert read_console_tail(log, 4) == "\ufffd-ok"  # the tail cuts "é" in half


def test_trim_keeps_tail_and_writer_with_o_append_continues(tmp_path):
    log = tmp_path / "console.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # as libvirt hands it to QEMU
    try:
        os.write(fd, b"".join(b"line %04d\n" % i for i in range(300)))  # 3000 bytes
        assert trim_console_log(log, 1000) == 3000
        assert log.stat().st_size == 0
        assert rotated_path(log).read_bytes().startswith(b"line 0200\n")
        os.write(fd, b"after trim\n")
        assert log.read_bytes() == b"after trim\n"  # no hole of zeros before it
        assert read_console_tail(log, 21).endswith("line 0299\nafter trim\n")
        assert trim_console_log(log, 1000) == 0  # under the cap: untouched
    finally:
        os.close(fd)


# -- channels ----------------------------------------------------------------------------------------------------

def test_channels_render_as_virtio_serial_ports_on_unix_sockets():
    spec = designer.design_domain(
        name="i", uuid=UUID, display_name="", memory_mb=64, vcpus=1, disks=designer.image_backed_disks(root="/r"),
        console_log="/l", vnc_socket=None, server_id=UUID, project_id="p",
        channels=[domain_xml.ChannelSpec("org.nodecompute.test.0", f"/run/vnc/{UUID}.chan"),
                  domain_xml.ChannelSpec("org.qemu.guest_agent.0")])
    xml = domain_xml.render(spec, TCG_HOST)
    found = [(c.get("type"), c.find("source").attrib, c.find("target").attrib)
             for c in ET.fromstring(xml).findall("devices/channel")]
    assert found == [
        ("unix", {"mode": "bind", "path": f"/run/vnc/{UUID}.chan"},
         {"type": "virtio", "name": "org.nodecompute.test.0"}),
        ("unix", {"mode": "bind"}, {"type": "virtio", "name": "org.qemu.guest_agent.0"}),  # libvirt picks the path
    ]
    assert domain_xml.channels(xml) == {"org.nodecompute.test.0": (f"/run/vnc/{UUID}.chan", None),
                                        "org.qemu.guest_agent.0": (None, None)}
    assert domain_xml.channels(domain_xml.render(minimal_spec(), TCG_HOST)) == {}


def test_live_channel_state_is_read_back():
    live = ("<domain><devices><channel type='unix'><source mode='bind' path='/x/qga.0'/>"
            "<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>"
            "<channel type='pty'><target type='serial'/></channel></devices></domain>")
    assert domain_xml.channels(live) == {"org.qemu.guest_agent.0": ("/x/qga.0", "connected")}
