"""Mentions (``@factbot``) and channel messages (watch mode) on Slack."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...core.normalize import content_words
from . import render
from .api import slack_error
from .listener import EVENT_ID, Listener
from .render import PLATFORM as SLACK

log = logging.getLogger("factbot.slack")


def strip_mentions(text: str, user_id: str | None) -> str:
    if not user_id:
        return text.strip()
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", " ", text or "").strip()


class Messages(Listener):
    """@factbot mentions and watch mode."""

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
        answering = context.get(EVENT_ID) or ""
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
                                         thread_ts=thread, answering=answering)
                        return
                    assert parent is not None
                    text, target = parent.get("text") or "", parent["ts"]
                else:
                    await self._post(client, channel, render.render_reply(chat.help(SLACK, locale)), thread_ts=thread,
                                     answering=answering)
                    return
            request = self._request(text, workspace=team, channel=channel, user=user, ts=target, source="mention",
                                    locale=asker.locale)
            limited = chat.rate_limited(request, every_time=False)
            if limited is not None:
                if limited.body:
                    await self._tell(client, channel, user, render.render_reply(limited), thread_ts=thread)
                return
            answer = await chat.check(request, SLACK)
            posted = await self._post(client, channel, render.render_reply(answer.reply), thread_ts=thread,
                                      answering=answering)
            await self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the bot
            self._failed("mention", exc, workspace=team, channel=channel)
            with contextlib.suppress(Exception):
                await self._post(client, channel, render.render_reply(chat.error(locale)), thread_ts=thread,
                                 answering=answering)

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
            with self.chat.posting(answer):  # a failed post gives the cooldown back
                # Worth a reply: in the language of whoever wrote the message (their Slack locale, as for a mention).
                asker = await self._asker(client, team, user)
                reply = answer.reply
                if asker.locale:
                    locale = self.chat.locale_for(dataclasses.replace(request, locale=asker.locale), answer.result)
                    if locale != reply.locale:
                        reply = self.chat.result_reply(answer.result, SLACK, locale, watch=True)
                        answer = dataclasses.replace(answer, reply=reply)
                thread = event.get("thread_ts") or ts
                posted = await self._post(client, channel, render.render_reply(reply), thread_ts=thread,
                                          answering=context.get(EVENT_ID) or "")
            # The author of the watched message counts as the asker: they may remove the reply.
            await self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001
            self._failed("watch", exc, workspace=team, channel=channel)
