"""Hand-made tokens for the cookie corpus: keys derived here, independently of
gateway.session.token, and jwcrypto to seal exactly the header and payload a case needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

V4_INFO = b"NextAuth.js Generated Encryption Key"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def json_b64(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def v4_key(secret: str, length: int = 32) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=b"", info=V4_INFO).derive(secret.encode())


def v5_key(secret: str, salt: str, length: int = 64) -> bytes:
    info = f"Auth.js Generated Encryption Key ({salt})".encode()
    return HKDF(hashes.SHA256(), length, salt=salt.encode(), info=info).derive(secret.encode())


def v5_kid(key: bytes) -> str:
    canonical = json.dumps({"k": b64(key), "kty": "oct"}, separators=(",", ":")).encode()
    return b64(hashlib.new("sha512" if len(key) == 64 else "sha256", canonical).digest())


def seal(key: bytes, header: dict[str, Any], claims: dict[str, Any] | bytes) -> str:
    """A compact JWE with exactly this protected header (``zip`` is honoured by jwcrypto)."""
    plaintext = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    jwe = JWE(plaintext, protected=json.dumps(header))
    jwe.allowed_algs = [header["alg"], header["enc"]]
    jwe.add_recipient(JWK(kty="oct", k=b64(key)))
    return str(jwe.serialize(compact=True))


def jws(key: bytes, claims: dict[str, Any], alg: str = "HS256") -> str:
    """A compact JWS: HS256 with ``key``, or ``alg: none`` with an empty signature."""
    signing_input = f"{json_b64({'alg': alg, 'typ': 'JWT'})}.{json_b64(claims)}"
    if alg == "none":
        return signing_input + "."
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"
