"""The flavor steps of the ladder's second part (issue 10): 2.55 (`description` in every flavor view, at create, and
PUT /flavors/{id}, #614), 2.61 (`extra_specs` in the full flavor views) and 2.86 (extra specs checked against
Nova's registry), each shown at the version before the change and at it, and checked against Nova's record
(Tempest's schema at that version, the keys of Nova's samples)."""
from __future__ import annotations

import pytest

from tests import oracle
from tests.api.helpers import Api, assert_fault

FLAVOR = "/flavors/{flavor_id}"


@pytest.fixture
async def api(ladder_api):
    return ladder_api


@pytest.fixture
async def member_token(make_user) -> str:
    return await make_user("flavor-reader", "member")


def at(version: str) -> dict[str, str]:
    return {"X-OpenStack-Nova-API-Version": version}


def _like_nova(method: str, path: str, version: str, status: int, body: dict) -> None:
    oracle.validate_with_tempest(method, path, None, version, status, body)
    oracle.assert_keys_like_nova(body, method, path, None, version)


async def _create(api: Api, token: str, version: str, **flavor) -> tuple[int, dict]:
    spec = {"name": "f-desc", "ram": 64, "vcpus": 1, "disk": 1, "id": "77", **flavor}
    resp = await api.post("/flavors", token, json={"flavor": spec}, headers=at(version))
    return resp.status, await resp.json()


async def test_2_55_description_at_create_and_in_every_view(api, admin_token):
    # 2.54: the key is refused at create and shown nowhere
    status, body = await _create(api, admin_token, "2.54", description="small")
    assert status == 400 and "('description' was unexpected)" in body["badRequest"]["message"]
    status, body = await _create(api, admin_token, "2.54", name="f-old", id="76")
    assert status == 200 and "description" not in body["flavor"]
    listed = await (await api.get("/flavors", admin_token, headers=at("2.54"))).json()
    assert all("description" not in flavor for flavor in listed["flavors"])
    _like_nova("GET", "/flavors", "2.54", 200, listed)
    # 2.55: given at create, shown in the summary, the detail and show (null when not given)
    status, body = await _create(api, admin_token, "2.55", description="small one")
    assert status == 200 and body["flavor"]["description"] == "small one"
    _like_nova("POST", "/flavors", "2.55", status, body)
    listed = await (await api.get("/flavors", admin_token, headers=at("2.55"))).json()
    by_id = {flavor["id"]: flavor for flavor in listed["flavors"]}
    assert (by_id["77"]["description"], by_id["76"]["description"]) == ("small one", None)
    assert set(by_id["77"]) == {"id", "name", "links", "description"}
    _like_nova("GET", "/flavors", "2.55", 200, listed)
    detail = await (await api.get("/flavors/detail", admin_token, headers=at("2.55"))).json()
    assert {f["id"]: f["description"] for f in detail["flavors"]}["77"] == "small one"
    _like_nova("GET", "/flavors/detail", "2.55", 200, detail)
    shown = await (await api.get("/flavors/77", admin_token, headers=at("2.55"))).json()
    assert shown["flavor"]["description"] == "small one" and "extra_specs" not in shown["flavor"]
    _like_nova("GET", FLAVOR, "2.55", 200, shown)


async def test_2_55_description_refusals(api, admin_token):
    for bad in ("x" * 65536, "line\nbreak", 7):
        status, body = await _create(api, admin_token, "2.55", description=bad)
        assert status == 400 and "description" in body["badRequest"]["message"], body


async def test_2_55_put_changes_only_the_description(api, admin_token, member_token):
    await _create(api, admin_token, "2.55", description="before")
    # below 2.55 the route is not there: Nova's bare 404
    await assert_fault(await api.put("/flavors/77", admin_token, json={"flavor": {"description": "x"}},
                                     headers=at("2.54")), 404, "itemNotFound", "The resource could not be found.")
    resp = await api.put("/flavors/77", admin_token, json={"flavor": {"description": "after"}}, headers=at("2.55"))
    body = await resp.json()
    assert resp.status == 200 and body["flavor"]["description"] == "after" and body["flavor"]["ram"] == 64
    _like_nova("PUT", FLAVOR, "2.55", resp.status, body)
    shown = await (await api.get("/flavors/77", member_token, headers=at("2.55"))).json()
    assert shown["flavor"]["description"] == "after"
    resp = await api.put("/flavors/77", admin_token, json={"flavor": {"description": None}}, headers=at("2.55"))
    assert resp.status == 200 and (await resp.json())["flavor"]["description"] is None
    # the body first (400 for anyone), then the policy (403), then the flavor (404)
    for body in ({"flavor": {"name": "renamed", "description": "d"}}, {"flavor": {}}, {"description": "d"}):
        await assert_fault(await api.put("/flavors/77", member_token, json=body, headers=at("2.55")), 400,
                           "badRequest")
    await assert_fault(await api.put("/flavors/77", member_token, json={"flavor": {"description": "d"}},
                                     headers=at("2.55")), 403, "forbidden")
    await assert_fault(await api.put("/flavors/nope", admin_token, json={"flavor": {"description": "d"}},
                                     headers=at("2.55")), 404, "itemNotFound", "Flavor nope could not be found.")


async def test_2_61_extra_specs_in_the_full_views(api, admin_token, member_token):
    await _create(api, admin_token, "2.60")
    resp = await api.post("/flavors/77/os-extra_specs", admin_token, json={"extra_specs": {"hw:cpu_policy": "shared"}})
    assert resp.status == 200
    # 2.60: no extra_specs in show, detail, create or update
    shown = await (await api.get("/flavors/77", member_token, headers=at("2.60"))).json()
    assert "extra_specs" not in shown["flavor"] and "description" in shown["flavor"]
    _like_nova("GET", FLAVOR, "2.60", 200, shown)
    # 2.61: show, detail and update carry the specs (anyone who sees the flavor); a new flavor has {}
    for token in (member_token, admin_token):
        shown = await (await api.get("/flavors/77", token, headers=at("2.61"))).json()
        assert shown["flavor"]["extra_specs"] == {"hw:cpu_policy": "shared"}
        _like_nova("GET", FLAVOR, "2.61", 200, shown)
    detail = await (await api.get("/flavors/detail", member_token, headers=at("2.61"))).json()
    specs = {flavor["id"]: flavor["extra_specs"] for flavor in detail["flavors"]}
    assert specs["77"] == {"hw:cpu_policy": "shared"} and specs["42"] == {}
    _like_nova("GET", "/flavors/detail", "2.61", 200, detail)
    listed = await (await api.get("/flavors", member_token, headers=at("2.61"))).json()
    assert all("extra_specs" not in flavor for flavor in listed["flavors"])  # the summary never has them
    resp = await api.put("/flavors/77", admin_token, json={"flavor": {"description": "d"}}, headers=at("2.61"))
    updated = await resp.json()
    assert updated["flavor"]["extra_specs"] == {"hw:cpu_policy": "shared"}
    _like_nova("PUT", FLAVOR, "2.61", resp.status, updated)
    status, created = await _create(api, admin_token, "2.61", name="f-new", id="78")
    assert status == 200 and created["flavor"]["extra_specs"] == {}
    _like_nova("POST", "/flavors", "2.61", status, created)


async def _set_specs(api: Api, token: str, version: str, specs: dict, key: str | None = None):
    if key is None:
        return await api.post("/flavors/77/os-extra_specs", token, json={"extra_specs": specs}, headers=at(version))
    return await api.put(f"/flavors/77/os-extra_specs/{key}", token, json=specs, headers=at(version))


async def test_2_86_extra_specs_checked_against_novas_registry(api, admin_token):
    await _create(api, admin_token, "2.85")
    unknown = {"hw:no_such_spec": "1"}
    wrong = ({"hw:cpu_policy": "sometimes"}, "'sometimes' is not one of: dedicated, shared, mixed.")
    # 2.85: anything is stored, in a known namespace or not
    for key in (None, "hw:cpu_policy"):
        specs = wrong[0] if key else unknown
        resp = await _set_specs(api, admin_token, "2.85", specs, key)
        assert resp.status == 200 and await resp.json() == (specs if key else {"extra_specs": specs})
    # 2.86: a known name needs a value of its kind; an unknown name in a known namespace is refused; names outside
    # the registry's namespaces pass (before the flavor is looked up, and nothing is stored)
    refusals = [(unknown, "extra spec 'hw:no_such_spec' does not appear to be a valid extra spec."), wrong,
                ({"hw:numa_nodes": "two"}, "'two' is not a valid integer value."),
                ({"hw:numa_nodes": 0}, "'0' is less than the min value of '1'."),
                ({"hw:cpu_realtime": "perhaps"}, "'perhaps' is not a valid boolean-like value."),
                ({"trait:HW_CPU_X86_AVX2": "wanted"}, "'wanted' is not one of: required, forbidden."),
                ({"resources1:VCPU": "x"}, "'x' is not a valid integer value.")]
    for specs, message in refusals:
        await assert_fault(await _set_specs(api, admin_token, "2.86", specs), 400, "badRequest",
                           f"Validation failed; {message}")
        await assert_fault(await _set_specs(api, admin_token, "2.86", specs, next(iter(specs))), 400, "badRequest",
                           f"Validation failed; {message}")
    await assert_fault(await api.post("/flavors/nope/os-extra_specs", admin_token,
                                      json={"extra_specs": unknown}, headers=at("2.86")), 400, "badRequest")
    stored = await (await api.get("/flavors/77/os-extra_specs", admin_token, headers=at("2.86"))).json()
    assert stored == {"extra_specs": {"hw:no_such_spec": "1", "hw:cpu_policy": "sometimes"}}
    good = {"hw:cpu_policy": "dedicated", "hw:numa_nodes": 2, "hw:cpu_realtime": "Yes",
            "trait:HW_CPU_X86_AVX2": "required", "trait1:CUSTOM_GOLD": "forbidden", "resources1:VCPU": "1",
            "hw:numa_cpus.0": "0-1", "quota:cpu_shares": "512", "custom:anything": "x", "no_namespace": "y"}
    resp = await _set_specs(api, admin_token, "2.86", good)
    assert resp.status == 200 and (await resp.json())["extra_specs"] == good
    resp = await _set_specs(api, admin_token, "2.86", {"hw:mem_page_size": "large"}, "hw:mem_page_size")
    assert resp.status == 200
    stored = await (await api.get("/flavors/77/os-extra_specs", admin_token, headers=at("2.86"))).json()
    assert stored["extra_specs"]["hw:numa_nodes"] == "2" and stored["extra_specs"]["hw:mem_page_size"] == "large"
