"""virt/leftovers.py's plan: what start-up settling does to a domain a SIGKILLed daemon left (each case is a state
measured with libvirt 9.0 under qemu:///embed; tests/integration/test_crash_loop.py kills into the first one)."""
from __future__ import annotations

import libvirt
import pytest

from nodecompute.virt.leftovers import ABORT_JOB, DESTROY, DROP_MANAGED_SAVE, DomainSeen, settle_plan

RUNNING, PAUSED, SHUTOFF = libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_SHUTOFF
NO_JOB, JOB = libvirt.VIR_DOMAIN_JOB_NONE, libvirt.VIR_DOMAIN_JOB_UNBOUNDED


@pytest.mark.parametrize("seen, plan", [
    # a restore killed once the memory was loaded: paused, reason migration; the managed save stays for the replay
    (DomainSeen(True, PAUSED, libvirt.VIR_DOMAIN_PAUSED_MIGRATION, True, NO_JOB), (DESTROY,)),
    # a start libvirt's reconnect has not killed yet
    (DomainSeen(True, PAUSED, libvirt.VIR_DOMAIN_PAUSED_STARTING_UP, True, NO_JOB), (DESTROY,)),
    # a restore killed after its vCPUs ran, before the save file was removed; a cancelled managed save's file
    (DomainSeen(True, RUNNING, libvirt.VIR_DOMAIN_RUNNING_RESTORED, True, NO_JOB), (DROP_MANAGED_SAVE,)),
    (DomainSeen(True, RUNNING, libvirt.VIR_DOMAIN_RUNNING_SAVE_CANCELED, True, NO_JOB), (DROP_MANAGED_SAVE,)),
    # a backup job (createImage) the reconnect took over with no owner
    (DomainSeen(True, RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED, False, JOB), (ABORT_JOB,)),
    (DomainSeen(True, PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER, True, JOB), (ABORT_JOB, DROP_MANAGED_SAVE)),
    # nothing left: a running guest, a guest paused by its user, a suspended one (its memory is the server's)
    (DomainSeen(True, RUNNING, libvirt.VIR_DOMAIN_RUNNING_BOOTED, False, NO_JOB), ()),
    (DomainSeen(True, PAUSED, libvirt.VIR_DOMAIN_PAUSED_USER, False, NO_JOB), ()),
    (DomainSeen(False, SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_SAVED, True, NO_JOB), ()),
])
def test_settle_plan(seen, plan):
    assert settle_plan(seen) == plan
