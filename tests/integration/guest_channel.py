"""Commands to a running test guest over its command channel (images/README.md "Commands at run time").

The daemon gives a server whose image has `nodecompute_test_channel=yes` a virtio-serial port named
org.nodecompute.test.0 on a UNIX socket; its path is in the domain's definition (read from the embedded driver's
files: the daemon's process owns the connection). `run()` writes `@<id> <command>` on that socket and waits for
`NCGUEST cmd <id> rc=<n>` in the server's console log, read through the API (os-getConsoleOutput), as a user would
see it; the connection stays open until then (the guest reads the port twice a second while nothing is connected).
"""
from __future__ import annotations

import secrets
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from nodecompute.domain.guest_channels import TEST_CHANNEL
from nodecompute.virt import domain_xml
from tests.integration.cloud import Cloud, guest_lines
from tests.integration.daemon import Daemon

ANSWER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Answer:
    rc: int
    out: list[str]


def domain_channels(daemon: Daemon, instance_name: str, *, live: bool = False) -> dict:
    """name -> (socket path, state) of the domain's channels: from its definition, or (`live`) from the running
    domain's status file, where libvirt records the paths it chose and the agent's connection state."""
    path = daemon.libvirt_root / ("run" if live else "etc") / "qemu" / f"{instance_name}.xml"
    root = ET.parse(path).getroot()
    domain = root if root.tag == "domain" else root.find("domain")
    return domain_xml.channels(ET.tostring(domain, encoding="unicode"))


def channel_socket(daemon: Daemon, instance_name: str) -> Path:
    path, _state = domain_channels(daemon, instance_name)[TEST_CHANNEL]
    return Path(path)


def run(cloud: Cloud, daemon: Daemon, server: dict, command: str, timeout: float = ANSWER_TIMEOUT) -> Answer:
    """Run `command` in the guest of `server` (a server view with OS-EXT-SRV-ATTR:instance_name)."""
    command_id = "t" + secrets.token_hex(4)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.connect(str(channel_socket(daemon, server["OS-EXT-SRV-ATTR:instance_name"])))
        channel.sendall(f"@{command_id} {command}\n".encode())
        deadline = time.monotonic() + timeout
        prefix = f"cmd {command_id} "
        while True:
            lines = [line[len(prefix):] for line in guest_lines(cloud.console(server["id"])) if line.startswith(prefix)]
            done = [line for line in lines if line.startswith("rc=")]
            if done:
                return Answer(int(done[0][3:]), [line[4:] for line in lines if line.startswith("out ")])
            assert time.monotonic() < deadline, f"no answer to {command!r} within {timeout}s: {lines}"
            time.sleep(0.3)
