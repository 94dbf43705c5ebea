"""Session tokens as the app writes them: NextAuth v4 / Auth.js v5 JWEs made with the
gateway's own codec (:class:`gateway.session.SessionCodec`), and read back with it.

The tests that check the codec itself (tests/unit/session, tests/interop, tests/hostile's
forged tokens) do not use this: they derive keys independently or drive the real packages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.config import DEFAULT_COOKIE, Flavor
from gateway.session import SessionCodec


def mint(
    claims: Mapping[str, Any],
    *,
    iat: float,
    secrets: Sequence[str],
    flavor: Flavor = "nextauth-v4",
    cookie: str | None = None,
    max_age: int = 86400,
) -> str:
    """A token holding ``claims``, written at ``iat`` (its ``iat``; ``exp`` is ``iat +
    max_age``) and sealed with the first of ``secrets``. ``cookie`` is the name it is written
    under (Auth.js v5 salts the key with it); the flavor's default name when None."""
    name = cookie or DEFAULT_COOKIE[flavor]
    return SessionCodec(flavor, secrets).encode(claims, name, now=int(iat), max_age=max_age)


def claims_of(
    token: str,
    *,
    secrets: Sequence[str],
    flavor: Flavor = "nextauth-v4",
    cookie: str | None = None,
) -> dict[str, Any]:
    """The claims of a token (the gateway's decode: raises InvalidToken when it would)."""
    name = cookie or DEFAULT_COOKIE[flavor]
    return SessionCodec(flavor, secrets).decode(token, name).claims
