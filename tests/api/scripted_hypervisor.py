"""A scripted hypervisor: the real Hypervisor (on libvirt's test:///default in tests/api) whose libvirt calls can be
scripted per action, inside the worker thread where the real call runs, so a test sees what the daemon does while
a call is in flight.

Actions are the names Hypervisor._run gives its calls: "define", "start", "destroy", "undefine", "shutdown",
"power_state", "domain_id", "list", "xml". Each scripted step applies to the next call of its action, in order.

- `hold(action)`: the call blocks in its worker thread, before reaching libvirt, until `release()`.
- `fail(action, message, code=VIR_ERR_INTERNAL_ERROR)`: the call raises a libvirtError with that code and message
  in its worker thread instead of reaching libvirt, so the daemon sees exactly what libvirt's failure looks like
  (Hypervisor turns it into HypervisorError or, for VIR_ERR_NO_DOMAIN, DomainNotFound).
- `calls`: every action name called, in order (scripted or not), for tests that check what was tried.

Hand it to the app with `create_app(cfg, hypervisor_factory=ScriptedHypervisor.for_config)`; the app's instance is
`app[servers_key].guests.hv`.
"""
from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, TypeVar

import libvirt

from nodecompute.config import Config
from nodecompute.virt.hypervisor import Hypervisor

T = TypeVar("T")
HOLD_LIMIT = 30.0  # seconds a held call waits for its release before failing (a test that forgot it)


class Hold:
    """One held call: `reached` once it blocks in its thread, `finished` once the real call has returned or raised."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.reached = threading.Event()
        self.finished = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def run(self, call: Callable[[], T]) -> T:
        """In the worker thread: wait for the release, then make the real call."""
        self.reached.set()
        try:
            if not self._released.wait(HOLD_LIMIT):
                raise RuntimeError(f"held {self.action} call was never released")
            return call()
        finally:
            self.finished.set()

    async def wait_reached(self, timeout: float = 10.0) -> None:
        assert await asyncio.to_thread(self.reached.wait, timeout), f"no {self.action} call within {timeout}s"

    async def wait_finished(self, timeout: float = 10.0) -> None:
        assert await asyncio.to_thread(self.finished.wait, timeout), f"{self.action} call not done in {timeout}s"


class ScriptedLibvirtError(libvirt.libvirtError):
    """A libvirtError with the code and message a test chose (a real one reads them from libvirt's last error)."""

    def __init__(self, message: str, code: int) -> None:
        Exception.__init__(self, message)
        self.err = (code, libvirt.VIR_FROM_DOMAIN, message, libvirt.VIR_ERR_ERROR, None, None, None, 0, 0)


class Fail:
    """One failed call: raises in the worker thread, where libvirt would have."""

    def __init__(self, action: str, message: str, code: int) -> None:
        self.action = action
        self.message = message
        self.code = code
        self.raised = threading.Event()

    def run(self, call: Callable[[], T]) -> T:
        self.raised.set()
        raise ScriptedLibvirtError(self.message, self.code)


class ScriptedHypervisor(Hypervisor):
    def __init__(self, uri: str, **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._script: defaultdict[str, deque[Hold | Fail]] = defaultdict(deque)
        self.calls: list[str] = []

    @classmethod
    def for_config(cls, cfg: Config) -> "ScriptedHypervisor":
        return cls(cfg.libvirt_uri, virt_type=cfg.compute.virt_type)

    def hold(self, action: str) -> Hold:
        step = Hold(action)
        self._script[action].append(step)
        return step

    def fail(self, action: str, message: str = "scripted failure",
             code: int = libvirt.VIR_ERR_INTERNAL_ERROR) -> Fail:
        step = Fail(action, message, code)
        self._script[action].append(step)
        return step

    async def _run(self, action: str, name: str, op: Callable[[Any], T]) -> T:
        self.calls.append(action)
        steps = self._script.get(action)
        if not steps:
            return await super()._run(action, name, op)
        step = steps.popleft()
        return await super()._run(action, name, lambda conn: step.run(lambda: op(conn)))
