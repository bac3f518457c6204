"""Talking to Slack's Web API: the client factbot's settings point at, and Slack's error codes."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ...config import SlackSettings

# What a post is refused with when factbot may not post in a channel (answered with the invite hint).
CANT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "ekm_access_denied"}


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code (``channel_not_found``…) or the HTTP status when the answer was not Slack's JSON."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return f"http_{getattr(exc.response, 'status_code', '?')}"


def api_url(settings: SlackSettings) -> str:
    url = settings.api_url
    return url if url.endswith("/") else url + "/"


def authorize_url(settings: SlackSettings) -> str:
    """Where the install button sends people: next to the Web API (``…/api/`` → ``…/oauth/v2/authorize``)."""
    base = api_url(settings)
    base = base[: -len("api/")] if base.endswith("/api/") else base
    return base + "oauth/v2/authorize"


def web_client(settings: SlackSettings, token: str | None) -> AsyncWebClient:
    """A Web API client for ``settings.api_url``: waits out 429s (Retry-After), retries lost connections."""
    return AsyncWebClient(
        token=token or None,
        base_url=api_url(settings),
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
