"""The Cyclades dialect on a real guest (issue 23's Proof): one guest made through /cyclades on the external network
("public", the daemon's), with the command channel, on a daemon sampling the stats graphs every 2 s. The console
action's one-shot VNC proxy opened by a plain RFB client (VNC authentication, ServerInit, a framebuffer update from
the guest's display), its port refusing a second connection and a new console refusing the previous password; the
CPU bar of cpu-bar.png (its pixels in the bar colour) at least twice as tall while the guest runs a busy loop as
when idle; firewallProfile's rule sets seen from an "outside" namespace on the external network: DISABLED lets a
TCP port the guest listens on through, ENABLED drops it, PROTECTED drops it but lets TCP 22 in.

Needs root and the host networking tools, like test_servers_network_guest.py (whose fixtures' shapes this follows).
"""
from __future__ import annotations

import asyncio
import io
import secrets
import time

import pytest
import requests
from PIL import Image

from nodecompute.compute.graphs import BAR_COLOUR, CPU_BAR_WIDTH
from nodecompute.hostnet import bridge_name
from tests.integration import guest_channel
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon
from tests.integration.test_routers_cli import Standin
from tests.rfb_client import Viewer, first_update

pytestmark = pytest.mark.integration
SERVED, SSH = 8080, 22  # the TCP ports the guest listens on
INTERVAL = 2  # seconds between the stats samples ([compute] stats_interval), so a bar follows the load quickly


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon"), external_network=True, extra=f"stats_interval = {INTERVAL}\n")
    try:
        yield d.start()
    finally:
        d.close()


def cyclades(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/cyclades/compute/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


@pytest.fixture(scope="module")
def public(cloud) -> dict:
    (network,) = _neutron(cloud, "GET", "/networks?router:external=true")["networks"]
    return network


@pytest.fixture(scope="module")
def guest(cloud, daemon, public) -> dict:
    """The module's guest, made through /cyclades with a NIC on the public network, listening on SERVED and SSH;
    the default group lets both ports in, so what the firewall profile does is all that changes."""
    group = _neutron(cloud, "GET", f"/security-groups?name=default&project_id={cloud.project_id}")["security_groups"]
    for port in (SERVED, SSH):
        _neutron(cloud, "POST", "/security-group-rules", {"security_group_rule": {
            "security_group_id": group[0]["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp",
            "port_range_min": port, "port_range_max": port}}, 201)
    image_id = cloud.import_guest(properties={"nodecompute_test_channel": "yes"})
    made = cyclades(cloud, "POST", "/servers", {"server": {"name": "cyc-guest", "imageRef": image_id,
                                                           "flavorRef": 1, "networks": [{"uuid": public["id"]}]}})
    (listed,) = [s for s in cloud.get("/servers/detail?name=cyc-guest").json()["servers"]]
    server = cloud.wait_status(listed["id"], "ACTIVE")
    report = cloud.wait_report(server["id"])
    (nic,) = cyclades(cloud, "GET", f"/servers/{made['server']['id']}")["server"]["attachments"]
    if report.value("nic eth0 ").endswith("ip=none"):  # the external network serves no DHCP: its port's address
        assert guest_channel.run(cloud, daemon, server,
                                 f"ip addr add {nic['ipv4']}/{daemon.external.prefixlen} dev eth0").rc == 0
    for port in (SERVED, SSH):
        assert guest_channel.run(cloud, daemon, server, f"listen {port}").rc == 0
    return {"serial": made["server"]["id"], "server": server, "report": report, "nic": nic}


@pytest.fixture(scope="module")
def outside(daemon, public):
    """An "outside" namespace on the public network's bridge holding its .1."""
    standin = Standin(f"ncy{secrets.token_hex(2)}", bridge_name(public["id"]), None,
                      f"{daemon.external[1]}/{daemon.external.prefixlen}", None)
    try:
        yield standin
    finally:
        standin.close()


async def _viewer_update(host: str, port: int, password: str) -> tuple[int, bytes, int, int]:
    viewer = await Viewer.connect(port, host)
    try:
        result, reason = await viewer.authenticate(password.encode())
        if result:
            return result, reason, -1, 0
        width, height, _name = await viewer.init()
        kind, rectangles = await first_update(viewer, width, height)
        return result, reason, kind, rectangles
    finally:
        viewer.close()


async def _refused(host: str, port: int) -> bool:
    try:
        viewer = await Viewer.connect(port, host)
    except OSError:
        return True
    try:
        return await viewer.closed()
    finally:
        viewer.close()


def test_the_console_proxy_opens_the_guests_display_once(cloud, guest):
    # seed 000 lines 1777-1812 (Example Get Server Console, Example Action Console Response: type, host, port,
    # password); #1602
    console = cyclades(cloud, "POST", f"/servers/{guest['serial']}/action", {"console": {"type": "vnc"}})["console"]
    assert set(console) == {"type", "host", "port", "password"} and console["type"] == "vnc"
    result, reason, kind, rectangles = asyncio.run(_viewer_update(console["host"], console["port"],
                                                                  console["password"]))
    assert (result, reason) == (0, b"") and kind == 0 and rectangles >= 1  # a FramebufferUpdate of the display
    assert asyncio.run(_refused(console["host"], console["port"]))  # one connection per console call
    again = cyclades(cloud, "POST", f"/servers/{guest['serial']}/action", {"console": {"type": "vnc"}})["console"]
    assert again["password"] != console["password"]
    result, _reason, _kind, _rectangles = asyncio.run(_viewer_update(again["host"], again["port"],
                                                                     console["password"]))
    assert result == 1  # the previous password is refused


def _bar_rows(url: str) -> int:
    """The CPU bar's height in rows: cpu-bar.png's pixels in the bar colour over the bar's width (no token: an
    <img> sends none, the URL carries it)."""
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png", resp.text
    image = Image.open(io.BytesIO(resp.content)).convert("RGB")
    raw = image.tobytes()
    return sum(1 for i in range(0, len(raw), 3) if tuple(raw[i:i + 3]) == BAR_COLOUR) // CPU_BAR_WIDTH


def _bar_after_samples(url: str) -> int:
    """The bar once two more samples (and the 2 s graph cache) have passed."""
    time.sleep(3 * INTERVAL + 0.5)
    return _bar_rows(url)


def test_the_cpu_bar_is_taller_while_the_guest_is_busy(cloud, daemon, guest):
    # seed 000 lines 742-830 (Get Server Stats: serverRef, refresh, cpuBar, cpuTimeSeries, netBar, netTimeSeries);
    # #1902, #1903: the graph drawn from the counters the daemon samples
    stats = cyclades(cloud, "GET", f"/servers/{guest['serial']}/stats")["stats"]
    assert (stats["serverRef"], stats["refresh"]) == (int(guest["serial"]), INTERVAL)
    idle = _bar_after_samples(stats["cpuBar"])
    assert guest_channel.run(cloud, daemon, guest["server"], f"busy {4 * INTERVAL} >/dev/null 2>&1 &").rc == 0
    busy = _bar_after_samples(stats["cpuBar"])  # the loop ends soon after, before the firewall test
    assert busy >= 2 * idle and busy > idle, (idle, busy)


def _from_outside(outside: Standin, address: str, port: int) -> str:
    """What the outside namespace reads from address:port ("" when nothing answers within 2 s)."""
    return outside.run("busybox", "nc", "-w", "2", address, str(port), check=False).stdout.strip()


def test_firewall_profiles_filter_what_the_outside_reaches(cloud, guest, outside):
    # seed 000 line 1828 (Example Action firewallProfile) and issue 23's rule sets: DISABLED none, ENABLED drops
    # new inbound connections, PROTECTED lets TCP 22 in
    nic = guest["nic"]
    address = nic["ipv4"]
    hostname = guest["report"].value("hostname=")
    banner = {port: f"ncguest-banner host={hostname} port={port}" for port in (SERVED, SSH)}
    assert nic["firewallProfile"] == "DISABLED"
    assert {port: _from_outside(outside, address, port) for port in (SERVED, SSH)} == banner
    expected = {"ENABLED": {SERVED: "", SSH: ""}, "PROTECTED": {SERVED: "", SSH: banner[SSH]}, "DISABLED": banner}
    for profile, reached in expected.items():
        cyclades(cloud, "POST", f"/servers/{guest['serial']}/action",
                 {"firewallProfile": {"profile": profile, "nic": int(nic["id"])}}, 202)
        assert {port: _from_outside(outside, address, port) for port in (SERVED, SSH)} == reached, profile
