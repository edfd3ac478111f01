"""The artifacts a failed real-guest test keeps (artifacts.py), on a daemon that is never started: only files."""
from __future__ import annotations

from tests.integration.artifacts import artifact_dir, keep_artifacts
from tests.integration.daemon import Daemon


def test_logs_domain_xml_and_console_logs_are_copied(tmp_path):
    (tmp_path / "data").mkdir()
    daemon = Daemon(tmp_path / "data")
    try:
        daemon.log_path.write_text("daemon log\n")
        for rel in ("etc/qemu/instance-1.xml", "run/qemu/instance-1.xml", "log/qemu/instance-1.log"):
            (daemon.libvirt_root / rel).parent.mkdir(parents=True, exist_ok=True)
            (daemon.libvirt_root / rel).write_text(rel)
        console = daemon.data_dir / "instances" / "uuid-1" / "console.log"
        console.parent.mkdir(parents=True)
        console.write_text("NCGUEST ready\n")
        dest = artifact_dir(tmp_path / "basetemp", "tests/integration/test_x.py::test_y[a/b]-call")
        assert dest == tmp_path / "basetemp" / "artifacts" / "tests_integration_test_x.py_test_y_a_b_-call"
        copied = keep_artifacts([daemon], dest)
        names = sorted(str(path.relative_to(dest / "data")) for path in copied)
        assert names == ["daemon.log", "etc/qemu/instance-1.xml", "instances/uuid-1/console.log",
                         "log/qemu/instance-1.log", "nodecompute.toml", "run/qemu/instance-1.xml"]
        assert (dest / "data" / "instances" / "uuid-1" / "console.log").read_text() == "NCGUEST ready\n"
    finally:
        daemon.close()
    assert not daemon.libvirt_root.exists() and daemon not in Daemon.opened
