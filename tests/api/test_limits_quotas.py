"""Limits (#106), os-quota-sets (#107-#111), os-quota-class-sets (#112-#113) and the QuotaService checks."""
from __future__ import annotations

import sys
import uuid

import pytest

from nodecompute.api.keys import identity_key, keypairs_key, quotas_key
from nodecompute.app import store_key
from nodecompute.domain.errors import QuotaExceeded
from tests.api.helpers import assert_fault

DEFAULTS = {
    "instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128, "injected_files": 5,
    "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255, "key_pairs": 100, "security_groups": 10,
    "security_group_rules": 20, "floating_ips": 10, "fixed_ips": -1, "server_groups": 10, "server_group_members": 10,
}
# With networking on (as in every API test), the network limits are Neutron's quotas: security_group_rule 100,
# security_group 10, floatingip 50. NOVA_NETWORK_LIMITS are Nova's own, shown while networking is off.
ABSOLUTE_DEFAULTS = {
    "maxServerMeta": 128, "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
    "maxSecurityGroupRules": 100, "maxSecurityGroups": 10, "maxTotalCores": 20, "maxTotalFloatingIps": 50,
    "maxTotalInstances": 10, "maxTotalKeypairs": 100, "maxTotalRAMSize": 51200, "maxServerGroups": 10,
    "maxServerGroupMembers": 10, "totalCoresUsed": 0, "totalInstancesUsed": 0, "totalRAMUsed": 0,
    "totalSecurityGroupsUsed": 0, "totalFloatingIpsUsed": 0, "totalServerGroupsUsed": 0,
}

NOVA_NETWORK_LIMITS = {"maxSecurityGroupRules": 20, "maxSecurityGroups": 10, "maxTotalFloatingIps": 10}


def whoami(api, token):
    return api.client.server.app[identity_key].validate(token)


def services(api):
    app = api.client.server.app
    return {"store": app[store_key], "keypairs": app[keypairs_key], "quotas": app[quotas_key]}


async def add_servers(api, project_id, user_id, vcpus, memory_mb, count=1, deleted=False):
    """Server rows as the servers service writes them, enough for live usage counting."""
    def insert(db):
        for _ in range(count):
            db.execute(
                "INSERT INTO servers (uuid, name, project_id, user_id, hostname, flavorid, flavor_name, memory_mb,"
                " vcpus, root_gb, ephemeral_gb, swap, image_id, availability_zone, vm_state, reservation_id,"
                " created_at, updated_at, deleted) VALUES (?, 'vm', ?, ?, 'vm', '1', 'f', ?, ?, 1, 0, 0, 'img',"
                " 'nova', 'active', 'r-abcdefgh', '2024-01-01T00:00:00.000000', '2024-01-01T00:00:00.000000', ?)",
                [str(uuid.uuid4()), project_id, user_id, memory_mb, vcpus, int(deleted)],
            )
    await services(api)["store"].write(insert)


@pytest.fixture
async def member(make_user):
    return await make_user("quota-project", "member")


# ----- #106 limits -------------------------------------------------------------------------------------------------

async def test_limits_exact_keys_and_defaults(api, member):
    for path in ("/limits", "/limits?reserved=False", "/limits?reserved=1"):
        resp = await api.get(path, member)
        assert resp.status == 200
        assert await resp.json() == {"limits": {"rate": [], "absolute": ABSOLUTE_DEFAULTS}}


async def test_network_limits_follow_the_networking_quotas(api, member, admin_token):
    ctx = whoami(api, member)
    quota = {"quota": {"security_group_rule": 33, "floatingip": 4}}
    resp = await api.client.put(f"/networking/v2.0/quotas/{ctx.project_id}", json=quota,
                                headers={"X-Auth-Token": admin_token})
    assert resp.status == 200, await resp.text()
    await api.client.get("/networking/v2.0/ports", headers={"X-Auth-Token": member})
    absolute = (await (await api.get("/limits", member)).json())["limits"]["absolute"]
    assert (absolute["maxSecurityGroupRules"], absolute["maxTotalFloatingIps"]) == (33, 4)
    shown = (await (await api.get(f"/os-quota-sets/{ctx.project_id}", admin_token)).json())["quota_set"]
    assert (shown["security_group_rules"], shown["floating_ips"]) == (20, 10)  # Nova's own rows


async def test_without_networking_the_network_limits_are_novas(aiohttp_client, cfg, hostnet, make_user):
    hostnet.check_error = "no privileges (as the test asks)"
    from nodecompute.app import create_app
    from tests.api.helpers import Api

    api = Api(await aiohttp_client(create_app(cfg, with_servers=False)))
    token = await api.token("admin", "admin-secret", "admin")
    absolute = (await (await api.get("/limits", token)).json())["limits"]["absolute"]
    assert {key: absolute[key] for key in NOVA_NETWORK_LIMITS} == NOVA_NETWORK_LIMITS


async def test_limits_count_live_servers(api, member, make_user):
    ctx = whoami(api, member)
    colleague = whoami(api, await make_user("quota-project"))
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=2, memory_mb=512, count=2)
    await add_servers(api, ctx.project_id, colleague.user_id, vcpus=1, memory_mb=128)
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=8, memory_mb=8192, deleted=True)
    await add_servers(api, "another-project", ctx.user_id, vcpus=8, memory_mb=8192)
    absolute = (await (await api.get("/limits", member)).json())["limits"]["absolute"]
    assert (absolute["totalInstancesUsed"], absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (3, 5, 1152)


async def test_limits_of_another_tenant_admin_only(api, member, admin_token):
    ctx = whoami(api, member)
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=4, memory_mb=1024)
    await api.put(f"/os-quota-sets/{ctx.project_id}", admin_token, json={"quota_set": {"cores": 7}})
    absolute = (await (await api.get(f"/limits?tenant_id={ctx.project_id}", admin_token)).json())["limits"]["absolute"]
    assert absolute["maxTotalCores"] == 7 and absolute["totalCoresUsed"] == 4
    own = (await (await api.get("/limits", admin_token)).json())["limits"]["absolute"]
    assert own["maxTotalCores"] == 20 and own["totalCoresUsed"] == 0
    for tenant in (ctx.project_id, whoami(api, admin_token).project_id):
        await assert_fault(await api.get(f"/limits?tenant_id={tenant}", member), 403, "forbidden",
                           "Policy doesn't allow os_compute_api:limits:other_project to be performed.")


# ----- #107-#109 show, defaults, detail ----------------------------------------------------------------------------

async def test_show_own_quota_set(api, member):
    ctx = whoami(api, member)
    for query in ("", f"?user_id={ctx.user_id}"):
        resp = await api.get(f"/os-quota-sets/{ctx.project_id}{query}", member)
        assert resp.status == 200
        assert await resp.json() == {"quota_set": {"id": ctx.project_id, **DEFAULTS}}


async def test_show_other_project_needs_admin(api, member, make_user, admin_token):
    other = whoami(api, await make_user("quota-elsewhere"))
    for path in (f"/os-quota-sets/{other.project_id}", f"/os-quota-sets/{other.project_id}/detail"):
        await assert_fault(await api.get(path, member), 403, "forbidden")
        assert (await api.get(path, admin_token)).status == 200
    reader = await make_user("quota-project", "reader")
    assert (await api.get(f"/os-quota-sets/{whoami(api, member).project_id}", reader)).status == 200


async def test_unknown_project_is_400(api, admin_token, member):
    for suffix in ("", "/detail", "/defaults"):
        await assert_fault(await api.get(f"/os-quota-sets/no-such-project{suffix}", admin_token), 400, "badRequest",
                           "Project ID no-such-project is not a valid project.")
    await assert_fault(await api.put("/os-quota-sets/no-such-project", admin_token,
                                     json={"quota_set": {"cores": 1}}), 400, "badRequest")
    # A project *name* is not an id.
    await assert_fault(await api.get("/os-quota-sets/quota-project", admin_token), 400, "badRequest")


async def test_defaults_ignore_project_overrides(api, member, admin_token):
    project_id = whoami(api, member).project_id
    await api.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": {"instances": 3}})
    resp = await api.get(f"/os-quota-sets/{project_id}/defaults", member)
    assert resp.status == 200 and await resp.json() == {"quota_set": {"id": project_id, **DEFAULTS}}


async def test_detail_in_use_limit_reserved(api, member, make_user, admin_token):
    ctx = whoami(api, member)
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=2, memory_mb=256, count=3)
    colleague = whoami(api, await make_user("quota-project"))
    await add_servers(api, ctx.project_id, colleague.user_id, vcpus=1, memory_mb=64)
    await services(api)["keypairs"].create(ctx.project_id, ctx.user_id, "k")
    resp = await api.get(f"/os-quota-sets/{ctx.project_id}/detail", member)
    assert resp.status == 200
    body = (await resp.json())["quota_set"]
    assert body.pop("id") == ctx.project_id and set(body) == set(DEFAULTS)
    assert all(set(v) == {"in_use", "limit", "reserved"} and v["reserved"] == 0 for v in body.values())
    assert {k: v["limit"] for k, v in body.items()} == DEFAULTS
    assert (body["instances"]["in_use"], body["cores"]["in_use"], body["ram"]["in_use"]) == (4, 7, 832)
    assert body["key_pairs"]["in_use"] == 0  # per-user resource: Nova never shows a usage for it here
    mine = (await (await api.get(f"/os-quota-sets/{ctx.project_id}/detail?user_id={ctx.user_id}",
                                 member)).json())["quota_set"]
    assert (mine["instances"]["in_use"], mine["cores"]["in_use"], mine["ram"]["in_use"]) == (3, 6, 768)


# ----- #110-#111 update and revert ---------------------------------------------------------------------------------

async def test_admin_updates_and_reverts(api, member, admin_token):
    project_id = whoami(api, member).project_id
    body = {"quota_set": {"cores": 30, "ram": "4096", "instances": -1, "key_pairs": 0}}
    resp = await api.put(f"/os-quota-sets/{project_id}", admin_token, json=body)
    assert resp.status == 200
    expected = {**DEFAULTS, "cores": 30, "ram": 4096, "instances": -1, "key_pairs": 0}
    assert await resp.json() == {"quota_set": expected}  # no id on update (Nova)
    shown = await (await api.get(f"/os-quota-sets/{project_id}", member)).json()
    assert shown == {"quota_set": {"id": project_id, **expected}}
    assert (await (await api.get("/limits", member)).json())["limits"]["absolute"]["maxTotalInstances"] == -1
    resp = await api.delete(f"/os-quota-sets/{project_id}", admin_token)
    assert resp.status == 202 and await resp.read() == b""
    shown = await (await api.get(f"/os-quota-sets/{project_id}", member)).json()
    assert shown == {"quota_set": {"id": project_id, **DEFAULTS}}


async def test_update_below_usage_needs_force(api, member, admin_token):
    ctx = whoami(api, member)
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=4, memory_mb=2048, count=2)
    path = f"/os-quota-sets/{ctx.project_id}"
    await assert_fault(await api.put(path, admin_token, json={"quota_set": {"cores": 5}}), 400, "badRequest",
                       "Quota limit 5 for cores must be greater than or equal to already used and reserved 8.")
    await assert_fault(await api.put(path, admin_token, json={"quota_set": {"instances": 1, "force": "False"}}),
                       400, "badRequest")
    assert (await (await api.get(path, member)).json())["quota_set"]["cores"] == 20
    for body in ({"cores": 8}, {"cores": -1}, {"cores": 5, "force": True}, {"instances": 0, "force": "True"}):
        resp = await api.put(path, admin_token, json={"quota_set": body})
        assert resp.status == 200, body
    shown = (await (await api.get(path, member)).json())["quota_set"]
    assert (shown["cores"], shown["instances"]) == (5, 0)


async def test_update_bad_values_are_400(api, member, admin_token):
    path = f"/os-quota-sets/{whoami(api, member).project_id}"
    cases = [
        ({"quota_set": {"cores": -2}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"cores": "-2"}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"cores": "abc"}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"cores": 1.5}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"cores": 2 ** 31}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"cores": str(2 ** 31)}}, "Invalid input for field/attribute cores"),
        ({"quota_set": {"volumes": 3}}, "Additional properties are not allowed"),
        ({"quota_set": {"force": "maybe"}}, "Invalid input for field/attribute force"),
        ({"quota_set": {"networks": 3}}, "The networks quota has been removed"),
        ({"quota_set": 5}, None),
        ({"quota": {"cores": 1}}, None),
    ]
    for body, message in cases:
        await assert_fault(await api.put(path, admin_token, json=body), 400, "badRequest", message)
    await assert_fault(await api.put(path, admin_token, data=b"{"), 400, "badRequest", "Malformed request body")
    assert (await (await api.get(path, member)).json())["quota_set"]["cores"] == 20


async def test_update_and_delete_are_admin_only(api, member, make_user):
    project_id = whoami(api, member).project_id
    reader = await make_user("quota-project", "reader")
    for token in (member, reader):
        resp = await api.put(f"/os-quota-sets/{project_id}", token, json={"quota_set": {"cores": 99}})
        await assert_fault(resp, 403, "forbidden",
                           "Policy doesn't allow os_compute_api:os-quota-sets:update to be performed.")
        await assert_fault(await api.delete(f"/os-quota-sets/{project_id}", token), 403, "forbidden",
                           "Policy doesn't allow os_compute_api:os-quota-sets:delete to be performed.")


async def test_per_user_update_is_not_supported(api, member, admin_token):
    ctx = whoami(api, member)
    resp = await api.put(f"/os-quota-sets/{ctx.project_id}?user_id={ctx.user_id}", admin_token,
                         json={"quota_set": {"cores": 1}})
    await assert_fault(resp, 501, "notImplemented")


async def test_legacy_v2_update_ignores_unknown_keys(api, member, admin_token):
    project_id = whoami(api, member).project_id
    resp = await api.put(f"/os-quota-sets/{project_id}", admin_token, version="v2",
                         json={"quota_set": {"cores": 11, "volumes": 3}})
    assert resp.status == 200 and (await resp.json())["quota_set"]["cores"] == 11


# ----- #112-#113 quota classes -------------------------------------------------------------------------------------

async def test_quota_class_show_and_update(api, member, admin_token, make_user):
    class_keys = {k: v for k, v in DEFAULTS.items() if k not in ("server_groups", "server_group_members")}
    resp = await api.get("/os-quota-class-sets/default", admin_token)
    assert resp.status == 200
    assert await resp.json() == {"quota_class_set": {"id": "default", **class_keys}}
    resp = await api.put("/os-quota-class-sets/default", admin_token,
                         json={"quota_class_set": {"instances": 50, "cores": "60", "server_groups": 3}})
    assert resp.status == 200
    assert await resp.json() == {"quota_class_set": {**class_keys, "instances": 50, "cores": 60}}
    # The default class feeds every project without its own override, and the defaults view.
    project_id = whoami(api, member).project_id
    await api.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": {"cores": 9}})
    shown = (await (await api.get(f"/os-quota-sets/{project_id}", member)).json())["quota_set"]
    assert (shown["instances"], shown["cores"], shown["server_groups"]) == (50, 9, 3)
    defaults = (await (await api.get(f"/os-quota-sets/{project_id}/defaults", member)).json())["quota_set"]
    assert (defaults["instances"], defaults["cores"]) == (50, 60)
    other = await make_user("quota-other-project")
    absolute = (await (await api.get("/limits", other)).json())["limits"]["absolute"]
    assert (absolute["maxTotalInstances"], absolute["maxTotalCores"], absolute["maxServerGroups"]) == (50, 60, 3)
    # Another class name starts from the default class.
    gold = await (await api.get("/os-quota-class-sets/gold", admin_token)).json()
    assert gold["quota_class_set"]["id"] == "gold" and gold["quota_class_set"]["instances"] == 50


async def test_quota_class_admin_only_and_validated(api, member, admin_token):
    await assert_fault(await api.get("/os-quota-class-sets/default", member), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-quota-class-sets:show to be performed.")
    await assert_fault(await api.put("/os-quota-class-sets/default", member,
                                     json={"quota_class_set": {"cores": 1}}), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-quota-class-sets:update to be performed.")
    for body in ({"quota_class_set": {"cores": -5}}, {"quota_class_set": {"force": True}},
                 {"quota_class_set": {"networks": 1}}, {"quota_set": {"cores": 1}}):
        await assert_fault(await api.put("/os-quota-class-sets/default", admin_token, json=body), 400, "badRequest")
    await assert_fault(await api.get("/os-quota-class-sets/" + "c" * 256, admin_token), 400, "badRequest",
                       "quota_class_name has 256 characters, more than 255.")
    assert (await (await api.get("/os-quota-class-sets/default", admin_token)).json())["quota_class_set"]["cores"] == 20


# ----- QuotaService: the checks servers make -----------------------------------------------------------------------

async def test_check_raises_nova_message(api, member, admin_token):
    ctx = whoami(api, member)
    quotas = services(api)["quotas"]
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=6, memory_mb=1024, count=3)
    quotas.check(ctx.project_id, ctx.user_id, {"instances": 1, "cores": 2, "ram": 512})
    with pytest.raises(QuotaExceeded) as caught:
        quotas.check(ctx.project_id, ctx.user_id, {"instances": 1, "cores": 4, "ram": 512})
    assert caught.value.message == "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores"
    assert caught.value.code == 403
    await api.put(f"/os-quota-sets/{ctx.project_id}", admin_token, json={"quota_set": {"instances": 3}})
    with pytest.raises(QuotaExceeded) as caught:
        quotas.check(ctx.project_id, ctx.user_id, {"instances": 1, "cores": 4, "ram": 0})
    assert caught.value.message == ("Quota exceeded for cores, instances: Requested 4, 1, but already used 18, 3 "
                                    "of 20, 3 cores, instances")
    quotas.check(ctx.project_id, ctx.user_id, {"instances": 0, "cores": 0})


async def test_headroom_counts_instances_that_fit(api, member, admin_token):
    ctx = whoami(api, member)
    quotas = services(api)["quotas"]
    per_instance = {"instances": 1, "cores": 2, "ram": 2048}
    assert quotas.headroom(ctx.project_id, ctx.user_id, per_instance) == 10
    await add_servers(api, ctx.project_id, ctx.user_id, vcpus=2, memory_mb=2048, count=4)
    assert quotas.headroom(ctx.project_id, ctx.user_id, per_instance) == 6
    assert quotas.headroom(ctx.project_id, ctx.user_id, {"instances": 1, "cores": 5, "ram": 1}) == 2
    await api.put(f"/os-quota-sets/{ctx.project_id}", admin_token,
                  json={"quota_set": {"instances": -1, "cores": -1, "ram": 9000}})
    assert quotas.headroom(ctx.project_id, ctx.user_id, per_instance) == 0
    await api.put(f"/os-quota-sets/{ctx.project_id}", admin_token, json={"quota_set": {"ram": -1}})
    assert quotas.headroom(ctx.project_id, ctx.user_id, per_instance) == sys.maxsize


async def test_usage_counts_the_users_key_pairs(api, member):
    ctx = whoami(api, member)
    quotas = services(api)["quotas"]
    await services(api)["keypairs"].create(ctx.project_id, ctx.user_id, "one")
    assert quotas.usage(ctx.project_id, ctx.user_id)["key_pairs"] == 1
    assert quotas.usage(ctx.project_id, "somebody-else")["key_pairs"] == 0
    assert quotas.limits(ctx.project_id) == DEFAULTS
