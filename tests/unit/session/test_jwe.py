"""gateway.session.jwe: compact JWE parts, canonical base64url, and the two content encryptions
(RFC 7518's own AES_256_CBC_HMAC_SHA_512 test vector; round trips; wrong keys)."""

from __future__ import annotations

import os

import pytest

from gateway.session import jwe

# RFC 7518 Appendix B.3 (AES_256_CBC_HMAC_SHA_512).
B3_KEY = bytes(range(64))
B3_PLAINTEXT = (
    b"A cipher system must not be required to be secret, and it must be able to fall "
    b"into the hands of the enemy without inconvenience"
)
B3_IV = bytes.fromhex("1af38c2dc2b96ffdd86694092341bc04")
B3_AAD = "The second principle of Auguste Kerckhoffs"
B3_CIPHERTEXT = bytes.fromhex(
    "4affaaadb78c31c5da4b1b590d10ffbd3dd8d5d302423526912da037ecbcc7bd822c301dd67c373bccb584ad3e"
    "9279c2e6d12a1374b77f077553df829410446b36ebd97066296ae6427ea75c2e0846a11a09ccf5370dc80bfecb"
    "ad28c73f09b3a3b75e662a2594410ae496b2e2e6609e31e6e02cc837f053d21f37ff4f51950bbe2638d09dd7a4"
    "930930806d0703b1f6"
)
B3_TAG = bytes.fromhex("4dd3b4c088a7f45c216839645b2012bf2e6269a8c56a816dbc1b267761955bc5")


def b3(**change: bytes) -> jwe.Sealed:
    parts = {"iv": B3_IV, "ciphertext": B3_CIPHERTEXT, "tag": B3_TAG, **change}
    return jwe.Sealed("", B3_AAD, parts["iv"], parts["ciphertext"], parts["tag"])


def test_rfc7518_b3_vector_opens() -> None:
    key = jwe.ContentKey.build(B3_KEY, jwe.CBC_HS512)
    assert jwe.open_fast(b3(), key) == B3_PLAINTEXT


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"tag": B3_TAG[:-1] + b"\x00"}, id="tag"),
        pytest.param({"tag": B3_TAG[:16]}, id="short-tag"),
        pytest.param({"iv": bytes(16)}, id="iv"),
        pytest.param({"iv": B3_IV[:12]}, id="short-iv"),
        pytest.param({"ciphertext": B3_CIPHERTEXT[:-1]}, id="ciphertext"),
    ],
)
def test_rfc7518_b3_vector_changed_does_not_open(change: dict[str, bytes]) -> None:
    key = jwe.ContentKey.build(B3_KEY, jwe.CBC_HS512)
    assert jwe.open_fast(b3(**change), key) is None


def test_the_b3_tag_is_computed_as_the_rfc_says() -> None:
    key = jwe.ContentKey.build(B3_KEY, jwe.CBC_HS512)
    assert jwe._cbc_tag(key, B3_AAD.encode(), B3_IV, B3_CIPHERTEXT) == B3_TAG


@pytest.mark.parametrize("enc", [jwe.GCM, jwe.CBC_HS512])
@pytest.mark.parametrize(
    "plaintext", [b"{}", b"x" * 15, b"y" * 16, b"z" * 1000], ids=["tiny", "15", "block", "long"]
)
def test_seal_then_open(enc: str, plaintext: bytes) -> None:
    key = jwe.ContentKey.build(os.urandom(jwe.KEY_BYTES[enc]), enc)
    header = jwe.b64encode(f'{{"alg":"dir","enc":"{enc}"}}'.encode())
    token = jwe.seal_fast(plaintext, header, key)
    sealed = jwe.split(token)
    assert sealed is not None
    assert (len(sealed.iv), len(sealed.tag)) == (jwe.IV_BYTES[enc], jwe.TAG_BYTES[enc])
    assert jwe.open_fast(sealed, key) == plaintext == jwe.open_reference(sealed, key)


@pytest.mark.parametrize("enc", [jwe.GCM, jwe.CBC_HS512])
def test_another_key_or_header_does_not_open(enc: str) -> None:
    key, other = (jwe.ContentKey.build(os.urandom(jwe.KEY_BYTES[enc]), enc) for _ in "ab")
    sealed = jwe.split(jwe.seal_fast(b"{}", "eyJ9", key))
    assert sealed is not None
    assert jwe.open_fast(sealed, other) is None
    moved = jwe.Sealed(sealed.token, "eyJ0", sealed.iv, sealed.ciphertext, sealed.tag)
    assert jwe.open_fast(moved, key) is None  # the header is authenticated


@pytest.mark.parametrize(("enc", "length"), [(jwe.GCM, 64), (jwe.CBC_HS512, 32)])
def test_a_key_of_the_wrong_length_is_refused(enc: str, length: int) -> None:
    with pytest.raises(ValueError, match="byte key"):
        jwe.ContentKey.build(bytes(length), enc)


@pytest.mark.parametrize(
    ("token", "parsed"),
    [
        pytest.param("eyJ9..AAAA.QUFB.QQ", True, id="five-parts"),
        pytest.param("eyJ9.a.AAAA.QUFB.QQ", False, id="encrypted-key"),
        pytest.param("eyJ9..AAAA.QUFB", False, id="four-parts"),
        pytest.param("eyJ9..AAAA.QUFB.QQ.", False, id="six-parts"),
        pytest.param("eyJ9...QUFB.QQ", False, id="empty-iv"),
        pytest.param("eyJ9..AAAA.QUFB.QQ==", False, id="padded"),
        pytest.param("eyJ9..AA+A.QUFB.QQ", False, id="standard-alphabet"),
        pytest.param("eyJ9..AAAA.QUFB.QR", False, id="non-canonical-tag"),
        pytest.param("eyJ9..AAAAA.QUFB.QQ", False, id="impossible-length"),
        pytest.param(" eyJ9..AAAA.QUFB.QQ", False, id="space"),
        pytest.param("eyJ9..AAAA.QUFB.QQ\n", False, id="newline"),
    ],
)
def test_split(token: str, parsed: bool) -> None:
    sealed = jwe.split(token)
    assert (sealed is not None) is parsed
    if sealed is not None:
        assert (sealed.header, sealed.iv, sealed.ciphertext, sealed.tag) == (
            "eyJ9",
            b"\x00\x00\x00",
            b"AAA",
            b"A",
        )


@pytest.mark.parametrize(
    ("part", "canonical"),
    [
        ("", True),
        ("QUFB", True),
        ("QQ", True),
        ("QR", False),
        ("Qg", True),
        ("QUE", True),
        ("QUF", False),
        ("Q", False),
        ("QUFBQ", False),
        ("_w", True),
        ("_-", False),
    ],
)
def test_is_canonical(part: str, canonical: bool) -> None:
    assert jwe.is_canonical(part) is canonical


def test_every_encoding_is_canonical() -> None:
    for length in range(40):
        assert jwe.is_canonical(jwe.b64encode(os.urandom(length)))


@pytest.mark.parametrize("kid_bytes", [32, 64])
def test_thumbprint_hash_follows_the_key_size(kid_bytes: int) -> None:
    digest = jwe.b64decode(jwe.thumbprint(bytes(kid_bytes)))
    assert len(digest) == kid_bytes  # SHA-256 for 32 bytes, SHA-512 for 64
