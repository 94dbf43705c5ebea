"""Issue 4, class 4 (tokens): forged session tokens never pass, and never break the gateway.

Keys are derived in tests/hostile/forge.py, independently of gateway.session.token. The
cases: ``zip``, ``crit``, ``alg: none``, a JWS where a JWE is expected, other ``enc`` and
``alg``, the other flavor, the wrong secret or salt, NextAuth's state / PKCE / CSRF-like JWEs
(same secret, no ``sub``), odd claims, tampering, base64 of garbage, and ``exp`` on both
sides of the 15 s skew. Each goes through a real gateway for both flavors, whole and in
chunks, checked by :func:`tests.hostile.verdicts.assert_decision`; a hypothesis property
mutates valid tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.forge import b64, json_b64, jws, seal, v4_key, v5_key, v5_kid
from tests.hostile.verdicts import API, BOB, FLAVORS, assert_decision
from tests.support import T0
from tests.support.harness import SECRET
from tests.support.live import COOKIE_V5, LiveGateway

# --- forged tokens -----------------------------------------------------------------------------


def claims(iat: int = T0 - 60, exp: int | None = None, **extra: Any) -> dict[str, Any]:
    return {**BOB, "iat": iat, "exp": T0 + 86400 if exp is None else exp, "jti": "j", **extra}


def _keys(flavor: str) -> tuple[bytes, dict[str, Any]]:
    """The flavor's real key for its plain cookie name, and the header its package writes."""
    if flavor == "nextauth-v4":
        return v4_key(SECRET), {"alg": "dir", "enc": "A256GCM"}
    key = v5_key(SECRET, COOKIE_V5)
    return key, {"alg": "dir", "enc": "A256CBC-HS512", "kid": v5_kid(key)}


def _other_enc(flavor: str) -> str:
    if flavor == "nextauth-v4":
        return seal(v4_key(SECRET, 64), {"alg": "dir", "enc": "A256CBC-HS512"}, claims())
    key = v5_key(SECRET, COOKIE_V5, 32)
    return seal(key, {"alg": "dir", "enc": "A128CBC-HS256", "kid": v5_kid(key)}, claims())


def _other_flavor(flavor: str) -> str:
    if flavor == "nextauth-v4":  # Auth.js v5's token for its own cookie, same secret
        return seal(*_keys("authjs-v5"), claims())
    return seal(*_keys("nextauth-v4"), claims())  # a v4 token at a v5 gateway


def _wrong_salt_or_secret(flavor: str) -> str:
    if flavor == "nextauth-v4":
        return seal(v4_key(SECRET + "-other"), _keys(flavor)[1], claims())
    key = v5_key(SECRET, "__Secure-" + COOKIE_V5)
    return seal(key, {"alg": "dir", "enc": "A256CBC-HS512", "kid": v5_kid(key)}, claims())


def _swap_header(token: str, header: dict[str, Any]) -> str:
    return ".".join([json_b64(header), *token.split(".")[1:]])


def _flip(token: str, part: int) -> str:
    parts = token.split(".")
    chars = list(parts[part])
    chars[0] = "B" if chars[0] != "B" else "C"
    parts[part] = "".join(chars)
    return ".".join(parts)


def _b64_garbage(header: dict[str, Any] | None) -> str:
    """Five well-formed base64url parts of garbage (deterministic), under ``header`` or not."""
    parts = [
        b64(bytes((i * 37 + n) % 256 for n in range(size)))
        for i, size in enumerate((30, 0, 12, 80, 16))
    ]
    if header is not None:
        parts[0] = json_b64(header)
    return ".".join(parts)


Forge = Callable[[str], str]
TOKEN_CASES: list[tuple[str, Forge, str]] = [
    ("forged-control", lambda f: seal(*_keys(f), claims()), "valid"),
    ("b64-garbage", lambda f: _b64_garbage(None), "invalid"),
    ("b64-garbage-under-the-real-header", lambda f: _b64_garbage(_keys(f)[1]), "invalid"),
    ("zip", lambda f: seal(_keys(f)[0], {**_keys(f)[1], "zip": "DEF"}, claims()), "invalid"),
    (
        "crit",
        lambda f: seal(_keys(f)[0], {**_keys(f)[1], "crit": ["exp"], "exp": 1}, claims()),
        "invalid",
    ),
    ("alg-none-jws", lambda f: jws(b"", claims(), alg="none"), "invalid"),
    (
        "alg-none-jwe-shape",
        lambda f: _swap_header(seal(*_keys(f), claims()), {"alg": "none", "enc": "A256GCM"}),
        "invalid",
    ),
    ("jws-with-derived-key", lambda f: jws(_keys(f)[0], claims()), "invalid"),
    ("jws-with-secret", lambda f: jws(SECRET.encode(), claims()), "invalid"),
    ("other-enc", _other_enc, "invalid"),
    (
        "a128gcm",
        lambda f: seal(_keys(f)[0][:16], {"alg": "dir", "enc": "A128GCM"}, claims()),
        "invalid",
    ),
    (
        "key-wrap-alg",
        lambda f: seal(_keys(f)[0][:32], {"alg": "A256KW", "enc": "A256GCM"}, claims()),
        "invalid",
    ),
    ("other-flavor", _other_flavor, "invalid"),
    ("wrong-secret-or-salt", _wrong_salt_or_secret, "invalid"),
    (
        "state-cookie",
        lambda f: seal(*_keys(f), {"value": "st4te", "iat": T0, "exp": T0 + 900}),
        "invalid",
    ),
    (
        "pkce-cookie",
        lambda f: seal(*_keys(f), {"value": "v" * 43, "iat": T0, "exp": T0 + 900}),
        "invalid",
    ),
    (
        "csrf-like",
        lambda f: seal(*_keys(f), {"csrfToken": "c" * 64, "iat": T0, "exp": T0 + 9}),
        "invalid",
    ),
    ("sub-empty", lambda f: seal(*_keys(f), claims(sub="")), "invalid"),
    ("sub-number", lambda f: seal(*_keys(f), claims(sub=7)), "invalid"),
    ("sub-object", lambda f: seal(*_keys(f), claims(sub={"id": "admin"})), "invalid"),
    ("payload-array", lambda f: seal(*_keys(f), json.dumps([claims()]).encode()), "invalid"),
    ("payload-not-json", lambda f: seal(*_keys(f), b"sub=admin"), "invalid"),
    ("payload-nan", lambda f: seal(*_keys(f), b'{"sub":"u","iat":NaN,"exp":1}'), "invalid"),
    ("exp-string", lambda f: seal(*_keys(f), claims(exp=str(T0 + 60))), "invalid"),  # type: ignore[arg-type]
    ("exp-huge", lambda f: seal(*_keys(f), {**claims(), "exp": 1e300}), "invalid"),
    ("iat-future", lambda f: seal(*_keys(f), claims(iat=T0 + 3600)), "invalid"),
    ("auth-time-text", lambda f: seal(*_keys(f), claims(auth_time="yesterday")), "invalid"),
    (
        "tampered-header",
        lambda f: _swap_header(seal(*_keys(f), claims()), {**_keys(f)[1], "x": 1}),
        "invalid",
    ),
    ("tampered-iv", lambda f: _flip(seal(*_keys(f), claims()), 2), "invalid"),
    ("tampered-ciphertext", lambda f: _flip(seal(*_keys(f), claims()), 3), "invalid"),
    ("tampered-tag", lambda f: _flip(seal(*_keys(f), claims()), 4), "invalid"),
    ("truncated", lambda f: seal(*_keys(f), claims())[:-8], "invalid"),
    ("exp-within-skew", lambda f: seal(*_keys(f), claims(T0 - 100, T0 - 10)), "valid"),
    ("exp-at-edge-of-skew", lambda f: seal(*_keys(f), claims(T0 - 100, T0 - 14)), "valid"),
    ("exp-at-skew", lambda f: seal(*_keys(f), claims(T0 - 100, T0 - 15)), "expired"),
    ("exp-beyond-skew", lambda f: seal(*_keys(f), claims(T0 - 100, T0 - 16)), "expired"),
    ("exp-long-ago", lambda f: seal(*_keys(f), claims(T0 - 90000, T0 - 86400)), "expired"),
    ("idle-too-long", lambda f: seal(*_keys(f), claims(T0 - 86401, T0 + 86400)), "expired"),
]
TOKENS = [
    pytest.param(flavor, make(flavor), decision, id=f"{flavor}-{ident}")
    for flavor in FLAVORS
    for ident, make, decision in TOKEN_CASES
]


@pytest.mark.parametrize(("flavor", "token", "decision"), TOKENS)
def test_forged_token(
    gateways: dict[str, LiveGateway], flavor: str, token: str, decision: str
) -> None:
    gateway = gateways[flavor]
    assert_decision(gateway, [f"{gateway.cookie}={token}"], decision)


@pytest.mark.parametrize(
    ("flavor", "token", "decision"), [p for p in TOKENS if p.values[2] == "invalid"][:12]
)
def test_forged_token_in_chunks(
    gateways: dict[str, LiveGateway], flavor: str, token: str, decision: str
) -> None:
    """The same tokens split over chunks are refused the same way."""
    gateway, half = gateways[flavor], len(token) // 2
    name = gateway.cookie
    assert_decision(gateway, [f"{name}.0={token[:half]}; {name}.1={token[half:]}"], decision)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), flavor=st.sampled_from(FLAVORS))
def test_a_mutated_token_never_passes_as_someone_else(
    gateways: dict[str, LiveGateway], data: st.DataObject, flavor: str
) -> None:
    gateway = gateways[flavor]
    token = gateway.token(BOB, iat=T0 - 60)
    at = data.draw(st.integers(0, len(token) - 1))
    char = data.draw(st.sampled_from(_B64 + "."))
    mutated = token[:at] + char + token[at + 1 :]
    response, seen = gateway.send("/reports", [API, ("Cookie", f"{gateway.cookie}={mutated}")])
    if mutated == token or response.status == 200:
        # base64url's unused low bits of a part's last character may change without changing
        # a byte: still the same token, never another identity.
        assert seen is not None and seen.headers["X-Auth-Request-User"] == "user-bob"
    else:
        assert response.status == 401 and seen is None
        assert response.json() == {"error": "invalid_session"}


def test_b64_helper_matches_the_alphabet() -> None:
    assert set(b64(bytes(range(256)))) <= set(_B64)
