"""A route Nova has and nodecompute does not serve yet answers 404 saying so (issue 7 item 4); an unknown path keeps
Nova's plain 404 and an unknown action key its 400."""
from __future__ import annotations

from tests.api.helpers import assert_fault


async def test_novas_routes_not_served_yet_say_so(api, admin_token):
    for version in ("v2.1", "v2"):
        for method, path, name in (
                ("GET", "/os-aggregates/1", "aggregates.AggregateController.show"),
                ("POST", "/os-aggregates", "aggregates.AggregateController.create")):
            fault = await assert_fault(await api.request(method, path, admin_token, version=version), 404,
                                       "itemNotFound")
            assert fault["message"].endswith(f"(Nova's {name}) is not implemented yet by nodecompute."), fault


async def test_the_project_segment_reaches_the_same_answer(api, admin_token):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": admin_token}}}}
    resp = await api.client.post("/identity/v3/auth/tokens", json=body)
    project_id = (await resp.json())["token"]["project"]["id"]
    fault = await assert_fault(await api.get(f"/{project_id}/os-aggregates/1", admin_token), 404, "itemNotFound")
    assert "GET /os-aggregates/" in fault["message"]


async def test_unknown_paths_and_action_keys_keep_their_answers(api, admin_token):
    await assert_fault(await api.get("/no-such-thing", admin_token), 404, "itemNotFound",
                       "The resource could not be found.")
    assert (await api.get("/no-such-thing")).status == 401  # the token comes first, as in Nova
    resp = await api.post("/flavors/1/action", admin_token, json={"pause": None})
    await assert_fault(resp, 400, "badRequest", "There is no such action: pause")
