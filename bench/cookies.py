"""Session cookies for the benchmark, minted with the gateway's own codec.

The secret is public and only ever used on loopback. The naive proxy reads the same cookies
with jwcrypto, so a minting mistake shows up as 302s in the sanity probe, never as numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.session import SessionCodec

SECRET = "bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz"
COOKIE = "next-auth.session-token"
MAX_AGE = 86_400  # the bench config's `general` policy: max_age 1d, update_age 6h
FRESH_AGE = 60  # written a minute ago: well inside update_age, no renewal
DUE_AGE = 7 * 3600  # older than update_age (6h): every request renews it


def claims(i: int) -> dict[str, Any]:
    """What NextAuth's default jwt callback keeps for a user (plus a role)."""
    return {
        "name": f"Bench User {i}",
        "email": f"user{i}@example.com",
        "picture": f"https://avatars.example.com/u/{i}.png",
        "sub": f"user-{i:08d}",
        "role": "user",
    }


def mint(codec: SessionCodec, i: int, now: int, age: int) -> str:
    return codec.encode(claims(i), COOKIE, now=now - age, max_age=MAX_AGE)


def write_pool(path: Path, count: int, *, now: int, age: int = FRESH_AGE) -> Path:
    """``count`` distinct valid cookie values, one a line."""
    codec = SessionCodec("nextauth-v4", [SECRET])
    with path.open("w") as out:
        for i in range(count):
            out.write(mint(codec, i, now, age) + "\n")
    return path
