"""What a SIGKILLed daemon leaves inside libvirt's embedded driver, and putting it right at the next start.

Under qemu:///embed the QEMU driver lives in the daemon's process: a SIGKILL stops libvirt in the middle of its own
jobs while the QEMU processes live on. The next open finds each running QEMU again from its status XML
(<embed root>/run/qemu/<name>.xml, which also records the async job that was running) and libvirt's reconnect
(qemuProcessReconnect, one thread per domain, running beside the caller) settles some of it: a QEMU still "paused,
starting up" is killed, an interrupted managed save is cancelled and the guest's vCPUs run again, an interrupted
backup job is taken over with no owner. What it leaves (measured with libvirt 9.0, tests/integration/
test_crash_loop.py) and what `settle` does about it, once that reconnect is over:

- A restore (resume = start from the managed save) killed after QEMU loaded the saved memory but before its vCPUs
  ran: the domain stays "paused, migration" with no job, and nothing ever starts its vCPUs; a replayed resume
  found it active and waited for RUNNING in vain. The QEMU is destroyed: the managed save is still there (libvirt
  removes it only after a restore succeeded), so the replayed resume restores it again.
- A restore killed after the vCPUs ran but before libvirt removed the save file, or a managed save cancelled by
  the reconnect (its file half written): a running domain with a managed save image (read from the order of
  libvirt's steps; the kills here have not caught it). That image is stale; the next start would restore it over
  a disk that has moved on. It is removed (and a start drops any saved memory anyway, as Nova's power_on does).
- A backup job (createImage, createBackup) a running domain's status XML records: libvirt's reconnect would take
  it over with no owner, and, killed early enough, without its data: nothing ever ends it and every later start,
  managed save or backup of the domain fails with "cannot acquire state change lock", a destroy included. The
  record is dropped before the driver opens (embed.py forget_orphaned_jobs); a job libvirt still shows once open
  is aborted here.

Only for a driver the daemon owns (qemu:///embed): a shared libvirtd lives on when the daemon dies and finishes its
own jobs.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

import libvirt

from nodecompute.virt.hypervisor import Hypervisor

log = logging.getLogger(__name__)

# libvirt paused reasons of a QEMU whose start or restore (an incoming migration from the save file) never finished
UNFINISHED_START = (libvirt.VIR_DOMAIN_PAUSED_STARTING_UP, libvirt.VIR_DOMAIN_PAUSED_MIGRATION)
DESTROY, DROP_MANAGED_SAVE, ABORT_JOB = "destroy", "drop managed save", "abort job"


@dataclass(frozen=True)
class DomainSeen:
    """One domain as libvirt shows it once its reconnect is over."""

    active: bool
    state: int  # libvirt VIR_DOMAIN_* state
    reason: int  # libvirt's reason for that state
    managed_save: bool
    job: int  # libvirt VIR_DOMAIN_JOB_* type of its async job (NONE: no job)


def settle_plan(seen: DomainSeen) -> tuple[str, ...]:
    """The steps that put one domain right after a killed predecessor (module docstring), in order."""
    if not seen.active:
        return ()  # an inactive domain's managed save is a suspended server's memory: the server row decides
    if seen.state == libvirt.VIR_DOMAIN_PAUSED and seen.reason in UNFINISHED_START:
        return (DESTROY,)  # ends any job with it; the managed save stays for the replayed resume
    steps: list[str] = []
    if seen.job != libvirt.VIR_DOMAIN_JOB_NONE:
        steps.append(ABORT_JOB)
    if seen.managed_save:
        steps.append(DROP_MANAGED_SAVE)
    return tuple(steps)


def _wait_for_reconnect(dom: libvirt.virDomain) -> None:
    """Return once libvirt's reconnect of `dom` is over: memoryStats needs a query job, which waits for the
    reconnect's modify job (at most libvirt's 30 s job wait)."""
    try:
        dom.memoryStats()
    except libvirt.libvirtError as err:
        log.debug("waiting for libvirt's reconnect of %s: %s", dom.name(), err.get_error_message())


def _seen(dom: libvirt.virDomain) -> DomainSeen:
    state, reason = dom.state()
    active = bool(dom.isActive())
    job = dom.jobInfo()[0] if active else libvirt.VIR_DOMAIN_JOB_NONE
    return DomainSeen(active, state, reason, bool(dom.hasManagedSaveImage(0)), job)


def _ignoring_invalid(call) -> None:
    try:
        call()
    except libvirt.libvirtError as err:  # already off, or no job any more: nothing left to do
        if err.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
            raise


STEP_CALLS = {
    DESTROY: lambda dom: _ignoring_invalid(dom.destroy),
    ABORT_JOB: lambda dom: _ignoring_invalid(dom.abortJob),
    DROP_MANAGED_SAVE: lambda dom: dom.managedSaveRemove(0),
}


async def settle(hv: Hypervisor, name: str) -> tuple[str, ...]:
    """Put domain `name` right after a killed predecessor; the steps taken (none when nothing was left)."""
    def op(conn: libvirt.virConnect) -> tuple[str, ...]:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return ()
            raise
        if dom.isActive():
            _wait_for_reconnect(dom)
        steps = settle_plan(_seen(dom))
        for step in steps:
            STEP_CALLS[step](dom)
        return steps
    return await hv.run("settle", name, op)


async def kill_when_restore_loaded(hv: Hypervisor, name: str, give_up: float = 300.0) -> None:
    """Test hook (compute/guests.py RESTORE_LOADED): SIGKILL this process once domain `name` shows "paused,
    migration", the moment of a restore between the memory loaded and the vCPUs run. A thread polls its state
    beside the restore (libvirt's state call needs no job)."""
    def watch(conn: libvirt.virConnect) -> None:
        deadline = time.monotonic() + give_up
        while time.monotonic() < deadline:
            try:
                state = conn.lookupByName(name).state()
            except libvirt.libvirtError:
                continue
            if state == [libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION]:
                log.warning("test hook: killing the daemon during the restore of %s (memory loaded)", name)
                os.kill(os.getpid(), signal.SIGKILL)

    def start(conn: libvirt.virConnect) -> None:
        threading.Thread(target=watch, args=(conn,), name=f"crash-hook-{name}", daemon=True).start()
    await hv.run("crash hook", name, start)

