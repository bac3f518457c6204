"""Running the desk: on its own (``factbot desk``) or beside the platforms in ``factbot run all``."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from ..config import Settings
from ..core.service import FactChecker
from ..core.store import Store
from .app import create_app

log = logging.getLogger("factbot.desk")


class DeskAdapter:
    """The desk as one more part of ``factbot run all`` (the runtime's Adapter protocol): no poster."""

    name = "desk"

    def __init__(self, checker: FactChecker, settings: Settings, *, host: str | None = None, port: int | None = None):
        self.checker, self.settings = checker, settings
        self.host, self.port = host or settings.desk.host, port or settings.desk.port
        self.runner: web.AppRunner | None = None

    def poster(self) -> None:
        return None

    async def start(self) -> None:
        from ..runtime import StartupError

        app = create_app(self.settings, self.checker.store, checker=lambda: self.checker)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        try:
            await web.TCPSite(self.runner, self.host, self.port).start()
        except OSError as exc:
            await self.runner.cleanup()
            raise StartupError(f"the desk cannot listen on {self.host}:{self.port} ({exc.strerror or exc})") from None
        log.info("desk on http://%s:%d/", self.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def health(self) -> tuple[bool, str]:
        return (self.runner is not None, "desk serving" if self.runner else "desk not started")


def serve(settings: Settings, store: Store, *, host: str, port: int) -> int:
    """Serve until interrupted; 0 on a clean stop, 2 when the address cannot be used."""
    app = create_app(settings, store)

    async def main() -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            print(f"Error: cannot listen on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
            return 2
        print(f"factbot desk on http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        return 0

    return asyncio.run(main())
