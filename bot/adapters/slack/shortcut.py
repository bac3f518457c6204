"""The message shortcut on Slack: "Fact-check this message"."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from . import render
from .api import CANT_POST, slack_error
from .listener import Listener
from .render import PLATFORM as SLACK

log = logging.getLogger("factbot.slack")


class Shortcut(Listener):
    """The message shortcut."""

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
                if slack_error(exc) not in CANT_POST or answer.result is None:
                    raise
                key = await self._remember(answer, request, thread_ts=thread)
                await self._answer(respond, chat.cannot_check("cant-post", locale))
                await self._answer(respond, chat.result_reply(answer.result, SLACK, answer.reply.locale, private=True,
                                                              share_token=key))
                return
            await self._record(posted, answer, request, thread_ts=thread)
        except Exception as exc:  # noqa: BLE001
            self._failed("shortcut", exc, workspace=team, channel=channel)
            with contextlib.suppress(Exception):
                await self._answer(respond, chat.error(locale))
