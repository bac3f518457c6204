"""One process for every platform: adapters, the digest scheduler, and /healthz + /metrics, on one event loop.

SIGTERM or SIGINT starts a clean shutdown: stop accepting new events, let
in-flight replies finish (bounded), stop the scheduler, close the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Protocol, TextIO

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from .config import Settings
from .core.engine import redact
from .core.service import FactChecker, checker_for, open_store
from .core.store import StoreError
from .exitcodes import EXIT_CONFIG, EXIT_OK
from .observability import Metrics
from .scheduler import DigestScheduler, DigestService, Poster, test_clock

log = logging.getLogger("factbot.runtime")


class Adapter(Protocol):
    """A platform connection as the runtime drives it."""

    name: str

    def poster(self) -> Poster | None:
        """What the scheduler posts digests and corrections through (None: this adapter gets none)."""

    async def start(self) -> None:
        """Connect and begin handling events; return once running. Raise StartupError with a clear message."""

    async def stop(self) -> None:
        """Stop taking new events, finish in-flight work, disconnect."""

    def health(self) -> tuple[bool, str]:
        """(healthy, one-line reason) for /healthz."""


class StartupError(RuntimeError):
    """A platform could not start for a reason the operator can fix (missing or rejected token...)."""


class Runtime:
    def __init__(
        self,
        checker: FactChecker,
        adapters: list[Adapter],
        *,
        metrics: Metrics | None = None,
        host: str = "127.0.0.1",
        port: int | None = 9100,
        scheduler: bool = True,
        drain_seconds: float = 20.0,
        retention_days: int | None = None,
    ):
        self.checker = checker
        self.adapters = adapters
        self.metrics = metrics or Metrics()
        self.host, self.port = host, port
        self.drain_seconds = drain_seconds
        self.retention_days = retention_days  # None: no housekeeping from this runtime (tests)
        self._housekeeper: asyncio.Task | None = None
        self.flush_seconds = 2.0
        self._flusher: asyncio.Task | None = None
        self._clock_watch: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        posters = {a.name: p for a in adapters if (p := a.poster()) is not None}
        self._clock_problem = ""
        try:
            self.test_clock = test_clock()
        except ValueError as exc:
            self.test_clock, self._clock_problem = None, str(exc)
        service = (DigestService(checker.store, posters, clock=self.test_clock) if self.test_clock
                   else DigestService(checker.store, posters))
        service.observers.append(self.metrics.observe_digest)
        self.digests = DigestScheduler(service) if scheduler and posters else None
        if self.digests is not None:
            service.in_thread()  # the scheduler's queries and writes never hold the loop that acknowledges requests
        self._runner: web.AppRunner | None = None
        self._exposition = make_aiohttp_handler(self.metrics.registry)
        self.bound_port: int | None = None
        checker.observers.append(lambda m, r, s: self.metrics.observe_check(m.platform, r.decision.value, s))
        checker.watch_observers.append(lambda m, replied, s: self.metrics.observe_watch(m.platform, replied, s))
        checker.overload_observers.append(self.metrics.observe_turned_away)

    # -- health and metrics --------------------------------------------------------
    def health(self) -> tuple[bool, list[str]]:
        problems = []
        for adapter in self.adapters:
            ok, why = adapter.health()
            if not ok:
                problems.append(f"{adapter.name}: {why}")
        if self.digests is not None and not self.digests.scheduler.running and not self.stopping.is_set():
            problems.append("scheduler: not running")
        if self.checker.store.write_problem:  # answers go on; what they would record waits (Store.give_way)
            problems.append(f"database: {self.checker.store.write_problem}")
        if self.stopping.is_set():
            problems.append("shutting down")
        return not problems, problems

    async def _healthz(self, request: web.Request) -> web.Response:
        ok, problems = self.health()
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "\n".join(problems) + "\n")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        self.metrics.db_size.set(self.checker.store.size_bytes())
        self.metrics.claims.set(self.checker.store.count())
        return await self._exposition(request)  # prometheus_client's own: content negotiation, OpenMetrics, gzip

    def http_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        if self._clock_problem:
            raise StartupError(self._clock_problem)
        if self.port is not None:
            self._runner = web.AppRunner(self.http_app(), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:  # e.g. the port is taken by another factbot
                raise StartupError(f"cannot serve /healthz and /metrics on {self.host}:{self.port} "
                                   f"({exc.strerror or exc}): choose another with --metrics-port") from None
            self.bound_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            log.info("health and metrics on http://%s:%s", self.host, self.bound_port)
        for adapter in self.adapters:
            await adapter.start()
            log.info("%s adapter started", adapter.name)
        if self.digests is not None:
            self.digests.start()
        # Writes that gave way are retried every few seconds, which is also how /healthz turns healthy again when
        # the disk has room.
        self._flusher = asyncio.get_running_loop().create_task(self._flush_pending())
        if self.retention_days is not None:
            self._housekeeper = asyncio.get_running_loop().create_task(self._housekeeping(self.retention_days))
        if self.test_clock is not None and self.digests is not None:
            self._clock_watch = asyncio.get_running_loop().create_task(self._follow_test_clock())

    async def _follow_test_clock(self) -> None:
        """Test-only (FACTBOT_TEST_CLOCK_FILE): when the clock file changes, run the scheduler's tick at once."""
        assert self.test_clock is not None and self.digests is not None
        while not self.stopping.is_set():
            await asyncio.sleep(0.1)
            if self.test_clock.moved():
                await self.digests.tick()

    async def _housekeeping(self, retention_days: int) -> None:
        """Retention each period (``Store.housekeeping``: the first process to ask does it, the others nothing),
        off the event loop on PostgreSQL."""
        store = self.checker.store
        while not self.stopping.is_set():
            await asyncio.sleep(store.HOUSEKEEPING_EVERY.total_seconds())
            try:
                await self.checker.calls(store.housekeeping, retention_days)
            except Exception:  # noqa: BLE001 - the next period tries again
                log.exception("housekeeping failed")

    async def _flush_pending(self) -> None:
        store = self.checker.store
        while not self.stopping.is_set():
            await asyncio.sleep(self.flush_seconds)
            if store.pending:
                store.flush_pending()

    async def stop(self) -> None:
        """Stop accepting, drain, stop the scheduler, close the database; safe to call twice."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        for adapter in self.adapters:
            try:
                await asyncio.wait_for(adapter.stop(), timeout=self.drain_seconds)
            except Exception:  # noqa: BLE001 - one adapter's trouble must not keep the others running
                log.exception("%s adapter did not stop cleanly", adapter.name)
        if self.digests is not None:
            self.digests.shutdown(wait=False)
            self.digests.service.close()
        if self._runner is not None:
            await self._runner.cleanup()
        for task in (self._flusher, self._clock_watch, self._housekeeper):
            if task is not None:
                task.cancel()
        self.checker.store.flush_pending()
        self.checker.store.close()
        log.info("stopped")

    async def run_until_signalled(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Not on Windows, and not outside the main thread (an embedding program handles signals itself).
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stopping.set)
        try:
            await self.start()
        except StartupError as exc:
            log.error("%s", exc)
            self.stopping.clear()
            await self.stop()
            return EXIT_CONFIG
        await self.stopping.wait()
        self.stopping.clear()
        await self.stop()
        return EXIT_OK


def serve(settings: Settings, make_adapters: Callable[[FactChecker], list[Adapter]], *, metrics_host: str = "127.0.0.1",
          metrics_port: int | None = 9100, scheduler: bool = True, stderr: TextIO | None = None) -> int:
    """The one start-up path: open the database, start the adapters in one ``Runtime``, run until SIGTERM/SIGINT.

    Every ``factbot run`` command ends here (``bot.launch`` chooses the adapters; each platform's ``run``
    checks its own settings first).  0 on a clean stop; 4 when the database cannot be opened or an adapter
    cannot start (the runtime logs why in one line, never a traceback, never a token).
    """
    stderr = stderr or sys.stderr
    try:
        store, _ = open_store(settings.database, index_dir=settings.index.root)
    except StoreError as exc:
        print(f"Error: {exc}", file=stderr)
        return EXIT_CONFIG
    except Exception as exc:  # noqa: BLE001 - any reason, one line
        print(f"Error: cannot open the database {redact(settings.database)}: {exc}", file=stderr)
        return EXIT_CONFIG
    if store.readonly:  # a running bot records what it answered (event ids, replies, shares): it must write
        store.close()
        print(f"Error: the database {redact(settings.database)} is read-only here (file, folder or disk): a running bot must "
              "be able to write it", file=stderr)
        return EXIT_CONFIG
    store.housekeeping(settings.store.check_retention_days)
    checker = checker_for(store, settings)
    runtime = Runtime(checker, make_adapters(checker), host=metrics_host, port=metrics_port, scheduler=scheduler,
                      retention_days=settings.store.check_retention_days)
    try:
        return asyncio.run(runtime.run_until_signalled())
    except KeyboardInterrupt:
        return EXIT_OK
