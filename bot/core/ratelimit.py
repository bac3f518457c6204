"""Per-user rate limiting, the same for every platform.

A sliding window per (platform, user): at most ``limit`` checks in any ``window`` seconds.  The first request
over the limit is told so once ("slow down"), the rest of the excess is dropped quietly until the window frees
up: one notice, never a flood of notices.

``RateLimiter`` keeps the window in this process's memory.  ``SharedRateLimiter`` keeps it in the database
(the table ``rate_limits``), so every instance on one database counts the same checks: N instances allow
what one allows, and the notice is given once whichever instance turned the person away.  Its window is the
same sliding window, exactly: the row holds the times of the last ``limit`` checks let through, and one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement lets a check through (drop the oldest time, append
now) only when the oldest is a whole window old.  What differs from the one in memory:

* its clock is the wall clock, shared between hosts, so clock skew between hosts shifts the window by as much
  (keep NTP on); the one in memory counts on a monotonic clock of its own;
* when the database cannot take the statement at once (another process holds SQLite's write lock, as a large
  import does, or the database cannot be written or reached) the check is decided by this process's own
  window instead: the limit then holds per process, as before, and an answer never waits for the lock.  A busy
  lock is no fault (``fallbacks`` counts those checks); a database that cannot be written is said once in the
  log, and again when it takes the limit again.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .i18n import N_
from .store import Store, StoreError

log = logging.getLogger("factbot.ratelimit")


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    notify: bool  # over the limit and not yet told: send one short (ephemeral) notice
    retry_after: float = 0.0


class RateLimiter:
    def __init__(self, per_minute: int = 10, *, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit = per_minute
        self.window = window
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._told: set[tuple[str, str]] = set()

    def check(self, platform: str, user: str) -> RateDecision:
        if self.limit <= 0:
            return RateDecision(True, False)
        key = (platform, user)
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._told.discard(key)
            return RateDecision(True, False)
        retry = self.window - (now - hits[0])
        if key in self._told:
            return RateDecision(False, False, retry)
        self._told.add(key)
        return RateDecision(False, True, retry)

    def notice(self, decision: RateDecision) -> str:
        return N_("You're checking a lot of messages at once; try again in %(seconds)s s.",
                  seconds=max(1, round(decision.retry_after)))


# One time in ``rate_limits.hits``: milliseconds since the epoch, zero-padded, so that text order is time order
# on both engines (until the year 2286).
_WIDTH = 13

# Let the check through when the oldest of the last ``limit`` times is a window old (or the row was written for
# another limit: start afresh); otherwise count it as turned away. The SET expressions read the row as it was.
_CHECK = f"""
INSERT INTO rate_limits(platform, user, hits, denied, at) VALUES (?, ?, ?, 0, ?)
ON CONFLICT(platform, user) DO UPDATE SET
    hits = CASE WHEN length(rate_limits.hits) <> ? THEN excluded.hits
                WHEN substr(rate_limits.hits, 1, {_WIDTH}) <= ? THEN substr(rate_limits.hits, {_WIDTH + 1}) || ?
                ELSE rate_limits.hits END,
    denied = CASE WHEN length(rate_limits.hits) <> ? OR substr(rate_limits.hits, 1, {_WIDTH}) <= ? THEN 0
                  ELSE rate_limits.denied + 1 END,
    at = excluded.at
RETURNING hits, denied
"""


def _stamp(ms: int) -> str:
    return str(max(ms, 0)).zfill(_WIDTH)[-_WIDTH:]


class SharedRateLimiter(RateLimiter):
    """The rate limit as a row per (platform, user) in the database: held across processes and hosts.

    ``check`` costs one statement (one round trip on PostgreSQL, one short write transaction on a file); rows of
    people who have not asked for a window are pruned by the process at most once a window, as a write that
    gives way (``Store.give_way``).
    """

    def __init__(self, store: Store, per_minute: int = 10, *, window: float = 60.0,
                 clock: Callable[[], float] = time.time):
        super().__init__(per_minute, window=window, clock=clock)  # this process's window: the fallback
        self.store = store
        self._pruned = clock()
        self._problem = ""  # why checks fall back to this process's window, other than a busy lock ("" when not)
        self.fallbacks = 0  # checks decided by this process's window because the database did not take them

    def check(self, platform: str, user: str) -> RateDecision:
        if self.limit <= 0:
            return RateDecision(True, False)
        if self.store.readonly or self.store.closed:
            return super().check(platform, user)
        now = self.clock()
        now_ms, window_ms = round(now * 1000), round(self.window * 1000)
        stamp, cutoff = _stamp(now_ms), _stamp(now_ms - window_ms)
        fresh = _stamp(0) * (self.limit - 1) + stamp
        try:
            row = self.store.claim(_CHECK, [platform, user, fresh, stamp, len(fresh), cutoff, stamp,
                                            len(fresh), cutoff])
        except StoreError as exc:
            self.fallbacks += 1
            if exc.kind != "busy":
                if not self._problem:
                    log.warning("the rate limit is counted in this process alone while the database does not "
                                "take it: %s", exc)
                self._problem = str(exc)
            return super().check(platform, user)
        if self._problem:
            log.warning("the rate limit is shared through the database again")
            self._problem = ""
        self._prune(now)
        hits, denied = row[0], int(row[1])
        if denied == 0:
            return RateDecision(True, False)
        oldest = int(hits[:_WIDTH]) / 1000
        return RateDecision(False, denied == 1, max(0.0, self.window - (now - oldest)))

    def _prune(self, now: float) -> None:
        """Forget the people who have not asked for a whole window (their row would let them through anyway)."""
        if now - self._pruned < self.window:
            return
        self._pruned = now
        self.store.give_way([("DELETE FROM rate_limits WHERE at < ?",
                              [_stamp(round((now - self.window) * 1000))])])
