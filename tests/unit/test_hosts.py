"""Choosing the app by host (gateway.hosts): keys fold case, port and a trailing dot; exact
names before the longest wildcard; a wildcard never takes its own apex; no match is None."""

from __future__ import annotations

import pytest

from gateway.hosts import HostTable, host_key, pattern_problem

TABLE = HostTable.build(
    [
        (["shop.example.com", "*.shop.example.com"], "shop"),
        (["console.example.com", "[::1]", "127.0.0.1"], "console"),
        (["*.example.com"], "catch"),
        (["eu.shop.example.com"], "eu"),
    ]
)


@pytest.mark.parametrize(
    ("host", "app"),
    [
        ("shop.example.com", "shop"),
        ("SHOP.Example.COM", "shop"),
        ("shop.example.com:8443", "shop"),
        ("shop.example.com.", "shop"),
        ("a.shop.example.com", "shop"),
        ("a.b.shop.example.com", "shop"),  # any depth, as nginx's *.name
        ("eu.shop.example.com", "eu"),  # an exact name before a longer-matching wildcard
        ("x.eu.shop.example.com", "shop"),
        ("other.example.com", "catch"),  # the longest wildcard that holds it
        ("console.example.com", "console"),
        ("[::1]:8080", "console"),
        ("127.0.0.1:80", "console"),
        ("example.com", None),  # *.example.com never takes its apex
        ("evil-shop.example.com", "catch"),  # a suffix on a label boundary only
        ("shop.example.com.evil.net", None),
        ("notexample.com", None),
        ("", None),
        (None, None),
    ],
)
def test_find(host: str | None, app: str | None) -> None:
    assert TABLE.find(host) == app


def test_a_one_app_table_answers_every_host() -> None:
    table = HostTable.every_host("default")
    assert table.find("anything.test") == table.find(None) == "default"


def test_the_first_app_to_claim_a_key_keeps_it() -> None:
    table = HostTable.build([(["a.test"], 1), (["A.test:80"], 2)])
    assert table.find("a.test") == 1


@pytest.mark.parametrize(
    ("host", "key"),
    [("A.Test", "a.test"), ("a.test:1", "a.test"), ("a.test.", "a.test"), ("[::1]:9", "[::1]")],
)
def test_host_key(host: str, key: str) -> None:
    assert host_key(host) == key


@pytest.mark.parametrize(
    "pattern",
    ["shop.example.com", "*.shop.example.com", "localhost", "127.0.0.1", "[::1]", "a_b.test"],
)
def test_good_patterns(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("*", "first label"),
        ("*.", "first label"),
        ("*.com", "two labels"),
        ("*example.com", "first label"),
        ("a.*.example.com", "first label"),
        ("*.*.example.com", "wildcard"),
        ("shop.example.com:443", "port"),
        ("shop example.com", "not a host"),
        ("-shop.example.com", "not a host"),
        ("", "not a host"),
        ("a" * 64 + ".test", "not a host"),
    ],
)
def test_bad_patterns_say_why(pattern: str, words: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and words in problem
