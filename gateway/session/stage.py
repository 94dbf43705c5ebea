"""The session cookie stage: read it off a request, write renewals and deletions.

Joins :mod:`gateway.session.cookies` (names, chunks, ``Set-Cookie`` strings),
:mod:`gateway.session.token` (JWE) and :mod:`gateway.session.cache` (the decode cache) into
the three things the pipeline asks: what session does this request carry, what
``Set-Cookie`` renews it, what ``Set-Cookie`` removes it. It also checks a session cookie the
app itself set on a response (the app's cookie wins over a renewal; :mod:`gateway.reissue`
decides what of it the gateway rewrites).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.config import Limits, SessionSettings
from gateway.session.cache import DecodeCache
from gateway.session.cookies import (
    CHUNK_SIZE,
    SessionCookie,
    delete_session,
    read_session,
    set_session,
)
from gateway.session.token import InvalidToken, SessionCodec

Pairs = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Session:
    """A session cookie that decrypted. ``cookie_name`` is the base name as read (with
    ``__Secure-`` when that variant was the session); a renewal is written under it."""

    claims: Mapping[str, Any]
    cookie_name: str
    secret_index: int = 0


@dataclass(frozen=True, slots=True)
class SessionRead:
    """What the request carried: a session, a reason it is invalid, or nothing."""

    session: Session | None = None
    problem: str | None = None  # set: the cookie is there but is not a valid session


@dataclass(frozen=True, slots=True)
class AppCookie:
    """One ``Set-Cookie`` of the session family, as the upstream app wrote it."""

    name: str
    value: str
    expires: int | None
    deletes: bool


class SessionStage:
    """Reads and writes the session cookie for one config (rebuilt on reload)."""

    def __init__(self, settings: SessionSettings, limits: Limits) -> None:
        self.settings = settings
        # A token can fill every chunk the reader accepts, and no more.
        self.codec = SessionCodec(
            settings.flavor, settings.secrets, max_token_chars=limits.max_cookie_chunks * 4096
        )
        self.cache = DecodeCache(self.codec, limits.decode_cache_entries)
        self.max_chunks = limits.max_cookie_chunks
        self.chunk_size = CHUNK_SIZE[settings.flavor]
        base = re.escape(settings.cookie)
        self._family = re.compile(rf"(?:__Secure-)?{base}(?:\.\d+)?")

    def read(self, pairs: Pairs) -> tuple[SessionCookie, SessionRead]:
        found = read_session(pairs, self.settings.cookie, self.max_chunks)
        if found.name is None:
            return found, SessionRead()
        if found.value is None:
            return found, SessionRead(problem=found.problem or "chunks")
        try:
            decoded = self.cache.decode(found.value, found.name)
        except InvalidToken as exc:
            return found, SessionRead(problem=exc.reason)
        return found, SessionRead(Session(decoded.claims, found.name, decoded.secret_index))

    def renew(
        self, found: SessionCookie, name: str, claims: Mapping[str, Any], secure: bool
    ) -> tuple[str, list[str]]:
        """The renewed token for ``claims`` (as the policy made them: ``iat`` is now) under
        the cookie ``name``, and its ``Set-Cookie`` headers (stale chunks deleted)."""
        now, exp = int(claims["iat"]), int(claims["exp"])
        token = self.codec.encode(claims, name, now=now, max_age=exp - now)
        return token, self._write(name, token, exp, secure, found.present)

    def delete(self, found: SessionCookie, secure: bool) -> list[str]:
        return self.delete_names(found.present, secure)

    def delete_names(self, names: Sequence[str], secure: bool) -> list[str]:
        return delete_session(names, secure=secure, domain=self.settings.cookie_domain)

    def chunks(self, name: str, token: str) -> list[tuple[str, str]]:
        """The (name, value) pairs a browser would send for ``token`` under ``name``."""
        size = self.chunk_size
        if len(token) <= size:
            return [(name, token)]
        return [
            (f"{name}.{i}", token[at : at + size])
            for i, at in enumerate(range(0, len(token), size))
        ]

    def _write(
        self, name: str, token: str, expires: int, secure: bool, present: Sequence[str]
    ) -> list[str]:
        return set_session(
            name,
            token,
            expires=expires,
            secure=secure,
            domain=self.settings.cookie_domain,
            chunk_size=self.chunk_size,
            present=present,
        )

    def app_cookies(self, set_cookies: Sequence[str]) -> list[AppCookie]:
        """The session-family cookies among an upstream response's ``Set-Cookie`` values."""
        found = []
        for header in set_cookies:
            cookie = _parse_set_cookie(header)
            if cookie is not None and self._family.fullmatch(cookie.name):
                found.append(cookie)
        return found

    def read_app(self, live: Sequence[AppCookie]) -> tuple[str, Mapping[str, Any]] | None:
        """The base name and claims of the session the app's live cookies write (its chunks
        joined in order), or None when they do not decrypt with our secrets."""
        name = _base_name(live[0].name)
        token = "".join(c.value for c in sorted(live, key=lambda c: _index(c.name)))
        try:
            return name, self.codec.decode(token, name).claims
        except InvalidToken:
            return None

    def rewrite(
        self,
        name: str,
        claims: Mapping[str, Any],
        expires: int,
        secure: bool,
        present: Sequence[str],
    ) -> list[str]:
        """``Set-Cookie`` headers writing ``claims`` exactly as given under ``name``, in the
        flavor's chunk layout, deleting what ``present`` names and the new layout does not
        reuse."""
        token = self.codec.seal(claims, name)
        return self._write(name, token, expires, secure, present)


def _base_name(name: str) -> str:
    head, _, tail = name.rpartition(".")
    return head if tail.isdigit() and head else name


def _index(name: str) -> int:
    _, _, tail = name.rpartition(".")
    return int(tail) if tail.isdigit() else 0


def _parse_set_cookie(header: str) -> AppCookie | None:
    first, *attributes = header.split(";")
    name, eq, value = first.partition("=")
    if not eq:
        return None
    expires: int | None = None
    deletes = not value.strip()
    for attribute in attributes:
        key, _, arg = attribute.strip().partition("=")
        key = key.lower()
        if key == "max-age":
            deletes = deletes or (arg.strip().lstrip("-").isdigit() and int(arg) <= 0)
        elif key == "expires":
            expires = _http_date(arg)
    return AppCookie(name.strip(), value.strip(), expires, deletes)


def _http_date(text: str) -> int | None:
    try:
        return int(email.utils.parsedate_to_datetime(text.strip()).timestamp())
    except (TypeError, ValueError, IndexError):
        return None
