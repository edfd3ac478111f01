"""The microversions the stock clients negotiate with a running daemon (issue 9's proof): python-novaclient at the
version `api_versions.discover_version(client, APIVersion("2.latest"))` picks, openstacksdk at its default (the
lower of the daemon's maximum and each resource's own cap)."""
from __future__ import annotations

import requests

from tests.integration.daemon import Daemon

NOVA_MINIMUM_MAX = "2.52"  # issue 9: the advertised maximum is at least this
SDK_SERVERS_CAP = "2.100"  # openstacksdk's own maximum for its compute resources (servers)


def version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def advertised_max(daemon: Daemon) -> str:
    """The `version` of the daemon's /v2.1 document (no token needed, as in Nova)."""
    resp = requests.get(f"{daemon.url}/compute/v2.1", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["version"]["version"]


def negotiated(daemon: Daemon, cap: str) -> str:
    """What a client whose own maximum is `cap` negotiates: the lower of it and the daemon's advertised maximum."""
    return min(advertised_max(daemon), cap, key=version_tuple)


def novaclient_cap() -> str:
    """python-novaclient's own maximum (2.96 in novaclient 18)."""
    import novaclient

    return novaclient.API_MAX_VERSION.get_string()


def novaclient_latest(session):
    """A novaclient Client at the version discover_version negotiates for "2.latest"."""
    from novaclient import api_versions
    from novaclient import client as nova_client

    probe = nova_client.Client("2.1", session=session)
    version = api_versions.discover_version(probe, api_versions.APIVersion("2.latest"))
    return nova_client.Client(version.get_string(), session=session)


def sdk_compute_version(conn, cap: str = SDK_SERVERS_CAP) -> str:
    """The microversion openstacksdk sends for a compute resource whose own cap is `cap` (servers: 2.100)."""
    from openstack import utils

    return utils.maximum_supported_microversion(conn.compute, cap)
