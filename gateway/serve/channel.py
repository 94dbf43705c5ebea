"""The channel between the supervisor and one of its workers: a socket pair carrying
length-prefixed pickles (a validated :class:`~gateway.config.GatewayConfig`, or a word).

Trust assumption: both ends are processes of the same gateway, started by the supervisor
itself with the socket inherited; nothing else can reach it, so unpickling is safe here and
nowhere else.
"""

from __future__ import annotations

import asyncio
import pickle
import struct

HURRY = "hurry"  # the supervisor got a second SIGTERM/SIGINT: stop waiting


_LENGTH = struct.Struct("!I")


async def send(writer: asyncio.StreamWriter, message: object) -> None:
    """One message on a channel between the supervisor and its own worker (both trusted)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_LENGTH.pack(len(data)) + data)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> object | None:
    """The next message, or None once the other side has gone."""
    try:
        (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
        message: object = pickle.loads(await reader.readexactly(length))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return message
