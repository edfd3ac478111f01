"""The libvirt connection, on asyncio: every blocking call runs in one named, bounded thread pool.

- libvirtaio is registered once per process on the running loop (it is what makes qemu:///embed work and what
  delivers lifecycle events); opening on a different loop than the registered one is refused.
- Lifecycle events only become DomainEvent records on `events`; a consumer elsewhere acts on them.
- A call is never abandoned in its thread: a cancelled caller waits for the call to return, then is cancelled
  (nodecompute/threads.py), so whatever it did (a defineXML) is there for the caller's undo.
- Errors leave as HypervisorError / DomainNotFound (errors.py); libvirt's own stderr printing is silenced.
- A connection found dead (isAlive false) is reopened once and the call retried (qubesd's pattern).
- Only one qemu:///embed root can be opened per process, for the life of the process (libvirt: "Cannot open
  embedded driver at path B, already open with path A"); its guests outlive the process and are found again
  on the next open.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import libvirt
import libvirtaio

from nodecompute.threads import run_in_thread
from nodecompute.virt import domain_xml
from nodecompute.virt.embed import (MISSING_QEMU_USER_HINT, embed_root, ensure_qemu_conf, forget_orphaned_jobs,
                                    root_too_deep)
from nodecompute.virt.errors import DomainNotFound, HypervisorError
from nodecompute.virt.hostcaps import HostInfo, choose_virt_type, host_info_from_capabilities

log = logging.getLogger(__name__)
T = TypeVar("T")

EVENT_KINDS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
# libvirt domain state -> Nova power_state (nova/virt/libvirt/guest.py LIBVIRT_POWER_STATE)
POWER_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: 0,
    libvirt.VIR_DOMAIN_RUNNING: 1,
    libvirt.VIR_DOMAIN_BLOCKED: 1,
    libvirt.VIR_DOMAIN_PAUSED: 3,
    libvirt.VIR_DOMAIN_SHUTDOWN: 4,
    libvirt.VIR_DOMAIN_SHUTOFF: 4,
    libvirt.VIR_DOMAIN_CRASHED: 6,
    libvirt.VIR_DOMAIN_PMSUSPENDED: 7,
}
NOSTATE = 0
UNDEFINE_FLAGS = (
    libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
)
BASIC_UNDEFINE_FLAGS = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
EVENT_QUEUE_SIZE = 10000
DRAIN_TIMEOUT = 1.0
_drain_task: asyncio.Task | None = None


@dataclass(frozen=True)
class DomainEvent:
    name: str
    uuid: str
    kind: str  # one of EVENT_KINDS' values, or "unknown"
    detail: int  # libvirt's VIR_DOMAIN_EVENT_<KIND>_* detail code


def register_event_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Register libvirtaio on `loop` unless already done; it can never move to another loop."""
    impl = libvirtaio.getCurrentImpl()
    if impl is None:
        libvirtaio.virEventRegisterAsyncIOImpl(loop=loop)
    elif impl.loop is not loop:
        raise HypervisorError("libvirt events are already bound to another asyncio event loop")


async def drain_event_loop(timeout: float = DRAIN_TIMEOUT) -> bool:
    """Wait (bounded) for libvirtaio to run the free-callbacks of removed handles and timers. True when idle.

    libvirtaio's drain() waits until *every* handle and timer is gone, which never happens while any other
    connection (or the embedded driver's own timers) is alive, and it cannot be cancelled and called again
    (it asserts). So one shared drain task runs in the background and each close waits for it at most `timeout`.
    """
    global _drain_task
    impl = libvirtaio.getCurrentImpl()
    if impl is None or impl.loop is not asyncio.get_running_loop():
        return True
    if _drain_task is None or _drain_task.done():
        _drain_task = impl.loop.create_task(impl.drain(), name="libvirtaio-drain")
    done, _ = await asyncio.wait({_drain_task}, timeout=timeout)
    return bool(done)


def _ignore_libvirt_error(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr unless a handler is set; ours are raised and logged by callers."""


def _code(err: libvirt.libvirtError) -> int | None:
    return err.get_error_code()


class Hypervisor:
    # workers: a domain start blocks its thread for 0.4 s (idle host, TCG) to several seconds (busy host); with 4,
    # ten creates at once ran four at a time and cheap calls (define, power_state) queued behind them for seconds
    # (bench/boot.py). Nova's libvirt calls go through eventlet's tpool, 20 threads by default.
    def __init__(self, uri: str, *, virt_type: str = "auto", workers: int = 16) -> None:
        self.uri = uri
        self.virt_type_setting = virt_type
        self.events: asyncio.Queue[DomainEvent] = asyncio.Queue(EVENT_QUEUE_SIZE)
        self.host: HostInfo | None = None
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="libvirt")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: libvirt.virConnect | None = None
        self._callback_id: int | None = None
        self._conn_lock = threading.Lock()
        self._closed = False

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking function in the libvirt thread pool; a cancellation takes effect once it has returned."""
        if self._closed:
            raise HypervisorError(f"the connection to {self.uri} is closed")
        return await run_in_thread(fn, *args, executor=self._executor)

    async def run(self, action: str, name: str, op: Callable[[libvirt.virConnect], T]) -> T:
        """op(conn) in the pool for the adapters beside this one (host_stats, domain_stats): the same retry on a
        dead connection and the same error translation (HypervisorError, DomainNotFound) as the calls below."""
        return await self._run(action, name, op)

    # connection ---------------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        register_event_loop(self._loop)
        libvirt.registerErrorHandler(_ignore_libvirt_error, None)
        root = embed_root(self.uri)
        if root is not None:
            if (too_deep := root_too_deep(root)) is not None:
                raise HypervisorError(too_deep)
            await self.call(ensure_qemu_conf, root)
            for name in await self.call(forget_orphaned_jobs, root):
                log.warning("domain %s: dropped the backup job a killed daemon left in its libvirt status", name)
        try:
            await self.call(self._connect)
            self.host = await self.call(self._read_host)
        except libvirt.libvirtError as err:
            raise self._open_error(err) from None

    async def close(self) -> None:
        """Close the connection (guests keep running). Calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        finally:
            self._executor.shutdown(wait=False)
        await drain_event_loop()

    def _connect(self) -> libvirt.virConnect:
        conn = libvirt.open(self.uri)
        try:
            conn.setKeepAlive(5, 3)
        except libvirt.libvirtError:
            pass  # local drivers have no keepalive
        self._callback_id = conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
        self._conn = conn
        return conn

    def _disconnect(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                if self._callback_id is not None and conn.isAlive():
                    conn.domainEventDeregisterAny(self._callback_id)
            except libvirt.libvirtError as err:
                log.debug("deregistering lifecycle events failed: %s", err)
            finally:
                self._callback_id = None
                conn.close()

    def _alive_connection(self) -> libvirt.virConnect:
        with self._conn_lock:
            conn = self._conn
            if conn is None:
                raise HypervisorError("the hypervisor connection is not open")
            if conn.isAlive():
                return conn
            log.warning("libvirt connection to %s is dead; reconnecting", self.uri)
            try:
                conn.close()
            except libvirt.libvirtError:
                pass
            return self._connect()

    def _read_host(self) -> HostInfo:
        conn = self._alive_connection()
        info = conn.getInfo()  # [arch, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
        try:  # all of /proc/meminfo; getInfo counts NUMA node memory only
            memory_mb = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)["total"] // 1024
        except (libvirt.libvirtError, KeyError):
            memory_mb = info[1]
        return host_info_from_capabilities(
            conn.getCapabilities(), choose_virt_type(self.virt_type_setting),
            hostname=conn.getHostname(), vcpus=info[2], memory_mb=memory_mb)

    def _open_error(self, err: libvirt.libvirtError) -> HypervisorError:
        message = err.get_error_message() or str(err)
        if "libvirt-qemu" in message:
            message = f"{message}; {MISSING_QEMU_USER_HINT}"
        return HypervisorError(f"cannot open {self.uri}: {message}")

    def _on_lifecycle(self, _conn: Any, dom: libvirt.virDomain, event: int, detail: int, _opaque: Any) -> None:
        record = DomainEvent(dom.name(), dom.UUIDString(), EVENT_KINDS.get(event, "unknown"), detail)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._enqueue, record)

    def _enqueue(self, record: DomainEvent) -> None:
        try:
            self.events.put_nowait(record)
        except asyncio.QueueFull:
            log.warning("domain event queue full; dropped %s", record)

    # calls ----------------------------------------------------------------------------------------------------

    async def _run(self, action: str, name: str, op: Callable[[libvirt.virConnect], T]) -> T:
        """op(conn) in the pool; retried once on a fresh connection if the connection died under it."""
        def attempt() -> T:
            conn = self._alive_connection()
            try:
                return op(conn)
            except libvirt.libvirtError:
                if conn.isAlive():
                    raise
            return op(self._alive_connection())

        try:
            return await self.call(attempt)
        except libvirt.libvirtError as err:
            if _code(err) == libvirt.VIR_ERR_NO_DOMAIN:
                raise DomainNotFound(f"{action} {name}: no such domain") from None
            raise HypervisorError(f"{action} {name}: {err.get_error_message() or err}") from None

    async def define(self, xml: str) -> None:
        await self._run("define", "domain", lambda conn: conn.defineXML(xml))

    async def start(self, name: str) -> int:
        """Start a defined domain (nothing to do if it already runs); returns its Nova power state, read in the same
        worker call: a separate power_state call would queue behind other starts in the pool."""
        def op(conn: libvirt.virConnect) -> int:
            dom = conn.lookupByName(name)
            if not dom.isActive():
                dom.create()
            return POWER_STATES.get(dom.state()[0], NOSTATE)
        return await self._run("start", name, op)

    async def destroy(self, name: str) -> None:
        """Hard power off. No error if the domain is already off or does not exist."""
        def op(conn: libvirt.virConnect) -> None:
            try:
                conn.lookupByName(name).destroy()
            except libvirt.libvirtError as err:
                if _code(err) not in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID):
                    raise
        await self._run("destroy", name, op)

    async def undefine(self, name: str) -> None:
        """Remove the definition with its managed save, snapshot/checkpoint metadata and NVRAM. No error if missing."""
        def op(conn: libvirt.virConnect) -> None:
            try:
                _undefine(conn.lookupByName(name))
            except libvirt.libvirtError as err:
                if _code(err) != libvirt.VIR_ERR_NO_DOMAIN:
                    raise
        await self._run("undefine", name, op)

    async def shutdown(self, name: str) -> None:
        """Ask the guest to power off (ACPI). Nothing to do if it is not running."""
        def op(conn: libvirt.virConnect) -> None:
            try:
                conn.lookupByName(name).shutdown()
            except libvirt.libvirtError as err:
                if _code(err) != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
        await self._run("shutdown", name, op)

    async def power_state(self, name: str) -> int:
        """Nova power_state: 0 nostate/missing, 1 running, 3 paused, 4 shutdown, 6 crashed, 7 suspended."""
        try:
            state = await self._run("power_state", name, lambda conn: conn.lookupByName(name).state()[0])
        except DomainNotFound:
            return NOSTATE
        return POWER_STATES.get(state, NOSTATE)

    async def domain_id(self, name: str) -> int | None:
        """The running domain's id (a new one after every start), None when off or missing."""
        try:
            dom_id = await self._run("domain_id", name, lambda conn: conn.lookupByName(name).ID())
        except DomainNotFound:
            return None
        return dom_id if dom_id > 0 else None

    async def list_ours(self) -> dict[str, dict[str, str]]:
        """name -> tags, for every domain (running or not) carrying nodecompute metadata."""
        return await self._run("list", "domains", _our_domains)

    async def live_xml(self, name: str) -> str:
        return await self._run("xml", name, lambda conn: conn.lookupByName(name).XMLDesc(0))

    async def vnc_socket(self, name: str) -> str | None:
        """The UNIX socket of the domain's VNC display (None: no display, or one on TCP)."""
        return domain_xml.vnc_socket(await self.live_xml(name))

    async def tcp_displays(self) -> dict[str, str]:
        """name -> address, for our domains whose VNC display still listens on TCP (defined before displays became
        UNIX sockets; the running QEMU keeps it until the domain is started again from a new definition)."""
        def op(conn: libvirt.virConnect) -> dict[str, str]:
            found = {name: domain_xml.vnc_tcp_address(xml) for name, xml, _tags in _our_domain_xml(conn)}
            return {name: address for name, address in found.items() if address is not None}
        return await self._run("list", "domains", op)


def _undefine(dom: libvirt.virDomain) -> None:
    """Full flags first; drivers that reject some flags (test driver) get fewer, then none."""
    for flags in (UNDEFINE_FLAGS, BASIC_UNDEFINE_FLAGS):
        try:
            dom.undefineFlags(flags)
            return
        except libvirt.libvirtError as err:
            if _code(err) not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                raise
    dom.undefine()


def _our_domains(conn: libvirt.virConnect) -> dict[str, dict[str, str]]:
    return {name: tags for name, _xml, tags in _our_domain_xml(conn)}


def _our_domain_xml(conn: libvirt.virConnect) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(name, XML, tags) of every domain carrying nodecompute metadata (the live XML of running ones)."""
    for dom in conn.listAllDomains(0):
        try:
            xml = dom.XMLDesc(0)
        except libvirt.libvirtError as err:
            if _code(err) == libvirt.VIR_ERR_NO_DOMAIN:
                continue  # undefined while we listed
            raise
        tags = domain_xml.parse_tags(xml)
        if tags is not None:
            yield dom.name(), xml, tags
