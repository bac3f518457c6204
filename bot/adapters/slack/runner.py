"""Starting factbot on Slack: ``run(settings, http=..., port=...)``, the runtime adapter, and the digest poster.

``run`` is what ``factbot run slack [--http] [--port N]`` calls.  Socket Mode
(the default) needs ``SLACK_APP_TOKEN`` and ``SLACK_BOT_TOKEN`` and no public
URL; HTTP mode needs ``SLACK_SIGNING_SECRET`` and either ``SLACK_BOT_TOKEN``
(one workspace) or ``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET`` (the OAuth
install, any number of workspaces).  The tokens are checked with Slack
(``auth.test``, ``apps.connections.open``) before anything else happens; a
missing or rejected one ends the run with exit code 4 and one clear line,
never a traceback and never the token itself.

``SlackAdapter`` is what ``bot.runtime.Runtime`` drives (so Slack can run in
one process with Discord), and ``SlackPoster`` posts weekly digests and
correction notices for the scheduler.
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
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings, SlackSettings
from ...core.chat import Chat
from ...core.delivery import DeliveryGone
from ...core.digest import DIGEST_TAG
from ...core.models import Correction, Digest
from ...core.service import FactChecker
from ...core.subscriptions import Subscription
from ...exitcodes import EXIT_CONFIG
from ...runtime import StartupError, serve
from . import render
from .api import api_url, slack_error, web_client
from .app import EVENTS_PATH, PLATFORM, SlackBot
from .front import Front
from .verify import verify_first

log = logging.getLogger("factbot.slack")

DEFAULT_PORT = 3000
UPDATED_BLOCK = "factbot_updated"  # the block_id of the line that marks an earlier reply as corrected

_REJECTED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
             "not_allowed_token_type", "invalid_token"}
_GONE = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "token_revoked", "invalid_auth",
         "restricted_action", "team_access_not_granted", "missing_scope"}


def missing_settings(settings: SlackSettings, *, http: bool) -> str | None:
    """What is missing to start in this mode, as one sentence an operator can act on (None: all there)."""
    bot = settings.bot_token
    if http:
        if not settings.signing_secret:
            return ("no Slack signing secret: HTTP mode needs SLACK_SIGNING_SECRET "
                    "(or signing_secret in the [slack] section of the config file)")
        cid, secret = settings.client_id, settings.client_secret
        if bool(cid) != bool(secret):
            return "the multi-workspace install needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        if not bot and not cid:
            return ("no Slack bot token: HTTP mode needs SLACK_BOT_TOKEN for one workspace, "
                    "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many")
        return None
    if not bot or not settings.app_token:
        tokens = (("SLACK_BOT_TOKEN", bot), ("SLACK_APP_TOKEN", settings.app_token))
        absent = " and ".join(name for name, value in tokens if not value)
        return (f"no {absent}: Socket Mode needs SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…, with "
                "connections:write); or run with --http and SLACK_SIGNING_SECRET")
    return None


class SlackAdapter:
    """The Slack connection as ``bot.runtime.Runtime`` drives it (Socket Mode, or HTTP mode on ``port``)."""

    name = "slack"

    def __init__(self, checker: FactChecker, settings: SlackSettings, *, http: bool = False, port: int = DEFAULT_PORT,
                 host: str = "0.0.0.0", clock: Callable[[], dt.datetime] | None = None,
                 ping_interval: float = 10.0, drain_timeout: float = 10.0):
        self.checker = checker
        self.settings = settings
        self.http = http
        self.port = port
        self.host = host
        self.clock = clock
        self.ping_interval = ping_interval
        self.drain_timeout = drain_timeout
        self.bot: SlackBot | None = None
        self.handler: AsyncSocketModeHandler | None = None
        self._front: Front | None = None
        self._kept: asyncio.Task[None] | None = None
        self.bound_port: int | None = None
        self.identity = ""
        self._poster = SlackPoster(self)

    def poster(self) -> SlackPoster:
        return self._poster

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        problem = missing_settings(self.settings, http=self.http)
        if problem:
            raise StartupError(f"slack: {problem}")
        try:
            bot = SlackBot(self.checker, self.settings, http=self.http, clock=self.clock)
        except ValueError as exc:
            raise StartupError(f"slack: {exc}") from None
        try:
            await bot.prepare()
        except ValueError as exc:
            await bot.close()
            raise StartupError(f"slack: {exc}") from None
        if not bot.oauth:
            await self._check_bot_token(bot.client)
        socket_url = None if self.http else await self._open_socket(bot.client)
        self.checker.warm_up()  # after the tokens are known to be good, before events can arrive
        self.bot = bot
        bot.keep_alive()
        if self.http:
            # Served from a thread of its own, which acknowledges events at once (front.py); Bolt stays on this loop.
            web_app = bot.http_app(asyncio.get_running_loop())
            web_app.middlewares.append(verify_first(self.settings.signing_secret, EVENTS_PATH))
            front = Front(web_app, self.host, self.port)
            try:
                self.bound_port = await front.start()
            except OSError as exc:
                raise StartupError(f"slack: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})") from None
            self._front = front
            mode = "multi-workspace install" if bot.oauth else self.identity
            log.info("Slack HTTP mode on %s:%s (%s)", self.host, self.bound_port, mode)
        else:
            self.handler = AsyncSocketModeHandler(bot.app, app_token=self.settings.app_token,
                                                  ping_interval=self.ping_interval)
            self.handler.client.wss_uri = socket_url  # the URL just issued: no second apps.connections.open
            await self.handler.connect_async()
            log.info("Slack Socket Mode connected (%s)", self.identity)
        # Once events can arrive: renew the claim on the events this instance answers, and answer those another
        # instance left (bot/core/inbox.py). Not before: a start that fails leaves nothing running.
        self._kept = asyncio.get_running_loop().create_task(bot.follow_kept(), name="factbot-slack-kept")

    async def _check_bot_token(self, client: AsyncWebClient) -> None:
        try:
            found = await client.auth_test()
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in _REJECTED:
                raise StartupError(f"slack: Slack rejected the bot token ({error}): check SLACK_BOT_TOKEN "
                                   "or bot_token in the [slack] section of the config file") from None
            raise StartupError(f"slack: auth.test failed ({error})") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._unreachable(exc) from None
        self.identity = f"{found.get('user', '?')} in {found.get('team', '?')}"

    async def _open_socket(self, client: AsyncWebClient) -> str:
        try:
            opened = await client.apps_connections_open(app_token=self.settings.app_token)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in _REJECTED:
                raise StartupError(f"slack: Slack rejected the app-level token ({error}): SLACK_APP_TOKEN must be "
                                   "an xapp-… token with the connections:write scope") from None
            raise StartupError(f"slack: Socket Mode is not available ({error}): turn it on in the app's settings, "
                               "or run with --http") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise self._unreachable(exc) from None
        return str(opened["url"])

    def _unreachable(self, exc: BaseException) -> StartupError:
        return StartupError(f"slack: cannot reach Slack at {api_url(self.settings)} ({type(exc).__name__})")

    async def stop(self) -> None:
        bot = self.bot
        if bot is None:
            return
        await bot.drain(self.drain_timeout)
        if self._kept is not None:
            self._kept.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._kept
            self._kept = None
        if self.handler is not None:
            await self.handler.close_async()
            self.handler = None
        if self._front is not None:
            await self._front.stop()
            self._front = None
        await bot.release_kept()  # what was acknowledged and not answered, to another instance at once
        await bot.close()
        self.bot = None

    def health(self) -> tuple[bool, str]:
        if self.bot is None:
            return False, "not started"
        if self.checker.store.write_problem:
            return False, f"answering, but the database cannot be written: {self.checker.store.write_problem}"
        if self.http:
            if self._front is None or not self._front.alive:
                return False, "the Slack events port is not served"
            return True, f"serving Slack requests on port {self.bound_port}"
        session = self.handler.client.current_session if self.handler is not None else None
        if session is None or session.closed:
            return False, "Socket Mode disconnected (reconnecting)"
        return True, f"connected to Slack in Socket Mode as {self.identity}"


class SlackPoster:
    """Posts weekly digests and correction notices for the scheduler (``bot.scheduler.Poster``)."""

    platform = PLATFORM

    def __init__(self, adapter: SlackAdapter):
        self.adapter = adapter

    def _chat(self) -> Chat:
        bot = self.adapter.bot
        if bot is None:
            raise RuntimeError("the Slack app is not running")
        return bot.chat

    async def _client(self, workspace: str) -> AsyncWebClient:
        bot = self.adapter.bot
        if bot is None:
            raise RuntimeError("the Slack app is not running")
        if not bot.oauth:
            return bot.client
        assert bot.installation_store is not None
        found = await bot.installation_store.async_find_bot(enterprise_id=None, team_id=workspace)
        if found is None or not found.bot_token:
            raise DeliveryGone(f"factbot is no longer installed in Slack workspace {workspace}")
        return web_client(self.adapter.settings, found.bot_token)

    @staticmethod
    def _gone(exc: SlackApiError, channel: str) -> None:
        error = slack_error(exc)
        if error in _GONE:
            raise DeliveryGone(f"factbot can no longer post in Slack channel {channel} ({error})") from None

    async def post_digest(self, sub: Subscription, digest: Digest, *, period: str) -> str:
        client = await self._client(sub.workspace)
        chat = self._chat()
        # the tag find_digest looks for
        blocks, text = render.render_digest(chat.digest_for(digest, render.PLATFORM, footer=DIGEST_TAG + period))
        try:
            posted = await client.chat_postMessage(channel=sub.channel, blocks=blocks, text=text, unfurl_links=False,
                                                   unfurl_media=False)
        except SlackApiError as exc:
            self._gone(exc, sub.channel)
            raise
        return str(posted["ts"])

    async def find_digest(self, sub: Subscription, *, period: str) -> str | None:
        client = await self._client(sub.workspace)
        try:
            history = await client.conversations_history(channel=sub.channel, limit=50)
        except SlackApiError as exc:
            self._gone(exc, sub.channel)
            raise
        for message in history.get("messages") or []:
            if message.get("bot_id") and render.digest_tag(message.get("blocks") or []) == DIGEST_TAG + period:
                return str(message["ts"])
        return None

    async def post_correction(self, correction: Correction) -> None:
        """Post the correction in the earlier reply's thread, and mark that reply "updated"."""
        client = await self._client(correction.workspace)
        notice, updated = self._chat().correction_for(correction, render.PLATFORM)
        thread = correction.thread_id or correction.message_id
        try:
            await client.chat_postMessage(channel=correction.channel, thread_ts=thread, unfurl_links=False,
                                          unfurl_media=False, **render.render_reply(notice).kwargs())
        except SlackApiError as exc:
            self._gone(exc, correction.channel)
            raise
        original = await self._message(client, correction)
        if original is None:
            return  # the reply was removed meanwhile: the correction itself is what matters
        note = {**render.context(render.escape(updated)), "block_id": UPDATED_BLOCK}
        blocks = [b for b in original.get("blocks") or [] if not _is_updated_note(b)]
        try:
            await client.chat_update(channel=correction.channel, ts=correction.message_id,
                                     blocks=render.fit_blocks([note, *blocks]), text=original.get("text") or "")
        except SlackApiError as exc:
            log.warning("could not mark an earlier reply as updated: %s", slack_error(exc))

    @staticmethod
    async def _message(client: AsyncWebClient, c: Correction) -> dict[str, Any] | None:
        try:
            if c.thread_id and c.thread_id != c.message_id:
                found = await client.conversations_replies(channel=c.channel, ts=c.thread_id, limit=200)
            else:
                found = await client.conversations_history(channel=c.channel, latest=c.message_id, inclusive=True,
                                                           limit=1)
        except SlackApiError:
            return None
        return next((m for m in found.get("messages") or [] if m.get("ts") == c.message_id), None)


def _is_updated_note(block: dict[str, Any]) -> bool:
    elements = block.get("elements") or []
    first = str(elements[0].get("text", "")) if elements else ""
    # by its block_id, in any language; replies marked before it had one, by their English words
    return block.get("type") == "context" and (block.get("block_id") == UPDATED_BLOCK or first.startswith("✏️ Updated:"))


def run(settings: Settings, *, http: bool = False, port: int = DEFAULT_PORT, host: str = "0.0.0.0",
        metrics_port: int | None = 9100, metrics_host: str = "127.0.0.1", scheduler: bool = True, stderr=None) -> int:
    """``factbot run slack [--http] [--port N]``: run until SIGTERM/SIGINT.

    0 on a clean stop, 4 for a missing or rejected token or a database problem.  ``port`` is where HTTP
    mode serves ``/slack/events`` (and the install routes); ``metrics_port`` is the
    runtime's ``/healthz`` + ``/metrics`` (None: off).
    """
    stderr = stderr or sys.stderr
    problem = missing_settings(settings.slack, http=http)
    if problem:
        print(f"Error: {problem}", file=stderr)
        return EXIT_CONFIG
    return serve(settings, lambda checker: [SlackAdapter(checker, settings.slack, http=http, port=port, host=host)],
                 metrics_host=metrics_host, metrics_port=metrics_port, scheduler=scheduler, stderr=stderr)
