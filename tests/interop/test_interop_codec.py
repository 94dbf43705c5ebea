"""gateway.session.token and gateway.session.cookies against the REAL next-auth 4.24.15 and
@auth/core 0.41.3.

Tokens go both ways (the packages' encode -> our decode, our encode -> their decode), chunked
cookies go both ways through their SessionStore, and the places where the gateway is stricter
than the packages on purpose are pinned here, so a package upgrade that changes them shows up.
Keys for hand-made tokens are derived in this file, independently of gateway.session.token.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from gateway.config import Flavor
from gateway.session.cookies import (
    CHUNK_SIZE,
    delete_session,
    parse_cookie_header,
    read_session,
    set_session,
)
from gateway.session.token import InvalidToken, SessionCodec
from tests.support.nextauth import NextAuth

pytestmark = pytest.mark.interop

V4: Flavor = "nextauth-v4"
V5: Flavor = "authjs-v5"
SECRET = "interop-secret-0123456789abcdefghijklmnopqrstuv"
OLD = "interop-old-secret-zyxwvutsrqponmlkjihgfedcba9876"
T = 1_800_000_000
NAMES = {V4: "next-auth.session-token", V5: "authjs.session-token"}
CASES = [  # (flavor, cookie name as set); v4 never salts, v5 salts with the name
    pytest.param(V4, "next-auth.session-token", id="v4"),
    pytest.param(V4, "__Secure-next-auth.session-token", id="v4-secure"),
    pytest.param(V5, "authjs.session-token", id="v5"),
    pytest.param(V5, "__Secure-authjs.session-token", id="v5-secure"),
]
RICH: dict[str, Any] = {
    "sub": "user-42",
    "name": "Zoë Ångström 山田 🚀",
    "email": "zoe@example.com",
    "role": ["admin", "editor"],
    "profile": {"org": {"id": 7, "tags": ["a", "b"]}, "ok": True, "none": None},
    "ratio": 0.25,
    "big": 9007199254740991,
    "empty": "",
    "lone": "\ud83d",  # a lone surrogate: JSON.stringify escapes it, and so must we
    "auth_time": T - 3600,
}


def salt_for(flavor: Flavor, name: str) -> str | None:
    return name if flavor == V5 else None


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_of(token: str) -> bytes:
    part = token.split(".")[0]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def v4_key(secret: str) -> bytes:
    info = b"NextAuth.js Generated Encryption Key"
    return HKDF(hashes.SHA256(), 32, salt=b"", info=info).derive(secret.encode())


def v5_key(secret: str, salt: str, length: int) -> bytes:
    info = f"Auth.js Generated Encryption Key ({salt})".encode()
    return HKDF(hashes.SHA256(), length, salt=salt.encode(), info=info).derive(secret.encode())


def thumbprint(key: bytes, digest: str) -> str:
    canonical = json.dumps({"k": b64(key), "kty": "oct"}, separators=(",", ":"))
    return b64(hashlib.new(digest, canonical.encode()).digest())


def handmade(key: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWE with exactly this protected header, made by jwcrypto."""
    jwe = JWE(json.dumps(claims).encode(), protected=json.dumps(header, separators=(",", ":")))
    jwe.allowed_algs = [header["alg"], header["enc"]]
    jwe.add_recipient(JWK(kty="oct", k=b64(key)))
    return str(jwe.serialize(compact=True))


def sent(set_cookies: list[str]) -> str:
    """The Cookie header a browser sends back after these Set-Cookie values."""
    pairs = [c.split(";", 1)[0] for c in set_cookies if "Max-Age=0" not in c]
    return "; ".join(pairs)


# --- tokens, both ways ------------------------------------------------------------------


@pytest.mark.parametrize(("flavor", "name"), CASES)
def test_their_token_decodes_here(nextauth: NextAuth, flavor: Flavor, name: str) -> None:
    token = nextauth.encode(
        flavor, RICH, secrets=[SECRET], salt=salt_for(flavor, name), max_age=3600, iat=T
    )
    decoded = SessionCodec(flavor, [SECRET]).decode(token, name)
    claims = dict(decoded.claims)
    jti = claims.pop("jti")
    assert claims == {**RICH, "iat": T, "exp": T + 3600}
    assert isinstance(jti, str) and len(jti) == 36
    assert decoded.secret_index == 0


@pytest.mark.parametrize(("flavor", "name"), CASES)
def test_our_token_decodes_there(nextauth: NextAuth, flavor: Flavor, name: str) -> None:
    given = {**RICH, "iat": 1, "exp": 2, "jti": "given"}  # all three are overwritten
    token = SessionCodec(flavor, [SECRET]).encode(given, name, now=T, max_age=600)
    claims = nextauth.decode(flavor, token, secrets=[SECRET], salt=salt_for(flavor, name), now=T)
    assert claims.pop("jti") != "given"
    assert claims == {**RICH, "iat": T, "exp": T + 600}


@pytest.mark.parametrize("flavor", [V4, V5])
def test_our_header_is_theirs_byte_for_byte(nextauth: NextAuth, flavor: Flavor) -> None:
    name = NAMES[flavor]
    theirs = nextauth.encode(flavor, {"sub": "a"}, secrets=[SECRET], salt=salt_for(flavor, name))
    ours = SessionCodec(flavor, [SECRET]).encode({"sub": "a"}, name, now=T, max_age=60)
    assert theirs.split(".")[0] == ours.split(".")[0]
    assert theirs.split(".")[1] == ours.split(".")[1] == ""  # dir: no encrypted key


def test_v4_header_is_exactly_dir_a256gcm(nextauth: NextAuth) -> None:
    token = nextauth.encode(V4, {"sub": "a"}, secrets=[SECRET])
    assert header_of(token) == b'{"alg":"dir","enc":"A256GCM"}'


def test_v5_kid_is_the_sha512_thumbprint_of_the_64_byte_key(nextauth: NextAuth) -> None:
    name = "__Secure-authjs.session-token"
    token = nextauth.encode(V5, {"sub": "a"}, secrets=[SECRET], salt=name)
    kid = thumbprint(v5_key(SECRET, name, 64), "sha512")
    expected = {"alg": "dir", "enc": "A256CBC-HS512", "kid": kid}
    assert header_of(token) == json.dumps(expected, separators=(",", ":")).encode()
    assert len(kid) == 86


def test_v5_a256gcm_kid_is_a_sha256_thumbprint(nextauth: NextAuth) -> None:
    """@auth/core hashes with sha(8 * key bytes): SHA-256 for the 32-byte A256GCM key."""
    name, key = NAMES[V5], v5_key(OLD, NAMES[V5], 32)
    good = handmade(
        key,
        {"alg": "dir", "enc": "A256GCM", "kid": thumbprint(key, "sha256")},
        {"sub": "gcm", "iat": T, "exp": T + 60},
    )
    wrong = handmade(
        key,
        {"alg": "dir", "enc": "A256GCM", "kid": thumbprint(key, "sha512")},
        {"sub": "gcm", "iat": T, "exp": T + 60},
    )
    assert nextauth.decode(V5, good, secrets=[SECRET, OLD], salt=name, now=T)["sub"] == "gcm"
    assert SessionCodec(V5, [SECRET, OLD]).decode(good, name).secret_index == 1
    with pytest.raises(nextauth.Error, match="no matching decryption secret"):
        nextauth.decode(V5, wrong, secrets=[SECRET, OLD], salt=name, now=T)
    with pytest.raises(InvalidToken):
        SessionCodec(V5, [SECRET, OLD]).decode(wrong, name)


# --- rotation (v5 only) -----------------------------------------------------------------


def test_old_secret_token_is_accepted_with_its_index(nextauth: NextAuth) -> None:
    name = NAMES[V5]
    token = nextauth.encode(V5, {"sub": "a"}, secrets=[OLD], salt=name)
    assert SessionCodec(V5, [SECRET, OLD]).decode(token, name).secret_index == 1
    assert nextauth.decode(V5, token, secrets=[SECRET, OLD], salt=name)["sub"] == "a"


def test_their_encode_with_a_list_uses_the_first_secret(nextauth: NextAuth) -> None:
    name = NAMES[V5]
    token = nextauth.encode(V5, {"sub": "a"}, secrets=[SECRET, OLD], salt=name)
    assert SessionCodec(V5, [SECRET, OLD]).decode(token, name).secret_index == 0
    assert SessionCodec(V5, [OLD, SECRET]).decode(token, name).secret_index == 1


def test_our_encode_uses_the_first_secret(nextauth: NextAuth) -> None:
    name = NAMES[V5]
    token = SessionCodec(V5, [SECRET, OLD]).encode({"sub": "a"}, name, now=T, max_age=60)
    assert nextauth.decode(V5, token, secrets=[SECRET, OLD], salt=name, now=T)["sub"] == "a"
    assert nextauth.decode(V5, token, secrets=[OLD, SECRET], salt=name, now=T)["sub"] == "a"
    with pytest.raises(nextauth.Error, match="no matching decryption secret"):
        nextauth.decode(V5, token, secrets=[OLD], salt=name, now=T)


@pytest.mark.parametrize(
    ("secret", "accepted"), [(SECRET, True), (OLD, False)], ids=["first-secret", "second-secret"]
)
def test_without_kid_only_the_first_secret_is_tried(
    nextauth: NextAuth, secret: str, accepted: bool
) -> None:
    name = NAMES[V5]
    token = handmade(
        v5_key(secret, name, 64),
        {"alg": "dir", "enc": "A256CBC-HS512"},
        {"sub": "nokid", "iat": T, "exp": T + 60},
    )
    codec = SessionCodec(V5, [SECRET, OLD])
    if accepted:
        assert nextauth.decode(V5, token, secrets=[SECRET, OLD], salt=name, now=T)["sub"]
        assert codec.decode(token, name).secret_index == 0
    else:
        with pytest.raises(nextauth.Error):
            nextauth.decode(V5, token, secrets=[SECRET, OLD], salt=name, now=T)
        with pytest.raises(InvalidToken, match="decrypt"):
            codec.decode(token, name)


# --- rejected by both -------------------------------------------------------------------

REJECTED = [  # (made by, made with, read by, read with, our reason)
    pytest.param(V4, SECRET, V4, OLD, "decrypt", id="v4-other-secret"),
    pytest.param(V5, SECRET, V5, OLD, "decrypt", id="v5-other-secret"),
    pytest.param(V4, SECRET, V5, SECRET, "decrypt", id="v4-token-read-as-v5"),
    pytest.param(V5, SECRET, V4, SECRET, "header", id="v5-token-read-as-v4"),
]


@pytest.mark.parametrize(("made", "made_with", "read", "read_with", "reason"), REJECTED)
def test_foreign_tokens_are_rejected_by_both(
    nextauth: NextAuth, made: Flavor, made_with: str, read: Flavor, read_with: str, reason: str
) -> None:
    token = nextauth.encode(made, {"sub": "a"}, secrets=[made_with], salt=salt_for(made, NAMES[V5]))
    with pytest.raises(nextauth.Error):
        nextauth.decode(read, token, secrets=[read_with], salt=salt_for(read, NAMES[V5]))
    with pytest.raises(InvalidToken) as caught:
        SessionCodec(read, [read_with]).decode(token, NAMES[V5])
    assert caught.value.reason == reason


def test_v5_salt_is_the_cookie_name_as_set(nextauth: NextAuth) -> None:
    token = nextauth.encode(V5, {"sub": "a"}, secrets=[SECRET], salt="authjs.session-token")
    with pytest.raises(nextauth.Error):
        nextauth.decode(V5, token, secrets=[SECRET], salt="__Secure-authjs.session-token")
    with pytest.raises(InvalidToken, match="decrypt"):
        SessionCodec(V5, [SECRET]).decode(token, "__Secure-authjs.session-token")


# --- deliberate strictness: what the packages accept and the gateway refuses -------------


@pytest.mark.parametrize("flavor", [V4, V5])
def test_state_cookie_without_sub_decodes_there_but_not_here(
    nextauth: NextAuth, flavor: Flavor
) -> None:
    """NextAuth's state / PKCE cookies are JWEs from the same encode: no `sub`."""
    name = NAMES[flavor]
    state = {"value": "pkce-verifier"}
    token = nextauth.encode(flavor, state, secrets=[SECRET], salt=salt_for(flavor, name))
    assert nextauth.decode(flavor, token, secrets=[SECRET], salt=salt_for(flavor, name))["value"]
    with pytest.raises(InvalidToken, match="no_sub"):
        SessionCodec(flavor, [SECRET]).decode(token, name)


def test_v4_accepts_any_enc_that_fits_its_key_and_we_do_not(nextauth: NextAuth) -> None:
    token = handmade(
        v4_key(SECRET),
        {"alg": "dir", "enc": "A128CBC-HS256"},
        {"sub": "cbc", "iat": T, "exp": T + 60},
    )
    assert nextauth.decode(V4, token, secrets=[SECRET], now=T)["sub"] == "cbc"
    with pytest.raises(InvalidToken, match="header"):
        SessionCodec(V4, [SECRET]).decode(token, NAMES[V4])


@pytest.mark.parametrize("flavor", [V4, V5])
def test_both_packages_inflate_zip_and_we_refuse_it(nextauth: NextAuth, flavor: Flavor) -> None:
    name = NAMES[flavor]
    key = v4_key(SECRET) if flavor == V4 else v5_key(SECRET, name, 64)
    header: dict[str, Any] = {"alg": "dir", "enc": "A256GCM" if flavor == V4 else "A256CBC-HS512"}
    if flavor == V5:
        header["kid"] = thumbprint(key, "sha512")
    token = handmade(key, {**header, "zip": "DEF"}, {"sub": "zip", "iat": T, "exp": T + 60})
    claims = nextauth.decode(flavor, token, secrets=[SECRET], salt=salt_for(flavor, name), now=T)
    assert claims["sub"] == "zip"
    with pytest.raises(InvalidToken, match="header"):
        SessionCodec(flavor, [SECRET]).decode(token, name)


# --- time: the packages' expiry boundary, for the policy to mirror -----------------------


@pytest.mark.parametrize("flavor", [V4, V5])
@pytest.mark.parametrize(
    ("after_exp", "accepted"),
    [(14, True), (15, False), (16, False)],
    ids=["exp+14", "exp+15", "exp+16"],
)
def test_their_decode_rejects_once_exp_is_15s_past(
    nextauth: NextAuth, flavor: Flavor, after_exp: int, accepted: bool
) -> None:
    """jose's clockTolerance 15: rejected when exp <= now - 15. The codec never checks time."""
    salt = salt_for(flavor, NAMES[flavor])
    token = nextauth.encode(flavor, {"sub": "a"}, secrets=[SECRET], salt=salt, max_age=60, iat=T)
    now = T + 60 + after_exp
    if accepted:
        assert nextauth.decode(flavor, token, secrets=[SECRET], salt=salt, now=now)["sub"] == "a"
    else:
        with pytest.raises(nextauth.Error, match="exp"):
            nextauth.decode(flavor, token, secrets=[SECRET], salt=salt, now=now)
    assert SessionCodec(flavor, [SECRET]).decode(token, NAMES[flavor]).claims["exp"] == T + 60


def test_their_decode_ignores_an_iat_in_the_future(nextauth: NextAuth) -> None:
    token = nextauth.encode(V4, {"sub": "a"}, secrets=[SECRET], iat=T + 86400)
    assert nextauth.decode(V4, token, secrets=[SECRET], now=T)["iat"] == T + 86400


# --- chunking through their SessionStore -------------------------------------------------

CHUNKING = [
    pytest.param(V4, "next-auth.session-token", False, None, id="v4"),
    pytest.param(V4, "__Secure-next-auth.session-token", True, "example.com", id="v4-secure"),
    pytest.param(V5, "authjs.session-token", False, ".example.com", id="v5"),
    pytest.param(V5, "__Secure-authjs.session-token", True, None, id="v5-secure"),
]


def long_claims(chunks: int, size: int) -> dict[str, Any]:
    """Claims whose token needs `chunks` cookies, landing mid-way in the last one (the JWE
    is the base64 of the JSON: 4/3 of its length, plus the header, IV and tag)."""
    filler = b64(hashlib.shake_256(b"filler").digest(size * chunks))
    return {"sub": "big", "filler": filler[: int(size * (chunks - 0.5) * 3 / 4) - 200]}


@pytest.mark.parametrize(("flavor", "name", "secure", "domain"), CHUNKING)
def test_our_chunks_are_read_by_their_store(
    nextauth: NextAuth, flavor: Flavor, name: str, secure: bool, domain: str | None
) -> None:
    size = CHUNK_SIZE[flavor]
    token = SessionCodec(flavor, [SECRET]).encode(long_claims(3, size), name, now=T, max_age=60)
    assert -(-len(token) // size) == 3
    ours = set_session(
        name, token, expires=T + 60, secure=secure, domain=domain, chunk_size=size, present=()
    )
    assert nextauth.read(flavor, name, sent(ours)) == token
    claims = nextauth.decode(flavor, token, secrets=[SECRET], salt=salt_for(flavor, name), now=T)
    assert claims["sub"] == "big"


@pytest.mark.parametrize(("flavor", "name", "secure", "domain"), CHUNKING)
def test_their_chunks_are_read_here(
    nextauth: NextAuth, flavor: Flavor, name: str, secure: bool, domain: str | None
) -> None:
    size = CHUNK_SIZE[flavor]
    salt = salt_for(flavor, name)
    token = nextauth.encode(flavor, long_claims(4, size), secrets=[SECRET], salt=salt)
    theirs = nextauth.chunk(flavor, name, token, secure=secure, domain=domain, expires=T)
    assert [c.split("=")[0] for c in theirs] == [f"{name}.{i}" for i in range(4)]
    found = read_session(parse_cookie_header([sent(theirs)]), NAMES[flavor], 8)
    assert (found.name, found.value, found.problem) == (name, token, None)
    assert SessionCodec(flavor, [SECRET]).decode(token, name).claims["sub"] == "big"


WRITES = [  # (value length in chunk sizes, request cookies already there)
    pytest.param(1.0, "", id="exactly-one-chunk"),
    pytest.param(1.0, "{n}.0=a; {n}.1=b; {n}.2=c", id="shrink-to-bare"),
    pytest.param(1.001, "", id="one-char-over"),
    pytest.param(2.5, "{n}=old", id="bare-to-chunks"),
    pytest.param(2.5, "{n}.0=a; {n}.1=b; {n}.2=c; {n}.3=d; other=1", id="shrink-4-to-3"),
    pytest.param(7.2, "{n}.1=b; {n}.0=a", id="grow-to-8"),
]


@pytest.mark.parametrize(("flavor", "name", "secure", "domain"), CHUNKING)
@pytest.mark.parametrize(("chunks", "existing"), WRITES)
def test_set_cookie_is_theirs_byte_for_byte(
    nextauth: NextAuth,
    flavor: Flavor,
    name: str,
    secure: bool,
    domain: str | None,
    chunks: float,
    existing: str,
) -> None:
    size = CHUNK_SIZE[flavor]
    value = (b64(hashlib.shake_256(b"v").digest(size * 8)) * 2)[: int(size * chunks)]
    cookie = existing.format(n=name)
    found = read_session(parse_cookie_header([cookie]), NAMES[flavor], 8)
    ours = set_session(
        name, value, expires=T, secure=secure, domain=domain, chunk_size=size, present=found.present
    )
    theirs = nextauth.chunk(
        flavor, name, value, cookie=cookie, secure=secure, domain=domain, expires=T
    )
    assert sorted(ours) == sorted(theirs)


@pytest.mark.parametrize(("flavor", "name", "secure", "domain"), CHUNKING)
def test_deletions_are_theirs_byte_for_byte(
    nextauth: NextAuth, flavor: Flavor, name: str, secure: bool, domain: str | None
) -> None:
    cookie = f"{name}.0=a; {name}.1=b; unrelated=1"
    found = read_session(parse_cookie_header([cookie]), NAMES[flavor], 8)
    ours = delete_session(found.present, secure=secure, domain=domain)
    theirs = nextauth.clean(flavor, name, cookie, secure=secure, domain=domain)
    assert sorted(ours) == sorted(theirs)


@pytest.mark.parametrize("flavor", [V4, V5])
def test_numeric_order_with_more_than_ten_chunks(nextauth: NextAuth, flavor: Flavor) -> None:
    name = NAMES[flavor]
    order = [3, 10, 0, 11, 2, 1, 9, 4, 5, 8, 7, 6]
    cookie = "; ".join(f"{name}.{i}=v{i}-" for i in order)
    found = read_session(parse_cookie_header([cookie]), name, 12)
    assert found.value == "".join(f"v{i}-" for i in range(12))
    assert nextauth.read(flavor, name, cookie) == found.value


# Where the gateway refuses what the packages read: each row pins what their SessionStore
# joins (garbage, a partial token, or a look-alike folded in) against our verdict.
DIVERGENT = [  # (cookie header, their value v4, their value v5, our problem, our value)
    pytest.param("{n}=A; {n}.0=B", "AB", "AB", "bare name plus chunks", None, id="bare+chunk"),
    pytest.param("{n}.0=A; {n}.2=C", "AC", "AC", "gap", None, id="gap"),
    pytest.param("{n}.0=A; {n}.01=B", "AB", "AB", "bad index", None, id="leading-zero"),
    pytest.param("{n}.0=A; {n}.1=", "A", "A", "empty", None, id="empty-chunk"),
    pytest.param("{n}=A; {n}-x=Z", "AZ", "AZ", None, "A", id="lookalike-dash"),
    pytest.param("{n}.0=A; {n}.1=B; {n}x=Z", None, None, None, "AB", id="lookalike-suffix"),
    pytest.param("{n}=A; {n}=B", "A", "A", "duplicate", None, id="duplicate"),
]


@pytest.mark.parametrize("flavor", [V4, V5])
@pytest.mark.parametrize(("cookie", "v4", "v5", "problem", "value"), DIVERGENT)
def test_where_we_are_stricter_than_their_store(
    nextauth: NextAuth,
    flavor: Flavor,
    cookie: str,
    v4: str | None,
    v5: str | None,
    problem: str | None,
    value: str | None,
) -> None:
    name = NAMES[flavor]
    header = cookie.format(n=name)
    theirs = nextauth.read(flavor, name, header)
    expected = v4 if flavor == V4 else v5
    if expected is not None:  # None: their order for NaN indices is not worth pinning
        assert theirs == expected
    found = read_session(parse_cookie_header([header]), name, 8)
    assert (found.problem, found.value) == (problem, value)
    if problem is None:
        assert theirs != found.value  # the app would read something else: strip extraneous
        assert found.extraneous
