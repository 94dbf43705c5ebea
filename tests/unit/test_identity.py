"""identity_values / claim / header_key: no header injection, every backend folding."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.identity import (
    MAX_VALUE_BYTES,
    claim,
    header_key,
    header_value,
    identity_values,
)


def test_header_key() -> None:
    assert header_key("X_Auth-Request.User") == "xauthrequestuser"
    assert header_key("x-auth-request-user") == "xauthrequestuser"


CLAIMS: dict[str, Any] = {
    "sub": "user-1",
    "email": "a@example.com",
    "role": "admin",
    "roles": ["admin", "editor"],
    "age": 42,
    "score": 1.5,
    "whole": 3.0,
    "verified": True,
    "blocked": False,
    "nothing": None,
    "object": {"a": 1},
    "nested": {"deep": {"role": "ops"}, "list": ["x"]},
    "https://example.com/roles": ["auditor"],
    "ns.with.dots": {"inner": "found"},
    "mixed": ["a", 1],
    "nested_lists": [["a"]],
    "comma_item": ["a,b", "c"],
    "empty_list": [],
    "crlf": "admin\r\nX-Injected: 1",
    "lf": "a\nb",
    "nul": "a\x00b",
    "tab": "a\tb",
    "del": "a\x7fb",
    "c1": "a\x85b",
    "padded": " admin",
    "huge_int": 10**5000,
    "big_int": 2**64,
    "wide_int": -(10**1024),
    "nan": float("nan"),
    "inf": float("inf"),
    "huge_str": "x" * (MAX_VALUE_BYTES + 1),
    "limit_str": "x" * MAX_VALUE_BYTES,
    "multibyte_over": "\u00e9" * (MAX_VALUE_BYTES // 2 + 1),
    "unicode": "Jos\u00e9",
    "surrogate": "a\ud800",
    "empty": "",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sub", "user-1"),
        ("roles", "admin,editor"),
        ("age", "42"),
        ("score", "1.5"),
        ("whole", "3"),
        ("verified", "true"),
        ("blocked", "false"),
        ("big_int", "18446744073709551616"),
        ("wide_int", None),
        ("nested.deep.role", "ops"),
        ("nested.list", "x"),
        ("https://example.com/roles", "auditor"),
        ("ns.with.dots.inner", "found"),
        ("limit_str", "x" * MAX_VALUE_BYTES),
        ("unicode", "Jos\u00e9"),
        ("empty", ""),
        ("empty_list", ""),
        ("missing", None),
        ("nothing", None),
        ("object", None),
        ("nested", None),
        ("nested.deep.missing", None),
        ("sub.deeper", None),
        ("mixed", None),
        ("nested_lists", None),
        ("comma_item", None),
        ("crlf", None),
        ("lf", None),
        ("nul", None),
        ("tab", None),
        ("del", None),
        ("c1", None),
        ("padded", None),
        ("huge_int", None),
        ("nan", None),
        ("inf", None),
        ("huge_str", None),
        ("multibyte_over", None),
        ("surrogate", None),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_identity_values(path: str, expected: str | None) -> None:
    result = identity_values(CLAIMS, [("X-Value", path)])
    assert result == ([] if expected is None else [("X-Value", expected)])


def test_identity_values_keeps_order_and_skips_unsafe() -> None:
    mapping = [("X-User", "sub"), ("X-Bad", "crlf"), ("X-Roles", "roles")]
    assert identity_values(CLAIMS, mapping) == [("X-User", "user-1"), ("X-Roles", "admin,editor")]


@pytest.mark.parametrize(
    ("claims", "path", "expected"),
    [
        ({"role": "admin"}, "role", "admin"),
        ({"a": {"b": {"c": 1}}}, "a.b.c", 1),
        ({"a.b": 1, "a": {"b": 2}}, "a.b", 1),
        ({"a.b": {"c": 1}, "a": {"b": {"c": 2}}}, "a.b.c", 1),
        ({"a": {"b": {"c": 2}}}, "a.b.c", 2),
        ({"a": ["b"]}, "a.0", None),
        ({"a": "text"}, "a.b", None),
        ({"a": None}, "a", None),
        ({}, "", None),
        ({"": {"": 1}}, ".", 1),
    ],
    ids=[
        "flat",
        "dotted",
        "literal-key-first",
        "longest-prefix-first",
        "nested-only",
        "no-list-index",
        "through-a-string",
        "null",
        "empty-path",
        "empty-keys",
    ],
)
def test_claim(claims: dict[str, Any], path: str, expected: object) -> None:
    assert claim(claims, path) == expected


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_any_claim_value_is_a_safe_header_or_nothing(value: object) -> None:
    text = header_value(value)
    if text is not None:
        assert "\r" not in text and "\n" not in text and "\x00" not in text
        assert len(text.encode("utf-8")) <= MAX_VALUE_BYTES
        assert text == text.strip()
