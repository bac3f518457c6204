"""Slack HTTP mode's front door: the events port served from a thread with an event loop of its own.

Slack wants every request answered within 3 s and retries what is not. On the bot's event loop, an
acknowledgement waits its turn behind whatever holds the loop: the part of a check that runs there (the
words, the decision, the store: tens of milliseconds), the replies being posted, the busy notices. At
300 events/s with matching by meaning that put the acks' p99 at 150 ms on a quiet machine and 1.4 s at
p50 on a loaded one (docs/performance.md, "Acknowledging off the event loop").

So the events port is served here, on a thread of its own (``factbot-slack-acks``): each request is read,
its signature checked (``verify.verify_first``) and its body parsed on this thread. An ``event_callback``
(mentions, channel messages, App Home) is then acknowledged at once with Bolt's empty ``200`` and handed to
the bot's loop, in arrival order, where Bolt runs its middleware (the retried-event dedupe among them) and
the listeners as before. Everything whose answer says something (``url_verification``, slash commands,
shortcuts, buttons, the OAuth install) is dispatched on the bot's loop and answered with what Bolt returns,
as before. The thread needs the interpreter lock only to read a request and write the ``200``; while the
loop runs a check, Python hands the lock over within its switch interval, so an ack no longer waits for the
check. An ack takes the lock a few times (the socket read, the parse, the write), each a hand-over: the
process's switch interval is lowered from Python's 5 ms to ``SWITCH_INTERVAL`` (1 ms) while the front serves.
At 300 events/s by meaning, on the same loaded machine and minute, that took the acks' p99 from 138–637 ms
to 70–89 ms (docs/performance.md).

At most ``SlackBot.EARLY_ACKS`` events may be acknowledged and still wait for the bot's loop; past that,
the next event is acknowledged only once its dispatch is done, as on the loop itself (Slack then slows
down or retries, rather than this process queueing without end).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading

from aiohttp import web

log = logging.getLogger("factbot.slack")

SWITCH_INTERVAL = 0.001  # seconds: how soon a thread waiting for the interpreter lock is handed it


class Front:
    """``app`` served on ``host:port`` from a thread with its own event loop (``start``, ``stop``)."""

    def __init__(self, app: web.Application, host: str, port: int):
        self.app = app
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> int:
        """Listen, and return the port bound (``OSError`` when the port cannot be had)."""
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        if sys.getswitchinterval() > SWITCH_INTERVAL:  # never raised: someone may have lowered it further
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread = threading.Thread(target=self._main, args=(ready,), name="factbot-slack-acks", daemon=True)
        self._thread.start()
        try:
            return await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(self._thread.join, 10)
            self._thread = None
            raise

    def _main(self, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            port = loop.run_until_complete(self._serve())
        except BaseException as exc:  # noqa: BLE001 - the starting side reports it
            ready.set_exception(exc)
            loop.close()
            return
        self._loop = loop
        ready.set_result(port)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> int:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening, let the requests being answered finish, and end the thread."""
        loop, thread, runner = self._loop, self._thread, self._runner
        self._loop = self._thread = self._runner = None
        if loop is None or thread is None:
            return
        if runner is not None:
            # Forwarded requests wait for this (the bot's) loop, which is free while it awaits the clean-up.
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(runner.cleanup(), loop))
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 10)
        if thread.is_alive():
            log.warning("the Slack events thread did not stop within 10 s")
