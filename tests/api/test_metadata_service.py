"""The metadata service's HTTP application (#2301-#2313): Nova's OpenStack and EC2 trees, content types, version
hiding, the password, and isolation: the instance comes from (namespace, source address) only.

The listener's origin is injected (FixedOrigin) since aiohttp's test client has no namespaces; one test drives the
production socket_origin with the real network-namespace cookie of the accepted connection.
"""
from __future__ import annotations

import base64
import json
import re
import socket

import pytest

from nodecompute.api.metadata_service import create_metadata_app
from nodecompute.hostnet.listener import netns_cookie
from nodecompute.compute.metadata_documents import EC2_VERSIONS, OPENSTACK_VERSIONS, build_tree
from tests.api.metadata_fakes import (
    B_MARKERS, IP_A, IP_B, IP_C, KEY_A, NETWORK_DATA_A, NS_A, NS_B, UUID_A, FakeLookup, FakePasswords, FixedOrigin,
    instance_a, instance_b, instance_c)

TODAY = "2026-12-03"
ALL_OS = [*OPENSTACK_VERSIONS, "latest"]
EC2_ROOT = [*EC2_VERSIONS, "latest"]
A_ALL_FILES = ["meta_data.json", "user_data", "password", "vendor_data.json", "network_data.json",
               "vendor_data2.json"]


class Service:
    def __init__(self, client, lookup: FakeLookup, passwords: FakePasswords, origin: FixedOrigin) -> None:
        self.client, self.lookup, self.passwords, self.origin = client, lookup, passwords, origin

    async def get(self, path: str, **kwargs) -> tuple[int, str, bytes]:
        async with self.client.get(path, **kwargs) as resp:
            return resp.status, resp.content_type, await resp.read()

    async def text(self, path: str) -> str:
        status, content_type, body = await self.get(path)
        assert (status, content_type) == (200, "text/plain"), (path, status, body)
        return body.decode()

    async def json(self, path: str) -> object:
        status, content_type, body = await self.get(path)
        assert (status, content_type) == (200, "application/json"), (path, status, body)
        return json.loads(body)

    async def post(self, path: str, data) -> tuple[int, bytes]:
        async with self.client.post(path, data=data) as resp:
            return resp.status, await resp.read()


@pytest.fixture
def make_service(aiohttp_client):
    async def make(today: str = TODAY) -> Service:
        lookup = FakeLookup({(NS_A, IP_A): instance_a(), (NS_B, IP_B): instance_b(), (NS_B, IP_C): instance_c()})
        passwords, origin = FakePasswords(), FixedOrigin(NS_A, IP_A)
        app = create_metadata_app(lookup=lookup, passwords=passwords, origin=origin, today=lambda: today)
        return Service(await aiohttp_client(app), lookup, passwords, origin)

    return make


@pytest.fixture
async def service(make_service) -> Service:
    return await make_service()


async def test_root_lists_ec2_versions_to_anybody(service):
    service.origin.current = (None, None)
    assert (await service.text("/")).split("\n") == EC2_ROOT
    assert service.lookup.calls == []


async def test_openstack_versions_hide_future_dates_but_answer_them(make_service):
    assert (await (await make_service()).text("/openstack")).split("\n") == ALL_OS
    early = await make_service(today="2019-06-01")
    assert (await early.text("/openstack/")).split("\n") == [*OPENSTACK_VERSIONS[:8], "latest"]
    assert (await early.json("/openstack/2025-04-04/meta_data.json"))["uuid"] == UUID_A
    assert "dedicated_cpus" in await early.json("/openstack/latest/meta_data.json")


@pytest.mark.parametrize("version", ALL_OS)
async def test_version_listing_follows_nova(service, version):
    names = (await service.text(f"/openstack/{version}")).split("\n")
    index = ALL_OS.index(version)
    expected = ["meta_data.json", "user_data"] + ["password"] * (index >= 1) + ["vendor_data.json"] * (index >= 2)
    expected += ["network_data.json"] * (index >= 3) + ["vendor_data2.json"] * (index >= 5)
    assert names == expected
    assert (await service.text(f"/openstack/{version}/")).split("\n") == expected


async def test_version_listing_without_user_data(service):
    service.origin.current = (NS_B, IP_C)
    assert "user_data" not in (await service.text("/openstack/latest")).split("\n")
    assert (await service.get("/openstack/latest/user_data"))[0] == 404
    assert (await service.get("/latest/user-data"))[0] == 404
    assert (await service.text("/latest")).split("\n") == ["meta-data/"]


@pytest.mark.parametrize("version", ALL_OS)
async def test_meta_data_is_the_drives_without_admin_pass(service, version):
    drive = json.loads(build_tree(instance_a())[f"openstack/{version}/meta_data.json"])
    served = await service.json(f"/openstack/{version}/meta_data.json")
    assert drive["admin_pass"] == "Adm1nPa55" and "admin_pass" not in served
    if "random_seed" in drive:
        assert len(base64.b64decode(served.pop("random_seed"), validate=True)) == 512
        drive.pop("random_seed")
    drive.pop("admin_pass")
    assert served == drive
    assert served["files"] == [{"path": "/etc/banner.txt", "content_path": "/content/0000"},
                               {"path": "/opt/app/blob.bin", "content_path": "/content/0001"}]


async def test_documents_match_the_drive_file_by_file(service):
    tree = build_tree(instance_a())
    for path, contents in tree.items():
        if path.startswith("openstack/") and not path.endswith("meta_data.json"):
            status, content_type, body = await service.get("/" + path)
            assert (status, body) == (200, contents), path
            assert content_type == ("application/json" if path.endswith(".json") else "text/plain"), path
    assert await service.json("/openstack/latest/vendor_data.json") == {"site": "lab"}
    assert await service.json("/openstack/2016-10-06/vendor_data2.json") == {"static": {"site": "lab"}}
    assert await service.json("/openstack/2015-10-15/network_data.json") == NETWORK_DATA_A
    service.origin.current = (NS_B, IP_C)
    assert await service.json("/openstack/latest/network_data.json") == {}
    assert await service.json("/openstack/latest/vendor_data2.json") == {"static": {}}


@pytest.mark.parametrize(("path", "first_version"), [
    ("password", "2013-04-04"), ("vendor_data.json", "2013-10-17"), ("network_data.json", "2015-10-15"),
    ("vendor_data2.json", "2016-10-06")])
async def test_files_are_gated_by_version(service, path, first_version):
    for version in OPENSTACK_VERSIONS:
        status = (await service.get(f"/openstack/{version}/{path}"))[0]
        assert status == (200 if version >= first_version else 404), (version, path)


async def test_user_data_and_content_are_raw_bytes(service):
    md = instance_a()
    for path in ("/openstack/2012-08-10/user_data", "/openstack/latest/user_data", "/latest/user-data",
                 "/2009-04-04/user-data", "/1.0/user-data", "/ec2/latest/user-data"):
        assert await service.get(path) == (200, "text/plain", md.user_data), path
    assert await service.get("/openstack/content/0001") == (200, "text/plain", bytes(range(256)))
    for missing in ("/openstack/content", "/openstack/content/0002", "/openstack/content/0000/x",
                    "/openstack/latest/content/0000"):
        assert (await service.get(missing))[0] == 404, missing


@pytest.mark.parametrize("path", [
    "/openstack/2011-01-01/meta_data.json", "/openstack/latest/nothing", "/openstack/latest/meta_data.json/x",
    "/2006-01-01/meta-data/", "/latest/meta-data/nothing", "/latest/meta-data/security-groups/default",
    "/latest/meta-data/instance-id/x", "/latest/dynamic/", "/nothing", "/openstack/2012-08-10/password"])
async def test_unknown_paths_are_404(service, path):
    assert (await service.get(path))[0] == 404


async def test_paths_are_normalised_like_nova(service):
    assert (await service.json("/openstack/latest/meta_data.json/"))["uuid"] == UUID_A
    assert (await service.json("/openstack//latest//meta_data.json"))["uuid"] == UUID_A
    assert await service.text("/latest/meta-data/instance-id/") == "i-00000007"


async def test_unknown_source_or_namespace_is_404(service):
    for origin in ((NS_A, "10.0.0.99"), (NS_B, IP_A), ("qdhcp-elsewhere", IP_A), (None, IP_A), (NS_A, None)):
        service.origin.current = origin
        for path in ("/openstack", "/openstack/latest/meta_data.json", "/latest/meta-data/", "/latest/user-data",
                     "/openstack/latest/password", "/openstack/content/0000"):
            assert (await service.get(path))[0] == 404, (origin, path)
        assert (await service.post("/openstack/latest/password", b"x"))[0] == 404
    assert service.passwords.values == {}
    assert (NS_A, "10.0.0.99") in service.lookup.calls and (None, IP_A) not in service.lookup.calls


async def crawl(service: Service) -> dict[str, bytes]:
    """Every path reachable through the listings, path -> body: `/` and `/openstack/` list directories (versions);
    below them a name ending in "/" is a directory, and EC2's "0=name" stands for the directory "0/"."""
    seen: dict[str, bytes] = {}

    async def visit(path: str, is_directory: bool) -> None:
        status, _, body = await service.get(path)
        assert status == 200, path
        seen[path] = body
        if not is_directory:
            return
        for line in body.decode().split("\n"):
            name = line.split("=", 1)[0] + "/" if re.fullmatch(r"\d+=.*", line) else line
            child_is_directory = name.endswith("/") or path in ("/", "/openstack/")
            await visit(path + name.rstrip("/") + "/" * child_is_directory, child_is_directory)

    await visit("/", True)
    await visit("/openstack/", True)
    return seen


async def test_another_instances_data_is_unreachable(service):
    seen = await crawl(service)
    for index in range(4):
        path = f"/openstack/content/{index:04d}"
        status, _, body = await service.get(path)
        seen[path] = body if status == 200 else b""
    assert "/latest/meta-data/public-keys/0/openssh-key" in seen and "/openstack/2012-08-10/meta_data.json" in seen
    assert len(seen) > 150
    for path, body in seen.items():
        assert not [marker for marker in B_MARKERS if marker.encode() in body], path
    claims = {"headers": {"X-Instance-ID": "b0b0b0b0-1111-4222-8333-444455556666", "X-Forwarded-For": IP_B,
                          "X-Tenant-ID": "bbbbproject", "X-Metadata-Provider": "net-b"},
              "params": {"uuid": "b0b0b0b0-1111-4222-8333-444455556666", "instance_id": "i-00000b0b"}}
    for path in ("/openstack/latest/meta_data.json", "/latest/meta-data/instance-id", "/latest/user-data"):
        body = (await service.get(path, **claims))[2]
        assert body == seen[path] or path.endswith("meta_data.json") and json.loads(body)["uuid"] == UUID_A
    assert set(service.lookup.calls) == {(NS_A, IP_A)}


async def test_ec2_meta_data_listing_and_values(service):
    listing = (await service.text("/latest/meta-data/")).split("\n")
    assert listing == sorted(listing) and listing == [
        "ami-id", "ami-launch-index", "ami-manifest-path", "block-device-mapping/", "hostname", "instance-action",
        "instance-id", "instance-type", "local-hostname", "local-ipv4", "placement/", "public-hostname",
        "public-ipv4", "public-keys/", "reservation-id", "security-groups"]
    values = {"instance-id": "i-00000007", "ami-launch-index": "0", "ami-manifest-path": "FIXME",
              "hostname": "web-server-01.novalocal", "local-ipv4": IP_A, "public-ipv4": "203.0.113.9",
              "instance-type": "m1.tiny", "placement/availability-zone": "nova", "security-groups": "default\nweb",
              "public-keys/": "0=ops", "public-keys/0/": "openssh-key", "public-keys/0/openssh-key": KEY_A,
              "block-device-mapping/": "ami\nephemeral0\nroot", "block-device-mapping/root": "/dev/vda",
              "placement/": "availability-zone", "instance-action": "none", "reservation-id": "r-xk2l9m3n"}
    for path, value in values.items():
        assert await service.text(f"/latest/meta-data/{path}") == value, path
    assert re.fullmatch(r"ami-[0-9a-f]{8}", await service.text("/2009-04-04/meta-data/ami-id"))
    assert (await service.text("/latest")).split("\n") == ["meta-data/", "user-data"]
    assert (await service.text("/ec2")).split("\n") == EC2_ROOT
    assert await service.text("/ec2/2008-02-01/meta-data/instance-id") == "i-00000007"


@pytest.mark.parametrize("version", EC2_VERSIONS)
async def test_every_ec2_version_is_served_with_its_keys(service, version):
    listing = set((await service.text(f"/{version}/meta-data/")).split("\n"))
    assert {"ami-id", "instance-id", "local-ipv4", "public-keys/", "security-groups"} <= listing
    assert ("local-hostname" in listing) == (version >= "2007-01-19")
    assert ("placement/" in listing) == (version >= "2008-02-01")
    assert ("instance-action" in listing) == (version >= "2008-09-01")


async def test_ec2_volume_boot_and_source_address_fallback(service):
    service.origin.current = (NS_B, IP_B)
    assert await service.text("/latest/meta-data/public-keys/") == "0=bkey"
    service.origin.current = (NS_B, IP_C)
    assert await service.text("/latest/meta-data/ami-id") == "None"  # Nova prints a missing ami id so
    assert "public-keys/" not in (await service.text("/latest/meta-data/")).split("\n")
    assert await service.text("/latest/meta-data/local-ipv4") == IP_C  # Nova: fixed ip or the source address


async def test_password_get_post_once(service):
    assert await service.get("/openstack/latest/password") == (200, "text/plain", b"")
    assert await service.post("/openstack/2013-04-04/password", b"") == (200, b"")
    assert service.passwords.values == {}
    secret = base64.b64encode(b"\x01" * 765)  # 1020 bytes, the most Nova keeps (4 x 255)
    assert len(secret) == 1020
    assert await service.post("/openstack/latest/password", secret) == (200, b"")
    assert await service.get("/openstack/2013-04-04/password") == (200, "text/plain", secret)
    status, body = await service.post("/openstack/latest/password", b"another")
    assert status == 409
    assert service.passwords.values == {UUID_A: secret.decode()}
    service.origin.current = (NS_B, IP_B)
    assert await service.get("/openstack/latest/password") == (200, "text/plain", b"")


async def test_password_too_large_or_wrong_method_is_400(service):
    status, body = await service.post("/openstack/latest/password", b"x" * 1021)
    assert status == 400 and b"too large" in body

    async def chunks():
        for _ in range(3):
            yield b"y" * 500

    assert (await service.post("/openstack/latest/password", chunks()))[0] == 400  # no Content-Length
    assert (await service.post("/openstack/latest/password", b"\xff\xfe"))[0] == 400
    for method in ("PUT", "DELETE", "PATCH"):
        async with service.client.request(method, "/openstack/latest/password", data=b"z") as resp:
            assert resp.status == 400 and "GET and POST only" in await resp.text()
    assert service.passwords.values == {}


async def test_other_paths_read_only(service):
    assert (await service.post("/openstack/latest/meta_data.json", b"{}"))[0] == 405
    assert (await service.post("/", b""))[0] == 405
    async with service.client.head("/openstack/latest/meta_data.json") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"


async def test_socket_origin_names_the_connections_namespace(aiohttp_client):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    here = netns_cookie(probe)
    probe.close()
    seen = []

    def namespace_of(sock):
        seen.append(sock)
        return "host-ns" if netns_cookie(sock) == here else None

    lookup = FakeLookup({("host-ns", "127.0.0.1"): instance_a()})
    client = await aiohttp_client(create_metadata_app(lookup=lookup, passwords=FakePasswords(),
                                                      namespace_of=namespace_of))
    async with client.get("/latest/meta-data/instance-id") as resp:
        assert resp.status == 200 and await resp.text() == "i-00000007"
    assert lookup.calls == [("host-ns", "127.0.0.1")] and seen
    with pytest.raises(ValueError):
        create_metadata_app(lookup=lookup, passwords=FakePasswords())
