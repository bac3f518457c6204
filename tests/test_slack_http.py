"""factbot on Slack in HTTP mode, end to end: real slack-bolt and slack-sdk against a fake Slack on 127.0.0.1.

Each test starts the adapter on a fresh temp-file database (with the bundled
claims), sends it signed requests the way Slack does (events, slash commands,
shortcuts, button presses) over real HTTP, and asserts on what people would
see: the exact blocks and text the bot sent to the fake Web API or to a
``response_url``, and who Slack would have notified.  Waits are on calls
arriving and on the listener tasks finishing, never on sleeps.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ENGINES

# tests/ is on sys.path under pytest (conftest.py lives there), so the fakes are a top-level package.
from fakes.slack_api import (
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    Call,
    FakeSlack,
    SlackSender,
    block_actions_payload,
    command_form,
    event_body,
    shortcut_payload,
    sign,
)
from helpers import Clock, eventually, lexical_matcher, settle, text_with

from bot.adapters.slack import render
from bot.adapters.slack.runner import SlackAdapter
from bot.config import BotSettings, Settings, SlackSettings, StoreSettings
from bot.core.inbox import EventInbox
from bot.core.matcher import MatchConfig
from bot.core.models import CountedClaim, Decision
from bot.core.service import FactChecker, checker_for, open_store

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
MATCH_ID = "alibaba-stole-fable-guardrails"
NONE_TEXT = "anyone up for lunch?"
CHANNEL = "C0GENERAL"
ALICE, BOB, ADMIN, LISTED = "U0ALICE", "U0BOB", "U0ADMIN", "U0LISTED"


@dataclass
class Env:
    fake: FakeSlack
    adapter: SlackAdapter
    checker: FactChecker
    settings: Settings
    clock: Clock
    slack: SlackSender
    db: Path
    caplog: pytest.LogCaptureFixture

    async def healthz(self) -> tuple[int, str]:
        """The process's one /healthz (the runtime's, beside /metrics) with this adapter in it."""
        from aiohttp.test_utils import TestClient, TestServer

        from bot.runtime import Runtime

        runtime = Runtime(self.checker, [self.adapter], port=None, scheduler=False)
        async with TestClient(TestServer(runtime.http_app())) as client:
            response = await client.get("/healthz")
            return response.status, await response.text()

    @property
    def conversations(self):
        return self.checker.conversations

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.bound_port}"

    # -- what people do ---------------------------------------------------------------------
    async def mention(self, text: str, *, user: str = ALICE, channel: str = CHANNEL, thread_ts: str | None = None,
                      event_id: str | None = None, retry: int | None = None, wait: bool = True) -> dict[str, Any]:
        """``@factbot text`` posted in a channel (or a thread): the message exists, the app_mention arrives."""
        message = self.fake.add_message(channel, f"<@{BOT_USER}> {text}", user=user, thread_ts=thread_ts)
        event = {"type": "app_mention", "user": user, "text": message["text"], "ts": message["ts"],
                 "channel": channel, "event_ts": message["ts"], "team": TEAM}
        if thread_ts:
            event["thread_ts"] = thread_ts
        status, _ = await self.slack.event(event_body(event, event_id=event_id), retry=retry)
        assert status == 200
        if wait:  # else: acknowledged, the answer may still be on its way
            await self.settle()
        return message

    async def say(self, text: str, *, user: str = BOB, channel: str = CHANNEL, wait: bool = True,
                  **extra: Any) -> dict[str, Any]:
        """A plain channel message (``message.channels``), as watch mode sees it."""
        message = self.fake.add_message(channel, text, user=user, **extra)
        event = {"type": "message", "channel": channel, "text": text, "ts": message["ts"], "event_ts": message["ts"],
                 "channel_type": "channel", "team": TEAM, **({"user": user} if user else {}), **extra}
        status, _ = await self.slack.event(event_body(event))
        assert status == 200
        if wait:
            await self.settle()
        return message

    async def command(self, text: str, *, user: str = ALICE, channel: str = CHANNEL, label: str = "cmd") -> Call:
        """``/factcheck text``: the HTTP answer is an empty ack; what the person sees arrives at the response_url."""
        after = len(self.fake.calls)
        status, body = await self.slack.form(command_form(text, user=user, channel=channel,
                                                          response_url=self.fake.response_url(label)))
        assert (status, body) == (200, "")
        await self.settle()
        return await self.fake.next_call("response_url", after=after)

    async def press(self, action_id: str, value: str | None, *, user: str = ALICE, channel: str = CHANNEL,
                    message: dict[str, Any] | None = None, ephemeral_ts: str = "", label: str = "btn") -> None:
        """A button on ``message`` (a public message as the fake holds it) or on an ephemeral answer."""
        ts = message["ts"] if message is not None else ephemeral_ts or self.fake.next_ts()
        payload = block_actions_payload(action_id, value, user=user, channel=channel, message_ts=ts, message=message,
                                        response_url=self.fake.response_url(label))
        status, body = await self.slack.interactive(payload)
        assert (status, body) == (200, "")
        await self.settle()

    async def shortcut(self, message: dict[str, Any], *, user: str = BOB, channel: str = CHANNEL) -> None:
        payload = shortcut_payload(message, user=user, channel=channel, response_url=self.fake.response_url("sc"))
        status, body = await self.slack.interactive(payload)
        assert (status, body) == (200, "")
        await self.settle()

    async def settle(self) -> None:
        """Every request acknowledged so far has been handled, its replies sent."""
        await settle(self.adapter.bot)

    def posted(self, after: int = 0) -> list[Call]:
        return self.fake.find("chat.postMessage", after=after)


async def restart(env: Env) -> None:
    """factbot stops and starts again on the same database (a new process, as far as the adapter can tell)."""
    await env.adapter.stop()
    env.checker.store.close()
    store, _ = open_store(env.db)
    env.checker = checker_for(store, env.settings)
    env.adapter = await start_adapter(env.checker, env.settings, env.clock)
    env.slack.url = env.url + "/slack/events"


def settings_for(fake: FakeSlack, db: Path, *, bot: dict[str, Any] | None = None, matcher: MatchConfig | None = None,
                 **slack: Any) -> Settings:
    """Settings for one test: ``bot`` overrides the [bot] section, the other keywords the [slack] one."""
    return Settings(store=StoreSettings(path=str(db)), matcher=matcher or lexical_matcher(),
                    bot=BotSettings(**(bot or {})),
                    slack=SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, api_url=fake.api_url,
                                        **slack))


async def start_adapter(checker: FactChecker, settings: Settings, clock: Clock) -> SlackAdapter:
    adapter = SlackAdapter(checker, settings.slack, http=True, port=0, host="127.0.0.1", clock=clock)
    await adapter.start()
    return adapter


async def _run(db: Path, body: Callable[[Env], Awaitable[None]], caplog, **overrides: Any) -> None:
    fake = await FakeSlack().start()
    fake.add_user(ALICE)
    fake.add_user(BOB)
    fake.add_user(ADMIN, admin=True)
    fake.add_user(LISTED)
    settings = settings_for(fake, db, **overrides)
    store, _ = open_store(db)
    clock = Clock()
    checker = checker_for(store, settings)
    adapter = await start_adapter(checker, settings, clock)
    env = Env(fake, adapter, checker, settings, clock, None, db, caplog)  # type: ignore[arg-type]
    try:
        async with SlackSender(f"http://127.0.0.1:{adapter.bound_port}/slack/events") as env.slack:
            await body(env)
    finally:
        await env.adapter.stop()  # the test may have restarted it
        await fake.close()
        env.checker.store.close()
        checker.store.close()


def e2e(*, engines: tuple[str, ...] = (), **overrides: Any):
    """Run ``async def test(env)`` against a fresh fake Slack and database (an SQLite file, or with
    ``engines=ENGINES`` a PostgreSQL database as well)."""
    def decorate(fn: Callable[[Env], Awaitable[None]]):
        def test(tmp_path: Path, caplog: pytest.LogCaptureFixture, db_engine: str, request: Any) -> None:
            caplog.set_level(logging.INFO, logger="factbot")
            db = request.getfixturevalue("pg_url") if db_engine == "postgresql" else tmp_path / "factbot.db"
            asyncio.run(asyncio.wait_for(_run(db, fn, caplog, **overrides), 60))
        test.__name__, test.__doc__ = fn.__name__, fn.__doc__
        return pytest.mark.parametrize("db_engine", engines)(test) if engines else test
    return decorate


def expected(env: Env, text: str, **options: Any) -> render.Reply:
    """What the renderer makes of the core's answer to ``text`` (the renderer's own tests pin the blocks)."""
    return render.render_result(env.checker.check(text, record=False), **options)


def headers_of(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "header"]


def buttons_of(blocks: list[dict]) -> list[tuple[str, str]]:
    return [(el["action_id"], el["text"]["text"]) for b in blocks if b["type"] == "actions" for el in b["elements"]]


def assert_notifies_nobody(call: Call) -> None:
    assert FakeSlack.pinged(call.body) == [], FakeSlack.pinged(call.body)
    assert not FakeSlack.validate(call.body), FakeSlack.validate(call.body)


# -- mentions ---------------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_mention_gets_a_verdict_in_the_thread(env: Env):
    asked = await env.mention(MATCH_TEXT)
    (reply,) = env.posted()
    assert reply.token == BOT_TOKEN
    assert reply.body["channel"] == CHANNEL and reply.body["thread_ts"] == asked["ts"]
    assert reply.body["unfurl_links"] is False
    want = expected(env, MATCH_TEXT)
    assert reply.body["blocks"] == want.blocks and reply.body["text"] == want.text
    assert headers_of(reply.body["blocks"]) == ["❓ Unverified · rated “Unsupported”"]  # the rating beside the label
    assert f"claim id `{MATCH_ID}`" in json.dumps(reply.body["blocks"], ensure_ascii=False)
    assert buttons_of(reply.body["blocks"]) == [("factbot_vote_up", "👍"), ("factbot_vote_down", "👎"),
                                                ("factbot_delete", "🗑️ Remove")]
    assert reply.body["text"].startswith("❓ Unverified: Alibaba illicitly extracted Claude Fable's guardrails")
    assert_notifies_nobody(reply)
    record = env.conversations.reply("slack", CHANNEL, reply.response["ts"])
    assert (record.requester, record.source, record.claim_id, record.thread_id) == (ALICE, "mention", MATCH_ID,
                                                                                     asked["ts"])
    logged = env.checker.store.checks()
    assert [(c["platform"], c["workspace"], c["channel"], c["decision"]) for c in logged] == [
        ("slack", TEAM, CHANNEL, "match")]


@e2e()
async def test_mention_alone_in_a_thread_checks_the_threads_first_message(env: Env):
    parent = env.fake.add_message(CHANNEL, MATCH_TEXT, user=BOB)
    env.fake.add_message(CHANNEL, "wait, really?", user=ALICE, thread_ts=parent["ts"])
    await env.mention("", thread_ts=parent["ts"])
    (lookup,) = env.fake.find("conversations.replies")
    assert lookup.body["channel"] == CHANNEL and lookup.body["ts"] == parent["ts"]
    (reply,) = env.posted()
    assert reply.body["thread_ts"] == parent["ts"]
    assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
    # the thread's first message written by an app is not checked
    app_post = env.fake.add_message(CHANNEL, MATCH_TEXT, bot_id="B0OTHER")
    await env.mention("", thread_ts=app_post["ts"])
    assert env.posted()[-1].body["text"] == "I only check what people write, not other apps' messages."


@e2e()
async def test_mention_without_a_claim_outside_a_thread_gets_help(env: Env):
    asked = await env.mention("  ")
    (reply,) = env.posted()
    assert reply.body["thread_ts"] == asked["ts"]
    assert reply.body["blocks"] == render.render_help(admin=False).blocks
    assert env.fake.find("conversations.replies") == []


@e2e()
async def test_injected_channel_mention_notifies_nobody(env: Env):
    await env.mention(f"<!channel> <!here> <!everyone> <@{BOB}> <!subteam^S0TEAM|@team> {NONE_TEXT}")
    (reply,) = env.posted()
    assert headers_of(reply.body["blocks"]) == ["🔎 No verified claim matches"]
    checked = reply.body["blocks"][2]["text"]["text"]
    assert checked == ("*Checked text*\n>&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U0BOB&gt; "
                       "&lt;!subteam^S0TEAM|@team&gt; anyone up for lunch?")
    assert_notifies_nobody(reply)


@e2e()
async def test_a_40_kb_message_is_answered_within_slacks_limits(env: Env):
    text = MATCH_TEXT + ". " + ("blah blah and more blah. " * 1700)
    assert len(text) > 40_000
    await env.mention(text)
    (reply,) = env.posted()
    assert reply.ok and not FakeSlack.validate(reply.body)
    assert headers_of(reply.body["blocks"])[0] == "❓ Unverified · rated “Unsupported”"
    assert reply.body["blocks"][0] == render.context(
        "ℹ️ The message is long; only its first 4,000 characters were checked.")
    assert len(reply.body["text"]) <= 3000 and len(reply.body["blocks"]) <= 50


@e2e(bot={"rate_limit_per_minute": 2})
async def test_rate_limit_says_so_once_then_stays_quiet(env: Env):
    for _ in range(4):
        await env.mention(MATCH_TEXT)
    assert len(env.posted()) == 2
    (notice,) = env.fake.find("chat.postEphemeral")
    assert notice.body["user"] == ALICE
    assert notice.body["text"].startswith("You're checking a lot of messages at once; try again in ")


@e2e()
async def test_slack_rate_limits_are_waited_out_by_the_sdk(env: Env):
    env.fake.rate_limit("chat.postMessage", 0)
    await env.mention(MATCH_TEXT)
    attempts = env.fake.find("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].body == attempts[1].body
    assert len(env.conversations.replies_for_claim(MATCH_ID)) == 1


@e2e()
async def test_an_error_gets_a_short_apology_and_the_details_go_to_the_log_without_tokens(env: Env):
    env.fake.fail("chat.postMessage", "internal_error")
    asked = await env.mention(MATCH_TEXT)
    failed, apology = env.posted()
    assert failed.response == {"ok": False, "error": "internal_error"}
    assert apology.body["thread_ts"] == asked["ts"]
    assert apology.body["text"] == "Sorry, I couldn't do that right now. Please try again in a moment."
    errors = [r for r in env.caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == ["mention failed: SlackApiError internal_error"]
    assert BOT_TOKEN not in env.caplog.text and SIGNING_SECRET not in env.caplog.text
    env.fake.fail("users.info", "fatal_error")  # an admin check that cannot be made: no rights, no crash
    refused = await env.command("watch on", user=ADMIN)
    assert refused.body["text"] == "Only workspace admins, or people on factbot's admin list, can change watch mode."


# -- retries, signatures -------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_a_retried_event_is_acknowledged_and_answered_once_even_after_a_restart(env: Env):
    await env.mention(MATCH_TEXT, event_id="Ev0RETRY1")
    await env.mention(MATCH_TEXT, event_id="Ev0RETRY1", retry=1)
    assert len(env.posted()) == 1
    # factbot restarts on the same database; Slack retries once more
    await restart(env)
    await env.mention(MATCH_TEXT, event_id="Ev0RETRY1", retry=2)
    assert len(env.posted()) == 1
    await env.mention(MATCH_TEXT, event_id="Ev0FRESH2")  # a new event is answered as usual
    assert len(env.posted()) == 2



# -- kept events: none lost between the ack and the answer (bot/core/inbox.py) ----------------------------------------
def _kept(env: Env, event_id: str) -> tuple[Any, ...] | None:
    env.checker.store.flush_pending(wait=True)
    row = env.checker.store.db.execute(
        "SELECT body, done_at FROM event_inbox WHERE platform = 'slack' AND event_id = ?", [event_id]).fetchone()
    return tuple(row) if row is not None else None


def _mention_event(env: Env, text: str, *, event_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A mention posted in the channel, and the event Slack would send about it (not sent)."""
    message = env.fake.add_message(CHANNEL, f"<@{BOT_USER}> {text}", user=ALICE)
    event = {"type": "app_mention", "user": ALICE, "text": message["text"], "ts": message["ts"], "channel": CHANNEL,
             "event_ts": message["ts"], "team": TEAM}
    return message, event_body(event, event_id=event_id)


@e2e(engines=ENGINES)
async def test_a_mention_is_kept_until_answered_and_its_reply_carries_the_events_id(env: Env):
    message = await env.mention(MATCH_TEXT, event_id="Ev0KEPT1")
    (reply,) = _replies_to(env, message)
    # Invisible to people; what an instance taking the event over looks for before answering again.
    assert reply.body["metadata"] == {"event_type": "factbot_answer", "event_payload": {"event_id": "Ev0KEPT1"}}
    body, done_at = await eventually(lambda: (row := _kept(env, "Ev0KEPT1")) and row[1] and row)
    assert body is None and done_at  # answered: marked, and what was written no longer kept
    await env.mention(MATCH_TEXT, event_id="Ev0KEPT1", retry=1)  # the row tells the retry from a new event
    assert len(_replies_to(env, message)) == 1


@e2e(engines=ENGINES, event_lease_seconds=1)
async def test_events_a_dead_instance_acknowledged_are_answered_here_once(env: Env):
    """Another instance kept two mentions and died: one before answering, one after posting its answer (and before
    marking it). Once their lease has run out this instance answers the first, and only looks at the second."""
    dead = EventInbox(env.checker.store, owner="dead-host:1:0", lease_seconds=1)
    unanswered, first = _mention_event(env, MATCH_TEXT, event_id="Ev0DEAD1")
    answered, second = _mention_event(env, MATCH_TEXT, event_id="Ev0DEAD2")
    for body in (first, second):
        assert dead.keep("slack", body["event_id"], json.dumps(body))
    env.fake.add_message(CHANNEL, "the dead instance's answer", user=BOT_USER, bot_id="B0FACTBOT",
                         thread_ts=answered["ts"],
                         metadata={"event_type": "factbot_answer", "event_payload": {"event_id": "Ev0DEAD2"}})
    await eventually(lambda: _replies_to(env, unanswered), timeout=15)
    await eventually(lambda: (_kept(env, "Ev0DEAD1") or (0, 0))[1] and (_kept(env, "Ev0DEAD2") or (0, 0))[1],
                     timeout=15)
    await env.settle()
    (reply,) = _replies_to(env, unanswered)
    assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
    assert reply.body["thread_ts"] == unanswered["ts"]
    assert _replies_to(env, answered) == []  # not answered twice
    assert "answering 2 event(s) acknowledged by an instance that stopped before answering" in env.caplog.text
    assert "an event taken over was answered before its instance stopped" in env.caplog.text


@e2e()
async def test_a_clean_stop_gives_back_what_it_acknowledged_and_the_next_start_answers_it(env: Env):
    message, body = _mention_event(env, MATCH_TEXT, event_id="Ev0STOP1")
    # acknowledged by this instance (kept, with its 30 s lease), not answered yet when the stop comes
    assert env.adapter.bot.inbox.keep("slack", "Ev0STOP1", json.dumps(body))
    await restart(env)
    await eventually(lambda: _replies_to(env, message), timeout=15)  # at once, not after the lease
    await env.settle()
    assert len(_replies_to(env, message)) == 1
    assert "1 acknowledged event(s) left unanswered, given back for another instance" in env.caplog.text


@e2e()
async def test_under_overload_new_requests_are_turned_away_at_once_with_a_clear_reply(env: Env):
    checks = env.adapter.bot.checks
    checks.pace = 100.0  # as if a check took 100 s: one waiting check is already past max_wait_seconds (30 s)
    env.conversations.set_watch("slack", TEAM, CHANNEL, True, by=ADMIN)
    async with checks.paused():  # a check is running
        waiting = await env.mention(MATCH_TEXT, wait=False)
        for _ in range(200):  # its listener gets in line
            if checks.queued:
                break
            await asyncio.sleep(0.01)
        assert checks.queued == 1
        turned_away = await env.mention(MATCH_TEXT, user=BOB, wait=False)
        busy = await env.fake.next_call("chat.postMessage")
        assert busy.body["thread_ts"] == turned_away["ts"] and busy.body["text"] == render.render_text(
            "I'm getting more questions than I can answer right now, so I skipped this one rather than answer it "
            "late. Please ask again in a minute.").text
        after = len(env.fake.calls)
        status, _ = await env.slack.form(command_form(MATCH_TEXT, user=BOB, channel=CHANNEL,
                                                      response_url=env.fake.response_url("busy-cmd")))
        assert status == 200
        private = await env.fake.next_call("response_url", after=after)
        assert private.body["text"].startswith("I'm getting more questions than I can answer right now")
        assert private.body["response_type"] == "ephemeral"
        await env.say(MATCH_TEXT, wait=False)  # watch mode: unasked, so turned away quietly
        await asyncio.sleep(0.2)
        assert checks.queued == 1
    await env.settle()
    posted = env.posted()
    assert [p.body["thread_ts"] for p in posted] == [turned_away["ts"], waiting["ts"]]
    assert posted[1].body["blocks"] == expected(env, MATCH_TEXT).blocks  # the one in line got its verdict
    assert "overloaded: 1 check(s) waiting (about 100 s of work)" in env.caplog.text
    assert checks.queued == 0


@e2e(bot={"max_wait_seconds": 0.0})
async def test_max_wait_zero_never_turns_anyone_away(env: Env):
    checks = env.adapter.bot.checks
    checks.pace = 100.0
    async with checks.paused():
        first = await env.mention(MATCH_TEXT, wait=False)
        for _ in range(200):
            if checks.queued:
                break
            await asyncio.sleep(0.01)
        second = await env.mention(MATCH_TEXT, user=BOB, wait=False)
        await asyncio.sleep(0.2)
        assert checks.queued == 2 and env.posted() == []
    await env.settle()
    assert sorted(p.body["thread_ts"] for p in env.posted()) == sorted([first["ts"], second["ts"]])


@e2e(matcher=MatchConfig(semantic="on"))
async def test_requests_are_acknowledged_while_a_check_by_meaning_embeds_its_message(env: Env):
    """The query embedding (the bulk of a check by meaning) runs off the event loop: acks do not wait for it."""
    embedder = env.checker.matcher.vectors.embedder
    real = embedder._encode
    started, release = threading.Event(), threading.Event()
    waited_out: list[bool] = []
    first_text = f"{MATCH_TEXT}, or so I read (asked {uuid.uuid4().hex[:8]})"  # not in the engine's cache

    def held(texts: list[str], **options: Any):
        if options.get("query") and texts == [first_text]:
            started.set()
            waited_out.append(not release.wait(20))  # what the loop would do if the embedding ran on it
        return real(texts, **options)

    embedder._encode = held
    try:
        first = await env.mention(first_text, wait=False)  # acknowledged; its check starts embedding
        assert await asyncio.to_thread(started.wait, 20)
        second = await env.mention(MATCH_TEXT, user=BOB, wait=False)  # acknowledged while the first embeds
        status, text = await env.slack.event({"token": "t", "challenge": "still-here", "type": "url_verification"})
        assert (status, json.loads(text)) == (200, {"challenge": "still-here"})
        assert not release.is_set() and waited_out == [] and env.posted() == []
        release.set()
        await env.settle()
    finally:
        release.set()
        del embedder._encode  # the class's own again (the engine is shared by the whole test session)
        env.checker.matcher.vectors.stop_background()  # the adapter's start-up began it; later tests patch the engine
    assert waited_out == [False]
    posted = env.posted()
    assert [p.body["thread_ts"] for p in posted] == [first["ts"], second["ts"]]  # in order, each answered once
    assert posted[1].body["blocks"] == expected(env, MATCH_TEXT).blocks
    assert headers_of(posted[0].body["blocks"]) == headers_of(posted[1].body["blocks"])  # the same verdict
    assert env.adapter.bot.checks.queued == 0


def _signed_mention(env: Env, user: str) -> tuple[dict[str, Any], Any]:
    """A mention posted in the channel, and the signed request Slack delivers it with (for a thread to send)."""
    import urllib.request

    message = env.fake.add_message(CHANNEL, f"<@{BOT_USER}> {MATCH_TEXT}", user=user)
    body = json.dumps(event_body({"type": "app_mention", "user": user, "text": message["text"], "ts": message["ts"],
                                  "channel": CHANNEL, "event_ts": message["ts"], "team": TEAM}))
    return message, urllib.request.Request(env.url + "/slack/events", data=body.encode(), method="POST",
                                           headers={"Content-Type": "application/json", **sign(body)})


def _deliver(request: Any, holding: threading.Event) -> tuple[int, bool]:
    """(HTTP status, whether the bot's loop was still held when the ack came); status 0: no ack (Slack retries)."""
    import urllib.request

    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, holding.is_set()
    except OSError:
        return 0, holding.is_set()


async def _while_a_check_holds_the_loop(env: Env, slack: Callable[[threading.Event, threading.Event], None]
                                        ) -> dict[str, Any]:
    """A mention whose check holds the bot's event loop (and the fake Slack's) until ``release`` is set (at most
    20 s), while ``slack(release, holding)`` delivers more on a thread of its own, as Slack would; ``holding`` is
    set while the check holds the loop. Then everything settles. Returns the first mention."""
    real = env.checker.timed_check
    started, release, holding = threading.Event(), threading.Event(), threading.Event()

    def held(incoming: Any, **options: Any):
        if not started.is_set():
            holding.set()
            started.set()
            release.wait(20)
            holding.clear()
        return real(incoming, **options)

    def slack_side() -> None:
        try:
            assert started.wait(20)
            slack(release, holding)
        finally:
            release.set()

    env.checker.timed_check = held  # type: ignore[method-assign]
    sender = threading.Thread(target=slack_side)
    sender.start()
    try:
        first = await env.mention(MATCH_TEXT, wait=False)  # acknowledged; its check then holds the loop
        await asyncio.to_thread(sender.join, 60)
        await env.settle()
    finally:
        release.set()
        del env.checker.timed_check
    return first


@e2e()
async def test_events_are_acknowledged_while_a_check_holds_the_event_loop(env: Env):
    """The events port is served from a thread of its own: an ack does not wait for the check on the bot's loop."""
    second, request = _signed_mention(env, BOB)
    acked: list[tuple[int, bool]] = []
    first = await _while_a_check_holds_the_loop(env, lambda _, holding: acked.append(_deliver(request, holding)))
    assert acked == [(200, True)]
    posted = env.posted()
    assert sorted(p.body["thread_ts"] for p in posted) == sorted([first["ts"], second["ts"]])  # each answered once
    assert all(p.body["blocks"] == expected(env, MATCH_TEXT).blocks for p in posted)


@e2e()
async def test_past_the_bound_of_early_acks_an_event_is_acknowledged_only_once_the_loop_takes_it(env: Env):
    """At most ``EARLY_ACKS`` events wait acknowledged for the bot's loop (here 1): the next ack waits for the loop."""
    env.adapter.bot._early = threading.BoundedSemaphore(1)
    second, second_request = _signed_mention(env, BOB)
    third, third_request = _signed_mention(env, LISTED)
    seen: dict[str, Any] = {}

    def slack(release: threading.Event, holding: threading.Event) -> None:
        seen["second"] = _deliver(second_request, holding)  # the one early ack there is room for
        third_sender = threading.Thread(target=lambda: seen.__setitem__("third", _deliver(third_request, holding)))
        third_sender.start()
        third_sender.join(0.5)  # it cannot be acknowledged while the loop is held: it waits for its dispatch
        seen["third waited"] = third_sender.is_alive()
        release.set()
        third_sender.join(30)

    first = await _while_a_check_holds_the_loop(env, slack)
    assert seen == {"second": (200, True), "third waited": True, "third": (200, False)}
    assert sorted(p.body["thread_ts"] for p in env.posted()) == sorted([first["ts"], second["ts"], third["ts"]])


@e2e()
async def test_user_lookups_slack_refuses_are_answered_and_logged_once_not_once_per_event(env: Env):
    first = await env.mention(MATCH_TEXT, user="U0NOBODY1")  # not a user Slack knows: users.info fails
    second = await env.mention(MATCH_TEXT, user="U0NOBODY2")
    lines = [r.getMessage() for r in env.caplog.records if r.getMessage().startswith("could not look up a user")]
    assert lines == ["could not look up a user: user_not_found (1 time(s) since the last such line)"]
    assert [p.body["thread_ts"] for p in env.posted()] == [first["ts"], second["ts"]]
    assert len(env.fake.find("users.info")) == 2  # each was still asked about (and answered in English)


@e2e()
async def test_bad_or_stale_signatures_get_401_and_nothing_happens(env: Env):
    body = event_body({"type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER}> {MATCH_TEXT}", "ts": "1.000001",
                       "channel": CHANNEL, "event_ts": "1.000001"})
    status, _ = await env.slack.event(body, secret="not-the-signing-secret")
    assert status == 401
    status, _ = await env.slack.event(body, timestamp=int(dt.datetime.now().timestamp()) - 600)
    assert status == 401
    status, _ = await env.slack.form(command_form(MATCH_TEXT, user=ALICE, channel=CHANNEL,
                                                  response_url=env.fake.response_url()), secret="wrong")
    assert status == 401
    await env.settle()
    assert [c.method for c in env.fake.calls if c.method != "auth.test"] == []


@e2e()
async def test_url_verification_and_health(env: Env):
    status, text = await env.slack.event({"token": "t", "challenge": "c0ffee", "type": "url_verification"})
    assert (status, json.loads(text)) == (200, {"challenge": "c0ffee"})
    assert await env.healthz() == (200, "ok\n")
    async with env.slack.session.get(env.url + "/healthz") as response:
        assert response.status == 404  # one /healthz per process: the runtime's, not a second one here


# -- /factcheck ----------------------------------------------------------------------------------


@e2e()
async def test_factcheck_answers_privately_and_share_posts_it_publicly(env: Env):
    answer = await env.command(MATCH_TEXT)
    assert answer.body["response_type"] == "ephemeral"
    share_key = answer.body["blocks"][-1]["elements"][-1]["value"]
    want = expected(env, MATCH_TEXT, ephemeral=True, share_value=share_key)
    assert answer.body["blocks"] == want.blocks and answer.body["text"] == want.text
    assert buttons_of(answer.body["blocks"]) == [("factbot_vote_up", "👍"), ("factbot_vote_down", "👎"),
                                                 ("factbot_share", "📣 Share in channel")]
    assert env.posted() == [] and env.conversations.replies_for_claim(MATCH_ID) == []
    await env.press(render.VOTE_UP, MATCH_ID, ephemeral_ts="1760000009.000001", label="vote")
    thanks = env.fake.find("response_url")[-1]
    assert thanks.body["text"] == "Thanks, your 👍 is recorded for the fact-checkers."
    assert thanks.body["replace_original"] is False and env.fake.find("chat.update") == []
    assert env.conversations.votes("slack", "1760000009.000001") == (1, 0)
    after = len(env.fake.calls)
    await env.press(render.SHARE, share_key, label="share")
    (shared,) = env.posted(after)
    assert shared.body["channel"] == CHANNEL and shared.body.get("thread_ts") is None
    assert shared.body["blocks"] == expected(env, MATCH_TEXT, shared=True).blocks
    assert shared.body["blocks"][0] == render.context("📣 Shared from /factcheck")
    assert_notifies_nobody(shared)
    (cleanup,) = env.fake.find("response_url", after=after)
    assert cleanup.body == {"text": "", "delete_original": True}  # the private answer goes away
    record = env.conversations.reply("slack", CHANNEL, shared.response["ts"])
    assert (record.source, record.requester, record.claim_id) == ("share", ALICE, MATCH_ID)
    assert len(env.checker.store.checks()) == 1  # sharing is not a second check
    # the same share pressed twice (a double click): posted once
    await env.press(render.SHARE, share_key, label="again")
    assert len(env.posted(after)) == 1
    assert env.fake.find("response_url")[-1].body["text"] == (
        "That answer is too old to share now; please run `/factcheck` again.")


@e2e(engines=ENGINES)
async def test_a_share_survives_a_failed_post_and_a_restart_then_expires(env: Env):
    answer = await env.command(MATCH_TEXT)
    share_key = answer.body["blocks"][-1]["elements"][-1]["value"]
    # The bot was removed from the channel: the press says how to fix it, and the answer stays shareable.
    env.fake.fail("chat.postMessage", "not_in_channel")
    await env.press(render.SHARE, share_key, label="kicked")
    assert env.fake.find("response_url")[-1].body["text"].startswith("I can't post in this channel.")
    (refused,) = env.posted()
    assert refused.response == {"ok": False, "error": "not_in_channel"}
    after = len(env.fake.calls)
    # factbot restarts (or another instance behind the load balancer gets the press): the answer is still there.
    await restart(env)
    await env.press(render.SHARE, share_key, label="after-restart")
    (shared,) = env.posted(after)
    assert shared.body["channel"] == CHANNEL
    assert shared.body["blocks"] == expected(env, MATCH_TEXT, shared=True).blocks
    record = env.conversations.reply("slack", CHANNEL, shared.response["ts"])
    assert (record.source, record.requester, record.claim_id, record.verdict, record.decision) == (
        "share", ALICE, MATCH_ID, "unverified", "match")
    # An answer left for more than an hour can no longer be shared.
    later = (await env.command(MATCH_TEXT)).body["blocks"][-1]["elements"][-1]["value"]
    env.clock.advance(minutes=61)
    await env.press(render.SHARE, later, label="late")
    assert env.fake.find("response_url")[-1].body["text"] == (
        "That answer is too old to share now; please run `/factcheck` again.")
    assert len(env.posted(after)) == 1


@e2e()
async def test_factcheck_without_text_shows_help(env: Env):
    answer = await env.command("")
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["blocks"] == render.render_help().blocks
    assert (await env.command("help")).body["blocks"] == render.render_help().blocks


@e2e()
async def test_possible_offers_candidates_that_reveal_their_verdict_privately(env: Env):
    answer = await env.command(text_with(env.checker, Decision.POSSIBLE))
    assert headers_of(answer.body["blocks"]) == ["🤔 Did you mean…"]
    picks = [el for el in answer.body["blocks"][-1]["elements"] if el["action_id"].startswith("factbot_reveal_")]
    assert [p["action_id"] for p in picks] == ["factbot_reveal_1", "factbot_reveal_2", "factbot_reveal_3"][:len(picks)]
    claim = env.checker.claim(picks[0]["value"])
    after = len(env.fake.calls)
    await env.press(picks[0]["action_id"], picks[0]["value"], label="reveal")
    (shown,) = env.fake.find("response_url", after=after)
    assert shown.body["response_type"] == "ephemeral" and shown.body["replace_original"] is False
    assert shown.body["blocks"] == render.render_reveal(claim).blocks
    assert headers_of(shown.body["blocks"]) == [f"{claim.verdict.emoji} {claim.verdict.label}"]
    assert env.posted() == []


@e2e()
async def test_suggest_for_review_is_recorded_once_per_person(env: Env):
    await env.mention(NONE_TEXT)
    (reply,) = env.posted()
    message = env.fake.message(CHANNEL, reply.response["ts"])
    suggest = next(el for el in reply.body["blocks"][-1]["elements"] if el["action_id"] == render.SUGGEST)
    assert suggest["value"] == NONE_TEXT  # the words checked, without the mention
    await env.press(render.SUGGEST, suggest["value"], user=BOB, message=message, label="s1")
    assert env.fake.find("response_url")[-1].body["text"] == (
        "📝 Thanks! The fact-checkers will see this in their review list.")
    await env.press(render.SUGGEST, suggest["value"], user=BOB, message=message, label="s2")
    assert env.fake.find("response_url")[-1].body["text"] == (
        "You already suggested this; it's on the fact-checkers' list.")
    (listed,) = env.conversations.suggestions()
    assert listed["requests"] == 1 and NONE_TEXT in listed["query"]


# -- feedback and delete --------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_votes_are_one_per_person_and_shown_on_the_buttons(env: Env):
    await env.mention(MATCH_TEXT)
    (reply,) = env.posted()
    ts = reply.response["ts"]
    message = lambda: env.fake.message(CHANNEL, ts)  # noqa: E731 - the message as Slack holds it now

    async def vote(action: str, user: str) -> list[str]:
        await env.press(action, MATCH_ID, user=user, message=message())
        update = env.fake.find("chat.update")[-1]
        assert update.body["ts"] == ts and update.ok
        return [t for a, t in buttons_of(update.body["blocks"]) if a.startswith("factbot_vote")]

    assert await vote(render.VOTE_UP, BOB) == ["👍 1", "👎"]
    assert await vote(render.VOTE_UP, BOB) == ["👍 1", "👎"]  # a second 👍 by the same person counts once
    assert await vote(render.VOTE_DOWN, BOB) == ["👍", "👎 1"]  # ...and a 👎 replaces it
    assert await vote(render.VOTE_UP, ALICE) == ["👍 1", "👎 1"]
    assert env.conversations.votes("slack", ts) == (1, 1)
    assert message()["blocks"][:-1] == reply.body["blocks"][:-1]  # the verdict itself is unchanged


@e2e()
async def test_only_the_asker_or_an_admin_can_delete_a_reply(env: Env):
    await env.mention(MATCH_TEXT, user=ALICE)
    (reply,) = env.posted()
    ts = reply.response["ts"]
    await env.press(render.DELETE, None, user=BOB, message=env.fake.message(CHANNEL, ts), label="no")
    assert env.fake.find("chat.delete") == []
    refusal = env.fake.find("response_url")[-1]
    assert refusal.body["text"] == "Only the person who asked, or a workspace admin, can remove this reply."
    assert refusal.body["response_type"] == "ephemeral" and refusal.body["replace_original"] is False
    await env.press(render.DELETE, None, user=ALICE, message=env.fake.message(CHANNEL, ts))
    (deleted,) = env.fake.find("chat.delete")
    assert deleted.ok and (deleted.body["channel"], deleted.body["ts"]) == (CHANNEL, ts)
    assert env.fake.message(CHANNEL, ts) is None
    assert env.conversations.reply("slack", CHANNEL, ts).deleted_at
    # an admin may remove anyone's reply
    await env.mention(MATCH_TEXT, user=BOB)
    other = env.posted()[-1].response["ts"]
    await env.press(render.DELETE, None, user=ADMIN, message=env.fake.message(CHANNEL, other))
    assert env.fake.message(CHANNEL, other) is None


# -- the message shortcut ----------------------------------------------------------------------


@e2e()
async def test_shortcut_checks_the_message_and_replies_in_its_thread(env: Env):
    message = env.fake.add_message(CHANNEL, MATCH_TEXT, user=ALICE)
    await env.shortcut(message, user=BOB)
    (reply,) = env.posted()
    assert reply.body["thread_ts"] == message["ts"]
    assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
    record = env.conversations.reply("slack", CHANNEL, reply.response["ts"])
    assert (record.source, record.requester) == ("shortcut", BOB)
    empty = env.fake.add_message(CHANNEL, "", user=ALICE, files=[{"id": "F1"}])
    await env.shortcut(empty)
    assert env.fake.find("response_url")[-1].body["text"] == "That message has no text I can check."


@e2e(shortcut_reply="ephemeral")
async def test_shortcut_can_answer_privately_as_configured(env: Env):
    message = env.fake.add_message(CHANNEL, MATCH_TEXT, user=ALICE, ts="1760000001.000100")
    await env.shortcut(message)
    assert env.posted() == []
    answer = env.fake.find("response_url")[-1]
    assert answer.body["response_type"] == "ephemeral"
    key = answer.body["blocks"][-1]["elements"][-1]["value"]
    await env.press(render.SHARE, key, user=BOB)
    (shared,) = env.posted()
    assert shared.body["thread_ts"] == message["ts"]  # shared into the checked message's thread


@e2e()
async def test_shortcut_where_factbot_cannot_post_explains_and_answers_privately(env: Env):
    env.fake.gone_channels.add("C0PRIVATE")
    message = env.fake.add_message("C0PRIVATE", MATCH_TEXT, user=ALICE)
    await env.shortcut(message, channel="C0PRIVATE")
    said = [c.body for c in env.fake.find("response_url")]
    assert said[0]["text"] == ("I can't post in this channel. Invite me with `/invite @factbot` (or ask an admin "
                               "to), then try again.")
    assert headers_of(said[1]["blocks"]) == ["❓ Unverified · rated “Unsupported”"] and said[1]["response_type"] == "ephemeral"
    assert BOT_TOKEN not in env.caplog.text


# -- watch mode ---------------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_watch_mode_replies_to_confident_matches_once_per_cooldown(env: Env):
    await env.say(MATCH_TEXT)
    assert env.posted() == []  # off by default
    refused = await env.command("watch on", user=BOB)
    assert refused.body["text"] == "Only workspace admins, or people on factbot's admin list, can change watch mode."
    assert not env.conversations.watching("slack", TEAM, CHANNEL)
    turned_on = await env.command("watch on", user=ADMIN)
    assert turned_on.body["response_type"] == "in_channel"
    assert turned_on.body["text"].startswith("👀 Watch mode is *on* in this channel: I'll reply in the thread")
    assert "at most once per claim every 24 h" in turned_on.body["text"]
    first = await env.say(MATCH_TEXT)
    (reply,) = env.posted()
    assert reply.body["thread_ts"] == first["ts"]
    assert reply.body["blocks"] == expected(env, MATCH_TEXT, watch=True).blocks
    assert reply.body["blocks"][0] == render.context(
        "👀 A claim in this message has been fact-checked (watch mode is on in this channel):")
    assert env.conversations.reply("slack", CHANNEL, reply.response["ts"]).source == "watch"
    await env.say(MATCH_TEXT)  # the cooldown holds
    await env.say(NONE_TEXT)  # nothing confident
    await env.say(MATCH_TEXT, subtype="message_changed")  # edits and other subtypes
    await env.say(MATCH_TEXT, user="", bot_id="B0OTHER")  # other apps
    await env.say(f"<@{BOT_USER}> {MATCH_TEXT}")  # a mention: app_mention answers that one
    assert len(env.posted()) == 1
    env.clock.advance(hours=25)
    await env.say(MATCH_TEXT)
    assert len(env.posted()) == 2
    assert (await env.command("watch")).body["text"].startswith("Watch mode is *on* in this channel.")
    off = await env.command("watch off", user=ADMIN)
    assert off.body["text"] == "Watch mode is *off* in this channel. Mention me or use `/factcheck` to check a claim."
    env.clock.advance(hours=25)
    await env.say(MATCH_TEXT)
    assert len(env.posted()) == 2


@e2e(engines=ENGINES)
async def test_a_watch_reply_slack_refused_does_not_hold_the_cooldown(env: Env):
    """The cooldown is claimed before posting: a post that fails gives it back, so the claim is answered next time."""
    await env.command("watch on", user=ADMIN)
    env.fake.fail("chat.postMessage", "internal_error")
    await env.say(MATCH_TEXT)
    (refused,) = env.posted()
    assert refused.response == {"ok": False, "error": "internal_error"}
    second = await env.say(MATCH_TEXT)
    answered = [c for c in env.posted() if c.response.get("ok")]
    assert [c.body["thread_ts"] for c in answered] == [second["ts"]]
    await env.say(MATCH_TEXT)  # that reply holds the cooldown
    assert len(env.posted()) == 2


@e2e()
async def test_watch_words_that_are_not_a_setting_are_checked_as_a_claim(env: Env):
    answer = await env.command("watch out: " + MATCH_TEXT)
    assert headers_of(answer.body["blocks"]) == ["❓ Unverified · rated “Unsupported”"]
    assert not env.conversations.watching("slack", TEAM, CHANNEL)


# -- digests -----------------------------------------------------------------------------------------


@e2e(admins=LISTED)
async def test_digest_subscribe_needs_rights_and_valid_times(env: Env):
    subs = env.checker.subscriptions
    refused = await env.command("digest subscribe monday 09:00 Europe/Berlin", user=BOB)
    assert refused.body["text"] == ("Only workspace admins, or people on factbot's admin list, can change "
                                    "this channel's digest.")
    assert subs.get("slack", TEAM, CHANNEL) is None
    bad = await env.command("digest subscribe monday 09:00 Mars/Olympus", user=ADMIN)
    assert bad.body["response_type"] == "ephemeral"
    assert bad.body["text"] == ("⚠️ 'Mars/Olympus' is not a time zone; use an IANA name like Europe/Berlin or "
                                "America/New_York. Nothing was changed.")
    assert subs.get("slack", TEAM, CHANNEL) is None
    usage = await env.command("digest subscribe monday", user=ADMIN)
    assert usage.body["text"].startswith("Usage: `/factcheck digest subscribe &lt;day&gt; &lt;time&gt;")
    users_info = len(env.fake.find("users.info"))
    env.fake.fail("users.info", "fatal_error")  # Slack cannot say who LISTED is: the configured list is enough
    ok = await env.command("digest subscribe Mon 9am europe/berlin", user=LISTED)  # on the configured list
    assert len(env.fake.find("users.info")) == users_info + 1  # asked once (for the locale), not for rights
    assert ok.body["response_type"] == "in_channel"
    assert ok.body["text"] == "📰 This channel will get a weekly fact-check digest every Monday at 09:00 (Europe/Berlin)."
    sub = subs.get("slack", TEAM, CHANNEL)
    assert (sub.weekday, sub.time, sub.timezone, sub.created_by) == (0, "09:00", "Europe/Berlin", LISTED)
    await env.mention(MATCH_TEXT)
    preview = await env.command("digest preview", user=ADMIN)
    assert preview.body["response_type"] == "ephemeral"
    assert preview.body["blocks"][0] == render.header("📰 Weekly fact-check digest")
    assert preview.body["blocks"][-1] == render.context("Preview · sent every Monday at 09:00 (Europe/Berlin)")
    assert "1× ❓ Unverified" in json.dumps(preview.body["blocks"], ensure_ascii=False)
    assert not FakeSlack.validate(preview.body)
    stopped = await env.command("digest unsubscribe", user=ADMIN)
    assert stopped.body["text"] == "This channel's weekly digest is stopped."
    assert subs.get("slack", TEAM, CHANNEL) is None
    assert (await env.command("digest unsubscribe", user=ADMIN)).body["text"] == "This channel has no weekly digest."


# -- the language of replies -------------------------------------------------------------------------


@e2e()
async def test_replies_follow_the_askers_slack_locale_then_the_channels_language_setting(env: Env):
    rosa = env.fake.add_user("U0ROSA", locale="es-ES")
    await env.mention(MATCH_TEXT, user=rosa)
    await env.mention(MATCH_TEXT, user=rosa)
    spanish, again = env.posted()
    assert headers_of(spanish.body["blocks"]) == ["❓ Sin verificar · calificada como «Unsupported»"]
    assert spanish.body["text"].startswith("❓ Sin verificar: Alibaba extrajo ilícitamente los guardrails de Claude "
                                           "Fable. — Solo lo dice el agregador AgentCrunch")
    assert again.body["blocks"] == spanish.body["blocks"]
    lookups = env.fake.find("users.info", where=lambda c: c.body.get("user") == rosa)
    assert [c.body.get("include_locale") for c in lookups] == ["1"]  # asked once, then kept
    status = await env.command("language", user=rosa)
    assert status.body["response_type"] == "ephemeral"
    assert status.body["text"] == (
        "Aquí no hay ningún idioma configurado: la respuesta sigue el idioma de la app de quien lee, si no el del "
        "mensaje, y si no el inglés. Cámbialo con `/factcheck language set &lt;language&gt;` o `/factcheck language "
        "clear`; añade `workspace` para cambiar todo el espacio de trabajo. Idiomas: en (English), es (español), "
        "de (Deutsch), fr (français), pt (português), ja (日本語), zh-Hans (中文 (简体)).")
    refused = await env.command("language set de", user=BOB)
    assert refused.body["text"] == ("Only workspace admins, or people on factbot's admin list, can change the "
                                    "language here.")
    done = await env.command("language set de", user=ADMIN)
    assert (done.body["response_type"], done.body["text"]) == ("in_channel",
                                                               "Antworten in diesem Kanal sind auf *Deutsch*.")
    await env.mention(MATCH_TEXT, user=rosa)  # the channel's setting wins over Rosa's Spanish
    german = env.posted()[-1]
    assert headers_of(german.body["blocks"]) == ["❓ Unbelegt · bewertet als „Unsupported“"]
    whole = await env.command("language set ja workspace", user=ADMIN)
    assert whole.body["text"] == "このワークスペースの返信は*日本語*です（チャンネルごとの設定がある場合を除く）。"
    cleared = await env.command("language clear", user=ADMIN)
    assert cleared.body["text"] == "このチャンネルの言語設定を削除しました。"
    await env.mention(MATCH_TEXT, user=rosa)  # the workspace's setting, then, over Rosa's locale
    assert headers_of(env.posted()[-1].body["blocks"]) == ["❓ 根拠不明 · 評価「Unsupported」"]
    assert env.checker.languages.get("slack", TEAM) == "ja" and env.checker.languages.get("slack", TEAM, CHANNEL) is None
    claim = await env.command("language models hallucinate", user=rosa)  # not a setting: checked as a claim
    assert claim.body["text"] == "🔎 これに一致する検証済みの主張はありません。"
    assert env.checker.languages.get("slack", TEAM) == "ja"


# -- App Home --------------------------------------------------------------------------------------


@e2e()
async def test_app_home_shows_how_to_settings_and_this_weeks_top_claims(env: Env):
    await env.mention(MATCH_TEXT)
    await env.mention(MATCH_TEXT, user=BOB)
    env.checker.subscriptions.subscribe(platform="slack", workspace=TEAM, channel=CHANNEL, weekday="friday",
                                        time="16:00", timezone="UTC")
    env.checker.conversations.set_watch("slack", TEAM, CHANNEL, True)
    env.checker.conversations.set_watch("slack", "T0OTHERTEAM", "C0ELSEWHERE", True)  # another workspace's
    event = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home", "event_ts": "1.2"}
    status, _ = await env.slack.event(event_body(event))
    assert status == 200
    await env.settle()
    (published,) = env.fake.find("views.publish")
    assert published.ok and published.body["user_id"] == ALICE
    view = published.body["view"]
    claim = env.checker.claim(MATCH_ID)
    assert view == render.render_home(
        watched=[CHANNEL],
        subscriptions=[env.checker.subscriptions.get("slack", TEAM, CHANNEL)],
        top=[CountedClaim(claim, 2)],
    )
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert "*📰 Weekly digests*\n• <#C0GENERAL>: every Friday at 16:00 (UTC)" in texts
    assert "*👀 Watch mode is on in*\n• <#C0GENERAL>" in texts
    assert texts[-1] == f"2× ❓ Unverified · {claim.claim} (`{MATCH_ID}`)"


# -- digest recovery when Slack cannot be asked ----------------------------------------------------------------------


def _left_sending(env: Env, channel: str, *, minutes_ago: int = 30):
    """A subscription whose digest for the last period was being sent by a process that died mid-send."""
    from bot.scheduler import DigestService

    store = env.checker.store
    now = dt.datetime.now(dt.UTC)
    sub = env.checker.subscriptions.subscribe(platform="slack", workspace=TEAM, channel=channel,
                                              weekday=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()],
                                              time=(now - dt.timedelta(minutes=minutes_ago)).strftime("%H:%M"),
                                              timezone="UTC")
    with store.transaction():
        store.db.conn.execute("UPDATE subscriptions SET created_at = ? WHERE id = ?",
                              [(now - dt.timedelta(days=10)).isoformat(), sub.id])
    sub = env.checker.subscriptions.by_id(sub.id)
    scheduled = sub.previous_run(now)
    dead = DigestService(store, {}, instance="died", clock=lambda: now - dt.timedelta(minutes=minutes_ago - 1))
    assert dead._claim(sub, scheduled, sub.period(scheduled)) == "new"
    return sub


def _digest_row(env: Env, sub) -> tuple:
    row = env.checker.store.db.execute("SELECT status, attempts, error FROM digests_sent WHERE subscription_id = ?",
                                       [sub.id]).fetchone()
    return tuple(row)


@e2e()
async def test_digest_recovery_whose_lookup_is_refused_disables_that_channel_and_goes_on(env: Env):
    """conversations.history says not_in_channel: that subscription is disabled, the next one still gets its digest."""
    from bot.scheduler import DigestService

    kicked = _left_sending(env, "C0KICKED")
    other = _left_sending(env, "C0OTHER")
    env.fake.fail("conversations.history", "not_in_channel")  # the first lookup: C0KICKED's
    service = DigestService(env.checker.store, {"slack": env.adapter.poster()}, instance="restarted")
    sent = await service.catch_up()
    (posted,) = env.posted()
    assert posted.body["channel"] == "C0OTHER" and sent == [posted.response["ts"]]
    assert _digest_row(env, kicked) == ("skipped", 2, "factbot can no longer post in Slack channel C0KICKED "
                                                      "(not_in_channel)")
    after = env.checker.subscriptions.by_id(kicked.id)
    assert (after.active, after.disabled_reason) == (False, "factbot can no longer post in Slack channel C0KICKED "
                                                            "(not_in_channel)")
    assert env.checker.subscriptions.by_id(other.id).active


@e2e()
async def test_digest_recovery_whose_lookup_fails_is_retried_with_back_off_and_asks_again(env: Env):
    from bot.scheduler import DigestService

    sub = _left_sending(env, "C0FLAKY")
    env.fake.fail("conversations.history", "internal_error")
    clock = Clock()
    service = DigestService(env.checker.store, {"slack": env.adapter.poster()}, instance="restarted", clock=clock)
    assert await service.catch_up() == []
    status, attempts, error = _digest_row(env, sub)
    assert (status, attempts) == ("failed", 2)
    assert error.startswith("before posting, could not ask whether it was posted: SlackApiError: ")
    assert "'error': 'internal_error'" in error
    assert await service.catch_up() == [] and env.posted() == []  # within the back-off: nothing
    histories = len(env.fake.find("conversations.history"))
    clock.advance(minutes=6)  # the second attempt's back-off is 5 minutes
    (ts,) = await service.catch_up()
    assert len(env.fake.find("conversations.history")) == histories + 1  # asked again before posting
    (posted,) = env.posted()
    assert posted.body["channel"] == "C0FLAKY" and posted.response["ts"] == ts
    assert _digest_row(env, sub)[:2] == ("sent", 3) and env.checker.subscriptions.by_id(sub.id).active


# -- malformed and replayed requests ----------------------------------------------------------------------------------


async def _raw(env: Env, body: bytes, content_type: str, *, signed: bool = True,
               headers: dict[str, str] | None = None) -> int:
    """POST these exact bytes to /slack/events, signed as Slack signs (or not at all)."""
    import hashlib
    import hmac
    import time

    sent = {"Content-Type": content_type}
    if signed:
        ts = str(int(time.time()))
        mac = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        sent.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac})
    sent.update(headers or {})
    async with env.slack.session.post(env.slack.url, data=body, headers=sent) as response:
        return response.status


MALFORMED = [
    (b'{"type": "event_callback", "event": {"type": "app_m', "application/json", "a body that is not valid JSON"),
    (b'[{"type": "event_callback"}]', "application/json", "JSON that is not an object"),
    (b'{"type": "event_callback", "text": "\xff\xfe caf\xe9"}', "application/json", "a body that is not UTF-8"),
    (b"payload=not-json", "application/x-www-form-urlencoded", "a payload that is not valid JSON"),
    (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded", "a payload that is not a JSON object"),
]


@e2e()
async def test_malformed_requests_get_4xx_and_one_warning_before_anything_parses_them(env: Env):
    env.caplog.set_level(logging.DEBUG)  # as with -vv: still no traceback, no body
    for body, content_type, why in MALFORMED:
        env.caplog.clear()
        assert await _raw(env, body, content_type, signed=False) == 401, body
        assert await _raw(env, body, content_type) == 400, body
        refused = [r.getMessage() for r in env.caplog.records if r.name.startswith(("factbot", "slack"))
                   and r.levelno >= logging.WARNING]
        assert refused == [f"Slack request refused (HTTP 401): not signed, {len(body)}-byte body",
                           f"Slack request refused (HTTP 400): {why}, {len(body)}-byte body"], body
        assert not any(r.exc_info for r in env.caplog.records)
    env.caplog.clear()
    assert await _raw(env, b'{"type": "event_callback"}', "application/json",
                      headers={"X-Slack-Request-Timestamp": "abc"}) == 401
    assert [r.getMessage() for r in env.caplog.records if r.levelno >= logging.WARNING] == [
        "Slack request refused (HTTP 401): a timestamp that is not a number, 26-byte body"]
    await env.settle()
    assert [c.method for c in env.fake.calls if c.method != "auth.test"] == []


@e2e()
async def test_a_bad_signature_logs_the_size_and_reason_never_the_body(env: Env):
    env.caplog.set_level(logging.DEBUG)
    marker = "SECRET-LOOKING-BODY-" * 50_000  # a megabyte
    body = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "text": marker}})
    status, _ = await env.slack.event(json.loads(body), secret="not-the-signing-secret")
    assert status == 401
    assert "SECRET-LOOKING-BODY" not in env.caplog.text
    assert f"Slack request refused (HTTP 401): a wrong signature, {len(body.encode())}-byte body" in env.caplog.text


@e2e()
async def test_a_replayed_signed_slash_command_is_answered_once(env: Env):
    from urllib.parse import urlencode

    form = urlencode(command_form(MATCH_TEXT, user=ALICE, channel=CHANNEL, response_url=env.fake.response_url("cmd")))
    for _ in range(2):  # the same signed request, captured and sent again inside the five minutes
        status, body = await env.slack.post(form, "application/x-www-form-urlencoded")
        assert (status, body) == (200, "")
    await env.settle()
    answers = env.fake.find("response_url")
    assert len(answers) == 1 and answers[0].body["response_type"] == "ephemeral"


# -- a busy or full database under the running bot ------------------------------------------------------------------


async def _timed_mention(env: Env, text: str, *, event_id: str) -> tuple[int, float, dict[str, Any]]:
    import time

    message = env.fake.add_message(CHANNEL, f"<@{BOT_USER}> {text}", user=ALICE)
    event = {"type": "app_mention", "user": ALICE, "text": message["text"], "ts": message["ts"], "channel": CHANNEL,
             "event_ts": message["ts"], "team": TEAM}
    started = time.perf_counter()
    status, _ = await env.slack.event(event_body(event, event_id=event_id))
    return status, time.perf_counter() - started, message


def _replies_to(env: Env, message: dict[str, Any]) -> list[Call]:
    return [c for c in env.posted() if c.body.get("thread_ts") == message["ts"]]


def test_another_process_holding_the_write_lock_does_not_stall_or_fail_events(tmp_path, caplog):
    """The event-id write gave 500 after 5 s while an import held the lock; now it gives way and is written later."""
    import sqlite3

    async def body(env: Env) -> None:
        holder = sqlite3.connect(env.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # an import's transaction, for as long as this test likes
        try:
            status, ack, message = await _timed_mention(env, MATCH_TEXT, event_id="Ev0LOCKED")
            assert status == 200 and ack < 2.0, ack
            await env.settle()
            (reply,) = _replies_to(env, message)
            assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
            status, _ = await env.slack.event(event_body({"type": "app_mention", "user": ALICE, "text": message["text"],
                                                          "ts": message["ts"], "channel": CHANNEL, "team": TEAM},
                                                         event_id="Ev0LOCKED"), retry=1)
            await env.settle()
            assert status == 200 and len(_replies_to(env, message)) == 1  # a retry is still answered once
            assert env.checker.store.pending  # kept for later: the event id, the check, the reply
            assert env.checker.store.write_problem == ""  # busy is not a fault: /healthz stays healthy
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert env.checker.store.flush_pending()
        rows = env.checker.store.db.execute("SELECT count(*) FROM processed_events WHERE event_id = 'Ev0LOCKED'")
        assert rows.fetchone()[0] == 1
        assert env.conversations.reply("slack", CHANNEL, reply.response["ts"]).requester == ALICE

    asyncio.run(asyncio.wait_for(_run(tmp_path / "factbot.db", body, caplog), 60))


def test_events_while_another_process_holds_the_lock_never_wait_for_it_on_the_event_loop(tmp_path, caplog):
    """Each of the bot's writes polled for the lock for up to half a second on the event loop, one after the other,
    so acks queued behind them during a large import; now each tries once and the writer thread makes them."""
    import sqlite3

    async def body(env: Env) -> None:
        store = env.checker.store
        begun: list[str] = []
        store.db.conn.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None)
        holder = sqlite3.connect(env.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            sent = await asyncio.gather(*(_timed_mention(env, MATCH_TEXT, event_id=f"Ev0HELD{i}") for i in range(8)))
            assert [status for status, _, _ in sent] == [200] * 8
            await env.settle()
            assert [len(_replies_to(env, message)) for _, _, message in sent] == [1] * 8
            assert store.pending and store.write_problem == ""
            # the rate limit's claim, the event id, the check log and the reply of each event: one attempt each on
            # the loop's connection; and the kept events' lease work, one attempt a round (every 10 s, one at start)
            assert len(begun) <= 8 * 4 + 2, len(begun)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        for _ in range(3000):  # the writer thread writes them once the lock is free; nobody asks it to
            if not store.pending:
                break
            await asyncio.sleep(0.01)
        seen = store.db.execute("SELECT event_id FROM processed_events WHERE event_id LIKE 'Ev0HELD%'").fetchall()
        assert sorted(r[0] for r in seen) == [f"Ev0HELD{i}" for i in range(8)]

    asyncio.run(asyncio.wait_for(_run(tmp_path / "factbot.db", body, caplog), 60))


def test_a_full_disk_still_answers_reports_unhealthy_and_recovers_when_space_returns(tmp_path, caplog):
    try:
        from tests.fakes.disks import fill, small_disk
    except ImportError:
        from fakes.disks import fill, small_disk  # type: ignore[no-redef]

    async def body(env: Env) -> None:
        filler = fill(env.db.parent)
        status, ack, message = await _timed_mention(env, MATCH_TEXT, event_id="Ev0FULL1")
        assert status == 200 and ack < 2.0
        await env.settle()
        (reply,) = _replies_to(env, message)
        assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
        problem = f"the database {env.db} cannot be written: the disk is full; nothing was changed"
        assert await env.healthz() == (503, f"slack: answering, but the database cannot be written: {problem}\n"
                                            f"database: {problem}\n")
        filler.unlink()  # space returns
        status, _, second = await _timed_mention(env, "anyone up for lunch?", event_id="Ev0FULL2")
        await env.settle()
        assert status == 200 and len(_replies_to(env, second)) == 1
        assert await env.healthz() == (200, "ok\n")
        assert env.checker.store.pending == []
        seen = env.checker.store.db.execute("SELECT event_id FROM processed_events ORDER BY event_id").fetchall()
        assert [r[0] for r in seen] == ["Ev0FULL1", "Ev0FULL2"]
        assert env.conversations.reply("slack", CHANNEL, reply.response["ts"]) is not None
        assert "writes fail, answers go on" in caplog.text and "the database takes writes again" in caplog.text

    with small_disk(tmp_path / "disk", "16m") as disk:
        asyncio.run(asyncio.wait_for(_run(disk / "factbot.db", body, caplog), 60))


def test_an_import_beside_the_running_bot_is_indexed_off_the_event_loop(tmp_path, caplog):
    """``factbot claims import`` of thousands of claims in another process: acks stay quick, the index catches up
    in a thread, and the new claims are then found."""
    import os
    import subprocess
    import sys

    claims = tmp_path / "archive.jsonl"
    claims.write_text("".join(json.dumps({
        "id": f"archive-{i}", "claim": f"Councillor Vexbury{i} secretly sold the harbour{i} to Quendor{i}",
        "verdict": "false", "summary": "No sale was recorded.", "sources": [{"url": f"https://example.org/{i}"}],
    }) + "\n" for i in range(3000)))

    async def body(env: Env) -> None:
        env_vars = {k: v for k, v in os.environ.items() if not k.startswith("FACTBOT_")}
        importer = subprocess.Popen([sys.executable, "-m", "bot", "--db", str(env.db), "claims", "import", str(claims)],
                                    env={**env_vars, "FACTBOT_MATCHER_SEMANTIC": "off"}, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        acks = []
        n = 0
        while importer.poll() is None:
            status, ack, _ = await _timed_mention(env, MATCH_TEXT, event_id=f"Ev0IMPORT{n}")
            assert status == 200
            acks.append(ack)
            n += 1
            await asyncio.sleep(0.05)
        out, err = importer.communicate()
        assert importer.returncode == 0, err
        assert out.strip() == f"Imported {claims}: 3000 added, 0 updated, 0 unchanged."
        await env.settle()
        index = env.checker.index
        new = "did councillor vexbury1234 secretly sell the harbour1234 to quendor1234?"
        status, ack, asked = await _timed_mention(env, new, event_id="Ev0AFTER")
        acks.append(ack)
        await env.settle()
        for _ in range(200):  # the catch-up runs in its thread
            if not index.catching_up and index.synced_seq == env.checker.store.last_change_seq():
                break
            await asyncio.sleep(0.05)
        assert index._catching_up is not None, "a catch-up of 3000 changes ran in the background"
        assert max(acks) < 1.0, acks
        status, _, again = await _timed_mention(env, new, event_id="Ev0AGAIN")
        await env.settle()
        (reply,) = _replies_to(env, again)
        assert reply.body["blocks"][0] == render.header("❌ False")
        assert "archive-1234" in json.dumps(reply.body["blocks"])

    asyncio.run(asyncio.wait_for(_run(tmp_path / "factbot.db", body, caplog, bot={"rate_limit_per_minute": 0}), 120))


def test_an_event_is_acknowledged_and_answered_while_a_digest_query_waits_for_another_process(tmp_path, caplog):
    """The digest scheduler's queries and writes ran on the event loop: a digest due while an import held the write
    lock waited there for the lock (up to the 5 s busy timeout), and no request was acknowledged meanwhile. Now they
    run on the scheduler's own thread and connection: the ack comes while the scheduler still waits."""
    import sqlite3

    from bot.scheduler import DigestScheduler, DigestService

    async def body(env: Env) -> None:
        now = dt.datetime.now(dt.UTC)
        sub = env.checker.subscriptions.subscribe(
            platform="slack", workspace=TEAM, channel="C0DIGEST",
            weekday=("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()],
            time=(now - dt.timedelta(minutes=5)).strftime("%H:%M"), timezone="UTC")
        with env.checker.store.transaction():
            env.checker.store.db.conn.execute("UPDATE subscriptions SET created_at = ? WHERE id = ?",
                                              [(now - dt.timedelta(days=10)).isoformat(), sub.id])
        service = DigestService(env.checker.store, {"slack": env.adapter.poster()})
        service.in_thread()  # as the runtime sets it up
        holder = sqlite3.connect(env.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # an import's transaction: the digest's claim on its period must wait
        try:
            tick = asyncio.create_task(DigestScheduler(service).tick())
            await asyncio.sleep(0)  # the tick starts first, and reaches its write
            status, _, message = await _timed_mention(env, MATCH_TEXT, event_id="Ev0DIGESTQ")
            assert status == 200
            assert not tick.done(), "the ack came only after the scheduler's query"
            await env.settle()
            (reply,) = _replies_to(env, message)
            assert reply.body["blocks"] == expected(env, MATCH_TEXT).blocks
            assert not tick.done() and [c for c in env.posted() if c.body["channel"] == "C0DIGEST"] == []
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await tick
        (digest,) = [c for c in env.posted() if c.body["channel"] == "C0DIGEST"]
        row = env.checker.store.db.execute("SELECT status FROM digests_sent WHERE subscription_id = ?",
                                           [sub.id]).fetchone()
        assert row[0] == "sent"
        service.close()

    asyncio.run(asyncio.wait_for(_run(tmp_path / "factbot.db", body, caplog), 60))
