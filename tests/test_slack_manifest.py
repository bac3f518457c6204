"""deploy/slack-manifest.yml asks Slack for exactly what the adapter uses, in Socket Mode and (uncommented) HTTP mode."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.adapters.slack import render
from bot.adapters.slack.app import BOT_SCOPES, EVENTS_PATH, REDIRECT_PATH

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "slack-manifest.yml"


def load(*, http: bool = False) -> dict:
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    if http:  # what the comments tell an operator to do for HTTP mode and the OAuth install
        marked = ("# ← HTTP mode", "# ← OAuth install")
        lines = [re.sub(r"^(\s*)# ", r"\1", line, count=1) if line.rstrip().endswith(marked) else line
                 for line in lines]
        lines = [line.replace("socket_mode_enabled: true", "socket_mode_enabled: false") for line in lines]
    return yaml.safe_load("\n".join(lines))


def test_socket_mode_manifest_matches_the_adapter():
    m = load()
    assert m["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert "user" not in m["oauth_config"]["scopes"]
    assert m["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.channels", "app_home_opened"]
    (command,) = m["features"]["slash_commands"]
    assert command["command"] == "/factcheck" and "url" not in command
    (shortcut,) = m["features"]["shortcuts"]
    assert (shortcut["name"], shortcut["type"], shortcut["callback_id"]) == (
        "Fact-check this message", "message", render.SHORTCUT)
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in m["settings"]["event_subscriptions"]
    assert len(m["display_information"]["long_description"]) >= 175  # Slack's minimum when one is given


def test_http_mode_manifest_points_everything_at_the_events_route():
    m = load(http=True)
    assert m["settings"]["socket_mode_enabled"] is False
    urls = [m["settings"]["event_subscriptions"]["request_url"], m["settings"]["interactivity"]["request_url"],
            m["features"]["slash_commands"][0]["url"]]
    assert urls == [f"https://factbot.example.org{EVENTS_PATH}"] * 3
    assert m["oauth_config"]["redirect_urls"] == [f"https://factbot.example.org{REDIRECT_PATH}"]
    assert m["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
