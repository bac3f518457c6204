"""``/factcheck`` on Slack: a private check, and the watch, language and digest settings."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from ...core.chat import Request
from . import render
from .listener import Listener, _Asker
from .render import PLATFORM as SLACK

log = logging.getLogger("factbot.slack")


def _language_words(args: list[str]) -> bool:
    """``/factcheck language …`` forms that are a setting (anything else is a claim to check)."""
    words = [a.lower() for a in args]
    if words and words[-1] == "workspace" and words[0] in ("set", "clear"):
        words = words[:-1]
    return words in ([], ["show"], ["clear"]) or (len(words) == 2 and words[0] == "set")


class Commands(Listener):
    """``/factcheck`` and its subcommands."""

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
