#!/usr/bin/env python3
"""Security-group tables at scale: a full rebuild against the minimal diff, on the real kernel (run as root).

    .venv/bin/python bench/hostnet_nft.py [--ports 500] [--groups 50] [--repeat 5]

Builds a model of PORTS ports (10 networks, each port in one or two of GROUPS groups, every group with six rules:
egress any, ingress from its own members, TCP 22, ICMP echo, TCP 8000-8100 from a CIDR, UDP 53 from the next
group), loads it under a random prefix with no interface of that name on the host (no packet is touched), then
times each change both ways: the full rebuild of both tables in one transaction, and the diff transaction.
Prints medians of wall time and CPU time (the machine is shared: CPU time is the steadier figure): building the
Ruleset and computing the commands in Python (rule lists are memoised, so a rebuild after a change is warm; the
first build is cold), and the transaction through libnftables in the process (as the daemon runs it; `nft -j -f -`
where the library is missing), its CPU time the process's and its children's while it runs (the event loop waits
meanwhile; it includes the kernel's commit, made in the library's system calls),
with the command counts. The tables are deleted at the end whatever happened.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import resource
import secrets
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nodecompute.hostnet import nft  # noqa: E402
from nodecompute.hostnet.secgroups import (  # noqa: E402
    FirewallModel, Network, Port, SecurityGroup, SecurityGroupRule, build_ruleset, our_tables)


def make_model(tag: str, ports: int, groups: int) -> FirewallModel:
    rule = SecurityGroupRule
    group_ids = [f"{tag}-g{i:03d}" for i in range(groups)]
    sgs = tuple(SecurityGroup(gid, (
        rule("egress"), rule("ingress", remote_group_id=gid), rule("ingress", "tcp", 22, 22),
        rule("ingress", "icmp", 8), rule("ingress", "tcp", 8000, 8100, "10.0.0.0/8"),
        rule("ingress", "udp", 53, 53, remote_group_id=group_ids[(i + 1) % groups]),
    )) for i, gid in enumerate(group_ids))
    networks = tuple(Network(f"{tag}b{n}", 4000 + n, (f"10.{n}.0.2",)) for n in range(10))
    port_list = tuple(Port(
        tap=f"{tag}t{i}", mac=f"02:00:00:00:{i >> 8:02x}:{i & 0xff:02x}",
        fixed_ips=(f"10.{i % 10}.{i // 250}.{i % 250 + 3}",), mark=i + 1, bridge=f"{tag}b{i % 10}",
        security_groups=tuple({group_ids[i % groups], group_ids[(i * 7) % groups]}),
    ) for i in range(ports))
    return FirewallModel(networks, port_list, sgs)


def changes(model: FirewallModel) -> dict[str, FirewallModel]:
    tag = model.ports[0].tap[:-2]
    last = model.ports[-1]
    new_port = dataclasses.replace(last, tap=f"{tag}tx", mark=last.mark + 1, fixed_ips=("10.9.9.9",),
                                   mac="02:00:00:00:ff:ff")
    group = model.groups[3]
    changed_group = dataclasses.replace(group, rules=group.rules + (SecurityGroupRule("ingress", "tcp", 443, 443),))
    joined = dataclasses.replace(model.ports[10], security_groups=model.ports[10].security_groups + (group.id,))
    return {
        "port added": dataclasses.replace(model, ports=model.ports + (new_port,)),
        "port removed": dataclasses.replace(model, ports=model.ports[:-1]),
        "group rules changed": dataclasses.replace(
            model, groups=tuple(changed_group if g is group else g for g in model.groups)),
        "membership changed": dataclasses.replace(
            model, ports=tuple(joined if p is model.ports[10] else p for p in model.ports)),
    }


def _nft_cpu() -> float:
    """CPU seconds of this process (libnftables runs on a thread of it) and of its children (nft, without it)."""
    return sum(usage.ru_utime + usage.ru_stime
               for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


async def timed(coro_factory, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU of the transaction) in ms."""
    walls, cpus = [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _nft_cpu()
        await coro_factory()
        walls.append(time.perf_counter() - start)
        cpus.append(_nft_cpu() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def ms(pair: tuple[float, float]) -> str:
    return f"{pair[0]:4.0f} ms ({pair[1]:4.0f} CPU)"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", type=int, default=500)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prefix = "bench" + secrets.token_hex(3)
    model = make_model(prefix[-6:], args.ports, args.groups)
    start, cpu = time.perf_counter(), time.process_time()
    base = build_ruleset(prefix, model)
    build = ((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)
    full = nft.full_transaction(base)
    rules = sum(len(c.rules) for c in base.chains.values())
    print(f"{args.ports} ports, {args.groups} groups: {len(base.chains)} chains, {rules} rules, "
          f"{len(full)} commands; cold build_ruleset {ms(build)}")
    try:
        first = await timed(lambda: nft.apply(full), 1)
        again = await timed(lambda: nft.apply(full), args.repeat)
        print(f"full rebuild: first load {ms(first)}, reload over existing tables {ms(again)}")
        for name, after in changes(model).items():
            gc.collect()   # the bench keeps several 12,000-command transactions alive; keep their GC out of the figure
            start, cpu = time.perf_counter(), time.process_time()
            target = build_ruleset(prefix, after)
            forward = nft.diff_transaction(base, target)
            compute = ((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)
            backward = nft.diff_transaction(target, base)
            full_after = nft.full_transaction(target)

            async def there_and_back():
                await nft.apply(forward)
                await nft.apply(backward)

            diff_time = tuple(t / 2 for t in await timed(there_and_back, args.repeat))
            rebuild = await timed(lambda: nft.apply(full_after), args.repeat)
            await nft.apply(full)
            print(f"{name:20s} diff: {len(forward):2d} commands, build+diff {ms(compute)}, nft {ms(diff_time)}"
                  f" | full rebuild: nft {ms(rebuild)}")
    finally:
        await nft.delete_tables(our_tables(prefix))


if __name__ == "__main__":
    asyncio.run(main())
