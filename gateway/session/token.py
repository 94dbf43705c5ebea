"""NextAuth v4 / Auth.js v5 session tokens: decrypt and encrypt them exactly as the packages do.

A session cookie holds a compact JWE (``alg: dir``) whose key is derived from the app's secret
by HKDF-SHA256. v4 (``next-auth/jwt``): salt ``""``, 32 bytes for A256GCM, no ``kid``. v5
(``@auth/core/jwt``): salt = the cookie name as set (``__Secure-`` included), 64 bytes for
A256CBC-HS512 (or 32 for A256GCM), and ``kid`` = the RFC 7638 thumbprint of the key as an
``oct`` JWK, hashed with SHA-512 for a 64-byte key and SHA-256 for a 32-byte one
(``sha${bits}`` in @auth/core). tests/interop checks all of it against the real packages.

Stricter than the packages, on purpose (SECURITY.md, "What it refuses"): the protected header
is checked before any decryption — only ``dir`` with the flavor's ``enc``, no ``zip`` (jose 6
would inflate it), no ``crit`` — and a session must carry a non-empty string ``sub`` plus
numeric ``iat`` and ``exp``: NextAuth's state, PKCE and CSRF cookies are JWEs made with the
same secret and must never pass as a session. Every part must be canonical base64url (the
unused bits of its last character zero, as every encoder writes them), so one token has one
spelling. The IV and tag must have the lengths jose requires (GCM 12 and 16 bytes, CBC-HS512
16 and 32). Time is not checked here; the policy does that.

Speed: JWEs are opened and sealed by :mod:`gateway.session.jwe` with ``cryptography``'s
primitives directly (bench/README.md has the figures). jwcrypto stays the reference:
:class:`ReferenceCodec` is this codec going through jwcrypto instead, and
tests/unit/session/test_token_differential.py feeds both the same tokens.

Rotation: the first secret encrypts. v5 decodes with the secret whose thumbprint is the
``kid`` (no ``kid``: the first secret only), as @auth/core does. v4 tokens carry no ``kid`` and
next-auth 4 knows a single secret; the gateway tries each configured secret in order, so that
rotating ``NEXTAUTH_SECRET`` renews old sessions under the new secret instead of ending them.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.config import Flavor
from gateway.session import jwe

# A cookie is at most ~4 KB and the gateway reads at most 8 chunks by default; anything longer
# is refused before any base64 or crypto work. Callers with more chunks pass their own cap.
MAX_TOKEN_CHARS: Final = 8 * 4096

# Numeric dates beyond JavaScript's exact-integer range cannot come from the packages, and
# refusing them keeps every later `now - iat` a plain, float-convertible number.
_MAX_NUMERIC_DATE: Final = 2**53 - 1

_ACCEPTED_ENC: Final[Mapping[Flavor, frozenset[str]]] = {
    "nextauth-v4": frozenset({jwe.GCM}),
    "authjs-v5": frozenset({jwe.CBC_HS512, jwe.GCM}),
}
_ENCODE_ENC: Final[Mapping[Flavor, str]] = {"nextauth-v4": jwe.GCM, "authjs-v5": jwe.CBC_HS512}
_V4_INFO: Final = b"NextAuth.js Generated Encryption Key"
_MAX_SALTS: Final = 16  # derived key sets kept; there are two real salts (plain and __Secure-)
_MAX_HEADERS: Final = 64  # accepted protected headers remembered; one per key in practice


class InvalidToken(Exception):
    """The token is not a usable session. ``reason`` is a short stable id: ``malformed``,
    ``header``, ``decrypt``, ``payload``, ``claims`` or ``no_sub``. The message is the reason
    only: never token or secret text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Decoded:
    claims: dict[str, Any]
    secret_index: int  # which secret decrypted it; 0 = the current one


@dataclass(frozen=True, slots=True)
class _Key:
    content: jwe.ContentKey
    kid: str
    index: int
    header: str  # the base64url protected header this key encrypts under


@dataclass(frozen=True, slots=True)
class _Header:
    enc: str
    kid: str | None  # v5 only; None when the header has none


class SessionCodec:
    """Decode and encode one flavor's session tokens with a list of secrets (first encrypts).

    Keys are derived once per (salt, enc) and cached: HKDF and thumbprints are not free.
    Accepted protected headers are remembered too: every token of one key has the same one.
    """

    def __init__(
        self, flavor: Flavor, secrets: Sequence[str], *, max_token_chars: int = MAX_TOKEN_CHARS
    ) -> None:
        if not secrets or any(not isinstance(s, str) or not s for s in secrets):
            raise ValueError("at least one non-empty secret is required")
        self._flavor: Flavor = flavor
        self._secrets = tuple(secrets)
        self._max_token_chars = max_token_chars
        self._keys: dict[tuple[str, str], tuple[_Key, ...]] = {}
        self._headers: dict[str, _Header] = {}
        for secret in self._secrets:
            _utf8(secret)  # fail now, at config time, not on the first request

    @property
    def flavor(self) -> Flavor:
        return self._flavor

    def decode(self, token: str, cookie_name: str) -> Decoded:
        """Decrypt and check ``token`` read from the cookie ``cookie_name`` (the base name as
        read, e.g. ``__Secure-authjs.session-token``; it is v5's HKDF salt).
        Raises :class:`InvalidToken`; never checks expiry."""
        sealed = self._split(token)
        header = self._header(sealed.header)
        if (
            len(sealed.iv) != jwe.IV_BYTES[header.enc]
            or len(sealed.tag) != jwe.TAG_BYTES[header.enc]
        ):
            raise InvalidToken("decrypt")  # jose refuses these before decrypting
        for key in self._keys_to_try(header, cookie_name):
            # An empty plaintext counts as not decrypting, as in jwcrypto (the reference).
            plaintext = self._open(sealed, key.content)
            if plaintext:
                return Decoded(_parse_claims(plaintext), key.index)
        raise InvalidToken("decrypt")

    def encode(self, claims: Mapping[str, Any], cookie_name: str, *, now: int, max_age: int) -> str:
        """Encrypt ``claims`` as the package would: ``iat = now``, ``exp = now + max_age`` and a
        fresh ``jti`` overwrite any given ones. Raises ValueError if claims are not JSON."""
        payload = dict(claims)
        payload.update(iat=now, exp=now + max_age, jti=str(uuid.uuid4()))
        return self.seal(payload, cookie_name)

    def seal(self, claims: Mapping[str, Any], cookie_name: str) -> str:
        """Encrypt ``claims`` exactly as given (an app's cookie rewritten with only the
        gateway's own claims changed). Raises ValueError if claims are not JSON."""
        key = self._keyset(cookie_name, _ENCODE_ENC[self._flavor])[0]
        return self._seal(_json_bytes(dict(claims)), key.header, key.content)

    # The two JWE operations; ReferenceCodec routes them through jwcrypto.
    _open = staticmethod(jwe.open_fast)
    _seal = staticmethod(jwe.seal_fast)

    def _split(self, token: str) -> jwe.Sealed:
        if not isinstance(token, str) or len(token) > self._max_token_chars:
            raise InvalidToken("malformed")
        sealed = jwe.split(token)
        if sealed is None:
            raise InvalidToken("malformed")
        return sealed

    def _header(self, text: str) -> _Header:
        """The protected header, parsed and accepted, or InvalidToken("header")."""
        header = self._headers.get(text)
        if header is None:
            header = self._parse_header(text)
            if len(self._headers) >= _MAX_HEADERS:
                self._headers.clear()
            self._headers[text] = header
        return header

    def _parse_header(self, text: str) -> _Header:
        fields = _loads(jwe.b64decode(text), "header")
        if not isinstance(fields, dict) or not self._header_ok(fields):
            raise InvalidToken("header")
        return _Header(fields["enc"], fields.get("kid") if self._flavor == "authjs-v5" else None)

    def _header_ok(self, header: dict[str, Any]) -> bool:
        if header.get("alg") != "dir" or header.get("enc") not in _ACCEPTED_ENC[self._flavor]:
            return False
        if "zip" in header or "crit" in header:
            return False
        # v4 never writes a kid and next-auth ignores one; v5 matches it against the secrets.
        return self._flavor == "nextauth-v4" or isinstance(header.get("kid", ""), str)

    def _keys_to_try(self, header: _Header, cookie_name: str) -> tuple[_Key, ...]:
        keys = self._keyset(cookie_name, header.enc)
        if self._flavor == "nextauth-v4":
            # next-auth 4 knows one secret and writes no kid: the gateway tries each one in
            # order (the GCM tag tells them apart), so a rotation need not sign everyone out.
            return keys
        if header.kid is None:
            return keys[:1]  # as @auth/core: without a kid only the first secret is tried
        return tuple(key for key in keys if key.kid == header.kid)[:1]

    def _keyset(self, cookie_name: str, enc: str) -> tuple[_Key, ...]:
        salt = "" if self._flavor == "nextauth-v4" else cookie_name
        cached = self._keys.get((salt, enc))
        if cached is None:
            if len(self._keys) >= _MAX_SALTS:
                self._keys.clear()
            cached = tuple(self._derive(i, s, salt, enc) for i, s in enumerate(self._secrets))
            self._keys[(salt, enc)] = cached
        return cached

    def _derive(self, index: int, secret: str, salt: str, enc: str) -> _Key:
        if self._flavor == "nextauth-v4":
            info = _V4_INFO
        else:
            info = f"Auth.js Generated Encryption Key ({salt})".encode()
        raw = HKDF(hashes.SHA256(), jwe.KEY_BYTES[enc], salt=salt.encode(), info=info).derive(
            _utf8(secret)
        )
        kid = jwe.thumbprint(raw)
        # Byte for byte what jose writes for each package (JSON.stringify, insertion order).
        if self._flavor == "nextauth-v4":
            header = f'{{"alg":"dir","enc":"{enc}"}}'
        else:
            header = f'{{"alg":"dir","enc":"{enc}","kid":"{kid}"}}'
        return _Key(jwe.ContentKey.build(raw, enc), kid, index, jwe.b64encode(header.encode()))


class ReferenceCodec(SessionCodec):
    """This codec with every JWE opened and sealed by jwcrypto: the reference the fast path is
    checked against (tests/unit/session/test_token_differential.py). Not for the request path."""

    _open = staticmethod(jwe.open_reference)
    _seal = staticmethod(jwe.seal_reference)


def _parse_claims(plaintext: bytes) -> dict[str, Any]:
    claims = _loads(plaintext, "payload")
    if not isinstance(claims, dict):
        raise InvalidToken("payload")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("no_sub")
    if not (_is_numeric_date(claims.get("iat")) and _is_numeric_date(claims.get("exp"))):
        raise InvalidToken("claims")
    return claims


def _is_numeric_date(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (abs(value) <= _MAX_NUMERIC_DATE)
    )


def _loads(data: bytes, reason: str) -> Any:
    """Parse JSON as JavaScript's JSON.parse would accept it: strict UTF-8, and no NaN or
    Infinity (Python accepts both literals, and turns 1e400 into inf)."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject, parse_float=_finite)
    # RecursionError: deep nesting; ValueError: bad JSON, bad UTF-8, or an int too long to
    # convert (Python's int_max_str_digits).
    except (ValueError, RecursionError):
        raise InvalidToken(reason) from None  # no chained cause: it may quote the plaintext


def _reject(literal: str) -> float:
    raise ValueError("non-finite number")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("non-finite number")
    return value


def _json_bytes(payload: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, RecursionError) as error:
        raise ValueError("claims are not JSON") from error
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate: escape it, as JavaScript's JSON.stringify does.
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a secret is not valid UTF-8 text") from None
