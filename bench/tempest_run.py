"""Run a bounded selection of Tempest's compute API tests against a nodecompute daemon on libvirt's test:/// driver.

Starts the daemon on a temp data directory and a free loopback port (bench/daemon_util.py), adds two projects with a
member user each (Tempest's primary and alt credentials, pre-provisioned: the daemon has no Keystone admin API),
uploads two small raw images and makes a second flavor, writes a Tempest workspace (etc/tempest.conf, accounts.yaml,
.stestr.conf) in a temp directory outside the repository, runs `stestr` on the selection with a time bound, prints
the pass/fail/skip counts and each failing test's id, and removes the daemon and its files (`--keep` keeps the
workspace and the daemon's log). Nothing is downloaded; everything stays on 127.0.0.1. `--real` runs real guests
instead (QEMU under qemu:///embed booting the test guest of images/build.sh: slower, for a narrow --regex);
`--api` picks the Tempest tree (compute, image, volume, network).

    .venv/bin/python bench/tempest_run.py                      # the default selection
    .venv/bin/python bench/tempest_run.py --regex 'tempest.api.compute.keypairs' --keep
    .venv/bin/python bench/tempest_run.py --real --regex 'tempest.api.compute.servers.test_server_rescue'
    .venv/bin/python bench/tempest_run.py --api image --regex 'tempest.api.image.v2'
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tempest  # noqa: E402  (a test dependency)
import yaml  # noqa: E402

from bench.daemon_util import Daemon  # noqa: E402

SELECTION = (
    r"tempest\.api\.compute\.(servers|flavors|keypairs|images|limits|quotas|server_groups|volumes|"
    r"security_groups|floating_ips|admin)\."
)
# Tests whose subject the daemon does not serve at all (whole features owned elsewhere) or which need a real guest
# (SSH validation is off, so Tempest skips most of those by itself).
EXCLUDE = r"(test_live_migration|test_migrations|test_server_external_events|admin\.test_auto_allocate)"
PASSWORD = "tempest-pw-0"
GUEST_IMAGE = Path(__file__).resolve().parent.parent / "images" / "out" / "nodecompute-testguest.qcow2"


def _request(url: str, method: str = "GET", token: str | None = None, body: object = None,
             data: bytes | None = None, content_type: str = "application/json") -> tuple[int, dict, dict]:
    headers = {"Content-Type": content_type}
    if token:
        headers["X-Auth-Token"] = token
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return resp.status, dict(resp.headers), json.loads(raw) if raw and resp.headers.get(
            "Content-Type", "").startswith("application/json") else {}


def _token(daemon: Daemon, auth: dict) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"id": "default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"], "domain": {"id": "default"}}}}}
    _, headers, _ = _request(f"{daemon.url}/identity/v3/auth/tokens", "POST", body=body)
    return headers["X-Subject-Token"]


def _cli(daemon: Daemon, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(daemon.config), *args],
                   check=True, capture_output=True, env=daemon.env)


def provision(daemon: Daemon, image: Path | None = None) -> dict:
    """Projects and users for Tempest, two images (1 MiB of zeros, or `image`: a real guest's qcow2) and a second
    flavor; returns what the conf needs."""
    accounts = [{"username": "admin", "project_name": "admin", "password": daemon.cloud()["auth"]["password"],
                 "domain_name": "Default", "roles": ["admin"]}]
    readers = []
    for name in ("tempest1", "tempest2", "tempest3"):
        _cli(daemon, "project", "create", name)
        _cli(daemon, "user", "create", name, "--project", name, "--role", "member", "--password", PASSWORD)
        _cli(daemon, "user", "create", name + "-reader", "--project", name, "--role", "reader",
             "--password", PASSWORD)
        accounts.append({"username": name, "project_name": name, "password": PASSWORD,
                         "domain_name": "Default", "roles": ["member"]})
        readers.append({"username": name + "-reader", "project_name": name, "password": PASSWORD,
                        "domain_name": "Default", "roles": ["reader"]})
    # Tempest's alt credentials are the first free account of the file whatever its role: with the members first
    # they are another project's member, not the primary project's reader (whose writes are refused with 403, not
    # the 404 of another project's server the multi-tenant tests expect)
    accounts += readers
    token = _token(daemon, daemon.cloud()["auth"])
    images = []
    data = image.read_bytes() if image else b"\0" * (1 << 20)
    for name in ("tempest-image", "tempest-image-alt"):
        # the test guest answers the guest agent's set-user-password (changePassword)
        agent = {"hw_qemu_guest_agent": "yes"} if image else {}
        _, _, made = _request(f"{daemon.url}/image/v2/images", "POST", token, {
            "name": name, "disk_format": "qcow2" if image else "raw", "container_format": "bare",
            "visibility": "public", **agent})
        _request(f"{daemon.url}/image/v2/images/{made['id']}/file", "PUT", token,
                 data=data, content_type="application/octet-stream")
        images.append(made["id"])
    halves = list(daemon.subnet_range.subnets(1))  # the shared network's, then the tests' own subnets
    # A shared network every project's servers get a port on (Tempest's fixed_network_name), the external one
    # ("public", floating IPs' pool) comes with the daemon.
    _, _, network = _request(f"{daemon.url}/networking/v2.0/networks", "POST", token, {
        "network": {"name": "tempest-net", "shared": True}})
    _, _, subnet = _request(f"{daemon.url}/networking/v2.0/subnets", "POST", token, {"subnet": {
        "network_id": network["network"]["id"], "ip_version": 4, "cidr": str(halves[0]),
        "name": "tempest-subnet"}})
    _, _, public = _request(f"{daemon.url}/networking/v2.0/networks?router:external=true", token=token)
    _, _, router = _request(f"{daemon.url}/networking/v2.0/routers", "POST", token, {"router": {
        "name": "tempest-router", "external_gateway_info": {"network_id": public["networks"][0]["id"]}}})
    _request(f"{daemon.url}/networking/v2.0/routers/{router['router']['id']}/add_router_interface", "PUT", token,
             {"subnet_id": subnet["subnet"]["id"]})
    _, _, flavors = _request(f"{daemon.url}/compute/v2.1/flavors/detail", token=token)
    small = sorted(flavors["flavors"], key=lambda f: (f["ram"], f["id"]))
    # Real guests: devstack's 196 s (a rescue first waits Nova's 60 s clean power-off of a guest that ignores ACPI);
    # the test driver answers at once, and its failures should not wait that long.
    return {"build_timeout": 196 if image else 60, "accounts": accounts, "images": images,
            "flavors": [small[0]["id"], small[1]["id"]],
            "public": public["networks"][0], "project_cidr": str(halves[1])}


def write_workspace(workspace: Path, daemon: Daemon, facts: dict, api: str = "compute") -> None:
    etc = workspace / "etc"
    etc.mkdir(parents=True)
    (etc / "accounts.yaml").write_text(yaml.safe_dump(facts["accounts"]))
    admin = facts["accounts"][0]
    conf = f"""[DEFAULT]
log_dir = {workspace}/logs
log_file = tempest.log
use_stderr = false

[oslo_concurrency]
lock_path = {workspace}/locks

[auth]
use_dynamic_credentials = false
test_accounts_file = {etc}/accounts.yaml
create_isolated_networks = false
admin_username = {admin['username']}
admin_password = {admin['password']}
admin_project_name = {admin['project_name']}
admin_domain_name = Default
default_credentials_domain_name = Default

[identity]
uri_v3 = {daemon.url}/identity/v3
auth_version = v3
region = RegionOne
disable_ssl_certificate_validation = true

[identity-feature-enabled]
api_v2 = false
api_v3 = true

[compute]
image_ref = {facts['images'][0]}
image_ref_alt = {facts['images'][1]}
flavor_ref = {facts['flavors'][0]}
flavor_ref_alt = {facts['flavors'][1]}
build_timeout = {facts['build_timeout']}
build_interval = 1
min_compute_nodes = 1
min_microversion = 2.1
max_microversion = latest
fixed_network_name = tempest-net

[compute-feature-enabled]
live_migration = false
cold_migration = false
resize = true
console_output = true
# off: without validation Tempest asks right after ACTIVE, before a guest's agent is up, and gets Nova's 501
# "Unable to set password on instance" (the real-guest tests cover changePassword)
change_password = false
vnc_console = true
serial_console = false
spice_console = false
rdp_console = false
rescue = true
stable_rescue = true
shelve = true
shelve_migrate = false
suspend = true
pause = true
snapshot = true
interface_attach = true
attach_encrypted_volume = false
config_drive = true
personality = true
metadata_service = true
block_migration_for_live_migration = false
can_migrate_between_any_hosts = false
swap_volume = false
volume_multiattach = false
disk_config = true
hostname_fqdn_sanitization = true
unified_limits = false

[image]
image_path =
disk_formats = raw,qcow2
container_formats = bare

[image-feature-enabled]
api_v1 = false
api_v2 = true
os_glance_reserved = true
import_image = false
manage_locations = false

[network]
public_network_id = {facts['public']['id']}
floating_network_name = {facts['public']['name']}
project_network_cidr = {facts['project_cidr']}
project_network_mask_bits = 28

[network-feature-enabled]
ipv6 = false

[service_available]
nova = true
glance = true
neutron = true
cinder = true
swift = false
heat = false
horizon = false

[validation]
run_validation = false
connect_method = fixed

[volume]
build_timeout = {facts['build_timeout']}
build_interval = 1

[volume-feature-enabled]
backup = false
snapshot = true
"""
    (etc / "tempest.conf").write_text(conf)
    (workspace / "logs").mkdir()
    (workspace / "locks").mkdir()
    package = Path(tempest.__file__).parent
    (workspace / ".stestr.conf").write_text(f"[DEFAULT]\ntest_path={package}/api/{api}\ntop_dir={package.parent}\n")


def run(workspace: Path, regex: str, exclude: str, timeout: float, concurrency: int) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env |= {"TEMPEST_CONFIG_DIR": str(workspace / "etc"), "TEMPEST_CONFIG": "tempest.conf"}
    cmd = [sys.executable, "-m", "stestr", "run", "--concurrency", str(concurrency), "--exclude-regex", exclude, regex]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=workspace, env=env, capture_output=True, text=True, timeout=timeout)
        out = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        out += f"\nTIMEOUT after {timeout:.0f} s\n"
    (workspace / "run.log").write_text(out)
    return int(time.monotonic() - started), out


def summarize(workspace: Path) -> dict[str, list[str]]:
    """Test ids by status, from stestr's last run (subunit)."""
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "stestr", "last", "--subunit"], cwd=workspace, env=env,
                          capture_output=True)
    if proc.returncode not in (0, 1) or not proc.stdout:
        return {}
    from subunit import ByteStreamToStreamResult
    from testtools import StreamToDict
    import io

    statuses: dict[str, list[str]] = {}

    def record(test: dict) -> None:
        statuses.setdefault(test["status"], []).append(test["id"])

    stream = ByteStreamToStreamResult(io.BytesIO(proc.stdout), non_subunit_name="stdout")
    result = StreamToDict(record)
    result.startTestRun()
    stream.run(result)
    result.stopTestRun()
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regex", default=SELECTION, help="tests to run (default: the bounded compute selection)")
    parser.add_argument("--exclude", default=EXCLUDE)
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds for the whole run")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the workspace and the daemon's data directory")
    parser.add_argument("--api", default="compute", choices=("compute", "image", "volume", "network"),
                        help="the Tempest API tree to discover tests in (give a --regex for another than compute)")
    parser.add_argument("--real", action="store_true",
                        help="real guests: QEMU under qemu:///embed booting the test guest (images/build.sh) instead "
                             "of libvirt's test driver; slower, for a narrow --regex")
    args = parser.parse_args()
    top = Path(tempfile.mkdtemp(prefix="nctempest", dir="/tmp"))
    (top / "daemon").mkdir()
    daemon = Daemon(top / "daemon", libvirt_uri=None if args.real else "test:///default", log_level="INFO",
                    external_network=True)
    daemon.start()
    try:
        facts = provision(daemon, GUEST_IMAGE if args.real else None)
        write_workspace(top / "workspace", daemon, facts, args.api)
        seconds, out = run(top / "workspace", args.regex, args.exclude, args.timeout, args.concurrency)
        statuses = summarize(top / "workspace")
    finally:
        daemon.close()
    for status in ("fail",):
        for test_id in sorted(statuses.get(status, [])):
            print(f"FAIL {test_id}")
    counts = {k: len(v) for k, v in statuses.items()}
    print(f"tempest: {counts.get('success', 0)} passed, {counts.get('fail', 0)} failed, "
          f"{counts.get('skip', 0)} skipped in {seconds} s")
    if args.keep:
        print(f"workspace and daemon log kept in {top}")
    else:
        shutil.rmtree(top, ignore_errors=True)
    sys.exit(1 if counts.get("fail") or not counts.get("success") else 0)


if __name__ == "__main__":
    main()
