"""The firewall follows the rows (compute/firewall.py over the recording host side): a port plugged through
PortService.bind is filtered before bind returns; every change of a group, rule, membership or port reaches the
model the host enforces; unplugged ports are absent and with none plugged the tables go; a host that fails leaves
no port plugged unfiltered; and at start the kernel probe decides whether networking may run."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from nodecompute.api.keys import network_key
from nodecompute.app import create_app
from nodecompute.compute import firewall as firewall_module
from nodecompute.config import ConfigError
from nodecompute.domain.errors import InternalError
from nodecompute.hostnet import bridge_name
from nodecompute.hostnet.probe import MissingFeature
from tests.api.helpers import Api, Net, assert_neutron_fault
from tests.api.network_fakes import RecordingHostNet

MISSING = [MissingFeature("br_netfilter", "br_netfilter is not active")]


@pytest.fixture
async def member(api, make_user) -> Net:
    return Net(api.client, await make_user("alpha", "member"))


@pytest.fixture
def ports(api):
    return api.client.server.app[network_key].ports


@pytest.fixture
async def lab(member) -> dict:
    network = await member.network("fwnet")
    await member.subnet(network["id"], "198.18.40.0/24")
    return network


def _port(model, tap: str):
    return next(p for p in model.ports if p.tap == tap)


async def test_a_bound_port_is_filtered_with_its_groups_and_network(member, lab, ports, hostnet):
    assert hostnet.firewall is None  # nothing plugged: no tables
    port = await member.port(lab["id"], name="a")
    bound = await ports.bind(port["id"], "tapfw-a", "host1")
    assert (bound.status, bound.vif_type, bound.host_id) == ("ACTIVE", "bridge", "host1")
    shown = (await member.ok("GET", f"/ports/{port['id']}"))["port"]
    assert shown["status"] == "ACTIVE"
    model = hostnet.firewall
    (network,) = model.networks
    dhcp = next(p for p in (await member.ok("GET", f"/ports?network_id={lab['id']}"))["ports"]
                if p["device_owner"] == "network:dhcp")
    assert (network.bridge, network.dhcp_servers) == (bridge_name(lab["id"]), (dhcp["fixed_ips"][0]["ip_address"],))
    fw_port = _port(model, "tapfw-a")
    assert (fw_port.mac, fw_port.fixed_ips, fw_port.bridge, fw_port.mark) == (
        port["mac_address"], (port["fixed_ips"][0]["ip_address"],), network.bridge, 1)
    assert fw_port.security_groups == tuple(port["security_groups"]) and fw_port.port_security_enabled
    (group,) = model.groups
    assert group.id == port["security_groups"][0]
    assert {(r.direction, r.ethertype, r.remote_group_id) for r in group.rules} == {
        ("egress", "IPv4", None), ("egress", "IPv6", None), ("ingress", "IPv4", group.id),
        ("ingress", "IPv6", group.id)}
    applied = len(hostnet.firewall_log)
    unplugged = await member.port(lab["id"], name="b")
    assert all(p.tap != unplugged["id"] for p in hostnet.firewall.ports) and len(hostnet.firewall.ports) == 1
    assert len(hostnet.firewall_log) == applied  # a new port is not plugged: the tables are not even re-read


async def test_rules_membership_and_port_security_reach_the_host(member, lab, ports, hostnet):
    port = await member.port(lab["id"])
    await ports.bind(port["id"], "tapfw-c", "host1")
    web = (await member.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}}))[
        "security_group"]
    await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"security_groups": [web["id"]]}})
    assert _port(hostnet.firewall, "tapfw-c").security_groups == (web["id"],)
    body = {"security_group_rule": {"security_group_id": web["id"], "direction": "ingress", "protocol": "tcp",
                                    "port_range_min": 8080, "port_range_max": 8080}}
    made = (await member.ok("POST", "/security-group-rules", 201, json=body))["security_group_rule"]
    (group,) = hostnet.firewall.groups
    assert ("ingress", 6, 8080, 8080) in {(r.direction, r.protocol, r.port_range_min, r.port_range_max)
                                          for r in group.rules}
    await member.ok("DELETE", f"/security-group-rules/{made['id']}", 204)
    assert all(r.port_range_min != 8080 for r in hostnet.firewall.groups[0].rules)
    await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"security_groups": [],
                                                                  "port_security_enabled": False}})
    unsecured = _port(hostnet.firewall, "tapfw-c")
    assert not unsecured.port_security_enabled and unsecured.security_groups == () and hostnet.firewall.groups == ()
    await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"port_security_enabled": True,
                                                                  "security_groups": [web["id"]]}})
    assert _port(hostnet.firewall, "tapfw-c").port_security_enabled
    new_ip = "198.18.40.77"
    await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"fixed_ips": [{"ip_address": new_ip}]}})
    assert _port(hostnet.firewall, "tapfw-c").fixed_ips == (new_ip,)


async def test_port_security_off_needs_no_groups(member, lab):
    port = await member.port(lab["id"])
    await assert_neutron_fault(await member.put(f"/ports/{port['id']}", json={"port": {
        "port_security_enabled": False}}), 409, "PortSecurityPortHasSecurityGroup",
        "Port has security group associated. Cannot disable port security or ip address until security group is "
        "removed")
    await assert_neutron_fault(await member.put(f"/ports/{port['id']}", json={"port": {
        "port_security_enabled": False, "security_groups": port["security_groups"]}}), 409,
        "PortSecurityAndIPRequiredForSecurityGroups")
    off = (await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"port_security_enabled": False,
                                                                         "security_groups": []}}))["port"]
    assert (off["port_security_enabled"], off["security_groups"]) == (False, [])
    await assert_neutron_fault(await member.put(f"/ports/{port['id']}", json={"port": {
        "security_groups": port["security_groups"]}}), 409, "PortSecurityAndIPRequiredForSecurityGroups")


async def test_unbind_and_delete_take_the_port_out_and_the_tables_go_with_the_last(member, lab, ports, hostnet):
    one, two = await member.port(lab["id"]), await member.port(lab["id"])
    await ports.bind(one["id"], "tapfw-1", "h")
    await ports.bind(two["id"], "tapfw-2", "h")
    assert [p.mark for p in hostnet.firewall.ports] == [1, 2]
    await ports.unbind(one["id"])
    assert [p.tap for p in hostnet.firewall.ports] == ["tapfw-2"]
    assert (await member.ok("GET", f"/ports/{one['id']}"))["port"]["status"] == "DOWN"
    await ports.bind(one["id"], "tapfw-1", "h")
    assert _port(hostnet.firewall, "tapfw-1").mark == 1  # the lowest free mark again
    await member.ok("DELETE", f"/ports/{two['id']}", 204)
    await member.ok("DELETE", f"/ports/{one['id']}", 204)
    assert hostnet.firewall is None and hostnet.firewall_log[-1] is None


async def test_bind_refuses_bad_taps_and_unknown_ports(member, lab, ports):
    one, two = await member.port(lab["id"]), await member.port(lab["id"])
    await ports.bind(one["id"], "tapfw-x", "h")
    with pytest.raises(ValueError, match="already port"):
        await ports.bind(two["id"], "tapfw-x", "h")
    for bad in ("", "x" * 16, "tap x", "-tap"):
        with pytest.raises(ValueError, match="not an interface name"):
            await ports.bind(two["id"], bad, "h")
    with pytest.raises(Exception, match="could not be found"):
        await ports.bind("00000000-0000-0000-0000-000000000000", "tapfw-y", "h")
    assert ports.plug_of(two["id"]) is None


async def test_a_port_is_not_left_plugged_when_the_host_cannot_filter_it(member, lab, ports, hostnet):
    port = await member.port(lab["id"])
    hostnet.fail("apply_firewall")
    with pytest.raises(InternalError):
        await ports.bind(port["id"], "tapfw-f", "h")
    assert ports.plug_of(port["id"]) is None
    assert (await member.ok("GET", f"/ports/{port['id']}"))["port"]["status"] == "DOWN"
    assert hostnet.firewall is None


async def test_a_change_the_host_refuses_is_retried_until_it_holds(member, lab, ports, hostnet, monkeypatch):
    monkeypatch.setattr(firewall_module, "RETRY_SECONDS", 0.05)
    port = await member.port(lab["id"])
    await ports.bind(port["id"], "tapfw-r", "h")
    hostnet.fail("apply_firewall", times=2)
    body = {"security_group_rule": {"security_group_id": port["security_groups"][0], "direction": "ingress",
                                    "protocol": "icmp"}}
    await member.ok("POST", "/security-group-rules", 201, json=body)  # the rows are the truth
    assert all(r.protocol != 1 for r in hostnet.firewall.groups[0].rules)
    for _ in range(1500):  # 30 s for the retry on a loaded host
        if any(r.protocol == 1 for r in hostnet.firewall.groups[0].rules):
            break
        await asyncio.sleep(0.02)
    assert any(r.protocol == 1 for r in hostnet.firewall.groups[0].rules)


async def test_zones_are_per_network_and_stable(member, ports, hostnet):
    made = []
    for index in range(2):
        network = await member.network(f"z{index}")
        await member.subnet(network["id"], f"198.18.{41 + index}.0/24")
        port = await member.port(network["id"])
        await ports.bind(port["id"], f"tapfw-z{index}", "h")
        made.append((network, port))
    zones = {n.bridge: n.zone for n in hostnet.firewall.networks}
    assert sorted(zones.values()) == [1, 2]
    await ports.unbind(made[0][1]["id"])
    await ports.bind(made[0][1]["id"], "tapfw-z0", "h")
    assert {n.bridge: n.zone for n in hostnet.firewall.networks} == zones


async def test_a_restart_loads_the_whole_model_at_once(aiohttp_client, cfg):
    first = RecordingHostNet()
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: first))
    net = Net(client, await Api(client).token("admin", "admin-secret", "admin"))
    network = await net.network("keep")
    await net.subnet(network["id"], "198.18.44.0/24")
    port = await net.port(network["id"])
    await client.server.app[network_key].ports.bind(port["id"], "tapfw-k", "h")
    await client.close()
    second = RecordingHostNet()
    await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: second))
    assert second.firewall_log == [first.firewall]  # one full load of the same model


async def test_security_groups_off_removes_the_tables_and_skips_the_probe(aiohttp_client, cfg):
    off = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, security_groups=False))
    fake = RecordingHostNet(missing_features=MISSING)
    client = await aiohttp_client(create_app(off, with_servers=False, hostnet_factory=lambda c: fake))
    assert fake.firewall_log == [None]
    net = Net(client, await Api(client).token("admin", "admin-secret", "admin"))
    network = await net.network("unfiltered")
    port = await net.port(network["id"])
    await client.server.app[network_key].ports.bind(port["id"], "tapfw-o", "h")
    assert fake.firewall_log == [None]  # nothing is ever applied


async def test_a_kernel_without_the_features_stops_networking(aiohttp_client, cfg):
    fake = RecordingHostNet(missing_features=MISSING)
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: fake))
    api = Api(client)
    resp = await client.get("/networking/v2.0/security-groups",
                            headers={"X-Auth-Token": await api.token("admin", "admin-secret", "admin")})
    fault = await assert_neutron_fault(resp, 503, "ServiceUnavailable")
    assert "security groups cannot be enforced on this host: br_netfilter is not active" in fault["message"]
    assert "[network] security_groups = false" in fault["message"] and fake.closed
    strict = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, enabled="true"))
    refused = TestClient(TestServer(create_app(strict, with_servers=False,
                                               hostnet_factory=lambda c: RecordingHostNet(missing_features=MISSING))))
    try:
        with pytest.raises(ConfigError, match="enabled = true, but security groups cannot be enforced on this "
                                              "host: br_netfilter is not active"):
            await refused.start_server()
    finally:
        await refused.close()  # aiohttp_client would leave its session open when the app does not start
