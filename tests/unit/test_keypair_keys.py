"""Keypair fingerprints and generated keys, checked against Nova's own API samples and against ssh-keygen."""
from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nodecompute.compute.keypairs import InvalidKeypair, fingerprint, generate_key_pair, validate_name

# Nova's doc/api_samples/os-keypairs: keypairs-import-post-resp.json and keypairs-get-resp.json.
NOVA_IMPORT_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8JttDCE/F/pNRr0lRE+PiqSPO8"
    "nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsYXpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== "
    "Generated-by-Nova"
)
NOVA_IMPORT_FINGERPRINT = "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c"
NOVA_GET_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDYJrTVpcMwFqQy/oMvtUSRofZdSRHEwrsX8AYkRvn2ZnCXM+b6+GZ2NQuuWj+ocznlnwiGFQ"
    "DsL/yeE+/kurqcPJFKKp60mToXIMyzioFxW88fJtwEWawHKAclbHWpR1t4fQ4DS+/sIbX/Yd9btlVQ2tpQjodGDbM9Tr9/+/3i6rcR+EoLqmbg"
    "CgAiGiVV6VbM2Zx79yUwd+GnQejHX8BlYZoOjCnt3NREsITcmWE9FVFy6TnLmahs3FkEO/QGgWGkaohAJlsgaVvSWGgDn2AujKYwyDokK3dXyeX"
    "3m2Vmc3ejiqPa/C4nRrCOlko5nSgV/9IXRx1ERImsqZnE9usB Generated-by-Nova\n"
)
NOVA_GET_FINGERPRINT = "9d:00:f4:d7:26:6e:52:06:4c:c1:d3:1d:fd:06:66:01"

SSH_KEYGEN_TYPES = [("rsa", "2048"), ("ed25519", None), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521")]


def _md5_of_blob(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_fingerprint_matches_nova_api_samples():
    assert fingerprint(NOVA_IMPORT_KEY) == NOVA_IMPORT_FINGERPRINT
    assert fingerprint(NOVA_GET_KEY) == NOVA_GET_FINGERPRINT
    assert _md5_of_blob(NOVA_IMPORT_KEY) == NOVA_IMPORT_FINGERPRINT


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="openssh-client not installed")
@pytest.mark.parametrize(("key_type", "bits"), SSH_KEYGEN_TYPES)
def test_fingerprint_equals_ssh_keygen_md5(tmp_path, key_type, bits):
    path = tmp_path / "id"
    command = ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", "tester@host", "-f", str(path)]
    if bits:
        command[4:4] = ["-b", bits]
    subprocess.run(command, check=True)
    public_key = (tmp_path / "id.pub").read_text()
    listed = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f", str(path) + ".pub"], check=True,
                            capture_output=True, text=True).stdout
    expected = listed.split()[1].removeprefix("MD5:")
    assert fingerprint(public_key) == expected
    assert fingerprint(public_key) == _md5_of_blob(public_key)


@pytest.mark.parametrize("garbage", [
    "", "ssh-rsa", "not a key at all", "ssh-rsa AAAA!!!!", "ssh-rsa QUJD",
    NOVA_IMPORT_KEY.replace("ssh-rsa", "ssh-ed25519"),  # an RSA blob labelled as another type
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
])
def test_garbage_key_is_invalid_keypair(garbage):
    with pytest.raises(InvalidKeypair) as caught:
        fingerprint(garbage)
    assert caught.value.message == "Keypair data is invalid: failed to generate fingerprint"
    assert caught.value.code == 400


def test_generated_pair_is_rsa_2048_and_consistent():
    private_pem, public_key, print_ = generate_key_pair()
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert public_key.startswith("ssh-rsa ") and public_key.endswith(" Generated-by-Nova")
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == 2048
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert public_key.split()[:2] == derived.decode().split()
    assert print_ == fingerprint(public_key) == _md5_of_blob(public_key)
    assert generate_key_pair(1024)[1] != public_key


@pytest.mark.parametrize("name", ["a", "my key", "key_1-2", "x" * 255])
def test_safe_names_pass(name):
    validate_name(name)


@pytest.mark.parametrize(("name", "reason"), [
    ("bad@name", "Keypair name contains unsafe characters"),
    ("dot.name", "Keypair name contains unsafe characters"),
    ("café", "Keypair name contains unsafe characters"),
    ("", "Keypair name must be string and between 1 and 255 characters long"),
    ("x" * 256, "Keypair name must be string and between 1 and 255 characters long"),
])
def test_unsafe_names_are_refused(name, reason):
    with pytest.raises(InvalidKeypair) as caught:
        validate_name(name)
    assert caught.value.message == f"Keypair data is invalid: {reason}"


def test_generated_x509_is_novas_winrm_certificate():
    """CN=<user>, client auth, the UPN <user>@localhost as otherName, ten years, a PKCS#12 bundle of key and
    certificate as the private key, and the SHA-1 of the DER form as fingerprint."""
    import base64
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from nodecompute.compute.keypair_x509 import UPN_OID, generate_x509, x509_fingerprint
    from nodecompute.domain.models import utcnow

    private_key, pem, print_ = generate_x509("u-123", now=utcnow(), bits=1024)
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "u-123"
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    (upn,) = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert upn.type_id == UPN_OID and upn.value == b"\x0c\x0fu-123@localhost"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)
    key, bundled, _ = pkcs12.load_key_and_certificates(base64.b64decode(private_key), None)
    assert bundled == cert and key.public_key().public_numbers() == cert.public_key().public_numbers()
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha1(der).hexdigest()
    assert print_ == x509_fingerprint(pem) == ":".join(digest[i:i + 2] for i in range(0, 40, 2))
    if shutil.which("openssl"):
        shown = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha1"], input=pem.encode(),
                               capture_output=True, check=True).stdout.decode()
        assert shown.strip().split("=", 1)[1].lower() == print_
        names = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem.encode(),
                               capture_output=True, check=True).stdout.decode()
        assert "UPN:u-123@localhost" in names.replace("UPN::", "UPN:")
    with pytest.raises(ValueError, match="failed to generate X509 fingerprint"):
        x509_fingerprint("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
