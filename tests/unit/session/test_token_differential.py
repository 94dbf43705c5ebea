"""The fast codec (gateway.session.jwe on cryptography's primitives) against the reference
(ReferenceCodec: the same codec with every JWE opened and sealed by jwcrypto).

Both get the same tokens — valid ones (rotation, both flavors, every enc, odd payloads),
tampered ones (every character of a token swapped), truncated ones (every prefix, every part
cut short) and random ones — and must give the same answer for every one: the same claims and
secret index, or the same InvalidToken reason. Tokens sealed by one must open with the other,
and with the same randomness both seal byte-identical tokens.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from gateway.config import Flavor
from gateway.session import jwe
from gateway.session.token import InvalidToken, ReferenceCodec, SessionCodec
from tests.unit.session.test_token import (
    CLAIMS,
    OLD,
    SECRET,
    V4,
    V5,
    V5_NAME,
    b64,
    kid,
    v4_key,
    v5_key,
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SECRETS = [SECRET, OLD]
FAST = {V4: SessionCodec(V4, SECRETS), V5: SessionCodec(V5, SECRETS)}
REFERENCE = {V4: ReferenceCodec(V4, SECRETS), V5: ReferenceCodec(V5, SECRETS)}
Outcome = tuple[Any, ...]


def outcome(codec: SessionCodec, token: str, name: str = V5_NAME) -> Outcome:
    """What a codec makes of a token; any exception but InvalidToken fails the test."""
    try:
        decoded = codec.decode(token, name)
    except InvalidToken as error:
        return ("invalid", error.reason)
    return ("ok", decoded.claims, decoded.secret_index)


def agree(flavor: Flavor, token: str, name: str = V5_NAME) -> Outcome:
    fast, reference = outcome(FAST[flavor], token, name), outcome(REFERENCE[flavor], token, name)
    assert fast == reference
    return fast


def seal(key: bytes, header: dict[str, Any], plaintext: bytes) -> str:
    token = JWE(plaintext, protected=json.dumps(header, separators=(",", ":")))
    token.add_recipient(JWK(kty="oct", k=b64(key)))
    return str(token.serialize(compact=True))


def cbc_bad_padding(key: bytes, tail: bytes) -> str:
    """A v5 token whose tag is right but whose plaintext (JSON claims, then ``tail`` to end
    its last block) does not end in PKCS#7 padding."""
    header = b64(
        json.dumps(
            {"alg": "dir", "enc": "A256CBC-HS512", "kid": kid(key)}, separators=(",", ":")
        ).encode()
    )
    body = json.dumps(CLAIMS).encode()
    body += b" " * (-(len(body) + len(tail)) % 16) + tail
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(key[32:]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(body) + encryptor.finalize()
    content = jwe.ContentKey.build(key, jwe.CBC_HS512)
    tag = jwe._cbc_tag(content, header.encode(), iv, ciphertext)
    return ".".join((header, "", b64(iv), b64(ciphertext), b64(tag)))


def valid_tokens() -> Iterator[tuple[Flavor, str, str]]:
    """(flavor, token, id): tokens the packages could have written, and odd ones only a
    secret holder could (empty or non-JSON payloads, a 16-byte GCM IV, bad padding)."""
    for flavor in (V4, V5):
        for codec, label in ((FAST[flavor], "fast"), (REFERENCE[flavor], "jwcrypto")):
            yield flavor, codec.encode(CLAIMS, V5_NAME, now=1, max_age=60), f"{flavor}-{label}"
            old = type(codec)(flavor, [OLD]).encode(CLAIMS, V5_NAME, now=1, max_age=60)
            yield flavor, old, f"{flavor}-{label}-old-secret"
    gcm5 = v5_key(OLD, length=32)
    yield (
        V5,
        seal(gcm5, {"alg": "dir", "enc": "A256GCM", "kid": kid(gcm5)}, json.dumps(CLAIMS).encode()),
        "v5-a256gcm-old",
    )
    yield (
        V5,
        seal(v5_key(), {"alg": "dir", "enc": "A256CBC-HS512"}, json.dumps(CLAIMS).encode()),
        "v5-no-kid",
    )
    for payload, label in (
        (b"", "empty"),
        (b"null", "null"),
        (b"\xff", "not-utf8"),
        (b'{"sub":"u"}', "no-dates"),
        (b"{}" * 3, "two-objects"),
        (json.dumps({**CLAIMS, "x": "\u2028\ud800"}).encode(), "odd-text"),
    ):
        yield V4, seal(v4_key(), {"alg": "dir", "enc": "A256GCM"}, payload), f"v4-{label}"
        yield (
            V5,
            seal(v5_key(), {"alg": "dir", "enc": "A256CBC-HS512", "kid": kid(v5_key())}, payload),
            f"v5-{label}",
        )
    yield (
        V4,
        _with_iv(v4_key(), b64(b'{"alg":"dir","enc":"A256GCM"}'), os.urandom(16)),
        "v4-16-byte-iv",
    )
    for tail, label in (
        (b"\x00", "zero"),
        (b"\x11", "17"),
        (b"x\x02", "uneven"),
        (b"\x01" * 15 + b"\x10", "short-block"),
    ):
        yield V5, cbc_bad_padding(v5_key(), tail), f"v5-bad-padding-{label}"
    yield V5, cbc_bad_padding(v5_key(), b"\x02\x02"), "v5-good-padding"


def _with_iv(key: bytes, header: str, iv: bytes) -> str:
    """A GCM token with an IV length jwcrypto accepts and jose does not."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(header.encode())
    ciphertext = encryptor.update(json.dumps(CLAIMS).encode()) + encryptor.finalize()
    return ".".join((header, "", b64(iv), b64(ciphertext), b64(encryptor.tag)))


VALID = [pytest.param(flavor, token, id=label) for flavor, token, label in valid_tokens()]


@pytest.mark.parametrize(("flavor", "token"), VALID)
def test_valid_and_odd_tokens(flavor: Flavor, token: str) -> None:
    agree(flavor, token)


def test_the_corpus_has_both_answers() -> None:
    """The differential means something only if some tokens open and some do not."""
    kinds = {agree(flavor, token)[0] for flavor, token, _ in valid_tokens()}
    assert kinds == {"ok", "invalid"}


@pytest.mark.parametrize(("flavor", "token"), VALID)
def test_every_character_swapped(flavor: Flavor, token: str) -> None:
    for at in range(len(token)):
        replacement = B64URL[(B64URL.find(token[at]) + 1) % len(B64URL)]
        agree(flavor, token[:at] + replacement + token[at + 1 :])


@pytest.mark.parametrize(("flavor", "token"), VALID)
def test_every_prefix_and_every_part_cut_short(flavor: Flavor, token: str) -> None:
    for end in range(len(token)):
        assert agree(flavor, token[:end])[0] == "invalid"
    parts = token.split(".")
    for index, part in enumerate(parts):
        for cut in (1, 2, 3, 4, len(part) // 2):
            agree(flavor, ".".join([*parts[:index], part[:-cut], *parts[index + 1 :]]))


@pytest.mark.parametrize("flavor", [V4, V5])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_bits_flipped(flavor: Flavor, data: st.DataObject) -> None:
    token = FAST[flavor].encode(CLAIMS, V5_NAME, now=1, max_age=60)
    parts = token.split(".")
    index = data.draw(st.sampled_from([0, 2, 3, 4]))
    raw = bytearray(jwe.b64decode(parts[index]))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(0, 7))
    parts[index] = b64(bytes(raw))
    assert agree(flavor, ".".join(parts))[0] == "invalid"


@pytest.mark.parametrize("flavor", [V4, V5])
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=B64URL + ".=+/ é\x00", max_size=120))
def test_random_text(flavor: Flavor, text: str) -> None:
    agree(flavor, text)


@pytest.mark.parametrize("flavor", [V4, V5])
@settings(max_examples=300, deadline=None)
@given(
    iv=st.binary(min_size=1, max_size=40),
    body=st.binary(min_size=1, max_size=80),
    tag=st.binary(min_size=1, max_size=40),
)
def test_random_parts_under_a_real_header(
    flavor: Flavor, iv: bytes, body: bytes, tag: bytes
) -> None:
    header = FAST[flavor].encode(CLAIMS, V5_NAME, now=1, max_age=60).split(".")[0]
    token = ".".join((header, "", b64(iv), b64(body), b64(tag)))
    assert agree(flavor, token) == ("invalid", "decrypt")


@pytest.mark.parametrize("flavor", [V4, V5])
def test_each_seals_what_the_other_opens(flavor: Flavor) -> None:
    claims = {"sub": "u1", "name": "Zoë", "roles": ["a", "b"], "n": 1.5}
    for sealer, opener in ((FAST, REFERENCE), (REFERENCE, FAST)):
        token = sealer[flavor].encode(claims, V5_NAME, now=5, max_age=10)
        opened = opener[flavor].decode(token, V5_NAME).claims
        assert {k: v for k, v in opened.items() if k != "jti"} == {**claims, "iat": 5, "exp": 15}


@pytest.mark.parametrize("flavor", [V4, V5])
def test_same_randomness_same_bytes(flavor: Flavor, monkeypatch: pytest.MonkeyPatch) -> None:
    """With os.urandom made repeatable, both seal byte for byte the same token (the jti
    comes from uuid4, the IV from os.urandom, in the same order in both)."""
    tokens = []
    for codec in (FAST[flavor], REFERENCE[flavor]):
        counter = iter(range(1, 1000))
        monkeypatch.setattr(os, "urandom", lambda n, c=counter: bytes([next(c)]) * n)
        tokens.append(codec.encode(CLAIMS, V5_NAME, now=5, max_age=10))
    assert tokens[0] == tokens[1]
