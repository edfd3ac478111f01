"""The metadata service read by cloud-init's own code (Debian's cloud-init, in the system python): its OpenStack
MetadataReader against the application served on 127.0.0.1 reads what its ConfigDriveReader reads from the ISO that
storage/configdrive.py masters (compute/metadata_documents.py's tree) for the same instance (admin_pass aside, which only the drive carries), and its EC2
reader walks the EC2 tree to the same values as the drive's ec2/latest/meta-data.json.

A test-only origin maps every connection to one namespace, so the lookup places 127.0.0.1 there.
"""
from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from nodecompute.api.metadata_service import create_metadata_app
from nodecompute.compute.metadata_documents import build_tree
from nodecompute.storage.configdrive import write_iso
from tests.api.metadata_fakes import MAC_A, FakeLookup, FakePasswords, instance_a
from tests.integration.test_configdrive_readers import SYSTEM_PYTHON, xorriso_extract

pytestmark = pytest.mark.integration

READERS = r"""
import base64, json, sys, time
from cloudinit import url_helper
from cloudinit.sources.helpers import ec2
from cloudinit.sources.helpers.openstack import ConfigDriveReader, MetadataReader, convert_net_json
url, drive, mac = sys.argv[1:4]

def plain(found):
    md = dict(found["metadata"])
    seed = md.pop("random_seed")
    return {
        "metadata": md, "random_seed_bytes": len(seed), "version": found["version"], "dsmode": found.get("dsmode"),
        "files": {path: base64.b64encode(data).decode() for path, data in found["files"].items()},
        "userdata": base64.b64encode(found["userdata"]).decode(),
        "vendordata": found["vendordata"], "vendordata2": found["vendordata2"],
        "networkdata": found["networkdata"], "ec2-metadata": found["ec2-metadata"],
        "network": convert_net_json(found["networkdata"], known_macs={mac: "eth0"}),
    }

started = time.perf_counter()
# DataSourceOpenStack.wait_for_metadata_service, then read_metadata_service (MetadataReader.read_v2)
available, _ = url_helper.wait_for_url(urls=[url_helper.combine_url(url, "openstack")], max_wait=10, timeout=5)
reader = MetadataReader(url, timeout=5, retries=0)
# MetadataReader asks the EC2 tree at the fixed 169.254.169.254: point it at the same service
reader._read_ec2_metadata = lambda: ec2.get_instance_metadata(metadata_address=url, timeout=5, retries=0)
service = reader.read_v2()
service_seconds = time.perf_counter() - started
print(json.dumps({
    "available": available, "service_seconds": service_seconds, "versions": reader._fetch_available_versions(),
    "service": plain(service), "drive": plain(ConfigDriveReader(drive).read_v2()),
    "ec2_latest": ec2.get_instance_metadata(metadata_address=url, timeout=5, retries=0),
    "ec2_2009": ec2.get_instance_metadata(api_version="2009-04-04", metadata_address=url, timeout=5, retries=0),
    "ec2_userdata": base64.b64encode(ec2.get_instance_userdata(metadata_address=url, timeout=5, retries=0)).decode(),
}))
"""


async def served(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def as_materialised(value: object) -> object:
    """The drive's EC2 JSON as cloud-init's EC2 materialiser sees the same tree over HTTP: every leaf is text, a
    one-item list is its item, the public key `0` appears under its key name."""
    if isinstance(value, dict):
        return {key: as_materialised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [str(item) for item in value] if len(value) > 1 else str(value[0])
    return "" if value == "" else str(value)


async def test_cloud_init_reads_the_same_metadata_from_the_service_and_the_drive(tmp_path):
    md = instance_a()
    iso = tmp_path / "disk.config"
    tree = build_tree(md)
    write_iso(tree, iso)
    drive_dir = tmp_path / "drive"
    xorriso_extract(iso, drive_dir)
    lookup = FakeLookup({("test-ns", "127.0.0.1"): md})
    app = create_metadata_app(lookup=lookup, passwords=FakePasswords(),
                              origin=lambda request: ("test-ns", request.remote))
    runner, url = await served(app)
    try:
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            SYSTEM_PYTHON, "-c", READERS, url, str(drive_dir), MAC_A,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        elapsed = time.perf_counter() - started
    finally:
        await runner.cleanup()
    assert process.returncode == 0, err.decode()
    found = json.loads(out)
    print(f"\ncloud-init against the metadata service: {len(lookup.calls)} requests, OpenStack read "
          f"{found['service_seconds'] * 1000:.0f} ms, whole reader process {elapsed:.2f} s")

    service, drive = found["service"], found["drive"]
    assert found["available"] == f"{url}/openstack" and found["versions"][-1] == "latest"
    assert drive["metadata"].pop("admin_pass") == "Adm1nPa55" and "admin_pass" not in service["metadata"]
    drive_ec2, service_ec2 = drive.pop("ec2-metadata"), service.pop("ec2-metadata")
    assert service == drive
    assert service["metadata"]["instance-id"] == md.uuid and service["random_seed_bytes"] == 512
    assert service["files"] and service["userdata"] and service["network"]["config"][0]["mac_address"] == MAC_A

    assert drive_ec2 == json.loads(tree["ec2/latest/meta-data.json"])
    expected = as_materialised({key: value for key, value in drive_ec2.items() if key != "public-keys"})
    expected["public-keys"] = {"ops": drive_ec2["public-keys"]["0"]["openssh-key"]}
    assert service_ec2 == expected == found["ec2_latest"] == found["ec2_2009"]
    assert service_ec2["instance-id"] == "i-00000007" and service_ec2["security-groups"] == ["default", "web"]
    assert found["ec2_userdata"] == service["userdata"]
    assert {call for call in lookup.calls} == {("test-ns", "127.0.0.1")}

