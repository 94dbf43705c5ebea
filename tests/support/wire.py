"""HTTP/1.1 written and read by hand, for requests a client library would refuse to send or
would normalise first (``/admin/..%2f``, ``X_Auth_Request_User``, two ``Cookie`` lines, a raw
tab in the target). Every read has a deadline: a hang is a failure, never a stuck suite."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

# Every socket read of these helpers ends by then: a gateway that hangs fails the test.
DEADLINE = 5.0

Headers = Sequence[tuple[str, str]]


@dataclass
class RawResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def set_cookies(self) -> list[str]:
        return list(self.headers.getall("Set-Cookie", ()))

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(
    method: str,
    target: str | bytes,
    headers: Headers,
    body: bytes = b"",
    raw_lines: Sequence[bytes] = (),
) -> bytes:
    """An HTTP/1.1 request written exactly as given: ``target`` as bytes is sent verbatim, and
    each of ``raw_lines`` is put among the header lines as it is (no ": " added)."""
    raw_target = target if isinstance(target, bytes) else target.encode("utf-8", "surrogateescape")
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", *raw_lines]
    lines += [f"{name}: {value}".encode("utf-8", "surrogateescape") for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parse_response(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers: CIMultiDict[str] = CIMultiDict()
    for line in lines:
        name, _, value = line.partition(":")
        headers.add(name.strip(), value.strip())
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return RawResponse(int(status_line.split(" ")[1]), CIMultiDictProxy(headers), body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def exchange(port: int, raw: bytes, *, timeout: float = DEADLINE) -> RawResponse:
    """Send ``raw`` (which must ask for ``Connection: close``) and read the answer to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):  # socket.timeout on a hang: the test fails
            chunks.append(chunk)
    return parse_response(b"".join(chunks))


async def exchange_async(port: int, raw: bytes, *, timeout: float = DEADLINE) -> RawResponse:
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            data = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    return parse_response(data)
