"""Store calls made from an event loop, so that acknowledgements and other chats do not wait on them.

On an SQLite file a store call is a read of a local file (microseconds to a millisecond): it is made where it is
asked for, on the loop, as it always was (its one connection belongs to the caller's thread, and the file's own
writer thread already takes the writes that would wait for its lock). On PostgreSQL each statement is a network
round trip: the call runs on a small pool of threads of its own (psycopg's connection pool is thread-safe, and a
thread waiting for the server holds no interpreter lock), and the loop goes on meanwhile.

Why threads and not psycopg's async API: the store is one synchronous API used by the bot, the scheduler, the
desk and the command line; an async twin of it would be a second store. A thread hop costs tens of
microseconds of CPU, a round trip a millisecond or more, and what a check does between its round trips is
Python work that runs on the loop either way (docs/performance.md, "The event loop and the network store").
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .engine import POSTGRESQL

T = TypeVar("T")

WORKERS = 4  # threads for store calls: the pool's 8 connections leave room for the embedder and the index catch-up


class StoreCalls:
    """``await calls(fn, *args)``: ``fn(*args)`` at once on a file, on a bounded thread pool on PostgreSQL."""

    def __init__(self, store: Any, *, workers: int = WORKERS):
        self.store = store
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None

    @property
    def off_loop(self) -> bool:
        return getattr(self.store, "engine", "") == POSTGRESQL

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if not self.off_loop:
            return fn(*args, **kwargs)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="factbot-store")
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Let the threads go once the calls running finish (a new pool starts if it is used again)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
