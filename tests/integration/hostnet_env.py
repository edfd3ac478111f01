"""Scaffolding for the host networking tests: stand-in guests are network namespaces plugged into a bridge by a veth.

Each test bed has a random daemon prefix, random ids and random /24s out of 198.18.0.0/15 (the range set aside for
network tests). The guests are made with iproute2's `ip` (independent of the adapter under test) and run busybox:
`udhcpc` with a hook script that applies the lease as a guest would (address, then option 121's routes or else the
router) and records what it got, `ping`, `nc`, `wget`, `httpd`. Only what the bed made is removed, by exact name.
"""
from __future__ import annotations

import ipaddress
import os
import random
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from nodecompute.hostnet import FixedIp, HostNet, Network, Port, Subnet, bridge_name

TEST_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
HOOK = """#!/bin/sh
env > "$HOOK_OUT.$1"
case "$1" in
  bound|renew)
    busybox ip addr flush dev "$interface"
    busybox ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do busybox ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    elif [ -n "$router" ]; then
      busybox ip route replace default via "${router%% *}" dev "$interface"
    fi
    ;;
esac
"""


def new_id() -> str:
    return str(uuid.uuid4())


def random_mac() -> str:
    return "fa:16:3e:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


def random_subnets(count: int) -> list[ipaddress.IPv4Network]:
    return random.sample(list(TEST_RANGE.subnets(new_prefix=24)), count)


def ip(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *argv], capture_output=True, text=True, check=check)


@dataclass
class Guest:
    """A stand-in guest: namespace `namespace` with `eth0` (MAC `mac`) whose peer `host_end` is in a bridge."""

    namespace: str
    host_end: str
    mac: str
    hook_out: Path
    port: Port | None = None

    def run(self, *argv: str, timeout: float = 15) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.namespace, *argv], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "HOOK_OUT": str(self.hook_out)})

    def dhcp(self, hook: Path) -> dict[str, str]:
        """Get a lease with busybox udhcpc (asking for option 121 too); return the hook's environment."""
        done = self.run("busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "8", "-T", "1",
                        "-O", "staticroutes", "-s", str(hook))
        assert done.returncode == 0, done.stdout + done.stderr
        lines = Path(f"{self.hook_out}.bound").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def ping(self, address: str, count: int = 1, wait: int = 2) -> bool:
        return self.run("busybox", "ping", "-c", str(count), "-W", str(wait), address).returncode == 0

    def tcp_send(self, listener: Guest, port: int, text: str) -> str:
        """Send `text` with busybox nc to `listener` (nc -l there); return what the listener received."""
        address = listener.address()
        # The listener's stdin stays open (a pipe, closed only by communicate): busybox nc half-closes the connection
        # when its stdin ends, and the client's nc exits on that FIN; with an empty stdin, a client whose `echo` came
        # later than its connect (a loaded host) left without sending anything.
        server = subprocess.Popen(["ip", "netns", "exec", listener.namespace, "busybox", "timeout", "5",
                                   "busybox", "nc", "-l", "-p", str(port)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            listener.wait_listening(port)  # busybox nc may exit 0 on a refused connect: never send before the listen
            for _ in range(50):
                sent = self.run("sh", "-c", f"echo '{text}' | busybox nc -w 1 {address} {port}")
                if sent.returncode == 0:
                    break
            return server.communicate(timeout=6)[0].strip()
        finally:
            server.kill()
            server.wait()

    def wait_listening(self, port: int, seconds: float = 5.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            table = self.run("busybox", "netstat", "-ltn").stdout
            if any(line.split()[3].endswith(f":{port}") for line in table.splitlines() if line.startswith("tcp")):
                return
            time.sleep(0.05)
        raise AssertionError(f"nothing listens on port {port} in {self.namespace}")

    def address(self) -> str:
        out = self.run("busybox", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout.split()
        return out[out.index("inet") + 1].split("/")[0]

    def wget(self, url: str, seconds: int = 3) -> str | None:
        done = self.run("busybox", "timeout", str(seconds), "busybox", "wget", "-q", "-O", "-", url)
        return done.stdout if done.returncode == 0 else None

    def routes(self) -> str:
        return self.run("busybox", "ip", "route").stdout


@dataclass
class Bed:
    """One test's networks, guests and adapter; `close()` removes everything it made."""

    hostnet: HostNet
    prefix: str
    workdir: Path
    guests: list[Guest] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)
    router_ids: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # host interfaces made for the test (taps), deleted at close
    hook: Path = field(init=False)

    def __post_init__(self) -> None:
        self.hook = self.workdir / "udhcpc-hook"
        self.hook.write_text(HOOK)
        self.hook.chmod(0o755)

    @classmethod
    def make(cls) -> Bed:
        prefix = "t" + secrets.token_hex(4)
        workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/tmp"))
        workdir.chmod(0o755)  # dnsmasq re-reads its files as its own user
        return cls(HostNet(prefix, workdir / "hostnet"), prefix, workdir)

    def network(self, cidr: ipaddress.IPv4Network, *, gateway: bool = True, metadata_via_dhcp: bool = False,
                dhcp: bool = True, **subnet_args) -> Network:
        subnet = Subnet(id=new_id(), cidr=str(cidr), gateway_ip=str(cidr[1]) if gateway else None,
                        metadata_via_dhcp=metadata_via_dhcp, **subnet_args)
        network_id = new_id()
        dhcp_port = Port(new_id(), network_id, random_mac(), (FixedIp(subnet.id, str(cidr[2])),)) if dhcp else None
        network = Network(id=network_id, subnets=(subnet,), dhcp_port=dhcp_port)
        self.networks.append(network)
        return network

    def guest(self, network: Network, host_number: int) -> Guest:
        """A guest namespace on `network`'s bridge with a port record at .host_number of the first subnet."""
        subnet = network.subnets[0]
        address = str(ipaddress.IPv4Network(subnet.cidr)[host_number])
        index = len(self.guests)
        mac = random_mac()
        guest = Guest(f"{self.prefix}-guest{index}", f"{self.prefix}g{index}", mac,
                      self.workdir / f"guest{index}")
        self.guests.append(guest)
        ip("netns", "add", guest.namespace)
        ip("link", "add", guest.host_end, "type", "veth", "peer", "name", "eth0", "netns", guest.namespace)
        ip("link", "set", guest.host_end, "master", bridge_name(network.id), "up")
        guest.run("ip", "link", "set", "eth0", "address", mac, "up")
        guest.run("ip", "link", "set", "lo", "up")
        guest.port = Port(new_id(), network.id, mac, (FixedIp(subnet.id, address),), hostname=f"guest{index}",
                          plugged=False)
        return guest

    def outside(self, network: Network, address: str) -> Guest:
        """A namespace on the external network with a static address (the world beyond the router)."""
        guest = self.guest(network, 1)
        prefixlen = ipaddress.IPv4Network(network.subnets[0].cidr).prefixlen
        guest.run("ip", "addr", "add", f"{address}/{prefixlen}", "dev", "eth0")
        return guest

    def ports(self, network: Network) -> list[Port]:
        return [g.port for g in self.guests if g.port and g.port.network_id == network.id]

    async def close(self) -> None:
        for guest in self.guests:
            ip("link", "del", guest.host_end, check=False)
            ip("netns", "del", guest.namespace, check=False)
        for name in self.links:
            ip("link", "del", name, check=False)
        try:
            for router_id in self.router_ids:
                await self.hostnet.delete_router(router_id)
            for network in self.networks:
                await self.hostnet.delete_network(network)
        finally:
            self.hostnet.close()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Anything of this bed still on the host: namespaces, interfaces, dnsmasq processes, files."""
        found = [f"netns {n}" for n in os.listdir("/run/netns") if n.startswith(self.prefix)] \
            if os.path.isdir("/run/netns") else []
        names = {bridge_name(n.id) for n in self.networks} | {g.host_end for g in self.guests} | set(self.links)
        names |= {"tap" + p.id[:11] for n in self.networks for p in ([n.dhcp_port] if n.dhcp_port else [])}
        found += [f"link {line.split()[1].rstrip(':').split('@')[0]}" for line in ip("-o", "link").stdout.splitlines()
                  if line.split()[1].rstrip(":").split("@")[0] in names]
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    if str(self.workdir).encode() in (proc / "cmdline").read_bytes():
                        found.append(f"process {proc.name}")
                except OSError:
                    pass
        if self.workdir.exists() and any((self.workdir / "hostnet").glob("*")):
            found.append(f"files in {self.workdir / 'hostnet'}")
        return found


async def serve(hostnet: HostNet, sock) -> web.AppRunner:
    """An aiohttp server on a listener from hostnet.open_listener; it answers with the namespace the connection
    came from (hostnet.namespace_of on the accepted socket), the peer address and the path."""

    async def handler(request: web.Request) -> web.Response:
        connection = request.transport.get_extra_info("socket")
        return web.json_response({"namespace": hostnet.namespace_of(connection), "peer": request.remote,
                                  "path": request.path})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner
