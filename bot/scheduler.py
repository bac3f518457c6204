"""Weekly digests and correction notices, run by APScheduler inside the bot's event loop.

What is due, who sends it and how it is sent exactly once, across crashes and restarts, is decided by
``bot.core.delivery.DigestService``; this module only calls it on time and re-exports its names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .core.delivery import BACKOFF, RECOVER_MARK, DeliveryGone, DigestService, Poster
from .core.subscriptions import Subscription

__all__ = ["BACKOFF", "RECOVER_MARK", "ClockFile", "DeliveryGone", "DigestScheduler", "DigestService", "Poster",
           "test_clock"]

log = logging.getLogger("factbot.digest")

TEST_CLOCK_ENV = "FACTBOT_TEST_CLOCK_FILE"


class ClockFile:
    """Test-only: the scheduler's clock, driven from outside the process.

    With ``FACTBOT_TEST_CLOCK_FILE=PATH`` the digest scheduler's "now" is the real time plus the number of seconds
    written in that file (0 when it is empty or unreadable), and each change of the file runs the scheduler's
    minute tick at once, so an end-to-end test can move a running bot past a grace period or a back-off without
    waiting. Refused when ``FACTBOT_ENV=production``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0.0
        self._seen: float | None = None
        self.moved()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # keep the last good offset
            self._offset = float(self.path.read_text().strip() or 0)

    def __call__(self) -> dt.datetime:
        self._read()
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self._offset)

    def moved(self) -> bool:
        """Whether the file changed since the last look."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except OSError:
            stamp = None
        changed, self._seen = stamp != self._seen, stamp
        return changed


def test_clock(env: Mapping[str, str] | None = None) -> ClockFile | None:
    """The test clock when ``FACTBOT_TEST_CLOCK_FILE`` asks for one (ValueError in production mode), else None."""
    env = os.environ if env is None else env
    path = (env.get(TEST_CLOCK_ENV) or "").strip()
    if not path:
        return None
    if (env.get("FACTBOT_ENV") or "").strip().lower() == "production":
        raise ValueError(f"{TEST_CLOCK_ENV} is a test-only setting and is refused when FACTBOT_ENV=production")
    log.warning("the digest scheduler's clock is driven by %s (a test-only setting)", path)
    return ClockFile(path)


test_clock.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class DigestScheduler:
    """APScheduler wiring: one job, the minute tick, sends every digest that is due and every correction.

    There is no job per subscription: each tick asks ``DigestService.catch_up`` what is due and unsent (this week's
    digest the minute its time comes, a missed or failed one within the grace period), so a subscription added,
    changed or removed by any process takes effect at the next tick, and there is one way a digest gets sent.
    """

    def __init__(self, service: DigestService, *, tick_seconds: float = 60, scheduler: AsyncIOScheduler | None = None):
        self.service = service
        self.tick_seconds = tick_seconds
        self.scheduler = scheduler or AsyncIOScheduler(timezone=dt.UTC)

    def start(self) -> None:
        """Start inside the running event loop; missed digests and pending corrections are handled at once."""
        self.scheduler.add_job(
            self.tick, IntervalTrigger(seconds=self.tick_seconds, timezone=dt.UTC), id="factbot:tick",
            next_run_time=dt.datetime.now(dt.UTC), max_instances=1, coalesce=True, replace_existing=True,
        )
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    async def tick(self) -> None:
        """Every minute: send what is due (subscription changes by any process included), then corrections."""
        try:
            await self.service.catch_up()
            await self.service.send_corrections()
        except Exception:  # noqa: BLE001 - a bad tick must not stop the next one
            log.exception("digest scheduler tick failed")

    def next_runs(self) -> list[tuple[Subscription, dt.datetime]]:
        """Each active subscription this process posts for, with when its next digest is due."""
        now = self.service.clock()
        return [(sub, sub.next_run(now)) for sub in self.service.subscriptions.list(active_only=True)
                if sub.platform in self.service.posters]
