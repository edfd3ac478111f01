"""A router's own nftables table (family ip, inside the router namespace), as nft JSON, and its runner.

The table is always written whole: one `nft -j -f -` batch adds it, deletes it and adds it again with every chain
and rule, and nft applies a batch as one transaction. So changing the floating IPs (or anything else) is atomic:
no packet ever sees half a table.

- prerouting (nat): 169.254.169.254:80 arriving on a subnet leg is redirected to the metadata listener's port in
  the namespace; each floating IP is DNATed to its fixed address.
- postrouting (nat): traffic leaving by the gateway leg from a fixed address with a floating IP is SNATed to that
  floating IP; all other traffic leaving by the gateway leg is SNATed to the gateway leg's address (when SNAT is on).
- input (filter): the metadata port accepts only connections redirected from 169.254.169.254, so nobody reaches it
  at the router's own addresses.

The runner is private and tiny; once the security-group engine's hostnet/nft.py lands it can share that runner.
"""
from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess

from nodecompute.hostnet.dhcp_config import METADATA_ADDRESS
from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.names import gateway_leg_name, router_leg_name
from nodecompute.hostnet.namespaces import Home
from nodecompute.hostnet.specs import Router

NFT_TIMEOUT = 20.0


def _match(left: dict, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


def _ip(field: str) -> dict:
    return {"payload": {"protocol": "ip", "field": field}}


def _meta(key: str) -> dict:
    return {"meta": {"key": key}}


def nat_ruleset(table: str, router: Router) -> dict:
    """The nft JSON batch that replaces the router's table as a whole."""
    t = {"family": "ip", "name": table}
    commands: list[dict] = [{"add": {"table": t}}, {"delete": {"table": t}}, {"add": {"table": t}}]
    for name, kind, hook, prio in (("prerouting", "nat", "prerouting", -100),
                                   ("postrouting", "nat", "postrouting", 100),
                                   ("input", "filter", "input", 0)):
        commands.append({"add": {"chain": {"family": "ip", "table": table, "name": name, "type": kind,
                                           "hook": hook, "prio": prio, "policy": "accept"}}})

    def rule(chain: str, *expr: dict) -> None:
        commands.append({"add": {"rule": {"family": "ip", "table": table, "chain": chain, "expr": list(expr)}}})

    legs = sorted(router_leg_name(leg.port_id) for leg in router.interfaces)
    if router.metadata_port and legs:
        rule("prerouting", _match(_meta("iifname"), {"set": legs}), _match(_ip("daddr"), METADATA_ADDRESS),
             _match({"payload": {"protocol": "tcp", "field": "dport"}}, 80),
             {"redirect": {"port": router.metadata_port}})
        original_destination = {"ct": {"key": "daddr", "family": "ip", "dir": "original"}}
        rule("input", _match({"payload": {"protocol": "tcp", "field": "dport"}}, router.metadata_port),
             _match(original_destination, METADATA_ADDRESS, "!="), {"drop": None})
    if router.gateway is None:
        return {"nftables": commands}
    gateway_dev = gateway_leg_name(router.gateway.port_id)
    for fip in sorted(router.floating_ips, key=lambda f: f.address):
        rule("prerouting", _match(_ip("daddr"), fip.address), {"dnat": {"addr": fip.fixed_ip}})
        rule("postrouting", _match(_meta("oifname"), gateway_dev), _match(_ip("saddr"), fip.fixed_ip),
             {"snat": {"addr": fip.address}})
    if router.snat and router.gateway.addresses:
        gateway_address = str(ipaddress.IPv4Interface(router.gateway.addresses[0]).ip)
        rule("postrouting", _match(_meta("oifname"), gateway_dev), {"snat": {"addr": gateway_address}})
    return {"nftables": commands}


def nft_binary() -> str:
    found = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
    if not found:
        raise HostNetError("nft is not installed (Debian package nftables)")
    return found


def apply(home: Home, namespace: str, batch: dict) -> None:
    """Run one nft JSON batch (one transaction) inside `namespace`."""
    with home.inside(namespace):
        try:
            done = subprocess.run([nft_binary(), "-j", "-f", "-"], input=json.dumps(batch).encode(),
                                  capture_output=True, timeout=NFT_TIMEOUT,
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostNetError(f"nft failed in {namespace}: {exc}") from exc
    if done.returncode != 0:
        raise HostNetError(f"nft failed in {namespace} (exit {done.returncode}): "
                           f"{done.stderr.decode(errors='replace').strip()}")
