"""A fake Slack Socket Mode server on 127.0.0.1: the WebSocket that ``apps.connections.open`` points at.

The real slack-sdk ``SocketModeClient`` connects to it as it connects to
Slack: it gets ``hello``, then the test pushes envelopes (``events_api``,
``slash_commands``, ``interactive``) and waits for the client's
acknowledgement of each ``envelope_id`` (with the response payload, if
any).  Ping frames are answered, ``disconnect`` can be sent to make the
client reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "A0FACTBOT"


class FakeSocketMode:
    def __init__(self) -> None:
        self.connections: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the client's ack message
        self.received: list[dict[str, Any]] = []  # everything the client sent, in order
        self.hellos = 0
        self.connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in list(self.connections):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake-ticket&app_id={APP_ID}"

    @property
    def current(self) -> web.WebSocketResponse:
        live = [ws for ws in self.connections if not ws.closed]
        if not live:
            raise AssertionError("no Socket Mode client is connected")
        return live[-1]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_json({
            "type": "hello", "num_connections": len([c for c in self.connections if not c.closed]),
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        })
        self.hellos += 1
        self.connected.set()
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.received.append(data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                self._changed.set()
        return ws

    # -- pushing envelopes --------------------------------------------------------------------
    async def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False,
                   retry_attempt: int = 0) -> str:
        envelope_id = f"env-{next(self._ids):04d}"
        envelope: dict[str, Any] = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                                    "accepts_response_payload": accepts_response_payload}
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        await self.current.send_json(envelope)
        return envelope_id

    async def events_api(self, body: dict[str, Any], *, retry_attempt: int = 0) -> str:
        return await self.send("events_api", body, retry_attempt=retry_attempt)

    async def slash_command(self, payload: dict[str, Any]) -> str:
        return await self.send("slash_commands", payload, accepts_response_payload=True)

    async def interactive(self, payload: dict[str, Any]) -> str:
        return await self.send("interactive", payload, accepts_response_payload=payload.get("type") == "view_submission")

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        await self.current.send_json({"type": "disconnect", "reason": reason,
                                      "debug_info": {"host": "applink-fake"}})

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The client's acknowledgement of one envelope (``{"envelope_id": …}`` plus any ``payload``)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while envelope_id not in self.acks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no ack for {envelope_id}; received {self.received}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.acks[envelope_id]
