"""Tenant isolation on every served route, from the route table (tests/api/tenant_matrix.py says what each route
allows): a member of project B gets 404 on project A's things and none of A's ids in its lists, A's reader cannot
write, admin-only routes refuse both, and an admin reaches another project's servers, volumes, snapshots and server
groups only through `all_tenants` (`all_projects`) or their id. A served route without a line in the matrix fails
the first test."""
from __future__ import annotations

import json

import pytest

from nodecompute.api import glance
from nodecompute.api.keys import mounted_dialects_key, root_routes_key, servers_key
from nodecompute.app import store_key
from nodecompute.db import instance_actions as instance_actions_db
from nodecompute.domain.models import utcnow
from nodecompute.api.versions import MICROVERSIONS
from tests.api.tenant_matrix import MATRIX, NOT_IN_THE_WORLD
from tests.api.helpers import Net
from tests.api.volume_helpers import Cinder
from tests.api.test_malformed_bodies import SAMPLES, _fill, cfg, world  # noqa: F401 (fixtures)
from tests.api.test_k5_image_jobs_api import SAMPLES as K5_JOB_SAMPLES
from tests.api.test_servers_api import _insert, _project_id, api, servers_api  # noqa: F401 (fixtures)

PREFIX = {"compute": "/compute/v2.1", "volume": "/volume/v3", "network": "/networking", "image": "/image",
          "identity": "/identity", "root": "", "k5": "/k5"}
UNVERSIONED = {"compute": "/compute", "volume": "/volume", "network": "/networking", "image": "/image",
               "identity": "/identity", "root": "", "k5": "/k5"}
FACE_IDS = {"network": {"{alias}": "router"}}  # ids that differ by face
SAMPLE_PREFIX = {"compute": "", "volume": "/volume/v3", "network": "/networking", "image": "/image"}
# the world's things of project A that a list must not show to B
OWNED = ("{server_id}", "{image_id}", "{network_id}", "{subnet_id}", "{port_id}", "{volume_id}", "{snapshot_id}",
         "{security_group_id}", "{router_id}", "{floatingip_id}", "{keypair_name}", "{group_id}")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _served(app) -> list:
    """(face, row) of every route served at the prefix this matrix gives its face (UNVERSIONED), once. A vendor
    dialect's rows at its own prefix (/cyclades, /helion, /k5's compute rows) serve the core's handlers, or its own
    whose tenancy its tests check (tests/api/test_<vendor>_*.py); a face of its own listed here (k5's /v1.1 rows)
    is walked like the core's."""
    rows = {("root", route.method, route.path): ("root", route) for route in app[root_routes_key]}
    for dialect in app[mounted_dialects_key]:
        for route in dialect.routes:
            if UNVERSIONED.get(route.face) == dialect.prefix:
                rows.setdefault((route.face, route.method, route.path), (route.face, route))
    return list(rows.values())


def test_every_served_route_has_a_line_and_every_line_a_route(cfg):  # noqa: F811
    from nodecompute.app import create_app

    served = {(face, route.method, route.path): route for face, route in _served(create_app(cfg))}
    assert sorted(set(served) - set(MATRIX)) == [], "served routes without a line in tests/api/tenant_matrix.py"
    assert sorted(set(MATRIX) - set(served)) == [], "lines of tests/api/tenant_matrix.py for no served route"
    for key, route in served.items():
        assert (MATRIX[key][0] == "public") == (not route.token), key


@pytest.fixture
async def isolated(api, world, admin_token, make_user):  # noqa: F811
    """The walk's world (project A = the admin project) and the few things it lacks, plus B's member and A's
    reader."""
    headers = {"X-Auth-Token": admin_token}
    made = await api.post("/os-keypairs", admin_token, json={"keypair": {"name": "iso-kp"}})
    assert made.status == 200, await made.text()
    made = await api.post("/os-server-groups", admin_token, json={"server_group": {"name": "iso",
                                                                                  "policies": ["affinity"]}})
    group = (await made.json())["server_group"]["id"]
    made = await api.client.post("/networking/v2.0/security-group-rules", headers=headers, json={
        "security_group_rule": {"security_group_id": world["USERGROUP"], "direction": "ingress", "protocol": "tcp",
                                "port_range_min": 22, "port_range_max": 22}})
    rule = (await made.json())["security_group_rule"]["id"]
    made = await api.post("/os-security-group-default-rules", admin_token, json={"security_group_default_rule": {
        "ip_protocol": "tcp", "from_port": 80, "to_port": 80, "cidr": "198.18.0.0/16"}})
    default_rule = (await made.json())["security_group_default_rule"]["id"]
    for path, body in (("/metadata", {"metadata": {"k": "v"}}), ("/tags", {"tags": ["t"]})):
        made = await api.put(f"/servers/{world['{server_id}']}{path}", admin_token, json=body,
                             headers={"OpenStack-API-Version": "compute 2.26"})
        assert made.status == 200, await made.text()
    made = await api.post("/flavors/walk/os-extra_specs", admin_token, json={"extra_specs": {"k": "v"}})
    assert made.status == 200, await made.text()
    made = await api.client.post(f"/volume/v3/types/{world['{type_id}']}/extra_specs", headers=headers,
                                 json={"extra_specs": {"k": "v"}})
    assert made.status == 200, await made.text()
    server = world["{server_id}"]
    made = await api.client.patch(f"/image/v2/images/{world['{image_id}']}", headers={
        **headers, "Content-Type": glance.PATCH_TYPE}, data=json.dumps([{"op": "add", "path": "/k", "value": "v"},
                                                                         {"op": "replace", "path": "/visibility",
                                                                          "value": "shared"}]))
    assert made.status == 200, await made.text()
    made = await api.client.post(f"/image/v2/images/{world['{image_id}']}/members", headers=headers,
                                 json={"member": "iso-member"})  # a member of A's shared image, for its routes
    assert made.status == 200, await made.text()
    made = await api.client.put(f"/volume/v3/volumes/{world['{volume_id}']}/metadata", headers=headers,
                                json={"metadata": {"k": "v"}})
    assert made.status == 200, await made.text()
    made = await api.post(f"/servers/{server}/os-interface", admin_token,
                          json={"interfaceAttachment": {"port_id": world["{port_id}"]}})
    assert made.status == 200, await made.text()
    await api.client.server.app[store_key].write(instance_actions_db.start_action, server, "create", "req-iso",
                                                 world["PROJECT"], None, now=utcnow())
    made = await api.get("/os-services", admin_token, headers={"OpenStack-API-Version": "compute 2.53"})
    service = (await made.json())["services"][0]["id"]
    ids = {"{keypair_name}": "iso-kp", "{group_id}": group, "{rule_id}": rule, "{security_group_rule_id}": rule,
           "{security_group_default_rule_id}": str(default_rule), "{floating_ip_id}": world["{floatingip_id}"],
           "{zone_name}": "nova", "{request_id}": "req-iso", "{network_label}": "walk", "{migration_id}": "1",
           "{hypervisor_id}": "1", "{pattern}": "h", "{before_timestamp}": "2026-12-01 00:00:00",
           "{alias}": "os-keypairs", "{service_id}": service, "{member_id}": "iso-member"}
    return {**world, **ids, "B": await make_user("proj-b", "member"), "READER": await make_user("admin", "reader"),
            "ADMIN": admin_token}


def _version(route) -> dict[str, str]:
    top = min(route.until or MICROVERSIONS.max, MICROVERSIONS.max)
    return {"OpenStack-API-Version": f"compute {top[0]}.{top[1]}"}


def _request(face: str, route, ids: dict[str, str]) -> tuple[str, dict, bytes | None]:
    ids = {**ids, **FACE_IDS.get(face, {})}
    url = (PREFIX[face] if route.versioned else UNVERSIONED[face]) + _fill(route.path, ids)
    headers = _version(route) if face == "compute" else {}
    if route.method not in ("POST", "PUT", "PATCH"):
        return url, headers, None
    if route.path.endswith("/file"):
        return url, {**headers, "Content-Type": "application/octet-stream"}, b"\0" * 512
    key = (route.method, _sample_path(face, route.path))
    sample = (SAMPLES.get(key) or K5_JOB_SAMPLES[key])[0]
    content_type = glance.PATCH_TYPE if route.method == "PATCH" else "application/json"
    return url, {**headers, "Content-Type": content_type}, _fill(json.dumps(sample), ids).encode()


def _sample_path(face: str, path: str) -> str:
    """The key of the route's sample body (test_malformed_bodies.SAMPLES): a k5 row at /v1.1/{project_id} takes
    the compute row's."""
    return path.removeprefix("/v1.1/{project_id}") if face == "k5" else SAMPLE_PREFIX[face] + path


async def _status(api, face, route, ids, who: str) -> tuple[int, str]:  # noqa: F811
    url, headers, body = _request(face, route, ids)
    resp = await api.client.request(route.method, url, data=body, headers={**headers, "X-Auth-Token": ids[who]})
    return resp.status, await resp.text()


def _order(row) -> int:
    """Reads first, then writes, deletes last: a write wrongly allowed shows as its own failure."""
    return {"GET": 0, "DELETE": 2}.get(row[1].method, 1)


async def test_the_matrix_holds_on_every_route(api, isolated):  # noqa: F811
    app = api.client.server.app
    owned_ids = [isolated[name] for name in OWNED]
    failures, absent = [], []
    checked = 0
    for face, route in sorted(_served(app), key=_order):
        kind, b_status = MATRIX[(face, route.method, route.path)]
        if kind in ("public", "self"):
            continue
        checked += 1
        where = f"{route.method} {face} {route.path} ({kind})"
        b, b_text = await _status(api, face, route, isolated, "B")
        reader, _ = await _status(api, face, route, isolated, "READER") if kind != "shared" else (None, "")
        write = route.method in WRITES
        if kind == "shared" and (b != b_status if b_status else not b < 300):
            failures.append(f"{where}: B got {b}")
        if kind == "admin" and (b, reader) != (b_status or 403, b_status or 403):
            failures.append(f"{where}: B got {b}, A's reader {reader}")
        if kind == "owned":
            if b != (b_status or 404):
                failures.append(f"{where}: B got {b}")
            if write and reader != 403:
                failures.append(f"{where}: A's reader wrote ({reader})")
            if not write:
                owner, _ = await _status(api, face, route, isolated, "ADMIN")
                if owner != reader:
                    failures.append(f"{where}: A's reader got {reader}, A's admin {owner}")
                if owner >= 300:
                    absent.append((face, route.method, route.path))
        if kind == "list":
            leaked = [value for value in owned_ids if value in b_text]
            if not b < 300 or leaked:
                failures.append(f"{where}: B got {b} {leaked}")
            if not reader < 300:
                failures.append(f"{where}: A's reader got {reader}")
        if kind == "nothing" and (b, reader) != (b_status, b_status):
            failures.append(f"{where}: B got {b}, A's reader {reader}")
        if kind == "user" and (b != 404 or reader != (403 if write else 404)):
            failures.append(f"{where}: B got {b}, A's reader {reader}")
        if kind == "create" and reader != 403:
            failures.append(f"{where}: A's reader got {reader}")
        if kind == "project":
            if b != (b_status or 403):
                failures.append(f"{where}: B got {b}")
            if write and reader != 403:
                failures.append(f"{where}: A's reader wrote ({reader})")
    await app[servers_key].wait_idle()
    assert failures == [], "\n".join(failures)
    assert sorted(absent) == sorted(NOT_IN_THE_WORLD), f"the world lacks the thing (B's 404 proves nothing): {absent}"
    assert checked > 150


async def test_an_admin_reaches_another_projects_things_by_all_tenants_or_id(api, admin_token, make_user):  # noqa: F811
    await make_user("proj-a", "member")
    server = await _insert(api, _project_id(api, "proj-a"), name="theirs")

    async def ids(query: str) -> list[str]:
        resp = await api.get(f"/servers{query}", admin_token)
        return [s["id"] for s in (await resp.json())["servers"]]

    assert server.uuid not in await ids("")
    assert server.uuid in await ids("?all_tenants=1")
    assert (await api.get(f"/servers/{server.uuid}", admin_token)).status == 200


async def test_an_admin_reaches_another_projects_volumes_snapshots_and_groups_by_all_projects_or_id(
        api, admin_token, make_user):  # noqa: F811
    """The admin clause beyond servers: Cinder's volume and snapshot lists (`all_tenants`) and Nova's server groups
    (`all_projects`) show another project's things only when asked, and its ids answer the admin directly."""
    member = await make_user("proj-a", "member")
    theirs, admins = Cinder(api, member), Cinder(api, admin_token)
    volume = await theirs.create(name="theirs")
    snapshot = await theirs.snapshot(volume["id"])
    for kind, thing in (("volumes", volume), ("snapshots", snapshot)):
        for path in (f"/{kind}", f"/{kind}/detail"):
            assert thing["id"] not in [v["id"] for v in (await admins.ok("GET", path, 200))[kind]], path
            listed = (await admins.ok("GET", f"{path}?all_tenants=1", 200))[kind]
            assert thing["id"] in [v["id"] for v in listed], path
        assert (await admins.ok("GET", f"/{kind}/{thing['id']}", 200))[kind[:-1]]["id"] == thing["id"]

    made = await api.post("/os-server-groups", member, json={"server_group": {"name": "theirs",
                                                                                "policies": ["affinity"]}})
    assert made.status == 200, await made.text()
    group = (await made.json())["server_group"]["id"]

    async def groups(query: str) -> list[str]:
        resp = await api.get(f"/os-server-groups{query}", admin_token)
        return [g["id"] for g in (await resp.json())["server_groups"]]

    assert group not in await groups("") and group in await groups("?all_projects=True")
    assert (await api.get(f"/os-server-groups/{group}", admin_token)).status == 200
    member_b = await make_user("proj-b", "member")
    # Nova checks the show policy against the group's project: another project's member gets 403, not 404
    assert (await api.get(f"/os-server-groups/{group}", member_b)).status == 403
    assert group not in [g["id"] for g in (await (await api.get("/os-server-groups?all_projects=True", member_b))
                                           .json())["server_groups"]]  # a member's all_projects is its own


async def test_neutrons_admin_lists_every_projects_networks_and_ports(api, admin_token, make_user):  # noqa: F811
    """Neutron's side differs from Nova's: an admin's list is every project's (no all_tenants), a member's only
    its own and the shared ones."""
    member, member_b = await make_user("proj-a", "member"), await make_user("proj-b", "member")
    net_a, net_admin = Net(api.client, member), Net(api.client, admin_token)
    network = await net_a.network("theirs")
    port = await net_a.port(network["id"])
    for path, key, thing in (("/networks", "networks", network), ("/ports", "ports", port)):
        assert thing["id"] in [x["id"] for x in (await net_admin.ok("GET", path))[key]], path
        assert (await net_admin.ok("GET", f"{path}/{thing['id']}"))[key[:-1]]["id"] == thing["id"]
        assert thing["id"] not in [x["id"] for x in (await Net(api.client, member_b).ok("GET", path))[key]], path
