"""YAML -> GatewayConfig: exact messages, every error at once, env vars, the demo guard."""

from __future__ import annotations

import hashlib
import ipaddress
import pickle
from collections.abc import Mapping
from pathlib import Path

import pytest

from gateway.config import (
    DEMO_SECRET,
    Address,
    ConfigError,
    Policy,
    Upstream,
    load_config,
    load_config_text,
)

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
SECRET = "s" * 40
ENV = {"SECRET": SECRET}

# A small valid file; the tables below edit one line of it and expect exact messages.
BASE = """\
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session:
  flavor: nextauth-v4
  secrets: ["${SECRET}"]
policies:
  admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }
  general: { max_age: 1d, update_age: 6h }
default_policy: general
routes:
  - { name: login, path: /login, public: true }
  - { name: admin, path: /admin/, roles: [admin] }
  - { name: app, path: / }
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def errors(text: str, env: Mapping[str, str] = ENV) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "t.yaml", env=env)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return list(caught.value.errors)


# BASE ends in a catch-all `/` that counts as activity, so every load of it also warns about
# the session endpoint (tests/unit/config/test_load_wave2.py tests that warning itself).
SESSION_WARNING = "the session endpoint /api/auth/session falls in"


def load(text: str, env: Mapping[str, str] = ENV) -> tuple[str, ...]:
    """Loads cleanly; returns the warnings, but for the session endpoint's."""
    warnings = load_config_text(text, "t.yaml", env=env).warnings
    return tuple(w for w in warnings if SESSION_WARNING not in w)


def test_the_base_file_loads_without_warnings() -> None:
    config = load_config_text(BASE, "t.yaml", env=ENV)
    assert load(BASE) == ()
    assert len(config.warnings) == 1 and SESSION_WARNING in config.warnings[0]
    assert config.listen == Address("127.0.0.1", 8080)
    assert config.session.secrets == (SECRET,)
    assert config.session.cookie == "next-auth.session-token"
    assert config.policies[0] == Policy("admin", 7200, 3600, 43200)
    assert config.policies[1] == Policy("general", 86400, 21600, None)
    assert [route.prefix for route in config.routes] == ["/login", "/admin", ""]
    assert config.routes[1].roles == ("admin",)
    assert config.demo is False


BROKEN = [
    pytest.param(
        ("update_age: 1h, absolute", "update_age: 3h, absolute"),
        [
            "t.yaml:8: policies.admin.update_age: 3h must be shorter than max_age (2h); "
            "omit update_age for a static session"
        ],
        id="update_age-longer-than-max_age",
    ),
    pytest.param(
        ("update_age: 1h, absolute", "update_age: 7200, absolute"),
        [
            "t.yaml:8: policies.admin.update_age: 7200 must be shorter than max_age (2h); "
            "omit update_age for a static session"
        ],
        id="update_age-equal-to-max_age",
    ),
    pytest.param(
        ("default_policy: general", "default_policy: staff"),
        ["t.yaml:10: default_policy: staff is not one of the policies (admin, general)"],
        id="default_policy-unknown",
    ),
    pytest.param(
        ("name: app", "name: admin"),
        [
            "t.yaml:14: routes[2].name: admin is already the name of routes[1]; "
            "route names are unique"
        ],
        id="duplicate-route-name",
    ),
    pytest.param(
        ("{ max_age: 1d,", "{ maxAge: 1d,"),
        ["t.yaml:9: policies.general.maxAge: unknown key; did you mean max_age?"],
        id="nextauth-maxAge",
    ),
    pytest.param(
        ("update_age: 6h", "updateAge: 6h"),
        ["t.yaml:9: policies.general.updateAge: unknown key; did you mean update_age?"],
        id="nextauth-updateAge",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  cookieDomain: example.com\n"),
        ["t.yaml:6: session.cookieDomain: unknown key; did you mean cookie_domain?"],
        id="nextauth-cookieDomain",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  clockskew: 5s\n"),
        ["t.yaml:6: session.clockskew: unknown key; did you mean clock_skew?"],
        id="typo-close-match",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nflavor: authjs-v5\n"),
        ["t.yaml:11: flavor: unknown key; did you mean session.flavor?"],
        id="key-in-the-wrong-section",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nsecret: x\n"),
        ["t.yaml:11: secret: unknown key; did you mean session.secrets?"],
        id="nextauth-top-level-secret",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nclient_header: 5s\n"),
        ["t.yaml:11: client_header: unknown key; did you mean timeouts.client_header?"],
        id="where-it-belongs-before-a-near-name",  # not identity_headers
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nbanana: 1\n"),
        ["t.yaml:11: banana: unknown key"],
        id="unknown-key-no-suggestion",
    ),
    pytest.param(
        (
            "metrics_listen: 127.0.0.1:9091\n",
            "metrics_listen: 127.0.0.1:9091\nlisten: 127.0.0.1:8081\n",
        ),
        ["t.yaml:3: listen: duplicate key (first at line 1)"],
        id="duplicate-top-level-key",
    ),
    pytest.param(
        (
            "  general: { max_age: 1d, update_age: 6h }\n",
            "  general: { max_age: 1d, max_age: 6h }\n",
        ),
        ["t.yaml:9: policies.general.max_age: duplicate key (first at line 9)"],
        id="duplicate-key-in-flow-mapping",
    ),
    pytest.param(
        ("flavor: nextauth-v4", "flavor: nextauth"),
        [
            "t.yaml:5: session.flavor: nextauth must be one of nextauth-v4, authjs-v5; "
            "did you mean nextauth-v4?"
        ],
        id="flavor-unknown",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  cookie: __Secure-next-auth.x\n"),
        [
            "t.yaml:6: session.cookie: __Secure-next-auth.x must be the base name without "
            "__Secure-/__Host- (the __Secure- variant is read and written automatically)"
        ],
        id="cookie-with-secure-prefix",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  cookie: app.session.0\n"),
        [
            "t.yaml:6: session.cookie: app.session.0 must be the base name without a chunk "
            "suffix (.0, .1, ...)"
        ],
        id="cookie-with-chunk-suffix",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", '  flavor: nextauth-v4\n  cookie: "a;b"\n'),
        ["t.yaml:6: session.cookie: a;b is not a valid cookie name"],
        id="cookie-with-bad-character",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  role_claim: app..role\n"),
        [
            "t.yaml:6: session.role_claim: app..role is not a claim path "
            "(dotted names such as role or app.roles)"
        ],
        id="role_claim-empty-segment",
    ),
    pytest.param(
        ("  flavor: nextauth-v4\n", "  flavor: nextauth-v4\n  clock_skew: -5s\n"),
        ["t.yaml:6: session.clock_skew: -5s is negative; durations are zero or more"],
        id="clock_skew-negative",
    ),
    pytest.param(
        ('  secrets: ["${SECRET}"]', "  secrets: []"),
        ["t.yaml:6: session.secrets: must list at least one secret"],
        id="secrets-empty-list",
    ),
    pytest.param(
        ('  secrets: ["${SECRET}"]', '  secrets: ["${SECRET}", ""]'),
        ["t.yaml:6: session.secrets[1]: is empty"],
        id="secret-empty-string",
    ),
    pytest.param(
        ('  secrets: ["${SECRET}"]', "  secrets:\n    - ${SECRET}\n    - [a]"),
        ["t.yaml:8: session.secrets[1]: must be a single value, not a list"],
        id="secret-not-a-string",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nlogin: { url: //evil.com }\n"),
        [
            "t.yaml:11: login.url: //evil.com must be a path such as /login "
            "(not //, no spaces or backslashes)"
        ],
        id="login-url-protocol-relative",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\nlogin: { url: /login, callback_param: a b }\n",
        ),
        [
            't.yaml:11: login.callback_param: "a b" is not a query parameter name '
            "(letters, digits, ._~-)"
        ],
        id="callback_param-not-a-token",
    ),
    pytest.param(
        ("upstream: http://127.0.0.1:3000", "upstream: http://127.0.0.1:3000/app"),
        [
            "t.yaml:3: upstream: http://127.0.0.1:3000/app must be scheme://host[:port] only, "
            "without a path or query"
        ],
        id="upstream-with-path",
    ),
    pytest.param(
        ("upstream: http://127.0.0.1:3000", "upstream: http://user:pw@127.0.0.1:3000"),
        [
            "t.yaml:3: upstream: http://***@127.0.0.1:3000 must not carry credentials "
            "(user:password@)"
        ],
        id="upstream-with-credentials-redacted",
    ),
    pytest.param(
        ("upstream: http://127.0.0.1:3000", "upstream: ftp://127.0.0.1"),
        ["t.yaml:3: upstream: ftp://127.0.0.1 is not an http:// or https:// URL"],
        id="upstream-not-http",
    ),
    pytest.param(
        ("- { name: app, path: / }", "- { name: app, path: /, upstream: http://x:99999 }"),
        ["t.yaml:14: routes[2].upstream: http://x:99999 has an invalid port (1-65535)"],
        id="route-upstream-bad-port",
    ),
    pytest.param(
        ("path: /admin/,", "path: admin/,"),
        ["t.yaml:13: routes[1].path: admin/ must start with /"],
        id="route-path-relative",
    ),
    pytest.param(
        ("path: /admin/,", "path: /admin/../x,"),
        [
            "t.yaml:13: routes[1].path: /admin/../x must be a normalised path "
            "(no //, . or .. segments)"
        ],
        id="route-path-dot-segments",
    ),
    pytest.param(
        ("roles: [admin]", "roles: [admin], public: true"),
        ["t.yaml:13: routes[1].roles: a public route cannot require roles; remove public or roles"],
        id="route-public-with-roles",
    ),
    pytest.param(
        ("roles: [admin]", "roles: []"),
        [
            "t.yaml:13: routes[1].roles: must list at least one role "
            "(leave roles out to allow any signed-in user)"
        ],
        id="route-roles-empty",
    ),
    pytest.param(
        ("roles: [admin]", "roles: admin"),
        ["t.yaml:13: routes[1].roles: must be a list, not admin"],
        id="route-roles-not-a-list",
    ),
    pytest.param(
        ("- { name: app, path: / }", "- { name: app, path: /, unauthenticated: 403 }"),
        ["t.yaml:14: routes[2].unauthenticated: 403 must be one of redirect, 401"],
        id="route-unauthenticated-bad",
    ),
    pytest.param(
        ("- { name: app, path: / }", "- { name: app, path: /, public: yes please }"),
        ['t.yaml:14: routes[2].public: "yes please" must be true or false'],
        id="route-public-not-boolean",
    ),
    pytest.param(
        ("- { name: app, path: / }", "- { name: none, path: / }"),
        [
            "t.yaml:14: routes[2].name: none is reserved for the gateway's own metrics; "
            "choose another name"
        ],
        id="route-name-reserved",
    ),
    pytest.param(
        ("- { name: app, path: / }", "- { path: / }"),
        ["t.yaml:14: routes[2].name: is required"],
        id="route-name-missing",
    ),
    pytest.param(
        ("name: login, path: /login,", "name: login, path: /,"),
        [
            "t.yaml:13: routes[1].path: /admin/ is never reached: routes[0] (login, /) matches "
            "it first; list the more specific route first",
            "t.yaml:14: routes[2].path: / is never reached: routes[0] (login, /) matches "
            "it first; list the more specific route first",
        ],
        id="route-shadowed-by-catch-all",
    ),
    pytest.param(
        ("path: /admin/,", "path: /LOGIN/x,"),
        [
            "t.yaml:13: routes[1].path: /LOGIN/x is never reached: routes[0] (login, /login) "
            "matches it first; list the more specific route first"
        ],
        id="route-shadowed-ignoring-case",
    ),
    pytest.param(
        ("listen: 127.0.0.1:8080", "listen: 127.0.0.1"),
        ["t.yaml:1: listen: 127.0.0.1 is not host:port (e.g. 127.0.0.1:8080)"],
        id="listen-without-port",
    ),
    pytest.param(
        ("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0"),
        ["t.yaml:1: listen: 127.0.0.1:0 has an invalid port (1-65535)"],
        id="listen-port-zero",
    ),
    pytest.param(
        ("listen: 127.0.0.1:8080", "listen: ::1:8080"),
        ["t.yaml:1: listen: ::1:8080 needs brackets around an IPv6 address ([::1]:8080)"],
        id="listen-ipv6-without-brackets",
    ),
    pytest.param(
        ("metrics_listen: 127.0.0.1:9091", "metrics_listen: 0.0.0.0:8080"),
        [
            "t.yaml:2: metrics_listen: 0.0.0.0:8080 is the same address as listen "
            "(127.0.0.1:8080); metrics are never served on the proxied port"
        ],
        id="metrics-on-the-proxied-port",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\npublic_url: https://app.example.com/app\n",
        ),
        [
            "t.yaml:11: public_url: https://app.example.com/app must be scheme://host[:port] "
            "only, without a path or query"
        ],
        id="public_url-with-path",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\nidentity_headers:\n  X-User: sub\n  x_user: email\n",
        ),
        [
            "t.yaml:13: identity_headers.x_user: x_user is the same header as X-User to a "
            "backend (case, _ and - are folded)"
        ],
        id="identity-headers-fold-together",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            'default_policy: general\nidentity_headers:\n  "X User": sub\n',
        ),
        ['t.yaml:12: identity_headers.X User: "X User" is not a valid HTTP header name'],
        id="identity-header-invalid-name",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nidentity_headers:\n  Host: sub\n"),
        [
            "t.yaml:12: identity_headers.Host: Host is a header the gateway or the transport "
            "manages; choose another name"
        ],
        id="identity-header-managed",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            'default_policy: general\nidentity_headers:\n  X-User: "a b"\n',
        ),
        [
            't.yaml:12: identity_headers.X-User: "a b" is not a claim path '
            "(dotted names such as role or app.roles)"
        ],
        id="identity-header-bad-claim-path",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ntrusted_proxies: [10.0.0.0/33]\n"),
        [
            "t.yaml:11: trusted_proxies[0]: 10.0.0.0/33 is not an IP address or CIDR network "
            "(e.g. 10.0.0.0/8)"
        ],
        id="trusted-proxy-bad-cidr",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\npreserve_host: 1\n"),
        ["t.yaml:11: preserve_host: 1 must be true or false"],
        id="preserve_host-not-boolean",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\npreflight: allow\n"),
        ["t.yaml:11: preflight: allow must be one of pass, authenticate"],
        id="preflight-unknown",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\nlimits: { max_cookie_chunks: 65, max_header_bytes: 100 }\n",
        ),
        [
            "t.yaml:11: limits.max_cookie_chunks: 65 must be between 1 and 64",
            "t.yaml:11: limits.max_header_bytes: 100 must be at least 8192",
        ],
        id="limits-out-of-range",
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\nlimits: { decode_cache_entries: true }\n",
        ),
        ["t.yaml:11: limits.decode_cache_entries: true must be a whole number"],
        id="limits-boolean",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ntimeouts: { connect: 0 }\n"),
        ["t.yaml:11: timeouts.connect: 0 must be longer than 0s"],
        id="timeout-zero",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ntimeouts: { upstream: 1.5s }\n"),
        [
            "t.yaml:11: timeouts.upstream: 1.5s is not a duration; use whole seconds or 90s, "
            "15m, 6h, 1d, 2w (or 1h30m)"
        ],
        id="timeout-fraction",
    ),
    pytest.param(
        ("update_age: 6h", "update_age: true"),
        [
            "t.yaml:9: policies.general.update_age: true is a boolean, not a duration; use whole "
            "seconds or 90s, 15m, 6h, 1d, 2w (or 1h30m)"
        ],
        id="duration-boolean",
    ),
    pytest.param(
        ("update_age: 6h", "update_age: 1:30"),
        ["t.yaml:9: policies.general.update_age: 1:30 must be a whole number written in decimal"],
        id="duration-base-60",  # YAML 1.1 reads it as 90
    ),
    pytest.param(
        (
            "default_policy: general\n",
            "default_policy: general\nlimits: { max_cookie_chunks: 010 }\n",
        ),
        ["t.yaml:11: limits.max_cookie_chunks: 010 must be a whole number written in decimal"],
        id="integer-octal",  # YAML 1.1 reads it as 8
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ntimeouts: { connect: 0x10 }\n"),
        ["t.yaml:11: timeouts.connect: 0x10 must be a whole number written in decimal"],
        id="duration-hex",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ngateway_prefix: /_gw/\n"),
        ["t.yaml:11: gateway_prefix: /_gw/ must not end with / (e.g. /_gateway)"],
        id="gateway_prefix-trailing-slash",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\ngateway_prefix: /admin/gw\n"),
        [
            "t.yaml:11: gateway_prefix: /admin/gw would take part of routes[1] (admin, /admin/) "
            "silently; choose a prefix outside every route but /"
        ],
        id="gateway_prefix-inside-a-route",
    ),
    pytest.param(
        ("path: /admin/,", "path: /_Gateway/x,"),
        [
            "t.yaml:13: routes[1].path: /_Gateway/x is inside gateway_prefix (/_gateway), which "
            "the gateway answers itself; move the route or gateway_prefix"
        ],
        id="route-inside-gateway_prefix",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nlog: { level: warn }\n"),
        [
            "t.yaml:11: log.level: warn must be one of debug, info, warning, error; "
            "did you mean warning?"
        ],
        id="log-level-close-match",
    ),
    pytest.param(
        ("default_policy: general\n", "default_policy: general\nlog: { format: xml }\n"),
        ["t.yaml:11: log.format: xml must be one of json, text"],
        id="log-format-unknown",
    ),
    pytest.param(
        ("  admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }\n", "  admin:\n"),
        ["t.yaml:8: policies.admin.max_age: is required"],
        id="policy-without-settings",
    ),
    pytest.param(
        ("  admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }\n", "  none: 1h\n"),
        [
            "t.yaml:8: policies.none: none is reserved for the gateway's own metrics; "
            "choose another name",
            "t.yaml:8: policies.none: must be a mapping (key: value), not 1h",
        ],
        id="policy-reserved-name-and-not-a-mapping",
    ),
    pytest.param(
        ("metrics_listen: 127.0.0.1:9091\n", "metrics_listen: 127.0.0.1:9091\ndemo: maybe\n"),
        ["t.yaml:3: demo: maybe must be true or false"],
        id="demo-not-boolean",
    ),
    pytest.param(
        ("session:\n", "base: &b { max_age: 1h }\nsession:\n"),
        ["t.yaml:4: base: unknown key"],
        id="anchor-under-unknown-key",
    ),
    pytest.param(
        ("  general: { max_age: 1d, update_age: 6h }", "  general: { <<: {max_age: 1d} }"),
        [
            "t.yaml:9: policies.general.max_age: is required",
            "t.yaml:9: policies.general: keys must be plain names (YAML merge keys << and "
            "complex keys are not supported)",
        ],
        id="merge-key",
    ),
]


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_broken_snippet_reports_exact_lines(change: tuple[str, str], expected: list[str]) -> None:
    assert errors(edit(*change)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "",
            ["t.yaml:1: the file is empty; it must hold the gateway's settings"],
            id="empty-file",
        ),
        pytest.param(
            "# only a comment\n",
            ["t.yaml:1: the file is empty; it must hold the gateway's settings"],
            id="comments-only",
        ),
        pytest.param(
            "- a\n",
            ["t.yaml:1: the top level must be a mapping (key: value), not a list"],
            id="top-level-list",
        ),
        pytest.param(
            "listen: [\n",
            [
                "t.yaml:2: invalid YAML: expected the node content, but "
                "found '<stream end>' while parsing a flow node "
                "(column 1)"
            ],
            id="unclosed-bracket",
        ),
        pytest.param(
            "a: 1\n b: 2\n",
            ["t.yaml:2: invalid YAML: mapping values are not allowed here (column 3)"],
            id="bad-indentation",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            [
                "t.yaml:2: invalid YAML: expected a single document "
                "in the stream, but found another document "
                "(column 1)"
            ],
            id="two-documents",
        ),
        pytest.param(
            "a: '\x00'\n",
            ["t.yaml:1: invalid YAML: character #x0000: special characters are not allowed"],
            id="nul-character",
        ),
        pytest.param(
            "[" * 10_000,
            ["t.yaml:1: invalid YAML: the document cannot be read (nested too deeply?)"],
            id="nested-too-deeply",
        ),
    ],
)
def test_unreadable_documents_are_one_line(text: str, expected: list[str]) -> None:
    assert errors(text) == expected


def test_missing_sections_are_each_required() -> None:
    assert errors("log: { level: info }\n") == [
        "t.yaml:1: upstream: is required",
        "t.yaml:1: listen: is required",
        "t.yaml:1: metrics_listen: is required",
        "t.yaml:1: session: is required",
        "t.yaml:1: policies: is required",
        "t.yaml:1: default_policy: is required",
        "t.yaml:1: routes: is required",
    ]


def test_required_key_without_a_value_points_at_its_line() -> None:
    assert errors(edit("default_policy: general", "default_policy:")) == [
        "t.yaml:10: default_policy: is required"
    ]


def test_at_least_one_policy_and_one_route() -> None:
    text = edit(
        "routes:\n  - { name: login, path: /login, public: true }\n"
        "  - { name: admin, path: /admin/, roles: [admin] }\n  - { name: app, path: / }\n",
        "routes: []\n",
    )
    text = edit(
        "policies:\n  admin: { max_age: 2h, update_age: 1h, absolute_max_age: 12h }\n"
        "  general: { max_age: 1d, update_age: 6h }\n",
        "policies: {}\n",
        text,
    )
    assert errors(text) == [
        "t.yaml:7: policies: must name at least one policy",
        "t.yaml:8: default_policy: general is not one of the policies (none)",
        "t.yaml:9: routes: must list at least one route",
    ]


def test_every_error_in_a_file_is_reported_together_sorted_by_line() -> None:
    text = edit("listen: 127.0.0.1:8080", "listen: nowhere")
    text = edit("update_age: 1h, absolute", "update_age: 3h, absolute", text)
    text = edit("default_policy: general", "default_policy: staff", text)
    text = edit("name: app", "name: admin", text)
    text = edit("flavor: nextauth-v4", "flavor: v4", text)
    assert errors(text, env={}) == [
        "t.yaml:1: listen: nowhere is not host:port (e.g. 127.0.0.1:8080)",
        "t.yaml:5: session.flavor: v4 must be one of nextauth-v4, authjs-v5",
        "t.yaml:6: session.secrets[0]: environment variable SECRET is not set",
        "t.yaml:8: policies.admin.update_age: 3h must be shorter than max_age (2h); "
        "omit update_age for a static session",
        "t.yaml:10: default_policy: staff is not one of the policies (admin, general)",
        "t.yaml:14: routes[2].name: admin is already the name of routes[1]; route names are unique",
    ]


# --- environment variables ---------------------------------------------------------------


def test_missing_variable_names_the_key_and_the_variable() -> None:
    assert errors(BASE, env={}) == [
        "t.yaml:6: session.secrets[0]: environment variable SECRET is not set"
    ]


def test_variables_are_read_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET", SECRET)
    assert load_config_text(BASE, "t.yaml").session.secrets == (SECRET,)


@pytest.mark.parametrize(
    ("written", "env", "upstream"),
    [
        pytest.param(
            "http://${HOST}:3000",
            {"HOST": "10.1.2.3"},
            Upstream("http", "10.1.2.3", 3000),
            id="inside-a-string",
        ),
        pytest.param(
            "${SCHEME}://${HOST}",
            {"SCHEME": "https", "HOST": "h"},
            Upstream("https", "h", 443),
            id="two-variables",
        ),
        pytest.param("${U}", {"U": "http://${HOST}:1"}, None, id="values-are-not-expanded-again"),
    ],
)
def test_variables_are_substituted(
    written: str, env: dict[str, str], upstream: Upstream | None
) -> None:
    text = edit("upstream: http://127.0.0.1:3000", f'upstream: "{written}"')
    if upstream is None:
        assert errors(text, env={**ENV, **env}) == [
            "t.yaml:3: upstream: http://${HOST}:1 (from ${U}) is not a valid host name"
        ]
    else:
        assert load_config_text(text, "t.yaml", env={**ENV, **env}).upstream == upstream


def test_double_dollar_escapes_a_literal_reference() -> None:
    literal = "$${NOT_A_VAR}-and-enough-characters-here"
    text = edit('  secrets: ["${SECRET}"]', f'  secrets: ["{literal}"]')
    config = load_config_text(text, "t.yaml", env={})
    assert config.session.secrets == ("${NOT_A_VAR}-and-enough-characters-here",)


@pytest.mark.parametrize(
    "reference",
    [pytest.param("${1BAD}", id="bad-name"), pytest.param("${UNCLOSED", id="unclosed")],
)
def test_bad_references_are_errors(reference: str) -> None:
    text = edit("default_policy: general", f"default_policy: '{reference}'")
    assert errors(text) == [
        f"t.yaml:10: default_policy: {reference} has a bad ${{...}} reference (${{NAME}} with "
        "letters, digits, _; $${ for a literal ${)"
    ]


def test_numbers_and_booleans_may_come_from_the_environment() -> None:
    text = BASE + 'limits: { max_cookie_chunks: "${CHUNKS}" }\npreserve_host: "${KEEP}"\n'
    config = load_config_text(text, "t.yaml", env={**ENV, "CHUNKS": "4", "KEEP": "false"})
    assert (config.limits.max_cookie_chunks, config.preserve_host) == (4, False)


# --- secrets and the demo guard ------------------------------------------------------------


def test_demo_secret_is_refused_without_demo_and_never_printed() -> None:
    text = edit('  secrets: ["${SECRET}"]', f'  secrets: ["${{SECRET}}", "{DEMO_SECRET}"]')
    found = errors(text)
    assert found == [
        "t.yaml:6: session.secrets[1]: the public demo secret is refused outside "
        "the demo (demo: true)"
    ]
    assert DEMO_SECRET not in "\n".join(found)


def test_demo_allows_the_demo_secret_on_loopback() -> None:
    text = "demo: true\n" + edit('["${SECRET}"]', f'["{DEMO_SECRET}"]').replace(
        "127.0.0.1:3000", "localhost:3000"
    ).replace("127.0.0.1:9091", '"[::1]:9091"')
    config = load_config_text(text, "t.yaml", env={})
    assert config.demo is True
    assert config.session.secrets == (DEMO_SECRET,)


def test_demo_refuses_every_address_that_is_not_loopback() -> None:
    text = "demo: true\n" + edit("listen: 127.0.0.1:8080", "listen: 0.0.0.0:8080")
    text = edit("upstream: http://127.0.0.1:3000", "upstream: http://10.0.0.5:3000", text)
    text = edit(
        "- { name: app, path: / }", "- { name: app, path: /, upstream: http://app:80 }", text
    )
    rule = "is not a loopback address; demo: true only runs on 127.0.0.1, ::1 or localhost"
    assert errors(text) == [
        f"t.yaml:2: listen: 0.0.0.0:8080 {rule}",
        f"t.yaml:4: upstream: http://10.0.0.5:3000 {rule}",
        f"t.yaml:15: routes[2].upstream: http://app:80 {rule}",
    ]


@pytest.mark.parametrize(
    "secrets",
    [
        pytest.param("secrets: hunter2-hunter2-hunter2-hunter2-hunter2", id="scalar"),
        pytest.param("secrets: [hunter2-hunter2-hunter2-hunter2-hunter2, yes]", id="boolean-item"),
        pytest.param("secrets: ['hunter2-hunter2-hunter2-hunter2-hunter2${X']", id="bad-reference"),
    ],
)
def test_secret_values_never_appear_in_messages(secrets: str) -> None:
    found = errors(edit('secrets: ["${SECRET}"]', secrets))
    assert len(found) == 1
    assert "hunter2" not in found[0]
    assert found[0].startswith("t.yaml:6: session.secrets")


# --- warnings ------------------------------------------------------------------------------


def test_short_secret_is_a_warning_without_the_secret() -> None:
    warnings = load(BASE, env={"SECRET": "short-secret"})
    assert warnings == (
        "t.yaml:6: session.secrets[0]: the secret is shorter than 32 "
        "characters; use a long random one (openssl rand -base64 32)",
    )


def test_max_age_longer_than_absolute_max_age_is_a_warning() -> None:
    text = edit("absolute_max_age: 12h", "absolute_max_age: 1h")
    assert load(text) == (
        "t.yaml:8: policies.admin.max_age: 2h is longer than "
        "absolute_max_age (1h); the hard cap ends every session first",
    )


@pytest.mark.parametrize(
    ("login_route", "why"),
    [
        pytest.param("", "no route matches it", id="no-route"),
        pytest.param(
            "- { name: login, path: /loginx, public: true }",
            "no route matches it",
            id="prefix-without-segment-boundary",
        ),
        pytest.param(
            "- { name: login, path: /login }",
            "routes[0] (login, /login) is not public",
            id="route-not-public",
        ),
    ],
)
def test_login_page_that_is_not_public_is_a_warning(login_route: str, why: str) -> None:
    text = edit("- { name: login, path: /login, public: true }", login_route)
    text = edit("- { name: app, path: / }\n", "", text)
    assert load(text) == (
        f"t.yaml:1: login.url: /login: {why}; signed-out users would be "
        "redirected in a loop (add a route with public: true for the login "
        "page)",
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/Login", id="case-insensitive"),
        pytest.param("/login/step-2?next=1", id="below-the-prefix-with-query"),
        pytest.param("https://auth.example.com/login", id="absolute-url-not-checked"),
    ],
)
def test_login_page_matched_by_a_public_route_is_clean(url: str) -> None:
    assert load(BASE + f"login: {{ url: '{url}' }}\n") == ()


def test_login_warning_points_at_login_url() -> None:
    text = BASE + "login:\n  url: /signin\n"
    assert load(text) == (
        "t.yaml:16: login.url: /signin: routes[2] (app, /) is not public; "
        "signed-out users would be redirected in a loop (add a route with "
        "public: true for the login page)",
    )


def test_trusting_every_peer_is_a_warning() -> None:
    assert load(BASE + "trusted_proxies: [0.0.0.0/0]\n") == (
        "t.yaml:15: trusted_proxies[0]: 0.0.0.0/0 trusts every client to set X-Forwarded-* headers",
    )


# --- what a valid file becomes -------------------------------------------------------------


def test_defaults_follow_the_flavor_and_design() -> None:
    config = load_config_text(edit("nextauth-v4", "authjs-v5"), "t.yaml", env=ENV)
    assert config.session.cookie == "authjs.session-token"
    assert (config.session.role_claim, config.session.clock_skew) == ("role", 15)
    assert (config.login.url, config.login.callback_param) == ("/login", "callbackUrl")
    assert (config.limits.max_header_bytes, config.limits.max_cookie_chunks) == (32768, 8)
    assert (config.timeouts.connect, config.timeouts.upstream) == (5.0, 60.0)
    assert (config.gateway_prefix, config.preflight, config.preserve_host) == (
        "/_gateway",
        "pass",
        True,
    )
    assert (config.log.level, config.log.format) == ("info", "json")
    assert (config.public_url, config.identity_headers, config.trusted_proxies) == (None, (), ())


def test_routes_keep_order_and_resolve_upstreams() -> None:
    text = edit(
        "- { name: app, path: / }",
        "- { name: api, path: /API/v1//, unauthenticated: 401 }\n"
        "  - { name: app, path: /, upstream: 'https://[::1]', unauthenticated: '401' }",
    )
    config = load_config_text(text.replace("/API/v1//", "/API/v1/"), "t.yaml", env=ENV)
    api, app = config.routes[2], config.routes[3]
    assert (api.path, api.prefix, api.unauthenticated) == ("/API/v1/", "/api/v1", 401)
    assert api.upstream == Upstream("http", "127.0.0.1", 3000)
    assert app.upstream == Upstream("https", "::1", 443)
    assert app.unauthenticated == 401
    assert config.upstreams == (api.upstream, app.upstream)


def test_optional_sections_are_typed() -> None:
    text = (
        BASE
        + """\
public_url: https://App.Example.com:443/
identity_headers: { X-User: sub, X-Roles: app_metadata.roles }
trusted_proxies: [10.1.2.3/8, "::1"]
preflight: authenticate
limits: { max_header_bytes: 16384, decode_cache_entries: 10, max_cookie_chunks: 4 }
timeouts: { connect: 1, upstream: 2m, client_header: 3s, shutdown_grace: 1m30s }
gateway_prefix: /_gw
log: { level: debug, format: text }
"""
    )
    config = load_config_text(text, "t.yaml", env=ENV)
    assert config.public_url == "https://app.example.com"
    assert config.identity_headers == (("X-User", "sub"), ("X-Roles", "app_metadata.roles"))
    assert config.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert config.preflight == "authenticate"
    assert (config.limits.decode_cache_entries, config.limits.max_cookie_chunks) == (10, 4)
    assert (config.timeouts.connect, config.timeouts.upstream) == (1.0, 120.0)
    assert config.timeouts.shutdown_grace == 90.0
    assert (config.gateway_prefix, config.log.level, config.log.format) == ("/_gw", "debug", "text")


def test_null_values_mean_the_default() -> None:
    config = load_config_text(BASE + "login:\nlimits: ~\nidentity_headers:\n", "t.yaml", env=ENV)
    assert config.login.url == "/login"
    assert config.limits.max_cookie_chunks == 8
    assert config.identity_headers == ()


# --- files ---------------------------------------------------------------------------------


def test_load_config_records_source_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BASE)
    config = load_config(path, env=ENV)
    assert config.source == str(path)
    assert config.sha256 == hashlib.sha256(BASE.encode()).hexdigest()


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == (f"{path}:1: cannot read the file: No such file or directory",)


def test_directory_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.errors == (f"{tmp_path}:1: cannot read the file: Is a directory",)


def test_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"listen: 1\nname: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors == (f"{path}:2: the file is not UTF-8 text",)


def test_the_demo_config_is_clean() -> None:
    config = load_config(CONFIG_DIR / "gateway.yaml", env={})
    assert config.warnings == ()
    assert config.demo is True
    assert config.session.secrets == (DEMO_SECRET,)
    names = [route.name for route in config.routes]
    assert names == ["session", "nextauth", "login", "admin", "billing", "api", "app"]
    assert config.policy("admin") == Policy("admin", 120, 20, 600)
    assert config.policy("general") == Policy("general", 300, 60, None)


def test_the_example_config_is_clean() -> None:
    config = load_config(CONFIG_DIR / "example.yaml", env={"NEXTAUTH_SECRET": "x" * 40})
    assert config.warnings == ()
    assert config.demo is False
    assert config.listen == Address("0.0.0.0", 8080)
    assert config.public_url == "https://app.example.com"
    assert config.policy("admin") == Policy("admin", 7200, 3600, 43200)


def test_the_example_config_needs_its_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIG_DIR / "example.yaml", env={})
    assert [line.split(": ", 1)[1] for line in caught.value.errors] == [
        "session.secrets[0]: environment variable NEXTAUTH_SECRET is not set"
    ]


def test_config_error_survives_pickling() -> None:
    error = ConfigError(["a:1: x: bad", "a:2: y: bad"], ["a:3: z: odd"])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.errors, copy.warnings, str(copy)) == (error.errors, error.warnings, str(error))


def test_keys_with_control_characters_stay_on_one_line() -> None:
    assert errors(BASE + '"bad\\nkey": 1\n') == ['t.yaml:15: "bad\\nkey": unknown key']
