"""Loopback ports for servers a test starts, chosen by the kernel."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1 (nothing listens on it after either:
    a test also uses it as the address of an upstream that refuses connections)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: all are held open while choosing, so none repeats."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
