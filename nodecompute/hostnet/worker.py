"""One dedicated thread for every blocking host networking call (pyroute2, setns, dnsmasq, nft).

pyroute2's IPRoute is blocking. All jobs run on a single worker thread, so they never race each other (two ensure
calls for one bridge run one after the other) and nothing else in the daemon waits for them. A job is shielded from
cancellation: a cancelled caller stops waiting, but the job runs to its end (half a veth pair is worse than a late
one); its failure is then logged instead of lost.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.namespaces import Home

if TYPE_CHECKING:
    from pyroute2 import IPRoute

log = logging.getLogger(__name__)
T = TypeVar("T")


class Worker:
    def __init__(self) -> None:
        self.home = Home()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hostnet")
        self._closed = False
        self._host_ipr: IPRoute | None = None  # the host namespace's, kept between jobs (made on the worker thread)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) on the worker thread, starting from the host namespace."""
        if self._closed:
            raise HostNetError("the host networking adapter is closed")
        future = asyncio.get_running_loop().run_in_executor(self._executor, self._job, fn, args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_log_orphan_failure)
            raise

    def _job(self, fn: Callable[..., T], args: tuple) -> T:
        self.home.check()
        try:
            return fn(*args)
        except HostNetError:
            raise
        except _netlink_error() as exc:
            raise HostNetError(f"{_name(fn)}: netlink: {exc}") from exc
        except OSError as exc:
            raise HostNetError(f"{_name(fn)}: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        self._executor.submit(self._drop_host_ipr)  # on its own thread: pyroute2 closes its loop there
        self._executor.shutdown(wait=True)
        self.home.close()

    def _drop_host_ipr(self) -> None:
        if self._host_ipr is not None:
            self._host_ipr.close()
            self._host_ipr = None

    # helpers for jobs (they run on the worker thread) ------------------------------------------------------

    @contextlib.contextmanager
    def ipr(self, namespace: str | None = None) -> Iterator[IPRoute]:
        """An IPRoute bound to `namespace` (None: the host). Its socket is made inside the namespace, so it keeps
        working there after the thread has come back. The host's is kept from job to job (making one is ~0.4 ms of
        a build's tap), and dropped after a job that failed in it; a namespace's is closed after its job. pyroute2
        is imported here, by the first job that needs it (links.py says why)."""
        quiet_pyroute2()
        from pyroute2 import IPRoute

        if namespace is None:
            if self._host_ipr is None:
                self._host_ipr = IPRoute()
            try:
                yield self._host_ipr
            except BaseException:
                self._drop_host_ipr()
                raise
            return
        with self.home.inside(namespace):
            ipr = IPRoute()
        try:
            yield ipr
        finally:
            ipr.close()


def quiet_pyroute2() -> None:
    """Import pyroute2 (on first use: links.py says why), its logger no more verbose than INFO (nor than the
    daemon's own level). pyroute2's import sets its `pyroute2` logger to NOTSET (pyroute2/config/log.py), which
    undid a level set before it: under log_level DEBUG every netlink message was dumped whole into the log, each
    netlink call some 4x slower (a build's port and tap, before its guest starts). Once per process."""
    global _pyroute2_quiet
    if _pyroute2_quiet:
        return
    import pyroute2  # noqa: F401  (its logging module resets the level; set it after)

    logging.getLogger("pyroute2").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    _pyroute2_quiet = True


_pyroute2_quiet = False


class _NoNetlinkYet(Exception):
    """Stands for pyroute2's NetlinkError before pyroute2 is imported (nothing can raise it then)."""


def _netlink_error() -> type[Exception]:
    """pyroute2's NetlinkError once pyroute2 is loaded (Worker.ipr imports it), else a class nothing raises."""
    module = sys.modules.get("pyroute2.netlink.exceptions")
    return module.NetlinkError if module is not None else _NoNetlinkYet


def _log_orphan_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("host networking job failed after its caller was cancelled", exc_info=future.exception())


def _name(fn: Callable) -> str:
    return getattr(fn, "__qualname__", repr(fn))
