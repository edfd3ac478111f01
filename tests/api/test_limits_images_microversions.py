"""Limits, quota sets, quota classes and the image proxies across the ladder, each change shown at the version
before it and at it: 2.36 (the proxies end; limits and quota sets drop the network quotas), 2.39 (the image
metadata proxy and `maxImageMeta` end), 2.50 (quota classes show the server group quotas, drop the network ones),
2.57 (the injected-file keys end) and 2.7 (granting access to a public flavor: 403 before, Nova's 409 from 2.7)."""
from __future__ import annotations

import pytest

from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.test_limits_quotas import ABSOLUTE_DEFAULTS, DEFAULTS, whoami

NETWORK_LIMITS = {"maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules", "totalFloatingIpsUsed",
                  "totalSecurityGroupsUsed"}
NETWORK_QUOTAS = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}
SERVER_GROUP_QUOTAS = {"server_groups", "server_group_members"}


@pytest.fixture
async def api(ladder_api):
    return ladder_api


def at(version: str) -> dict[str, str]:
    return {"X-OpenStack-Nova-API-Version": version}


async def _absolute(api, token, version):
    resp = await api.get("/limits", token, headers=at(version))
    assert resp.status == 200
    return (await resp.json())["limits"]["absolute"]


async def test_2_36_and_2_39_limits_drop_the_network_keys_then_max_image_meta(api, make_user):
    token = await make_user("limits-ladder")
    assert await _absolute(api, token, "2.35") == ABSOLUTE_DEFAULTS
    without_network = {k: v for k, v in ABSOLUTE_DEFAULTS.items() if k not in NETWORK_LIMITS}
    assert await _absolute(api, token, "2.36") == await _absolute(api, token, "2.38") == without_network
    without_image_meta = {k: v for k, v in without_network.items() if k != "maxImageMeta"}
    assert await _absolute(api, token, "2.39") == without_image_meta


async def test_2_36_quota_sets_drop_the_network_quotas(api, make_user, admin_token):
    member = await make_user("quota-ladder")
    project_id = whoami(api, member).project_id
    path = f"/os-quota-sets/{project_id}"
    for suffix in ("", "/defaults", "/detail"):
        before = (await (await api.get(path + suffix, member, headers=at("2.35"))).json())["quota_set"]
        after = (await (await api.get(path + suffix, member, headers=at("2.36"))).json())["quota_set"]
        assert set(before) == {"id", *DEFAULTS}, suffix
        assert set(after) == {"id", *DEFAULTS} - NETWORK_QUOTAS, suffix
    resp = await api.put(path, admin_token, json={"quota_set": {"floating_ips": 3, "cores": 7}}, headers=at("2.35"))
    assert resp.status == 200
    assert await resp.json() == {"quota_set": {**DEFAULTS, "floating_ips": 3, "cores": 7}}
    resp = await api.put(path, admin_token, json={"quota_set": {"cores": 8}}, headers=at("2.36"))
    assert resp.status == 200
    expected = {k: v for k, v in DEFAULTS.items() if k not in NETWORK_QUOTAS}
    assert await resp.json() == {"quota_set": {**expected, "cores": 8}}
    for name in sorted(NETWORK_QUOTAS):
        await assert_fault(await api.put(path, admin_token, json={"quota_set": {name: 1}}, headers=at("2.36")), 400,
                           "badRequest", f"Additional properties are not allowed ('{name}' was unexpected)")
    shown = (await (await api.get(path, member, headers=at("2.35"))).json())["quota_set"]
    assert (shown["floating_ips"], shown["cores"]) == (3, 8)


async def test_2_50_quota_classes_show_server_group_quotas_and_drop_network_ones(api, admin_token):
    path = "/os-quota-class-sets/default"
    before = (await (await api.get(path, admin_token, headers=at("2.49"))).json())["quota_class_set"]
    assert set(before) == {"id", *DEFAULTS} - SERVER_GROUP_QUOTAS
    after = (await (await api.get(path, admin_token, headers=at("2.50"))).json())["quota_class_set"]
    assert after == {"id": "default", **{k: v for k, v in DEFAULTS.items() if k not in NETWORK_QUOTAS}}
    resp = await api.put(path, admin_token, json={"quota_class_set": {"floating_ips": 4, "server_groups": 6}},
                         headers=at("2.49"))
    assert resp.status == 200
    updated = (await resp.json())["quota_class_set"]
    assert updated["floating_ips"] == 4 and "server_groups" not in updated and "id" not in updated
    resp = await api.put(path, admin_token, json={"quota_class_set": {"server_groups": 7}}, headers=at("2.50"))
    assert resp.status == 200
    updated = (await resp.json())["quota_class_set"]
    assert updated["server_groups"] == 7 and not NETWORK_QUOTAS & set(updated)
    await assert_fault(await api.put(path, admin_token, json={"quota_class_set": {"floating_ips": 1}},
                                     headers=at("2.50")), 400, "badRequest",
                       "Additional properties are not allowed ('floating_ips' was unexpected)")


@pytest.fixture
async def image_id(api, admin_token) -> str:
    resp = await api.client.post("/image/v2/images", headers={"X-Auth-Token": admin_token},
                                 json={"name": "ladder", "disk_format": "raw", "container_format": "bare"})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def test_2_36_the_image_proxy_ends(api, admin_token, image_id):
    for method, path in (("GET", "/images"), ("GET", "/images/detail"), ("GET", f"/images/{image_id}")):
        resp = await api.request(method, path, admin_token, headers=at("2.35"))
        assert resp.status == 200, path
        await assert_fault(await api.request(method, path, admin_token, headers=at("2.36")), 404, "itemNotFound",
                           "The resource could not be found.")
    await assert_fault(await api.delete(f"/images/{image_id}", admin_token, headers=at("2.36")), 404, "itemNotFound",
                       "The resource could not be found.")
    assert (await api.delete(f"/images/{image_id}", admin_token, headers=at("2.35"))).status == 204


async def test_2_39_the_image_metadata_proxy_ends(api, admin_token, image_id):
    meta = f"/images/{image_id}/metadata"
    calls = [("POST", meta, {"metadata": {"a": "1"}}), ("PUT", meta, {"metadata": {"a": "2"}}), ("GET", meta, None),
             ("PUT", f"{meta}/a", {"meta": {"a": "3"}}), ("GET", f"{meta}/a", None), ("DELETE", f"{meta}/a", None)]
    for method, path, body in calls:
        resp = await api.request(method, path, admin_token, json=body, headers=at("2.38"))
        assert resp.status in (200, 204), (method, path, await resp.text())
        await assert_fault(await api.request(method, path, admin_token, json=body, headers=at("2.39")), 404,
                           "itemNotFound", "The resource could not be found.")
    # /images/{id} itself has been gone since 2.36, the metadata stayed until 2.38
    await assert_fault(await api.get(f"/images/{image_id}", admin_token, headers=at("2.38")), 404)


async def test_2_7_access_to_a_public_flavor_is_409(api, admin_token, make_user):
    await make_user("flavor-ladder")
    project_id = whoami(api, await make_user("flavor-ladder")).project_id
    body = {"addTenantAccess": {"tenant": project_id}}
    await assert_fault(await api.post("/flavors/1/action", admin_token, json=body, headers=at("2.6")), 403,
                       "forbidden", "Can not add access to a public flavor.")
    await assert_fault(await api.post("/flavors/1/action", admin_token, json=body, headers=at("2.7")), 409,
                       "conflictingRequest", "Can not add access to a public flavor.")
    assert (await api.get("/flavors/1/os-flavor-access", admin_token, headers=at("2.7"))).status == 404


INJECTED_QUOTAS = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}


async def test_2_57_limits_quota_sets_and_classes_drop_the_injected_file_keys(api, make_user, admin_token):
    """2.57 (personality gone): limits lose maxPersonality/maxPersonalitySize; quota sets and classes, shown and
    updated, lose the three injected-file quotas."""
    token = await make_user("injected-ladder")
    before = await _absolute(api, token, "2.56")
    assert {"maxPersonality", "maxPersonalitySize"} <= set(before)
    after = await _absolute(api, token, "2.57")
    assert after == {k: v for k, v in before.items() if k not in ("maxPersonality", "maxPersonalitySize")}
    project_id = whoami(api, token).project_id
    for path, wrapper in ((f"/os-quota-sets/{project_id}", "quota_set"),
                          ("/os-quota-class-sets/default", "quota_class_set")):
        shown = {}
        for version in ("2.56", "2.57"):
            resp = await api.get(path, admin_token, headers=at(version))
            shown[version] = (await resp.json())[wrapper]
            oracle.validate_with_tempest("GET", path.replace(project_id, "{tenant_id}").replace(
                "default", "{id}"), None, version, resp.status, {wrapper: shown[version]})
        assert INJECTED_QUOTAS <= set(shown["2.56"]) and not INJECTED_QUOTAS & set(shown["2.57"])
        assert set(shown["2.56"]) - set(shown["2.57"]) == INJECTED_QUOTAS
        resp = await api.put(path, admin_token, json={wrapper: {"injected_files": 3}}, headers=at("2.56"))
        assert resp.status == 200 and (await resp.json())[wrapper]["injected_files"] == 3
        for name in sorted(INJECTED_QUOTAS):
            await assert_fault(await api.put(path, admin_token, json={wrapper: {name: 1}}, headers=at("2.57")), 400,
                               "badRequest", f"Additional properties are not allowed ('{name}' was unexpected)")
        resp = await api.put(path, admin_token, json={wrapper: {"cores": 9}}, headers=at("2.57"))
        assert resp.status == 200 and not INJECTED_QUOTAS & set((await resp.json())[wrapper])
