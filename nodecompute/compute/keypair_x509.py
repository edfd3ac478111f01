"""x509 keypairs (microversion 2.2, type "x509"): Nova's certificate for WinRM's passwordless authentication.

An imported x509 keypair is a PEM certificate whose fingerprint is the SHA-1 of its DER form as colon-separated hex
pairs (nova/crypto.py generate_x509_fingerprint). A generated one is what Nova's `openssl req -x509` makes: a
self-signed 10-year certificate for `CN=<user id>` with the client-auth extended key usage and the user principal
name `<user id>@localhost` as a subject alternative name, its private key handed back once as a base64 PKCS#12
bundle (key and certificate, no password).
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

UPN_OID = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")  # Microsoft's user principal name
VALID_DAYS = 3650
KEY_BITS = 2048


def x509_fingerprint(pem: str) -> str:
    """SHA-1 of the certificate as "aa:bb:..."; ValueError with Nova's reason when it is no PEM certificate."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"failed to generate X509 fingerprint. Error message: {exc}") from None
    digest = cert.fingerprint(hashes.SHA1()).hex()  # noqa: S324 - the fingerprint format Nova shows
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _der_utf8(text: str) -> bytes:
    """A DER UTF8String (the value of an otherName)."""
    data = text.encode("utf-8")
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    length = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + data


def generate_x509(user_id: str, *, now: datetime, bits: int = KEY_BITS) -> tuple[str, str, str]:
    """(base64 PKCS#12 private key, PEM certificate, fingerprint) for `user_id`, as Nova generates them; valid from
    `now` (naive UTC, the service's clock)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = now.replace(tzinfo=timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.OtherName(UPN_OID, _der_utf8(f"{user_id}@localhost"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    bundle = pkcs12.serialize_key_and_certificates(None, key, cert, None, serialization.NoEncryption())
    return base64.b64encode(bundle).decode("ascii"), pem, x509_fingerprint(pem)
