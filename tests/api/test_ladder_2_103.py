"""Ladder step 2.103 (issue 10; /os-volumes_boot belongs to the volumes feature, which does not serve it): up to 2.102
the route says it is not implemented yet; from 2.103 it answers the bare 404 of Nova's version check, as every
Nova route outside its microversion range does (the baremetal proxy from 2.36)."""
from __future__ import annotations

from tests.api.helpers import assert_fault

BARE = "The resource could not be found."


def at(version: str) -> dict[str, dict[str, str]]:
    return {"headers": {"OpenStack-API-Version": f"compute {version}"}}


async def test_2_103_os_volumes_boot_is_gone(ladder_api, admin_token):
    api = ladder_api
    for method, path in (("GET", "/os-volumes_boot"), ("GET", "/os-volumes_boot/detail"),
                         ("DELETE", "/os-volumes_boot/some-id")):
        fault = await assert_fault(await api.request(method, path, admin_token, **at("2.102")), 404, "itemNotFound")
        assert fault["message"].endswith("is not implemented yet by nodecompute."), fault
        await assert_fault(await api.request(method, path, admin_token, **at("2.103")), 404, "itemNotFound", BARE)
    fault = await assert_fault(await api.request("GET", "/os-volumes_boot", admin_token, version="v2"), 404)
    assert "not implemented yet" in fault["message"]  # legacy /v2 routes what 2.1 routes
    fault = await assert_fault(await api.get("/os-baremetal-nodes/n1", admin_token, **at("2.35")), 404)
    assert "not implemented yet" in fault["message"]
    await assert_fault(await api.get("/os-baremetal-nodes/n1", admin_token, **at("2.36")), 404, "itemNotFound", BARE)
