"""Weekly digests and correction notices delivered exactly once: what is due, who sends it, what it says.

Exactly once, even across crashes, restarts and a second bot started by
mistake: before posting, a process claims the (subscription, period) row in
``digests_sent`` with an INSERT that only one process can win; the row is
marked ``sent`` after the post.  A process that died between claiming and
marking leaves a ``sending`` row; once its lease runs out another process
asks the platform whether the digest was in fact posted (adapters tag their
digest messages with the period) and only posts if it was not.  A failed
post is retried with back-off while the grace period lasts.

Digests missed while the bot was down are sent at start if they are within
the grace period (default 12 h) and skipped, with a log line, otherwise;
because a digest covers everything since the last one that was sent, several
missed weeks produce one digest, not a burst.

The decisions and every statement about ``digests_sent`` and the replies' correction marks live here, free of
APScheduler and of any platform: ``bot.scheduler`` only calls ``DigestService`` on time, and each adapter
provides a ``Poster``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from .corrections import mark_corrected, pending_corrections
from .digest import build_digest, covers_since
from .models import Correction, Digest, iso
from .store import Store
from .subscriptions import Subscription, Subscriptions

log = logging.getLogger("factbot.digest")

T = TypeVar("T")

RECOVER_MARK = "before posting, could not ask whether it was posted: "  # such a failure asks again when retried
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))


class DeliveryGone(Exception):
    """The channel no longer exists or the bot may not post there: disable the subscription, do not retry."""


class Poster(Protocol):
    """What an adapter provides so digests and corrections reach its platform."""

    platform: str

    async def post_digest(self, sub: Subscription, digest: Digest, *, period: str) -> str:
        """Post the digest; return the message id. Raise DeliveryGone for a deleted channel or revoked permission."""

    async def find_digest(self, sub: Subscription, *, period: str) -> str | None:
        """The id of this period's digest if it was already posted (recovery after a crash mid-send)."""

    async def post_correction(self, correction: Correction) -> None:
        """Tell the thread of an earlier reply that its verdict changed, and mark that reply as updated."""


class DigestService:
    """The decisions, free of APScheduler: what is due, who sends it, what it says."""

    def __init__(
        self,
        store: Store,
        posters: dict[str, Poster],
        *,
        grace: dt.timedelta = dt.timedelta(hours=12),
        lease: dt.timedelta = dt.timedelta(minutes=5),
        correction_window: dt.timedelta = dt.timedelta(days=30),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        instance: str | None = None,
    ):
        self.store = store
        self.posters = posters
        self.subscriptions = Subscriptions(store)
        self.grace = grace
        self.lease = lease
        self.correction_window = correction_window
        self.clock = clock
        self.instance = instance or uuid.uuid4().hex[:12]
        # observer(status, lag_seconds) for each scheduled digest settled: "sent" (with how long after its
        # scheduled time), "failed" (retried later) or "skipped" (missed, or the channel is gone); metrics hook in.
        self.observers: list[Callable[[str, float | None], None]] = []
        self._thread: ThreadPoolExecutor | None = None
        self._own_store: Store | None = None

    # -- where the database work runs ------------------------------------------------
    def in_thread(self) -> None:
        """Do this service's database work on a thread of its own, over a connection of its own (a running bot's
        scheduler): a slow query, or a write waiting for another process's lock (a large import), then never holds
        the event loop that acknowledges requests. The posts themselves stay on the loop. An in-memory database has
        one connection only: its work stays where it is."""
        if self._thread is not None:
            return
        own = self.store.reopen()
        if own is None:
            return
        self.store, self._own_store = own, own
        self.subscriptions = Subscriptions(own)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="factbot-digests")

    def close(self) -> None:
        """End the database thread (after the one query it runs, if any) and its connection."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True, cancel_futures=True)
        if self._own_store is not None:
            self._own_store.close()

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``: on the service's database thread when it has one, else here."""
        if self._thread is None:
            return fn(*args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._thread, functools.partial(fn, *args, **kwargs))

    async def active(self) -> list[Subscription]:
        """The active subscriptions (read where the service's database work runs)."""
        return await self._db(self.subscriptions.list, active_only=True)

    # -- digests -------------------------------------------------------------------
    async def catch_up(self) -> list[str]:
        """At start and every minute (the scheduler's one job): send what is due and unsent within the grace period:
        this week's digest once its time has come, a run missed while the bot was down, a failed send."""
        sent = []
        now = self.clock()
        for sub in await self.active():
            if sub.platform not in self.posters:
                continue
            scheduled = sub.previous_run(now)
            if scheduled < self._created(sub):
                continue  # subscribed after that run: nothing was due
            row = await self._db(self._row, sub, scheduled)
            if row is not None and row["status"] in ("sent", "skipped"):
                continue
            if now - scheduled > self.grace:
                await self._db(self._record_skip, sub, scheduled)
                continue
            if row is not None and row["status"] == "failed":
                wait = BACKOFF[min(row["attempts"] - 1, len(BACKOFF) - 1)]
                if now < dt.datetime.fromisoformat(row["at"]) + wait:
                    continue
            message_id = await self._send(sub, scheduled)
            if message_id:
                sent.append(message_id)
        return sent

    async def send_now(self, sub: Subscription) -> str:
        """``factbot digest send-now``: post the current digest outside the schedule (not recorded as a period)."""
        digest = await self._db(self._built, sub, self.clock(), self.clock())
        message_id = await self.posters[sub.platform].post_digest(sub, digest, period="manual-" + iso(self.clock()))
        await self._db(mark_corrected, self.store, list(digest.corrections))
        return message_id

    def build(self, sub: Subscription, *, since: dt.datetime, now: dt.datetime) -> Digest:
        return build_digest(
            self.store, platform=sub.platform, workspace=sub.workspace, channel=sub.channel,
            since=since, now=now, correction_window=self.correction_window,
        )

    def _built(self, sub: Subscription, until: dt.datetime, now: dt.datetime) -> Digest:
        """The digest of everything since the last one sent, up to ``now``."""
        return self.build(sub, since=self._since(sub, until), now=now)

    def preview(self, sub: Subscription) -> Digest:
        now = self.clock() + dt.timedelta(seconds=1)  # the period is end-exclusive; include this very second
        return self.build(sub, since=self._since(sub, now), now=now)

    async def _send(self, sub: Subscription, scheduled: dt.datetime) -> str | None:
        period = sub.period(scheduled)
        claim = await self._db(self._claim, sub, scheduled, period)
        if claim is None:
            return None
        poster = self.posters[sub.platform]
        asking = claim == "recover"
        try:
            # After a crash mid-send, ask the platform first. Its answer failing is a failed send like any other
            # (retried with back-off, or the subscription disabled when the channel is gone), and the retry asks
            # again before it posts.
            if asking:
                existing = await poster.find_digest(sub, period=period)
                asking = False
                if existing:
                    await self._db(self._finish, sub, period, "sent", message_id=existing)
                    log.info("digest %s/%s was already posted before a restart; not posting again", sub.id, period)
                    return None
            digest = await self._db(self._built, sub, scheduled, scheduled)
            message_id = await poster.post_digest(sub, digest, period=period)
        except DeliveryGone as exc:
            await self._db(self._finish, sub, period, "skipped", error=str(exc))
            self._observe("skipped")
            await self._db(self.subscriptions.disable, sub.id, str(exc))
            log.warning("digest subscription %s disabled: %s", sub.id, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - any failure of the platform is retried later
            error = f"{type(exc).__name__}: {exc}"
            await self._db(self._finish, sub, period, "failed", error=RECOVER_MARK + error if asking else error)
            self._observe("failed")
            log.warning("digest %s/%s failed (%s); will retry", sub.id, period, type(exc).__name__)
            return None
        await self._db(self._finish, sub, period, "sent", message_id=message_id)
        self._observe("sent", (self.clock() - scheduled).total_seconds())
        await self._db(mark_corrected, self.store, list(digest.corrections))
        log.info("digest %s/%s sent to %s %s", sub.id, period, sub.platform, sub.channel)
        return message_id

    def _claim(self, sub: Subscription, scheduled: dt.datetime, period: str) -> str | None:
        """Win the right to send this period: "new", "retry", "recover" (a stale claim by a dead process), or None."""
        now = iso(self.clock())
        with self.store.transaction():
            cur = self.store.db.conn.execute(
                """INSERT INTO digests_sent(subscription_id, period, scheduled_for, status, claimed_by, attempts, at)
                   VALUES (?, ?, ?, 'sending', ?, 1, ?) ON CONFLICT DO NOTHING""",
                [sub.id, period, iso(scheduled), self.instance, now],
            )
            if cur.rowcount:
                return "new"
            row = self.store.db.execute(
                "SELECT * FROM digests_sent WHERE subscription_id = ? AND period = ?", [sub.id, period]
            ).fetchone()
            stale = dt.datetime.fromisoformat(row["at"]) + self.lease <= self.clock()
            if row["status"] == "failed" or (row["status"] == "sending" and stale):
                asked_in_vain = row["status"] == "failed" and (row["error"] or "").startswith(RECOVER_MARK)
                won = self.store.db.conn.execute(
                    """UPDATE digests_sent SET status = 'sending', claimed_by = ?, attempts = attempts + 1, at = ?
                       WHERE subscription_id = ? AND period = ? AND status = ? AND at = ?""",
                    [self.instance, now, sub.id, period, row["status"], row["at"]],
                ).rowcount
                if won:
                    return "retry" if row["status"] == "failed" and not asked_in_vain else "recover"
        return None

    def _finish(self, sub: Subscription, period: str, status: str, *, message_id: str = "", error: str = "") -> None:
        with self.store.transaction():
            self.store.db.conn.execute(
                "UPDATE digests_sent SET status = ?, message_id = ?, error = ?, at = ? WHERE subscription_id = ? AND period = ?",
                [status, message_id or None, error or None, iso(self.clock()), sub.id, period],
            )

    def _observe(self, status: str, lag_seconds: float | None = None) -> None:
        for observer in self.observers:
            observer(status, lag_seconds)

    def _record_skip(self, sub: Subscription, scheduled: dt.datetime) -> None:
        period = sub.period(scheduled)
        with self.store.transaction():
            cur = self.store.db.conn.execute(
                """INSERT INTO digests_sent(subscription_id, period, scheduled_for, status, claimed_by, attempts, at, error)
                   VALUES (?, ?, ?, 'skipped', ?, 0, ?, 'missed by more than the grace period')
                   ON CONFLICT DO NOTHING""",
                [sub.id, period, iso(scheduled), self.instance, iso(self.clock())],
            )
        if cur.rowcount:
            self._observe("skipped")
            log.warning("digest %s/%s was missed by more than %s; skipped (the next one covers it)", sub.id, period, self.grace)

    def _row(self, sub: Subscription, scheduled: dt.datetime):
        return self.store.db.execute(
            "SELECT * FROM digests_sent WHERE subscription_id = ? AND period = ?", [sub.id, sub.period(scheduled)]
        ).fetchone()

    def _created(self, sub: Subscription) -> dt.datetime:
        return dt.datetime.fromisoformat(sub.created_at)

    def _since(self, sub: Subscription, until: dt.datetime) -> dt.datetime:
        """A digest covers everything since the last one sent (or since the subscription began)."""
        return covers_since(self.store, sub, until)

    # -- corrections ---------------------------------------------------------------
    async def send_corrections(self) -> int:
        """Post due corrections in the threads of earlier replies; channels with a digest get them in the digest."""
        now = self.clock()
        digest_channels = {(s.platform, s.workspace, s.channel) for s in await self.active()}
        sent = 0
        due = await self._db(lambda: list(pending_corrections(self.store, now=now, window=self.correction_window)))
        for correction in due:
            if correction.platform not in self.posters:
                continue
            if (correction.platform, correction.workspace, correction.channel) in digest_channels:
                continue  # folded into that channel's next digest
            if not await self._db(self._claim_correction, correction):
                continue
            try:
                await self.posters[correction.platform].post_correction(correction)
            except Exception as exc:  # noqa: BLE001
                await self._db(self._release_correction, correction)
                log.warning("correction for reply %s failed (%s); will retry", correction.reply_id, type(exc).__name__)
                continue
            sent += 1
        return sent

    def _claim_correction(self, c: Correction) -> bool:
        with self.store.transaction():
            return bool(
                self.store.db.conn.execute(
                    """UPDATE replies SET corrected_seq = ?, verdict = ?
                       WHERE id = ? AND coalesce(corrected_seq, 0) < ? AND verdict = ?""",
                    [c.change_seq, c.claim.verdict.value, c.reply_id, c.change_seq, c.old_verdict.value],
                ).rowcount
            )

    def _release_correction(self, c: Correction) -> None:
        with self.store.transaction():
            self.store.db.conn.execute(
                "UPDATE replies SET corrected_seq = NULL, verdict = ? WHERE id = ? AND corrected_seq = ?",
                [c.old_verdict.value, c.reply_id, c.change_seq],
            )
