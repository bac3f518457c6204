"""factbot on Slack in Socket Mode, and ``factbot run slack`` itself.

The real slack-sdk Socket Mode client connects to a local WebSocket (handed
out by the fake Web API's ``apps.connections.open``), gets ``hello``, and
answers ``events_api``, ``slash_commands`` and ``interactive`` envelopes;
the tests check each acknowledgement and what people would see.  The runner
tests start ``run()`` the way the CLI does and check that a missing or
rejected token ends it with one clear line and exit code 4.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

# tests/ is on sys.path under pytest (conftest.py lives there), so the fakes are a top-level package.
from fakes.operator import run_then_sigterm
from fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    FakeSlack,
    ThreadedFakeSlack,
    block_actions_payload,
    command_form,
    event_body,
)
from fakes.slack_socket import FakeSocketMode
from helpers import lexical_matcher, settle

from bot.adapters.slack import render, runner
from bot.adapters.slack.runner import SlackAdapter
from bot.config import Settings, SlackSettings, StoreSettings, load_settings
from bot.core.service import checker_for, open_store

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
MATCH_ID = "alibaba-stole-fable-guardrails"
CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"


def mention_event(fake: FakeSlack, text: str, **extra) -> dict:
    message = fake.add_message(CHANNEL, f"<@{BOT_USER}> {text}", user=ALICE)
    return {"type": "app_mention", "user": ALICE, "text": message["text"], "ts": message["ts"], "channel": CHANNEL,
            "event_ts": message["ts"], "team": TEAM, **extra}


def test_socket_mode_end_to_end(tmp_path: Path):
    asyncio.run(asyncio.wait_for(_socket_mode(tmp_path / "factbot.db"), 60))


async def _socket_mode(db: Path) -> None:
    socket = await FakeSocketMode().start()
    fake = await FakeSlack(socket_url=socket.url).start()
    settings = Settings(store=StoreSettings(path=str(db)), matcher=lexical_matcher(),
                        slack=SlackSettings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=fake.api_url))
    store, _ = open_store(db)
    checker = checker_for(store, settings)
    adapter = SlackAdapter(checker, settings.slack, http=False)
    try:
        await adapter.start()
        # the tokens were checked once each, and the URL just issued was used (no second connections.open)
        assert [(c.method, c.token) for c in fake.calls] == [("auth.test", BOT_TOKEN),
                                                             ("apps.connections.open", APP_TOKEN)]
        await asyncio.wait_for(socket.connected.wait(), 5)
        assert socket.hellos == 1
        assert adapter.health() == (True, "connected to Slack in Socket Mode as factbot in Factbot Test")

        # events_api: acknowledged with the bare envelope id, then answered in the thread
        event = mention_event(fake, MATCH_TEXT)
        body = event_body(event, event_id="Ev0SOCKET1")
        envelope = await socket.events_api(body)
        assert await socket.wait_ack(envelope) == {"envelope_id": envelope}
        reply = await fake.next_call("chat.postMessage")
        assert reply.body["thread_ts"] == event["ts"] and reply.token == BOT_TOKEN
        assert reply.body["blocks"] == render.render_result(checker.check(MATCH_TEXT, record=False)).blocks
        assert FakeSlack.pinged(reply.body) == []

        # a redelivery of the same event (retry_attempt 1) is acknowledged and not answered again
        again = await socket.events_api(body, retry_attempt=1)
        assert await socket.wait_ack(again) == {"envelope_id": again}
        await settle(adapter.bot)
        assert len(fake.find("chat.postMessage")) == 1
        # kept before Bolt's ack and marked done once answered, as in HTTP mode (bot/core/inbox.py)
        store.flush_pending(wait=True)
        assert [tuple(r) for r in store.db.execute(
            "SELECT event_id, done_at IS NOT NULL FROM event_inbox").fetchall()] == [("Ev0SOCKET1", 1)]
        assert reply.body["metadata"]["event_payload"] == {"event_id": "Ev0SOCKET1"}

        # slash_commands: an empty ack (Slack shows nothing), then the private answer at the response_url
        command = await socket.slash_command(command_form(MATCH_TEXT, user=ALICE, channel=CHANNEL,
                                                          response_url=fake.response_url("sock")))
        assert await socket.wait_ack(command) == {"envelope_id": command}
        answer = await fake.next_call("response_url")
        assert answer.body["response_type"] == "ephemeral" and answer.body["blocks"][0] == render.header("❓ Unverified · rated “Unsupported”")

        # interactive: the answer's "Share in channel" button
        key = answer.body["blocks"][-1]["elements"][-1]["value"]
        press = await socket.interactive(block_actions_payload(
            render.SHARE, key, user=ALICE, channel=CHANNEL, message_ts="1760000000.000001",
            response_url=fake.response_url("share")))
        assert await socket.wait_ack(press) == {"envelope_id": press}
        shared = await fake.next_call("chat.postMessage", after=fake.calls.index(answer))
        assert shared.body["blocks"][0] == render.context("📣 Shared from /factcheck")

        # Slack asks the client to move to a new connection: it reconnects with a fresh URL and goes on
        await socket.disconnect()
        await fake.wait_for("apps.connections.open", count=2, timeout=15)
        deadline = asyncio.get_running_loop().time() + 15
        while socket.hellos < 2:
            assert asyncio.get_running_loop().time() < deadline, "no reconnection"
            await asyncio.sleep(0.01)
        envelope = await socket.events_api(event_body(mention_event(fake, MATCH_TEXT)))
        assert await socket.wait_ack(envelope) == {"envelope_id": envelope}
        await fake.wait_for("chat.postMessage", count=3)
    finally:
        await adapter.stop()
        await fake.close()
        await socket.close()
        store.close()
    assert adapter.health() == (False, "not started")


# -- factbot run slack -------------------------------------------------------------------------------


@pytest.mark.parametrize("http, env, message", [
    (False, {}, "no SLACK_BOT_TOKEN and SLACK_APP_TOKEN: Socket Mode needs SLACK_BOT_TOKEN (xoxb-…) and "
                "SLACK_APP_TOKEN (xapp-…, with connections:write); or run with --http and SLACK_SIGNING_SECRET"),
    (False, {"SLACK_BOT_TOKEN": BOT_TOKEN}, "no SLACK_APP_TOKEN: Socket Mode needs SLACK_BOT_TOKEN (xoxb-…) and "
                "SLACK_APP_TOKEN (xapp-…, with connections:write); or run with --http and SLACK_SIGNING_SECRET"),
    (True, {"SLACK_BOT_TOKEN": BOT_TOKEN}, "no Slack signing secret: HTTP mode needs SLACK_SIGNING_SECRET "
                                           "(or signing_secret in the [slack] section of the config file)"),
    (True, {"SLACK_SIGNING_SECRET": "s3cret-value"}, "no Slack bot token: HTTP mode needs SLACK_BOT_TOKEN for one "
                                       "workspace, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many"),
    (True, {"SLACK_SIGNING_SECRET": "s3cret-value", "SLACK_CLIENT_ID": "1.2"},
     "the multi-workspace install needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
])
def test_missing_settings_exit_4_with_one_clear_line(tmp_path, capsys, http, env, message):
    settings = load_settings(env={**env, "FACTBOT_DB": str(tmp_path / "factbot.db")})
    assert runner.run(settings, http=http, metrics_port=None) == 4
    assert capsys.readouterr().err == f"Error: {message}\n"
    assert not (tmp_path / "factbot.db").exists()  # nothing touched


@pytest.mark.parametrize("which", ["bot", "app"])
def test_rejected_tokens_exit_4_without_traceback_or_token(tmp_path, capsys, caplog, which):
    wrong = "xoxb-9999-wrong-token-for-this-test" if which == "bot" else "xapp-1-A0-wrong-app-token-for-this-test"
    with ThreadedFakeSlack() as fake:
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url,
               "FACTBOT_DB": str(tmp_path / "factbot.db"), "FACTBOT_MATCHER_SEMANTIC": "off"}
        env["SLACK_BOT_TOKEN" if which == "bot" else "SLACK_APP_TOKEN"] = wrong
        code = runner.run(load_settings(env=env), metrics_port=None)
        methods = [c.method for c in fake.calls]
    assert code == 4
    assert methods == (["auth.test"] if which == "bot" else ["auth.test", "apps.connections.open"])
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        "slack: Slack rejected the bot token (invalid_auth): check SLACK_BOT_TOKEN or bot_token in the [slack] "
        "section of the config file" if which == "bot" else
        "slack: Slack rejected the app-level token (invalid_auth): SLACK_APP_TOKEN must be an xapp-… token with "
        "the connections:write scope"
    ]
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out + caplog.text
    assert wrong not in out.err + out.out + caplog.text


def test_unreachable_slack_is_one_line_too(tmp_path, caplog):
    settings = Settings(store=StoreSettings(path=str(tmp_path / "factbot.db")), matcher=lexical_matcher(),
                        slack=SlackSettings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url="http://127.0.0.1:9/api/"))
    assert runner.run(settings, metrics_port=None) == 4
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == ["slack: cannot reach Slack at http://127.0.0.1:9/api/ (ClientConnectorError)"]
    assert "Traceback" not in caplog.text


def test_run_answers_a_mention_and_stops_cleanly_on_sigterm(tmp_path):
    """`factbot run slack` end to end in Socket Mode: settings from the environment, a mention answered, SIGTERM → 0."""
    threaded = ThreadedFakeSlack()
    with threaded as fake:
        settings = load_settings(env={
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url,
            "FACTBOT_DB": str(tmp_path / "factbot.db"), "FACTBOT_MATCHER_SEMANTIC": "off"})  # lexical: fast
        answered: dict = {}

        def person_then_operator() -> None:
            socket = threaded.socket
            deadline = 30.0
            while socket.hellos < 1 and deadline > 0:
                threaded.call(asyncio.sleep(0.02))
                deadline -= 0.02
            event = event_body(mention_event(fake, MATCH_TEXT))
            envelope = threaded.call(socket.events_api(event))
            answered["ack"] = threaded.call(socket.wait_ack(envelope, timeout=10), timeout=15)
            answered["reply"] = threaded.call(fake.next_call("chat.postMessage", timeout=10), timeout=15)

        code = run_then_sigterm(lambda: runner.run(settings, metrics_port=None), person_then_operator)
    assert code == 0
    assert answered["ack"] == {"envelope_id": answered["ack"]["envelope_id"]}
    assert answered["reply"].body["blocks"][0] == render.header("❓ Unverified · rated “Unsupported”")
    assert f"claim id `{MATCH_ID}`" in str(answered["reply"].body["blocks"])
