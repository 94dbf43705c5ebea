"""The two reference proxies the gateway is measured against.

``bare``: the minimum any Python reverse proxy does, on stock aiohttp client + server: one
pooled keep-alive client session, request and response bodies streamed, hop-by-hop headers
removed both ways, no cookie jar, no decompression. No auth, no metrics, no access log.

``naive``: the bare proxy plus what a first attempt at auth looks like: decrypt the NextAuth v4
session cookie with jwcrypto on every request (the key derived once), 302 to /login when it
does not decrypt. Nothing more: no cache, no policy, no identity headers.

Run as ``python -m bench.proxy --mode bare|naive --port N --upstream http://127.0.0.1:M``;
the naive proxy reads the secret from ``BENCH_SECRET``.
"""

from __future__ import annotations

import argparse
import base64
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "next-auth.session-token"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
CLIENT = web.AppKey("client", aiohttp.ClientSession)


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    named = {t.strip().lower() for v in headers.getall("Connection", ()) for t in v.split(",")}
    return CIMultiDict(
        (k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP and k.lower() not in named
    )


def forwarder(upstream: str) -> Handler:
    async def forward(request: web.Request) -> web.StreamResponse:
        headers = end_to_end(request.headers)
        headers.popall("Content-Length", None)
        body = request.content.iter_any() if request.body_exists else None
        async with request.app[CLIENT].request(
            request.method,
            upstream + request.raw_path,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as answer:
            response = web.StreamResponse(
                status=answer.status, reason=answer.reason, headers=end_to_end(answer.headers)
            )
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    return forward


def v4_key(secret: str) -> JWK:
    info = b"NextAuth.js Generated Encryption Key"
    raw = HKDF(hashes.SHA256(), 32, salt=b"", info=info).derive(secret.encode())
    return JWK(kty="oct", k=base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def naive(forward: Handler, key: JWK) -> Handler:
    async def check(request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(COOKIE)
        try:
            jwe = JWE()
            jwe.allowed_algs = ["dir", "A256GCM"]
            jwe.deserialize(token or "", key=key)
        except Exception:
            raise web.HTTPFound("/login") from None
        return await forward(request)

    return check


async def client_session(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=4.0)
    app[CLIENT] = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
    )
    yield
    await app[CLIENT].close()


def build(mode: str, upstream: str, secret: str | None) -> web.Application:
    handler = forwarder(upstream.rstrip("/"))
    if mode == "naive":
        handler = naive(handler, v4_key(secret or ""))
    app = web.Application()
    app.cleanup_ctx.append(client_session)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["bare", "naive"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    app = build(args.mode, args.upstream, os.environ.get("BENCH_SECRET"))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
