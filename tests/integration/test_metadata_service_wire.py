"""The metadata service on the wire (issue 16), proved by the test guest booted WITHOUT a config drive.

One daemon (force_config_drive off) and one guest for the module, on a project network whose subnet is plugged
into a router, in a security group whose every egress rule was removed (only an ingress rule for the guest's relay
port is left). The guest's init fetches meta_data.json, user_data and the EC2 instance-id from 169.254.169.254
through its gateway: the router namespace redirects port 80 to the daemon's listener there. Its user data is a
relay (busybox nc) from its port 8080 to 169.254.169.254:80, so a stand-in host (a namespace on a veth in the
network's bridge, with the address of a port reserved for it) can make requests that reach the service with the
guest's own source address: cloud-init's OpenStack datasource (Debian's cloud-init, system python) reads the
metadata through it, and forged headers and query strings change nothing. The stand-in asking the service
directly (from an address that is no server's) gets nothing; the guest claiming that address, or a second
guest's, gets nothing either (anti-spoofing drops the packets). Then the router interface goes: the subnet's DHCP options get the option 121
route to the DHCP port, the guest renews its lease and reads its metadata from the DHCP namespace's listener.

Needs root and the host networking tools, like test_servers_network_guest.py.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest

from nodecompute.hostnet import bridge_name
from tests.integration import guest_channel
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon
from tests.integration.test_configdrive_readers import SYSTEM_PYTHON

pytestmark = pytest.mark.integration

RELAY_PORT = 8080
USER_DATA = (f"#!/bin/sh\n# relays the host's requests to the metadata service, from this guest's address\n"
             f"nc -ll -p {RELAY_PORT} -e nc 169.254.169.254 80 </dev/null >/dev/null 2>&1 &\n"
             f"echo relaying {RELAY_PORT}\n").encode()
META = {"role": "wire-test"}

READER = r"""
import base64, json, sys
from cloudinit import url_helper
from cloudinit.sources.helpers import ec2
from cloudinit.sources.helpers.openstack import MetadataReader
url = sys.argv[1]
available, _ = url_helper.wait_for_url(urls=[url_helper.combine_url(url, "openstack")], max_wait=20, timeout=5)
reader = MetadataReader(url, timeout=5, retries=2)
reader._read_ec2_metadata = lambda: ec2.get_instance_metadata(metadata_address=url, timeout=5, retries=2)
found = reader.read_v2()
md = dict(found["metadata"])
md.pop("random_seed")
print(json.dumps({"available": available, "metadata": md, "userdata": base64.b64encode(found["userdata"]).decode(),
                  "networkdata": found["networkdata"], "ec2": found["ec2-metadata"],
                  "vendordata": found["vendordata"], "files": sorted(found["files"])}))
"""


def _ip(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *argv], capture_output=True, text=True, check=check, timeout=30)


class StandIn:
    """A namespace whose eth0 is a veth into the network's bridge, with a port's address (not a server's)."""

    def __init__(self, bridge: str, mac: str, address: str, prefixlen: int) -> None:
        tag = uuid.uuid4().hex[:8]
        self.namespace, self.host_end = f"ncmds-{tag}", f"ncm{tag}"
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.host_end, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        _ip("link", "set", self.host_end, "master", bridge, "up")
        for argv in (("link", "set", "lo", "up"), ("link", "set", "eth0", "address", mac, "up"),
                     ("addr", "add", f"{address}/{prefixlen}", "dev", "eth0")):
            self.run("ip", *argv, check=True)

    def run(self, *argv: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run(["ip", "netns", "exec", self.namespace, *argv], capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0 or not check, done.stdout + done.stderr
        return done

    def http(self, method: str, url: str, *headers: str, body: str | None = None) -> tuple[int, str]:
        """One request with busybox-free curl-less python: (status, body)."""
        code = ("import sys, urllib.request, urllib.error\n"
                "method, url, body = sys.argv[1], sys.argv[2], sys.argv[3]\n"
                "req = urllib.request.Request(url, method=method, data=body.encode() if body != '-' else None)\n"
                "for h in sys.argv[4:]: k, v = h.split(': ', 1); req.add_header(k, v)\n"
                "try:\n    r = urllib.request.urlopen(req, timeout=8); print(r.status); print(r.read().decode())\n"
                "except urllib.error.HTTPError as e:\n    print(e.code)\n"
                "except OSError as e:\n    print(0); print(e)\n")
        done = self.run(SYSTEM_PYTHON, "-c", code, method, url, "-" if body is None else body, *headers, check=True)
        status, _, text = done.stdout.partition("\n")
        return int(status), text.rstrip("\n")

    def remove(self) -> None:
        _ip("link", "del", self.host_end, check=False)
        _ip("netns", "del", self.namespace, check=False)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon"), extra="force_config_drive = false\n").start()
    yield d
    d.close()


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


@pytest.fixture(scope="module")
def lab(cloud, daemon) -> dict:
    """The network, its subnet plugged into a router, the egress-less group, the guest and the stand-in."""
    started = time.monotonic()
    network = _neutron(cloud, "POST", "/networks", {"network": {"name": "mds"}}, 201)["network"]
    subnet = _neutron(cloud, "POST", "/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                                             "cidr": str(daemon.subnet_range)}}, 201)["subnet"]
    router = _neutron(cloud, "POST", "/routers", {"router": {"name": "mds-router"}}, 201)["router"]
    _neutron(cloud, "PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    group = _neutron(cloud, "POST", "/security-groups", {"security_group": {"name": "no-egress"}}, 201)
    group = group["security_group"]
    for rule in group["security_group_rules"]:
        _neutron(cloud, "DELETE", f"/security-group-rules/{rule['id']}", status=204)
    _neutron(cloud, "POST", "/security-group-rules", {"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "ethertype": "IPv4",
        "port_range_min": RELAY_PORT, "port_range_max": RELAY_PORT}}, 201)
    image_id = cloud.import_guest(properties={"nodecompute_test_channel": "yes"})
    imported = time.monotonic()
    server_id = cloud.create_server(name="mds-guest", imageRef=image_id, flavorRef="42", config_drive=False,
                                    networks=[{"uuid": network["id"]}], security_groups=[{"name": "no-egress"}],
                                    metadata=META, user_data=base64.b64encode(USER_DATA).decode())["server"]["id"]
    reserved = _neutron(cloud, "POST", "/ports", {"port": {"network_id": network["id"], "name": "stand-in"}},
                        201)["port"]
    stand_in = StandIn(bridge_name(network["id"]), reserved["mac_address"], reserved["fixed_ips"][0]["ip_address"],
                       int(subnet["cidr"].split("/")[1]))
    try:
        server = cloud.wait_status(server_id, "ACTIVE")
        active = time.monotonic()
        report = cloud.wait_report(server_id, last_line="userscript out relaying 8080")
        print(f"\nmetadata wire guest: network, router, group and image {imported - started:.1f}s, build "
              f"{active - imported:.1f}s, boot to the relay {time.monotonic() - active:.1f}s")
        yield {"network": network, "subnet": subnet, "router": router, "server": server, "report": report,
               "stand_in": stand_in, "reserved": reserved}
    finally:
        stand_in.remove()


def _guest_ip(cloud: Cloud, server_id: str) -> str:
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server_id}")["ports"]
    return port["fixed_ips"][0]["ip_address"]


def test_the_guest_without_a_drive_reads_its_metadata_through_the_router(cloud, lab):
    server, report = lab["server"], lab["report"]
    assert server["config_drive"] == ""
    lines = report.lines
    assert lines.index("configdrive=none") < lines.index("source=metadata-service") < lines.index(
        f"uuid={server['id']}")
    assert report.value("name=") == "mds-guest"
    assert report.values("meta ") == ["role=wire-test"]
    assert report.value("userdata ") == hashlib.sha256(USER_DATA).hexdigest()
    serial = json.loads(base64.b64decode(report.value("metajson ")))
    assert serial["uuid"] == server["id"] and "admin_pass" not in serial
    assert report.value("instance-id=").startswith("i-") and len(report.value("instance-id=")) == 10
    # its route to 169.254.169.254 is the default route through the router (no option 121 on a routed subnet)
    assert report.value("nic eth0 ").endswith(f"gw={lab['subnet']['gateway_ip']}")


def test_cloud_init_reads_the_guests_metadata_over_the_wire(cloud, lab):
    url = f"http://{_guest_ip(cloud, lab['server']['id'])}:{RELAY_PORT}"
    started = time.monotonic()
    done = lab["stand_in"].run(SYSTEM_PYTHON, "-c", READER, url, check=True, timeout=120)
    print(f"\ncloud-init through the guest's relay: {time.monotonic() - started:.1f}s")
    found = json.loads(done.stdout)
    server = lab["server"]
    assert found["available"] == f"{url}/openstack"
    assert found["metadata"]["uuid"] == server["id"] and found["metadata"]["meta"] == META
    assert found["metadata"]["name"] == "mds-guest" and "admin_pass" not in found["metadata"]
    assert base64.b64decode(found["userdata"]) == USER_DATA
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server['id']}")["ports"]
    assert [link["ethernet_mac_address"] for link in found["networkdata"]["links"]] == [port["mac_address"]]
    assert found["ec2"]["instance-id"] == lab["report"].value("instance-id=")
    assert found["ec2"]["local-ipv4"] == port["fixed_ips"][0]["ip_address"]


def test_forged_claims_change_nothing_and_strangers_get_nothing(cloud, lab):
    stand_in, server_id = lab["stand_in"], lab["server"]["id"]
    url = f"http://{_guest_ip(cloud, server_id)}:{RELAY_PORT}/openstack/latest/meta_data.json"
    other = str(uuid.uuid4())
    status, body = stand_in.http("GET", f"{url}?uuid={other}", f"X-Instance-ID: {other}",
                                 f"X-Forwarded-For: {lab['reserved']['fixed_ips'][0]['ip_address']}")
    assert status == 200 and json.loads(body)["uuid"] == server_id
    # the stand-in asks the service itself, from its own address (a port, no server's): 404 through the router
    stand_in.run("ip", "route", "add", "default", "via", lab["subnet"]["gateway_ip"], check=True)
    assert stand_in.http("GET", "http://169.254.169.254/openstack/latest/meta_data.json")[0] == 404
    assert stand_in.http("GET", "http://169.254.169.254/")[0] == 200  # the version list is everybody's (Nova)


def test_a_guest_claiming_another_address_gets_nothing(cloud, daemon, lab):
    """The guest claims a bare port's address, then a second guest's: anti-spoofing drops both, so the second
    guest's metadata (which the service would hand to its address) never reaches the first."""
    other = cloud.create_server(name="mds-other", imageRef=lab["server"]["image"]["id"], flavorRef="42",
                                config_drive=False, networks=[{"uuid": lab["network"]["id"]}],
                                metadata={"role": "the-other-guest"})["server"]["id"]
    try:
        cloud.wait_status(other, "ACTIVE")  # its port is bound: the service answers its address with its documents
        cloud.post(f"/servers/{other}/action", {"os-stop": None})  # no need to let it boot
        for stranger in (lab["reserved"]["fixed_ips"][0]["ip_address"], _guest_ip(cloud, other)):
            command = (f"ip addr add {stranger}/32 dev eth0 && ip route replace 169.254.169.254/32 via "
                       f"{lab['subnet']['gateway_ip']} dev eth0 src {stranger} && "
                       f"/etc/nodecompute/mds-get /openstack/latest/meta_data.json; rc=$?; "
                       f"ip route del 169.254.169.254/32; ip addr del {stranger}/32 dev eth0; exit $rc")
            answer = guest_channel.run(cloud, daemon, lab["server"], command)
            seen = " ".join(answer.out)
            assert answer.rc != 0 and lab["server"]["id"] not in seen and other not in seen, (stranger, answer)
            assert "the-other-guest" not in seen, answer
    finally:
        assert cloud.delete(f"/servers/{other}").status_code == 204
    again = guest_channel.run(cloud, daemon, lab["server"], "/etc/nodecompute/mds-get /latest/meta-data/instance-id")
    assert again.rc == 0 and again.out == [lab["report"].value("instance-id=")], again
    cloud.wait_gone(other)


def test_the_guest_posts_its_password_once_and_the_compute_api_shows_and_clears_it(cloud, lab):
    url = f"http://{_guest_ip(cloud, lab['server']['id'])}:{RELAY_PORT}/openstack/latest/password"
    assert lab["stand_in"].http("POST", url, body="ciphertext-1") == (200, "")
    assert lab["stand_in"].http("POST", url, body="ciphertext-2")[0] == 409
    assert lab["stand_in"].http("GET", url) == (200, "ciphertext-1")
    path = f"/servers/{lab['server']['id']}/os-server-password"
    assert cloud.get(path).json() == {"password": "ciphertext-1"}  # os-server-password (#1604)
    assert cloud.delete(path).status_code == 204  # #1605: cleared, the guest may post again
    assert lab["stand_in"].http("POST", url, body="ciphertext-2") == (200, "")
    assert cloud.get(path).json() == {"password": "ciphertext-2"}


def test_without_the_router_the_dhcp_port_serves_it_by_option_121(cloud, daemon, lab):
    network, subnet, server = lab["network"], lab["subnet"], lab["server"]
    _neutron(cloud, "PUT", f"/routers/{lab['router']['id']}/remove_router_interface", {"subnet_id": subnet["id"]})
    (dhcp,) = _neutron(cloud, "GET", f"/ports?network_id={network['id']}&device_owner=network:dhcp")["ports"]
    dhcp_ip = dhcp["fixed_ips"][0]["ip_address"]
    opts = (daemon.dhcp_dir(network["id"]) / "opts").read_text()
    assert f"169.254.169.254/32,{dhcp_ip}" in opts
    answer = guest_channel.run(cloud, daemon, server, "kill -USR1 $(pidof udhcpc); sleep 2; "
                                                      "ip route get 169.254.169.254")
    assert answer.rc == 0 and f"via {dhcp_ip}" in " ".join(answer.out), answer
    answer = guest_channel.run(cloud, daemon, server, "/etc/nodecompute/mds-get /openstack/latest/meta_data.json")
    assert answer.rc == 0 and json.loads("".join(answer.out))["uuid"] == server["id"], answer
    assert os.path.exists(f"/run/netns/{daemon.network_prefix}-qdhcp-{network['id']}")
