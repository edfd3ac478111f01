"""Plain QEMU (TCG, no libvirt) around the test guest from images/: its serial log, QMP, the command channel
(virtio-serial port org.nodecompute.test.0) and the QEMU guest agent's port, for tests of the guest itself.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import REPO

BUILD_SCRIPT = REPO / "images" / "build.sh"
CHANNEL_NAME = "org.nodecompute.test.0"
AGENT_NAME = "org.qemu.guest_agent.0"
READY_TIMEOUT = 120.0
ANSWER_TIMEOUT = 60.0


def build_image() -> Path:
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


def report_lines(text: str) -> list[str]:
    """The NCGUEST lines of a console text, without the prefix (a line may start with other output)."""
    lines = []
    for raw in text.splitlines():
        start = raw.find("NCGUEST ")
        if start >= 0:
            lines.append(raw[start + len("NCGUEST "):].rstrip("\r"))
    return lines


def connect_unix(path: Path, timeout: float = 10.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Qmp:
    """A QMP connection: execute() returns the command's "return" value; events are kept in `events`."""

    def __init__(self, path: Path):
        self.sock = connect_unix(path)
        self.reader = self.sock.makefile("rb")
        self.events: list[dict] = []
        json.loads(self.reader.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments):
        message = {"execute": command, **({"arguments": arguments} if arguments else {})}
        self.sock.sendall(json.dumps(message).encode() + b"\n")
        while True:
            answer = json.loads(self.reader.readline())
            if "event" in answer:
                self.events.append(answer)
                continue
            assert "error" not in answer, f"QMP {command}: {answer['error']}"
            return answer["return"]

    def wait_event(self, name: str, timeout: float, **data) -> dict:
        """The first event `name` whose data has the given items (for example device=<id>)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event["event"] == name and data.items() <= event.get("data", {}).items():
                    self.events.remove(event)
                    return event
            assert time.monotonic() < deadline, f"no QMP event {name} within {timeout}s"
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                line = self.reader.readline()
            except (TimeoutError, socket.timeout):
                continue
            finally:
                self.sock.settimeout(None)
            self.events.append(json.loads(line))

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Answer:
    """One command's answer on the channel: its output lines and exit status."""

    def __init__(self, out: list[str], rc: int):
        self.out = out
        self.rc = rc

    @property
    def text(self) -> str:
        return "\n".join(self.out)


class Channel:
    """The host end of the command channel: sends "@<id> <command>" lines, reads the echoed NCGUEST answers."""

    def __init__(self, path: Path):
        self.sock = connect_unix(path)
        self.buffer = b""
        self.lines: list[str] = []
        self.count = 0

    def send(self, command: str, ident: str | None = None) -> str:
        self.count += 1
        ident = ident or f"t{self.count}"
        self.sock.sendall(f"@{ident} {command}\n".encode())
        return ident

    def answer(self, ident: str, timeout: float = ANSWER_TIMEOUT) -> Answer:
        prefix = f"cmd {ident} "
        deadline = time.monotonic() + timeout
        while True:
            mine = [line[len(prefix):] for line in self.lines if line.startswith(prefix)]
            for item in mine:
                if item.startswith("rc="):
                    assert mine[0] == "begin", mine
                    return Answer([o[len("out "):] for o in mine if o.startswith("out ")], int(item[3:]))
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no answer to {ident} within {timeout}s: {mine}"
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            assert data, "the channel socket closed"
            self.buffer += data
            *complete, self.buffer = self.buffer.split(b"\n")
            self.lines += report_lines(b"\n".join(complete).decode("utf-8", "replace"))

    def run(self, command: str, timeout: float = ANSWER_TIMEOUT) -> Answer:
        return self.answer(self.send(command), timeout)

    def ok(self, command: str, timeout: float = ANSWER_TIMEOUT) -> str:
        """Runs a command that must succeed; its output."""
        result = self.run(command, timeout)
        assert result.rc == 0, f"{command!r} -> rc={result.rc}: {result.out}"
        return result.text

    def close(self) -> None:
        self.sock.close()


class GuestVM:
    """One qemu-system-x86_64 -accel tcg process with the test guest; sockets live in a short `workdir`."""

    def __init__(self, workdir: Path, args: list[str], memory_mib: int = 192, cpus: int = 1,
                 channel: bool = False, agent: bool = False):
        self.workdir = workdir
        self.serial_log = workdir / "serial.log"
        self.args = args
        self.memory_mib = memory_mib
        self.cpus = cpus
        self.with_channel = channel
        self.with_agent = agent
        self.process: subprocess.Popen | None = None
        self.qmp: Qmp | None = None
        self.started = 0.0

    def command(self) -> list[str]:
        w = self.workdir
        command = [
            "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", str(self.memory_mib),
            "-smp", str(self.cpus), "-display", "none", "-no-reboot", "-nodefaults", "-vga", "std",
            "-chardev", f"socket,id=ser0,path={w}/serial.sock,server=on,wait=off,logfile={self.serial_log}",
            "-serial", "chardev:ser0",
            "-qmp", f"unix:{w}/qmp.sock,server=on,wait=off",
        ]
        if self.with_channel or self.with_agent:
            command += ["-device", "virtio-serial"]
        if self.with_channel:
            command += ["-chardev", f"socket,id=ch0,path={w}/channel.sock,server=on,wait=off",
                        "-device", f"virtserialport,chardev=ch0,name={CHANNEL_NAME}"]
        if self.with_agent:
            command += ["-chardev", f"socket,id=qga0,path={w}/qga.sock,server=on,wait=off",
                        "-device", f"virtserialport,chardev=qga0,name={AGENT_NAME}"]
        return command + self.args

    def start(self) -> None:
        self.serial_log.unlink(missing_ok=True)
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.qmp = Qmp(self.workdir / "qmp.sock")

    def serial_text(self) -> str:
        if not self.serial_log.exists():
            return ""
        return self.serial_log.read_bytes().decode("utf-8", errors="replace")

    def lines(self) -> list[str]:
        return report_lines(self.serial_text())

    def values(self, prefix: str) -> list[str]:
        return [line[len(prefix):] for line in self.lines() if line.startswith(prefix)]

    def value(self, prefix: str) -> str:
        found = self.values(prefix)
        assert len(found) == 1, f"expected one {prefix!r} line, got {found}\n{self.serial_text()}"
        return found[0]

    def wait_for(self, predicate, what: str, timeout: float = ANSWER_TIMEOUT):
        """Polls the serial log until predicate(text) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(self.serial_text())
            if found:
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"QEMU exited ({self.process.returncode}) before {what}:\n"
                                     f"{self.process.stderr.read().decode()}\n{self.serial_text()}")
            assert time.monotonic() < deadline, f"no {what} within {timeout}s:\n{self.serial_text()[-4000:]}"
            time.sleep(0.2)

    def wait_for_line(self, wanted: str, timeout: float = ANSWER_TIMEOUT) -> None:
        self.wait_for(lambda text: wanted in report_lines(text), f"NCGUEST {wanted!r}", timeout)

    def wait_for_match(self, pattern: str, timeout: float = ANSWER_TIMEOUT) -> re.Match:
        """The first NCGUEST line matching the regular expression (whole line)."""
        regex = re.compile(pattern)

        def matching(text: str):
            return next((m for m in map(regex.fullmatch, report_lines(text)) if m), None)
        return self.wait_for(matching, f"NCGUEST line matching {pattern!r}", timeout)

    def boot(self) -> float:
        """Starts QEMU and waits for NCGUEST ready; the seconds it took."""
        self.start()
        self.wait_for_line("ready", READY_TIMEOUT)
        return time.monotonic() - self.started

    def channel(self) -> Channel:
        return Channel(self.workdir / "channel.sock")

    def type_on_serial(self, text: str) -> None:
        """Writes to the guest's ttyS0 through the serial chardev socket (and drains what comes back)."""
        with connect_unix(self.workdir / "serial.sock") as sock:
            sock.sendall(text.encode())
            sock.settimeout(0.5)
            try:
                while sock.recv(65536):
                    pass
            except (TimeoutError, socket.timeout):
                pass

    def power_off(self, timeout: float = 60.0) -> int | None:
        """Presses the ACPI power button, again every 10 s as Nova's power_off does (a press while the guest's init
        was still arming its handler is lost), and waits for QEMU to exit by itself; its exit code (None: it did
        not within `timeout`)."""
        deadline = time.monotonic() + timeout
        while True:
            self.qmp.execute("system_powerdown")
            try:
                return self.process.wait(min(10.0, max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    return None

    def kill(self) -> None:
        if self.qmp:
            self.qmp.close()
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process and self.process.stderr:
            self.process.stderr.close()
