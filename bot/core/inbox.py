"""Events acknowledged to the platform and not answered yet, kept in the database until they are.

Slack never sends an event again once it has its acknowledgement, and factbot acknowledges at once (Slack wants
an answer within 3 s; a check and its reply can take longer under load). Between the two, the event lived only in
the memory of the process that acknowledged it: a process killed there (SIGKILL, the OOM killer, a host gone)
lost every event it had acknowledged and not yet answered, and no other instance could know.

So an event that may be answered is written here *before* its acknowledgement goes out: one row per
(platform, event id), with the body as it arrived (its signature already checked), the instance answering it
(``owner``) and how long that instance's claim on it lasts (``lease_until``). The row is also what tells a
retried delivery from a new event, on whichever instance the retry lands. Each running instance renews its leases
while it works through its queue (``renew``, every third of the lease); once an answer has been posted the row is
marked done and its body dropped. An instance that dies stops renewing: when its leases have run out, another
instance takes its open rows over (``take_over``, one conditional UPDATE, so two instances never take the same row)
and answers them. An instance that stops cleanly gives its unanswered rows back at once (``release``).

Taking over cannot know whether the dead instance got as far as posting its answer: the answer is marked, and the
adapter looks for that mark in the thread before answering again (Slack: the reply's message metadata). The
writes are statements of this module alone; the platform adapters say what an event is and how to answer it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import POSTGRESQL
from .models import iso

log = logging.getLogger("factbot.inbox")

LEASE_SECONDS = 30.0  # how long an instance's claim on an event lasts without being renewed
MAX_ATTEMPTS = 3  # an event taken over this many times is given up (it may be what kills its instances)
KEEP_WAIT_S = 0.1  # how long keeping an event waits for another writer on an SQLite file before it gives way
PAUSE_S = 1.0  # after a keep that could not be written, events are answered unkept this long before trying again
KEPT_DAYS = 2  # answered rows are kept this long: a retry that late is still told apart from a new event


@dataclass(frozen=True)
class KeptEvent:
    """An event taken over from an instance that stopped answering: its body as it arrived, and how often it
    has been taken (1 for the first instance, 2 for the first take-over, ...)."""

    platform: str
    event_id: str
    body: str
    attempts: int


def instance_name() -> str:
    """Who owns a row: this host and process, and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class EventInbox:
    """The kept events of one store, as one instance sees them (``owner``).

    ``keep`` runs on the thread that acknowledges (the Slack front's, ``bot/adapters/slack/front.py``): on an
    SQLite file it has a connection of its own for that (the store's belongs to the event loop's thread), on
    PostgreSQL it borrows from the store's thread-safe pool. The other calls are made from the event loop through
    the checker's store calls, as every other store call is.
    """

    def __init__(self, store: Any, *, owner: str | None = None, lease_seconds: float = LEASE_SECONDS,
                 clock: Callable[[], dt.datetime] | None = None):
        self.store = store
        self.owner = owner or instance_name()
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._file: sqlite3.Connection | None = None
        self._file_lock = threading.Lock()
        self._resume_at = 0.0  # time.monotonic(): no keep is tried before it (the last one failed)

    @property
    def usable(self) -> bool:
        """False on a database opened read-only, or held in memory (nothing would outlive the process)."""
        return not getattr(self.store, "readonly", False) and (
            getattr(self.store, "engine", "") == POSTGRESQL or getattr(self.store, "path", None) is not None)

    def _now(self) -> tuple[str, str]:
        now = self.clock()
        return iso(now), iso(now + self.lease)

    # -- the acknowledging thread ---------------------------------------------------------------------------------
    def keep(self, platform: str, event_id: str, body: str) -> bool | None:
        """Keep an event before it is acknowledged. True: new, and now this instance's to answer. False: kept
        before (a retried delivery, here or on another instance): acknowledge it and do nothing. None: it could not
        be written now (another process holds the file's write lock past ``KEEP_WAIT_S``, a full disk, the server
        unreachable): the caller acknowledges and answers it as before, without the safety net."""
        return self.keep_many([(platform, event_id, body)])[0]

    def keep_many(self, events: Sequence[tuple[str, str, str]]) -> list[bool | None]:
        """``keep`` for events that arrived together (platform, event id, body): one transaction, and on
        PostgreSQL one round trip (psycopg's pipeline), for all of them. Under a burst the acks wait for one
        commit each time, not one each (``KeepQueue``)."""
        if not events:
            return []
        if not self.usable or self.store.write_problem or time.monotonic() < self._resume_at:
            return [None] * len(events)  # the database does not take writes now: the ack must not wait for it
        now, until = self._now()
        # Seen before either way: kept (this table), or answered unkept while keeping could not be written (the
        # retried-event ids of Conversations.first_delivery, which looks here in turn).
        sql = ("INSERT INTO event_inbox(platform, event_id, body, owner, lease_until, attempts, at) "
               "SELECT ?, ?, ?, ?, ?, 1, ? WHERE NOT EXISTS "
               "(SELECT 1 FROM processed_events WHERE platform = ? AND event_id = ?) ON CONFLICT DO NOTHING")
        rows = [[platform, event_id, body, self.owner, until, now, platform, event_id]
                for platform, event_id, body in events]
        try:
            if self.store.engine == POSTGRESQL:
                # Not waiting for the server's disk (as the rate limit's claims): what this guards against is an
                # instance dying, and an ack must not wait for an fsync. A server crash may forget the last
                # fraction of a second of keeps, as it would the events' answers being written.
                return [n > 0 for n in self.store.db.execute_many_unsynced(sql, rows)]
            with self._file_lock:
                conn = self._connection()
                with conn:
                    return [conn.execute(sql, args).rowcount > 0 for args in rows]
        except Exception as exc:  # noqa: BLE001 - the events are still answered, only not kept
            # A second without trying: a burst during an import must not wait KEEP_WAIT_S for every event.
            self._resume_at = time.monotonic() + PAUSE_S
            log.warning("%d event(s) could not be kept before their acknowledgement (%s: %s); they are answered all "
                        "the same", len(events), type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            return [None] * len(events)

    def _connection(self) -> sqlite3.Connection:
        if self._file is None:
            conn = sqlite3.connect(str(self.store.path), check_same_thread=False, timeout=KEEP_WAIT_S)
            conn.execute(f"PRAGMA busy_timeout = {int(KEEP_WAIT_S * 1000)}")
            # As the store's own connection: in WAL mode a commit survives the process being killed without an
            # fsync each (which serialised the acks: p50 1 s at 300 events/s); only a power cut may lose the last.
            conn.execute("PRAGMA synchronous = NORMAL")
            self._file = conn
        return self._file

    # -- the event loop (through the store calls) ------------------------------------------------------------------
    def done(self, platform: str, event_id: str) -> None:
        """The event has its answer (or needs none): mark it, drop its body. A write that gives way: if it is lost
        in a crash, a take-over finds the answer's mark in the thread and does not answer again."""
        if self.usable:
            self.store.give_way([("UPDATE event_inbox SET done_at = ?, body = NULL "
                                  "WHERE platform = ? AND event_id = ? AND done_at IS NULL",
                                  [iso(self.clock()), platform, event_id])])

    def renew(self) -> int:
        """Extend this instance's claim on every event it has not answered yet; returns how many it holds."""
        if not self.usable:
            return 0
        now, until = self._now()
        with self.store._short_wait(), self.store.transaction():  # never the loop waiting on a file's lock
            return self.store.db.conn.execute(
                "UPDATE event_inbox SET lease_until = ? WHERE owner = ? AND done_at IS NULL", [until, self.owner]
            ).rowcount

    def take_over(self, limit: int = 200) -> list[KeptEvent]:
        """Claim the unanswered events whose instance's lease has run out (it died, or stopped and gave them back).

        One UPDATE … RETURNING over the rows found stale: on PostgreSQL a row another instance claims in the same
        moment is re-read after its commit and no longer matches, so each row goes to one instance. Events taken
        over ``MAX_ATTEMPTS`` times already are given up instead, with a warning.
        """
        if not self.usable:
            return []
        now, until = self._now()
        with self.store._short_wait(), self.store.transaction():  # never the loop waiting on a file's lock
            rows = self.store.db.conn.execute(
                """UPDATE event_inbox SET owner = ?, lease_until = ?, attempts = attempts + 1
                   WHERE (platform, event_id) IN (
                       SELECT platform, event_id FROM event_inbox
                       WHERE done_at IS NULL AND lease_until < ? ORDER BY at LIMIT ?)
                     AND done_at IS NULL AND lease_until < ?
                   RETURNING platform, event_id, body, attempts""",
                [self.owner, until, now, limit, now],
            ).fetchall()
        taken: list[KeptEvent] = []
        for platform, event_id, body, attempts in rows:
            if attempts > MAX_ATTEMPTS or not body:
                log.warning("an acknowledged event was taken over %d times without being answered: given up",
                            attempts - 1, extra={"platform": platform, "event_id": event_id})
                self.done(platform, event_id)
                continue
            taken.append(KeptEvent(platform, event_id, body, attempts))
        return taken

    def release(self) -> int:
        """Give back the events this instance has not answered (a clean stop): another instance, or this one's
        next start, takes them over at once instead of after the lease."""
        if not self.usable:
            return 0
        with self.store._short_wait(), self.store.transaction():  # never the loop waiting on a file's lock
            return self.store.db.conn.execute(
                "UPDATE event_inbox SET lease_until = ? WHERE owner = ? AND done_at IS NULL",
                [iso(self.clock() - dt.timedelta(seconds=1)), self.owner],
            ).rowcount


    def close(self) -> None:
        with self._file_lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def waiting(store: Any, now: dt.datetime | None = None) -> tuple[int, int]:
    """(events kept and not answered yet, how many of them no running instance holds: their lease ran out) for
    ``factbot doctor``: stale ones stay until an instance runs and takes them over."""
    row = store.db.execute("SELECT count(*), coalesce(sum(CASE WHEN lease_until < ? THEN 1 ELSE 0 END), 0) "
                           "FROM event_inbox WHERE done_at IS NULL", [iso(now)]).fetchone()
    return int(row[0]), int(row[1])


class KeepQueue:
    """Keeps from one event loop (the acknowledging one), batched: while one batch is being written, the events
    that arrive join the next, so under a burst there is one commit (one round trip on PostgreSQL) per batch.

    ``offload``: the write runs on a thread of that loop's executor (PostgreSQL, a network round trip), so the
    loop goes on reading and acknowledging meanwhile; on a file it is made on the loop (tens of microseconds).
    """

    def __init__(self, inbox: EventInbox, *, offload: bool):
        self.inbox = inbox
        self.offload = offload
        self._waiting: list[tuple[str, str, str, asyncio.Future[bool | None]]] = []
        self._writing = False

    async def keep(self, platform: str, event_id: str, body: str) -> bool | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool | None] = loop.create_future()
        self._waiting.append((platform, event_id, body, done))
        if not self._writing:
            self._writing = True
            loop.create_task(self._write())
        return await done

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                events = [(platform, event_id, body) for platform, event_id, body, _ in batch]
                try:
                    if self.offload:
                        results = await loop.run_in_executor(None, self.inbox.keep_many, events)
                    else:
                        results = self.inbox.keep_many(events)
                except Exception:  # noqa: BLE001 - keep_many says why; never leave an ack waiting
                    results = [None] * len(batch)
                for (_, _, _, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)
        finally:
            self._writing = False
