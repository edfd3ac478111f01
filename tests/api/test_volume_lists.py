"""Volume lists as Cinder 3.0 answers them: filters (a non-admin's unknown ones dropped, an admin's unknown column
matching nothing), sort keys and directions, marker/limit/offset paging and the next link, all_tenants."""
from __future__ import annotations

import pytest

from tests.api.volume_helpers import Cinder, admin, member  # noqa: F401 (fixtures)


@pytest.fixture
async def three(member: Cinder) -> list[dict]:
    """Three volumes, oldest first: a (1 GiB, k=v), b (2 GiB, bootable), c (1 GiB, k=w)."""
    a = await member.create(name="a", metadata={"k": "v"})
    b = await member.create(name="b", size=2)
    await member.ok("POST", f"/volumes/{b['id']}/action", 200, json={"os-set_bootable": {"bootable": True}})
    c = await member.create(name="c", metadata={"k": "w"})
    return [a, b, c]


def names(body: dict) -> list[str]:
    return [v["name"] for v in body["volumes"]]


async def test_filters(member: Cinder, admin: Cinder, three):
    async def listed(query: str, who: Cinder = member) -> list[str]:
        return names(await who.ok("GET", f"/volumes/detail?{query}", 200, check="/volumes/detail"))

    assert await listed("name=b") == ["b"]
    assert await listed("size=1") == ["c", "a"]
    assert await listed("metadata={'k': 'v'}") == ["a"]
    assert await listed("metadata=k") == []  # not a dict: Cinder's query matches nothing
    assert await listed("bootable=true") == ["b"]
    assert await listed("bootable=False") == ["c", "a"]
    assert await listed("status=available&name=c") == ["c"]
    assert await listed("availability_zone=nova") == ["c", "b", "a"]
    assert await listed("user_id=nobody") == ["c", "b", "a"]  # not a user filter at 3.0: dropped
    assert await listed(f"all_tenants=1&user_id={member.ctx.user_id}", admin) == ["c", "b", "a"]
    assert await listed("all_tenants=1&no_such_column=1", admin) == []  # an admin's unknown column: nothing
    assert await listed("", admin) == []  # an admin sees its own project without all_tenants
    await member.fault("GET", "/volumes?all_tenants=maybe", 400,
                       message="Value 'maybe' for 'all_tenants' is not a boolean.")


async def test_sort_and_paging(member: Cinder, three):
    a, b, c = three
    assert names(await member.ok("GET", "/volumes?sort=name:asc", 200)) == ["a", "b", "c"]
    assert names(await member.ok("GET", "/volumes?sort=size:desc,name:asc", 200)) == ["b", "a", "c"]
    assert names(await member.ok("GET", "/volumes?sort_key=display_name&sort_dir=asc", 200)) == ["a", "b", "c"]
    first = await member.ok("GET", "/volumes?sort=name:asc&limit=2", 200, check="/volumes")
    assert names(first) == ["a", "b"]
    (link,) = first["volumes_links"]
    assert link["rel"] == "next" and "marker=" + b["id"] in link["href"]
    assert link["href"].startswith(f"http://127.0.0.1:{member.api.client.port}/volume/v3/{member.project_id}/volumes?")
    rest = await member.ok("GET", f"/volumes?sort=name:asc&limit=2&marker={b['id']}", 200)
    assert names(rest) == ["c"] and "volumes_links" not in rest
    assert names(await member.ok("GET", "/volumes?sort=name:asc&offset=1&limit=1", 200)) == ["b"]
    assert names(await member.ok("GET", "/volumes?limit=0", 200)) == []
    detail = await member.ok("GET", "/volumes/detail?sort=name:asc&limit=1", 200)
    assert "/volumes/detail?" in detail["volumes_links"][0]["href"]
    missing = "11111111-2222-3333-4444-555555555555"
    for query, message in (("sort=colour", "Invalid input received: Invalid sort key"),
                           ("sort=name:up", "Invalid input received: Unknown sort direction, must be 'desc' or 'asc'."),
                           ("sort=name&sort_key=size", "The 'sort_key' and 'sort_dir' parameters are deprecated and "
                                                       "cannot be used with the 'sort' parameter."),
                           ("limit=x", "limit param must be an integer"), ("limit=-1", "limit param must be positive"),
                           ("offset=-1", "offset must be >= 0"), ("offset=x", "offset must be an integer")):
        await member.fault("GET", f"/volumes?{query}", 400, message=message)
    await member.fault("GET", f"/volumes?marker={missing}", 404, message=f"Volume {missing} could not be found.")


async def test_each_listed_volume_is_the_volume_shown(member: Cinder, admin: Cinder, three):
    """A list is read and encoded off the event loop (another thread, orjson), a volume shown inline: same bodies."""
    for who, query in ((member, ""), (admin, "?all_tenants=1")):
        listed = (await who.ok("GET", f"/volumes/detail{query}", 200))["volumes"]
        assert sorted(v["id"] for v in listed) == sorted(v["id"] for v in three)
        for volume in listed:
            assert volume == (await who.ok("GET", f"/volumes/{volume['id']}", 200))["volume"]
        brief = (await who.ok("GET", f"/volumes{query}", 200))["volumes"]
        assert brief == [{"id": v["id"], "name": v["name"], "links": v["links"]} for v in listed]
