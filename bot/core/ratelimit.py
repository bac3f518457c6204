"""Per-user rate limiting, the same for every platform.

A sliding window per (platform, user).  The first request over the limit is
told so once ("slow down"), the rest of the excess is dropped quietly until
the window frees up: one notice, never a flood of notices.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .i18n import N_


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
