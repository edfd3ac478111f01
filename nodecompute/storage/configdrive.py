"""The config drive's image: the metadata tree (compute/metadata_documents.py builds it) mastered as ISO 9660 or
vfat.

write_iso() masters it like Nova's genisoimage call (volume id config-2, Joliet, Rock Ridge) with pycdlib; the plain
ISO 9660, Joliet and Rock Ridge names of every entry come from one layout (drive_layout()). write_vfat() is Nova's
config_drive_format=vfat: a 64 MiB FAT image labelled config-2, filled with mtools. Every failure is a
ConfigDriveError.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from nodecompute.storage.errors import StorageError

VOLUME_ID = "config-2"
VFAT_SIZE_BYTES = 64 * 1024 * 1024
_FILE_MODE, _DIR_MODE = 0o100444, 0o040555  # what genisoimage -r records
_REGULAR = 0o100000


class ConfigDriveError(StorageError):
    """Mastering the drive failed (tool missing, disk full...). Details are for the log, not the API user: the build
    that hit it records its own fault."""

    def __init__(self, *, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Failed to build the config drive: {reason}")


# --- one layout, three name sets ---------------------------------------------------------------------------

_ISO_FILE_LIMIT, _ISO_DIR_LIMIT, _JOLIET_LIMIT = 30, 31, 64  # Ecma-119 7.5.2 / 7.6.3, Joliet spec


@dataclass(frozen=True)
class DriveEntry:
    """One directory (contents None) or file of the drive, under its three names."""

    rr_path: str  # Rock Ridge, the real name: "openstack/2012-08-10/meta_data.json"
    iso_path: str  # plain ISO 9660: "/OPENSTACK/2012_08_10/META_DATA.JSON;1"
    joliet_path: str  # Joliet: "/openstack/2012-08-10/meta_data.json"
    contents: bytes | None

    @property
    def rr_name(self) -> str:
        return self.rr_path.rsplit("/", 1)[-1]


def _d_characters(text: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", text.upper())


def _numbered(stem: str, ext: str | None, limit: int, taken: set[str], render: Callable[[str, str | None], str],
              key: Callable[[str], str]) -> str:
    """render(stem, ext), with "_N" cut into the stem until its key is free in `taken`."""
    room = limit - len(ext or "")
    candidate, number = render(stem[:room], ext), 0
    while key(candidate) in taken:
        number += 1
        suffix = f"_{number}"
        candidate = render(stem[:room - len(suffix)] + suffix, ext)
    taken.add(key(candidate))
    return candidate


def _iso9660_name(name: str, is_dir: bool, taken: set[str]) -> str:
    if is_dir:
        return _numbered(_d_characters(name), None, _ISO_DIR_LIMIT, taken, lambda s, _e: s, str)
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = _d_characters(ext)[:8]
    return _numbered(_d_characters(stem), ext, _ISO_FILE_LIMIT, taken, lambda s, e: f"{s}.{e};1", str)


def _joliet_name(name: str, is_dir: bool, taken: set[str]) -> str:
    cleaned = "".join("_" if ch in '*/:;?\\' or ord(ch) > 0xFFFF or ord(ch) < 0x20 else ch for ch in name)
    stem, dot, ext = cleaned.rpartition(".")
    if is_dir or not dot or not stem:
        stem, ext = cleaned, None
    return _numbered(stem, ext and ext[:16], _JOLIET_LIMIT - (1 if ext else 0), taken,
                     lambda s, e: f"{s}.{e}" if e else s, str.casefold)


def _path_parts(path: str) -> list[str]:
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ConfigDriveError(reason=f"path {path!r} must be relative, without empty, '.' or '..' parts")
    return parts


def drive_layout(tree: Mapping[str, bytes]) -> list[DriveEntry]:
    """Directories (parents first) and files, each with its ISO 9660, Joliet and Rock Ridge path.

    Names that clash once mapped (case, d-characters, length) get a "_N" suffix, so no two entries collide in any
    namespace; the Rock Ridge names are the tree's own.
    """
    dirs: dict[str, DriveEntry] = {"": DriveEntry("", "", "", None)}
    taken: dict[str, tuple[set[str], set[str]]] = {"": (set(), set())}
    entries: list[DriveEntry] = []

    def add(parent: str, name: str, contents: bytes | None) -> DriveEntry:
        iso_taken, joliet_taken = taken[parent]
        is_dir = contents is None
        base = dirs[parent]
        entry = DriveEntry(f"{parent}/{name}".lstrip("/"),
                           f"{base.iso_path}/{_iso9660_name(name, is_dir, iso_taken)}",
                           f"{base.joliet_path}/{_joliet_name(name, is_dir, joliet_taken)}", contents)
        entries.append(entry)
        return entry

    for path in sorted(tree):
        parts, parent = _path_parts(path), ""
        for part in parts[:-1]:
            directory = f"{parent}/{part}".lstrip("/")
            if directory in tree:
                raise ConfigDriveError(reason=f"path {directory!r} is both a file and a directory")
            if directory not in dirs:
                dirs[directory] = add(parent, part, None)
                taken[directory] = (set(), set())
            parent = directory
        add(parent, parts[-1], tree[path])
    return entries


# --- writers -------------------------------------------------------------------------------------------------

def _publish(tmp: Path, dest: Path) -> None:
    """fsync tmp, rename it over dest, fsync the directory: readers see the old drive or the whole new one."""
    with tmp.open("rb+") as written:
        os.fsync(written.fileno())
    os.replace(tmp, dest)
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_atomically(dest: Path, image: bytes | memoryview) -> None:
    """Write `image` through a temp file in dest's directory (mode 0600), then _publish: never a half drive at
    dest."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(image)
        _publish(Path(tmp_name), dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_iso(tree: Mapping[str, bytes], dest: Path, *, publisher: str = "",
              file_modes: Mapping[str, int] | None = None) -> None:
    """Master `tree` as ISO 9660 (interchange level 4) + Joliet level 3 + Rock Ridge 1.09, volume id config-2.
    Files are r--r--r-- (genisoimage -r) but those `file_modes` names (path -> permission bits, the Cyclades
    personality `mode`), which Rock Ridge records as given.

    The file is created mode 0600 (it may hold admin_pass and user_data); libvirt's dynamic ownership hands it to
    the QEMU user."""
    import pycdlib  # here, not at the top: the idle daemon need not hold its modules (issue 22, RSS)

    modes = file_modes or {}
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_ID, pub_ident_str=publisher)
    try:
        for entry in drive_layout(tree):
            if entry.contents is None:
                iso.add_directory(entry.iso_path, rr_name=entry.rr_name, joliet_path=entry.joliet_path,
                                  file_mode=_DIR_MODE)
            else:
                iso.add_fp(io.BytesIO(entry.contents), len(entry.contents), entry.iso_path,
                           rr_name=entry.rr_name, joliet_path=entry.joliet_path,
                           file_mode=_REGULAR | modes[entry.rr_path] if entry.rr_path in modes else _FILE_MODE)
        image = io.BytesIO()  # pycdlib seeks and writes record by record: in memory, then one write to the file
        iso.write_fp(image)
        _write_atomically(Path(dest), image.getbuffer())
    except (pycdlib.pycdlibexception.PyCdlibException, OSError) as exc:
        raise ConfigDriveError(reason=str(exc)) from exc
    finally:
        iso.close()


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise ConfigDriveError(reason=f"{name} not found (install dosfstools and mtools)")
    return found


def _run(argv: list[str]) -> None:
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise ConfigDriveError(reason=f"{Path(argv[0]).name} exited {result.returncode}: {detail}")


def is_vfat(path: Path) -> bool:
    """Whether the drive at `path` is a FAT image (write_vfat's) rather than ISO 9660: its boot sector's signature
    and file system type. A missing drive is not."""
    try:
        with open(path, "rb") as drive:
            boot = drive.read(512)
    except OSError:
        return False
    return len(boot) == 512 and boot[510:512] == b"\x55\xaa" and b"FAT" in (boot[54:62] + boot[82:90])


def write_vfat(tree: Mapping[str, bytes], dest: Path) -> None:
    """Nova's config_drive_format=vfat: a 64 MiB FAT image labelled config-2 (mkfs.vfat + mcopy, no mount),
    built beside dest and renamed over it (mode 0600, like write_iso)."""
    layout, dest = drive_layout(tree), Path(dest)
    folded = {entry.rr_path.casefold() for entry in layout}
    if len(folded) != len(layout):
        raise ConfigDriveError(reason="paths differ only in case; FAT cannot hold them")
    mkfs, mcopy = _tool("mkfs.vfat"), _tool("mcopy")
    try:
        with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", dir=dest.parent) as work:
            stage, image = Path(work) / "tree", Path(work) / "drive.vfat"
            stage.mkdir()
            for entry in layout:
                if entry.contents is None:
                    (stage / entry.rr_path).mkdir()
                else:
                    (stage / entry.rr_path).write_bytes(entry.contents)
            _run([mkfs, "-n", VOLUME_ID, "-C", str(image), str(VFAT_SIZE_BYTES // 1024)])
            top_level = sorted(str(child) for child in stage.iterdir())
            if top_level:
                _run([mcopy, "-s", "-i", str(image), *top_level, "::/"])
            image.chmod(0o600)
            _publish(image, dest)
    except OSError as exc:
        raise ConfigDriveError(reason=str(exc)) from exc
