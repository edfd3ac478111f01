"""Helpers of the block storage API tests: a client of the /volume face checked against Cinder's record, images
with known content, and waiting for the background work to end."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from nodecompute.api.keys import block_storage_key, identity_key, images_key
from tests.api.helpers import Api, assert_fault
from tests.cinder_oracle import validate_cinder

MiB = 1 << 20


class Cinder:
    """One caller of /volume/<root>/<project>: every 2xx answer of an operation Tempest knows is checked against
    its Cinder schema."""

    def __init__(self, api: Api, token: str, root: str = "/volume/v3", with_project: bool = True) -> None:
        self.api = api
        self.token = token
        self.ctx = api.client.server.app[identity_key].validate(token)
        self.project_id = self.ctx.project_id
        self.root = root + (f"/{self.project_id}" if with_project else "")

    @property
    def app(self):
        return self.api.client.server.app

    async def request(self, method: str, path: str, *, check: str | None = None, **kw):
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        resp = await self.api.client.request(method, self.root + path, headers=headers, **kw)
        if check is not None and resp.status < 300:
            body = await resp.json() if resp.content_length else None
            validate_cinder(method, check, resp.status, body)
        return resp

    async def ok(self, method: str, path: str, status: int, *, check: str | None = None, **kw) -> Any:
        resp = await self.request(method, path, check=check, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length else None

    async def fault(self, method: str, path: str, code: int, message: str | None = None, **kw) -> dict:
        return await assert_fault(await self.request(method, path, **kw), code, message=message)

    async def idle(self) -> None:
        await self.app[block_storage_key].wait_idle()

    async def create(self, **fields: Any) -> dict:
        """A volume made and waited for; returns its show body."""
        body = await self.ok("POST", "/volumes", 202, check="/volumes", json={"volume": {"size": 1, **fields}})
        await self.idle()
        return await self.show(body["volume"]["id"])

    async def show(self, volume_id: str) -> dict:
        return (await self.ok("GET", f"/volumes/{volume_id}", 200, check="/volumes/{id}"))["volume"]

    async def snapshot(self, volume_id: str, **fields: Any) -> dict:
        body = await self.ok("POST", "/snapshots", 202, check="/snapshots",
                             json={"snapshot": {"volume_id": volume_id, **fields}})
        await self.idle()
        return (await self.ok("GET", f"/snapshots/{body['snapshot']['id']}", 200,
                              check="/snapshots/{id}"))["snapshot"]

    def volume_file(self, volume_id: str) -> Path:
        return self.app[block_storage_key].volumes.files.volume_path(volume_id)

    def snapshot_file(self, snapshot_id: str) -> Path:
        return self.app[block_storage_key].volumes.files.snapshot_path(snapshot_id)

    def files(self) -> list[str]:
        directory = self.app[block_storage_key].volumes.files.volumes_dir
        return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def qemu_io(path: Path, fmt: str, command: str) -> str:
    return subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], check=True, capture_output=True,
                          text=True).stdout


def make_qcow2(path: Path, size: str = "64M", pattern: int = 0x5A) -> Path:
    """A qcow2 with one MiB of `pattern` at 1 MiB and another at the last MiB (so a copy must carry both)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    qemu_io(path, "qcow2", f"write -P {pattern} 1M 1M")
    qemu_io(path, "qcow2", f"write -P {pattern + 1} {int(size[:-1]) - 1}M 1M")
    return path


def compare(first: Path, second: Path) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", str(first), str(second)])
    assert done.returncode in (0, 1), done
    return done.returncode == 0


async def store_image(api: Api, token: str, path: Path, name: str, properties: dict[str, str] | None = None,
                      **fields: Any):
    """An active image in the image service with `path`'s bytes (qcow2)."""
    app = api.client.server.app
    images = app[images_key]
    ctx = app[identity_key].validate(token)
    image = await images.create(ctx, {"name": name, "disk_format": "qcow2", "container_format": "bare", **fields},
                                dict(properties or {}), [])

    async def chunks():
        with open(path, "rb") as f:
            while chunk := f.read(MiB):
                yield chunk

    return await images.upload(ctx, image.id, chunks())


@pytest.fixture
async def admin(api, admin_token) -> Cinder:
    return Cinder(api, admin_token)


@pytest.fixture
async def member(api, make_user) -> Cinder:
    return Cinder(api, await make_user("voltenant", "member"))


@pytest.fixture
def qcow2(tmp_path) -> Path:
    return make_qcow2(tmp_path / "content.qcow2")
