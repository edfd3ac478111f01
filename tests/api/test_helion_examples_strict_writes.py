"""Every JSON example of seed 002 that writes (POST, PUT, DELETE) sent to /helion as printed, its sample values
replaced by the test's own resources: the documented status, the answer held strictly to the response example's
keys plus the D-cells' (tests/api/helion_strict_keys.py), value types, and the values naming a resource equal to
that resource's own (issue 24 Proof, first item). Each call names the seed lines of its request heading, request
example and response example. The floating-IP examples (5567, 5399, 5445, 8612) and the VNC console (7976) need a
routed network or the console listener: their XML tests (test_helion_xml_floating_ips.py, test_helion_consoles.py)
stand; their JSON answers are not held here (docs/helion.md, "Seed examples")."""
from __future__ import annotations

import asyncio

from nodecompute.api import xml_helion
from nodecompute.api.keys import servers_key
from tests.api.helion_strict_keys import strict_mismatches
from tests.api.test_helion_examples_strict import D25, example
from tests.api.test_helion_xml_requests import Helion, plain  # noqa: F401 (fixture)
from tests.api.test_server_actions import scripted  # noqa: F401 (fixture)
from tests.api.test_servers_api import api, servers_api  # noqa: F401 (fixtures)
from tests.api.test_volume_attachments import Cloud, cloud  # noqa: F401 (fixture)
from tests.unit.xml_helion_responses import SEED
from tests.unit.xml_seed import load_examples, read_json_example

EXAMPLES = load_examples(SEED)
SERVER = {"/server": D25}
CREATED = {"/server": frozenset({"security_groups"})}  # D21: {id, links, adminPass, security_groups}


def request(line: int, *subs: tuple[str, str], drop: tuple[str, ...] = ()) -> dict:
    """The seed's JSON request example at `line`, each sample value replaced by the test's own (as JSON text), the
    `drop` keys of its one top-level object removed."""
    text = EXAMPLES["json", line].text
    for old, new in subs:
        assert old in text, (line, old)
        text = text.replace(old, new)
    body = read_json_example(text)
    for key in drop:
        (inner,) = [value for value in body.values() if isinstance(value, dict)][:1]
        del inner[key]
    return body


async def send(helion: Helion, method: str, path: str, lines: tuple[int, int, int | None], status: int,
               body: dict | None = None, extra: dict | None = None) -> dict | None:
    """One example: (heading, request, response) lines; the answer held to the response example (None: no body)."""
    heading, _, json_line = lines
    resp = await helion.call(method, path, json=body)
    assert resp.status == status, (heading, resp.status, await resp.text())
    await helion.app[servers_key].wait_idle()
    if json_line is None:
        assert await resp.read() == b"", heading
        return None
    answer = await resp.json()
    assert strict_mismatches(example(json_line), answer, extra) == [], heading
    return answer


async def available(helion: Helion, path: str, key: str) -> None:
    """Wait for a volume or snapshot made in the background."""
    for _ in range(1500):  # 30 s: a loaded host's qemu-img may take seconds
        if (await helion.json(path))[key]["status"] == "available":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never became available")


async def test_resource_writes(plain):  # noqa: F811
    """Keypairs, security groups and rules, volumes, snapshots, image metadata: create, change, delete."""
    helion = Helion(plain)
    kp = (await send(helion, "POST", "/os-keypairs", (5816, 5840, 5859), 202, request(5840)))["keypair"]
    assert kp["name"] == "keypair-1"
    shown = await helion.json("/os-keypairs/keypair-1")
    assert shown["keypair"]["fingerprint"] == kp["fingerprint"]
    await send(helion, "DELETE", "/os-keypairs/keypair-1", (5958, 0, None), 202)

    group = (await send(helion, "POST", "/os-security-groups", (6566, 6590, 6612), 202, request(6590)))
    group_id = group["security_group"]["id"]
    assert (await helion.json(f"/os-security-groups/{group_id}"))["security_group"]["name"] == "security-group-1"
    rule = await send(helion, "POST", "/os-security-group-rules", (6739, 6779, 6806), 202,
                      request(6779, ('"17965"', f'"{group_id}"')))
    rule_id = rule["security_group_rule"]["id"]
    assert rule["security_group_rule"]["parent_group_id"] == group_id
    await send(helion, "DELETE", f"/os-security-group-rules/{rule_id}", (6845, 0, None), 202)
    await send(helion, "DELETE", f"/os-security-groups/{group_id}", (6713, 0, None), 202)

    made = await helion.api.client.post(f"/volume/v3/{helion.project}/types", json={"volume_type": {"name": "ssd"}},
                                        headers={"X-Auth-Token": helion.token})
    assert made.status == 200, await made.text()
    volume_type = (await made.json())["volume_type"]["id"]  # a type of its own: the default one shows null
    body = request(7180, ('"size": 30', '"size": 1'), ('"az1"', '"nova"'),
                   ("289da7f8-6440-407c-9fb4-7db01ec49164", volume_type), drop=("snapshot_id",))
    volume = (await send(helion, "POST", "/os-volumes", (7152, 7180, 7213), 202, body))["volume"]
    # the type is named by its name (as the openstack view's volumeType), where the seed echoes the id it was given
    assert (volume["volume_type"], volume["size"], volume["metadata"]) == ("ssd", 1, {"contents": "junk"})
    assert (await helion.json(f"/os-volumes/{volume['id']}"))["volume"]["id"] == volume["id"]
    await available(helion, f"/os-volumes/{volume['id']}", "volume")
    snap = (await send(helion, "POST", "/os-snapshots", (7338, 7361, 7385), 202,
                       request(7361, ("521752a6-acf6-4b2d-bc7a-119f9148cd8c", volume["id"]))))["snapshot"]
    assert snap["volume_id"] == volume["id"]
    await available(helion, f"/os-snapshots/{snap['id']}", "snapshot")
    await send(helion, "DELETE", f"/os-snapshots/{snap['id']}", (7602, 0, None), 202)
    await send(helion, "DELETE", f"/os-volumes/{volume['id']}", (7313, 0, None), 202)

    image = await helion.image()
    meta = f"/images/{image}/metadata"
    await send(helion, "POST", meta, (3437, 3462, 3487), 200, request(3462))
    answer = await send(helion, "PUT", meta, (3569, 3596, 3622), 200, request(3596))
    assert answer == {"metadata": {"key-1": "value-1", "key-2": "value-2"}}
    assert await send(helion, "PUT", f"{meta}/key-1", (3765, 3786, 3804), 200, request(3786)) == \
        {"meta": {"key-1": "value-1"}}
    await send(helion, "DELETE", f"{meta}/key-1", (3830, 0, None), 204)
    assert (await helion.json(meta))["metadata"] == {"key-2": "value-2"}
    await send(helion, "DELETE", f"/images/{image}", (3309, 0, None), 204)


async def test_server_writes(scripted):  # noqa: F811
    """Creates (each create example), rename, metadata, actions, volume attachment and delete on the scripted
    hypervisor; every created or changed server read back."""
    helion = Helion(scripted)
    server_id, image = helion.server_id, await helion.image()
    await send(helion, "POST", "/os-keypairs", (5816, 5840, 5859), 202, {"keypair": {"name": "kp"}})
    network = await helion.network()
    full = request(1558, ("{name}", "full-1"), ("{image_id}", image), ("{flavor_id}", "42"),
                   ("{keypair_name}", "kp"), ("{az}", "nova"), ("{key}", "k"), ("{value}", "v"),
                   ("{security_group_name}", "default"), ("{network_uuid}", network))
    made = {}
    for lines, body in [((1505, 1558, 1612), full),
                        ((4224, 4245, 4293), {"server": {**full["server"], "name": "full-2"}}),
                        ((4461, 4491, 4509), request(4491, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", image),
                                                     ('"101"', '"42"'))),
                        ((5985, 6000, 6029), request(6000, ("70a599e0-31e7-49b7-b260-868f441e862b", image),
                                                     ('"103"', '"42"'),
                                                     ("2b7c42eb-7736-4a0f-afab-f23969a35ada", server_id))),
                        ((7885, 7908, 7934), request(7908, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", image),
                                                     ('"101"', '"42"'), ('"min_count": 5', '"min_count": 2'),
                                                     ('"max_count": 10', '"max_count": 2'))),
                        ((8528, 8550, 8572), request(8550, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", image),
                                                     ('"101"', '"42"')))]:
        answer = (await send(helion, "POST", "/servers", lines, 202, body, CREATED))["server"]
        assert [link["href"].rsplit("/", 1)[1] for link in answer["links"]] == [answer["id"]] * 2, lines
        shown = await helion.server(answer["id"])
        assert shown["name"] in (body["server"]["name"], body["server"]["name"] + "-1"), lines
        assert shown["image"]["id"] == image and shown["status"] == "ACTIVE", lines
        made[lines[0]] = shown
    assert (made[1505]["key_name"], made[1505]["metadata"], list(made[1505]["addresses"])) == ("kp", {"k": "v"},
                                                                                               ["xml-net"])
    assert made[4461]["config_drive"] == "true" and made[4461]["metadata"] == {"id": "25"}

    networked = f"/servers/{made[1505]['id']}/action"  # security groups act on ports: the server with a NIC
    await send(helion, "POST", "/os-security-groups", (6566, 6590, 6612), 202, request(6590))
    await send(helion, "POST", networked, (6298, 6322, None), 202, request(6322))
    assert {g["name"] for g in (await helion.server(made[1505]["id"]))["security_groups"]} == \
        {"default", "security-group-1"}
    await send(helion, "POST", networked, (6344, 6366, None), 202, request(6366))
    assert [g["name"] for g in (await helion.server(made[1505]["id"]))["security_groups"]] == ["default"]

    path = f"/servers/{server_id}"
    renamed = await send(helion, "PUT", path, (1946, 1969, 1993), 200, request(1969, ("{name}", "renamed")),
                         SERVER)
    assert (renamed["server"]["id"], renamed["server"]["name"]) == (server_id, "renamed")
    meta = f"{path}/metadata"
    await send(helion, "POST", meta, (2187, 2210, 2235), 200, request(2210, ("{key_1}", "a"), ("{value_1}", "1")))
    assert await send(helion, "PUT", meta, (2260, 2286, 2313), 200, request(2286)) == \
        {"metadata": {"key-1": "value-1", "key-2": "value-2"}}
    assert (await helion.call("PUT", f"{meta}/key-1", json=request(2425))).status == 400  # two keys (helion.md)
    assert await send(helion, "PUT", f"{meta}/key-1", (2399, 2425, 2452), 200,
                      request(2425, ('"value-1"', '"one"'), drop=("key-2",))) == {"meta": {"key-1": "one"}}
    await send(helion, "DELETE", f"{meta}/key-1", (2487, 0, None), 204)
    assert (await helion.server())["metadata"] == {"key-2": "value-2"}

    act = f"{path}/action"
    await send(helion, "POST", act, (2525, 2554, None), 202, request(2554))
    await send(helion, "POST", act, (9209, 9226, None), 202, request(9226))
    assert (await helion.server())["status"] == "STOPPED"
    await send(helion, "POST", act, (9174, 9191, None), 202, request(9191))
    assert (await helion.server())["status"] == "ACTIVE"
    output = await send(helion, "POST", act, (4666, 4690, 4711), 200, request(4690))
    assert isinstance(output["output"], str)
    await send(helion, "POST", act, (7791, 7813, 7831), 200, request(7813))
    assert (await helion.server())["status"] == "RESCUE"
    await send(helion, "POST", act, (7845, 7866, None), 200, request(7866))
    rebuilt = await send(helion, "POST", act, (2584, 2609, 2640), 202,
                         request(2609, ("{image_id}", image), ("{key}", "r"), ("{value}", "b"), ("{name}", "rebuilt")),
                         {"/server": D25})
    assert (rebuilt["server"]["id"], rebuilt["server"]["name"]) == (server_id, "rebuilt")
    resp = await helion.call("POST", act, json=request(2750, ("{name}", "snap")))  # 2725: its Location
    assert resp.status == 202 and await resp.read() == b"", await resp.text()
    assert "/image/images/" in resp.headers["Location"]
    await helion.app[servers_key].wait_idle()  # (the scripted hypervisor has no disk: the job is test_server_images')
    actions = (await helion.json(f"{path}/os-instance-actions"))["instanceActions"]
    assert actions[0]["action"] == "createImage"

    await send(helion, "DELETE", path, (2081, 0, None), 204)
    assert (await helion.call("GET", path)).status == 404


async def test_volume_attachments_and_action_show(cloud: Cloud):  # noqa: F811
    """Attach (7626), list (7684), show (7731), detach (7765) and an instance action's show (8481), on the volume
    attachment tests' world (its hypervisor attaches)."""
    server_id = await cloud.server()
    volume = (await cloud.cinder.create(name="data"))["id"]
    helion = Helion((cloud.api, cloud.token, None, server_id))
    path = f"/servers/{server_id}/os-volume_attachments"
    attached = await send(helion, "POST", path, (7626, 7649, 7670), 202,
                          request(7649, ("5f800cf0-324f-4234-bc6b-e12d5816e962", volume)))
    own = {"id": volume, "volumeId": volume, "serverId": server_id, "device": "/dev/vdd"}
    assert attached["volumeAttachment"] == own
    listed = await helion.json(path)
    assert strict_mismatches(example(7705), listed) == [] and listed["volumeAttachments"] == [own]
    shown = await helion.json(f"{path}/{volume}")
    assert strict_mismatches(example(7751), shown) == [] and shown["volumeAttachment"] == own
    await send(helion, "DELETE", f"{path}/{volume}", (7765, 0, None), 202)
    await cloud.cinder.idle()  # the detach runs after the 202, as Nova's does
    assert (await helion.json(path))["volumeAttachments"] == []
    actions = (await helion.json(f"/servers/{server_id}/os-instance-actions"))["instanceActions"]
    create = [action for action in actions if action["action"] == "create"][0]
    shown = await helion.json(f"/servers/{server_id}/os-instance-actions/{create['request_id']}")
    assert strict_mismatches(example(8503), shown) == [], 8481
    assert (shown["instanceAction"]["instance_uuid"], shown["instanceAction"]["request_id"]) == \
        (server_id, create["request_id"])
    resp = await helion.call("GET", f"/servers/{server_id}/os-instance-actions/{create['request_id']}.xml")
    assert resp.status == 200 and xml_helion.read_back(await resp.read(), None) == shown  # 8517
