"""Checks one at a time on an adapter's event loop, and a bound on how late an answer may come.

A check is CPU work that holds the event loop. Run back to back for a burst of events, the checks
would keep the loop from acknowledging new requests (Slack retries what is not acknowledged within
3 s) and from reading the gateway (Discord). So each check waits its turn, with a turn of the loop
between two: a request waits for at most one check, and under overload it is the answers that queue.

They queue only up to ``max_wait`` seconds of work. Past that, a new check raises ``Overloaded`` at
once, and the conversation layer says so (``Chat.busy``: "ask again in a minute"; watch mode stays quiet) instead of answering
minutes late. The wait is estimated from the pace the queue drains at: while checks queue, the time
from one check's end to the next's, which includes the loop's other work (acks, replies), not the
check alone. Measured in docs/performance.md ("Sustained overload").

A check by meaning first embeds the message, tens of milliseconds in the engine's C code, which runs
without the interpreter lock. ``run(check, prepare=...)`` runs that part on a worker thread of the
queue's own (one, so still one check at a time) while the loop goes on acknowledging and replying, then
the rest of the check on the loop as before. Only ``prepare`` leaves the loop: the words, the decision
and the store stay on it (a whole check on a thread shared the lock badly; see the same section).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

class Overloaded(Exception):
    """More checks are waiting than ``max_wait`` seconds of work: this one is turned away, not queued."""


class CheckQueue:
    def __init__(self, max_wait: float, *, log: logging.Logger, notice_every: float = 60.0):
        self.max_wait = max_wait  # 0: never turn away
        self.log = log
        self.notice_every = notice_every
        self.queued = 0  # checks admitted and not finished
        self.pace = 0.01  # seconds from one check to the next while they queue (a moving average)
        self._lock = asyncio.Lock()
        self._last_done = 0.0
        self._turned_away = 0
        self._told = 0.0
        self._worker: ThreadPoolExecutor | None = None  # runs ``prepare`` off the loop, one at a time

    @property
    def expected_wait(self) -> float:
        return self.queued * self.pace

    async def run(self, check: Callable[[], T], *, prepare: Callable[[], object] | None = None) -> T:
        """``check()`` after the checks before it; raises ``Overloaded`` instead when the queue is too long.

        ``prepare()``, when given, runs first on the queue's worker thread while the loop goes on (see the
        module's docstring); it only warms what ``check`` needs, so a failure there is left for ``check``
        to meet and report.
        """
        if self.max_wait and self.queued and self.expected_wait > self.max_wait:
            self._turn_away()
        self.queued += 1
        try:
            async with self._lock:
                started = time.perf_counter()
                if prepare is not None:
                    await self._off_loop(prepare)
                result = check()
                done = time.perf_counter()
                busy = self.queued > 1 and self._last_done
                self.pace += 0.05 * ((done - self._last_done if busy else done - started) - self.pace)
                self._last_done = done
                await asyncio.sleep(0)  # the loop reads the sockets (new requests, their acks) before the next check
        finally:
            self.queued -= 1
        return result

    async def _off_loop(self, prepare: Callable[[], object]) -> None:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="factbot-prepare")
        try:
            await asyncio.get_running_loop().run_in_executor(self._worker, prepare)
        except Exception as exc:  # noqa: BLE001 - the check itself meets the same failure and reports it
            self.log.debug("preparing a check failed (%s); the check does it itself", exc)

    def close(self) -> None:
        """Let the worker thread go (a new one starts if the queue is used again)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=False)

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No check starts while this is held (one running finishes first); requests still queue or are turned away."""
        async with self._lock:
            yield

    def _turn_away(self) -> None:
        self._turned_away += 1
        now = time.monotonic()
        if now - self._told >= self.notice_every:
            self.log.warning("overloaded: %d check(s) waiting (about %.0f s of work); %d request(s) turned away "
                             "since the last notice", self.queued, self.expected_wait, self._turned_away)
            self._told, self._turned_away = now, 0
        raise Overloaded()
