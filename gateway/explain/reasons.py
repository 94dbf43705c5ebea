"""What each stable reason id of a decision means, in words, for ``gateway explain``."""

from __future__ import annotations

from collections.abc import Mapping

NOT_FOUND, BAD_PATH = "not_found", "bad_path"  # outcomes decided before the session is read


# What each stable reason id means, for the operator. (kind, reason) first, then reason.
REASONS: Mapping[tuple[str | None, str], str] = {
    (None, "no_cookie"): "no session cookie in the value given",
    (None, "duplicate"): "a session cookie name appears twice",
    (None, "bad index"): "a chunk suffix is not a plain index",
    (None, "empty"): "a session cookie is empty",
    (None, "bare name plus chunks"): "the bare name and chunks are both present",
    (None, "too many"): "more chunks than limits.max_cookie_chunks",
    (None, "gap"): "the chunks are not contiguous from .0",
    (None, "malformed"): "not a compact JWE (five dot-separated parts)",
    (None, "header"): "JWE header refused (only alg dir with the flavor's enc; no zip, no crit)",
    (None, "decrypt"): "no configured secret decrypts it (another secret or cookie name, "
    "or tampered)",
    (None, "payload"): "decrypted, but the payload is not a JSON object",
    (None, "claims"): "iat or exp is missing or not a number",
    (None, "no_sub"): "no sub claim: not a session (NextAuth's state, PKCE and CSRF cookies "
    "look like this)",
    ("invalid", "auth_time"): "auth_time is not a number",
    (None, "auth_time_future"): "auth_time is later than now + clock_skew",
    ("invalid", "sid"): "sid is not a session id (16 to 128 base64url characters)",
    (None, "iat_future"): "iat is later than now + clock_skew",
    (None, "exp"): "exp + clock_skew has passed",
    (None, "idle"): "not renewed within max_age (idle too long)",
    (None, "absolute"): "signed in longer ago than absolute_max_age (hard cap)",
    (None, "role"): "none of the user's roles is allowed on this route",
    (None, "update_age"): "older than update_age: renewed on this response",
    ("refreshed", "auth_time"): "auth_time missing where it is needed (absolute_max_age, or a "
    "route with max_auth_age): renewed to add it",
    ("refreshed", "sid"): "sid missing where it is needed: renewed to add it",
    (None, "auth_age"): "signed in longer ago than the route's max_auth_age: sign in again "
    "(step-up)",
    (None, "passive"): "valid; due for renewal, but the route is passive (activity: false), "
    "so the idle clock waits for the next active request",
    (None, "old_secret"): "decrypted by an old secret: renewed under the current one",
    (None, "rekey"): "decrypted by an old secret on a passive route: re-encrypted under the "
    "current one with the same iat and exp (the idle clock kept)",
    (None, "valid"): "valid",
    (None, "no_route"): "no route matches this path",
}


def meaning(kind: str | None, reason: str) -> str:
    """What a decision's reason id means, in words."""
    return REASONS.get((kind, reason)) or REASONS.get((None, reason)) or reason
