"""The listeners' shared ground on Slack: who asked (and their locale), posting, answering, remembering."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...config import SlackSettings
from ...core.chat import Answer, Chat, Request
from ...core.pacing import CheckQueue
from ...core.replies import Reply as NeutralReply
from ...core.service import FactChecker
from . import render
from .api import slack_error
from .render import PLATFORM as SLACK
from .render import Reply

log = logging.getLogger("factbot.slack")


PLATFORM = SLACK.name
LOCALE_TTL = 3600.0  # seconds a user's Slack locale is kept before users.info is asked again
ANSWER_MARK = "factbot_answer"  # the metadata event type on a reply that answers an event (its id in the payload)
EVENT_ID = "factbot_event_id"  # the context key: the id of the event a listener answers, "" when none


class SparseWarning:
    """A warning that can come with every event (a lookup Slack refuses), logged at most once per ``every``
    seconds with how many times it happened meanwhile: one line a minute, not one per event under load."""

    def __init__(self, every: float = 60.0):
        self.every = every
        self._told = -every
        self._since = 0

    def due(self) -> int:
        """Count one more; when a line is due, how many it reports (0: stay quiet this time)."""
        self._since += 1
        now = time.monotonic()
        if now - self._told < self.every:
            return 0
        count, self._told, self._since = self._since, now, 0
        return count


@dataclass(frozen=True)
class _Asker:
    locale: str = ""
    info: dict[str, Any] | None = None  # users.info's user, when it was just asked (None: cached, or it failed)
    looked_up: bool = False


class Listener:
    """What every listener of ``SlackBot`` shares: who asked and in which language, posting and answering.

    ``SlackBot`` (``app.py``) sets these up; the listeners for each feature (``messages``, ``commands``,
    ``shortcut``, ``buttons``, ``home``) build on them.
    """

    checker: FactChecker
    settings: SlackSettings
    chat: Chat
    clock: Callable[[], dt.datetime]
    admins: frozenset[str]
    shortcut_reply: str
    _locales: dict[tuple[str, str], tuple[str, float]]
    _lookup_failed: SparseWarning

    @property
    def checks(self) -> CheckQueue:
        return self.chat.checks

    @property
    def accepting(self) -> bool:
        return self.chat.accepting

    def _track(self) -> None:
        """Count the running listener as in-flight work until it ends (see ``drain``)."""
        self.chat.track()

    def _failed(self, what: str, exc: BaseException, **where: Any) -> None:
        detail = slack_error(exc) if isinstance(exc, SlackApiError) else ""
        log.error("%s failed: %s %s", what, type(exc).__name__, detail or "", exc_info=exc,
                  extra={"platform": PLATFORM, **where})

    async def _remember(self, answer: Answer, request: Request, *, thread_ts: str) -> str:
        """Keep a private answer for its "Share in channel" button; returns the button's value.

        Kept in the database with the public message already rendered, so a press still works after a
        restart or when another instance behind a load balancer receives it.
        """
        assert answer.result is not None
        public = render.render_reply(self.chat.result_reply(answer.result, SLACK, answer.reply.locale, shared=True))
        return await self.chat.keep_for_share(answer.result, json.dumps(public.kwargs()), request, thread_id=thread_ts)

    async def _record(self, posted: Any, answer: Answer, request: Request, *, thread_ts: str) -> None:
        """Remember a public reply, so 🗑️, 👍/👎, watch cooldowns and later corrections work.

        ``thread_ts`` is the root of the thread the reply sits in ("" for a top-level message): a
        correction notice goes there.
        """
        await self.chat.record(answer, platform=PLATFORM, workspace=request.workspace, channel=posted["channel"],
                         message_id=posted["ts"], source=request.source, requester=request.user, thread_id=thread_ts)

    @staticmethod
    async def _post(client: AsyncWebClient, channel: str, reply: Reply, *, thread_ts: str | None = None,
                    answering: str = "") -> Any:
        """Post in the channel. ``answering``: the id of the event this answers, carried in the message's metadata
        (invisible to people), so that an instance taking the event over sees it was answered (``SlackBot``)."""
        extra: dict[str, Any] = {}
        if answering:
            extra["metadata"] = {"event_type": ANSWER_MARK, "event_payload": {"event_id": answering}}
        return await client.chat_postMessage(channel=channel, thread_ts=thread_ts, unfurl_links=False,
                                             unfurl_media=False, **reply.kwargs(), **extra)

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
            count = self._lookup_failed.due()
            if count:
                log.warning("could not look up a user: %s (%d time(s) since the last such line)", slack_error(exc),
                            count)
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

    async def _answer(self, respond: Any, reply: NeutralReply) -> None:
        """Through the response_url: private replies to whoever asked, public ones in the channel."""
        await self._respond(respond, render.render_reply(reply), public=not reply.private)

    async def _reader(self, client: AsyncWebClient, team: str, channel: str, user: str) -> tuple[str, _Asker]:
        """The language of a reply to this person here (their Slack locale, looked up and kept), and who they are."""
        asker = await self._asker(client, team, user)
        request = self._request("", workspace=team, channel=channel, user=user, ts="", source="button",
                                locale=asker.locale)
        return self.chat.locale_for(request), asker

    async def _check_privately(self, respond: Any, request: Request, *, thread_ts: str) -> None:
        """An ephemeral verdict with "Share in channel"."""
        chat = self.chat
        limited = chat.rate_limited(request, every_time=True)
        if limited is not None:
            await self._answer(respond, limited)
            return
        answer = await chat.check(request, SLACK, private=True)
        if answer.result is not None:
            key = await self._remember(answer, request, thread_ts=thread_ts)
            reply = chat.result_reply(answer.result, SLACK, answer.reply.locale, private=True, share_token=key)
        else:  # a claim asked for by its id
            reply = answer.reply
        await self._answer(respond, reply)
