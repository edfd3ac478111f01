"""Cyclades images and keypairs (dialects.md D46, D52, D53, D66, D67): the seed 000 examples against images and
keypairs the tests make, the changes-since window with the app's clock, and the ?xml read-back."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.app import create_app
from nodecompute.domain.models import isotime
from tests.api.cyclades_fixtures import Cyc
from tests.api.helpers import Api, assert_fault, upload_raw_image


@pytest.fixture
async def cyc(api: Api) -> Cyc:
    return Cyc(api, await api.token("admin", "admin-secret", "admin"))


async def _xml_equal(cyc: Cyc, path: str, body: dict) -> None:
    resp = await cyc.get(path + ("&xml" if "?" in path else "?xml"))
    assert resp.status == 200, await resp.text()
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(body)


async def test_image_list_detail_and_show(api, cyc):
    # seed 000 lines 2150-2200 (Example List Image (detail)) and 2244 (Get Image Details), D52, D66, D67
    image = await upload_raw_image(api.client.server.app, cyc.token)
    brief = await cyc.ok("GET", "/images")
    [entry] = [i for i in brief["images"] if i["id"] == image]
    assert set(entry) == {"id", "name", "links"} and [link["rel"] for link in entry["links"]] == [
        "self", "bookmark", "alternate"]
    await _xml_equal(cyc, "/images", brief)
    detail = await cyc.ok("GET", "/images/detail")
    [shown] = [i for i in detail["images"] if i["id"] == image]
    assert set(shown) == {"id", "name", "links", "status", "progress", "created", "updated", "metadata"}
    assert shown["status"] == "ACTIVE" and shown["progress"] == 100 and shown["created"].endswith("+00:00")
    assert len(shown["created"]) == len("2013-03-02T12:21:00+00:00")
    await _xml_equal(cyc, "/images/detail", detail)
    one = await cyc.ok("GET", f"/images/{image}")
    assert one == {"image": shown}
    await _xml_equal(cyc, f"/images/{image}", one)


async def test_image_changes_since_window_and_304(aiohttp_client, cfg):
    # seed 000 lines 2136-2150 (changes-since in [-POLL_LIMIT, now], 304 when nothing changed), D52; a moved clock
    moments = [datetime(2026, 1, 1, 12, 0, 0)]
    api = Api(await aiohttp_client(create_app(cfg, with_servers=False, clock=lambda: moments[0])))
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    image = await upload_raw_image(api.client.server.app, cyc.token)
    moments[0] += timedelta(minutes=10)
    listed = await cyc.ok("GET", f"/images/detail?changes-since={isotime(moments[0] - timedelta(minutes=11))}")
    assert [i["id"] for i in listed["images"]] == [image]
    resp = await cyc.get(f"/images/detail?changes-since={isotime(moments[0] - timedelta(minutes=5))}")
    assert resp.status == 304 and await resp.read() == b""
    for outside in (moments[0] - timedelta(seconds=3601), moments[0] + timedelta(seconds=1)):
        await assert_fault(await cyc.get(f"/images?changes-since={isotime(outside)}"), 400, "badRequest")


async def test_image_metadata_codes(api, cyc):
    # seed 000 lines 2465 (Update Image Metadata Request: 201), 2548 (Get Image Metadata Item), 2585/2615 (item)
    image = await upload_raw_image(api.client.server.app, cyc.token)
    path = f"/images/{image}/metadata"
    merged = await cyc.ok("POST", path, 201, json={"metadata": {"NewAttr": "Value"}})
    assert merged["metadata"]["NewAttr"] == "Value"
    assert await cyc.ok("PUT", f"{path}/OS", 201, json={"metadata": {"OS": "Debian"}}) == {"metadata": {"OS": "Debian"}}
    assert await cyc.ok("GET", f"{path}/OS") == {"metadata": {"OS": "Debian"}}
    assert (await cyc.delete(f"{path}/OS")).status == 204
    await assert_fault(await cyc.put(path, json={"metadata": {}}), 400, "badRequest")


async def test_keypair_codes_and_views(api, cyc):
    # seed 000 lines 2790-2800 (Example Create Keypair), 2690-2705 (List), 2860-2875 (Details), 2891 (Delete 204)
    created = (await cyc.ok("POST", "/os-keypairs", 201, json={"keypair": {"name": "create_key"}}))["keypair"]
    assert set(created) == {"fingerprint", "name", "private_key", "public_key"}
    listed = await cyc.ok("GET", "/os-keypairs")
    assert listed == {"keypairs": [{"keypair": {k: created[k] for k in ("fingerprint", "name", "public_key")}}]}
    await _xml_equal(cyc, "/os-keypairs", listed)
    shown = (await cyc.ok("GET", "/os-keypairs/create_key"))["keypair"]
    assert set(shown) == {"created_at", "deleted", "deleted_at", "fingerprint", "id", "name", "public_key",
                          "updated_at"}
    assert isinstance(shown["id"], int) and "+" not in shown["created_at"] and shown["deleted"] is False
    await _xml_equal(cyc, "/os-keypairs/create_key", {"keypair": shown})
    assert (await cyc.delete("/os-keypairs/create_key")).status == 204
    await assert_fault(await cyc.get("/os-keypairs/create_key"), 404, "itemNotFound")
