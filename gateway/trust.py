"""The client as the gateway can prove it: address, scheme, host, request id.

Trust assumption: only a peer whose address is in ``trusted_proxies`` may tell the gateway
about the client, through ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Host``
(or the ``for=``, ``proto=`` and ``host=`` of ``Forwarded``) and ``X-Request-Id``; nothing
else is read (``X-Real-IP``, ``X-Forwarded-Port`` and the rest are only removed). From any
other peer these headers are ignored. Either way the caller removes every header in
:data:`FORWARDING_HEADERS` (in every spelling: :class:`gateway.inbound.InboundFilter`) and
sends :func:`forwarded_headers` instead, built from the gateway's view: from an untrusted
peer, the TCP peer is the client and the listener's scheme is the protocol.

The client address, from a trusted peer, is found by the standard right-to-left walk: the
chain is ``X-Forwarded-For`` (or, without it, the ``for=`` of ``Forwarded``) followed by the
peer. Walking from the right, each trusted address is a proxy we may believe about the entry
to its left; the first untrusted address is the client. Entries left of it were written by
the client and are never believed, nor forwarded: the upstream gets the verified part of the
chain only, so even an app that naively takes the leftmost entry gets the real client. An
entry that is not an IP address (``unknown``, an obfuscated ``_id``, garbage) stops the
walk, and the nearest proxy that named it stands as the client. If every entry is trusted,
the leftmost one is the client.

``X-Forwarded-Proto`` and ``X-Forwarded-Host`` from a trusted peer are read from their
rightmost entry, the one the nearest trusted proxy wrote, and used only if well-formed.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from multidict import MultiMapping

from gateway.config import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"  # RFC 7239's word for a node the gateway cannot name
# A chain longer than this is not a deployment, it is an attack on the walk's cost.
MAX_HOPS = 32

# Headers frameworks read to learn the client's address, scheme, host or path. A client
# setting any of them could make the app believe something the gateway never checked
# (X-Original-URL and X-Rewrite-URL even change the path Symfony and IIS route on).
FORWARDING_HEADERS: frozenset[str] = frozenset(
    {
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-forwarded-prefix",
        "x-forwarded-server",
        "x-forwarded-ssl",
        "x-forwarded-scheme",
        "x-forwarded-protocol",
        "x-url-scheme",
        "front-end-https",
        "x-real-ip",
        "x-client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-forwarded-for",
        "x-original-host",
        "x-original-url",
        "x-original-uri",
        "x-original-method",
        "x-forwarded-uri",
        "x-forwarded-method",
        "x-rewrite-url",
        "x-host",
        "x-request-id",
    }
)

_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
_PORT = re.compile(r":[0-9]{1,5}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_PROTOS = ("http", "https")


@dataclass(frozen=True, slots=True)
class ClientView:
    client_ip: str  # the trusted view of the client address, or "unknown"
    proto: str  # "http" | "https"
    host: str | None  # for X-Forwarded-Host only; NEVER used to build absolute URLs
    request_id: str | None  # a trusted proxy's X-Request-Id, validated
    trusted: bool  # whether the peer is a trusted proxy
    forwarded_for: tuple[str, ...] = ()  # the verified chain, client first, peer last


def client_view(
    peer_ip: str | None,
    headers: Mapping[str, str],
    *,
    trusted: Sequence[IPNetwork],
    scheme: str,
) -> ClientView:
    """The gateway's view of the client of one request (see the module docstring)."""
    own_proto = scheme.lower() if scheme.lower() in _PROTOS else "http"
    own_host = _valid_host(headers.get("Host"))
    peer, peer_trusted = _peer(peer_ip, tuple(trusted)) if peer_ip else (None, False)
    if peer is None or not peer_trusted:
        return _direct_view(_peer_text(peer) if peer else UNKNOWN, own_proto, own_host, False)
    for name in _TRUSTED_INPUTS:
        if name in headers:
            break
    else:  # a trusted peer that says nothing about a client: the peer is the client
        return _direct_view(_peer_text(peer), own_proto, own_host, True)
    chain = _walk(_claimed_hops(headers), peer, trusted)
    proto = _rightmost(headers, "X-Forwarded-Proto", _forwarded_param(headers, "proto"))
    host = _rightmost(headers, "X-Forwarded-Host", _forwarded_param(headers, "host"))
    request_id = headers.get("X-Request-Id")
    return ClientView(
        client_ip=chain[0],
        proto=proto.lower() if proto and proto.lower() in _PROTOS else own_proto,
        host=_valid_host(host) or own_host,
        request_id=request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None,
        trusted=True,
        forwarded_for=chain,
    )


@functools.lru_cache(maxsize=4096)
def _direct_view(ip: str, proto: str, host: str | None, trusted: bool) -> ClientView:
    """The view of a client that is the peer itself: the same few for most requests, and a
    frozen view can be shared (as can its forwarding headers, cached by view)."""
    return ClientView(ip, proto, host, None, trusted, (ip,))


@functools.lru_cache(maxsize=4096)
def forwarded_headers(view: ClientView) -> tuple[tuple[str, str], ...]:
    """The forwarding headers the upstream gets, all from ``view`` (never from the inbound
    ones: the view already holds every value worth forwarding, verified). X-Real-IP is set
    too, for apps written for nginx."""
    out = [
        ("X-Forwarded-For", ", ".join(view.forwarded_for or (view.client_ip,))),
        ("X-Forwarded-Proto", view.proto),
        ("X-Real-IP", view.client_ip),
    ]
    if view.host:
        out.append(("X-Forwarded-Host", view.host))
    if view.request_id:
        out.append(("X-Request-Id", view.request_id))
    return tuple(out)


def parse_ip(text: str) -> IPAddress | None:
    """An address from a peer or a header entry, or ``None`` for anything else.

    Accepts ``1.2.3.4``, ``1.2.3.4:80``, ``2001:db8::1``, ``[2001:db8::1]:80`` and quoted
    forms; IPv4-mapped IPv6 becomes IPv4 and a zone id is dropped, so one host has one text.
    """
    text = text.strip().strip('"')
    if text.startswith("["):
        text, close, port = text[1:].partition("]")
        if not close or (port and not _PORT.fullmatch(port)):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not _PORT.fullmatch(":" + port):
            return None
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.ipv4_mapped or ipaddress.IPv6Address(int(ip))
    return ip


# The headers a trusted peer may tell the gateway something with; none present (a direct
# client, a health check) means the peer is the whole chain.
_TRUSTED_INPUTS = (
    "X-Forwarded-For",
    "Forwarded",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Request-Id",
)


@functools.lru_cache(maxsize=4096)
def _peer_text(peer: IPAddress) -> str:
    return str(peer)


@functools.lru_cache(maxsize=4096)
def _peer(peer_ip: str, trusted: tuple[IPNetwork, ...]) -> tuple[IPAddress | None, bool]:
    peer = parse_ip(peer_ip)
    return peer, peer is not None and is_trusted(peer, trusted)


def is_trusted(ip: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    """Whether ``ip`` is in a trusted network; an IPv4 address also in its mapped form."""
    forms: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv4Address):
        forms.append(ipaddress.IPv6Address(0xFFFF00000000 | int(ip)))
    return any(form in net for form in forms for net in trusted)


def _walk(hops: list[str], peer: IPAddress, trusted: Sequence[IPNetwork]) -> tuple[str, ...]:
    chain = [str(peer)]
    for entry in reversed(hops[-MAX_HOPS:]):
        ip = parse_ip(entry)
        if ip is None:
            break
        chain.append(str(ip))
        if not is_trusted(ip, trusted):
            break
    return tuple(reversed(chain))


def _claimed_hops(headers: Mapping[str, str]) -> list[str]:
    xff = _entries(headers, "X-Forwarded-For")
    return xff if xff else _forwarded_param(headers, "for")


def _entries(headers: Mapping[str, str], name: str) -> list[str]:
    """Every comma-separated entry of every ``name`` header line, in order."""
    if isinstance(headers, MultiMapping):
        lines = list(headers.getall(name, []))
    else:
        lines = [headers[name]] if name in headers else []
    return [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]


def _forwarded_param(headers: Mapping[str, str], key: str) -> list[str]:
    """The ``key=`` value of each RFC 7239 element that has one, in order."""
    values = []
    for element in _entries(headers, "Forwarded"):
        for pair in element.split(";"):
            name, eq, value = pair.partition("=")
            if eq and name.strip().lower() == key:
                values.append(value.strip().strip('"'))
    return values


def _rightmost(headers: Mapping[str, str], name: str, fallback: list[str]) -> str | None:
    entries = _entries(headers, name) or fallback
    return entries[-1] if entries else None


@functools.lru_cache(maxsize=4096)
def _valid_host(host: str | None) -> str | None:
    return host if host and len(host) <= 255 and _HOST.fullmatch(host) else None
