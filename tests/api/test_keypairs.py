"""os-keypairs (#901-#904) at 2.1: import and generate, list/show/delete, validation, roles, isolation, quota."""
from __future__ import annotations

import re

from nodecompute.api.keys import identity_key, keypairs_key
from nodecompute.app import store_key
from nodecompute.domain.errors import NotFound
from tests.api.helpers import assert_fault
from tests.unit.test_keypair_keys import NOVA_IMPORT_FINGERPRINT, NOVA_IMPORT_KEY

ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFql4NfbKiEZdoGJoH4S3wPJRDeX27tnttmWFMZgEnLA tester@laptop"
ED25519_FINGERPRINT = "ba:b8:67:44:93:87:d6:76:7f:89:bd:8a:85:82:b2:50"  # ssh-keygen -l -E md5
USEC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def whoami(api, token):
    return api.client.server.app[identity_key].validate(token)


async def create(api, token, name, public_key=None, **kw):
    keypair = {"name": name}
    if public_key is not None:
        keypair["public_key"] = public_key
    return await api.post("/os-keypairs", token, json={"keypair": keypair}, **kw)


async def test_import_returns_200_with_nova_fingerprint(api, make_user):
    token = await make_user("kp-import")
    resp = await create(api, token, "imported", NOVA_IMPORT_KEY)
    assert resp.status == 200
    body = await resp.json()
    assert body == {"keypair": {"name": "imported", "public_key": NOVA_IMPORT_KEY,
                                "fingerprint": NOVA_IMPORT_FINGERPRINT, "user_id": whoami(api, token).user_id}}


async def test_generate_returns_private_key_once(api, make_user):
    token = await make_user("kp-gen")
    resp = await create(api, token, "generated")
    assert resp.status == 200
    keypair = (await resp.json())["keypair"]
    assert set(keypair) == {"name", "public_key", "fingerprint", "user_id", "private_key"}
    assert keypair["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert keypair["public_key"].startswith("ssh-rsa ") and keypair["public_key"].endswith(" Generated-by-Nova")
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", keypair["fingerprint"])
    shown = (await (await api.get("/os-keypairs/generated", token)).json())["keypair"]
    assert "private_key" not in shown and shown["public_key"] == keypair["public_key"]
    store = api.client.server.app[store_key]
    rows = [dict(r) for r in store.reader.execute("SELECT * FROM keypairs").fetchall()]
    secret = keypair["private_key"].splitlines()[1]
    assert rows and all(secret not in str(row.values()) for row in rows)


async def test_list_wraps_items_sorted_by_name(api, make_user):
    token = await make_user("kp-list")
    resp = await api.get("/os-keypairs", token)
    assert resp.status == 200 and await resp.json() == {"keypairs": []}
    for name, key in (("zeta", ED25519_KEY), ("alpha", NOVA_IMPORT_KEY)):
        assert (await create(api, token, name, key)).status == 200
    body = await (await api.get("/os-keypairs", token)).json()
    assert body == {"keypairs": [
        {"keypair": {"name": "alpha", "public_key": NOVA_IMPORT_KEY, "fingerprint": NOVA_IMPORT_FINGERPRINT}},
        {"keypair": {"name": "zeta", "public_key": ED25519_KEY,
                     "fingerprint": ED25519_FINGERPRINT}},
    ]}


async def test_show_has_the_full_record(api, make_user):
    token = await make_user("kp-show")
    await create(api, token, "with space", NOVA_IMPORT_KEY)
    resp = await api.get("/os-keypairs/with%20space", token)
    assert resp.status == 200
    keypair = (await resp.json())["keypair"]
    assert set(keypair) == {"id", "name", "public_key", "fingerprint", "user_id", "created_at", "updated_at",
                            "deleted", "deleted_at"}
    assert isinstance(keypair["id"], int) and keypair["id"] > 0
    assert keypair["name"] == "with space" and keypair["user_id"] == whoami(api, token).user_id
    assert USEC_TIME.match(keypair["created_at"])
    assert keypair["updated_at"] is None and keypair["deleted"] is False and keypair["deleted_at"] is None
    ctx = whoami(api, token)
    resp = await api.get(f"/{ctx.project_id}/os-keypairs/with%20space", token)
    assert resp.status == 200


async def test_delete_202_then_404(api, make_user):
    token = await make_user("kp-del")
    uid = whoami(api, token).user_id
    await create(api, token, "doomed", ED25519_KEY)
    resp = await api.delete("/os-keypairs/doomed", token)
    assert resp.status == 202 and await resp.read() == b""
    await assert_fault(await api.get("/os-keypairs/doomed", token), 404, "itemNotFound",
                       f"Keypair doomed not found for user {uid}")
    await assert_fault(await api.delete("/os-keypairs/doomed", token), 404, "itemNotFound",
                       f"Keypair doomed not found for user {uid}")
    assert (await create(api, token, "doomed", ED25519_KEY)).status == 200


async def test_duplicate_name_is_409(api, make_user):
    token = await make_user("kp-dup")
    await create(api, token, "twice", ED25519_KEY)
    await assert_fault(await create(api, token, "twice", NOVA_IMPORT_KEY), 409, "conflictingRequest",
                       "Key pair 'twice' already exists.")
    await assert_fault(await create(api, token, "twice"), 409, "conflictingRequest")


async def test_bad_input_is_400(api, make_user):
    token = await make_user("kp-bad")
    cases = [
        ({"keypair": {"name": "bad@name", "public_key": ED25519_KEY}},
         "Keypair data is invalid: Keypair name contains unsafe characters"),
        ({"keypair": {"name": "dot.ted"}}, "Keypair data is invalid: Keypair name contains unsafe characters"),
        ({"keypair": {"name": "k", "public_key": "ssh-rsa garbage"}},
         "Keypair data is invalid: failed to generate fingerprint"),
        ({"keypair": {"name": "k", "public_key": "not a key"}},
         "Keypair data is invalid: failed to generate fingerprint"),
        ({"keypair": {"name": " leading"}}, "Invalid input for field/attribute name"),
        ({"keypair": {"name": ""}}, "Invalid input for field/attribute name"),
        ({"keypair": {"name": "x" * 256}}, "Invalid input for field/attribute name"),
        ({"keypair": {"name": 5}}, "Invalid input for field/attribute name"),
        ({"keypair": {"name": "k", "public_key": 7}}, "Invalid input for field/attribute public_key"),
        ({"keypair": {"name": "k", "type": "ssh"}}, "Additional properties are not allowed"),
        ({"keypair": {"public_key": ED25519_KEY}}, "'name' is a required property"),
        ({"keypairs": {"name": "k"}}, None),
        ({"keypair": "k"}, None),
    ]
    for body, message in cases:
        await assert_fault(await api.post("/os-keypairs", token, json=body), 400, "badRequest", message)
    await assert_fault(await api.post("/os-keypairs", token, data=b"{nope"), 400, "badRequest",
                       "Malformed request body")
    await assert_fault(await api.post("/os-keypairs", token), 400, "badRequest")
    assert (await (await api.get("/os-keypairs", token)).json()) == {"keypairs": []}


async def test_reader_reads_but_cannot_write(api, make_user):
    member = await make_user("kp-roles", "member")
    reader = await make_user("kp-roles", "reader")
    await assert_fault(await create(api, reader, "mine", ED25519_KEY), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
    assert (await api.get("/os-keypairs", reader)).status == 200
    assert (await create(api, member, "mine", ED25519_KEY)).status == 200
    await assert_fault(await api.delete("/os-keypairs/mine", reader), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-keypairs:delete to be performed.")
    await assert_fault(await api.get("/os-keypairs/mine", reader), 404, "itemNotFound")


async def test_users_never_see_each_others_keypairs(api, make_user, admin_token):
    alice = await make_user("kp-iso-a")
    bob_same_project = await make_user("kp-iso-a")
    carol = await make_user("kp-iso-c")
    await create(api, alice, "secret", ED25519_KEY)
    alice_id = whoami(api, alice).user_id
    for other in (bob_same_project, carol, admin_token):
        assert await (await api.get("/os-keypairs", other)).json() == {"keypairs": []}
        await assert_fault(await api.get("/os-keypairs/secret", other), 404, "itemNotFound")
        await assert_fault(await api.delete("/os-keypairs/secret", other), 404, "itemNotFound")
    # ?user_id= is a 2.10 feature; at 2.1 even an admin gets their own keypairs only.
    resp = await api.get(f"/os-keypairs?user_id={alice_id}", admin_token)
    assert await resp.json() == {"keypairs": []}
    await assert_fault(await api.get(f"/os-keypairs/secret?user_id={alice_id}", admin_token), 404)
    await assert_fault(await api.delete(f"/os-keypairs/secret?user_id={alice_id}", admin_token), 404)
    # The same name is free for another user.
    assert (await create(api, bob_same_project, "secret", NOVA_IMPORT_KEY)).status == 200
    shown = (await (await api.get("/os-keypairs/secret", alice)).json())["keypair"]
    assert shown["public_key"] == ED25519_KEY and shown["user_id"] == alice_id


async def test_key_pairs_quota_per_user(api, make_user, admin_token):
    token = await make_user("kp-quota")
    project_id = whoami(api, token).project_id
    resp = await api.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": {"key_pairs": 2}})
    assert resp.status == 200
    assert (await create(api, token, "one", ED25519_KEY)).status == 200
    assert (await create(api, token, "two")).status == 200
    for body in ({"name": "three", "public_key": ED25519_KEY}, {"name": "three"},
                 {"name": "three", "public_key": "garbage"}, {"name": "two"}):
        await assert_fault(await api.post("/os-keypairs", token, json={"keypair": body}), 403, "forbidden",
                           "Quota exceeded, too many key pairs.")
    # The quota counts per user: a second user of the project has their own two.
    other = await make_user("kp-quota")
    assert (await create(api, other, "one", ED25519_KEY)).status == 200
    await api.delete("/os-keypairs/one", token)
    assert (await create(api, token, "three", ED25519_KEY)).status == 200
    await api.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": {"key_pairs": -1}})
    for i in range(3):
        assert (await create(api, token, f"more{i}", ED25519_KEY)).status == 200


async def test_legacy_v2_accepts_spaces_and_ignores_unknown_properties(api, make_user):
    token = await make_user("kp-legacy")
    body = {"keypair": {"name": " spaced ", "public_key": ED25519_KEY, "type": "ssh"}, "extra": 1}
    resp = await api.post("/os-keypairs", token, json=body, version="v2")
    assert resp.status == 200
    assert (await resp.json())["keypair"]["name"] == " spaced "
    await assert_fault(await api.post("/os-keypairs", token, json=body), 400, "badRequest")
    resp = await api.get("/os-keypairs/%20spaced%20", token, version="v2")
    assert resp.status == 200 and "OpenStack-API-Version" not in resp.headers


async def test_service_get_for_server_create(api, make_user):
    token = await make_user("kp-service")
    ctx = whoami(api, token)
    await create(api, token, "boot-key", ED25519_KEY)
    service = api.client.server.app[keypairs_key]
    keypair = service.get(ctx.user_id, "boot-key")
    assert keypair.public_key == ED25519_KEY and keypair.user_id == ctx.user_id and keypair.private_key is None
    try:
        service.get("someone-else", "boot-key")
    except NotFound as exc:
        assert exc.message == "Keypair boot-key not found for user someone-else"
    else:
        raise AssertionError("another user's keypair was found")


async def test_needs_a_token(api):
    resp = await api.get("/os-keypairs")
    assert resp.status == 401
