"""The buttons under factbot's replies on Slack: share, reveal, vote, remove, suggest."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ...core.replies import Reply as NeutralReply
from . import render
from .api import CANT_POST, slack_error
from .listener import PLATFORM, Listener, _Asker
from .render import PLATFORM as SLACK

log = logging.getLogger("factbot.slack")


class Buttons(Listener):
    """The buttons, each answering in the clicker's language."""

    @staticmethod
    def _where(body: dict[str, Any], context: Any) -> tuple[str, str, str, str, bool]:
        """(team, channel, user, message ts, ephemeral) of a block action."""
        container = body.get("container") or {}
        team = context.team_id or (body.get("team") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        user = (body.get("user") or {}).get("id", "")
        ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        return team, channel, user, ts, bool(container.get("is_ephemeral"))

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
                if not isinstance(exc, SlackApiError) or slack_error(exc) not in CANT_POST:
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
