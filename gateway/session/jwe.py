"""Compact JWE with ``alg: dir``, the two content encryptions NextAuth uses, opened and sealed
through ``cryptography``'s primitives directly.

A jwcrypto round trip spends most of its time around the crypto it wraps (objects, JSON
re-encoding, registry checks; bench/README.md has the figures). Here a token is split and
base64-decoded once, the GCM key object is built once per key, and CBC-HS512 is RFC 7518
5.2.2 written out. jwcrypto stays the reference:
:func:`open_reference` and :func:`seal_reference` go through it, and
tests/unit/session/test_token_differential.py checks that both agree on every token it makes.

Nothing here checks the header's meaning (alg, enc, kid, zip): that is the session codec's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

GCM: Final = "A256GCM"
CBC_HS512: Final = "A256CBC-HS512"
KEY_BYTES: Final = {GCM: 32, CBC_HS512: 64}
# What jose requires before it decrypts (checkIvLength; GCM's full 16-byte tag; CBC-HS512's
# tag is the first half of an HMAC-SHA-512).
IV_BYTES: Final = {GCM: 12, CBC_HS512: 16}
TAG_BYTES: Final = {GCM: 16, CBC_HS512: 32}

# header..iv.ciphertext.tag: `dir` has an empty encrypted key.
_COMPACT: Final = re.compile(
    r"([A-Za-z0-9_-]+)\.\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\."
    r"([A-Za-z0-9_-]+)"
)
# The last character of a base64url text of length 4n+2 (4n+3) carries 4 (2) unused bits that
# encoders write as zero; a decoder ignoring them would let one token have many spellings.
_CANONICAL_LAST: Final = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


@dataclass(frozen=True, slots=True)
class Sealed:
    """A compact JWE taken apart; the header is kept as sent, since it is the AAD."""

    token: str
    header: str
    iv: bytes
    ciphertext: bytes
    tag: bytes

    @property
    def aad(self) -> bytes:
        return self.header.encode("ascii")


@dataclass(frozen=True, slots=True)
class ContentKey:
    """One content encryption key, with its cipher objects built once."""

    raw: bytes
    enc: str
    aead: AESGCM | None  # A256GCM
    aes: algorithms.AES | None  # A256CBC-HS512: the key's second half (RFC 7518 5.2.2.1)

    @classmethod
    def build(cls, raw: bytes, enc: str) -> ContentKey:
        if len(raw) != KEY_BYTES[enc]:
            raise ValueError(f"{enc} needs a {KEY_BYTES[enc]}-byte key")
        if enc == GCM:
            return cls(raw, enc, AESGCM(raw), None)
        return cls(raw, enc, None, algorithms.AES(raw[32:]))


def split(token: str) -> Sealed | None:
    """The five parts of a compact ``dir`` JWE, decoded; None when it is not one (wrong shape,
    an encrypted key, an empty or non-canonical base64url part)."""
    match = _COMPACT.fullmatch(token)
    if match is None or not all(map(is_canonical, match.groups())):
        return None
    header, iv, ciphertext, tag = match.groups()
    return Sealed(token, header, b64decode(iv), b64decode(ciphertext), b64decode(tag))


def open_fast(sealed: Sealed, key: ContentKey) -> bytes | None:
    """The plaintext, or None when ``key`` does not decrypt ``sealed``."""
    if key.aead is not None:
        try:
            return key.aead.decrypt(sealed.iv, sealed.ciphertext + sealed.tag, sealed.aad)
        except (InvalidTag, ValueError):  # ValueError: an IV length GCM cannot take
            return None
    return _open_cbc_hs512(sealed, key)


def seal_fast(plaintext: bytes, header: str, key: ContentKey) -> str:
    """A compact JWE of ``plaintext`` under the base64url protected ``header``."""
    aad = header.encode("ascii")
    if key.aead is not None:
        iv = os.urandom(IV_BYTES[GCM])
        sealed = key.aead.encrypt(iv, plaintext, aad)
        ciphertext, tag = sealed[:-16], sealed[-16:]
    else:
        iv, ciphertext = _cbc_encrypt(key, plaintext)
        tag = _cbc_tag(key, aad, iv, ciphertext)
    return ".".join((header, "", b64encode(iv), b64encode(ciphertext), b64encode(tag)))


def _open_cbc_hs512(sealed: Sealed, key: ContentKey) -> bytes | None:
    """RFC 7518 5.2.2.2: the tag first (encrypt-then-MAC), then decrypt and unpad."""
    expected = _cbc_tag(key, sealed.aad, sealed.iv, sealed.ciphertext)
    if (
        not hmac.compare_digest(expected, sealed.tag)
        or len(sealed.iv) != 16
        or len(sealed.ciphertext) % 16
    ):
        return None
    assert key.aes is not None
    decryptor = Cipher(key.aes, modes.CBC(sealed.iv)).decryptor()
    padded = decryptor.update(sealed.ciphertext) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 16 or padded[-pad:] != bytes((pad,)) * pad:
        return None  # PKCS#7
    return padded[:-pad]


def _cbc_encrypt(key: ContentKey, plaintext: bytes) -> tuple[bytes, bytes]:
    assert key.aes is not None
    iv = os.urandom(IV_BYTES[CBC_HS512])
    pad = 16 - len(plaintext) % 16
    encryptor = Cipher(key.aes, modes.CBC(iv)).encryptor()
    return iv, encryptor.update(plaintext + bytes((pad,)) * pad) + encryptor.finalize()


def _cbc_tag(key: ContentKey, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """HMAC-SHA-512 under the key's first half over AAD || IV || ciphertext || the AAD's
    length in bits (64-bit big-endian), truncated to 32 bytes."""
    data = b"".join((aad, iv, ciphertext, struct.pack(">Q", 8 * len(aad))))
    return hmac.digest(key.raw[:32], data, "sha512")[:32]


def open_reference(sealed: Sealed, key: ContentKey) -> bytes | None:
    """:func:`open_fast` through jwcrypto."""
    jwe = JWE()
    jwe.allowed_algs = ["dir", key.enc]
    try:
        jwe.deserialize(sealed.token, key=_jwk(key.raw))
    # jwcrypto reports a wrong key, a bad tag or a bad IV length through many exception
    # types (its own, ValueError, cryptography's InvalidTag...): all mean "does not decrypt".
    except Exception:
        return None
    return bytes(jwe.plaintext)  # jwcrypto refuses an empty plaintext as not decrypting


def seal_reference(plaintext: bytes, header: str, key: ContentKey) -> str:
    """:func:`seal_fast` through jwcrypto."""
    jwe = JWE(plaintext=plaintext, protected=b64decode(header).decode("utf-8"))
    jwe.add_recipient(_jwk(key.raw))
    return str(jwe.serialize(compact=True))


def _jwk(raw: bytes) -> JWK:
    return JWK(kty="oct", k=b64encode(raw))


def thumbprint(raw: bytes) -> str:
    """RFC 7638 thumbprint of ``raw`` as an ``oct`` JWK, hashed as @auth/core does
    (``sha${bits}``: SHA-512 for a 64-byte key, SHA-256 for a 32-byte one; jwcrypto's
    default of SHA-256 everywhere would make every v5 renewal unreadable by the app)."""
    canonical = f'{{"k":"{b64encode(raw)}","kty":"oct"}}'.encode()
    return b64encode(hashlib.new("sha512" if len(raw) == 64 else "sha256", canonical).digest())


def is_canonical(part: str) -> bool:
    """``part`` (already known to be base64url characters) has a length base64url can have
    and zero unused bits."""
    remainder = len(part) % 4
    if remainder == 0:
        return True
    return remainder != 1 and part[-1] in _CANONICAL_LAST[remainder]


def b64decode(part: str) -> bytes:
    """Decode unpadded base64url; raises ValueError (binascii.Error) on bad input."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
