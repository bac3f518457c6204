"""Starting factbot on Discord: ``run(settings)``, the runtime adapter, and the digest poster.

``run`` is what ``factbot run discord`` calls: it checks the token, opens the
database and hands a ``DiscordAdapter`` to the shared ``Runtime`` (health,
metrics, the digest scheduler, clean stop on SIGTERM).  A missing or rejected
token ends it with exit code 4 and one clear line, never a traceback and never
the token itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import discord

from ...config import DiscordSettings, Settings
from ...core.chat import Chat
from ...core.delivery import DeliveryGone
from ...core.digest import DIGEST_TAG
from ...core.models import Correction, Digest
from ...core.service import FactChecker
from ...core.subscriptions import Subscription
from ...exitcodes import EXIT_CONFIG
from ...runtime import StartupError, serve
from . import render
from .client import FactbotClient, configure_endpoints, default_intents

log = logging.getLogger("factbot.discord")

MISSING_TOKEN = "no Discord token: set DISCORD_TOKEN, or token in the [discord] section of the config file"
REJECTED_TOKEN = "Discord rejected the token (HTTP 401): check DISCORD_TOKEN or the [discord] token setting"


class DiscordAdapter:
    """The Discord connection as ``bot.runtime.Runtime`` drives it."""

    name = "discord"

    def __init__(self, checker: FactChecker, settings: DiscordSettings, *, clock: Callable[[], dt.datetime] | None = None,
                 ready_timeout: float = 60.0, **client_options: Any):
        self.checker = checker
        self.settings = settings
        self.clock = clock
        self.ready_timeout = ready_timeout
        self.client_options = client_options
        self.client: FactbotClient | None = None
        self._task: asyncio.Task | None = None
        self._poster = DiscordPoster(self)

    def poster(self) -> DiscordPoster:
        return self._poster

    async def start(self) -> None:
        token = self.settings.token
        if not token:
            raise StartupError(f"discord: {MISSING_TOKEN}")
        configure_endpoints(self.settings)
        warmed = False
        # Ask for the message-content intent (watch mode, @factbot as a reply); if the application
        # is not allowed it (developer portal switch off), run without it and say what that costs.
        shards = self.settings.shard_count
        if shards:  # this process opens one shard; the others run elsewhere (docs/scaling.md)
            self.client_options.setdefault("shard_id", self.settings.shard_id)
            self.client_options.setdefault("shard_count", shards)
        for message_content in (True, False):
            client = FactbotClient(self.checker, settings=self.settings, clock=self.clock,
                                   intents=default_intents(message_content=message_content), **self.client_options)
            try:
                await client.login(token)
            except discord.LoginFailure:
                await client.close()
                raise StartupError(f"discord: {REJECTED_TOKEN}") from None
            except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
                await client.close()
                raise StartupError(
                    f"discord: cannot reach Discord at {self.settings.api_base} ({type(exc).__name__})"
                ) from None
            if not warmed:  # after the token is known to be good, before events can arrive
                self.checker.warm_up()
                warmed = True
            task = asyncio.create_task(client.connect(), name="discord-gateway")
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({task, ready}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready in done:
                self.client, self._task = client, task
                task.add_done_callback(self._connection_ended)
                if not message_content:
                    log.warning("running without the message content intent: watch mode and @factbot as a reply to "
                                "another message cannot read messages (enable it in the developer portal)")
                return
            ready.cancel()
            error = task.exception() if task in done else None
            if task not in done:
                task.cancel()
            await client.close()
            if isinstance(error, discord.PrivilegedIntentsRequired) and message_content:
                continue
            if isinstance(error, discord.PrivilegedIntentsRequired):
                raise StartupError("discord: the gateway refused the intents factbot needs") from None
            if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
                raise StartupError(f"discord: {REJECTED_TOKEN}") from None
            if error is not None:
                raise StartupError(f"discord: the gateway connection failed ({type(error).__name__})") from None
            raise StartupError(f"discord: no answer from the gateway within {self.ready_timeout:g} s")

    def _connection_ended(self, task: asyncio.Task) -> None:
        """discord.py reconnects by itself; it only gives up on what a reconnect cannot fix (e.g. a revoked token)."""
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("the Discord connection ended and will not come back: %s (code %s)", type(error).__name__,
                      getattr(error, "code", "-"))

    async def stop(self) -> None:
        client, task = self.client, self._task
        if client is None:
            return
        await client.drain()
        await client.close()
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    def health(self) -> tuple[bool, str]:
        client = self.client
        if client is None or client.is_closed():
            return False, "not connected"
        ws = client.ws
        if ws is None or not ws.open or not client.is_ready():
            return False, "gateway disconnected (reconnecting)"
        return True, f"connected as {client.user} to {len(client.guilds)} server(s)"


class DiscordPoster:
    """Posts weekly digests and correction notices for the scheduler (``bot.scheduler.Poster``)."""

    platform = "discord"

    def __init__(self, adapter: DiscordAdapter):
        self.adapter = adapter
        # The words of a digest or a correction (in the channel's language), also when no gateway client runs
        # (``factbot digest send-now`` posts over REST alone).
        self.chat = Chat(adapter.checker)

    @property
    def client(self) -> FactbotClient:
        client = self.adapter.client
        if client is None or client.is_closed():
            raise RuntimeError("the Discord client is not connected")
        return client

    async def _channel(self, channel_id: str) -> discord.abc.Messageable:
        client = self.client
        try:
            channel = client.get_channel(int(channel_id)) or await client.fetch_channel(int(channel_id))
        except discord.NotFound:
            raise DeliveryGone(f"Discord channel {channel_id} no longer exists") from None
        except discord.Forbidden:
            raise DeliveryGone(f"factbot can no longer see Discord channel {channel_id}") from None
        if not isinstance(channel, discord.abc.Messageable):
            raise DeliveryGone(f"Discord channel {channel_id} cannot hold messages")
        return channel

    async def post_digest(self, sub: Subscription, digest: Digest, *, period: str) -> str:
        channel = await self._channel(sub.channel)
        embeds = render.render_digest(self.chat.digest_for(digest, render.PLATFORM))
        embeds[0].set_footer(text=DIGEST_TAG + period)  # how find_digest recognises this period after a crash
        ids = []
        try:
            for chunk in render.pack_embeds(embeds):
                sent = await channel.send(embeds=chunk, allowed_mentions=render.NO_MENTIONS)
                ids.append(str(sent.id))
        except discord.NotFound:
            raise DeliveryGone(f"Discord channel {sub.channel} no longer exists") from None
        except discord.Forbidden:
            raise DeliveryGone(f"factbot may no longer post in Discord channel {sub.channel}") from None
        return ids[0]

    async def find_digest(self, sub: Subscription, *, period: str) -> str | None:
        channel = await self._channel(sub.channel)
        me = self.client.user
        async for message in channel.history(limit=50):
            if me is not None and message.author.id == me.id and any(
                e.footer and e.footer.text == DIGEST_TAG + period for e in message.embeds
            ):
                return str(message.id)
        return None

    async def post_correction(self, correction: Correction) -> None:
        """Reply to the earlier verdict with the correction, and mark that verdict "updated"."""
        channel = await self._channel(correction.channel)
        notice, updated = self.chat.correction_for(correction, render.PLATFORM)
        reference = discord.MessageReference(message_id=int(correction.message_id), channel_id=int(correction.channel),
                                             fail_if_not_exists=False)
        await channel.send(**render.render_reply(notice).kwargs(), reference=reference)
        try:
            original = await channel.fetch_message(int(correction.message_id))
            await original.edit(content=render.clip(updated, render.CONTENT), allowed_mentions=render.NO_MENTIONS)
        except (discord.NotFound, discord.Forbidden):
            pass  # the reply was removed meanwhile: the correction itself is what matters


def run(settings: Settings, *, port: int | None = 9100, scheduler: bool = True, metrics_host: str = "127.0.0.1",
        stderr=None) -> int:
    """``factbot run discord``: run until SIGTERM/SIGINT; 0 on a clean stop, 4 for a token or database problem."""
    stderr = stderr or sys.stderr
    if not settings.discord.token:
        print(f"Error: {MISSING_TOKEN}", file=stderr)
        return EXIT_CONFIG
    return serve(settings, lambda checker: [DiscordAdapter(checker, settings.discord)], metrics_host=metrics_host,
                 metrics_port=port, scheduler=scheduler, stderr=stderr)
