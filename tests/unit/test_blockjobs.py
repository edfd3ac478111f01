"""The failure paths of virt/blockjobs.py and disk_devices.detach_disk that a real guest does not produce on demand
(a job that never ends, one that fails, a mirror that never gets ready, a guest that lets go of a disk only when
asked again), on a scripted libvirt domain. The real paths run on a real guest
in tests/integration/test_blockjobs.py."""
from __future__ import annotations

from pathlib import Path

import libvirt
import pytest

from nodecompute.virt import blockjobs, disk_devices
from nodecompute.virt.errors import BlockJobFailed, DeviceStillAttached, DomainNotRunning

RUNNING = {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "operation": libvirt.VIR_DOMAIN_JOB_OPERATION_BACKUP}
NONE = {"type": libvirt.VIR_DOMAIN_JOB_NONE}


class ScriptedDomain:
    """Just enough of virDomain: a running domain with disk vda whose jobs do what the test says."""

    def __init__(self, workdir: Path, *, finishes_with: dict | None = None, mirror_ready: bool = False) -> None:
        self.workdir = workdir
        self.finishes_with = finishes_with  # None: the job never ends
        self.mirror_ready = mirror_ready
        self.active = True
        self.job_running = False
        self.calls: list[str] = []
        self.source = str(workdir / "disk")

    def name(self) -> str:
        return "instance-1"

    def isActive(self) -> int:
        return int(self.active)

    def XMLDesc(self, flags: int = 0) -> str:
        mirror = "<mirror ready='yes'/>" if self.job_running and self.mirror_ready else ""
        return (f"<domain><devices><disk type='file' device='disk'><source file='{self.source}'/>"
                f"<target dev='vda' bus='virtio'/>{mirror}</disk></devices></domain>")

    def backupBegin(self, xml: str, checkpoint: str | None, flags: int) -> None:
        self.calls.append("backupBegin")
        partial = xml.split("target file=\"")[1].split("\"")[0]
        Path(partial).write_bytes(b"half a disk")  # what the job writes before it ends
        self.job_running = True

    def jobStats(self, flags: int = 0) -> dict:
        if flags & libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED:
            return dict(self.finishes_with) if self.finishes_with and not self.job_running else NONE
        if self.job_running and self.finishes_with is not None:
            self.job_running = False  # ends at the first look
        return RUNNING if self.job_running else NONE

    def abortJob(self) -> None:
        self.calls.append("abortJob")
        if not self.job_running:
            raise libvirt.libvirtError("no job")  # as libvirt: VIR_ERR_OPERATION_INVALID
        self.job_running = False

    def blockCopy(self, disk: str, xml: str, params: object, flags: int) -> None:
        self.calls.append(f"blockCopy {flags}")
        Path(xml.split("source file=\"")[1].split("\"")[0]).write_bytes(b"half a copy")
        self.job_running = True

    def blockJobInfo(self, disk: str, flags: int) -> dict:
        return {"type": 2, "cur": 1, "end": 2} if self.job_running else {}

    def blockJobAbort(self, disk: str, flags: int) -> None:
        self.calls.append(f"blockJobAbort {flags}")
        self.job_running = False


class ScriptedHypervisor:
    def __init__(self, dom: ScriptedDomain) -> None:
        self.dom = dom

    def lookupByName(self, name: str) -> ScriptedDomain:
        return self.dom

    async def _run(self, action, name, op):
        return op(self)


@pytest.fixture(autouse=True)
def _no_operation_invalid(monkeypatch):
    """libvirtError() built by hand carries no code: make the scripted "no job" read as OPERATION_INVALID."""
    monkeypatch.setattr(libvirt.libvirtError, "get_error_code", lambda self: libvirt.VIR_ERR_OPERATION_INVALID)


async def test_a_backup_that_never_ends_is_aborted_and_its_file_removed(tmp_path):
    dom = ScriptedDomain(tmp_path)
    with pytest.raises(BlockJobFailed, match="backup of instance-1: not finished after 0.3 s"):
        await blockjobs.backup_disk(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "snap",
                                    timeout=0.3, poll_seconds=0.05)
    assert dom.calls == ["backupBegin", "abortJob"]
    assert list(tmp_path.iterdir()) == []


async def test_a_failed_backup_says_why_and_leaves_no_file(tmp_path):
    failed = {"type": libvirt.VIR_DOMAIN_JOB_FAILED, "success": False, "errmsg": "No space left on device"}
    dom = ScriptedDomain(tmp_path, finishes_with=failed)
    with pytest.raises(BlockJobFailed, match="backup of instance-1 failed: No space left on device"):
        await blockjobs.backup_disk(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "snap")
    assert list(tmp_path.iterdir()) == []


async def test_a_finished_backup_is_published_private(tmp_path):
    done = {"type": libvirt.VIR_DOMAIN_JOB_COMPLETED, "success": True}
    dom = ScriptedDomain(tmp_path, finishes_with=done)
    await blockjobs.backup_disk(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "snap")
    assert [entry.name for entry in tmp_path.iterdir()] == ["snap"]
    assert (tmp_path / "snap").stat().st_mode & 0o777 == 0o600
    with pytest.raises(blockjobs.HypervisorError, match="exists already"):
        await blockjobs.backup_disk(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "snap")


async def test_a_stopped_domain_has_no_backup_job(tmp_path):
    dom = ScriptedDomain(tmp_path)
    dom.active = False
    with pytest.raises(DomainNotRunning):
        await blockjobs.backup_disk(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "snap")
    assert dom.calls == [] and list(tmp_path.iterdir()) == []


async def test_a_mirror_that_never_gets_ready_is_aborted_without_pivot(tmp_path):
    dom = ScriptedDomain(tmp_path)
    with pytest.raises(BlockJobFailed, match="not ready after 0.3 s"):
        await blockjobs.copy_disk_and_pivot(ScriptedHypervisor(dom), "instance-1", "vda", tmp_path / "new",
                                            timeout=0.3, poll_seconds=0.05)
    assert dom.calls == [f"blockCopy {libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB}", "blockJobAbort 0"]
    assert dom.source == str(tmp_path / "disk")
    assert list(tmp_path.iterdir()) == []  # the copy made the file, so it is removed


async def test_a_failed_copy_into_an_existing_volume_keeps_the_volume(tmp_path):
    existing = tmp_path / "volume-new"
    existing.write_bytes(b"a volume made beforehand")
    dom = ScriptedDomain(tmp_path)
    with pytest.raises(BlockJobFailed):
        await blockjobs.copy_disk_and_pivot(ScriptedHypervisor(dom), "instance-1", "vda", existing,
                                            timeout=0.1, poll_seconds=0.05)
    flags = libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB | libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
    assert dom.calls == [f"blockCopy {flags}", "blockJobAbort 0"]
    assert existing.exists()  # not ours to remove


class UnplugDomain:
    """A running domain with a volume on vdb whose guest lets go after `release_after` unplug requests."""

    def __init__(self, release_after: int | None) -> None:
        self.release_after = release_after  # None: never
        self.requests = 0
        self.live = True
        self.defined = True

    def isActive(self) -> int:
        return 1

    def XMLDesc(self, flags: int = 0) -> str:
        has = self.defined if flags & libvirt.VIR_DOMAIN_XML_INACTIVE else self.live
        disk = "<disk type='file'><source file='/v'/><target dev='vdb' bus='virtio'/></disk>" if has else ""
        root = "<disk type='file'><source file='/r'/><target dev='vda'/></disk>"
        return f"<domain><devices>{root}{disk}</devices></domain>"

    def detachDeviceFlags(self, xml: str, flags: int) -> None:
        assert "dev=\"vdb\"" in xml
        if flags == libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.defined = False
            return
        assert flags == libvirt.VIR_DOMAIN_AFFECT_LIVE
        self.requests += 1
        if self.release_after is not None and self.requests >= self.release_after:
            self.live = False


async def test_unplug_is_asked_again_until_the_guest_lets_go():
    dom = UnplugDomain(release_after=3)
    await disk_devices.detach_disk(ScriptedHypervisor(dom), "instance-1", "vdb", attempts=4, wait_seconds=0.05,
                                   poll_seconds=0.01)
    assert (dom.requests, dom.live, dom.defined) == (3, False, False)


async def test_a_guest_that_never_lets_go_keeps_the_disk_in_both_definitions():
    dom = UnplugDomain(release_after=None)
    with pytest.raises(DeviceStillAttached) as caught:
        await disk_devices.detach_disk(ScriptedHypervisor(dom), "instance-1", "vdb", attempts=3, wait_seconds=0.05,
                                       poll_seconds=0.01)
    assert str(caught.value) == ("Device detach failed for vdb: the guest did not release it after 3 attempts of "
                                 "0.05 s; it is still attached")
    assert (dom.requests, dom.live, dom.defined) == (3, True, True)
