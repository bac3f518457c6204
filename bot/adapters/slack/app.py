"""The factbot Slack app: Bolt listeners for mentions, channel messages, ``/factcheck``, the message shortcut,
buttons and App Home.

Every listener does the same three things: turn the Slack payload into the
core's ``IncomingMessage``, ask the core, and send what ``render`` makes of
the result.  Matching, storage and policy (rate limits, watch cooldowns,
votes, suggestions, retried-event dedupe) are the core's; this module only
knows Slack.

Commands, shortcuts and buttons are acknowledged first, and the work is done
after the acknowledgement (Slack wants an answer within 3 seconds); events
are acknowledged by Bolt before their listener runs.  A retried event
(``X-Slack-Retry-Num`` over HTTP, ``retry_attempt`` in Socket Mode) is
acknowledged and dropped when its ``event_id`` was seen before, even by a
previous run on the same database.  Errors are logged (the log filter blanks
tokens) and answered with one short sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from ...config import Settings
from ...core.chat import Answer, Chat, Request
from ...core.normalize import content_words
from ...core.pacing import CheckQueue
from ...core.replies import Reply as NeutralReply
from ...core.service import FactChecker
from . import render
from .render import PLATFORM as SLACK
from .render import Reply

log = logging.getLogger("factbot.slack")

PLATFORM = SLACK.name

# What the bot token needs (deploy/slack-manifest.yml lists the same; a test keeps them equal).
BOT_SCOPES = (
    "app_mentions:read",  # @factbot
    "channels:history",  # watch mode (message.channels) and a thread's parent message
    "groups:history",  # a thread's parent message in private channels factbot was invited to
    "chat:write",  # replies
    "chat:write.public",  # "Share in channel" and shortcut replies in public channels factbot is not in
    "commands",  # /factcheck and the message shortcut
    "users:read",  # is this person a workspace admin?
)
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

PRUNE_EVERY = 3600.0  # seconds between clean-ups of the remembered event ids
_CANT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "ekm_access_denied"}


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``…) or the HTTP status when the answer was not Slack's JSON."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return f"http_{getattr(exc.response, 'status_code', '?')}"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def api_url(settings: Settings) -> str:
    url = (settings.slack_api_url or Settings.slack_api_url).strip()
    return url if url.endswith("/") else url + "/"


def authorize_url(settings: Settings) -> str:
    """Where the install button sends people: next to the Web API (``…/api/`` → ``…/oauth/v2/authorize``)."""
    base = api_url(settings)
    base = base[: -len("api/")] if base.endswith("/api/") else base
    return base + "oauth/v2/authorize"


def web_client(settings: Settings, token: str | None) -> AsyncWebClient:
    """A Web API client for ``settings.slack_api_url``: waits out 429s (Retry-After), retries lost connections."""
    return AsyncWebClient(
        token=token or None,
        base_url=api_url(settings),
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )


_BOLT_ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SCOPES",
             "SLACK_USER_SCOPES", "SLACK_REDIRECT_URI", "SLACK_INSTALL_PATH", "SLACK_REDIRECT_URI_PATH",
             "SLACK_VERIFICATION_TOKEN")


@contextlib.contextmanager
def _bolt_env_hidden() -> Iterator[None]:
    """Build Bolt objects from factbot's settings only.

    factbot reads its Slack settings from the config file, the environment or flags; Bolt would also read
    ``SLACK_*`` variables on its own (and, seeing ``SLACK_CLIENT_ID``, set up a file-based OAuth store in
    the home directory even in Socket Mode).  The variables are hidden while Bolt's constructors run
    (synchronously, nothing else runs meanwhile) and put back at once.
    """
    saved = {k: os.environ.pop(k) for k in _BOLT_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def strip_mentions(text: str, user_id: str | None) -> str:
    if not user_id:
        return text.strip()
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", " ", text or "").strip()


LOCALE_TTL = 3600.0  # seconds a user's Slack locale is kept before users.info is asked again


@dataclass(frozen=True)
class _Asker:
    locale: str = ""
    info: dict[str, Any] | None = None  # users.info's user, when it was just asked (None: cached, or it failed)
    looked_up: bool = False


def _language_words(args: list[str]) -> bool:
    """``/factcheck language …`` forms that are a setting (anything else is a claim to check)."""
    words = [a.lower() for a in args]
    if words and words[-1] == "workspace" and words[0] in ("set", "clear"):
        words = words[:-1]
    return words in ([], ["show"], ["clear"]) or (len(words) == 2 and words[0] == "set")


class SlackBot:
    """factbot on Slack: a Bolt ``AsyncApp`` and its listeners around one ``FactChecker``.

    ``http`` selects HTTP mode (signed requests, and the OAuth install when a client id and secret are set);
    otherwise the app is driven by Socket Mode.  ``clock`` is replaceable for tests of cooldowns.
    """

    def __init__(self, checker: FactChecker, settings: Settings, *, http: bool,
                 clock: Callable[[], dt.datetime] | None = None, chat: Chat | None = None):
        self.checker = checker
        self.settings = settings
        self.http = http
        self.clock = clock or _utcnow
        self.admins = settings.slack_admin_ids
        self.shortcut_reply = settings.slack_shortcut_reply
        self.oauth = http and bool(settings.slack_client_id and settings.slack_client_secret)
        self.client = web_client(settings, None if self.oauth else settings.slack_bot_token)
        # The conversation layer: every decision and every word; one per process when the runtime shares it.
        # (Its check queue runs checks one at a time: Bolt starts each listener after the ack, and a burst run back
        # to back would keep new requests from being acknowledged.)
        self.chat = chat or Chat(checker, max_wait=settings.max_wait_seconds, clock=self.clock)
        self._pruned = time.monotonic()
        self._locales: dict[tuple[str, str], tuple[str, float]] = {}  # (team, user) -> (Slack locale, until)
        self.installation_store: SQLite3InstallationStore | None = None
        self.app = self._build_app()
        self._register()

    # -- construction ---------------------------------------------------------------------
    def _build_app(self) -> AsyncApp:
        s = self.settings
        options: dict[str, Any] = {
            "name": "factbot",
            "client": self.client,
            "signing_secret": s.slack_signing_secret if self.http else "",
            "process_before_response": False,  # ack first, work after
        }
        if self.oauth:
            path = self.checker.store.path
            if path is None:
                raise ValueError("the multi-workspace install needs a database file, not an in-memory database")
            self.installation_store = SQLite3InstallationStore(database=str(path), client_id=s.slack_client_id)
            options["oauth_settings"] = AsyncOAuthSettings(
                client_id=s.slack_client_id, client_secret=s.slack_client_secret, scopes=list(BOT_SCOPES),
                user_scopes=[], install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
                authorization_url=authorize_url(s), installation_store=self.installation_store,
                state_store=SQLite3OAuthStateStore(database=str(path), expiration_seconds=600),
            )
            # One auth.test per workspace token, not one per request.
            options["authorize"] = AsyncInstallationStoreAuthorize(
                logger=log, installation_store=self.installation_store, client_id=s.slack_client_id,
                client_secret=s.slack_client_secret, cache_enabled=True,
            )
        with _bolt_env_hidden():
            return AsyncApp(**options)

    def _register(self) -> None:
        app = self.app
        app.middleware(self._dedupe)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("app_home_opened")(self.on_home)
        app.command("/factcheck")(self.on_command)
        app.shortcut(render.SHORTCUT)(self.on_shortcut)
        app.action(render.SHARE)(self.on_share)
        app.action(re.compile(rf"^{render.REVEAL}_\d+$"))(self.on_reveal)
        app.action(re.compile(rf"^({render.VOTE_UP}|{render.VOTE_DOWN})$"))(self.on_vote)
        app.action(render.DELETE)(self.on_delete)
        app.action(render.SUGGEST)(self.on_suggest)
        app.error(self._on_error)

    def http_app(self, health: Callable[[], tuple[bool, str]] | None = None) -> web.Application:
        """The HTTP-mode endpoints: ``/slack/events`` (events, commands, interactivity), the OAuth install
        routes when configured, and ``/healthz``."""
        web_app = web.Application(client_max_size=4 * 1024 * 1024)

        async def events(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await self.app.async_dispatch(await to_bolt_request(request)))

        async def oauth(request: web.Request) -> web.Response:
            flow = self.app.oauth_flow
            assert flow is not None
            bolt_request = await to_bolt_request(request)
            if request.path == INSTALL_PATH:
                return await to_aiohttp_response(await flow.handle_installation(bolt_request))
            return await to_aiohttp_response(await flow.handle_callback(bolt_request))

        async def healthz(request: web.Request) -> web.Response:
            ok, why = health() if health is not None else (True, "ok")
            return web.Response(status=200 if ok else 503, text=("ok" if ok else why) + "\n")

        web_app.router.add_post(EVENTS_PATH, events)
        if self.app.oauth_flow is not None:
            web_app.router.add_get(INSTALL_PATH, oauth)
            web_app.router.add_get(REDIRECT_PATH, oauth)
        web_app.router.add_get("/healthz", healthz)
        return web_app

    # -- connections to Slack -----------------------------------------------------------------
    def keep_alive(self) -> None:
        """Send the Web API calls over one pooled aiohttp session (call it from the running event loop).

        Without it slack-sdk opens a session, and so a new connection (and, to Slack, a TLS handshake), for
        every call: under load that was a quarter of the bot's CPU (docs/performance.md). Bolt passes this
        session on to the clients it makes for each request.
        """
        if self.client.session is None or self.client.session.closed:
            self.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))

    async def close(self) -> None:
        """Close the pooled session; a later call (a digest after the stop) opens its own, as without it."""
        session, self.client.session = self.client.session, None
        if session is not None and not session.closed:
            await session.close()

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def checks(self) -> CheckQueue:
        return self.chat.checks

    @property
    def accepting(self) -> bool:
        return self.chat.accepting

    def _track(self) -> None:
        """Count the running listener as in-flight work until it ends (see ``drain``)."""
        self.chat.track()

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new work and let the replies being written finish (at most ``timeout`` seconds)."""
        await self.chat.drain(timeout)

    async def idle(self) -> None:
        """Wait until every request acknowledged so far has been handled and its replies sent.

        Bolt starts a listener in a task of its own at the ack; that task tracks itself in its first step,
        so one turn of the loop after an ack it is counted (``Chat.idle`` then waits for it).
        """
        await asyncio.sleep(0)
        await self.chat.idle()

    async def _dedupe(self, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Acknowledge, and drop, an event delivered before (Slack retries when an ack seems late)."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and time.monotonic() - self._pruned > PRUNE_EVERY:
            self._pruned = time.monotonic()
            self.chat.prune_events()  # Slack retries within minutes; two days of ids is plenty
        # A command, shortcut or button press carries a trigger_id unique to it: a replay of one is dropped too.
        delivery = event_id or (f"trigger:{body['trigger_id']}" if body.get("trigger_id") else None)
        if delivery and not self.chat.first_delivery(PLATFORM, str(delivery)):
            log.info("retried event acknowledged, not answered again", extra={"event_id": event_id})
            return BoltResponse(status=200, body="")
        if not self.accepting and body.get("type") == "event_callback":
            return BoltResponse(status=200, body="")  # shutting down: nothing new starts
        await next()
        return None

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", type(error).__name__, exc_info=error,
                  extra={"kind": body.get("type") or body.get("command") or "?"})

    def _failed(self, what: str, exc: BaseException, **where: Any) -> None:
        detail = slack_error(exc) if isinstance(exc, SlackApiError) else ""
        log.error("%s failed: %s %s", what, type(exc).__name__, detail or "", exc_info=exc,
                  extra={"platform": PLATFORM, **where})

    def _remember(self, answer: Answer, request: Request, *, thread_ts: str) -> str:
        """Keep a private answer for its "Share in channel" button; returns the button's value.

        Kept in the database with the public message already rendered, so a press still works after a
        restart or when another instance behind a load balancer receives it.
        """
        assert answer.result is not None
        public = render.render_reply(self.chat.result_reply(answer.result, SLACK, answer.reply.locale, shared=True))
        return self.chat.keep_for_share(answer.result, json.dumps(public.kwargs()), request, thread_id=thread_ts)

    def _record(self, posted: Any, answer: Answer, request: Request, *, thread_ts: str) -> None:
        """Remember a public reply, so 🗑️, 👍/👎, watch cooldowns and later corrections work.

        ``thread_ts`` is the root of the thread the reply sits in ("" for a top-level message): a
        correction notice goes there.
        """
        self.chat.record(answer, platform=PLATFORM, workspace=request.workspace, channel=posted["channel"],
                         message_id=posted["ts"], source=request.source, requester=request.user, thread_id=thread_ts)

    @staticmethod
    async def _post(client: AsyncWebClient, channel: str, reply: Reply, *, thread_ts: str | None = None) -> Any:
        return await client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                             unfurl_media=False, **reply.kwargs())

    @staticmethod
    async def _tell(client: AsyncWebClient, channel: str, user: str, reply: Reply, *,
                    thread_ts: str | None = None) -> None:
        """A private answer in a channel (no response_url at hand)."""
        try:
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **reply.kwargs())
        except SlackApiError as exc:
            log.warning("could not answer privately: %s", slack_error(exc))

    @staticmethod
    async def _respond(respond: Any, reply: Reply, *, public: bool = False, replace: bool = False) -> None:
        """Answer through the interaction's response_url (ephemeral unless ``public``)."""
        await respond(response_type="in_channel" if public else "ephemeral", replace_original=replace,
                      **reply.kwargs())

    async def _user_info(self, client: AsyncWebClient, user: str) -> dict[str, Any] | None:
        """``users.info`` with the user's locale (None when Slack cannot say)."""
        try:
            info = await client.users_info(user=user, include_locale=True)
        except SlackApiError as exc:
            log.warning("could not look up a user: %s", slack_error(exc))
            return None
        return info.get("user") or {}

    async def _asker(self, client: AsyncWebClient, team: str, user: str) -> _Asker:
        """Who asked: their Slack locale (cached for ``LOCALE_TTL`` seconds), and what Slack said when it was asked."""
        now = time.monotonic()
        cached = self._locales.get((team, user))
        if cached is not None and cached[1] > now:
            return _Asker(cached[0])
        info = await self._user_info(client, user) if user else None
        locale = str((info or {}).get("locale") or "")
        self._locales[(team, user)] = (locale, now + (LOCALE_TTL if info is not None else 60.0))
        if len(self._locales) > 10_000:
            self._locales = {k: v for k, v in self._locales.items() if v[1] > now}
        return _Asker(locale, info, looked_up=True)

    async def is_admin(self, client: AsyncWebClient, user: str, asker: _Asker | None = None) -> bool:
        """Workspace admins and owners, and the users on factbot's configured admin list."""
        if user in self.admins:
            return True
        info = asker.info if asker is not None and asker.looked_up else await self._user_info(client, user)
        if info is None:
            return False
        return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))

    @staticmethod
    def _request(text: str, *, workspace: str, channel: str, user: str, ts: str, source: str,
                 locale: str = "") -> Request:
        return Request(platform=PLATFORM, text=text, workspace=workspace, channel=channel, user=user, message_id=ts,
                       source=source, locale=locale)

    # -- mentions ---------------------------------------------------------------------------
    async def on_mention(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        """``@factbot <text>`` → verdict in the thread; ``@factbot`` alone in a thread checks the thread's parent."""
        user = event.get("user") or ""
        if not user or event.get("bot_id") or not self.accepting:
            return
        self._track()
        team = context.team_id or event.get("team") or ""
        channel, ts = event["channel"], event["ts"]
        thread = event.get("thread_ts") or ts
        chat = self.chat
        locale = ""
        try:
            asker = await self._asker(client, team, user)
            locale = chat.locale_for(self._request("", workspace=team, channel=channel, user=user, ts=ts,
                                                   source="mention", locale=asker.locale))
            text = strip_mentions(event.get("text") or "", context.bot_user_id)
            target = ts
            if not content_words(text):
                if event.get("thread_ts") and event["thread_ts"] != ts:
                    parent = await self._parent(client, channel, event["thread_ts"])
                    problem = self._unreadable(parent)
                    if problem:
                        await self._post(client, channel, render.render_reply(chat.cannot_check(problem, locale)),
                                         thread_ts=thread)
                        return
                    assert parent is not None
                    text, target = parent.get("text") or "", parent["ts"]
                else:
                    await self._post(client, channel, render.render_reply(chat.help(SLACK, locale)), thread_ts=thread)
                    return
            request = self._request(text, workspace=team, channel=channel, user=user, ts=target, source="mention",
                                    locale=asker.locale)
            limited = chat.rate_limited(request, every_time=False)
            if limited is not None:
                if limited.body:
                    await self._tell(client, channel, user, render.render_reply(limited), thread_ts=thread)
                return
            answer = await chat.check(request, SLACK)
            posted = await self._post(client, channel, render.render_reply(answer.reply), thread_ts=thread)
            self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the bot
            self._failed("mention", exc, workspace=team, channel=channel)
            with contextlib.suppress(Exception):
                await self._post(client, channel, render.render_reply(chat.error(locale)), thread_ts=thread)

    @staticmethod
    async def _parent(client: AsyncWebClient, channel: str, thread_ts: str) -> dict[str, Any] | None:
        try:
            found = await client.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
        except SlackApiError as exc:
            log.warning("could not read a thread's parent: %s", slack_error(exc))
            return None
        messages = found.get("messages") or []
        return messages[0] if messages and messages[0].get("ts") == thread_ts else None

    @staticmethod
    def _unreadable(parent: dict[str, Any] | None) -> str:
        """Why a thread's first message cannot be checked ("" when it can), as the core names the case."""
        if parent is None:
            return "thread-gone"
        if parent.get("bot_id") or parent.get("subtype") == "bot_message":
            return "app"
        if not content_words(parent.get("text") or ""):
            return "thread-no-text"
        return ""

    # -- watch mode -------------------------------------------------------------------------
    async def on_message(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        """Channel messages (``message.channels``): the core decides (watch on, confident match, cooldown clear)."""
        text = event.get("text") or ""
        user = event.get("user") or ""
        if event.get("subtype") or event.get("bot_id") or not user or not text.strip() or not self.accepting:
            return  # edits, joins, bots (factbot too), and empty messages
        if context.bot_user_id and f"<@{context.bot_user_id}" in text:
            return  # a mention: on_mention answers it
        self._track()
        team = context.team_id or event.get("team") or ""
        channel, ts = event["channel"], event["ts"]
        try:
            request = self._request(text, workspace=team, channel=channel, user=user, ts=ts, source="watch")
            answer = await self.chat.watch(request, SLACK)
            if answer is None or answer.result is None:
                return
            # Worth a reply: in the language of whoever wrote the message (their Slack locale, as for a mention).
            asker = await self._asker(client, team, user)
            reply = answer.reply
            if asker.locale:
                locale = self.chat.locale_for(dataclasses.replace(request, locale=asker.locale), answer.result)
                if locale != reply.locale:
                    reply = self.chat.result_reply(answer.result, SLACK, locale, watch=True)
                    answer = dataclasses.replace(answer, reply=reply)
            thread = event.get("thread_ts") or ts
            posted = await self._post(client, channel, render.render_reply(reply), thread_ts=thread)
            # The author of the watched message counts as the asker: they may remove the reply.
            self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001
            self._failed("watch", exc, workspace=team, channel=channel)

    # -- App Home ---------------------------------------------------------------------------
    async def on_home(self, event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        self._track()
        team = context.team_id or ""
        try:
            await client.views_publish(user_id=event["user"], view=self.home_view(team))
        except Exception as exc:  # noqa: BLE001
            self._failed("app home", exc, workspace=team)

    def home_view(self, team: str) -> dict[str, Any]:
        watched, subs, top = self.chat.settings_overview(PLATFORM, team)
        locale = self.chat.locale_for(self._request("", workspace=team, channel="", user="", ts="", source="home"))
        return render.render_home(self.chat.home(SLACK, locale, watched=watched, subscriptions=subs, top=top))

    # -- /factcheck -------------------------------------------------------------------------
    async def on_command(self, ack: Any, command: dict[str, Any], respond: Any, client: AsyncWebClient,
                         context: Any) -> None:
        await ack()
        self._track()
        text = (command.get("text") or "").strip()
        words = text.split()
        head = [w.lower() for w in words[:2]]
        team = context.team_id or command.get("team_id") or ""
        channel, user = command.get("channel_id") or "", command.get("user_id") or ""
        chat = self.chat
        locale = ""
        try:
            if not self.accepting:
                await self._respond(respond, render.render_reply(chat.restarting()))
                return
            asker = await self._asker(client, team, user)
            request = self._request("", workspace=team, channel=channel, user=user, ts="", source="command",
                                    locale=asker.locale)
            locale = chat.locale_for(request)
            if not words or head == ["help"]:
                await self._respond(respond, render.render_reply(chat.help(SLACK, locale, admin=True)))
            elif head[0] == "watch" and (len(words) == 1 or (len(words) == 2 and head[1] in ("on", "off"))):
                await self._watch(respond, client, request, asker, to=None if len(words) == 1 else head[1] == "on")
            elif head[0] == "language" and _language_words(words[1:]):
                await self._language(respond, client, request, asker, words[1:])
            elif head[0] == "digest" and len(head) == 2 and head[1] in ("subscribe", "unsubscribe", "preview"):
                await self._digest(respond, client, request, asker, head[1], words[2:])
            else:
                await self._check_privately(respond, dataclasses.replace(request, text=text), thread_ts="")
        except Exception as exc:  # noqa: BLE001
            self._failed("/factcheck", exc, workspace=team, channel=channel)
            with contextlib.suppress(Exception):
                await self._respond(respond, render.render_reply(chat.error(locale)))

    async def _answer(self, respond: Any, reply: NeutralReply) -> None:
        """Through the response_url: private replies to whoever asked, public ones in the channel."""
        await self._respond(respond, render.render_reply(reply), public=not reply.private)

    async def _check_privately(self, respond: Any, request: Request, *, thread_ts: str) -> None:
        """An ephemeral verdict with "Share in channel"."""
        chat = self.chat
        limited = chat.rate_limited(request, every_time=True)
        if limited is not None:
            await self._answer(respond, limited)
            return
        answer = await chat.check(request, SLACK, private=True)
        if answer.result is not None:
            key = self._remember(answer, request, thread_ts=thread_ts)
            reply = chat.result_reply(answer.result, SLACK, answer.reply.locale, private=True, share_token=key)
        else:  # a claim asked for by its id
            reply = answer.reply
        await self._answer(respond, reply)

    async def _watch(self, respond: Any, client: AsyncWebClient, request: Request, asker: _Asker,
                     to: bool | None) -> None:
        if to is None:
            await self._answer(respond, self.chat.watch_status(request, SLACK))
        elif not await self.is_admin(client, request.user, asker):
            await self._answer(respond, self.chat.admin_only("watch", self.chat.locale_for(request)))
        else:
            await self._answer(respond, self.chat.set_watch(request, SLACK, to))

    async def _language(self, respond: Any, client: AsyncWebClient, request: Request, asker: _Asker,
                        args: list[str]) -> None:
        """``language [show]``, ``language set <language> [workspace]``, ``language clear [workspace]``."""
        chat = self.chat
        action = args[0].lower() if args else "show"
        server = len(args) > 1 and args[-1].lower() == "workspace"
        rest = args[1:-1] if server else args[1:]
        if action == "show":
            await self._answer(respond, chat.language_status(request, SLACK))
        elif not await self.is_admin(client, request.user, asker):
            await self._answer(respond, chat.admin_only("language", chat.locale_for(request)))
        elif action == "set":
            await self._answer(respond, chat.set_language(request, SLACK, rest[0], server=server))
        else:
            await self._answer(respond, chat.clear_language(request, SLACK, server=server))

    async def _digest(self, respond: Any, client: AsyncWebClient, request: Request, asker: _Asker, action: str,
                      args: list[str]) -> None:
        chat = self.chat
        locale = chat.locale_for(request)
        if not await self.is_admin(client, request.user, asker):
            await self._answer(respond, chat.admin_only("digest", locale))
        elif action == "subscribe" and len(args) != 3:
            await self._answer(respond, chat.digest_usage(SLACK, locale))
        elif action == "subscribe":
            await self._answer(respond, chat.subscribe(request, day=args[0], time=args[1], timezone=args[2]))
        elif action == "unsubscribe":
            await self._answer(respond, chat.unsubscribe(request))
        else:
            blocks, text = self.preview_digest(request.workspace, request.channel, locale=request.locale)
            await respond(response_type="ephemeral", blocks=blocks, text=text)

    def preview_digest(self, team: str, channel: str, *, locale: str = "") -> tuple[list[dict[str, Any]], str]:
        request = self._request("", workspace=team, channel=channel, user="", ts="", source="command", locale=locale)
        return render.render_digest(self.chat.preview_reply(request, SLACK))

    # -- the message shortcut ----------------------------------------------------------------
    async def on_shortcut(self, ack: Any, shortcut: dict[str, Any], respond: Any, client: AsyncWebClient,
                          context: Any) -> None:
        """"Fact-check this message": a verdict in the message's thread (or privately, as configured)."""
        await ack()
        self._track()
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id", "")
        user = (shortcut.get("user") or {}).get("id", "")
        team = context.team_id or (shortcut.get("team") or {}).get("id", "")
        text = message.get("text") or ""
        ts = message.get("ts") or ""
        thread = message.get("thread_ts") or ts
        chat = self.chat
        locale = ""
        try:
            asker = await self._asker(client, team, user)
            request = self._request(text, workspace=team, channel=channel, user=user, ts=ts, source="shortcut",
                                    locale=asker.locale)
            locale = chat.locale_for(request)
            if not text.strip():
                await self._answer(respond, chat.cannot_check("no-text", locale))
                return
            if self.shortcut_reply == "ephemeral":
                await self._check_privately(respond, request, thread_ts=thread)
                return
            limited = chat.rate_limited(request, every_time=True)
            if limited is not None:
                await self._answer(respond, limited)
                return
            answer = await chat.check(request, SLACK)
            if answer.busy:  # turned away: only the asker hears it
                await self._answer(respond, answer.reply)
                return
            try:
                posted = await self._post(client, channel, render.render_reply(answer.reply), thread_ts=thread)
            except SlackApiError as exc:
                if slack_error(exc) not in _CANT_POST or answer.result is None:
                    raise
                key = self._remember(answer, request, thread_ts=thread)
                await self._answer(respond, chat.cannot_check("cant-post", locale))
                await self._answer(respond, chat.result_reply(answer.result, SLACK, answer.reply.locale, private=True,
                                                              share_token=key))
                return
            self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001
            self._failed("shortcut", exc, workspace=team, channel=channel)
            with contextlib.suppress(Exception):
                await self._answer(respond, chat.error(locale))

    # -- buttons ------------------------------------------------------------------------------
    @staticmethod
    def _where(body: dict[str, Any], context: Any) -> tuple[str, str, str, str, bool]:
        """(team, channel, user, message ts, ephemeral) of a block action."""
        container = body.get("container") or {}
        team = context.team_id or (body.get("team") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        user = (body.get("user") or {}).get("id", "")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        return team, channel, user, ts, bool(container.get("is_ephemeral"))

    async def _reader(self, client: AsyncWebClient, team: str, channel: str, user: str) -> tuple[str, _Asker]:
        """The language of a reply to this person here (their Slack locale, looked up and kept), and who they are."""
        asker = await self._asker(client, team, user)
        request = self._request("", workspace=team, channel=channel, user=user, ts="", source="button",
                                locale=asker.locale)
        return self.chat.locale_for(request), asker

    async def _button(self, what: str, body: dict[str, Any], respond: Any, client: AsyncWebClient, context: Any,
                      handler: Callable[[str, _Asker], Awaitable[None]]) -> None:
        """Run a button's handler with the clicker's language; a failure is logged and answered in that language."""
        self._track()
        locale = ""
        try:
            team, channel, user, _, _ = self._where(body, context)
            locale, asker = await self._reader(client, team, channel, user)
            if not self.accepting:
                await self._answer(respond, self.chat.restarting(locale))
                return
            await handler(locale, asker)
        except Exception as exc:  # noqa: BLE001
            self._failed(f"button {what}", exc)
            with contextlib.suppress(Exception):
                await self._answer(respond, self.chat.error(locale))

    async def _aside(self, respond: Any, reply: NeutralReply) -> None:
        """A private answer next to the message a button is on (the message itself stays)."""
        await respond(response_type="ephemeral", replace_original=False, **render.render_reply(reply).kwargs())

    async def on_share(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                       client: AsyncWebClient, context: Any) -> None:
        """"Share in channel": the same result, posted publicly (and remembered like any public reply)."""
        await ack()

        async def handle(locale: str, _asker: _Asker) -> None:
            user = (body.get("user") or {}).get("id", "")
            token = action.get("value") or ""
            share = self.chat.take_share(PLATFORM, token)
            if share is None:  # unknown, expired, or already shared (a double click)
                await self._answer(respond, self.chat.share_expired(SLACK, locale))
                return
            try:
                posted = await self._post(client, share.channel, render.Reply(**json.loads(share.payload)),
                                          thread_ts=share.thread_id or None)
            except BaseException as exc:
                self.chat.release_share(PLATFORM, token)  # not posted: the button still works
                if not isinstance(exc, SlackApiError) or slack_error(exc) not in _CANT_POST:
                    raise
                await self._aside(respond, self.chat.cannot_check("cant-post", locale))
                return
            self.chat.shared(share, channel=posted["channel"], message_id=posted["ts"], requester=user)
            await respond(delete_original=True)

        await self._button("share", body, respond, client, context, handle)

    async def on_reveal(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                        client: AsyncWebClient, context: Any) -> None:
        """A "Did you mean…" candidate: its verdict, privately to whoever picked it, in their language."""
        await ack()

        async def handle(locale: str, _asker: _Asker) -> None:
            await self._aside(respond, self.chat.reveal(action.get("value") or "", locale))

        await self._button("reveal", body, respond, client, context, handle)

    async def on_vote(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                      client: AsyncWebClient, context: Any) -> None:
        """👍 / 👎: one vote per person per reply (a second vote replaces the first); counts shown on the buttons."""
        await ack()

        async def handle(locale: str, _asker: _Asker) -> None:
            team, channel, user, ts, ephemeral = self._where(body, context)
            up_vote = action.get("action_id") == render.VOTE_UP
            request = self._request("", workspace=team, channel=channel, user=user, ts=ts, source="button")
            up, down = self.chat.vote(request, reply_message_id=ts, up=up_vote, claim_id=action.get("value") or None)
            message = body.get("message")
            if ephemeral or not message:
                await self._aside(respond, self.chat.vote_thanks(up_vote, locale))
                return
            blocks = render.with_votes(message.get("blocks") or [], up, down)
            await client.chat_update(channel=channel, ts=ts, blocks=blocks, text=message.get("text") or "")

        await self._button("vote", body, respond, client, context, handle)

    async def on_delete(self, ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient,
                        context: Any) -> None:
        """🗑️: whoever asked (or a workspace admin) removes a public reply."""
        await ack()

        async def handle(locale: str, who: _Asker) -> None:
            team, channel, user, ts, _ = self._where(body, context)
            request = self._request("", workspace=team, channel=channel, user=user, ts=ts, source="button")
            asker = self.chat.asker_of(request, ts)
            if not asker and not await self.is_admin(client, user, who):
                await self._aside(respond, self.chat.delete_refused(SLACK, locale))
                return
            await client.chat_delete(channel=channel, ts=ts)
            self.chat.deleted(request, ts, "asker" if asker else "admin")

        await self._button("delete", body, respond, client, context, handle)

    async def on_suggest(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                         client: AsyncWebClient, context: Any) -> None:
        """"Suggest for review": the checked words go on the fact-checkers' list (once per person)."""
        await ack()

        async def handle(locale: str, asker: _Asker) -> None:
            team, channel, user, _, _ = self._where(body, context)
            request = self._request(action.get("value") or "", workspace=team, channel=channel, user=user, ts="",
                                    source="button", locale=asker.locale)
            await self._aside(respond, self.chat.suggest(request))

        await self._button("suggest", body, respond, client, context, handle)
