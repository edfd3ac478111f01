"""Stock clients against the running daemon, authenticating only through the generated clouds.yaml (Keystone v3):
openstacksdk at its default microversions, python-novaclient at the one it negotiates for "2.latest" (the
daemon's maximum) and the `openstack` CLI (the strictest of the three)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.integration.client_versions import (SDK_SERVERS_CAP, negotiated, novaclient_cap, novaclient_latest,
                                               sdk_compute_version)

pytestmark = pytest.mark.integration
# From 2.92 Nova generates no keypairs: novaclient (2.96) and openstacksdk (2.100) import one (the CLI makes the
# pair itself and imports its public half).
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGzLeGBh5qrcaNdPSnh0a3bqXH7ypTM5VKOS1LSqZaHc test@example"


def openstack_cli(daemon, *args: str, env=None, check=True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "openstackclient.shell", "--os-cloud", "nodecompute", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env or daemon.cli_env(), timeout=120)
    if check:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


def openstack_batch(daemon, *commands: str) -> list:
    """Several stock `openstack` commands for one CLI start: its interactive shell runs them from stdin, in order,
    each as typed after `openstack`. Returns the JSON documents they print (commands that print nothing, such as
    `compute service set`, add none); every `-f json` command must have printed one and nothing may have been
    printed on stderr but deprecation notices (the interactive shell's exit status is always 1: cliff's)."""
    env = {**daemon.cli_env(), "OS_CLOUD": "nodecompute"}
    result = subprocess.run([sys.executable, "-m", "openstackclient.shell"], input="\n".join(commands) + "\n",
                            capture_output=True, text=True, env=env, timeout=300)
    problems = [line for line in result.stderr.splitlines() if line.strip() and "deprecated" not in line]
    assert result.returncode in (0, 1) and not problems, (commands, result.stdout, result.stderr)
    decoder, text, at, docs = json.JSONDecoder(), result.stdout, 0, []
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    assert len(docs) == sum("-f json" in command for command in commands), (commands, result.stdout, result.stderr)
    return docs


def nodecompute_cli(daemon, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(daemon.config), *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def sdk_connection(daemon, monkeypatch):
    import openstack

    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(daemon.clouds_yaml))
    return openstack.connect(cloud="nodecompute")


def nova(daemon, username=None, password=None, project=None):
    cloud = daemon.cloud()["auth"]
    auth = v3.Password(auth_url=cloud["auth_url"], username=username or cloud["username"],
                       password=password or cloud["password"], project_name=project or cloud["project_name"],
                       user_domain_name="Default", project_domain_name="Default")
    return novaclient_latest(ks_session.Session(auth=auth))


def test_openstacksdk_flavors_keypairs_limits(daemon, monkeypatch):
    conn = sdk_connection(daemon, monkeypatch)
    flavors = {f.name: f for f in conn.compute.flavors()}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge", "m1.nano"} <= set(flavors)
    tiny = conn.compute.find_flavor("m1.tiny")
    assert tiny.ram == 512 and tiny.vcpus == 1 and tiny.disk == 1
    key = conn.compute.create_keypair(name="sdk-key", public_key=PUBLIC_KEY)
    assert key.public_key == PUBLIC_KEY and not key.private_key and key.fingerprint.count(":") == 15
    assert "sdk-key" in [k.name for k in conn.compute.keypairs()]
    conn.compute.delete_keypair("sdk-key")
    assert "sdk-key" not in [k.name for k in conn.compute.keypairs()]
    limits = conn.compute.get_limits()
    assert limits.absolute.instances == 10 and limits.absolute.total_cores == 20


def test_novaclient_flavors_keypairs_limits(daemon):
    nc = nova(daemon)
    assert "m1.small" in [f.name for f in nc.flavors.list()]
    assert nc.flavors.find(name="m1.small").ram == 2048
    key = nc.keypairs.create("nova-key", public_key=PUBLIC_KEY)
    assert key.public_key == PUBLIC_KEY and not getattr(key, "private_key", None)
    assert "nova-key" in [k.name for k in nc.keypairs.list()]
    nc.keypairs.delete("nova-key")
    absolute = {limit.name: limit.value for limit in nc.limits.get().absolute}
    assert absolute["maxTotalInstances"] == 10 and absolute["maxTotalRAMSize"] == 51200


def test_openstacksdk_quotas(daemon, monkeypatch):
    conn = sdk_connection(daemon, monkeypatch)
    project = conn.current_project_id
    assert sdk_compute_version(conn) == negotiated(daemon, SDK_SERVERS_CAP)
    defaults = conn.compute.get_quota_set_defaults(project)
    assert (defaults.instances, defaults.cores, defaults.ram, defaults.key_pairs) == (10, 20, 51200, 100)
    conn.compute.update_quota_set(project, cores=30)
    try:
        shown = conn.compute.get_quota_set(project, usage=True)
        assert shown.cores == 30 and shown.usage["cores"] == 0
    finally:
        conn.compute.revert_quota_set(project)
    assert conn.compute.get_quota_set(project).cores == 20


def test_novaclient_quotas(daemon):
    nc = nova(daemon)
    assert nc.api_version.get_string() == negotiated(daemon, novaclient_cap())
    project = nc.client.session.get_project_id()
    assert nc.quotas.defaults(project).instances == 10
    nc.quotas.update(project, instances=12)
    try:
        shown = nc.quotas.get(project, detail=True)
        assert shown.instances == {"limit": 12, "in_use": 0, "reserved": 0}
        assert not hasattr(shown, "floating_ips")  # the network quotas are gone from 2.36
    finally:
        nc.quotas.delete(project)
    assert nc.quotas.get(project).instances == 10


def test_openstack_cli(daemon, tmp_path):
    flavors = json.loads(openstack_cli(daemon, "flavor", "list", "-f", "json").stdout)
    assert "m1.tiny" in [f["Name"] for f in flavors]
    shown = json.loads(openstack_cli(daemon, "flavor", "show", "m1.tiny", "-f", "json").stdout)
    assert shown["ram"] == 512 and shown["vcpus"] == 1
    created = openstack_cli(daemon, "keypair", "create", "cli-key")
    assert "PRIVATE KEY" in created.stdout
    keys = json.loads(openstack_cli(daemon, "keypair", "list", "-f", "json").stdout)
    assert "cli-key" in [k["Name"] for k in keys]
    pub = tmp_path / "id.pub"
    pub.write_text(PUBLIC_KEY + "\n")
    openstack_cli(daemon, "keypair", "create", "--public-key", str(pub), "cli-imported")
    shown = json.loads(openstack_cli(daemon, "keypair", "show", "cli-imported", "-f", "json").stdout)
    assert shown["fingerprint"].count(":") == 15
    openstack_cli(daemon, "keypair", "delete", "cli-key")
    openstack_cli(daemon, "keypair", "delete", "cli-imported")
    keys = json.loads(openstack_cli(daemon, "keypair", "list", "-f", "json").stdout)
    assert [k["Name"] for k in keys] == []
    limits = json.loads(openstack_cli(daemon, "limits", "show", "--absolute", "-f", "json").stdout)
    values = {row["Name"]: row["Value"] for row in limits}
    # python-openstackclient names the rows after Nova's keys (older) or openstacksdk's attributes (newer).
    if "maxTotalInstances" in values:
        assert values["maxTotalInstances"] == 10 and values["totalInstancesUsed"] == 0
    else:
        assert values["instances"] == 10 and values["instances_used"] == 0


def test_keypair_isolation_between_two_users(daemon):
    nodecompute_cli(daemon, "project", "create", "demo")
    nodecompute_cli(daemon, "user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    nodecompute_cli(daemon, "user", "create", "bob", "--project", "demo", "--role", "member", "--password", "pw-b")
    users = nodecompute_cli(daemon, "user", "list")
    assert "alice" in users and "bob" in users
    alice = nova(daemon, "alice", "pw-a", "demo")
    bob = nova(daemon, "bob", "pw-b", "demo")
    alice.keypairs.create("alice-key", public_key=PUBLIC_KEY)
    assert [k.name for k in bob.keypairs.list()] == []
    from novaclient import exceptions

    with pytest.raises(exceptions.NotFound):
        bob.keypairs.get("alice-key")
    with pytest.raises(exceptions.NotFound):
        bob.keypairs.delete("alice-key")
    assert [k.name for k in alice.keypairs.list()] == ["alice-key"]


def test_state_survives_restart(daemon):
    nc = nova(daemon)
    nc.keypairs.create("durable", public_key=PUBLIC_KEY)
    daemon.stop()
    daemon.start()
    assert "durable" in [k.name for k in nova(daemon).keypairs.list()]
    nova(daemon).keypairs.delete("durable")
