"""Opt-in: a stock cloud image (not the test guest) boots on a project network and its own cloud-init reads the config
drive, network_data.json included (issue 13).

    NODECOMPUTE_STOCK_IMAGE=/path/to/debian-12-genericcloud-amd64.qcow2 .venv/bin/pytest \
        tests/integration/test_stock_cloud_image.py

Skipped without the variable: nothing is downloaded at test time, so the image must already be on the machine (any
qcow2 cloud image with cloud-init and a serial console on ttyS0: Debian's genericcloud, Ubuntu's cloud images,
Fedora/CentOS GenericCloud). Under TCG a stock image takes minutes to boot: NODECOMPUTE_STOCK_BOOT_SECONDS (default
900) bounds the wait.

The server's only NIC is on a subnet without DHCP, so the guest can have its address only from network_data.json
(cloud-init's ConfigDrive datasource renders it as a static configuration, matched to the NIC by MAC). A
cloud-config runcmd prints one line on the serial console with the hostname (from meta_data.json) and the
addresses the guest configured; the test reads it, and cloud-init's final line naming the ConfigDrive datasource,
through os-getConsoleOutput.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.cloud import Cloud, b64
from tests.integration.daemon import Daemon

IMAGE_ENV = "NODECOMPUTE_STOCK_IMAGE"
STOCK_IMAGE = os.environ.get(IMAGE_ENV, "")
BOOT_SECONDS = float(os.environ.get("NODECOMPUTE_STOCK_BOOT_SECONDS", "900"))
MARKER = "NCSTOCK"
USER_DATA = f"""#cloud-config
runcmd:
  - [sh, -c, 'echo "{MARKER} host=$(hostname) addrs=$(hostname -I | tr -s " " ",")" > /dev/ttyS0']
"""

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not STOCK_IMAGE, reason=f"opt-in: set {IMAGE_ENV} to a local qcow2 cloud image with "
                                              "cloud-init (nothing is downloaded; see the module docstring)"),
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon"))
    try:
        yield d.start()
    finally:
        d.close()


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else {}


def _import(daemon: Daemon, cloud: Cloud, path: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(daemon.config), "image", "import",
                           str(path), "--name", "stock", "--public"], cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return next(i["id"] for i in cloud.get("/images").json()["images"] if i["name"] == "stock")


def test_a_stock_image_configures_its_nic_from_network_data_json(daemon):
    image = Path(STOCK_IMAGE)
    assert image.is_file(), f"{IMAGE_ENV}={STOCK_IMAGE} is no file"
    cloud = Cloud(daemon)
    image_id = _import(daemon, cloud, image)
    network = _neutron(cloud, "POST", "/networks", {"network": {"name": "stocknet"}})["network"]
    _neutron(cloud, "POST", "/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                                    "cidr": str(daemon.subnet_range), "enable_dhcp": False}})
    flavor = next(f["id"] for f in cloud.get("/flavors/detail").json()["flavors"] if f["name"] == "m1.small")
    server = cloud.create_server(name="stock-vm", imageRef=image_id, flavorRef=flavor, config_drive=True,
                                 networks=[{"uuid": network["id"]}],
                                 user_data=b64(USER_DATA.encode()))["server"]
    cloud.wait_status(server["id"], "ACTIVE")
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server['id']}")["ports"]
    address = port["fixed_ips"][0]["ip_address"]
    deadline = time.monotonic() + BOOT_SECONDS
    while True:
        console = cloud.console(server["id"])
        lines = [line[line.index(MARKER):].strip() for line in console.splitlines() if f"{MARKER} host=" in line]
        if lines and "Datasource DataSourceConfigDrive" in console:
            break
        assert time.monotonic() < deadline, f"no {MARKER} line within {BOOT_SECONDS:.0f}s:\n{console[-4000:]}"
        time.sleep(5)
    host, addrs = lines[0].split()[1:3]
    assert host.split(".")[0] == "host=stock-vm"  # meta_data.json's hostname
    assert address in addrs.removeprefix("addrs=").split(","), lines[0]  # static, from network_data.json only
    assert cloud.delete(f"/servers/{server['id']}").status_code == 204
    cloud.wait_gone(server["id"])
