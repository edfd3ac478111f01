"""Fixtures of the Cyclades API tests: the whole app with servers on libvirt's test driver, and a client for
/cyclades/compute/v2.0 with a token."""
from __future__ import annotations

from typing import Any

import pytest

from nodecompute.api.keys import servers_key
from tests.api.helpers import Api, upload_raw_image
from tests.api.test_servers_api import servers_api  # noqa: F401 (the fixture: the whole app on test:///)

ROOT = "/cyclades/compute/v2.0"


class Cyc:
    """Requests to /cyclades/compute/v2.0 with one token."""

    def __init__(self, api: Api, token: str) -> None:
        self.api, self.client, self.token = api, api.client, token

    def request(self, method: str, path: str, **kw: Any):
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        return self.client.request(method, ROOT + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any):
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any):
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any):
        return self.request("DELETE", path, **kw)

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await self.request(method, path, **kw)
        assert resp.status == status, await resp.text()
        return await resp.json() if resp.content_length else None


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


@pytest.fixture
async def made(api) -> tuple[Cyc, str]:
    """The admin's Cyclades client and a server of theirs with no NIC, built."""
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = (await cyc.ok("POST", "/servers", json={"server": {"name": "vm", "imageRef": image, "flavorRef": 1,
                                                                "networks": []}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    return cyc, server["id"]
