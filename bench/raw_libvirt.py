"""The raw side of the boot benchmarks (bench/boot.py, boot_nic.py, actions.py, attachments.py): a server's domain
XML captured from the daemon, then defined and started by this process in another embedded driver of its own
(`qemu:///embed?root=<short /tmp dir>`, libvirt's default event loop on a thread), on its own disks.

The embedded driver in this process logs to stderr (taint and XATTR warnings, dmidecode errors); it reads where to
when libvirt is imported, so importing this module points the log at a file in the bench's temp dir (TMP) unless
LIBVIRT_LOG_OUTPUTS is set: import it (or bench.boot) before anything that imports libvirt.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="nc-bench-boot-"))
OWN_LIBVIRT_LOG = "LIBVIRT_LOG_OUTPUTS" not in os.environ
os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", f"3:file:{TMP / 'libvirt-raw.log'}")
import libvirt  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nodecompute.virt.embed import ensure_qemu_conf  # noqa: E402
from bench.daemon_util import Daemon, qemu_pids_under  # noqa: E402

BOOT_TIMEOUT = 180.0


@dataclass
class Captured:
    xml: str  # the persistent domain XML as libvirt stored it for the daemon
    name: str
    uuid: str
    virt_type: str
    instance_dir: Path
    base: Path  # hard link to the daemon's cached base (same inode)
    base_format: str
    root_bytes: int
    config_drive: Path  # copy


def capture(daemon: Daemon, server_id: str, into: Path) -> Captured:
    """While the first server exists: its domain XML, a copy of its config drive, a link to its base image."""
    # the embedded driver keeps persistent definitions in <root>/etc/qemu (libvirtd: /etc/libvirt/qemu)
    xmls = sorted(daemon.libvirt_root.glob("etc/qemu/instance-*.xml")) \
        + sorted(daemon.libvirt_root.glob("etc/libvirt/qemu/instance-*.xml"))
    if len(xmls) != 1:
        raise RuntimeError(f"expected one persisted domain under {daemon.libvirt_root}/etc, found {xmls}")
    xml = xmls[0].read_text()
    instance_dir = daemon.data_dir / "instances" / server_id
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(instance_dir / "disk")],
        check=True, capture_output=True, text=True).stdout)
    backing = Path(info["full-backing-filename"])
    base = into / "base"
    try:
        os.link(backing, base)
    except OSError:
        shutil.copyfile(backing, base)
    drive = into / "disk.config.orig"
    shutil.copyfile(instance_dir / "disk.config", drive)
    root = ET.fromstring(xml)
    return Captured(xml=xml, name=root.findtext("name"), uuid=root.findtext("uuid"), virt_type=root.get("type", "?"),
                    instance_dir=instance_dir, base=base, base_format=info.get("backing-filename-format", "qcow2"),
                    root_bytes=int(info["virtual-size"]), config_drive=drive)


# ----- the raw driver ------------------------------------------------------------------------------------------


class RawLibvirt:
    """Our own embedded QEMU driver (a different root from the daemon's), with libvirt's default event loop.

    Slot 0 runs the captured XML as it is (only the instance directory moved to our own copies); slots 1.. (the raw
    burst) get their own name, UUID and directory."""

    def __init__(self, root: Path, work: Path, captured: Captured) -> None:
        self.root = root
        self.work = work
        self.captured = captured
        self.uri = f"qemu:///embed?root={root}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer: int | None = None
        self.conn: libvirt.virConnect | None = None
        self.doms: dict[int, libvirt.virDomain] = {}

    def open(self) -> None:
        ensure_qemu_conf(self.root)
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        libvirt.virEventRegisterDefaultImpl()
        # a periodic no-op timer wakes the loop, so the thread notices _stop
        self._timer = libvirt.virEventAddTimeout(100, lambda _timer, _opaque: None, None)
        self._thread = threading.Thread(target=self._run_loop, name="libvirt-events", daemon=True)
        self._thread.start()
        self.conn = libvirt.open(self.uri)
        self.conn.getCapabilities()  # probes (and caches) QEMU's capabilities before anything is timed

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            libvirt.virEventRunDefaultImpl()

    def _slot_dir(self, slot: int) -> Path:
        return self.work / f"slot{slot}"

    def _xml(self, slot: int) -> str:
        cap = self.captured
        xml = cap.xml.replace(str(cap.instance_dir), str(self._slot_dir(slot)))
        if str(cap.instance_dir) in xml or str(cap.instance_dir.parent) in xml:
            raise RuntimeError("the captured XML still names the daemon's files:\n" + xml)
        if slot:
            xml = xml.replace(cap.uuid, str(uuidlib.uuid4())).replace(
                f"<name>{cap.name}</name>", f"<name>{cap.name}-raw{slot}</name>")
        return xml

    def prepare(self, slot: int = 0) -> str:
        """Untimed: a fresh overlay on the base, a fresh copy of the config drive, an empty console log."""
        work = self._slot_dir(slot)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(self.captured.base),
                        "-F", self.captured.base_format, str(work / "disk"), str(self.captured.root_bytes)],
                       check=True)
        shutil.copyfile(self.captured.config_drive, work / "disk.config")
        (work / "console.log").touch()
        return self._xml(slot)

    def boot(self, xml: str, slot: int = 0) -> float:
        """Timed: defineXML + create until the domain state is RUNNING."""
        assert self.conn is not None
        start = time.perf_counter()
        dom = self.doms[slot] = self.conn.defineXML(xml)
        dom.create()
        while dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
            if time.perf_counter() - start > BOOT_TIMEOUT:
                raise TimeoutError(f"raw domain {dom.name()} not RUNNING")
            time.sleep(0.001)
        return time.perf_counter() - start

    def burst(self, count: int) -> tuple[float, list[float]]:
        """`count` define+start at once, one thread each: (wall until all RUNNING, each one's own time)."""
        xmls = [self.prepare(slot) for slot in range(1, count + 1)]
        gate = threading.Barrier(count + 1)
        times: list[float] = []
        errors: list[BaseException] = []

        def one(slot: int, xml: str) -> None:
            gate.wait()
            try:
                times.append(self.boot(xml, slot))
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(slot, xml)) for slot, xml in enumerate(xmls, 1)]
        for thread in threads:
            thread.start()
        start = time.perf_counter()
        gate.wait()
        for thread in threads:
            thread.join(BOOT_TIMEOUT)
        wall = time.perf_counter() - start
        if errors:
            raise errors[0]
        return wall, sorted(times)

    def remove(self) -> None:
        """Untimed: destroy and undefine every domain we started."""
        for slot, dom in list(self.doms.items()):
            try:
                if dom.isActive():
                    dom.destroy()
            except libvirt.libvirtError:
                pass
            try:
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            except libvirt.libvirtError:
                pass
            del self.doms[slot]

    def versions(self) -> str:
        assert self.conn is not None

        def dotted(v: int) -> str:
            return f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}"
        return f"libvirt {dotted(self.conn.getLibVersion())}, QEMU {dotted(self.conn.getVersion())}"

    def close(self) -> None:
        self.remove()
        if self.conn is not None:
            for dom in self.conn.listAllDomains(0):  # anything left by an interrupted run
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom.undefine()
                except libvirt.libvirtError:
                    pass
            self.conn.close()
            self.conn = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._timer is not None:
            libvirt.virEventRemoveTimeout(self._timer)
        kill_qemu_under(self.root)


def kill_qemu_under(root: Path) -> None:
    """SIGKILL any QEMU whose command line names `root` (only after an interrupted run is there any)."""
    for pid in qemu_pids_under(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
