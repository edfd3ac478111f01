"""Cyclades server stats (#1902, #1903; D10, D14, D49) through the API on libvirt's test driver: the answer's keys
and URLs, the graphs as PNGs behind the token in the URL (no X-Auth-Token), 404 for a token the daemon did not
make, 400 for a deleted server and 403 for a suspended one. The sampler's series are tests/unit's; the CPU bar of a
busy guest is the integration test's."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from nodecompute.api.keys import servers_key
from tests.api.cyclades_fixtures import Cyc, api, made, servers_api  # noqa: F401 (fixtures)
from tests.api.helpers import assert_fault

PNG = b"\x89PNG\r\n\x1a\n"


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_stats_example_and_graphs(api, made):
    # seed 000 lines 815-826 (Example Get Server Stats Response)
    cyc, serial = made
    stats = (await cyc.ok("GET", f"/servers/{serial}/stats"))["stats"]
    assert set(stats) == {"serverRef", "refresh", "cpuBar", "cpuTimeSeries", "netBar", "netTimeSeries"}
    assert stats["serverRef"] == int(serial) and stats["refresh"] == 60
    for key, graph in (("cpuBar", "cpu-bar"), ("cpuTimeSeries", "cpu-ts"), ("netBar", "net-bar"),
                       ("netTimeSeries", "net-ts")):
        assert stats[key].endswith(f"/{graph}.png") and "/cyclades/stats/" in stats[key]
        resp = await api.client.get(_path(stats[key]))  # an <img>: no token
        assert resp.status == 200 and resp.content_type == "image/png"
        assert (await resp.read()).startswith(PNG)
    forged = stats["cpuBar"].replace("/cpu-bar.png", "x/cpu-bar.png")
    assert (await api.client.get(_path(forged))).status == 404
    assert (await api.client.get(_path(stats["cpuBar"].replace("cpu-bar", "mem-bar")))).status == 404
    resp = await cyc.get(f"/servers/{serial}/stats?xml")
    assert resp.status == 200 and resp.content_type == "application/xml"


async def test_stats_of_deleted_and_suspended_servers(api, made, make_user):
    # D10 (deleted: 400 "machine already deleted"), D14 (suspended: 403)
    cyc, serial = made
    owner = Cyc(api, await make_user("admin", "member"))
    assert (await cyc.post(f"/servers/{serial}/action", json={"SNF:suspend": {"suspended": True}})).status == 204
    await assert_fault(await owner.get(f"/servers/{serial}/stats"), 403, "forbidden")
    assert (await cyc.delete(f"/servers/{serial}")).status == 204
    await api.client.server.app[servers_key].wait_idle()
    await assert_fault(await cyc.get(f"/servers/{serial}/stats"), 400, "badRequest", "machine already deleted")
