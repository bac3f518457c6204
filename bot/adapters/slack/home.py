"""Slack's App Home tab: how to use factbot and the workspace's settings at a glance."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from . import render
from .listener import PLATFORM, Listener
from .render import PLATFORM as SLACK

log = logging.getLogger("factbot.slack")


class Home(Listener):
    """The App Home tab."""

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
