"""Stand-in guests for the nftables tests: Linux bridges (no address, no uplink) and network namespaces joined to
them by veths whose host end plays the guest's tap; busybox inside. Every name carries the lab's random tag, every
address is in the lab's random /24 of 198.18.0.0/15, and `cleanup()` removes exactly what the lab made (processes
by PID, namespaces, links), also after a failure."""
from __future__ import annotations

import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TOOL = Path(__file__).with_name("nettool.py")


def run(*argv: str, check: bool = True, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, timeout=timeout, capture_output=True, text=True)


@dataclass
class Guest:
    lab: Lab
    name: str
    ns: str
    tap: str
    mac: str
    ip: str
    bridge: str

    def run(self, *argv: str, check: bool = False, timeout: float = 15) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", self.ns, *argv, check=check, timeout=timeout)

    def start(self, *argv: str) -> subprocess.Popen:
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.lab.procs.append(proc)
        return proc

    def serve_tcp(self, *ports: int) -> None:
        """A persistent busybox server per port that answers "ok" to each connection."""
        for port in ports:
            self.start("busybox", "nc", "-ll", "-p", str(port), "-e", "echo", "ok")
        time.sleep(0.2)

    def tcp(self, ip: str, port: int) -> bool:
        """Whether a TCP connection to ip:port gets the server's "ok" (connect timeout 1 s)."""
        done = self.run("busybox", "nc", "-w", "1", ip, str(port))
        return done.returncode == 0 and done.stdout.strip() == "ok"

    def ping(self, ip: str) -> bool:
        return self.run("busybox", "ping", "-c", "1", "-W", "1", ip).returncode == 0

    def set_ip(self, ip: str) -> None:
        self.run("ip", "addr", "flush", "dev", "eth0", check=True)
        self.run("ip", "addr", "add", f"{ip}/24", "dev", "eth0", check=True)

    def set_mac(self, mac: str) -> None:
        self.run("ip", "link", "set", "eth0", "address", mac, check=True)

    def static_neighbour(self, other: Guest) -> None:
        self.run("ip", "neigh", "replace", other.ip, "lladdr", other.mac, "dev", "eth0", check=True)

    def tool(self, *args: str) -> subprocess.CompletedProcess:
        return self.run(sys.executable, str(TOOL), *args, check=True)

    def listen(self, *args: str) -> subprocess.Popen:
        """Start a nettool receiver and wait until it is bound."""
        proc = self.start(sys.executable, str(TOOL), *args)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        return proc


def heard(proc: subprocess.Popen) -> list[str]:
    """What a nettool receiver printed once its window closed."""
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return out.splitlines()


@dataclass
class Lab:
    tag: str = field(default_factory=lambda: "nt" + secrets.token_hex(3))
    third: int = field(default_factory=lambda: secrets.randbelow(512))
    bridges: list[str] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.tag

    def address(self, host: int) -> str:
        return f"198.{18 + self.third // 256}.{self.third % 256}.{host}"

    def zone(self, index: int) -> int:
        return 1000 + int(self.tag[2:], 16) % 50000 + index

    def bridge(self) -> str:
        name = f"{self.tag}b{len(self.bridges)}"
        run("ip", "link", "add", name, "type", "bridge")
        self.bridges.append(name)
        run("ip", "link", "set", name, "up")
        return name

    def guest(self, name: str, bridge: str, host: int, *, ip: str | None = None) -> Guest:
        ns, tap = f"{self.tag}-{name}", f"{self.tag}{name}"
        mac = f"02:{self.tag[2:4]}:{self.tag[4:6]}:{self.tag[6:8]}:{self.bridges.index(bridge):02x}:{host:02x}"
        guest = Guest(self, name, ns, tap, mac, ip or self.address(host), bridge)
        run("ip", "netns", "add", ns)
        self.guests.append(guest)
        run("ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "link", "set", tap, "master", bridge, "up")
        guest.run("ip", "link", "set", "lo", "up", check=True)
        guest.set_mac(mac)
        guest.run("ip", "addr", "add", f"{guest.ip}/24", "dev", "eth0", check=True)
        guest.run("ip", "link", "set", "eth0", "up", check=True)
        return guest

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        for guest in self.guests:
            run("ip", "netns", "del", guest.ns, check=False)
            run("ip", "link", "del", guest.tap, check=False)
        for bridge in self.bridges:
            run("ip", "link", "del", bridge, check=False)

    def leftovers(self) -> list[str]:
        """Links and namespaces with the lab's tag that still exist (none after cleanup)."""
        links = run("ip", "-o", "link", "show").stdout
        namespaces = run("ip", "netns", "list").stdout
        return [line for line in (links + namespaces).splitlines() if self.tag in line]
