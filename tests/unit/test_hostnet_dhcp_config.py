"""dnsmasq's command line, hosts file and options file, and how a running dnsmasq is recognised (pure, plus one
stand-in process for the pid file check)."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nodecompute.hostnet import FixedIp, Network, Port, Subnet
from nodecompute.hostnet.dhcp import Dhcp
from nodecompute.hostnet.dhcp_config import DhcpFiles, dnsmasq_argv, hosts_file, leg_addresses, opts_file
from nodecompute.hostnet.dnsmasq import cmdline, running_pid
from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.names import DaemonNames

NET = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
SUB = "a0b1c2d3-0000-4000-8000-000000000001"
SUB2 = "a0b1c2d3-0000-4000-8000-000000000002"
DHCP_PORT = Port("d1d1d1d1-0000-4000-8000-000000000000", NET, "fa:16:3e:00:00:02", (FixedIp(SUB, "198.18.5.2"),))
SUBNET = Subnet(SUB, "198.18.5.0/24", gateway_ip="198.18.5.1")
NETWORK = Network(NET, subnets=(SUBNET,), dhcp_port=DHCP_PORT)
FILES = DhcpFiles(Path("/var/lib/nodecompute/hostnet/nc1-dhcp-" + NET))


def guest(port_id: str, mac: str, ip: str, hostname: str = "", subnet: str = SUB) -> Port:
    return Port(port_id, NET, mac, (FixedIp(subnet, ip),), hostname=hostname)


def test_command_line_uses_nothing_from_the_host_and_listens_only_on_the_leg():
    argv = dnsmasq_argv("/usr/sbin/dnsmasq", NETWORK, FILES, "ns-d1d1d1d1-00", "dnsmasq")
    d = FILES.directory
    assert argv == [
        "/usr/sbin/dnsmasq", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
        f"--pid-file={d}/pid", f"--dhcp-leasefile={d}/leases", f"--dhcp-hostsfile={d}/hosts",
        f"--dhcp-optsfile={d}/opts", f"--log-facility={d}/log",
        "--interface=ns-d1d1d1d1-00", "--except-interface=lo", "--bind-interfaces",
        "--user=dnsmasq", "--dhcp-authoritative", "--domain=openstacklocal",
        f"--dhcp-range=set:subnet-{SUB},198.18.5.0,static,255.255.255.0,86400s",
        "--dhcp-lease-max=256",
    ]


def test_command_line_names_upstream_servers_and_each_dhcp_subnet():
    network = dataclasses.replace(
        NETWORK, dns_servers=("198.18.255.53",), lease_seconds=600,
        subnets=(SUBNET, Subnet(SUB2, "198.18.6.0/25"), Subnet("c" * 8 + "-0000-4000", "198.18.7.0/24",
                                                               enable_dhcp=False)))
    argv = dnsmasq_argv("dnsmasq", network, FILES, "ns-x", "nobody")
    assert [a for a in argv if a.startswith("--dhcp-range")] == [
        f"--dhcp-range=set:subnet-{SUB},198.18.5.0,static,255.255.255.0,600s",
        f"--dhcp-range=set:subnet-{SUB2},198.18.6.0,static,255.255.255.128,600s",
    ]
    assert "--dhcp-lease-max=384" in argv and argv[-1] == "--server=198.18.255.53" and "--no-resolv" in argv


def test_hosts_file_has_one_static_lease_per_address_of_the_networks_guests():
    ports = [
        guest("bbbbbbbb-0000-4000-8000-000000000000", "FA:16:3E:00:00:0B", "198.18.5.11", "Web Server #1"),
        guest("aaaaaaaa-0000-4000-8000-000000000000", "fa:16:3e:00:00:0a", "198.18.5.10"),
        dataclasses.replace(DHCP_PORT),  # the DHCP port itself gets no lease
        Port("cccccccc-0000-4000-8000-000000000000", "other-network-0000", "fa:16:3e:00:00:0c",
             (FixedIp(SUB, "198.18.5.12"),)),
        guest("dddddddd-0000-4000-8000-000000000000", "fa:16:3e:00:00:0d", "198.18.9.9", subnet="unknown-subnet"),
    ]
    assert hosts_file(NETWORK, ports) == (
        "fa:16:3e:00:00:0a,198.18.5.10,host-198-18-5-10\n"
        "fa:16:3e:00:00:0b,198.18.5.11,web-server-1\n"
    )


def test_options_send_the_router_and_dns_servers_and_no_classless_routes_on_a_routed_subnet():
    network = dataclasses.replace(NETWORK, subnets=(dataclasses.replace(SUBNET, dns_nameservers=("198.18.255.1",
                                                                                                 "198.18.255.2")),),
                                  mtu=1450)
    assert opts_file(network) == (
        f"tag:subnet-{SUB},option:router,198.18.5.1\n"
        f"tag:subnet-{SUB},option:dns-server,198.18.255.1,198.18.255.2\n"
        f"tag:subnet-{SUB},option:mtu,1450\n"
    )


def test_options_without_gateway_send_an_empty_router_option():
    network = dataclasses.replace(NETWORK, subnets=(dataclasses.replace(SUBNET, gateway_ip=None),))
    assert opts_file(network) == f"tag:subnet-{SUB},option:router\n"


def test_subnet_without_router_gets_the_metadata_route_via_the_dhcp_port_and_keeps_its_default_route():
    subnet = dataclasses.replace(SUBNET, metadata_via_dhcp=True, host_routes=(("198.19.0.0/16", "198.18.5.254"),))
    routes = "198.19.0.0/16,198.18.5.254,169.254.169.254/32,198.18.5.2,0.0.0.0/0,198.18.5.1"
    assert opts_file(dataclasses.replace(NETWORK, subnets=(subnet,))) == (
        f"tag:subnet-{SUB},option:router,198.18.5.1\n"
        f"tag:subnet-{SUB},option:classless-static-route,{routes}\n"
        f"tag:subnet-{SUB},249,{routes}\n"
    )
    no_gateway = dataclasses.replace(subnet, gateway_ip=None, host_routes=())
    assert opts_file(dataclasses.replace(NETWORK, subnets=(no_gateway,))).splitlines()[1] == \
        f"tag:subnet-{SUB},option:classless-static-route,169.254.169.254/32,198.18.5.2"


def test_dhcp_leg_carries_the_dhcp_port_addresses_and_the_metadata_address():
    assert leg_addresses(NETWORK) == ("198.18.5.2/24", "169.254.169.254/32")


def _wait_for_its_command_line(pid: int, seconds: float = 10.0) -> None:
    """Popen returns once the child's exec has begun, before the kernel has set up the new program's arguments:
    /proc/<pid>/cmdline reads empty for a moment (measured: a third of 400 reads right after Popen, nine in ten
    on a busy host). A dnsmasq the daemon finds by its pid file has long been running."""
    deadline = time.monotonic() + seconds
    while cmdline(pid) is None:
        assert time.monotonic() < deadline, f"process {pid} has no command line after {seconds:g} s"
        time.sleep(0.005)


def test_pid_file_is_believed_only_for_the_dnsmasq_started_with_it(tmp_path):
    pid_file = tmp_path / "pid"
    assert running_pid(pid_file) is None  # no file
    pid_file.write_text("not a pid\n")
    assert running_pid(pid_file) is None
    stand_in = subprocess.Popen(["dnsmasq", "-c", "import time; time.sleep(30)", f"--pid-file={pid_file}"],
                                executable=sys.executable)
    other = subprocess.Popen(["dnsmasq", "-c", "import time; time.sleep(30)", f"--pid-file={tmp_path}/other"],
                             executable=sys.executable)
    try:
        for proc in (stand_in, other):
            _wait_for_its_command_line(proc.pid)
        pid_file.write_text(f"{stand_in.pid}\n")
        assert running_pid(pid_file) == stand_in.pid
        pid_file.write_text(f"{other.pid}\n")  # a dnsmasq, but another network's (or another daemon's)
        assert running_pid(pid_file) is None
    finally:
        for proc in (stand_in, other):
            proc.kill()
            proc.wait()
    pid_file.write_text(f"{stand_in.pid}\n")
    assert running_pid(pid_file) is None  # gone


def test_dnsmasq_state_directory_must_be_reachable_by_its_user(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    with pytest.raises(HostNetError, match="cannot reach .*locked"):
        Dhcp(None, DaemonNames("nc1"), locked / "hostnet", "nobody").check_reachable()
