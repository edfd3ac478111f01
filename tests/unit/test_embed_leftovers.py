"""virt/embed.py forget_orphaned_jobs: the backup job record a killed daemon left in a running domain's libvirt
status XML is dropped before the embedded driver opens; every other line, and other jobs, stay."""
from __future__ import annotations

from nodecompute.virt.embed import forget_orphaned_jobs

STATUS = """<domstatus state='running' reason='booted' pid='4242'>
  <taint flag='high-privileges'/>
  <monitor path='/tmp/x/monitor.sock' type='unix'/>
  <job type='none' async='{job}' flags='0x0' asyncStarted='1796371327547'/>
  <domain type='qemu'><name>{name}</name></domain>
</domstatus>
"""


def test_only_backup_jobs_are_dropped(tmp_path):
    run = tmp_path / "run" / "qemu"
    run.mkdir(parents=True)
    (run / "instance-00000001.xml").write_text(STATUS.format(job="backup", name="instance-00000001"))
    (run / "instance-00000002.xml").write_text(STATUS.format(job="save", name="instance-00000002"))
    (run / "instance-00000003.xml").write_text("<domstatus state='running' reason='booted' pid='1'/>\n")

    assert forget_orphaned_jobs(tmp_path) == ["instance-00000001"]
    assert (run / "instance-00000001.xml").read_text() == \
        STATUS.format(job="backup", name="instance-00000001").replace(
            "\n  <job type='none' async='backup' flags='0x0' asyncStarted='1796371327547'/>", "")
    assert "async='save'" in (run / "instance-00000002.xml").read_text()
    assert forget_orphaned_jobs(tmp_path) == []  # nothing left to drop


def test_no_status_directory(tmp_path):
    assert forget_orphaned_jobs(tmp_path) == []
