"""Availability zones (#1001-#1003) and extensions (#104-#105)."""
from __future__ import annotations

import dataclasses
import re

import pytest

from nodecompute.domain.models import utcnow
from nodecompute.api import extensions
from nodecompute.api.keys import config_key
from nodecompute.app import create_app, store_key
from nodecompute.db import identity as identity_db
from nodecompute.identity import accounts
from tests.api.helpers import Api, assert_fault

USEC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
async def zoned_api(aiohttp_client, cfg):
    """The app with a non-default zone and host name from the config."""
    compute = dataclasses.replace(cfg.compute, availability_zone="zone-a", host_name="node1")
    client = await aiohttp_client(create_app(dataclasses.replace(cfg, compute=compute), with_servers=False))
    return Api(client)


# ----- availability zones ------------------------------------------------------------------------------------------

async def test_zone_list(api, make_user):
    reader = await make_user("az-project", "reader")
    resp = await api.get("/os-availability-zone", reader)
    assert resp.status == 200
    assert await resp.json() == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}


async def test_zone_detail_admin_only(zoned_api, make_user):
    admin = await zoned_api.token("admin", "admin-secret", "admin")
    resp = await zoned_api.get("/os-availability-zone/detail", admin)
    assert resp.status == 200
    zones = {z["zoneName"]: z for z in (await resp.json())["availabilityZoneInfo"]}
    assert set(zones) == {"internal", "zone-a"}
    assert zones["zone-a"]["zoneState"] == {"available": True}
    assert set(zones["zone-a"]["hosts"]) == {"node1"}
    compute = zones["zone-a"]["hosts"]["node1"]["nova-compute"]
    assert compute["available"] is True and compute["active"] is True and USEC_TIME.match(compute["updated_at"])
    assert set(zones["internal"]["hosts"]["node1"]) == {"nova-conductor", "nova-scheduler"}
    member_token = await _member(zoned_api)
    await assert_fault(await zoned_api.get("/os-availability-zone/detail", member_token), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.")


async def _member(api):
    """A member token in a new project of `api`'s app (make_user is bound to the default `api` app)."""
    app = api.client.server.app

    def create(db):
        identity_db.create_project(db, "az-members", now=utcnow())
        accounts.create_user(db, app[config_key], "az-member", "az-members", "member", "pw-az-member",
                             now=utcnow())

    await app[store_key].write(create)
    return await api.token("az-member", "pw-az-member", "az-members")


async def test_show_one_zone(zoned_api):
    admin = await zoned_api.token("admin", "admin-secret", "admin")
    resp = await zoned_api.get("/os-availability-zone/zone-a", admin)
    assert resp.status == 200
    assert await resp.json() == {
        "availabilityZoneInfo": [{"zoneName": "zone-a", "zoneState": {"available": True}, "hosts": None}]}
    for name in ("nova", "internal", "Zone-A"):
        await assert_fault(await zoned_api.get(f"/os-availability-zone/{name}", admin), 404, "itemNotFound",
                           f"Availability zone {name} could not be found.")


# ----- extensions --------------------------------------------------------------------------------------------------

def _expected_view(alias):
    ext = extensions.BY_ALIAS[alias]
    return {"name": ext.name, "alias": alias, "description": ext.description,
            "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2014-12-03T00:00:00Z",
            "links": []}


async def test_extension_list_holds_only_implemented_aliases(api, make_user):
    token = await make_user("ext-project", "reader")
    resp = await api.get("/extensions", token)
    assert resp.status == 200
    listed = (await resp.json())["extensions"]
    aliases = [e["alias"] for e in listed]
    assert aliases == sorted(extensions.IMPLEMENTED)
    assert {"os-keypairs", "os-availability-zone", "os-quota-sets", "os-quota-class-sets", "os-used-limits",
            "os-used-limits-for-admin", "os-extended-quotas", "os-flavor-manage", "OS-FLV-EXT-DATA"} <= set(aliases)
    assert "os-volumes" not in aliases and "os-server-groups" not in aliases
    assert listed == [_expected_view(alias) for alias in aliases]
    keypairs = next(e for e in listed if e["alias"] == "os-keypairs")
    assert (keypairs["name"], keypairs["description"]) == ("Keypairs", "Keypair Support.")


async def test_extension_show_exact_alias(api, make_user):
    token = await make_user("ext-project")
    resp = await api.get("/extensions/OS-FLV-DISABLED", token)
    assert resp.status == 200
    assert await resp.json() == {"extension": _expected_view("OS-FLV-DISABLED")}
    for alias in ("os-flavor-disabled", "OS-KEYPAIRS", "os-volumes", "NMN", "no-such-extension"):
        await assert_fault(await api.get(f"/extensions/{alias}", token), 404, "itemNotFound",
                           "The resource could not be found.")


async def test_an_implemented_alias_is_served(api, make_user, monkeypatch):
    """A feature serves an alias by adding it to IMPLEMENTED (implement() went with issue 7's dead code; that
    IMPLEMENTED names only known aliases is test_table_covers_rows)."""
    token = await make_user("ext-project")
    await assert_fault(await api.get("/extensions/os-shelve", token), 404)
    monkeypatch.setattr(extensions, "IMPLEMENTED", extensions.IMPLEMENTED | {"os-shelve"})
    resp = await api.get("/extensions/os-shelve", token)
    assert resp.status == 200 and (await resp.json())["extension"]["name"] == "Shelve"
    listed = [e["alias"] for e in (await (await api.get("/extensions", token)).json())["extensions"]]
    assert "os-shelve" in listed


def test_table_covers_rows():
    assert len(extensions.EXTENSIONS) == len(extensions.BY_ALIAS) == 81
    assert all(ext.rows and ext.name and ext.description for ext in extensions.EXTENSIONS)
    assert extensions.IMPLEMENTED <= set(extensions.BY_ALIAS)


async def test_zone_and_extension_paths_need_a_token(api):
    for path in ("/os-availability-zone", "/extensions", "/limits", "/os-quota-class-sets/default"):
        assert (await api.get(path)).status == 401, path
