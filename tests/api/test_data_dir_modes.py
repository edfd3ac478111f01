"""State and secrets under the data directory are the daemon user's alone: files 0600, directories 0700, whatever
the umask, and an existing data directory is tightened at start (nodecompute.filemodes)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nodecompute import filemodes
from nodecompute.api.keys import servers_key
from nodecompute.app import create_app
from nodecompute.db import servers as servers_db
from nodecompute.virt.console import trim_console_log
from tests.api.helpers import Api
from tests.api.test_images import Glance, make_disk


@pytest.fixture
def umask_022():
    """The README's quick start from an ordinary shell. The app is created without `nodecompute`'s main(), which
    would set umask 077 itself, so these tests see only the explicit modes."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, str]:
    """Every entry under root (root included) -> its permission bits, octal."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def not_private(root: Path) -> dict[str, str]:
    return {name: mode for name, mode in modes(root).items()
            if mode != ("0o700" if (root / name).is_dir() else "0o600")}


async def test_state_is_private_after_start_import_and_create(umask_022, aiohttp_client, cfg, tmp_path):
    client = await aiohttp_client(create_app(cfg))
    api = Api(client)
    try:
        admin = await api.token("admin", "admin-secret", "admin")
        gl = Glance(api)
        image = await gl.create(admin, name="guest", disk_format="qcow2", visibility="public")
        await gl.upload(admin, image["id"], make_disk(tmp_path / "guest.qcow2"))
        resp = await api.post("/flavors", admin, json={"flavor": {
            "name": "disks", "ram": 128, "vcpus": 1, "disk": 1, "OS-FLV-EXT-DATA:ephemeral": 1, "swap": 16}})
        flavor = (await resp.json())["flavor"]
        resp = await api.post("/servers", admin, json={"server": {
            "name": "vm", "imageRef": image["id"], "flavorRef": flavor["id"], "user_data": "c2VjcmV0"}})
        assert resp.status == 202, await resp.text()
        server_id = (await resp.json())["server"]["id"]
        service = client.server.app[servers_key]
        await service.wait_idle()
        inst = cfg.instances_dir / server_id
        names = {p.name for p in inst.iterdir()}
        assert {"disk", "disk.local", "disk.swap", "disk.config", "console.log"} <= names, names
        log = inst / "console.log"
        log.write_bytes(b"x" * 200_000)
        assert trim_console_log(log, 65536) > 0  # makes console.log.0
        found = modes(cfg.data_dir)
        assert {"nodecompute.db", "nodecompute.db-wal", "nodecompute.db-shm", "clouds.yaml", "images",
                f"instances/{server_id}/console.log.0", "instances/_base"} <= set(found)
        assert not_private(cfg.data_dir) == {}
    finally:
        # test:///default is shared by the whole process and names domains by serial: leave no domain behind.
        service = client.server.app[servers_key]
        await service.wait_idle()
        for server in service.store.read(servers_db.list_all_live):
            await service.guests.destroy(server.uuid, server.instance_name)


async def test_an_open_data_dir_is_tightened_at_start(umask_022, aiohttp_client, cfg, tmp_path):
    data = cfg.data_dir
    outside = tmp_path / "outside"
    outside.write_text("not under the data dir")
    outside.chmod(0o644)
    data.chmod(0o755)
    for name in ("images", "instances/1234/", "instances/_base", "libvirt/etc", "libvirt/run/qemu"):
        (data / name).mkdir(parents=True, mode=0o755)
    for name in ("nodecompute.db", "clouds.yaml", "images/abc", "instances/1234/console.log", "instances/1234/disk",
                 "libvirt/etc/qemu.conf", "libvirt/run/qemu/x.pid"):
        (data / name).write_bytes(b"")
        (data / name).chmod(0o644)
    (data / "nodecompute.db").unlink()  # an empty file is not a database; let the app make a real one
    (data / "instances/1234/disk.local").symlink_to(outside)
    (data / "notes.txt").write_text("the operator's own")
    os.chmod(data / "notes.txt", 0o644)
    (data / "instances/1234/run.sh").write_text("#!/bin/sh\n")
    os.chmod(data / "instances/1234/run.sh", 0o755)

    await aiohttp_client(create_app(cfg, with_servers=False))
    found = not_private(data)
    assert found == {"notes.txt": "0o644", "instances/1234/disk.local": "0o777"}  # not ours; a link is not followed
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644


async def test_under_system_the_guest_path_is_opened_to_libvirt_qemu_at_start(aiohttp_client, cfg, monkeypatch):
    """Before the first build: a private instances/_base made by that build would keep libvirt-qemu from the base."""
    gid = 4242 if os.geteuid() == 0 else os.getgid()
    monkeypatch.setattr(filemodes, "guest_dir_access", lambda uri: filemodes.DirAccess(0o750, gid))
    await aiohttp_client(create_app(cfg))
    for path in (cfg.data_dir, cfg.instances_dir, cfg.instances_dir / "_base"):
        assert (stat.S_IMODE(path.stat().st_mode), path.stat().st_gid) == (0o750, gid), path
    assert not_private(cfg.data_dir) == {".": "0o750", "instances": "0o750", "instances/_base": "0o750"}
