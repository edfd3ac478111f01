"""The test guest's command channel and what later features prove with it, on one guest booted once.

Plain QEMU TCG (no libvirt), 2 vCPUs: a raw root disk carrying a file written before boot, a vfat config drive
labelled config-2 in HP Helion's manner (with /meta.js, tagged devices and a `#!` user-data script), the command
channel (virtio-serial org.nodecompute.test.0) and the guest agent's port (org.qemu.guest_agent.0), the
serial port as a socket with a log. Disks are hot-plugged over QMP, keys typed on the VGA console with
send-key, an NMI injected with inject-nmi.
"""
from __future__ import annotations

import base64
import json
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.integration.guest_vm import GuestVM, build_image, connect_unix

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
USER_SCRIPT = b"#!/bin/sh\necho script says hi\necho script complains >&2\nexit 7\n"
META_JS = b'{"uuid": "helion-style", "meta": {"x": "y"}}\n'
INSTANCE_ID = "i-0000002a"
PRE_FILE_TEXT = "written before boot"
METADATA = {
    "uuid": "7d3a1c52-0b1e-4c55-9f0e-3b1c2d4e5f60",
    "name": "command guest",
    "hostname": "command-guest",
    "availability_zone": "nova",
    "devices": [
        {"type": "nic", "bus": "pci", "address": "0000:00:03.0", "mac": "fa:16:3e:00:00:01",
         "tags": ["frontend", "web"]},
        {"type": "disk", "bus": "virtio", "address": "0000:00:07.0", "serial": "vol-data-1", "tags": ["data"]},
        {"type": "nic", "bus": "pci", "address": "0000:00:04.0", "mac": "fa:16:3e:00:00:02", "tags": []},
    ],
}


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout


def make_vfat(path: Path, label: str, mib: int) -> Path:
    with open(path, "wb") as disk:
        disk.truncate(mib * MIB)
    run("mkfs.vfat", "-n", label, str(path))
    return path


def make_helion_drive(workdir: Path) -> Path:
    tree = workdir / "drive"
    (tree / "openstack" / "latest").mkdir(parents=True)
    (tree / "ec2" / "latest").mkdir(parents=True)
    (tree / "openstack" / "latest" / "meta_data.json").write_text(json.dumps(METADATA))
    (tree / "openstack" / "latest" / "user_data").write_bytes(USER_SCRIPT)
    (tree / "ec2" / "latest" / "meta-data.json").write_text(json.dumps({"instance-id": INSTANCE_ID}))
    (tree / "meta.js").write_bytes(META_JS)
    drive = make_vfat(workdir / "config.img", "config-2", 8)
    run("mcopy", "-s", "-i", str(drive), str(tree / "openstack"), str(tree / "ec2"), str(tree / "meta.js"), "::/")
    return drive


def make_root_disk(workdir: Path) -> Path:
    root = workdir / "root.raw"
    run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(build_image()), str(root))
    (workdir / "pre.txt").write_text(PRE_FILE_TEXT + "\n")
    run("mmd", "-i", str(root), "::/ncfiles")
    run("mcopy", "-i", str(root), str(workdir / "pre.txt"), "::/ncfiles/pre.txt")
    return root


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ncgc-"))  # short: QEMU's socket paths stay under 108 bytes
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def guest(workdir):
    args = ["-drive", f"file={make_root_disk(workdir)},if=virtio,format=raw",
            "-drive", f"file={make_helion_drive(workdir)},if=virtio,format=raw"]
    vm = GuestVM(workdir, args, memory_mib=256, cpus=2, channel=True, agent=True)
    try:
        print(f"command guest boot-to-ready under TCG: {vm.boot():.1f}s")
        yield vm
    finally:
        vm.kill()


@pytest.fixture(scope="module")
def channel(guest):
    chan = guest.channel()
    yield chan
    chan.close()


def test_channel_answers_on_the_channel_and_on_the_serial_log(guest, channel):
    answer = channel.answer(channel.send("echo out-$((6*7)); echo err-line >&2; exit 3", "first.1"))
    assert answer.rc == 3
    assert answer.out == ["out-42", "err-line"]
    guest.wait_for_line("cmd first.1 rc=3")
    lines = guest.lines()
    start = lines.index("cmd first.1 begin")
    assert [line for line in lines[start:] if line.startswith("cmd first.1 ")] == [
        "cmd first.1 begin", "cmd first.1 out out-42", "cmd first.1 out err-line", "cmd first.1 rc=3"]


def test_channel_numbers_lines_without_an_id(guest, channel):
    channel.sock.sendall(b"echo auto-$((40+2))\r\n")
    number = guest.wait_for_match(r"cmd (\d+) out auto-42").group(1)
    guest.wait_for_line(f"cmd {number} rc=0")


def test_channel_runs_commands_in_parallel(channel):
    slow = channel.send("sleep 2; echo slow")
    fast = channel.send("echo fast")
    assert channel.answer(fast, timeout=10).out == ["fast"]
    assert not any(line.startswith(f"cmd {slow} rc=") for line in channel.lines)
    assert channel.answer(slow).out == ["slow"]


def test_user_data_script_runs_after_ready(guest):
    guest.wait_for_line("userscript rc=7")
    lines = guest.lines()
    assert lines.index("ready") < lines.index("userscript begin")
    assert guest.values("userscript out ") == ["script says hi", "script complains"]


def test_machine_identity_from_a_helion_vfat_drive(guest, channel):
    assert guest.value("source=") == "configdrive"
    assert guest.value("uuid=") == METADATA["uuid"]
    assert base64.b64decode(guest.value("metajs ")) == META_JS
    assert guest.value("instance-id=") == INSTANCE_ID
    assert guest.values("device ") == [
        "type=nic bus=pci address=0000:00:03.0 mac=fa:16:3e:00:00:01 tags=frontend,web",
        "type=disk bus=virtio address=0000:00:07.0 serial=vol-data-1 tags=data",
        "type=nic bus=pci address=0000:00:04.0 mac=fa:16:3e:00:00:02 tags=",
    ]
    assert channel.ok("hostname") == "command-guest"


def test_memory_and_cpus(guest, channel):
    total_kb = int(guest.value("mem total_kb="))
    assert 200_000 < total_kb <= 256 * 1024
    assert channel.ok("awk '/^MemTotal:/ { print $2 }' /proc/meminfo") == str(total_kb)
    assert guest.value("cpus=") == "2"


def test_root_files_survive_on_the_root_disk(guest, channel, workdir):
    assert guest.values("rootfile ") == [f"pre.txt {PRE_FILE_TEXT}"]
    assert channel.ok("readfile pre.txt") == PRE_FILE_TEXT
    assert channel.ok("writefile later.txt written at run time") == "wrote later.txt"
    assert channel.ok("readfile later.txt") == "written at run time"
    on_disk = run("mtype", "-i", str(workdir / "root.raw"), "::/ncfiles/later.txt")
    assert on_disk == "written at run time\n"
    assert channel.run("writefile ../escape nope").rc != 0


def uptime_ticks(guest: GuestVM) -> list[float]:
    return [float(value) for value in guest.values("tick ")]


def test_uptime_ticks_every_second_and_freezes_while_paused(guest, channel):
    channel.ok("uptime on")
    guest.wait_for(lambda _: len(uptime_ticks(guest)) >= 2, "two ticks", 15)
    guest.qmp.execute("stop")
    paused_at = len(uptime_ticks(guest))
    wall_before = time.monotonic()
    time.sleep(3)
    guest.qmp.execute("cont")
    guest.wait_for(lambda _: len(uptime_ticks(guest)) >= paused_at + 2, "ticks after cont", 15)
    wall_gap = time.monotonic() - wall_before
    ticks = uptime_ticks(guest)
    assert all(later > earlier for earlier, later in zip(ticks, ticks[1:]))
    assert 0.5 < ticks[1] - ticks[0] < 2.5
    assert ticks[paused_at] - ticks[paused_at - 1] < 2.5 < wall_gap  # the guest's clock stood still
    channel.ok("uptime off")
    stopped = len(uptime_ticks(guest))
    time.sleep(2.5)
    assert len(uptime_ticks(guest)) <= stopped + 1
    assert " up " in channel.ok("uptime")  # plain `uptime` is still busybox's


def cpu_ticks(channel) -> tuple[int, int]:
    """(busy, all) ticks of every vCPU from /proc/stat: user + nice + system, and the sum of every field."""
    fields = [int(field) for field in channel.ok("head -n 1 /proc/stat").split()[1:]]
    return sum(fields[:3]), sum(fields)


def test_busy_keeps_the_vcpus_busy(channel):
    # Under TCG on a shared host a vCPU thread may not run all the time: compare with the ticks counted at all.
    busy_before, all_before = cpu_ticks(channel)
    assert channel.ok("busy 2 2") == "busy 2 s x 2 done"
    busy_after, all_after = cpu_ticks(channel)
    assert busy_after - busy_before >= 0.7 * (all_after - all_before), (busy_after - busy_before, all_after - all_before)
    assert busy_after - busy_before >= 150


def hot_plug_disk(guest: GuestVM, name: str, path: Path, serial: str) -> str:
    guest.qmp.execute("blockdev-add", driver="raw", **{"node-name": name},
                      file={"driver": "file", "filename": str(path)})
    guest.qmp.execute("device_add", driver="virtio-blk-pci", drive=name, id=f"{name}-dev", serial=serial)
    return guest.wait_for_match(rf"disk-added (vd[a-z]+) sectors=\d+ serial={serial} marker=.*").group(0)


def unplug_disk(guest: GuestVM, name: str, dev: str) -> None:
    guest.qmp.execute("device_del", id=f"{name}-dev")
    guest.qmp.wait_event("DEVICE_DELETED", 30, device=f"{name}-dev")
    guest.wait_for_line(f"disk-removed {dev}")
    guest.qmp.execute("blockdev-del", **{"node-name": name})


def test_hot_plugged_disks_are_reported_and_carry_markers(guest, channel, workdir):
    blank = workdir / "blank.img"
    blank.write_bytes(bytes(6 * MIB))
    line = hot_plug_disk(guest, "vol1", blank, "vol-blank")
    dev = line.split()[1]
    assert line == f"disk-added {dev} sectors={6 * MIB // 512} serial=vol-blank marker=none"
    assert channel.ok(f"readmark {dev}") == "none"
    assert channel.ok(f"mark {dev} written in the guest") == f"marked {dev}"
    assert channel.ok(f"readmark {dev}") == "written in the guest"
    unplug_disk(guest, "vol1", dev)
    head = blank.read_bytes()[:512]
    assert head == b"NCMARK:written in the guest\n".ljust(512, b"\0")

    marked = workdir / "marked.img"
    marked.write_bytes(b"NCMARK:from the host\n".ljust(4 * MIB, b"\0"))
    line = hot_plug_disk(guest, "vol2", marked, "vol-marked")
    assert line.endswith(f"sectors={4 * MIB // 512} serial=vol-marked marker=from the host")
    unplug_disk(guest, "vol2", line.split()[1])


class Agent:
    """A QEMU guest agent client on its chardev socket (guest-sync first, to skip any stale answer)."""

    def __init__(self, path: Path):
        self.sock = connect_unix(path)
        self.sock.settimeout(30)
        self.reader = self.sock.makefile("rb")
        ident = random.randrange(1, 1 << 30)
        self.send("guest-sync", id=ident)
        while json.loads(self.reader.readline()).get("return") != ident:
            pass

    def send(self, command: str, **arguments) -> None:
        message = {"execute": command, **({"arguments": arguments} if arguments else {})}
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def execute(self, command: str, **arguments):
        self.send(command, **arguments)
        answer = json.loads(self.reader.readline())
        assert "error" not in answer, answer
        return answer["return"]

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def test_guest_agent_sets_the_root_password(guest, channel, workdir):
    assert guest.value("qga ") == "started"
    assert channel.ok("pwhash root") == "!"
    agent = Agent(workdir / "qga.sock")
    try:
        assert agent.execute("guest-ping") == {}
        password = "s3cret pass:word"
        agent.execute("guest-set-user-password", username="root",
                      password=base64.b64encode(password.encode()).decode(), crypted=False)
        hashed = channel.ok("pwhash root")
        assert re.fullmatch(r"\$6\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{86}", hashed), hashed
        salt = hashed.split("$")[2]
        assert channel.ok(f"printf %s '{password}' | mkpasswd -m sha512 -S {salt} -P 0") == hashed
        given = channel.ok("mkpasswd -m sha512 -S abcdefgh other")
        agent.execute("guest-set-user-password", username="root",
                      password=base64.b64encode(given.encode()).decode(), crypted=True)
        assert channel.ok("pwhash root") == given
    finally:
        agent.close()


def serial_lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.splitlines()]


def test_serial_console_shell(guest):
    # The first line typed runs and starts an interactive shell; the output differs from the typed text.
    guest.type_on_serial("echo serial-$((40+2))\n")
    guest.wait_for(lambda text: "serial-42" in serial_lines(text), "the first serial command's output")
    guest.type_on_serial("echo second-$((1+1))\n")
    guest.wait_for(lambda text: "second-2" in serial_lines(text), "the interactive shell's output")


QCODES = {" ": "spc", "-": "minus", "\n": "ret"}


def type_on_vga(guest: GuestVM, text: str) -> None:
    for char in text:
        keys = ["shift", char.lower()] if char.isupper() else [QCODES.get(char, char)]
        guest.qmp.execute("send-key", keys=[{"type": "qcode", "data": key} for key in keys])


def test_typing_on_the_vga_console_shows_in_the_serial_log(guest):
    # Only the output reaches ttyS0 (the typed text is echoed on tty1 alone), after a prompt of the serial
    # shell perhaps: a line ending with the marker proves the command ran.
    marker = f"MARKER-{random.randrange(100, 1000)}"
    type_on_vga(guest, f"echo {marker}\n")
    guest.wait_for(lambda text: any(line.endswith(marker) for line in serial_lines(text)),
                   f"{marker} in the serial log")
    assert f"echo {marker}" not in guest.serial_text()


def test_nmi_reaches_the_serial_console(guest, channel):
    guest.qmp.execute("inject-nmi")
    guest.wait_for(lambda text: "NMI received for unknown reason" in text, "the kernel's NMI line")
    assert channel.ok("echo still here") == "still here"
