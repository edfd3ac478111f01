"""Test helpers: a thin client wrapper and the one fault-shape assertion every error test uses."""
from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

NOVA_FAULTS = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
    409: "conflictingRequest", 413: "overLimit", 415: "badMediaType", 501: "notImplemented",
}


async def assert_fault(resp, code: int, name: str | None = None, message: str | None = None) -> dict:
    """The response is a Nova fault: status `code`, JSON `{name: {"code": code, "message": ...}}`, request ids.

    `message`, when given, must be contained in the fault message.
    """
    assert resp.status == code, (resp.status, await resp.text())
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    body = await resp.json()
    name = name or NOVA_FAULTS.get(code, "computeFault")
    assert list(body) == [name], body
    fault = body[name]
    assert fault["code"] == code, body
    assert isinstance(fault["message"], str) and fault["message"], body
    if message is not None:
        assert message in fault["message"], (message, fault["message"])
    return fault


async def assert_keystone_error(resp, code: int, message: str | None = None) -> dict:
    assert resp.status == code, (resp.status, await resp.text())
    body = await resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code and body["error"]["title"] and body["error"]["message"], body
    if message is not None:
        assert message in body["error"]["message"]
    return body["error"]


class Api:
    """Wraps the aiohttp TestClient with the compute prefix and token handling."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def token(self, user: str, password: str, project: str) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        resp = await self.client.post("/identity/v3/auth/tokens", json=body)
        assert resp.status == 201, await resp.text()
        return resp.headers["X-Subject-Token"]

    def request(self, method: str, path: str, token: str | None = None, *, version: str = "v2.1",
                headers: dict[str, str] | None = None, **kwargs: Any):
        """`path` is relative to /compute/<version>, e.g. "/flavors/detail"."""
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["X-Auth-Token"] = token
        return self.client.request(method, f"/compute/{version}{path}", headers=hdrs, **kwargs)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.request("POST", path, token, **kw)

    def put(self, path, token=None, **kw):
        return self.request("PUT", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token, **kw)


async def upload_raw_image(app, token: str, size: int = 1 << 20) -> str:
    """An active raw image of `size` zero bytes, owned by the token's project, uploaded through the image service."""
    from nodecompute.api.keys import identity_key, images_key

    ctx = app[identity_key].validate(token)
    images = app[images_key]
    image = await images.create(ctx, {"name": "tiny", "disk_format": "raw", "container_format": "bare"}, {}, [])

    async def chunks():
        yield b"\0" * size

    await images.upload(ctx, image.id, chunks())
    return image.id


async def assert_neutron_fault(resp, code: int, type_: str, message: str | None = None) -> dict:
    """The response is Neutron's fault: status `code`, `{"NeutronError": {"type", "message", "detail": ""}}`.
    `message`, when given, must be the whole message."""
    assert resp.status == code, (resp.status, await resp.text())
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    body = await resp.json()
    assert list(body) == ["NeutronError"], body
    fault = body["NeutronError"]
    assert set(fault) == {"type", "message", "detail"} and fault["detail"] == "", body
    assert fault["type"] == type_, body
    if message is not None:
        assert fault["message"] == message, (message, fault["message"])
    return fault


class Net:
    """A client of the network face: paths relative to /networking/v2.0, one token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, **kwargs: Any):
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        return self.client.request(method, f"/networking/v2.0{path}", headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    async def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        resp = await self.request(method, path, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if status != 204 else None

    async def network(self, name: str = "net", **attrs: Any) -> dict:
        return (await self.ok("POST", "/networks", 201, json={"network": {"name": name, **attrs}}))["network"]

    async def subnet(self, network_id: str, cidr: str, **attrs: Any) -> dict:
        body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": 4, **attrs}}
        return (await self.ok("POST", "/subnets", 201, json=body))["subnet"]

    async def port(self, network_id: str, **attrs: Any) -> dict:
        return (await self.ok("POST", "/ports", 201, json={"port": {"network_id": network_id, **attrs}}))["port"]
