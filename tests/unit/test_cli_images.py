"""`nodecompute image import|list|delete`: a real qcow2 through the CLI, then through both image APIs."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodecompute import config as config_mod
from nodecompute.__main__ import main
from nodecompute.app import create_app
from nodecompute.cli_images import Progress
from tests.api.helpers import Api
from tests.api.test_images import make_disk
from tests.conftest import REPO


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "nodecompute.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        '[identity]\nadmin_password = "admin-secret"\nkdf_time_cost = 1\nkdf_memory_kib = 1024\n'
        '[compute]\nlibvirt_uri = "test:///default"\n'
    )
    return path


def cli(config_file: Path, *args: str) -> int:
    return main(["--config", str(config_file), "image", *args])


def store(config_file: Path) -> list[str]:
    directory = config_mod.load(config_file).images_dir
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def image_ids(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def test_progress_bar_prints_each_percent_once():
    out = io.StringIO()
    progress = Progress("Importing x", stream=out)
    for done in (0, 10, 11, 50, 100, 100):
        progress(done, 100)
    progress.close()
    text = out.getvalue()
    assert [part.rsplit(" ", 1)[-1] for part in text.strip().split("\r") if part] == ["0%", "10%", "11%", "50%",
                                                                                        "100%"]
    assert "[####################] 100%" in text and text.endswith("\n")
    empty = io.StringIO()
    Progress("x", stream=empty)(0, 0)
    assert empty.getvalue().endswith("100%")


def test_import_list_delete_and_dedup(config_file, tmp_path, capsys):
    disk = tmp_path / "cirros.qcow2"
    data = make_disk(disk)
    assert cli(config_file, "import", str(disk), "--name", "one", "--property", "os_distro=cirros") == 0
    out, err = capsys.readouterr()
    assert "100%" in err and out.startswith("image one id ")
    first = out.split()[3]
    assert cli(config_file, "import", str(disk), "--name", "two", "--disk-format", "qcow2") == 0
    second = capsys.readouterr().out.split()[3]
    assert store(config_file) == [hashlib.sha256(data).hexdigest()]
    assert cli(config_file, "list") == 0
    listing = capsys.readouterr().out
    assert set(image_ids(listing)) == {first, second}
    assert f"{first}  one  active  private  qcow2  {len(data)}" in listing
    assert cli(config_file, "delete", first) == 0
    assert store(config_file) == [hashlib.sha256(data).hexdigest()]  # `two` still uses the bytes
    assert cli(config_file, "delete", second) == 0
    assert store(config_file) == []
    capsys.readouterr()
    assert cli(config_file, "list") == 0 and capsys.readouterr().out == ""
    assert cli(config_file, "delete", second) == 1
    assert f"No image found with ID {second}" in capsys.readouterr().err


def test_import_owner_and_public(config_file, tmp_path, capsys):
    disk = tmp_path / "d.raw"
    make_disk(disk, "raw", "1M")
    assert main(["--config", str(config_file), "project", "create", "team"]) == 0
    team = capsys.readouterr().out.split()[-1]
    assert cli(config_file, "import", str(disk), "--name", "t", "--owner", "team", "--public",
               "--min-disk", "1", "--min-ram", "64") == 0
    out = capsys.readouterr().out
    assert out.endswith(f"public owner {team}\n") and " raw " in out


@pytest.mark.parametrize("args, message", [
    (["--property", "novalue"], "expected KEY=VALUE"),
    (["--property", "status=active"], "Attribute 'status' is read-only."),
    (["--property", "nodecompute:tags=x"], "reserved"),
    (["--disk-format", "raw"], "qcow2"),
    (["--min-disk", "-1"], "must not be negative"),
    (["--owner", "nobody"], "project 'nobody' not found"),
])
def test_import_rejects(config_file, tmp_path, capsys, args, message):
    disk = tmp_path / "d.qcow2"
    make_disk(disk)
    assert cli(config_file, "import", str(disk), "--name", "x", *args) == 1
    assert message in capsys.readouterr().err
    assert store(config_file) == []
    assert cli(config_file, "list") == 0 and capsys.readouterr().out == ""


def test_import_rejects_unsupported_content(config_file, tmp_path, capsys):
    vmdk = tmp_path / "d.vmdk"
    make_disk(vmdk, "vmdk", "1M")
    assert cli(config_file, "import", str(vmdk), "--name", "x") == 1
    assert "vmdk" in capsys.readouterr().err
    assert cli(config_file, "import", str(tmp_path / "missing.qcow2"), "--name", "x") == 1
    assert "no such file" in capsys.readouterr().err
    assert store(config_file) == []


async def test_import_by_another_process_shows_in_both_apis(aiohttp_client, config_file, tmp_path):
    disk = tmp_path / "cirros.qcow2"
    data = make_disk(disk)
    cfg = config_mod.load(config_file)
    api = Api(await aiohttp_client(create_app(cfg, with_servers=False)))  # the daemon runs while the CLI writes the same database
    proc = subprocess.run(
        [sys.executable, "-m", "nodecompute", "--config", str(config_file), "image", "import", str(disk),
         "--name", "cirros", "--public", "--min-disk", "1", "--property", "os_distro=cirros"],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "100%" in proc.stderr
    image_id = proc.stdout.split()[3]
    token = await api.token("admin", "admin-secret", "admin")
    resp = await api.client.get(f"/image/v2/images/{image_id}", headers={"X-Auth-Token": token})
    glance = await resp.json()
    assert {k: glance[k] for k in ("name", "status", "visibility", "disk_format", "size", "checksum",
                                   "virtual_size", "min_disk", "os_distro")} == {
        "name": "cirros", "status": "active", "visibility": "public", "disk_format": "qcow2", "size": len(data),
        "checksum": hashlib.md5(data).hexdigest(), "virtual_size": 16 << 20, "min_disk": 1, "os_distro": "cirros"}
    nova = (await (await api.get(f"/images/{image_id}", token)).json())["image"]
    assert (nova["status"], nova["metadata"], nova["OS-EXT-IMG-SIZE:size"]) == ("ACTIVE", {"os_distro": "cirros"},
                                                                                 len(data))
    names = await (await api.client.get("/image/v2/images?name=cirros", headers={"X-Auth-Token": token})).json()
    assert [i["id"] for i in names["images"]] == [image_id]
    assert (await api.client.get(f"/image/v2/images/{image_id}/file",
                                 headers={"X-Auth-Token": token})).headers["Content-MD5"] == glance["checksum"]
