"""The multi-workspace install, end to end: ``/slack/install`` → Slack's consent page → ``/slack/oauth_redirect`` →
``oauth.v2.access`` against the fake, the installation stored in factbot's own database, and then an event from
the newly installed workspace answered with that workspace's token.  Digests and correction notices reach each
workspace with its own token too.  On a file the install is kept by slack_sdk's SQLite stores, on PostgreSQL by its
SQLAlchemy stores, in factbot's own database either way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from helpers import lexical_matcher, settle

from bot.adapters.slack import render
from bot.adapters.slack.runner import DIGEST_TAG, SlackAdapter
from bot.config import Settings, SlackSettings, StoreSettings
from bot.core.models import Correction, Digest, DigestTotals, Verdict
from bot.core.service import checker_for, open_store
from bot.scheduler import DeliveryGone

try:
    from tests.fakes.slack_api import (
        BOT_TOKEN,
        CLIENT_ID,
        CLIENT_SECRET,
        SIGNING_SECRET,
        FakeSlack,
        SlackSender,
        event_body,
    )
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.slack_api import BOT_TOKEN, CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, FakeSlack, SlackSender, event_body

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
OTHER_TEAM, OTHER_TOKEN, OTHER_BOT_USER = "T0OTHER", "xoxb-2222-other-workspace-token", "U0FACTBOT2"
CHANNEL = "C0OTHERGEN"
ALICE = "U0ALICE2"


# slack-sdk still hands aiohttp a BasicAuth for oauth.v2.access (its own deprecation, not factbot's).
@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_oauth_install_then_an_event_from_the_new_workspace(engine: str, tmp_path: Path, request):
    db = request.getfixturevalue("pg_url") if engine == "postgresql" else str(tmp_path / "factbot.db")
    asyncio.run(asyncio.wait_for(_install(db), 60))


def _install_tables(db: str) -> tuple[list[tuple], set[str]]:
    """The bots the install stored, and the tables beside factbot's, read from the database itself."""
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            bots = conn.execute("SELECT team_id, bot_token, bot_user_id FROM slack_bots").fetchall()
            tables = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        return bots, tables
    with sqlite3.connect(db) as conn:
        bots = conn.execute("SELECT team_id, bot_token, bot_user_id FROM slack_bots").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return bots, tables


async def _start(db: str, fake: FakeSlack) -> tuple[SlackAdapter, object]:
    settings = Settings(store=StoreSettings(path=db), matcher=lexical_matcher(),
                        slack=SlackSettings(signing_secret=SIGNING_SECRET, client_id=CLIENT_ID,
                                            client_secret=CLIENT_SECRET, api_url=fake.api_url))
    store, _ = open_store(db)
    adapter = SlackAdapter(checker_for(store, settings), settings.slack, http=True, port=0, host="127.0.0.1")
    await adapter.start()
    return adapter, store


async def _mention(adapter: SlackAdapter, fake: FakeSlack, team: str, bot_user: str, text: str) -> dict:
    message = fake.add_message(CHANNEL, f"<@{bot_user}> {text}", user=ALICE)
    event = {"type": "app_mention", "user": ALICE, "text": message["text"], "ts": message["ts"], "channel": CHANNEL,
             "event_ts": message["ts"], "team": team}
    async with SlackSender(f"http://127.0.0.1:{adapter.bound_port}/slack/events") as slack:
        status, _ = await slack.event(event_body(event, team=team, bot_user=bot_user))
    assert status == 200
    await settle(adapter.bot)
    return message


async def _browser_install(fake: FakeSlack, browser: aiohttp.ClientSession, base: str, back_to: str) -> tuple[str, str]:
    """An admin installs factbot into OTHER_TEAM: the install page at ``base``, Slack's redirect to ``back_to``
    (another instance behind the load balancer may take it); the state and its cookie."""
    # 1. an admin opens the install page: an "Add to Slack" link with a fresh state, and a state cookie
    async with browser.get(base + "/slack/install", allow_redirects=False) as page:
        assert page.status == 200
        body = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    link = html.unescape(re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', body).group(1))
    assert link.startswith(fake.base_url + "/oauth/v2/authorize?")  # next to the configured Web API
    query = parse_qs(urlparse(link).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["app_mentions:read,channels:history,groups:history,chat:write,chat:write.public,"
                              "commands,users:read"]
    state = query["state"][0]
    assert cookie == f"slack-app-oauth-state={state}"

    # 2. Slack sends the admin back with a code; factbot exchanges it with oauth.v2.access
    fake.add_oauth_code("code-123", team_id=OTHER_TEAM, team_name="Other Team", bot_token=OTHER_TOKEN,
                        bot_user_id=OTHER_BOT_USER, bot_id="B0FACTBOT2")
    callback = f"{back_to}/slack/oauth_redirect?code=code-123&state={state}"
    async with browser.get(callback, headers={"Cookie": cookie}, allow_redirects=False) as done:
        assert done.status == 200, await done.text()
        assert "Thank you!" in await done.text()
    (access,) = fake.find("oauth.v2.access")
    assert access.ok and access.body["code"] == "code-123"
    assert access.headers["Authorization"].startswith("Basic ")  # client id and secret, not in the body
    assert [c.token for c in fake.find("auth.test")] == [OTHER_TOKEN]
    return state, cookie


async def _install(db: str) -> None:
    fake = await FakeSlack().start()
    adapter, store = await _start(db, fake)
    second, second_store = await _start(db, fake)  # another instance on the same database
    base = f"http://127.0.0.1:{adapter.bound_port}"
    try:
        assert fake.calls == []  # no bot token to check in multi-workspace mode
        async with aiohttp.ClientSession() as browser:
            # the install page from one instance, Slack's redirect back to the other
            state, cookie = await _browser_install(fake, browser, base, f"http://127.0.0.1:{second.bound_port}")
        await second.stop()
        second_store.close()
        async with aiohttp.ClientSession() as browser:
            # the same state cannot be used twice
            fake.add_oauth_code("code-456", team_id="T0THIRD", team_name="Third", bot_token="xoxb-3333-third")
            async with browser.get(f"{base}/slack/oauth_redirect?code=code-456&state={state}",
                                   headers={"Cookie": cookie}, allow_redirects=False) as replay:
                assert replay.status == 401  # Bolt: invalid state
            assert len(fake.find("oauth.v2.access")) == 1

        # 3. the installation and the OAuth state live in factbot's own database
        bots, tables = _install_tables(db)
        assert bots == [(OTHER_TEAM, OTHER_TOKEN, OTHER_BOT_USER)]
        assert {"slack_installations", "slack_bots", "oauth_states", "claims", "replies"} <= tables

        # 4. an event from the new workspace is answered with that workspace's token
        asked = await _mention(adapter, fake, OTHER_TEAM, OTHER_BOT_USER, MATCH_TEXT)
        (reply,) = fake.find("chat.postMessage")
        assert reply.token == OTHER_TOKEN and reply.body["thread_ts"] == asked["ts"]
        assert reply.body["blocks"][0] == render.header("❓ Unverified · rated “Unsupported”")
        record = adapter.checker.conversations.reply("slack", CHANNEL, reply.response["ts"])
        assert record.workspace == OTHER_TEAM

        # a workspace that never installed factbot gets nothing
        await _mention(adapter, fake, "T0NOBODY", "U0NOBODY", MATCH_TEXT)
        assert len(fake.find("chat.postMessage")) == 1

        # 5. after a restart the installation is still there
        await adapter.stop()
        store.close()
        adapter, store = await _start(db, fake)
        await _mention(adapter, fake, OTHER_TEAM, OTHER_BOT_USER, MATCH_TEXT)
        assert [c.token for c in fake.find("chat.postMessage")] == [OTHER_TOKEN, OTHER_TOKEN]

        # 6. digests and corrections reach that workspace with its token
        await _poster(adapter, fake, store)
    finally:
        await second.stop()
        await adapter.stop()
        await fake.close()
        store.close()


async def _poster(adapter: SlackAdapter, fake: FakeSlack, store) -> None:
    checker = adapter.checker
    poster = adapter.poster()
    sub = checker.subscriptions.subscribe(platform="slack", workspace=OTHER_TEAM, channel=CHANNEL, weekday="monday",
                                          time="09:00", timezone="UTC")
    digest = Digest(platform="slack", workspace=OTHER_TEAM, channel=CHANNEL,
                    period_start="2026-11-16T09:00:00+00:00", period_end="2026-11-23T09:00:00+00:00",
                    totals=DigestTotals(checks=3, matches=2))
    assert await poster.find_digest(sub, period="2026-11-23") is None
    ts = await poster.post_digest(sub, digest, period="2026-11-23")
    posted = fake.find("chat.postMessage")[-1]
    assert posted.token == OTHER_TOKEN and posted.body["channel"] == CHANNEL
    blocks, text = render.render_digest(digest, footer=DIGEST_TAG + "2026-11-23")
    assert posted.body["blocks"] == blocks and posted.body["text"] == text
    assert await poster.find_digest(sub, period="2026-11-23") == ts  # found again after a crash mid-send
    assert await poster.find_digest(sub, period="2026-11-30") is None

    # a correction: posted in the earlier reply's thread, and the reply marked "updated"
    earlier = checker.conversations.replies_for_claim("alibaba-stole-fable-guardrails")[0]
    claim = checker.claim(earlier.claim_id)
    correction = Correction(earlier.id, "slack", OTHER_TEAM, CHANNEL, earlier.message_id, earlier.thread_id,
                            claim, Verdict.TRUE, 1)
    await poster.post_correction(correction)
    note = fake.find("chat.postMessage")[-1]
    assert note.token == OTHER_TOKEN and note.body["thread_ts"] == earlier.thread_id
    assert note.body["text"] == "✏️ " + render.escape(correction.text())
    (update,) = fake.find("chat.update")
    assert update.body["ts"] == earlier.message_id
    assert update.body["blocks"][0] == {**render.context(
        f"✏️ Updated: this verdict is now {claim.verdict.emoji} {claim.verdict.label}; see the correction in the thread."),
        "block_id": "factbot_updated"}  # found again by its id, whatever the language
    assert update.body["blocks"][1:] == fake.find("chat.postMessage")[0].body["blocks"]

    # a channel that is gone: the scheduler is told to stop, not to retry
    fake.gone_channels.add(CHANNEL)
    try:
        await poster.post_digest(sub, digest, period="2026-11-30")
    except DeliveryGone as exc:
        assert str(exc) == f"factbot can no longer post in Slack channel {CHANNEL} (channel_not_found)"
    else:
        raise AssertionError("expected DeliveryGone")
    # a workspace that uninstalled (no installation): also gone
    gone = dataclasses.replace(sub, workspace="T0NOBODY")
    try:
        await poster.post_digest(gone, digest, period="2026-11-30")
    except DeliveryGone as exc:
        assert str(exc) == "factbot is no longer installed in Slack workspace T0NOBODY"
    else:
        raise AssertionError("expected DeliveryGone")
    assert BOT_TOKEN not in str(fake.calls[-1].headers)


def test_instances_starting_together_on_postgresql_make_the_install_tables_once(pg_url):
    """Three instances start at once on a new database: each gets going, and the install's tables are there once."""
    from bot.adapters.slack.app import SlackBot

    async def start_three() -> None:
        settings = SlackSettings(signing_secret=SIGNING_SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                 api_url="http://127.0.0.1:9/api/")
        stores = [open_store(pg_url)[0] for _ in range(3)]
        bots = [SlackBot(checker_for(s, Settings(matcher=lexical_matcher())), settings, http=True) for s in stores]
        try:
            await asyncio.gather(*(b.prepare() for b in bots))
            state = await bots[0].app.oauth_flow.settings.state_store.async_issue()
            assert await bots[2].app.oauth_flow.settings.state_store.async_consume(state)  # one database for all
            assert not await bots[1].app.oauth_flow.settings.state_store.async_consume(state)  # and once only
        finally:
            for b in bots:
                await b.close()
            for s in stores:
                s.close()

    asyncio.run(asyncio.wait_for(start_three(), 60))
    _, tables = _install_tables(pg_url)
    assert {"slack_installations", "slack_bots", "oauth_states"} <= tables


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
def test_db_copy_takes_the_installations_to_postgresql(pg_url, tmp_path: Path, monkeypatch):
    """Installed on a file, moved with ``factbot db copy``, answering that workspace on PostgreSQL with its token."""
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = str(tmp_path / "factbot.db")

    async def move() -> None:
        fake = await FakeSlack().start()
        try:
            adapter, store = await _start(db, fake)
            base = f"http://127.0.0.1:{adapter.bound_port}"
            try:
                async with aiohttp.ClientSession() as browser:
                    await _browser_install(fake, browser, base, base)
            finally:
                await adapter.stop()
                store.close()
            copied = await asyncio.to_thread(CliRunner().invoke, cli, ["--db", db, "db", "copy", "--to", pg_url],
                                             catch_exceptions=False)
            assert copied.exit_code == 0, copied.output
            assert ("Slack installations (the multi-workspace install): 1 workspace(s), each with its latest bot "
                    "token.") in copied.output
            assert "slack_bots" not in copied.output  # not copied row by row: the two stores lay them out differently
            bots, _ = _install_tables(pg_url)
            assert bots == [(OTHER_TEAM, OTHER_TOKEN, OTHER_BOT_USER)]

            adapter, store = await _start(pg_url, fake)
            try:
                asked = await _mention(adapter, fake, OTHER_TEAM, OTHER_BOT_USER, MATCH_TEXT)
                (reply,) = fake.find("chat.postMessage")
                assert reply.token == OTHER_TOKEN and reply.body["thread_ts"] == asked["ts"]
            finally:
                await adapter.stop()
                store.close()
        finally:
            await fake.close()

    asyncio.run(asyncio.wait_for(move(), 90))
