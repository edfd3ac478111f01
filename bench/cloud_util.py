"""Driving a running daemon through HTTP the way a user would: token from clouds.yaml, the test guest imported
with `nodecompute image import`, servers created and waited for, and the guest's NCGUEST report read back
through os-getConsoleOutput. Shared by the benchmarks and the integration tests (tests/integration/cloud.py re-exports
it): nothing here imports a test module."""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.daemon_util import REPO, Daemon

GUEST_IMAGE = REPO / "images" / "out" / "nodecompute-testguest.qcow2"
BOOT_TIMEOUT = 180.0


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def guest_image() -> Path:
    """The cached test guest (images/build.sh builds it once; scripts/test.sh runs it before pytest)."""
    out = subprocess.run(["bash", str(REPO / "images" / "build.sh")], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


@dataclass
class GuestReport:
    lines: list[str]

    def values(self, prefix: str) -> list[str]:
        return [line[len(prefix):] for line in self.lines if line.startswith(prefix)]

    def value(self, prefix: str) -> str:
        found = self.values(prefix)
        assert len(found) == 1, f"expected one {prefix!r} line, got {found}\n" + "\n".join(self.lines)
        return found[0]


def guest_lines(console: str) -> list[str]:
    lines = []
    for raw in console.splitlines():
        start = raw.find("NCGUEST ")
        if start >= 0:
            lines.append(raw[start + len("NCGUEST "):].rstrip("\r"))
    return lines


class LightCompute:
    """JSON over one keep-alive http.client connection to the compute API, for a benchmark's timed requests.

    On a 2-core host the client's own CPU competes with the daemon and the starting guest it measures: a status GET
    through requests costs its caller ~0.47 ms of CPU, through http.client ~0.11 ms (bench/boot_nic.py polls every
    20 ms, ~13 times during a guest's start)."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"X-Auth-Token": token, "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """(status, parsed JSON body or {}) of `method /compute/v2.1<path>`."""
        headers = self.headers if body is None else {**self.headers, "Content-Type": "application/json"}
        self.conn.request(method, "/compute/v2.1" + path, None if body is None else json.dumps(body), headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else {}

    def close(self) -> None:
        self.conn.close()


class Cloud:
    """An authenticated HTTP session on one daemon, as the project's admin (or another user)."""

    def __init__(self, daemon: Daemon, username: str | None = None, password: str | None = None,
                 project: str | None = None) -> None:
        self.daemon = daemon
        auth = daemon.cloud()["auth"]
        self.http = requests.Session()
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": username or auth["username"], "password": password or auth["password"],
            "domain": {"id": "default"}}}},
            "scope": {"project": {"name": project or auth["project_name"], "domain": {"id": "default"}}}}}
        resp = self.http.post(f"{daemon.url}/identity/v3/auth/tokens", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        self.http.headers["X-Auth-Token"] = resp.headers["X-Subject-Token"]
        self.project_id = resp.json()["token"]["project"]["id"]

    def light(self) -> "LightCompute":
        """A second, lighter HTTP client on the compute API with this session's token (see LightCompute)."""
        return LightCompute(self.daemon.url, self.http.headers["X-Auth-Token"])

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, f"{self.daemon.url}/compute/v2.1{path}", timeout=60, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: dict, **kwargs) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def import_guest(self, name: str = "testguest", properties: dict[str, str] | None = None,
                     path: Path | None = None) -> str:
        """`nodecompute image import` of the test guest (or the image at `path`), as the README tells operators to
        do; returns its id."""
        props = [arg for key, value in (properties or {}).items() for arg in ("--property", f"{key}={value}")]
        out = subprocess.run(
            [sys.executable, "-m", "nodecompute", "--config", str(self.daemon.config), "image", "import",
             str(path or guest_image()), "--name", name, "--public", *props],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 0, out.stderr
        images = self.get("/images").json()["images"]
        return next(i["id"] for i in images if i["name"] == name)

    def create_server(self, **server) -> dict:
        resp = self.post("/servers", {"server": server})
        assert resp.status_code == 202, resp.text
        return resp.json()

    def server(self, server_id: str) -> dict:
        resp = self.get(f"/servers/{server_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()["server"]

    def wait_status(self, server_id: str, *wanted: str, timeout: float = BOOT_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            server = self.server(server_id)
            if server["status"] in wanted and server.get("OS-EXT-STS:task_state") is None:
                return server
            assert server["status"] != "ERROR" or "ERROR" in wanted, server.get("fault")
            assert time.monotonic() < deadline, f"server {server_id} still {server['status']}/" \
                                                f"{server.get('OS-EXT-STS:task_state')} after {timeout}s"
            time.sleep(0.2)

    def wait_gone(self, server_id: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.get(f"/servers/{server_id}").status_code != 404:
            assert time.monotonic() < deadline, f"server {server_id} not gone after {timeout}s"
            time.sleep(0.2)

    def console(self, server_id: str, length: int | None = None) -> str:
        action: dict = {} if length is None else {"length": length}
        resp = self.post(f"/servers/{server_id}/action", {"os-getConsoleOutput": action})
        assert resp.status_code == 200, resp.text
        return resp.json()["output"]

    def wait_report(self, server_id: str, last_line: str = "ready", count: int = 1,
                    timeout: float = BOOT_TIMEOUT) -> GuestReport:
        """The guest's NCGUEST lines once `last_line` has been printed `count` times (one per boot)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = guest_lines(self.console(server_id))
            if lines.count(last_line) >= count:
                return GuestReport(lines)
            assert time.monotonic() < deadline, f"guest printed {lines.count(last_line)} x {last_line!r} " \
                                                f"within {timeout}s:\n" + self.console(server_id, 40)
            time.sleep(0.5)

    def boots(self, server_id: str) -> list[GuestReport]:
        """The console split per boot (each boot starts with its boot= line)."""
        reports: list[GuestReport] = []
        for line in guest_lines(self.console(server_id)):
            if line.startswith("boot="):
                reports.append(GuestReport([]))
            if reports:
                reports[-1].lines.append(line)
        return reports
