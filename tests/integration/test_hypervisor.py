"""nodecompute.virt against real libvirt: qemu:///embed running QEMU under TCG (KVM where usable), and the test driver.

The domains boot an empty qcow2 disk: SeaBIOS finds nothing to boot, but the domain runs, and SeaBIOS prints
to the serial console (bios useserial), which proves the console log mechanism with real QEMU output.
One embedded root serves the whole session (`embed_uri` and `hv` live in conftest.py): libvirt allows a single
embed root per process.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from nodecompute.virt import designer, domain_xml
from nodecompute.virt.console import read_console_tail, rotated_path, trim_console_log
from nodecompute.virt.errors import DomainNotFound, HypervisorError
from nodecompute.virt.hostcaps import choose_virt_type
from nodecompute.virt.hypervisor import DomainEvent, Hypervisor

pytestmark = pytest.mark.integration
EVENT_TIMEOUT = 30.0
CONSOLE_TIMEOUT = 60.0


class Guests:
    """Makes small real domains and removes every one of them at teardown."""

    def __init__(self, hv: Hypervisor, workdir: Path) -> None:
        self.hv = hv
        self.workdir = workdir
        self.names: list[str] = []
        self.display_dir = Path(tempfile.mkdtemp(prefix="ncv", dir="/tmp"))  # short: socket paths <= 107 bytes

    def design(self, *, vnc: bool = True) -> tuple[str, str, Path]:
        server_id = str(uuid.uuid4())
        name = f"instance-{server_id[:8]}"  # Nova's instance-%08x shape, unique per test
        inst = self.workdir / server_id
        inst.mkdir()
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(inst / "disk"), "16M"], check=True)
        for extra in ("disk.swap", "disk.config"):
            with open(inst / extra, "wb") as f:
                f.truncate(1024 * 1024)
        console = inst / "console.log"
        console.touch()
        spec = designer.design_domain(
            name=name, uuid=server_id, display_name=f"test {name}", memory_mb=64, vcpus=1, 
            disks=designer.image_backed_disks(root=str(inst / "disk"), swap=str(inst / "disk.swap"),
                                              config_drive=str(inst / "disk.config")),
            console_log=str(console), vnc_socket=str(self.display_dir / f"{server_id}.sock") if vnc else None,
            server_id=server_id,
            project_id="project-a",
        )
        self.names.append(name)
        return name, domain_xml.render(spec, self.hv.host), console

    async def cleanup(self) -> None:
        for name in self.names:
            await self.hv.destroy(name)
            await self.hv.undefine(name)
        shutil.rmtree(self.display_dir, ignore_errors=True)


@pytest.fixture
async def guests(hv, tmp_path):
    made = Guests(hv, tmp_path)
    yield made
    await made.cleanup()


def uuid_of(xml: str) -> str:
    return ET.fromstring(xml).findtext("uuid")


async def wait_event(hv: Hypervisor, name: str, kind: str, timeout: float = EVENT_TIMEOUT) -> DomainEvent:
    async def next_match() -> DomainEvent:
        while True:
            event = await hv.events.get()
            if event.name == name and event.kind == kind:
                return event
    return await asyncio.wait_for(next_match(), timeout)


async def wait_console(path: Path, text: str, timeout: float = CONSOLE_TIMEOUT) -> str:
    """Wait for text in console.log itself (not its rotated part)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = path.read_bytes().decode(errors="replace")
        if text in output:
            return output
        await asyncio.sleep(0.2)
    raise AssertionError(f"{text!r} not in console log after {timeout}s: {read_console_tail(path, 2000)!r}")


async def test_host_is_read_from_capabilities(hv):
    assert hv.host.domain_type == choose_virt_type("auto")  # "qemu" (TCG) on hosts without usable KVM
    assert hv.host.arch == "x86_64"
    assert hv.host.machine == "pc"
    assert hv.host.emulator and os.path.exists(hv.host.emulator)
    assert hv.host.vcpus >= 1 and hv.host.memory_mb > 256


async def test_domain_lifecycle(hv, guests):
    name, xml, _console = guests.design()
    started = time.monotonic()
    await hv.define(xml)
    await hv.start(name)
    print(f"\ndefine+start under {hv.host.domain_type}: {time.monotonic() - started:.2f}s")

    assert await hv.power_state(name) == 1
    event = await wait_event(hv, name, "started")
    assert event.uuid == uuid_of(xml)
    first_id = await hv.domain_id(name)
    assert first_id is not None and first_id > 0

    live = await hv.live_xml(name)
    display = await hv.vnc_socket(name)
    assert display == str(guests.display_dir / f"{uuid_of(xml)}.sock")
    with socket.socket(socket.AF_UNIX) as client:  # QEMU made the socket; its VNC server greets at once
        client.settimeout(10)
        client.connect(display)
        assert client.recv(12) == b"RFB 003.008\n"
    assert "port=" not in live.split("<graphics", 1)[1].split("</graphics>", 1)[0]  # no TCP port at all
    assert "type='qemu'" in live or "type='kvm'" in live

    ours = await hv.list_ours()
    assert ours[name] == {"server_id": uuid_of(xml), "project_id": "project-a"}

    await hv.start(name)  # already running: nothing to do
    await hv.destroy(name)
    await wait_event(hv, name, "stopped")
    assert await hv.power_state(name) == 4
    assert await hv.domain_id(name) is None
    await hv.destroy(name)  # already off: no error

    await hv.start(name)
    await wait_event(hv, name, "started")
    assert await hv.domain_id(name) not in (None, first_id)
    await hv.destroy(name)
    await hv.undefine(name)
    await wait_event(hv, name, "undefined")
    assert await hv.power_state(name) == 0
    assert name not in await hv.list_ours()
    with pytest.raises(DomainNotFound):
        await hv.live_xml(name)
    await hv.undefine(name)  # already gone: no error


async def test_console_log_records_guest_serial_output_and_is_capped_while_running(hv, guests, embed_uri):
    name, xml, console = guests.design(vnc=False)
    await hv.define(xml)
    await hv.start(name)
    output = await wait_console(console, "No bootable device.\r\n")  # SeaBIOS's last line: it is idle now
    assert "SeaBIOS" in output and uuid_of(xml) in output  # SeaBIOS prints the SMBIOS machine UUID

    before = console.stat().st_size
    assert trim_console_log(console, 64) == before
    assert console.stat().st_size == 0
    assert rotated_path(console).stat().st_size >= 64
    assert "device" in read_console_tail(console, 64)

    # QEMU keeps writing through its O_APPEND descriptor: a reset makes SeaBIOS print again, at the new start.
    conn = await hv.call(libvirt.open, embed_uri)
    try:
        await hv.call(lambda: conn.lookupByName(name).reset(0))
    finally:
        await hv.call(conn.close)
    fresh = await wait_console(console, "No bootable device.\r\n")
    assert "SeaBIOS" in fresh and "\0" not in fresh  # written at the new end: no hole of zeros before it
    assert len(fresh.encode()) < before + 64
    assert "SeaBIOS" in read_console_tail(console, 1 << 20)


async def test_guest_survives_close_and_is_found_on_reopen(embed_uri, tmp_path, hv):
    other = Hypervisor(embed_uri)
    await other.open()
    made = Guests(other, tmp_path)
    try:
        name, xml, _console = made.design(vnc=False)
        await other.define(xml)
        await other.start(name)
        dom_id = await other.domain_id(name)
        await other.close()

        again = Hypervisor(embed_uri)
        await again.open()
        try:
            assert await again.power_state(name) == 1
            assert await again.domain_id(name) == dom_id
            assert name in await again.list_ours()
        finally:
            made.hv = again
            await made.cleanup()
            await again.close()
    finally:
        await other.close()  # no-op if closed above


async def test_errors_are_translated(hv, guests):
    with pytest.raises(DomainNotFound):
        await hv.start("instance-deadbeef")
    with pytest.raises(HypervisorError) as caught:
        await hv.define("<domain type='qemu'><name>broken</name></domain>")
    assert not isinstance(caught.value, libvirt.libvirtError)
    assert await hv.power_state("instance-deadbeef") == 0
    await hv.destroy("instance-deadbeef")  # hard power off of nothing is not an error
    with pytest.raises(DomainNotFound):
        await hv.shutdown("instance-deadbeef")


async def test_test_driver_open_define_start_destroy(tmp_path):
    test_hv = Hypervisor("test:///default")
    await test_hv.open()
    made = Guests(test_hv, tmp_path)
    try:
        assert test_hv.host.domain_type == "test"
        name, xml, _console = made.design()
        await test_hv.define(xml)
        await test_hv.start(name)
        await wait_event(test_hv, name, "started", timeout=5)
        assert await test_hv.power_state(name) == 1
        assert (await test_hv.list_ours())[name]["project_id"] == "project-a"
        await test_hv.destroy(name)
        await wait_event(test_hv, name, "stopped", timeout=5)
        assert await test_hv.power_state(name) == 4
    finally:
        await made.cleanup()
        await test_hv.close()
