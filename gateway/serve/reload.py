"""Hot reload: on SIGHUP and when the config file changes, validate the whole new file, then
hand it over in one step; a bad file changes nothing.

Change detection polls ``stat`` once a second (the stdlib has no inotify, and a poll sees
every way a file is replaced): the resolved path catches Kubernetes' ConfigMap swap (the
config is a symlink to ``..data/gateway.yaml`` and ``..data`` is re-pointed at a new
timestamped directory), the inode catches an editor's atomic rename, and size, mtime and
ctime catch a write in place. A change is acted on once the file has held still for
:data:`SETTLE` seconds, so a half-written file is not reported as broken.

A file rewritten with the same bytes is not a reload (nothing would change; the decode cache
stays warm). SIGHUP always re-validates and counts, so an operator gets an answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.observe import ConfigMetrics

log = logging.getLogger("gateway.reload")

POLL_INTERVAL = 1.0
SETTLE = 0.25

Signature = tuple[str, int, int, int, int, int]
Apply = Callable[[GatewayConfig], Awaitable[None]]


def file_signature(path: str) -> Signature | None:
    """What changes whenever the file's content may have: ``None`` when it cannot be read."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def keep_bound_settings(new: GatewayConfig, running: GatewayConfig) -> GatewayConfig:
    """The new config with what only a restart can change kept as running: the sockets the
    process listens on, and the header limit and header deadline its HTTP server was built
    with (each change logged)."""
    limits, timeouts = running.limits, running.timeouts
    kept = replace(
        new,
        listen=running.listen,
        metrics_listen=running.metrics_listen,
        limits=replace(new.limits, max_header_bytes=limits.max_header_bytes),
        timeouts=replace(new.timeouts, client_header=timeouts.client_header),
    )
    for key, old, wanted in (
        ("listen", running.listen, new.listen),
        ("metrics_listen", running.metrics_listen, new.metrics_listen),
        ("limits.max_header_bytes", limits.max_header_bytes, new.limits.max_header_bytes),
        (
            "timeouts.client_header",
            f"{timeouts.client_header:g}s",
            f"{new.timeouts.client_header:g}s",
        ),
    ):
        if old != wanted:
            log.warning(
                "%s: %s: changing %s to %s needs a restart; keeping %s",
                new.source,
                key,
                old,
                wanted,
                old,
            )
    return kept


def _check_demo_unchanged(new: GatewayConfig, running: GatewayConfig) -> None:
    """``demo: true`` allows the public demo secret because the loader checked that every
    address is loopback; a reload keeps the running ``listen`` and ``metrics_listen``, so it
    must not turn the demo on under addresses that were never checked for it."""
    if new.demo and not running.demo:
        raise ConfigError(
            [
                f"{new.source}:1: demo: turning the demo on needs a restart (a reload keeps the "
                "addresses the process listens on, which the demo guard has not checked)"
            ]
        )


class Reloader:
    """Loads ``path`` again and, when it is valid and new, passes it to ``apply``."""

    def __init__(
        self,
        path: str,
        config: GatewayConfig,
        apply: Apply,
        metrics: ConfigMetrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path, self.config, self._apply = path, config, apply
        self._metrics, self._clock = metrics, clock
        # The file may have changed since ``config`` was read from it: then the first poll
        # must see a change.
        signature = file_signature(path)
        self._signature = signature if _sha256(path) == config.sha256 else None
        self._lock = asyncio.Lock()  # one reload at a time: SIGHUP during a file change

    async def reload(self, *, forced: bool) -> bool:
        """Validate and apply the file; True when it is in force. ``forced`` (SIGHUP) also
        counts a file whose bytes did not change."""
        async with self._lock:
            try:
                return await self._reload(forced)
            except Exception:  # a bug, not a bad file: keep serving and keep watching
                log.exception("%s: reload failed", self.path)
                self._metrics.reload_failed()
                return False

    async def _reload(self, forced: bool) -> bool:
        self._signature = file_signature(self.path)
        try:
            config = load_config(self.path)
            _check_demo_unchanged(config, self.config)
        except ConfigError as exc:
            self._failed(exc)
            return False
        if config.sha256 == self.config.sha256:
            log.log(
                logging.INFO if forced else logging.DEBUG,
                "%s: unchanged (sha256 %s)",
                self.path,
                config.sha256[:12],
            )
            if forced:
                self._metrics.reloaded(config.sha256, self._clock())
            return forced
        config = keep_bound_settings(config, self.config)
        await self._apply(config)
        self.config = config
        self._metrics.reloaded(config.sha256, self._clock())
        for warning in config.warnings:
            log.warning("%s", warning)
        log.info("%s: config reloaded (sha256 %s)", self.path, config.sha256[:12])
        return True

    def _failed(self, exc: ConfigError) -> None:
        self._metrics.reload_failed()
        log.error(
            "%s: reload refused, still serving sha256 %s:", self.path, self.config.sha256[:12]
        )
        for line in exc.errors:
            log.error("%s", line)

    async def watch(self, interval: float = POLL_INTERVAL, settle: float = SETTLE) -> None:
        """Poll the file until cancelled; reload when its signature changes and settles."""
        while True:
            await asyncio.sleep(interval)
            seen = file_signature(self.path)
            if seen == self._signature:
                continue
            while True:  # let a writer finish before reading
                await asyncio.sleep(settle)
                settled = file_signature(self.path)
                if settled == seen:
                    break
                seen = settled
            await self.reload(forced=False)
