"""``factbot run`` and ``factbot digest send-now``: which adapters a configuration starts, and starting them.

One process serves every configured platform: ``factbot run all`` looks at the
settings (a Discord token; Slack tokens for Socket Mode or a signing secret for
HTTP mode) and hands one adapter per platform to the shared ``Runtime`` with the
digest scheduler and ``/healthz`` + ``/metrics``.  A platform that is half
configured (a Slack app token without a bot token, say) is an error that names
what is missing, never silently left out: an operator who set a token expects
that platform to answer.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import TextIO

from .config import Settings
from .core.service import FactChecker
from .exitcodes import EXIT_CONFIG
from .runtime import Adapter, serve

__all__ = ["EXIT_CONFIG", "NOTHING_CONFIGURED", "Plan", "SendNowError", "plan", "run_all", "send_now", "serve"]
NOTHING_CONFIGURED = (
    "no platform is configured: set DISCORD_TOKEN for Discord; SLACK_BOT_TOKEN and SLACK_APP_TOKEN for Slack in "
    "Socket Mode, or SLACK_SIGNING_SECRET (with SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) for "
    "Slack in HTTP mode. `factbot run console` needs no token."
)


@dataclass(frozen=True)
class Plan:
    """What ``factbot run all`` will start: ``slack_http`` is None when Slack is not configured."""

    discord: bool
    slack_http: bool | None

    def describe(self) -> str:
        parts = ["Discord"] if self.discord else []
        if self.slack_http is not None:
            parts.append("Slack (HTTP mode)" if self.slack_http else "Slack (Socket Mode)")
        return " and ".join(parts)


def plan(settings: Settings, *, slack_http: bool | None = None) -> tuple[Plan | None, str | None]:
    """(what to start, None) or (None, the one-line reason it cannot start)."""
    from .adapters.slack.runner import missing_settings

    s = settings.slack
    slack = None
    if slack_http is not None or any((s.bot_token, s.app_token, s.signing_secret, s.client_id, s.client_secret)):
        # Socket Mode when an app-level token is there (and HTTP mode was not asked for), HTTP mode otherwise.
        http = slack_http if slack_http is not None else not s.app_token
        problem = missing_settings(s, http=http)
        if problem:
            return None, f"slack: {problem}"
        slack = http
    chosen = Plan(discord=bool(settings.discord.token), slack_http=slack)
    if not chosen.discord and chosen.slack_http is None:
        return None, NOTHING_CONFIGURED
    return chosen, None


def run_all(settings: Settings, *, slack_http: bool | None = None, slack_port: int = 3000, slack_host: str = "0.0.0.0",
            metrics_host: str = "127.0.0.1", metrics_port: int | None = 9100, scheduler: bool = True,
            stderr: TextIO | None = None, desk: bool | None = None) -> int:
    """``factbot run all``: every configured platform and the digest scheduler in one process (and the review
    desk with ``desk``, by default when ``[desk] enabled``)."""
    stderr = stderr or sys.stderr
    chosen, problem = plan(settings, slack_http=slack_http)
    if chosen is None:
        print(f"Error: {problem}", file=stderr)
        return EXIT_CONFIG
    logging.getLogger("factbot.runtime").info("starting %s", chosen.describe())

    def adapters(checker: FactChecker) -> list[Adapter]:
        made: list[Adapter] = []
        if chosen.discord:
            from .adapters.discord.runner import DiscordAdapter

            made.append(DiscordAdapter(checker, settings.discord))
        if chosen.slack_http is not None:
            from .adapters.slack.runner import SlackAdapter

            made.append(SlackAdapter(checker, settings.slack, http=chosen.slack_http, port=slack_port, host=slack_host))
        if settings.desk.enabled if desk is None else desk:
            from .desk.server import DeskAdapter

            made.append(DeskAdapter(checker, settings))
        return made

    return serve(settings, adapters, metrics_host=metrics_host, metrics_port=metrics_port, scheduler=scheduler,
                 stderr=stderr)


# -- factbot digest send-now -------------------------------------------------------------------------------------
class SendNowError(Exception):
    """Why a digest could not be sent now, as one line for the operator."""


async def send_now(checker: FactChecker, settings: Settings, platform: str, workspace: str, channel: str) -> str:
    """Post one channel's digest outside its schedule through the platform's REST API; the message id.

    No gateway or socket connection is opened: Discord is reached over REST after a login, Slack through
    its Web API with the bot token (or the workspace's installation in a multi-workspace install).
    """
    from .core.delivery import DigestService

    sub = checker.subscriptions.get(platform, workspace, channel)
    if sub is None:
        raise SendNowError(f"{platform} channel {channel} has no digest subscription "
                           "(factbot digest subscribe, or the platform's digest command)")
    if platform == "discord":
        from .adapters.discord.cli import logged_in
        from .adapters.discord.runner import DiscordAdapter

        token = settings.discord.token
        if not token:
            raise SendNowError("sending to Discord needs DISCORD_TOKEN (or token in the [discord] section)")
        adapter = DiscordAdapter(checker, settings.discord)
        adapter.client = await logged_in(settings, token)
        try:
            return await DigestService(checker.store, {"discord": adapter.poster()}).send_now(sub)
        finally:
            await adapter.client.close()
    if platform == "slack":
        from .adapters.slack.app import SlackBot
        from .adapters.slack.runner import SlackAdapter

        oauth = settings.slack.oauth and bool(settings.slack.signing_secret)
        if not oauth and not settings.slack.bot_token:
            raise SendNowError("sending to Slack needs SLACK_BOT_TOKEN (or the multi-workspace install's "
                               "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET)")
        slack = SlackAdapter(checker, settings.slack, http=oauth)
        slack.bot = SlackBot(checker, settings.slack, http=oauth)
        return await DigestService(checker.store, {"slack": slack.poster()}).send_now(sub)
    raise SendNowError(f"digests for {platform} channels are previewed, not sent: factbot digest preview")
