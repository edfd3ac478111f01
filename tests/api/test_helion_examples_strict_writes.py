"""Every JSON example of seed 002 that writes (POST, PUT, DELETE) sent to /helion as printed, its sample values
replaced by the test's own resources: the documented status, the answer held strictly to the response example's
keys plus the D-cells' (tests/api/helion_strict_keys.py), value types, and the values naming a resource equal to
that resource's own (issue 24 Proof, first item). Each call names the seed lines of its request heading, request
example and response example. The floating-IP examples (5567, 5399, 5445, 8612) and the VNC console (7976) need a
routed network or the console listener: their XML tests (test_helion_xml_floating_ips.py, test_helion_consoles.py)
stand; their JSON answers are not held here (docs/helion.md, "Seed examples")."""
from __future__ import annotations

import asyncio
import json

from nodecompute.api.keys import servers_key
from tests.api.helion_strict_keys import strict_mismatches
from tests.api.test_helion_examples_strict import D25, example
from tests.api.test_helion_xml_requests import Helion, plain  # noqa: F401 (fixture)
from tests.api.test_server_actions import scripted  # noqa: F401 (fixture)
from tests.api.test_servers_api import api, servers_api  # noqa: F401 (fixtures)
from tests.unit.xml_helion_responses import SEED
from tests.unit.xml_seed import load_examples

EXAMPLES = load_examples(SEED)
SERVER = {"/server": D25}


def request(line: int, *subs: tuple[str, str], drop: tuple[str, ...] = ()) -> dict:
    """The seed's JSON request example at `line`, each sample value replaced by the test's own (as JSON text), the
    `drop` keys of its one top-level object removed."""
    text = EXAMPLES["json", line].text
    for old, new in subs:
        assert old in text, (line, old)
        text = text.replace(old, new)
    body = json.loads(text)
    (inner,) = [value for value in body.values() if isinstance(value, dict)][:1]
    for key in drop:
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
    for _ in range(100):
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
