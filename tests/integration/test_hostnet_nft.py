"""Security groups and anti-spoofing on the real kernel, with network namespaces as stand-in guests (netlab.py).

Each test gets its own bridges, namespaces, /24 of 198.18.0.0/15 and table prefix; the tables go through
`RulesetApplier` (a full load first, then diffs), so every live change below is the incremental path. If the kernel
probe finds a feature missing, every test here fails with the probe's message (never skips).
"""
from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

from nodecompute.hostnet import nft, probe
from nodecompute.hostnet.router_nat import nft_binary
from nodecompute.hostnet.secgroups import (
    FirewallModel, Network, Port, SecurityGroup, SecurityGroupRule as Rule, build_ruleset, our_tables)
from tests.conftest import REPO
from tests.integration.netlab import Guest, Lab, heard
from tests.unit.test_hostnet_secgroups import two_network_model

pytestmark = pytest.mark.integration

OPEN = SecurityGroup("open", (Rule("egress"), Rule("ingress")))
EGRESS_ONLY = SecurityGroup("egress-only", (Rule("egress"),))


@pytest.fixture(scope="module")
async def kernel_ready():
    missing = await probe.probe("ntprobe" + Lab().tag[2:])
    if missing:
        pytest.fail(probe.refusal_message(missing))


@pytest.fixture
async def lab(kernel_ready):
    lab = Lab()
    try:
        yield lab
    finally:
        try:
            await nft.delete_tables(our_tables(lab.prefix))
            ours = [t for t in await nft.list_tables() if t[1].startswith(lab.prefix)]
        finally:
            lab.cleanup()
        assert ours == [] and lab.leftovers() == []


def port(guest: Guest, mark: int, *groups: str, security: bool = True, profile: str | None = None) -> Port:
    return Port(guest.tap, guest.mac, (guest.ip,), mark, guest.bridge, groups, security, profile)


class Firewall:
    """The applier plus the model it last applied, for readable live changes."""

    def __init__(self, lab: Lab, model: FirewallModel) -> None:
        self.lab, self.model, self.applier = lab, model, nft.RulesetApplier()

    async def apply(self, **changes) -> None:
        self.model = dataclasses.replace(self.model, **changes)
        await self.applier.converge(build_ruleset(self.lab.prefix, self.model))

    def group(self, group_id: str, *rules: Rule) -> tuple[SecurityGroup, ...]:
        return tuple(SecurityGroup(g.id, rules) if g.id == group_id else g for g in self.model.groups)


async def test_probe_finds_every_feature_on_this_host(kernel_ready):
    assert await probe.probe("ntprobe" + Lab().tag[2:]) == []


async def test_a_tcp_port_is_blocked_then_allowed_live_then_blocked_again(lab):
    br = lab.bridge()
    a, b = lab.guest("a", br, 10), lab.guest("b", br, 20)
    group = SecurityGroup("web", (Rule("egress"),))
    fw = Firewall(lab, FirewallModel((Network(br, lab.zone(0)),), (port(a, 1, "web"), port(b, 2, "web")), (group,)))
    await fw.apply()
    b.serve_tcp(8080)
    assert not a.tcp(b.ip, 8080)
    await fw.apply(groups=fw.group("web", Rule("egress"), Rule("ingress", "tcp", 8080, 8080, remote_group_id="web")))
    assert a.tcp(b.ip, 8080)
    await fw.apply(groups=fw.group("web", Rule("egress")))
    assert not a.tcp(b.ip, 8080)


async def test_a_guest_that_changes_its_address_or_mac_reaches_nobody(lab):
    br = lab.bridge()
    a, b, c = lab.guest("a", br, 10), lab.guest("b", br, 20), lab.guest("c", br, 30)
    fw = Firewall(lab, FirewallModel((Network(br, lab.zone(0)),),
                                     (port(a, 1, "open"), port(b, 2, "open"), port(c, 3, "open")), (OPEN,)))
    await fw.apply()
    assert a.ping(b.ip) and a.ping(c.ip)
    a.set_ip(lab.address(99))
    a.static_neighbour(b)
    assert not a.ping(b.ip) and not a.ping(c.ip)
    a.set_ip(a.ip)
    assert a.ping(b.ip)
    a.set_mac("02:00:00:00:00:99")
    a.static_neighbour(b)
    assert not a.ping(b.ip) and not a.ping(c.ip)
    a.set_mac(a.mac)
    assert a.ping(c.ip)


async def test_arp_spoofing_is_blocked_and_unfiltered_ports_show_the_probe_works(lab):
    br = lab.bridge()
    a, b, c, d = (lab.guest(n, br, h) for n, h in (("a", 10), ("b", 20), ("c", 30), ("d", 40)))
    model = FirewallModel((Network(br, lab.zone(0)),),
                          (port(a, 1, "open"), port(b, 2, "open"), port(c, 3, "open"), port(d, 4, security=False)),
                          (OPEN,))
    await Firewall(lab, model).apply()
    sniffer = c.listen("arp-sniff", "eth0", "1.5")
    a.tool("arp-send", "eth0", a.mac, a.mac, b.ip, b.ip)        # "b's address is at a's MAC"
    a.tool("arp-send", "eth0", a.mac, b.mac, b.ip, b.ip)        # a claims b's MAC inside the ARP body
    a.tool("arp-send", "eth0", a.mac, a.mac, a.ip, a.ip)        # honest gratuitous ARP
    d.tool("arp-send", "eth0", d.mac, d.mac, b.ip, b.ip)        # the same lie from a port without port security
    seen = heard(sniffer)
    assert f"{a.mac} {a.ip}" in seen and f"{d.mac} {b.ip}" in seen
    assert f"{a.mac} {b.ip}" not in seen and f"{b.mac} {b.ip}" not in seen


async def test_a_dhcp_server_reply_from_a_guest_is_dropped(lab):
    br = lab.bridge()
    a, b, dhcp = lab.guest("a", br, 10), lab.guest("b", br, 20), lab.guest("dhcp", br, 2)
    model = FirewallModel((Network(br, lab.zone(0), (dhcp.ip,)),), (port(a, 1, "open"), port(b, 2, "open")), (OPEN,))
    await Firewall(lab, model).apply()
    receiver = b.listen("udp-recv", "68", "1.5")
    a.tool("udp-send", "67", b.ip, "68", "offer-unicast")
    a.tool("udp-send", "67", "255.255.255.255", "68", "offer-broadcast")
    a.tool("udp-send", "1067", b.ip, "68", "not-dhcp")
    dhcp.tool("udp-send", "67", b.ip, "68", "real-offer")
    payloads = [line.split()[-1] for line in heard(receiver)]
    assert sorted(payloads) == ["not-dhcp", "real-offer"]


async def test_projects_on_one_bridge_are_isolated_unless_a_rule_allows(lab):
    br = lab.bridge()
    a1, a2, b1 = lab.guest("a1", br, 11), lab.guest("a2", br, 12), lab.guest("b1", br, 21)
    default_a = SecurityGroup("proj-a", (Rule("egress"), Rule("ingress", remote_group_id="proj-a")))
    default_b = SecurityGroup("proj-b", (Rule("egress"), Rule("ingress", remote_group_id="proj-b")))
    fw = Firewall(lab, FirewallModel((Network(br, lab.zone(0)),),
                                     (port(a1, 1, "proj-a"), port(a2, 2, "proj-a"), port(b1, 3, "proj-b")),
                                     (default_a, default_b, EGRESS_ONLY)))
    await fw.apply()
    for guest in (a1, a2, b1):
        guest.serve_tcp(8080)
    assert a1.tcp(a2.ip, 8080) and a2.tcp(a1.ip, 8080)
    assert not a1.tcp(b1.ip, 8080) and not b1.tcp(a1.ip, 8080)
    await fw.apply(groups=fw.group("proj-b", *default_b.rules, Rule("ingress", "tcp", 8080, 8080,
                                                                     remote_group_id="proj-a")))
    assert a1.tcp(b1.ip, 8080) and a2.tcp(b1.ip, 8080) and not b1.tcp(a1.ip, 8080)
    await fw.apply(groups=fw.group("proj-b", *default_b.rules, Rule("ingress", "tcp", 8080, 8080,
                                                                     remote_ip_prefix=f"{a1.ip}/32")))
    assert a1.tcp(b1.ip, 8080) and not a2.tcp(b1.ip, 8080)
    # a1 leaves proj-a: it drops out of the member set, and a2 stops accepting it
    await fw.apply(ports=(port(a1, 1, "egress-only"), port(a2, 2, "proj-a"), port(b1, 3, "proj-b")))
    assert not a1.tcp(a2.ip, 8080)


async def test_port_security_disabled_is_unfiltered_but_meets_the_receivers_rules(lab):
    br = lab.bridge()
    b, c, d = lab.guest("b", br, 20), lab.guest("c", br, 30), lab.guest("d", br, 40)
    model = FirewallModel((Network(br, lab.zone(0)),),
                          (port(b, 2, "open"), port(c, 3), port(d, 4, security=False)), (OPEN,))
    await Firewall(lab, model).apply()
    for guest in (b, c, d):
        guest.serve_tcp(8080)
    assert b.tcp(d.ip, 8080) and d.tcp(b.ip, 8080)
    assert not d.tcp(c.ip, 8080)                  # c has no group: its ingress drops
    d.set_ip(lab.address(99))                     # d may use any address...
    assert d.tcp(b.ip, 8080)                      # ...and b (ingress from anywhere) still answers


async def test_dhcp_and_metadata_pass_with_no_rule_at_all(lab, tmp_path):
    br = lab.bridge()
    a, dhcp = lab.guest("a", br, 10), lab.guest("dhcp", br, 2)
    dhcp.run("ip", "addr", "add", "169.254.169.254/32", "dev", "eth0", check=True)
    conf = tmp_path / "udhcpd.conf"
    conf.write_text(f"start {lab.address(100)}\nend {lab.address(110)}\ninterface eth0\n"
                    f"static_lease {a.mac} {a.ip}\nlease_file {tmp_path}/leases\npidfile {tmp_path}/pid\n")
    (tmp_path / "leases").touch()
    fw = Firewall(lab, FirewallModel((Network(br, lab.zone(0), (dhcp.ip,)),), (port(a, 1, "none"),),
                                     (SecurityGroup("none"),)))
    await fw.apply()
    dhcp.start("busybox", "udhcpd", "-f", str(conf))
    dhcp.serve_tcp(80, 81)
    a.run("ip", "addr", "flush", "dev", "eth0", check=True)
    lease = a.run("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "4", "-T", "1", "-s", "/bin/true")
    assert lease.returncode == 0 and f"lease of {a.ip} obtained" in lease.stderr + lease.stdout, lease
    a.set_ip(a.ip)
    a.run("ip", "route", "add", "169.254.169.254", "via", dhcp.ip, check=True)
    assert a.tcp("169.254.169.254", 80)
    assert not a.tcp("169.254.169.254", 81) and not a.tcp(dhcp.ip, 80) and not a.ping(dhcp.ip)


async def test_overlapping_networks_never_mix(lab):
    br1, br2 = lab.bridge(), lab.bridge()
    x1, y1 = lab.guest("x1", br1, 10), lab.guest("y1", br1, 20)
    x2 = lab.guest("x2", br2, 10, ip=x1.ip)
    y2 = lab.guest("y2", br2, 20, ip=y1.ip)
    open_8080 = SecurityGroup("open-8080", (Rule("ingress", "tcp", 8080, 8080),))
    model = FirewallModel((Network(br1, lab.zone(1)), Network(br2, lab.zone(2))),
                          (port(x1, 1, "egress-only"), port(y1, 2, "open-8080"),
                           port(x2, 3, "egress-only"), port(y2, 4, "egress-only")), (EGRESS_ONLY, open_8080))
    await Firewall(lab, model).apply()
    y1.serve_tcp(8080)
    y2.serve_tcp(8080)
    assert x1.tcp(y1.ip, 8080)
    assert not x2.tcp(y2.ip, 8080)                # same destination address, other network: y1's rule is not y2's
    entries = Path("/proc/net/nf_conntrack").read_text().splitlines()
    assert [e for e in entries if f"src={x1.ip} dst={y1.ip}" in e and "dport=8080" in e
            and f"zone={lab.zone(1)}" in e]


async def test_firewall_profiles_filter_inbound_before_the_groups(lab):
    br = lab.bridge()
    a, ext = lab.guest("a", br, 10), lab.guest("ext", br, 20)
    fw = Firewall(lab, FirewallModel((Network(br, lab.zone(0)),), (port(a, 1, "open"), port(ext, 2, "open")),
                                     (OPEN,)))
    await fw.apply()
    ext.serve_tcp(22, 8080)
    assert a.tcp(ext.ip, 8080)
    await fw.apply(ports=(port(a, 1, "open"), port(ext, 2, "open", profile="ENABLED")))
    assert a.ping(ext.ip) and not a.tcp(ext.ip, 22) and not a.tcp(ext.ip, 8080)
    await fw.apply(ports=(port(a, 1, "open"), port(ext, 2, "open", profile="PROTECTED")))
    assert a.ping(ext.ip) and a.tcp(ext.ip, 22) and not a.tcp(ext.ip, 8080)
    await fw.apply(ports=(port(a, 1, "open"), port(ext, 2, "open", profile="DISABLED")))
    assert a.tcp(ext.ip, 8080)


# -- the tables themselves ---------------------------------------------------------------------------------------

def _normalised(objects: list[dict], prefix: str) -> list[str]:
    """A table listing without handles or counters, in a stable order, with the prefix replaced."""
    rows = []
    for obj in objects:
        (kind, body), = obj.items()
        body = {k: v for k, v in body.items() if k != "handle"}
        if "elem" in body:
            body["elem"] = sorted(body["elem"], key=json.dumps)
        rows.append(json.dumps({kind: body}, sort_keys=True).replace(prefix + "_", "PREFIX_"))
    return [row for row in rows if '"rule"' not in row] + [row for row in rows if '"rule"' in row]


async def _listing(prefix: str) -> list[str]:
    rows = []
    for family, name in our_tables(prefix):
        rows += _normalised(await nft.list_table(family, name) or [], prefix)
    return sorted(row for row in rows if '"rule"' not in row) + [row for row in rows if '"rule"' in row]


async def test_every_diff_leaves_the_same_tables_as_a_full_rebuild(kernel_ready):
    lab, twin = Lab(), Lab()
    first = two_network_model(lab.tag)        # interface names carry the tag: no host interface can match
    new_port = Port(f"{lab.tag}tapa3", "fa:16:3e:00:00:04", ("198.18.5.13",), 4, f"{lab.tag}brqaaaa", ("sg-web",))
    steps = [
        {"ports": first.ports + (new_port,)},
        {"groups": (first.groups[0], SecurityGroup("sg-web", (Rule("ingress", "udp", 5000, 5001),)))},
        {"ports": (dataclasses.replace(first.ports[1], security_groups=("sg-default",)), new_port)},
        {"ports": (dataclasses.replace(new_port, firewall_profile="ENABLED"),)},
        {"networks": first.networks + (Network(f"{lab.tag}brqcccc", 13, ("198.18.7.2",)),), "ports": ()},
        {"networks": (), "groups": ()},
    ]
    applier, model = nft.RulesetApplier(), first
    try:
        await applier.converge(build_ruleset(lab.prefix, model))
        for step in steps:
            model = dataclasses.replace(model, **step)
            commands = nft.diff_transaction(applier.applied, build_ruleset(lab.prefix, model))
            assert 0 < len(commands) < 40
            await applier.converge(build_ruleset(lab.prefix, model))
            await nft.apply(nft.full_transaction(build_ruleset(twin.prefix, model)))
            assert await _listing(lab.prefix) == await _listing(twin.prefix), step
    finally:
        await nft.delete_tables(our_tables(lab.prefix) + our_tables(twin.prefix))


async def test_a_failed_diff_falls_back_to_a_full_rebuild(kernel_ready, caplog):
    lab, twin = Lab(), Lab()
    first = two_network_model(lab.tag)
    after = dataclasses.replace(first, ports=first.ports[1:])
    applier = nft.RulesetApplier()
    try:
        await applier.converge(build_ruleset(lab.prefix, first))
        # someone else removed an element behind our back: the diff's "delete element" now fails
        await nft.apply([{"delete": {"element": {"family": "inet", "table": f"{lab.prefix}_secgroups",
                                                 "name": "members_sg-default", "elem": ["198.18.5.10"]}}}])
        await applier.converge(build_ruleset(lab.prefix, after))
        assert "rebuilding the tables" in caplog.text
        await nft.apply(nft.full_transaction(build_ruleset(twin.prefix, after)))
        assert await _listing(lab.prefix) == await _listing(twin.prefix)
    finally:
        await nft.delete_tables(our_tables(lab.prefix) + our_tables(twin.prefix))


async def test_tables_created_after_a_remove_equal_a_full_rebuild_and_one_made_meanwhile_is_rebuilt(kernel_ready,
                                                                                                    caplog):
    lab, twin = Lab(), Lab()
    model = two_network_model(lab.tag)
    applier = nft.RulesetApplier()
    try:
        await applier.converge(build_ruleset(lab.prefix, model))
        await applier.remove(our_tables(lab.prefix))
        await applier.converge(build_ruleset(lab.prefix, model))       # created: no delete in the transaction
        await nft.apply(nft.full_transaction(build_ruleset(twin.prefix, model)))
        assert await _listing(lab.prefix) == await _listing(twin.prefix)
        assert "rebuilding" not in caplog.text

        await applier.remove(our_tables(lab.prefix))
        family, name = our_tables(lab.prefix)[0]
        await nft.apply([{"add": {"table": {"family": family, "name": name}}}])  # someone made one meanwhile
        await applier.converge(build_ruleset(lab.prefix, model))
        assert "creating the tables failed, rebuilding them" in caplog.text
        assert await _listing(lab.prefix) == await _listing(twin.prefix)
    finally:
        await nft.delete_tables(our_tables(lab.prefix) + our_tables(twin.prefix))


async def test_removing_the_tables_leaves_nothing_of_ours(lab):
    br = lab.bridge()
    a = lab.guest("a", br, 10)
    applier = nft.RulesetApplier()
    await applier.converge(build_ruleset(lab.prefix, FirewallModel((Network(br, lab.zone(0)),),
                                                                   (port(a, 1, "open"),), (OPEN,))))
    assert len([o for o in await nft.list_ruleset() if lab.prefix in json.dumps(o)]) > 20
    await applier.remove(our_tables(lab.prefix))
    assert [o for o in await nft.list_ruleset() if lab.prefix in json.dumps(o)] == []
    await applier.remove(our_tables(lab.prefix))          # absent tables are no error


async def test_the_unit_goldens_load_into_the_kernel(kernel_ready):
    prefix = Lab().tag
    try:
        for name in ("secgroups_two_networks.json", "secgroups_empty.json"):
            text = (REPO / "tests" / "data" / "hostnet" / name).read_text()
            # the table prefix and the interface names become the test's own: no host interface can match
            text = text.replace("nc1_", prefix + "_").replace("tapa", prefix + "a").replace("brq", prefix + "q")
            await nft.apply(json.loads(text))
            assert await nft.list_table("inet", f"{prefix}_secgroups") is not None
    finally:
        await nft.delete_tables(our_tables(prefix))
    assert [t for t in await nft.list_tables() if t[1].startswith(prefix)] == []


async def test_nft_errors_carry_nfts_message_and_netns_keeps_tables_apart(lab):
    with pytest.raises(nft.NftError) as err:
        await nft.apply([{"add": {"chain": {"family": "inet", "table": f"{lab.prefix}_none", "name": "c"}}}])
    assert "No such file or directory" in err.value.stderr and err.value.returncode == 1
    assert await nft.list_table("inet", f"{lab.prefix}_none") is None
    br = lab.bridge()
    guest = lab.guest("ns", br, 10)
    await nft.apply([{"add": {"table": {"family": "inet", "name": f"{lab.prefix}_inside"}}}], netns=guest.ns)
    assert await nft.list_tables(netns=guest.ns) == [("inet", f"{lab.prefix}_inside")]
    assert ("inet", f"{lab.prefix}_inside") not in await nft.list_tables()
    await nft.delete_tables([("inet", f"{lab.prefix}_inside")] * 2, netns=guest.ns)
    assert await nft.list_tables(netns=guest.ns) == []


async def test_the_host_namespace_runs_nft_in_process_with_the_binarys_results(kernel_ready, monkeypatch):
    """libnftables in the daemon (no subprocess at all), giving what `nft -j` gives: the same tables listed back
    and errors with nft's message, whichever of the two applied them."""
    import asyncio

    from nodecompute.hostnet import libnft

    assert libnft.host_context() is not None, "libnftables1 (a dependency of Debian's nftables) is not loadable"
    prefix = Lab().tag
    model = two_network_model()
    spawned: list[tuple] = []

    async def no_subprocess(*argv, **_kwargs):
        spawned.append(argv)
        raise AssertionError(f"nft ran as a subprocess: {argv}")

    try:
        with monkeypatch.context() as patched:
            patched.setattr(asyncio, "create_subprocess_exec", no_subprocess)
            await nft.apply(nft.full_transaction(build_ruleset(prefix, model)))
            in_process = {name: await nft.list_table(family, name) for family, name in our_tables(prefix)}
            with pytest.raises(nft.NftError) as library_error:
                await nft.apply([{"add": {"chain": {"family": "inet", "table": f"{prefix}_absent", "name": "c"}}}])
        assert spawned == [] and all(in_process.values())
        monkeypatch.setattr(nft, "NFT", nft_binary())  # the binary, by its full path
        assert {name: await nft.list_table(family, name) for family, name in our_tables(prefix)} == in_process
        with pytest.raises(nft.NftError) as binary_error:
            await nft.apply([{"add": {"chain": {"family": "inet", "table": f"{prefix}_absent", "name": "c"}}}])
        for error in (library_error.value, binary_error.value):
            assert error.no_such_object and error.returncode == 1 and "Error: No such file or directory" in str(error)
        await nft.delete_tables(our_tables(prefix))  # by the binary; the library's next list sees it gone
        monkeypatch.setattr(nft, "NFT", "nft")
        assert [t for t in await nft.list_tables() if t[1].startswith(prefix)] == []
    finally:
        monkeypatch.setattr(nft, "NFT", "nft")
        await nft.delete_tables(our_tables(prefix))


def test_the_librarys_netlink_socket_is_not_inherited_by_children():
    """libnftables opens its socket without close-on-exec; the daemon's children must not get it (checked in a
    process of its own: the test process holds other libraries' sockets)."""
    import subprocess
    import sys

    script = ("import os; from nodecompute.hostnet import libnft; assert libnft.host_context() is not None; "
              "print(sorted(fd for fd, _ in libnft._sockets() if os.get_inheritable(fd)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


async def test_the_probe_names_each_missing_feature(tmp_path, monkeypatch):
    fake = tmp_path / "nft"
    fake.write_text('#!/bin/sh\nif [ "$1" = "-j" ] && [ "$2" = "-f" ] && grep -q \'"ct"\' -; then\n'
                    '  echo "Error: Could not process rule: Protocol error" >&2; exit 1\nfi\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    bridge_nf = tmp_path / "bridge-nf-call-iptables"
    bridge_nf.write_text("0\n")
    monkeypatch.setattr(nft, "NFT", str(fake))
    monkeypatch.setattr(probe, "BR_NETFILTER", bridge_nf)
    missing = await probe.probe("ntfake")
    assert [f.name for f in missing] == ["br_netfilter", "inet_forward_ct_state", "ct_zone"]
    message = probe.refusal_message(missing)
    assert "Protocol error" in message and "bridge-nf-call-iptables is 0" in message
    monkeypatch.setattr(nft, "NFT", str(tmp_path / "absent"))
    assert [f.name for f in await probe.probe("ntfake")] == ["br_netfilter", "nft"]
