"""``factbot run …`` and ``factbot digest send-now`` through the real CLI, against the fake Discord and fake Slack.

``run all`` is driven end to end: one process, both platforms, a mention answered on each, /healthz
while running, SIGTERM → exit 0.  What ``run all`` starts is decided from the settings alone, and a
half-configured platform is an error that names what is missing.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.request

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_settings
from bot.launch import NOTHING_CONFIGURED, Plan, plan

try:
    from tests.fakes.discord_server import ThreadedFakeDiscord
    from tests.fakes.operator import run_then_sigterm
    from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, TEAM, ThreadedFakeSlack, event_body
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.discord_server import ThreadedFakeDiscord
    from fakes.operator import run_then_sigterm
    from fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER, TEAM, ThreadedFakeSlack, event_body

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
MATCH_ID = "alibaba-stole-fable-guardrails"


pytestmark = pytest.mark.usefixtures("quick_discord_ready", "restore_discord_endpoints")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def invoke(args: list[str], env: dict[str, str]):
    """The CLI as a user runs it, with only these settings in the environment."""
    base = {"XDG_CONFIG_HOME": "/nonexistent-factbot-config", "FACTBOT_MATCHER_SEMANTIC": "off"}
    return CliRunner().invoke(cli, args, env={**base, **env}, catch_exceptions=False)


# -- what `run all` starts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("env, flag, expected", [
    ({"DISCORD_TOKEN": "d"}, None, Plan(discord=True, slack_http=None)),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, None, Plan(discord=False, slack_http=False)),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, None, Plan(discord=False, slack_http=True)),
    ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"}, None,
     Plan(discord=False, slack_http=True)),
    ({"DISCORD_TOKEN": "d", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_SIGNING_SECRET": "s"},
     True, Plan(discord=True, slack_http=True)),
])
def test_run_all_starts_what_is_configured(env, flag, expected):
    assert plan(load_settings(env=env), slack_http=flag) == (expected, None)


@pytest.mark.parametrize("env, flag, message", [
    ({}, None, NOTHING_CONFIGURED),
    ({"DISCORD_TOKEN": "d", "SLACK_APP_TOKEN": "xapp-1"}, None, "slack: no SLACK_BOT_TOKEN: Socket Mode needs"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, None, "slack: no Slack signing secret"),
    ({"DISCORD_TOKEN": "d"}, True, "slack: no Slack signing secret"),
])
def test_a_half_configured_platform_is_named_not_skipped(env, flag, message):
    chosen, problem = plan(load_settings(env=env), slack_http=flag)
    assert chosen is None
    assert problem.startswith(message)


def test_run_all_with_nothing_configured_exits_4_and_touches_nothing(tmp_path):
    result = invoke(["run", "all"], {"FACTBOT_DB": str(tmp_path / "factbot.db")})
    assert result.exit_code == 4
    assert result.output == f"Error: {NOTHING_CONFIGURED}\n"
    assert not (tmp_path / "factbot.db").exists()


def test_run_console_answers_from_the_bundled_claims(tmp_path):
    result = CliRunner().invoke(cli, ["run", "console"], input=MATCH_TEXT + "\n/quit\n",
                                env={"FACTBOT_DB": str(tmp_path / "factbot.db"), "FACTBOT_MATCHER_SEMANTIC": "off"})
    assert result.exit_code == 0, result.output
    assert "❓" in result.output and f"claim id {MATCH_ID}" in result.output


def test_metrics_port_in_use_is_one_line_and_exit_4(tmp_path, caplog):
    with ThreadedFakeDiscord() as fake, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"DISCORD_TOKEN": fake.token, "DISCORD_API_BASE": fake.api_base, "DISCORD_GATEWAY_URL": fake.gateway_url,
               "FACTBOT_DB": str(tmp_path / "factbot.db")}
        result = invoke(["run", "discord", "--metrics-port", str(port)], env)
    assert result.exit_code == 4
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith(f"cannot serve /healthz and /metrics on 127.0.0.1:{port}")
    assert "Traceback" not in caplog.text + result.output


# -- run all, end to end ----------------------------------------------------------------------------------------
def test_run_all_answers_on_discord_and_slack_in_one_process_and_stops_on_sigterm(tmp_path):
    discord_fake, slack_fake = ThreadedFakeDiscord(), ThreadedFakeSlack()
    metrics_port = free_port()
    with discord_fake as dfake, slack_fake as sfake:
        env = {"DISCORD_TOKEN": dfake.token, "DISCORD_API_BASE": dfake.api_base,
               "DISCORD_GATEWAY_URL": dfake.gateway_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
               "SLACK_API_URL": sfake.api_url, "FACTBOT_DB": str(tmp_path / "factbot.db")}
        seen: dict = {}

        def people_then_operator() -> None:
            discord_fake.call(dfake.wait_gateway("identify", timeout=30), timeout=35)
            asked = discord_fake.call(dfake.mention(dfake.alice, MATCH_TEXT))
            seen["discord"] = discord_fake.call(dfake.wait_request(
                "POST", f"/channels/{dfake.general}/messages", timeout=10,
                where=lambda r: str(r.json["message_reference"]["message_id"]) == asked["id"]), timeout=15)
            sock = slack_fake.socket
            for _ in range(1500):
                if sock.hellos >= 1:
                    break
                threading.Event().wait(0.02)
            message = sfake.add_message("C0GENERAL", f"<@{BOT_USER}> {MATCH_TEXT}", user="U0ALICE")
            event = {"type": "app_mention", "user": "U0ALICE", "text": message["text"], "ts": message["ts"],
                     "channel": "C0GENERAL", "event_ts": message["ts"], "team": TEAM}
            slack_fake.call(sock.events_api(event_body(event)))
            seen["slack"] = slack_fake.call(sfake.next_call("chat.postMessage", timeout=10), timeout=15)
            seen["asked_ts"] = message["ts"]
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5) as r:
                seen["health"] = (r.status, r.read().decode())

        result = run_then_sigterm(lambda: invoke(["run", "all", "--metrics-port", str(metrics_port)], env),
                                  people_then_operator)
    assert result.exit_code == 0, result.output
    assert seen["discord"].json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert seen["discord"].json["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert seen["slack"].body["thread_ts"] == seen["asked_ts"]
    assert f"claim id `{MATCH_ID}`" in json.dumps(seen["slack"].body["blocks"])
    assert seen["health"] == (200, "ok\n")
    # Bolt must not have pinned the factbot loggers' level at its first request: the check log at INFO stays on.
    assert logging.getLogger("factbot").level == logging.NOTSET


# -- digest send-now -------------------------------------------------------------------------------------------
def test_send_now_posts_a_subscribed_slack_channels_digest(tmp_path):
    db = str(tmp_path / "factbot.db")
    with ThreadedFakeSlack(socket_mode=False) as fake:
        env = {"FACTBOT_DB": db, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
        assert invoke(["digest", "send-now", "--platform", "slack", "--workspace", TEAM, "--channel", "C0GENERAL"],
                      env).exit_code == 1  # not subscribed: nothing posted
        assert fake.find("chat.postMessage") == []
        subscribed = invoke(["digest", "subscribe", "--platform", "slack", "--workspace", TEAM, "--channel",
                             "C0GENERAL", "--day", "mon", "--time", "09:00", "--timezone", "Europe/Berlin"], env)
        assert subscribed.exit_code == 0, subscribed.output
        result = invoke(["digest", "send-now", "--platform", "slack", "--workspace", TEAM, "--channel", "C0GENERAL"],
                        env)
        posts = fake.find("chat.postMessage")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Posted the digest to slack channel C0GENERAL (message ")
    assert len(posts) == 1 and posts[0].body["channel"] == "C0GENERAL"
    assert "digest" in json.dumps(posts[0].body["blocks"]).lower()
    assert fake.validate(posts[0].body) == []


def test_send_now_posts_to_discord_over_rest_and_says_when_the_channel_is_gone(tmp_path):
    db = str(tmp_path / "factbot.db")
    with ThreadedFakeDiscord() as fake:
        env = {"FACTBOT_DB": db, "DISCORD_TOKEN": fake.token, "DISCORD_API_BASE": fake.api_base}
        for channel in (str(fake.general), "999999999999999999"):
            invoke(["digest", "subscribe", "--platform", "discord", "--workspace", str(fake.guild_id), "--channel",
                    channel, "--day", "fri", "--time", "17:30", "--timezone", "America/New_York"], env)
        result = invoke(["digest", "send-now", "--platform", "discord", "--workspace", str(fake.guild_id),
                         "--channel", str(fake.general)], env)
        posted = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{fake.general}/messages"]
        gone = invoke(["digest", "send-now", "--platform", "discord", "--workspace", str(fake.guild_id),
                       "--channel", "999999999999999999"], env)
    assert result.exit_code == 0, result.output
    assert len(posted) == 1 and posted[0].json["embeds"]
    assert posted[0].json["allowed_mentions"]["parse"] == []
    assert gone.exit_code == 1
    assert "999999999999999999" in gone.output and "Traceback" not in gone.output


# -- the scheduler's clock, driven from outside the process (test-only) -------------------------------------------
def _wait(predicate, what: str, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _digest_rows(db) -> dict:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT s.channel, d.status, d.attempts FROM digests_sent d JOIN subscriptions s ON s.id = d.subscription_id")}
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def test_a_running_bot_on_a_clock_moved_from_outside_retries_after_back_off_and_skips_past_grace(tmp_path):
    """``factbot run slack`` in its own process, its scheduler's clock moved by writing FACTBOT_TEST_CLOCK_FILE."""
    import datetime as dt
    import os
    import signal
    import subprocess
    import sys

    db, clock = tmp_path / "factbot.db", tmp_path / "clock"
    real = dt.datetime.now(dt.UTC)
    due_a = (real + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    due_b = due_a + dt.timedelta(minutes=10)
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    def move_to(moment: dt.datetime) -> None:  # the scheduler's "now" becomes `moment`
        clock.write_text(str((moment - dt.datetime.now(dt.UTC)).total_seconds()))

    with ThreadedFakeSlack() as fake:
        env = {"FACTBOT_DB": str(db), "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN,
               "SLACK_API_URL": fake.api_url}
        for channel, due in (("C0DIGESTA", due_a), ("C0DIGESTB", due_b)):
            done = invoke(["digest", "subscribe", "--platform", "slack", "--workspace", TEAM, "--channel", channel,
                           "--day", days[due.weekday()], "--time", due.strftime("%H:%M"), "--timezone", "UTC"], env)
            assert done.exit_code == 0, done.output
        fake.fail("chat.postMessage", "internal_error")  # the first attempt at A's digest fails
        move_to(due_a + dt.timedelta(minutes=5))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FACTBOT_", "SLACK_", "DISCORD_"))}
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run", "slack", "--no-metrics"],
                               env={**base, **env, "XDG_CONFIG_HOME": str(tmp_path / "config"),
                                    "FACTBOT_MATCHER_SEMANTIC": "off", "FACTBOT_TEST_CLOCK_FILE": str(clock)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait(lambda: _digest_rows(db).get("C0DIGESTA") == ("failed", 1), "the first attempt to fail")
            assert [p.response["ok"] for p in fake.find("chat.postMessage")] == [False]
            move_to(due_a + dt.timedelta(minutes=7))  # past the first back-off (1 minute)
            _wait(lambda: _digest_rows(db).get("C0DIGESTA") == ("sent", 2), "the retry after the back-off")
            move_to(due_b + dt.timedelta(hours=13))  # B's run is 13 h ago: past the 12 h grace
            _wait(lambda: _digest_rows(db).get("C0DIGESTB", ("",))[0] == "skipped", "B to be skipped")
        finally:
            bot.send_signal(signal.SIGTERM)
            out, err = bot.communicate(timeout=30)
        posts = fake.find("chat.postMessage")
    assert bot.returncode == 0, err
    assert [(p.body["channel"], p.response["ok"]) for p in posts] == [("C0DIGESTA", False), ("C0DIGESTA", True)]
    assert "(a test-only setting)" in err


def test_the_test_clock_is_refused_in_production_mode(tmp_path):
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith(("FACTBOT_", "SLACK_", "DISCORD_"))}
    done = subprocess.run([sys.executable, "-m", "bot", "run", "slack", "--no-metrics"], capture_output=True, text=True,
                          env={**base, "FACTBOT_DB": str(tmp_path / "f.db"), "SLACK_BOT_TOKEN": BOT_TOKEN,
                               "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": "http://127.0.0.1:9/api/",
                               "XDG_CONFIG_HOME": str(tmp_path / "config"), "FACTBOT_ENV": "production",
                               "FACTBOT_TEST_CLOCK_FILE": str(tmp_path / "clock")}, timeout=60)
    assert done.returncode == 4
    assert "FACTBOT_TEST_CLOCK_FILE is a test-only setting and is refused when FACTBOT_ENV=production" in done.stderr
    assert "Traceback" not in done.stderr
