"""nftables through Debian's `nft` binary with JSON in and out (the Python binding is not on PyPI).

- `apply(commands)` runs one transaction, `nft -j -f -` with one `{"nftables": [...]}` document: the kernel takes
  all of it or nothing. `list_table`, `list_tables`, `list_ruleset` read back; `delete_tables` removes tables that
  may be absent.
- In the host's namespace every call goes through libnftables in-process (libnft.py: the same JSON and error text,
  ~0.1 ms instead of 2-8 ms for a subprocess), on its own thread; `netns=` (the router namespaces' NAT tables), a
  host without the library or `NFT` pointed at another binary run `[ip netns exec NS] nft` as a subprocess. The
  event loop is never blocked.
- A failure is an `NftError` carrying nft's own stderr.
- `Ruleset` is a desired state (tables, chains with their rules, named sets and maps with their elements);
  `full_transaction` recreates its tables in one transaction, `diff_transaction` turns one state into another with
  the fewest commands (elements added or deleted, changed chains flushed and refilled, the rest untouched);
  `RulesetApplier` remembers what it applied last and converges to a new state, by diff when it can, and by
  `creation_transaction` (no delete in it) when it removed the tables itself: the kernel commits a transaction that
  deletes or flushes anything only after an RCU grace period (~16 ms on the 2-core test hosts, in-process or not),
  one that only adds in ~0.1 ms (2 ms with nft's start), and a host's first guest filtered waits for it.
  Expression helpers (`eq`, `payload`, `meta`, ...) build the JSON that `nft -j` reads.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from nodecompute.hostnet import libnft
from nodecompute.hostnet.errors import NftError

log = logging.getLogger(__name__)

NFT = "nft"
TIMEOUT = 30.0
TOOL_ENV = {"LC_ALL": "C", "LANG": "C"}

Expr = dict[str, Any]
Command = dict[str, Any]


# ---------------------------------------------------------------- running nft

def _argv(args: Iterable[str], netns: str | None) -> tuple[str, ...]:
    prefix = ("ip", "netns", "exec", netns) if netns else ()
    return (*prefix, NFT, *args)


async def run_nft(*args: str, stdin: str | None = None, netns: str | None = None,
                  timeout: float = TIMEOUT) -> str:
    """Run `nft ARGS` (inside `netns` if given) and return its stdout; NftError on failure."""
    context = libnft.host_context() if netns is None and NFT == "nft" else None
    command = libnft.command_for(args, stdin) if context is not None else None
    if command is not None:
        return await context.run(command, args, timeout)
    argv = _argv(args, netns)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, **TOOL_ENV})
    except FileNotFoundError as exc:
        raise NftError(f"{argv[0]} is not installed (Debian's nftables package brings nft)", argv=argv) from exc
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else None), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
        proc.kill()
        await proc.wait()
        if isinstance(exc, asyncio.TimeoutError):
            raise NftError(f"nft did not finish within {timeout:g} s", argv=argv) from exc
        raise
    if proc.returncode != 0:
        raise NftError("nft " + " ".join(args) + " failed", argv=argv, returncode=proc.returncode,
                       stderr=err.decode(errors="replace"))
    return out.decode(errors="replace")


async def apply(commands: list[Command], *, netns: str | None = None) -> None:
    """Run COMMANDS as one atomic transaction; nothing to do for an empty list."""
    if commands:
        await run_nft("-j", "-f", "-", stdin=json.dumps({"nftables": commands}), netns=netns)


def _objects(document: str) -> list[dict[str, Any]]:
    return [obj for obj in json.loads(document)["nftables"] if "metainfo" not in obj]


async def list_table(family: str, name: str, *, netns: str | None = None) -> list[dict[str, Any]] | None:
    """The table's objects as `nft -j list table` gives them (with handles), or None when it does not exist."""
    try:
        return _objects(await run_nft("-j", "list", "table", family, name, netns=netns))
    except NftError as exc:
        if exc.no_such_object:
            return None
        raise


async def list_ruleset(*, netns: str | None = None) -> list[dict[str, Any]]:
    """Every object of the namespace's ruleset (`nft -j list ruleset`)."""
    return _objects(await run_nft("-j", "list", "ruleset", netns=netns))


async def list_tables(*, netns: str | None = None) -> list[tuple[str, str]]:
    """(family, name) of every table in the namespace."""
    objects = _objects(await run_nft("-j", "list", "tables", netns=netns))
    return [(obj["table"]["family"], obj["table"]["name"]) for obj in objects if "table" in obj]


async def delete_tables(tables: Iterable[tuple[str, str]], *, netns: str | None = None) -> None:
    """Delete the tables in one transaction; a table that does not exist is no error."""
    commands: list[Command] = []
    for family, name in tables:
        commands += [{"add": {"table": {"family": family, "name": name}}},
                     {"delete": {"table": {"family": family, "name": name}}}]
    await apply(commands, netns=netns)


# ---------------------------------------------------------------- expressions

ACCEPT: Expr = {"accept": None}
DROP: Expr = {"drop": None}
RETURN: Expr = {"return": None}


def jump(chain: str) -> Expr:
    return {"jump": {"target": chain}}


def meta(key: str) -> Expr:
    return {"meta": {"key": key}}


def ct(key: str) -> Expr:
    return {"ct": {"key": key}}


def payload(protocol: str, name: str) -> Expr:
    return {"payload": {"protocol": protocol, "field": name}}


def match(left: Expr, right: Any, op: str = "==") -> Expr:
    return {"match": {"op": op, "left": left, "right": right}}


def eq(left: Expr, right: Any) -> Expr:
    return match(left, right, "==")


def ne(left: Expr, right: Any) -> Expr:
    return match(left, right, "!=")


def anonymous_set(values: Iterable[Any]) -> Expr:
    return {"set": list(values)}


def prefix(address: str, length: int) -> Expr:
    return {"prefix": {"addr": address, "len": length}}


def span(low: int, high: int) -> Any:
    return low if low == high else {"range": [low, high]}


def set_ref(name: str) -> str:
    return "@" + name


def bitwise_and(expr: Expr, mask: int) -> Expr:
    return {"&": [expr, mask]}


def bitwise_or(expr: Expr, bits: int) -> Expr:
    return {"|": [expr, bits]}


def mangle(key: Expr, value: Any) -> Expr:
    return {"mangle": {"key": key, "value": value}}


def vmap(key: Expr, map_name: str) -> Expr:
    return {"vmap": {"key": key, "data": set_ref(map_name)}}


# ---------------------------------------------------------------- desired state

@dataclass(frozen=True)
class Hook:
    """What makes a chain a base chain."""
    hook: str
    prio: int
    type: str = "filter"
    policy: str = "accept"


@dataclass
class Chain:
    family: str
    table: str
    name: str
    hook: Hook | None = None
    rules: list[list[Expr]] = field(default_factory=list)

    def ref(self) -> dict[str, Any]:
        return {"family": self.family, "table": self.table, "name": self.name}


@dataclass
class NamedSet:
    """A named set (map=None) or map (map = the data type, e.g. "verdict"); elements: key -> data (None in sets)."""
    family: str
    table: str
    name: str
    type: str
    map: str | None = None
    elements: dict[Any, Any] = field(default_factory=dict)

    def ref(self) -> dict[str, Any]:
        return {"family": self.family, "table": self.table, "name": self.name}

    def spec(self) -> tuple[str, str | None]:
        return self.type, self.map

    def elem(self, keys: Iterable[Any]) -> list[Any]:
        keys = sorted(keys)
        return [[key, self.elements[key]] for key in keys] if self.map else keys


@dataclass
class Ruleset:
    tables: list[tuple[str, str]] = field(default_factory=list)
    chains: dict[tuple[str, str, str], Chain] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], NamedSet] = field(default_factory=dict)

    def add_chain(self, chain: Chain) -> Chain:
        self.chains[(chain.family, chain.table, chain.name)] = chain
        return chain

    def add_set(self, named: NamedSet) -> NamedSet:
        self.sets[(named.family, named.table, named.name)] = named
        return named


def _add_chain(chain: Chain) -> Command:
    body = chain.ref()
    if chain.hook:
        body.update(type=chain.hook.type, hook=chain.hook.hook, prio=chain.hook.prio, policy=chain.hook.policy)
    return {"add": {"chain": body}}


def _add_rules(chain: Chain) -> list[Command]:
    ref = {"family": chain.family, "table": chain.table, "chain": chain.name}
    return [{"add": {"rule": {**ref, "expr": rule}}} for rule in chain.rules]


def _add_set(named: NamedSet) -> Command:
    body: dict[str, Any] = {**named.ref(), "type": named.type}
    if named.map:
        body["map"] = named.map
    if named.elements:
        body["elem"] = named.elem(named.elements)
    return {"add": {"map" if named.map else "set": body}}


def _elements(verb: str, named: NamedSet, keys: Iterable[Any]) -> list[Command]:
    keys = list(keys)
    if not keys:
        return []
    elem = sorted(keys) if verb == "delete" else named.elem(keys)
    return [{verb: {"element": {**named.ref(), "elem": elem}}}]


def full_transaction(ruleset: Ruleset) -> list[Command]:
    """Recreate every table of RULESET from scratch, in one transaction (add+delete first: the table may be absent)."""
    commands: list[Command] = []
    for family, name in ruleset.tables:
        table = {"family": family, "name": name}
        commands += [{"add": {"table": table}}, {"delete": {"table": table}}, {"add": {"table": table}}]
    commands += [_add_chain(chain) for chain in ruleset.chains.values()]
    commands += [_add_set(named) for named in ruleset.sets.values()]
    for chain in ruleset.chains.values():
        commands += _add_rules(chain)
    return commands


def creation_transaction(ruleset: Ruleset) -> list[Command]:
    """Make every table of RULESET where none exists: `create` fails on a table that exists (nothing is added
    twice), and nothing is deleted, so no grace period is waited for."""
    commands: list[Command] = [{"create": {"table": {"family": family, "name": name}}}
                               for family, name in ruleset.tables]
    commands += [_add_chain(chain) for chain in ruleset.chains.values()]
    commands += [_add_set(named) for named in ruleset.sets.values()]
    for chain in ruleset.chains.values():
        commands += _add_rules(chain)
    return commands


def diff_transaction(old: Ruleset, new: Ruleset) -> list[Command]:
    """The fewest commands that turn OLD (as applied) into NEW, ordered so that nothing is deleted while in use."""
    if old.tables != new.tables:
        return full_transaction(new)
    del_elems: list[Command] = []
    add_elems: list[Command] = []
    flushes: list[Command] = []
    del_sets: list[Command] = []
    del_chains: list[Command] = []
    add_chains: list[Command] = []
    add_sets: list[Command] = []
    add_rules: list[Command] = []
    for key, chain in old.chains.items():
        wanted = new.chains.get(key)
        if wanted is None or wanted.hook != chain.hook:
            flushes.append({"flush": {"chain": chain.ref()}})
            del_chains.append({"delete": {"chain": chain.ref()}})
        elif wanted.rules != chain.rules:
            flushes.append({"flush": {"chain": chain.ref()}})
            add_rules += _add_rules(wanted)
    for key, chain in new.chains.items():
        old_chain = old.chains.get(key)
        if old_chain is None or old_chain.hook != chain.hook:
            add_chains.append(_add_chain(chain))
            add_rules += _add_rules(chain)
    for key, named in old.sets.items():
        wanted = new.sets.get(key)
        if wanted is None or wanted.spec() != named.spec():
            del_sets.append({"delete": {"map" if named.map else "set": named.ref()}})
            continue
        gone = [k for k, data in named.elements.items() if k not in wanted.elements or wanted.elements[k] != data]
        came = [k for k, data in wanted.elements.items() if named.elements.get(k, ...) != data]
        del_elems += _elements("delete", named, gone)
        add_elems += _elements("add", wanted, came)
    for key, named in new.sets.items():
        old_set = old.sets.get(key)
        if old_set is None or old_set.spec() != named.spec():
            add_sets.append(_add_set(named))
    return del_elems + flushes + del_sets + del_chains + add_chains + add_sets + add_rules + add_elems


class RulesetApplier:
    """Keeps the kernel's tables equal to the last desired Ruleset: by diff after the first full apply, and by a
    full rebuild whenever a diff fails or an apply was interrupted (the kernel state is then unknown). One change
    at a time."""

    def __init__(self, *, netns: str | None = None) -> None:
        self.netns = netns
        self.applied: Ruleset | None = None
        self.removed: tuple[tuple[str, str], ...] = ()  # the tables the last remove() deleted (absent since)
        self._lock = asyncio.Lock()

    async def converge(self, desired: Ruleset) -> None:
        async with self._lock:
            previous, self.applied = self.applied, None   # unknown until this apply has gone through
            removed, self.removed = self.removed, ()
            if previous is not None:
                try:
                    await apply(diff_transaction(previous, desired), netns=self.netns)
                    self.applied = desired
                    return
                except NftError as exc:
                    log.warning("nft diff failed, rebuilding the tables: %s", exc)
            elif removed and set(desired.tables) <= set(removed):
                try:
                    await apply(creation_transaction(desired), netns=self.netns)
                    self.applied = desired
                    return
                except NftError as exc:  # a table is there after all (made behind our back): start afresh
                    log.warning("nft: creating the tables failed, rebuilding them: %s", exc)
            await apply(full_transaction(desired), netns=self.netns)
            self.applied = desired

    async def remove(self, tables: Iterable[tuple[str, str]]) -> None:
        async with self._lock:
            self.applied, self.removed = None, ()
            tables = tuple(tables)
            await delete_tables(tables, netns=self.netns)
            self.removed = tables
