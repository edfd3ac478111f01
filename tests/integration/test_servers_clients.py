"""Stock clients boot real guests on a running daemon, authenticating only through its generated clouds.yaml:
the `openstack` CLI (image upload through our Glance v2 subset, server create --wait with tags, tags set and
listed, console log, delete --wait), python-novaclient at the microversion it negotiates for "2.latest" and
openstacksdk at its default (both the daemon's maximum, at least 2.52: client_versions.py). Each test asserts on
what the guest printed on its serial console (proof that a real VM booted with our config drive), read back
through the client's own console-output call."""
from __future__ import annotations

import json
import os
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.conftest import REPO
from tests.integration.client_versions import (NOVA_MINIMUM_MAX, SDK_SERVERS_CAP, negotiated, novaclient_cap,
                                               novaclient_latest, sdk_compute_version, version_tuple)
from tests.integration.cloud import BOOT_TIMEOUT, GuestReport, guest_image, guest_lines

pytestmark = pytest.mark.integration

IMAGE_NAME = "testguest-cli"
FLAVOR = "m1.nano"
FLAVOR_ID = "42"
CLI_TIMEOUT = 300


def cli(daemon, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """The `openstack` entry point of the venv, as a user would run it (only OS_CLIENT_CONFIG_FILE is set)."""
    result = subprocess.run([str(REPO / ".venv" / "bin" / "openstack"), "--os-cloud", "nodecompute", *args],
                            capture_output=True, text=True, env=daemon.cli_env(), timeout=timeout)
    assert result.returncode == 0, (args, result.stdout, result.stderr[-4000:], daemon.log_tail(30))
    return result


def cli_json(daemon, *args: str, timeout: float = CLI_TIMEOUT):
    return json.loads(cli(daemon, *args, "-f", "json", timeout=timeout).stdout)


def wait_ready(console, name: str, server_id: str, timeout: float = BOOT_TIMEOUT) -> GuestReport:
    """Poll `console()` (a client's console-output call) until the guest printed `NCGUEST ready`; check identity."""
    deadline = time.monotonic() + timeout
    while True:
        text = console()
        lines = guest_lines(text)
        if "ready" in lines:
            break
        assert time.monotonic() < deadline, f"no 'NCGUEST ready' within {timeout}s:\n{text[-3000:]}"
        time.sleep(1.0)
    report = GuestReport(lines)
    assert report.value("name=") == name
    assert report.value("uuid=") == server_id
    assert report.value("boot=") == "1"
    return report


@contextmanager
def environ(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def sdk_connection(daemon):
    """openstacksdk's own config loader on the daemon's clouds.yaml (no environment needed)."""
    import openstack
    from openstack import config as os_config

    region = os_config.OpenStackConfig(config_files=[str(daemon.clouds_yaml)]).get_one(cloud="nodecompute")
    return openstack.connection.Connection(config=region)


@pytest.fixture(scope="module")
def cli_image(daemon):
    """The test guest uploaded with `openstack image create --file` (Glance v2 subset at /image)."""
    path = guest_image()
    assert path == REPO / "images" / "out" / "nodecompute-testguest.qcow2"
    image = cli_json(daemon, "image", "create", "--file", str(path), "--disk-format", "qcow2",
                     "--container-format", "bare", IMAGE_NAME)
    assert image["name"] == IMAGE_NAME
    return image


def test_openstack_cli_boots_guest(daemon, cli_image):
    shown = cli_json(daemon, "image", "show", IMAGE_NAME)
    assert shown["id"] == cli_image["id"] and shown["status"] == "active"
    assert shown["size"] == (REPO / "images" / "out" / "nodecompute-testguest.qcow2").stat().st_size

    server = cli_json(daemon, "server", "create", "--image", IMAGE_NAME, "--flavor", FLAVOR, "--tag", "web",
                      "--tag", "blue", "--wait", "vm-cli")  # --tag needs 2.52
    server_id = server["id"]
    assert server["name"] == "vm-cli" and server["status"] == "ACTIVE"

    listed = cli_json(daemon, "server", "list")
    assert [(s["ID"], s["Name"], s["Status"]) for s in listed] == [(server_id, "vm-cli", "ACTIVE")]
    assert listed[0]["Flavor"] == FLAVOR
    cli(daemon, "server", "set", "--tag", "green", "vm-cli")  # 2.26
    assert cli_json(daemon, "server", "show", "vm-cli")["tags"] == ["blue", "green", "web"]
    assert [s["ID"] for s in cli_json(daemon, "server", "list", "--tags", "web", "--tags", "green")] == [server_id]
    assert cli_json(daemon, "server", "list", "--tags", "web", "--tags", "red") == []
    assert [s["ID"] for s in cli_json(daemon, "server", "list", "--not-tags", "red")] == [server_id]

    report = wait_ready(lambda: cli(daemon, "console", "log", "show", "vm-cli").stdout, "vm-cli", server_id)
    assert report.value("hostname=") == "vm-cli.novalocal"  # Nova: hostname + dhcp_domain
    console = cli(daemon, "console", "log", "show", "vm-cli").stdout
    assert "NCGUEST name=vm-cli" in console and f"NCGUEST uuid={server_id}" in console
    short = cli(daemon, "console", "log", "show", "--lines", "3", "vm-cli").stdout
    assert len(short.rstrip("\n").splitlines()) <= 3

    cli(daemon, "server", "delete", "--wait", "vm-cli")
    assert cli_json(daemon, "server", "list") == []
    assert daemon.defined_domains() == []


def test_novaclient_boots_guest(daemon, cli_image):
    from keystoneauth1.exceptions import NotFound as KsNotFound
    from novaclient import exceptions as nova_exc
    from openstack import config as os_config

    region = os_config.OpenStackConfig(config_files=[str(daemon.clouds_yaml)]).get_one(cloud="nodecompute")
    nc = novaclient_latest(region.get_session())
    assert nc.api_version.get_string() == negotiated(daemon, novaclient_cap())  # novaclient's own maximum: 2.96
    assert version_tuple(nc.api_version.get_string()) >= version_tuple(NOVA_MINIMUM_MAX)

    image = nc.glance.find_image(IMAGE_NAME)  # novaclient's proxy to the image service in the catalog
    assert image.id == cli_image["id"]
    flavor = nc.flavors.find(name=FLAVOR)
    server = nc.servers.create("vm-nova", image, flavor, nics="auto")  # novaclient requires nics from 2.37
    assert server.id and getattr(server, "adminPass", None)

    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        server = nc.servers.get(server.id)
        assert server.status != "ERROR", getattr(server, "fault", None)
        if server.status == "ACTIVE" and getattr(server, "OS-EXT-STS:task_state") is None:
            break
        assert time.monotonic() < deadline, f"still {server.status}"
        time.sleep(1.0)
    assert server.name == "vm-nova" and server.image["id"] == image.id
    assert server.flavor["original_name"] == FLAVOR  # the flavor is embedded from 2.47
    assert [s.id for s in nc.servers.list()] == [server.id]

    wait_ready(lambda: server.get_console_output(), "vm-nova", server.id)
    tail = nc.servers.get_console_output(server, length=5)
    assert 0 < len(tail.rstrip("\n").splitlines()) <= 5

    nc.servers.delete(server)
    deadline = time.monotonic() + 60
    while True:
        try:
            nc.servers.get(server.id)
        except (nova_exc.NotFound, KsNotFound):
            break
        assert time.monotonic() < deadline, "server not gone after 60s"
        time.sleep(0.5)
    assert nc.servers.list() == []
    assert daemon.defined_domains() == []


def test_openstacksdk_boots_guest(daemon, cli_image):
    conn = sdk_connection(daemon)
    try:
        assert sdk_compute_version(conn) == negotiated(daemon, SDK_SERVERS_CAP)  # the SDK's servers cap: 2.100
        images = {i.name: i for i in conn.image.images()}
        assert IMAGE_NAME in images and images[IMAGE_NAME].id == cli_image["id"]
        assert images[IMAGE_NAME].disk_format == "qcow2" and images[IMAGE_NAME].status == "active"

        flavor = conn.compute.find_flavor(FLAVOR)
        assert flavor.id == FLAVOR_ID
        # the SDK's proxy does not add `networks`, which Nova requires from 2.37 (its cloud layer adds "auto")
        server = conn.compute.create_server(name="vm-sdk", image_id=cli_image["id"], flavor_id=flavor.id,
                                            networks="auto")
        server = conn.compute.wait_for_server(server, status="ACTIVE", wait=BOOT_TIMEOUT)
        assert server.name == "vm-sdk" and server.image.id == cli_image["id"]

        def console() -> str:
            return conn.compute.get_server_console_output(server)["output"]

        report = wait_ready(console, "vm-sdk", server.id)
        assert report.value("az=") == server.availability_zone
        tail = conn.compute.get_server_console_output(server, length=4)["output"]
        assert 0 < len(tail.rstrip("\n").splitlines()) <= 4

        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=60)
        assert list(conn.compute.servers()) == []
        assert daemon.defined_domains() == []
    finally:
        conn.close()


def test_openstacksdk_connect_through_environment(daemon, cli_image):
    """openstack.connect(cloud=...) finds the file through OS_CLIENT_CONFIG_FILE, as a user's script would."""
    import openstack

    with environ(OS_CLIENT_CONFIG_FILE=str(daemon.clouds_yaml)):
        conn = openstack.connect(cloud="nodecompute")
        try:
            assert cli_image["id"] in [i.id for i in conn.image.images()]
            assert conn.compute.find_flavor(FLAVOR).id == FLAVOR_ID
        finally:
            conn.close()
