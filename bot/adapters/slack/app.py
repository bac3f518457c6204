"""The factbot Slack app: Bolt listeners for mentions, channel messages, ``/factcheck``, the message shortcut,
buttons and App Home.

Every listener does the same three things: turn the Slack payload into the
core's ``IncomingMessage``, ask the core, and send what ``render`` makes of
the result.  Matching, storage and policy (rate limits, watch cooldowns,
votes, suggestions, retried-event dedupe) are the core's; this module only
knows Slack.

Commands, shortcuts and buttons are acknowledged first, and the work is done
after the acknowledgement (Slack wants an answer within 3 seconds); events
are acknowledged before their listener runs: in HTTP mode by the front
(``front.py``, a thread of its own, so an ack never waits for this loop),
in Socket Mode by Bolt.  A retried event
(``X-Slack-Retry-Num`` over HTTP, ``retry_attempt`` in Socket Mode) is
acknowledged and dropped when its ``event_id`` was seen before, even by a
previous run on the same database.  Errors are logged (the log filter blanks
tokens) and answered with one short sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from ...config import SlackSettings
from ...core.chat import Chat
from ...core.engine import POSTGRESQL
from ...core.inbox import EventInbox, KeepQueue, KeptEvent
from ...core.service import FactChecker
from ...core.store import StoreError
from . import render
from .api import authorize_url, slack_error, web_client
from .buttons import Buttons
from .commands import Commands
from .home import Home
from .installs import InstallStores
from .listener import ANSWER_MARK, EVENT_ID, PLATFORM, SparseWarning
from .messages import Messages
from .shortcut import Shortcut

log = logging.getLogger("factbot.slack")
T = TypeVar("T")


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
KEPT = "factbot_kept"  # context key: the event is kept in the inbox (bot/core/inbox.py), which told it from a retry
TAKEN_OVER = "factbot_taken_over"  # context key: an event another instance acknowledged and did not answer


def answerable(body: dict[str, Any]) -> bool:
    """An event that may get an answer in its thread, so worth keeping until it has one: a mention, or a person's
    channel message (watch mode). Joins, edits, bots' messages and App Home visits are not kept."""
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or not body.get("event_id") or not isinstance(event, dict):
        return False
    if event.get("type") == "app_mention":
        return bool(event.get("user"))
    return (event.get("type") == "message" and not event.get("subtype") and not event.get("bot_id")
            and bool(event.get("user")) and bool(event.get("channel")) and bool(event.get("ts")))



def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _on(home: asyncio.AbstractEventLoop | None, work: Coroutine[Any, Any, T]) -> T:
    """``work`` run on the loop ``home`` (this one when None, or when it is this one), awaited here."""
    if home is None or home is asyncio.get_running_loop():
        return await work
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, home))





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


class SlackBot(Messages, Commands, Shortcut, Buttons, Home):
    """factbot on Slack: a Bolt ``AsyncApp`` and its listeners around one ``FactChecker``.

    ``http`` selects HTTP mode (signed requests, and the OAuth install when a client id and secret are set);
    otherwise the app is driven by Socket Mode.  ``clock`` is replaceable for tests of cooldowns.
    """

    EARLY_ACKS = 2000  # events acknowledged ahead of their dispatch; past it the ack waits for the dispatch

    def __init__(self, checker: FactChecker, settings: SlackSettings, *, http: bool,
                 clock: Callable[[], dt.datetime] | None = None, chat: Chat | None = None):
        self.checker = checker
        self.settings = settings
        self.http = http
        self.clock = clock or _utcnow
        self.admins = settings.admin_ids
        self.shortcut_reply = settings.shortcut_reply
        self.oauth = http and settings.oauth
        self.client = web_client(settings, None if self.oauth else settings.bot_token)
        # The conversation layer: every decision and every word; one per process when the runtime shares it.
        # (Its check queue runs checks one at a time: Bolt starts each listener after the ack, and a burst run back
        # to back would keep new requests from being acknowledged.)
        self.chat = chat or Chat(checker, clock=self.clock)  # the checker's queue carries bot.max_wait_seconds
        self._locales: dict[tuple[str, str], tuple[str, float]] = {}  # (team, user) -> (Slack locale, until)
        self._lookup_failed = SparseWarning()  # users.info refused: one warning a minute, with the count
        self.installation_store: AsyncInstallationStore | None = None
        self._stores: InstallStores | None = None  # the multi-workspace install's stores
        # Events the front has acknowledged and this loop has not dispatched yet (front.py): at most EARLY_ACKS.
        self._early = threading.BoundedSemaphore(self.EARLY_ACKS)
        self._acked: set[asyncio.Task] = set()
        # Every answerable event is kept in the database from before its ack until it is answered (inbox.py).
        self.inbox = EventInbox(checker.store, lease_seconds=settings.event_lease_seconds)
        self._keeps: dict[asyncio.AbstractEventLoop, KeepQueue] = {}  # one per acknowledging loop (front, or this)
        self.app = self._build_app()
        self._register()

    def _build_app(self) -> AsyncApp:
        s = self.settings
        options: dict[str, Any] = {
            # Bolt names a logger after the app and, with no base logger, pins its level to the root logger's at
            # the first request: named "factbot", that silenced every factbot.* record below the root's level of
            # that moment. One logger as both name and base: Bolt's own, kept at WARNING by setup_logging.
            "name": "factbot.slack.bolt",
            "logger": logging.getLogger("factbot.slack.bolt"),
            "client": self.client,
            "signing_secret": s.signing_secret if self.http else "",
            "process_before_response": False,  # ack first, work after
        }
        if self.oauth:
            self._stores = InstallStores(self.checker.store, s.client_id)
            self.installation_store = self._stores.installations
            options["oauth_settings"] = AsyncOAuthSettings(
                client_id=s.client_id, client_secret=s.client_secret, scopes=list(BOT_SCOPES),
                user_scopes=[], install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
                authorization_url=authorize_url(s), installation_store=self.installation_store,
                state_store=self._stores.states,
            )
            # One auth.test per workspace token, not one per request.
            options["authorize"] = AsyncInstallationStoreAuthorize(
                logger=log, installation_store=self.installation_store, client_id=s.client_id,
                client_secret=s.client_secret, cache_enabled=True,
            )
        with _bolt_env_hidden():
            return AsyncApp(**options)

    async def prepare(self) -> None:
        """Create the install's tables on PostgreSQL if they are not there (``installs.InstallStores.prepare``)."""
        if self._stores is not None:
            await self._stores.prepare(self.checker.store.location)

    def _register(self) -> None:
        app = self.app
        app.middleware(self._dedupe)
        app.event("app_mention")(self._answering(self.on_mention))
        app.event("message")(self._answering(self.on_message))
        app.event("app_home_opened")(self.on_home)
        app.command("/factcheck")(self.on_command)
        app.shortcut(render.SHORTCUT)(self.on_shortcut)
        app.action(render.SHARE)(self.on_share)
        app.action(re.compile(rf"^{render.REVEAL}_\d+$"))(self.on_reveal)
        app.action(re.compile(rf"^({render.VOTE_UP}|{render.VOTE_DOWN})$"))(self.on_vote)
        app.action(render.DELETE)(self.on_delete)
        app.action(render.SUGGEST)(self.on_suggest)
        app.error(self._on_error)

    def http_app(self, home: asyncio.AbstractEventLoop | None = None) -> web.Application:
        """The HTTP-mode endpoints: ``/slack/events`` (events, commands, interactivity) and the OAuth install
        routes when configured.  Health is the process's one ``/healthz``, beside ``/metrics`` (``bot.runtime``).

        ``home`` is the loop Bolt, the listeners and the store run on. Served from another loop (``front.Front``,
        a thread of its own), an ``event_callback`` is acknowledged there at once and dispatched on ``home``;
        every other request is dispatched on ``home`` and answered with what Bolt returns.
        """
        web_app = web.Application(client_max_size=4 * 1024 * 1024)

        async def events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            if home is None or home is asyncio.get_running_loop():
                return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))
            if bolt_request.body.get("type") == "event_callback" and self._early.acquire(blocking=False):
                if answerable(bolt_request.body):
                    kept = await self._keep_here(bolt_request.body, bolt_request.raw_body)
                    if kept is False:  # kept before: a retry, here or on another instance
                        self._early.release()
                        log.info("retried event acknowledged, not answered again",
                                 extra={"event_id": bolt_request.body.get("event_id")})
                        return web.Response(status=200, text="")
                    bolt_request.context[KEPT] = kept  # True, or None: tried here, not tried again on the loop
                try:
                    home.call_soon_threadsafe(self._dispatch_acked, bolt_request)
                except RuntimeError:  # the bot's loop is gone: Slack will retry
                    self._early.release()
                    return web.Response(status=503, text="stopping\n")
                return web.Response(status=200, text="")  # what Bolt acknowledges an event with
            return await to_aiohttp_response(await _on(home, self.app.async_dispatch(bolt_request)))

        async def oauth(request: web.Request) -> web.Response:
            flow = self.app.oauth_flow
            assert flow is not None
            bolt_request = await to_bolt_request(request)
            if request.path == INSTALL_PATH:
                return await to_aiohttp_response(await _on(home, flow.handle_installation(bolt_request)))
            return await to_aiohttp_response(await _on(home, flow.handle_callback(bolt_request)))

        web_app.router.add_post(EVENTS_PATH, events)
        if self.app.oauth_flow is not None:
            web_app.router.add_get(INSTALL_PATH, oauth)
            web_app.router.add_get(REDIRECT_PATH, oauth)
        return web_app

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
        if self._stores is not None:
            await self._stores.close()
        self.inbox.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new work and let the replies being written finish (at most ``timeout`` seconds)."""
        await self.chat.drain(timeout)
        if self._acked:  # acknowledged by the front, not dispatched yet: Bolt acks them, the listeners do nothing
            await asyncio.wait(set(self._acked), timeout=timeout)

    async def idle(self) -> None:
        """Wait until every request acknowledged so far has been handled and its replies sent.

        An event acknowledged by the front (``front.Front``) is handed to this loop before its ``200`` is written,
        so it is in ``_acked`` by the time its sender has the answer. Bolt starts a listener in a task of its own
        at its dispatch; that task tracks itself in its first step, so one turn of the loop after the dispatch
        it is counted (``Chat.idle`` then waits for it).
        """
        while self._acked:
            await asyncio.wait(set(self._acked))
        await asyncio.sleep(0)
        await self.chat.idle()

    def _dispatch_acked(self, request: AsyncBoltRequest, *, early: bool = True) -> None:
        """On this loop: Bolt's handling of an event acknowledged already (in arrival order): by the front
        (``early``: it holds one of the ``EARLY_ACKS``), or by an instance that stopped before answering it."""
        task = asyncio.get_running_loop().create_task(self._dispatch(request, early=early))
        self._acked.add(task)
        task.add_done_callback(self._acked.discard)

    async def _dispatch(self, request: AsyncBoltRequest, *, early: bool = True) -> None:
        try:
            response = await self.app.async_dispatch(request)
            if response.status >= 500:
                log.warning("an acknowledged event could not be handled (HTTP %d from Bolt)", response.status)
        finally:
            if early:
                self._early.release()

    # -- kept events: none lost between the ack and the answer (bot/core/inbox.py) -----------------------------------
    async def _keep_here(self, body: dict[str, Any], raw: str) -> bool | None:
        """Keep an answerable event before it is acknowledged, from the loop this is awaited on (the front's, or the
        bot's in Socket Mode), batched with the events arriving meanwhile (``KeepQueue``). On PostgreSQL the round
        trip runs on a thread of that loop's, so other acks go on."""
        loop = asyncio.get_running_loop()
        queue = self._keeps.get(loop)
        if queue is None:
            queue = self._keeps[loop] = KeepQueue(self.inbox, offload=self.checker.store.engine == POSTGRESQL)
        return await queue.keep(PLATFORM, str(body["event_id"]), raw or json.dumps(body))

    def _answering(self, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """``listener`` for an event that is kept until answered: marked done once it has run (whatever it decided:
        an answer, silence, a busy notice), and left kept when this instance is stopping, for the next to answer.
        An event taken over from another instance is first looked for in its thread: answered there already (the
        other instance died after posting), it is only marked done."""

        async def answer(body: dict[str, Any], event: dict[str, Any], context: Any, client: AsyncWebClient) -> None:
            kept, event_id = bool(context.get(KEPT)), str(body.get("event_id") or "")
            if kept and not self.accepting:
                return  # still kept: released at the stop, answered by another instance or the next start
            context[EVENT_ID] = event_id if kept else ""
            if not (context.get(TAKEN_OVER) and await self._answered_before(client, event, event_id)):
                await listener(event=event, context=context, client=client)
            if kept:
                await self.checker.calls(self.inbox.done, PLATFORM, event_id)

        return answer

    @staticmethod
    async def _answered_before(client: AsyncWebClient, event: dict[str, Any], event_id: str) -> bool:
        """Whether the event's thread holds factbot's answer to it (its id in the reply's metadata)."""
        thread = event.get("thread_ts") or event.get("ts")
        if not event.get("channel") or not thread:
            return False
        try:
            found = await client.conversations_replies(channel=event["channel"], ts=thread, limit=200,
                                                       include_all_metadata=True)
        except SlackApiError as exc:  # the thread cannot be read: answer (a second answer beats none)
            log.info("could not look for an earlier answer: %s", slack_error(exc))
            return False
        for message in found.get("messages") or []:
            mark = message.get("metadata") or {}
            if mark.get("event_type") == ANSWER_MARK and (mark.get("event_payload") or {}).get("event_id") == event_id:
                log.info("an event taken over was answered before its instance stopped", extra={"event_id": event_id})
                return True
        return False

    async def follow_kept(self) -> None:
        """While the bot runs: renew this instance's claim on the events it is answering, and answer those whose
        instance stopped renewing (killed, or stopped with events unanswered), every third of the lease."""
        every = max(self.inbox.lease.total_seconds() / 3, 0.2)
        while True:
            try:
                await self.checker.calls(self.inbox.renew)
                if self.accepting:
                    taken = await self.checker.calls(self.inbox.take_over)
                    if taken:
                        log.warning("answering %d event(s) acknowledged by an instance that stopped before answering",
                                    len(taken))
                    for kept in taken:
                        self._take(kept)
            except StoreError as exc:  # another process holds the file's write lock (an import): next round
                level = logging.INFO if exc.kind == "busy" else logging.WARNING
                log.log(level, "kept events not followed this round: %s", exc)
            except Exception as exc:  # noqa: BLE001 - a database hiccup: the next round tries again
                log.warning("kept events not followed this round: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(every)

    def _take(self, kept: KeptEvent) -> None:
        try:
            body = json.loads(kept.body)
        except ValueError:
            log.warning("a kept event could not be read: given up", extra={"event_id": kept.event_id})
            self.inbox.done(kept.platform, kept.event_id)
            return
        # Its signature was checked when it arrived; Bolt checks none for a request given as "socket_mode".
        request = AsyncBoltRequest(body=body, mode="socket_mode", context={KEPT: True, TAKEN_OVER: True})
        self._dispatch_acked(request, early=False)

    async def release_kept(self) -> None:
        """At a clean stop, after the drain: give back what this instance acknowledged and did not answer."""
        try:
            given = await self.checker.calls(self.inbox.release)
        except Exception as exc:  # noqa: BLE001 - they are taken over after the lease instead
            log.warning("unanswered events not given back (%s): another instance answers them after %.0f s",
                        type(exc).__name__, self.inbox.lease.total_seconds())
            return
        if given:
            log.info("%d acknowledged event(s) left unanswered, given back for another instance", given)

    async def _dedupe(self, body: dict[str, Any], context: Any, req: AsyncBoltRequest,
                      next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Acknowledge, and drop, an event delivered before (Slack retries when an ack seems late).

        An answerable event is kept until answered (``_keep_here``): by the front in HTTP mode, here otherwise
        (Socket Mode, or HTTP served on this loop), before Bolt acknowledges it. Keeping it says whether it is new.
        """
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and KEPT not in context and answerable(body):  # not tried by the front already
            kept = await self._keep_here(body, req.raw_body)
            if kept is False:
                log.info("retried event acknowledged, not answered again", extra={"event_id": event_id})
                return BoltResponse(status=200, body="")
            if kept:
                context[KEPT] = True
        if context.get(KEPT):
            if not self.accepting:
                return BoltResponse(status=200, body="")  # shutting down: kept for the next instance
            await next()
            return None
        # A command, shortcut or button press carries a trigger_id unique to it: a replay of one is dropped too.
        delivery = event_id or (f"trigger:{body['trigger_id']}" if body.get("trigger_id") else None)
        if delivery and not await self.chat.first_delivery(PLATFORM, str(delivery)):
            log.info("retried event acknowledged, not answered again", extra={"event_id": event_id})
            return BoltResponse(status=200, body="")
        if not self.accepting and body.get("type") == "event_callback":
            return BoltResponse(status=200, body="")  # shutting down: nothing new starts
        await next()
        return None

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("Slack request failed: %s", type(error).__name__, exc_info=error,
                  extra={"kind": body.get("type") or body.get("command") or "?"})
