"""os-keypairs across the ladder: 2.2 (`type`, 201/204, x509), 2.10 (`user_id`: admins reach other users'
keypairs), 2.35 (paging) and 2.92 (no generated keypairs; `@` and `.` in names), each shown at the version before
the change and at the change."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.test_keypairs import ED25519_KEY, ED25519_FINGERPRINT, whoami
from tests.unit.test_keypair_keys import NOVA_IMPORT_KEY


@pytest.fixture
async def api(ladder_api):
    return ladder_api


def at(version: str) -> dict[str, str]:
    return {"X-OpenStack-Nova-API-Version": version}


async def create(api, token, version, **keypair):
    return await api.post("/os-keypairs", token, json={"keypair": keypair}, headers=at(version))


def _certificate() -> tuple[str, str]:
    """A self-signed PEM certificate and its SHA-1 fingerprint (of the DER form, "aa:bb:...")."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "winrm-user")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            ":".join(digest[i:i + 2] for i in range(0, 40, 2)))


# ----- 2.2 ----------------------------------------------------------------------------------------------------------

async def test_2_2_type_in_every_view_and_201_204(api, make_user):
    token = await make_user("kp-22")
    # 2.1: no type anywhere, 200 and 202, and the body key refused
    await assert_fault(await create(api, token, "2.1", name="t", public_key=ED25519_KEY, type="ssh"), 400,
                       "badRequest", "Additional properties are not allowed ('type' was unexpected)")
    resp = await create(api, token, "2.1", name="old", public_key=ED25519_KEY)
    assert resp.status == 200
    assert set((await resp.json())["keypair"]) == {"name", "public_key", "fingerprint", "user_id"}
    listed = await (await api.get("/os-keypairs", token, headers=at("2.1"))).json()
    assert listed == {"keypairs": [{"keypair": {"name": "old", "public_key": ED25519_KEY,
                                                "fingerprint": ED25519_FINGERPRINT}}]}
    assert "type" not in (await (await api.get("/os-keypairs/old", token, headers=at("2.1"))).json())["keypair"]
    resp = await api.delete("/os-keypairs/old", token, headers=at("2.1"))
    assert resp.status == 202 and await resp.read() == b""
    # 2.2: type (ssh by default), 201 and 204
    resp = await create(api, token, "2.2", name="new", public_key=ED25519_KEY)
    assert resp.status == 201
    assert await resp.json() == {"keypair": {"name": "new", "public_key": ED25519_KEY, "type": "ssh",
                                             "fingerprint": ED25519_FINGERPRINT,
                                             "user_id": whoami(api, token).user_id}}
    listed = await (await api.get("/os-keypairs", token, headers=at("2.2"))).json()
    assert listed["keypairs"][0]["keypair"]["type"] == "ssh" and "keypairs_links" not in listed
    shown = (await (await api.get("/os-keypairs/new", token, headers=at("2.2"))).json())["keypair"]
    assert shown["type"] == "ssh" and set(shown) == {"id", "name", "public_key", "fingerprint", "user_id", "type",
                                                    "created_at", "updated_at", "deleted", "deleted_at"}
    resp = await api.delete("/os-keypairs/new", token, headers=at("2.2"))
    assert resp.status == 204 and await resp.read() == b""
    await assert_fault(await create(api, token, "2.2", name="t", public_key=ED25519_KEY, type="pgp"), 400,
                       "badRequest", "Invalid input for field/attribute type")


async def test_2_2_x509_imported_and_generated(api, make_user):
    token = await make_user("kp-x509")
    pem, sha1 = _certificate()
    resp = await create(api, token, "2.2", name="cert", public_key=pem, type="x509")
    assert resp.status == 201
    keypair = (await resp.json())["keypair"]
    assert (keypair["type"], keypair["fingerprint"], keypair["public_key"]) == ("x509", sha1, pem)
    # an SSH key is no certificate, and a certificate no SSH key
    fault = await assert_fault(await create(api, token, "2.2", name="bad", public_key=NOVA_IMPORT_KEY, type="x509"),
                               400, "badRequest")
    assert fault["message"].startswith("Keypair data is invalid: failed to generate X509 fingerprint. Error message:")
    await assert_fault(await create(api, token, "2.2", name="bad", public_key=pem), 400, "badRequest",
                       "Keypair data is invalid: failed to generate fingerprint")
    resp = await create(api, token, "2.2", name="made", type="x509")
    assert resp.status == 201
    made = (await resp.json())["keypair"]
    cert = x509.load_pem_x509_certificate(made["public_key"].encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == whoami(api, token).user_id
    assert made["type"] == "x509" and base64.b64decode(made["private_key"])
    shown = (await (await api.get("/os-keypairs/made", token, headers=at("2.2"))).json())["keypair"]
    assert shown["type"] == "x509" and "private_key" not in shown and shown["fingerprint"] == made["fingerprint"]


# ----- 2.10 ---------------------------------------------------------------------------------------------------------

async def test_2_10_admins_reach_other_users_keypairs(api, make_user, admin_token):
    alice = await make_user("kp-210")
    alice_id = whoami(api, alice).user_id
    await create(api, alice, "2.2", name="hers", public_key=ED25519_KEY)
    mine = f"?user_id={alice_id}"
    # 2.9: the parameter is ignored (the admin's own keypairs) and the body key refused
    assert await (await api.get(f"/os-keypairs{mine}", admin_token, headers=at("2.9"))).json() == {"keypairs": []}
    await assert_fault(await api.get(f"/os-keypairs/hers{mine}", admin_token, headers=at("2.9")), 404)
    await assert_fault(await api.delete(f"/os-keypairs/hers{mine}", admin_token, headers=at("2.9")), 404)
    await assert_fault(await create(api, admin_token, "2.9", name="for-her", public_key=NOVA_IMPORT_KEY,
                                    user_id=alice_id), 400, "badRequest",
                       "Additional properties are not allowed ('user_id' was unexpected)")
    # 2.10: the admin lists, shows, creates for and deletes alice's keypairs
    listed = await (await api.get(f"/os-keypairs{mine}", admin_token, headers=at("2.10"))).json()
    assert [k["keypair"]["name"] for k in listed["keypairs"]] == ["hers"]
    shown = await api.get(f"/os-keypairs/hers{mine}", admin_token, headers=at("2.10"))
    assert shown.status == 200 and (await shown.json())["keypair"]["user_id"] == alice_id
    resp = await create(api, admin_token, "2.10", name="for-her", public_key=NOVA_IMPORT_KEY, user_id=alice_id)
    assert resp.status == 201 and (await resp.json())["keypair"]["user_id"] == alice_id
    names = await (await api.get("/os-keypairs", alice, headers=at("2.10"))).json()
    assert [k["keypair"]["name"] for k in names["keypairs"]] == ["for-her", "hers"]
    assert (await api.delete(f"/os-keypairs/for-her{mine}", admin_token, headers=at("2.10"))).status == 204
    await assert_fault(await api.get("/os-keypairs/for-her", alice, headers=at("2.10")), 404, "itemNotFound",
                       f"Keypair for-her not found for user {alice_id}")


async def test_2_10_others_may_name_only_themselves(api, make_user):
    alice = await make_user("kp-210b")
    bob = await make_user("kp-210b")
    alice_id, bob_id = whoami(api, alice).user_id, whoami(api, bob).user_id
    await create(api, alice, "2.10", name="hers", public_key=ED25519_KEY)
    for method, path, action in (("GET", "/os-keypairs", "index"), ("GET", "/os-keypairs/hers", "show"),
                                 ("DELETE", "/os-keypairs/hers", "delete")):
        resp = await api.request(method, f"{path}?user_id={alice_id}", bob, headers=at("2.10"))
        await assert_fault(resp, 403, "forbidden", f"Policy doesn't allow os_compute_api:os-keypairs:{action} to be "
                                                   "performed.")
    await assert_fault(await create(api, bob, "2.10", name="x", public_key=NOVA_IMPORT_KEY, user_id=alice_id), 403,
                       "forbidden", "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.")
    resp = await api.get(f"/os-keypairs?user_id={bob_id}", bob, headers=at("2.10"))
    assert resp.status == 200 and await resp.json() == {"keypairs": []}
    # the first value counts, as in Nova
    resp = await api.get(f"/os-keypairs?user_id={bob_id}&user_id={alice_id}", bob, headers=at("2.10"))
    assert resp.status == 200 and await resp.json() == {"keypairs": []}
    assert (await (await api.get("/os-keypairs/hers", alice, headers=at("2.10"))).json())["keypair"]["name"] == "hers"


# ----- 2.35 ---------------------------------------------------------------------------------------------------------

async def test_2_35_keypair_list_pages(api, make_user):
    token = await make_user("kp-235")
    for name in ("c", "a", "b"):
        await create(api, token, "2.2", name=name, public_key=ED25519_KEY)
    # 2.34: limit and marker are ignored, there are no links
    body = await (await api.get("/os-keypairs?limit=1&marker=zzz", token, headers=at("2.34"))).json()
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["a", "b", "c"] and "keypairs_links" not in body
    # 2.35: a page, and the next one's link keeps the query (sorted) with the last name as marker
    resp = await api.get("/os-keypairs?limit=2", token, headers=at("2.35"))
    body = await resp.json()
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["a", "b"]
    (link,) = body["keypairs_links"]
    assert link["rel"] == "next"
    href = urlsplit(link["href"])
    assert href.path == "/compute/v2.1/os-keypairs" and parse_qs(href.query) == {"limit": ["2"], "marker": ["b"]}
    body = await (await api.get(f"/os-keypairs?{href.query}", token, headers=at("2.35"))).json()
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["c"] and "keypairs_links" not in body
    body = await (await api.get("/os-keypairs?marker=a", token, headers=at("2.35"))).json()
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["b", "c"] and "keypairs_links" not in body
    assert await (await api.get("/os-keypairs?limit=0", token, headers=at("2.35"))).json() == {"keypairs": []}
    await assert_fault(await api.get("/os-keypairs?marker=zzz", token, headers=at("2.35")), 400, "badRequest",
                       "Marker zzz could not be found.")
    for bad in ("-1", "two", ""):
        await assert_fault(await api.get(f"/os-keypairs?limit={bad}", token, headers=at("2.35")), 400, "badRequest",
                           "Invalid input for query parameters limit.")


# ----- 2.92 ---------------------------------------------------------------------------------------------------------

async def test_2_92_public_key_required_and_names_with_at_and_dot(api, make_user):
    token = await make_user("kp-292")
    # 2.91: a keypair without public_key is generated (its private key answered once); `@` is unsafe
    resp = await create(api, token, "2.91", name="made", type="ssh")
    body = await resp.json()
    assert resp.status == 201 and body["keypair"]["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    await assert_fault(await create(api, token, "2.91", name="me@host.example", public_key=ED25519_KEY), 400,
                       "badRequest", "Keypair name contains unsafe characters")
    # 2.92: nothing is generated (x509 neither), the name may hold `@` and `.`, other characters stay refused
    for kind in ("ssh", "x509"):
        await assert_fault(await create(api, token, "2.92", name=f"gen-{kind}", type=kind), 400, "badRequest",
                           "'public_key' is a required property")
    await assert_fault(await create(api, token, "2.92", name="a/b", public_key=ED25519_KEY), 400, "badRequest",
                       "Invalid input for field/attribute name")
    resp = await create(api, token, "2.92", name="me@host.example", public_key=ED25519_KEY)
    body = await resp.json()
    assert resp.status == 201 and "private_key" not in body["keypair"], body
    oracle.validate_with_tempest("POST", "/os-keypairs", None, "2.92", resp.status, body)
    oracle.assert_keys_like_nova(body, "POST", "/os-keypairs", None, "2.92", side="response")
    names = [k["keypair"]["name"] for k in (await (await api.get("/os-keypairs", token, headers=at("2.92"))).json())[
        "keypairs"]]
    assert names == ["made", "me@host.example"]
    shown = await api.get("/os-keypairs/me@host.example", token, headers=at("2.92"))
    assert shown.status == 200 and (await shown.json())["keypair"]["fingerprint"] == ED25519_FINGERPRINT
