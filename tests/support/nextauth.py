"""The real next-auth (v4) and @auth/core (v5), driven through tests/interop/nextauth.mjs: one
``node`` process per call (the tests/interop fixture ``nextauth`` checks they are installed)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from gateway.config import Flavor

INTEROP = Path(__file__).resolve().parents[1] / "interop"
CLI = INTEROP / "nextauth.mjs"
PACKAGES = ("next-auth", "@auth/core")
SHORT: dict[Flavor, str] = {"nextauth-v4": "v4", "authjs-v5": "v5"}


class NodeError(Exception):
    """nextauth.mjs exited non-zero; the message is the package's error (never a token)."""


class NextAuth:
    """Calls the real packages, one `node nextauth.mjs` process per call."""

    Error = NodeError  # what a failing call raises (tests reach it through the fixture)

    def __init__(self, node: str) -> None:
        self._node = node

    def encode(
        self,
        flavor: Flavor,
        claims: dict[str, Any],
        *,
        secrets: list[str],
        salt: str | None = None,
        max_age: int | None = None,
        iat: int | None = None,
    ) -> str:
        args = self._jwt_args(flavor, secrets, salt)
        args += _opt("--max-age", max_age) + _opt("--iat", iat)
        return self._run("encode", args, json.dumps(claims)).strip()

    def decode(
        self,
        flavor: Flavor,
        token: str,
        *,
        secrets: list[str],
        salt: str | None = None,
        now: int | None = None,
    ) -> dict[str, Any]:
        args = self._jwt_args(flavor, secrets, salt) + _opt("--now", now)
        result: dict[str, Any] = json.loads(self._run("decode", args, token))
        return result

    def chunk(
        self,
        flavor: Flavor,
        name: str,
        value: str,
        *,
        cookie: str = "",
        secure: bool = False,
        domain: str | None = None,
        expires: int | None = None,
    ) -> list[str]:
        """SessionStore(name, request Cookie header).chunk(value, {expires}) as Set-Cookie."""
        args = self._store_args(flavor, name, secure, domain) + _opt("--expires", expires)
        result: list[str] = json.loads(
            self._run("chunk", args, json.dumps({"value": value, "cookie": cookie}))
        )
        return result

    def clean(
        self,
        flavor: Flavor,
        name: str,
        cookie: str,
        *,
        secure: bool = False,
        domain: str | None = None,
    ) -> list[str]:
        """SessionStore(name, request Cookie header).clean() as Set-Cookie values."""
        args = self._store_args(flavor, name, secure, domain)
        result: list[str] = json.loads(self._run("clean", args, json.dumps({"cookie": cookie})))
        return result

    def read(self, flavor: Flavor, name: str, cookie: str) -> str:
        """The value SessionStore joins from a request Cookie header."""
        output = self._run("read", self._store_args(flavor, name, False, None), cookie)
        value: str = json.loads(output)["value"]
        return value

    @staticmethod
    def _jwt_args(flavor: Flavor, secrets: list[str], salt: str | None) -> list[str]:
        args = ["--flavor", SHORT[flavor]]
        for secret in secrets:
            args += ["--secret", secret]
        return args + _opt("--salt", salt)

    @staticmethod
    def _store_args(flavor: Flavor, name: str, secure: bool, domain: str | None) -> list[str]:
        secure_flag = ["--secure"] if secure else []
        return ["--flavor", SHORT[flavor], "--name", name, *_opt("--domain", domain), *secure_flag]

    def _run(self, command: str, args: list[str], stdin: str) -> str:
        done = subprocess.run(
            [self._node, str(CLI), command, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise NodeError(done.stderr.strip())
        return done.stdout


def _opt(flag: str, value: object) -> list[str]:
    return [] if value is None else [flag, str(value)]
