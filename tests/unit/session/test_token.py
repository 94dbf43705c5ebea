"""gateway.session.token: round trips, rotation, and a table of bad tokens with their stable
reasons.

Hand-made tokens use keys derived here, independently of the codec, and jwcrypto to encrypt
exactly the header or payload a row needs. tests/interop checks the same format against the
real next-auth and @auth/core.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from gateway.config import Flavor
from gateway.session.cache import DecodeCache
from gateway.session.token import (
    MAX_TOKEN_CHARS,
    Decoded,
    InvalidToken,
    ReferenceCodec,
    SessionCodec,
)

V4: Flavor = "nextauth-v4"
V5: Flavor = "authjs-v5"
SECRET = "unit-secret-0123456789abcdefghijklmnopqrstuvwxyz"
OLD = "unit-old-secret-9876543210zyxwvutsrqponmlkjihgfedcba"
V4_NAME = "next-auth.session-token"
V5_NAME = "authjs.session-token"
T = 1_800_000_000
CLAIMS = {"sub": "u1", "role": "admin", "iat": T, "exp": T + 60}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def v4_key(secret: str = SECRET) -> bytes:
    info = b"NextAuth.js Generated Encryption Key"
    return HKDF(hashes.SHA256(), 32, salt=b"", info=info).derive(secret.encode())


def v5_key(secret: str = SECRET, salt: str = V5_NAME, length: int = 64) -> bytes:
    info = f"Auth.js Generated Encryption Key ({salt})".encode()
    return HKDF(hashes.SHA256(), length, salt=salt.encode(), info=info).derive(secret.encode())


def kid(key: bytes) -> str:
    canonical = json.dumps({"k": b64(key), "kty": "oct"}, separators=(",", ":")).encode()
    return b64(hashlib.new("sha512" if len(key) == 64 else "sha256", canonical).digest())


V4_HEADER = {"alg": "dir", "enc": "A256GCM"}
V5_HEADER = {"alg": "dir", "enc": "A256CBC-HS512", "kid": kid(v5_key())}


def seal(key: bytes, header: dict[str, Any], plaintext: bytes) -> str:
    """A compact JWE with exactly this protected header and plaintext."""
    jwe = JWE(plaintext, protected=json.dumps(header))
    jwe.allowed_algs = [header["alg"], header["enc"]]
    jwe.add_recipient(JWK(kty="oct", k=b64(key)))
    return str(jwe.serialize(compact=True))


def v4_token(payload: Any = CLAIMS, **header: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return seal(v4_key(), {**V4_HEADER, **header}, raw)


def v5_token(payload: Any = CLAIMS, **header: Any) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return seal(v5_key(), {**V5_HEADER, **header}, raw)


def with_part(token: str, index: int, change: Callable[[str], str]) -> str:
    parts = token.split(".")
    parts[index] = change(parts[index])
    return ".".join(parts)


def flip(part: str) -> str:
    """Flip bits in the first byte of a base64url part."""
    raw = bytearray(unb64(part))
    raw[0] ^= 0x01
    return b64(bytes(raw))


@pytest.fixture(params=[V4, V5])
def flavor(request: pytest.FixtureRequest) -> Flavor:
    flavor: Flavor = request.param
    return flavor


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [V4_NAME, "__Secure-" + V4_NAME, V5_NAME, "__Secure-" + V5_NAME])
def test_round_trip(flavor: Flavor, name: str) -> None:
    codec = SessionCodec(flavor, [SECRET])
    claims = {"sub": "u1", "nested": {"a": [1, 2.5, None, True]}, "name": "Zoë 山田 🚀"}
    decoded = codec.decode(codec.encode(claims, name, now=T, max_age=3600), name)
    jti = decoded.claims.pop("jti")
    assert decoded.claims == {**claims, "iat": T, "exp": T + 3600}
    assert uuid.UUID(jti).version == 4
    assert decoded.secret_index == 0


def test_encode_overwrites_iat_exp_jti_in_place(flavor: Flavor) -> None:
    codec = SessionCodec(flavor, [SECRET])
    token = codec.encode({"iat": 1, "sub": "u", "jti": "x", "exp": 2}, V5_NAME, now=T, max_age=5)
    claims = codec.decode(token, V5_NAME).claims
    assert list(claims) == ["iat", "sub", "jti", "exp"]  # JS keeps an existing key's place
    assert (claims["iat"], claims["exp"]) == (T, T + 5) and claims["jti"] != "x"


def test_every_encode_has_a_fresh_jti(flavor: Flavor) -> None:
    codec = SessionCodec(flavor, [SECRET])
    tokens = [codec.encode({"sub": "u"}, V5_NAME, now=T, max_age=5) for _ in range(3)]
    assert len({codec.decode(t, V5_NAME).claims["jti"] for t in tokens}) == 3


@pytest.mark.parametrize(
    ("flavor", "header"),
    [
        pytest.param(V4, b'{"alg":"dir","enc":"A256GCM"}', id="v4"),
        pytest.param(
            V5, f'{{"alg":"dir","enc":"A256CBC-HS512","kid":"{kid(v5_key())}"}}'.encode(), id="v5"
        ),
    ],
)
def test_encode_writes_the_packages_header_bytes(flavor: Flavor, header: bytes) -> None:
    token = SessionCodec(flavor, [SECRET]).encode({"sub": "u"}, V5_NAME, now=T, max_age=5)
    assert unb64(token.split(".")[0]) == header
    assert token.split(".")[1] == ""


def test_v5_salt_is_the_cookie_name_and_v4_has_none() -> None:
    v5 = SessionCodec(V5, [SECRET])
    with pytest.raises(InvalidToken, match="decrypt"):
        v5.decode(v5.encode({"sub": "u"}, V5_NAME, now=T, max_age=5), "__Secure-" + V5_NAME)
    v4 = SessionCodec(V4, [SECRET])
    assert v4.decode(v4.encode({"sub": "u"}, V4_NAME, now=T, max_age=5), "anything").claims


def test_lone_surrogates_are_escaped_like_json_stringify(flavor: Flavor) -> None:
    codec = SessionCodec(flavor, [SECRET])
    token = codec.encode({"sub": "u", "odd": "a\ud800b"}, V5_NAME, now=T, max_age=5)
    assert codec.decode(token, V5_NAME).claims["odd"] == "a\ud800b"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"sub": "u", "x": float("nan")}, id="nan"),
        pytest.param({"sub": "u", "x": object()}, id="object"),
        pytest.param({"sub": "u", "x": {1, 2}}, id="set"),
    ],
)
def test_encode_refuses_claims_that_are_not_json(flavor: Flavor, claims: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SessionCodec(flavor, [SECRET]).encode(claims, V5_NAME, now=T, max_age=5)


@pytest.mark.parametrize(
    "secrets",
    [[], [""], ["ok", ""], ["\ud800-lone-surrogate"]],
    ids=["none", "empty", "one-empty", "not-utf8"],
)
def test_bad_secrets_are_refused_without_echoing_them(secrets: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        SessionCodec(V5, secrets)
    assert "lone" not in str(caught.value)


# --- rotation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("made_with", "read_with", "index"),
    [
        pytest.param([SECRET], [SECRET, OLD], 0, id="current"),
        pytest.param([OLD], [SECRET, OLD], 1, id="old"),
        pytest.param([OLD, SECRET], [SECRET, OLD], 1, id="first-of-list-encrypts"),
    ],
)
def test_rotation_reports_the_secret_index(
    flavor: Flavor, made_with: list[str], read_with: list[str], index: int
) -> None:
    token = SessionCodec(flavor, made_with).encode({"sub": "u"}, V5_NAME, now=T, max_age=5)
    assert SessionCodec(flavor, read_with).decode(token, V5_NAME).secret_index == index


def test_a_secret_no_longer_configured_is_invalid(flavor: Flavor) -> None:
    token = SessionCodec(flavor, [OLD]).encode({"sub": "u"}, V5_NAME, now=T, max_age=5)
    with pytest.raises(InvalidToken, match="decrypt"):
        SessionCodec(flavor, [SECRET]).decode(token, V5_NAME)


@pytest.mark.parametrize(
    ("secret", "accepted"), [(SECRET, True), (OLD, False)], ids=["first", "second"]
)
def test_v5_without_kid_tries_the_first_secret_only(secret: str, accepted: bool) -> None:
    header = {"alg": "dir", "enc": "A256CBC-HS512"}
    token = seal(v5_key(secret), header, json.dumps(CLAIMS).encode())
    codec = SessionCodec(V5, [SECRET, OLD])
    if accepted:
        assert codec.decode(token, V5_NAME).secret_index == 0
    else:
        with pytest.raises(InvalidToken, match="decrypt"):
            codec.decode(token, V5_NAME)


def test_v5_a_kid_picks_the_secret_even_when_another_would_do() -> None:
    """The kid names the old secret's key but the body is sealed with the current one."""
    header = {**V5_HEADER, "kid": kid(v5_key(OLD))}
    token = seal(v5_key(SECRET), header, json.dumps(CLAIMS).encode())
    with pytest.raises(InvalidToken, match="decrypt"):
        SessionCodec(V5, [SECRET, OLD]).decode(token, V5_NAME)


def test_v5_a256gcm_uses_a_32_byte_key_and_sha256_kid() -> None:
    key = v5_key(OLD, length=32)
    token = seal(
        key, {"alg": "dir", "enc": "A256GCM", "kid": kid(key)}, json.dumps(CLAIMS).encode()
    )
    assert SessionCodec(V5, [SECRET, OLD]).decode(token, V5_NAME).secret_index == 1


# --- the table of bad tokens ------------------------------------------------------------

PARTS = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0"  # {"alg":"dir","enc":"A256GCM"}
BAD: list[Any] = [
    # (flavor, token, reason)
    pytest.param(V4, "", "malformed", id="empty"),
    pytest.param(V4, "not a token", "malformed", id="text"),
    pytest.param(V4, f"{PARTS}.e30.sig", "malformed", id="jws-3-parts"),
    pytest.param(V4, v4_token() + ".x", "malformed", id="6-parts"),
    pytest.param(V4, with_part(v4_token(), 1, lambda _: "AAAA"), "malformed", id="encrypted-key"),
    pytest.param(V4, with_part(v4_token(), 2, lambda p: p + "!"), "malformed", id="not-b64url"),
    pytest.param(V4, with_part(v4_token(), 4, lambda p: p + "AAA"), "malformed", id="b64-length"),
    pytest.param(V4, with_part(v4_token(), 3, lambda _: ""), "malformed", id="no-ciphertext"),
    pytest.param(V4, v4_token().replace("A", "é", 1), "malformed", id="non-ascii"),
    pytest.param(V4, "A" * (MAX_TOKEN_CHARS + 1), "malformed", id="too-long"),
    pytest.param(
        V4,
        ".".join(b64(bytes([i]) * 24) for i in range(5)),
        "malformed",
        id="random-b64-with-key-part",
    ),
    pytest.param(
        V4, ".".join([b64(b"\xfe\xff" * 9), "", "QUFB", "QUFB", "QUFB"]), "header", id="random-b64"
    ),
    pytest.param(V4, f"{b64(b'[1]')}..QUFB.QUFB.QUFB", "header", id="header-array"),
    pytest.param(V4, f"{b64(b'{')}..QUFB.QUFB.QUFB", "header", id="header-not-json"),
    pytest.param(
        V4,
        with_part(v4_token(), 0, lambda _: b64(b'{"alg":"none","enc":"A256GCM"}')),
        "header",
        id="alg-none",
    ),
    pytest.param(
        V4,
        with_part(v4_token(), 0, lambda _: b64(b'{"alg":"DIR","enc":"A256GCM"}')),
        "header",
        id="alg-case",
    ),
    pytest.param(
        V4, with_part(v4_token(), 0, lambda _: b64(b'{"enc":"A256GCM"}')), "header", id="no-alg"
    ),
    pytest.param(
        V4,
        seal(v4_key(), {"alg": "dir", "enc": "A128CBC-HS256"}, json.dumps(CLAIMS).encode()),
        "header",
        id="v4-other-enc",
    ),
    pytest.param(
        V4,
        seal(v4_key()[:16], {"alg": "dir", "enc": "A128GCM"}, json.dumps(CLAIMS).encode()),
        "header",
        id="v4-a128gcm",
    ),
    pytest.param(
        V5,
        seal(
            v5_key(length=32), {"alg": "dir", "enc": "A128CBC-HS256"}, json.dumps(CLAIMS).encode()
        ),
        "header",
        id="v5-other-enc",
    ),
    pytest.param(V4, v4_token(zip="DEF"), "header", id="zip"),
    pytest.param(V5, v5_token(zip="DEF"), "header", id="v5-zip"),
    pytest.param(V4, v4_token(crit=["exp"], exp=1), "header", id="crit"),
    pytest.param(V5, v5_token(kid=7), "header", id="kid-not-string"),
    pytest.param(V4, with_part(v4_token(), 3, flip), "decrypt", id="tampered-ciphertext"),
    pytest.param(V4, with_part(v4_token(), 4, flip), "decrypt", id="tampered-tag"),
    pytest.param(V4, with_part(v4_token(), 2, flip), "decrypt", id="tampered-iv"),
    pytest.param(V4, with_part(v4_token(), 4, lambda p: p[:-2]), "decrypt", id="truncated-tag"),
    pytest.param(V4, with_part(v4_token(), 2, lambda p: p[:-4]), "decrypt", id="short-iv"),
    pytest.param(
        V4,
        with_part(v4_token(), 0, lambda _: b64(b'{"alg":"dir", "enc":"A256GCM"}')),
        "decrypt",
        id="tampered-aad",
    ),
    pytest.param(V5, with_part(v5_token(), 3, flip), "decrypt", id="v5-tampered-ciphertext"),
    pytest.param(V5, with_part(v5_token(), 4, flip), "decrypt", id="v5-tampered-tag"),
    pytest.param(V5, v5_token(kid="unknown"), "decrypt", id="v5-unknown-kid"),
    pytest.param(V4, v4_token(b"not json"), "payload", id="payload-not-json"),
    pytest.param(V4, v4_token(b"\xff\xfe{}"), "payload", id="payload-not-utf8"),
    pytest.param(V4, v4_token([CLAIMS]), "payload", id="payload-array"),
    pytest.param(V4, v4_token("sub"), "payload", id="payload-string"),
    pytest.param(V4, v4_token(b'{"sub":"u","iat":NaN,"exp":1}'), "payload", id="nan"),
    pytest.param(V4, v4_token(b'{"sub":"u","iat":1,"exp":Infinity}'), "payload", id="infinity"),
    pytest.param(V4, v4_token(b'{"sub":"u","iat":1,"exp":1e400}'), "payload", id="overflow"),
    pytest.param(
        V4, v4_token(b'{"sub":"u","n":' + b"9" * 5000 + b"}"), "payload", id="int-too-long"
    ),
    pytest.param(V4, v4_token(b"[" * 5000 + b"]" * 5000), "payload", id="deep-nesting"),
    pytest.param(
        V4,
        v4_token({"value": "state", "iat": T, "exp": T + 900, "jti": "j"}),
        "no_sub",
        id="state-cookie",
    ),
    pytest.param(V5, v5_token({"iat": T, "exp": T}), "no_sub", id="v5-no-sub"),
    pytest.param(V4, v4_token({**CLAIMS, "sub": ""}), "no_sub", id="empty-sub"),
    pytest.param(V4, v4_token({**CLAIMS, "sub": 42}), "no_sub", id="numeric-sub"),
    pytest.param(V4, v4_token({**CLAIMS, "sub": None}), "no_sub", id="null-sub"),
    pytest.param(V4, v4_token({"sub": "u", "exp": T}), "claims", id="no-iat"),
    pytest.param(V4, v4_token({"sub": "u", "iat": T}), "claims", id="no-exp"),
    pytest.param(V4, v4_token({**CLAIMS, "exp": str(T)}), "claims", id="exp-string"),
    pytest.param(V4, v4_token({**CLAIMS, "exp": True}), "claims", id="exp-bool"),
    pytest.param(V4, v4_token({**CLAIMS, "iat": None}), "claims", id="iat-null"),
    pytest.param(V4, v4_token({**CLAIMS, "exp": 1e300}), "claims", id="exp-huge"),
    pytest.param(V4, v4_token({**CLAIMS, "iat": -(2**60)}), "claims", id="iat-huge-negative"),
]


@pytest.mark.parametrize(("flavor", "token", "reason"), BAD)
def test_bad_tokens_have_stable_reasons(flavor: Flavor, token: str, reason: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        SessionCodec(flavor, [SECRET]).decode(token, V5_NAME)
    assert caught.value.reason == reason
    assert str(caught.value) == reason  # never token or secret text...
    assert caught.value.__cause__ is None  # ...nor a chained error quoting the plaintext


@pytest.mark.parametrize(
    ("flavor", "token"),
    [
        pytest.param(V4, v4_token(kid="ignored"), id="v4-kid-ignored"),
        pytest.param(V4, v4_token(typ="JWT", cty="x"), id="extra-header-fields"),
        pytest.param(V4, v4_token({**CLAIMS, "iat": 1.5, "exp": 2.5}), id="float-dates"),
        pytest.param(V4, v4_token({**CLAIMS, "exp": T - 10**6}), id="long-expired"),
        pytest.param(
            V5,
            seal(v5_key(length=32), {"alg": "dir", "enc": "A256GCM"}, json.dumps(CLAIMS).encode()),
            id="v5-a256gcm-no-kid",
        ),
    ],
)
def test_odd_but_valid_tokens_decode(flavor: Flavor, token: str) -> None:
    assert SessionCodec(flavor, [SECRET]).decode(token, V5_NAME).claims["sub"] == "u1"


def test_the_token_cap_is_configurable() -> None:
    token = v4_token()
    assert SessionCodec(V4, [SECRET], max_token_chars=len(token)).decode(token, V4_NAME)
    with pytest.raises(InvalidToken, match="malformed"):
        SessionCodec(V4, [SECRET], max_token_chars=len(token) - 1).decode(token, V4_NAME)


# --- DecodeCache ------------------------------------------------------------------------


class CountingCodec(SessionCodec):
    """The real codec, counting the decodes that reach it."""

    calls = 0

    def decode(self, token: str, cookie_name: str) -> Decoded:
        self.calls += 1
        return super().decode(token, cookie_name)


@pytest.fixture
def codec() -> CountingCodec:
    return CountingCodec(V5, [SECRET])


def test_cache_hits_skip_the_codec(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 10)
    token = v5_token()
    first, second = cache.decode(token, V5_NAME), cache.decode(token, V5_NAME)
    assert first == second == codec.decode(token, V5_NAME)
    assert codec.calls == 2  # one through the cache, one direct


def test_cache_remembers_failures_and_raises_fresh_exceptions(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 10)
    errors = []
    for _ in range(3):
        with pytest.raises(InvalidToken) as caught:
            cache.decode("garbage", V5_NAME)
        errors.append(caught.value)
    assert [e.reason for e in errors] == ["malformed"] * 3
    assert len({id(e) for e in errors}) == 3
    assert codec.calls == 1


def test_cache_keys_include_the_cookie_name(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 10)
    token = v5_token()
    assert cache.decode(token, V5_NAME).claims["sub"] == "u1"
    with pytest.raises(InvalidToken, match="decrypt"):  # another v5 salt
        cache.decode(token, "__Secure-" + V5_NAME)
    assert codec.calls == 2


def test_cache_is_a_bounded_lru(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 2)
    a, b, c = (v5_token({**CLAIMS, "sub": s}) for s in "abc")
    cache.decode(a, V5_NAME)
    cache.decode(b, V5_NAME)
    cache.decode(a, V5_NAME)  # a is now the most recent
    cache.decode(c, V5_NAME)  # evicts b
    assert len(cache) == 2 and codec.calls == 3
    cache.decode(a, V5_NAME)
    assert codec.calls == 3
    cache.decode(b, V5_NAME)
    assert codec.calls == 4


def test_cache_of_zero_entries_caches_nothing(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 0)
    for _ in range(2):
        cache.decode(v5_token(), V5_NAME)
    assert codec.calls == 2 and len(cache) == 0


def test_callers_cannot_change_the_cached_claims(codec: CountingCodec) -> None:
    cache = DecodeCache(codec, 10)
    token = v5_token({**CLAIMS, "roles": ["user"], "org": {"id": 1}})
    first = cache.decode(token, V5_NAME)
    first.claims["sub"] = "mallory"
    first.claims["roles"].append("admin")
    first.claims["org"]["id"] = 2
    again = cache.decode(token, V5_NAME).claims
    assert (again["sub"], again["roles"], again["org"]) == ("u1", ["user"], {"id": 1})
    assert codec.calls == 1


def test_cache_entries_do_not_keep_the_tokens(codec: CountingCodec) -> None:
    """Keys are digests: 100 junk tokens of 100 KB each leave well under 1 MB behind."""
    cache = DecodeCache(codec, 1000)
    tracemalloc.start()
    try:
        for i in range(100):
            with pytest.raises(InvalidToken):
                cache.decode(f"{i:05}" * 20_000, V5_NAME)
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(cache) == 100
    assert retained < 1_000_000


# --- one spelling per token, jose's IV lengths ------------------------------------------


def spelled_otherwise(part: str) -> str:
    """The same bytes with non-zero unused bits in the last base64url character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return part[:-1] + alphabet[alphabet.index(part[-1]) + 1]


@pytest.mark.parametrize(
    ("flavor", "index"),
    [
        pytest.param(V4, 0, id="v4-header"),  # a v4 IV (12 bytes) has no spare bits
        pytest.param(V4, 3, id="v4-ciphertext"),
        pytest.param(V4, 4, id="v4-tag"),
        pytest.param(V5, 0, id="v5-header"),
        pytest.param(V5, 2, id="v5-iv"),
        pytest.param(V5, 3, id="v5-ciphertext"),
        pytest.param(V5, 4, id="v5-tag"),
    ],
)
def test_a_part_spelled_non_canonically_is_malformed(flavor: Flavor, index: int) -> None:
    """jwcrypto would re-encode the header for the AAD and accept a second spelling of the
    same token; jose would not. The gateway refuses it before either."""
    codec = SessionCodec(flavor, [SECRET])
    tokens = [
        codec.encode({**CLAIMS, "pad": "x" * n}, V5_NAME, now=T, max_age=60) for n in range(16)
    ]
    token = next(t for t in tokens if len(t.split(".")[index]) % 4)  # spare bits to set
    changed = with_part(token, index, spelled_otherwise)
    assert unb64(changed.split(".")[index]) == unb64(token.split(".")[index])
    with pytest.raises(InvalidToken, match="malformed"):
        codec.decode(changed, V5_NAME)


def test_a_gcm_iv_must_be_12_bytes_as_jose_requires() -> None:
    header, iv = b64(json.dumps(V4_HEADER).encode()), bytes(range(16))
    encryptor = Cipher(algorithms.AES(v4_key()), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(header.encode())
    body = encryptor.update(json.dumps(CLAIMS).encode()) + encryptor.finalize()
    token = ".".join((header, "", b64(iv), b64(body), b64(encryptor.tag)))
    with pytest.raises(InvalidToken, match="decrypt"):
        SessionCodec(V4, [SECRET]).decode(token, V4_NAME)


@pytest.mark.parametrize("codec_type", [SessionCodec, ReferenceCodec])
def test_an_empty_plaintext_does_not_decrypt(codec_type: type[SessionCodec]) -> None:
    with pytest.raises(InvalidToken, match="decrypt"):
        codec_type(V5, [SECRET]).decode(v5_token(b""), V5_NAME)


def test_accepted_headers_are_remembered_within_a_bound() -> None:
    codec = SessionCodec(V4, [SECRET])
    for i in range(200):
        codec.decode(v4_token(x=i), V4_NAME)
    assert 0 < len(codec._headers) <= 64
