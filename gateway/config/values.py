"""Validators for single config values: text in, typed value out.

Each raises :class:`ValueError` with a phrase that reads after the value as written
(``0.0.0.0 is not host:port ...``); the loader adds the file, line and key path.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from gateway.config.model import Address, IPNetwork, Upstream

# RFC 9110 `token`: header names, and cookie names (RFC 6265 uses the same set).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Underscores are not RFC 1123, but Docker and Compose service names use them.
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_CHUNK_SUFFIX = re.compile(r".*\.[0-9]+")
_ROUTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_QUERY_NAME = re.compile(r"[A-Za-z0-9._~-]+")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")  # whitespace, controls and `\` (read as `/`)
DEFAULT_PORTS = {"http": 80, "https": 443}

# Metric label values the gateway uses itself (README.md, "Metrics"): a route or policy with
# one of these names would be indistinguishable from "nothing matched" on a dashboard.
RESERVED_LABELS = frozenset({"none", "_gateway"})

# Headers that carry the transport or the forwarding chain: an identity header with one of
# these names would corrupt the request, or be removed from every request as a client copy.
MANAGED_HEADERS = frozenset(
    {
        "host",
        "cookie",
        "set-cookie",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-real-ip",
        "x-request-id",
    }
)


def address(text: str) -> Address:
    """``host:port`` or ``[v6]:port`` to listen on."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError("is not host:port (e.g. 127.0.0.1:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = _ipv6(host[1:-1])
    elif ":" in host:
        raise ValueError("needs brackets around an IPv6 address ([::1]:8080)")
    else:
        host = hostname(host)
    return Address(host, _port(port))


def _ipv6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise ValueError("has an invalid IPv6 address") from None


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("has an invalid port (1-65535)")
    return int(text)


def hostname(text: str) -> str:
    """An IPv4 address or a DNS name, lower-cased."""
    host = text.lower()
    if not host.isascii() or len(host) > 253:
        raise ValueError("is not a valid host name")
    if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise ValueError("is not a valid host name")
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError("is not a valid IPv4 address") from None
    return host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_http_url(text: str) -> SplitResult:
    """An absolute http(s) URL with a host and no credentials."""
    if _UNSAFE.search(text):
        raise ValueError("contains whitespace, a control character or a backslash")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.netloc:
        raise ValueError("is not an http:// or https:// URL")
    if "@" in parts.netloc:
        raise ValueError("must not carry credentials (user:password@)")
    return parts


def _origin_parts(text: str) -> tuple[str, str, int, bool]:
    """(scheme, host, port, port written) of an origin URL: no path, query or fragment."""
    parts = _split_http_url(text)
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
        raise ValueError("must be scheme://host[:port] only, without a path or query")
    raw_host = parts.hostname or ""
    host = _ipv6(raw_host) if ":" in raw_host else hostname(raw_host)
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has an invalid port (1-65535)") from None
    scheme = parts.scheme.lower()
    if port == 0:
        raise ValueError("has an invalid port (1-65535)")
    return scheme, host, port or DEFAULT_PORTS[scheme], port is not None


def upstream(text: str) -> Upstream:
    """``http(s)://host[:port]``; the port defaults to 80 or 443."""
    scheme, host, port, _ = _origin_parts(text)
    return Upstream("https" if scheme == "https" else "http", host, port)


def public_url(text: str) -> str:
    """An origin, stored as ``scheme://host[:port]`` (no default port, no trailing slash)."""
    scheme, host, port, _ = _origin_parts(text)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port == DEFAULT_PORTS[scheme] else f"{scheme}://{shown}:{port}"


def login_url(text: str) -> str:
    """A path on this site (``/login``) or an absolute http(s) URL."""
    if text.startswith("/"):
        if text.startswith("//") or _UNSAFE.search(text):
            raise ValueError("must be a path such as /login (not //, no spaces or backslashes)")
        return text
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("must be a path starting with / or an http(s) URL")
    _split_http_url(text)
    return text


def cookie_name(text: str) -> str:
    """A session cookie base name: no ``__Secure-``/``__Host-`` prefix, no ``.N`` chunk."""
    if not _TOKEN.fullmatch(text):
        raise ValueError("is not a valid cookie name")
    if text.lower().startswith(("__secure-", "__host-")):
        raise ValueError(
            "must be the base name without __Secure-/__Host- "
            "(the __Secure- variant is read and written automatically)"
        )
    if _CHUNK_SUFFIX.fullmatch(text):
        raise ValueError("must be the base name without a chunk suffix (.0, .1, ...)")
    return text


def cookie_domain(text: str) -> str:
    """A cookie ``Domain``: a host name, optionally with a leading dot."""
    hostname(text.removeprefix("."))
    return text


def claim_path(text: str) -> str:
    """A dotted path into the token's claims (``role``, ``app_metadata.roles``)."""
    segments = text.split(".")
    if not all(segments) or any(_UNSAFE.search(segment) for segment in segments):
        raise ValueError("is not a claim path (dotted names such as role or app.roles)")
    return text


def header_name(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise ValueError("is not a valid HTTP header name")
    if fold_header(text) in MANAGED_HEADERS:
        raise ValueError("is a header the gateway or the transport manages; choose another name")
    return text


def fold_header(name: str) -> str:
    """The name as backends may read it: any case, ``_`` the same as ``-``."""
    return name.lower().replace("_", "-")


def query_param(text: str) -> str:
    if not _QUERY_NAME.fullmatch(text):
        raise ValueError("is not a query parameter name (letters, digits, ._~-)")
    return text


def route_name(text: str) -> str:
    if not _ROUTE_NAME.fullmatch(text):
        raise ValueError("is not a route name (letters, digits, _.-; 64 at most)")
    return _unreserved(text)


def policy_name(text: str) -> str:
    if not text or text != text.strip() or not text.isprintable():
        raise ValueError("is not a policy name (printable, no surrounding spaces)")
    return _unreserved(text)


def _unreserved(name: str) -> str:
    if name in RESERVED_LABELS:
        raise ValueError("is reserved for the gateway's own metrics; choose another name")
    return name


def path_prefix(text: str) -> str:
    """A route path: absolute, already normalised (routes match the decoded, normalised path,
    so anything else could never match)."""
    if not text.startswith("/"):
        raise ValueError("must start with /")
    if _UNSAFE.search(text) or any(c in text for c in "?#%"):
        raise ValueError("must be a plain decoded path (no spaces, ?, #, % or backslash)")
    if "//" in text or any(seg in (".", "..") for seg in text.split("/")):
        raise ValueError("must be a normalised path (no //, . or .. segments)")
    return text


def gateway_prefix(text: str) -> str:
    path_prefix(text)
    if text.endswith("/"):
        raise ValueError("must not end with / (e.g. /_gateway)")
    return text


def auth_path(text: str) -> str:
    """The app's auth routes (NextAuth's ``/api/auth``, an Auth.js ``basePath``)."""
    path_prefix(text)
    if text == "/" or text.endswith("/"):
        raise ValueError("must not end with / (e.g. /api/auth)")
    return text


def prefix_of(path: str) -> str:
    """The matching key of a route path: lower-cased, without trailing slashes."""
    return path.lower().rstrip("/")


def covers(prefix: str, path: str) -> bool:
    """Whether route prefix ``prefix`` matches ``path`` on segment boundaries."""
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("is not an IP address or CIDR network (e.g. 10.0.0.0/8)") from None
