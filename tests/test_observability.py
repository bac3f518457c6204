"""Logs a machine can read and that never carry a token or (by default) a message's words; metrics Prometheus can scrape."""

import io
import json
import logging

import pytest

from bot.core.models import IncomingMessage
from bot.core.service import FactChecker
from bot.observability import Metrics, setup_logging


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    setup_logging(logging.INFO, json_lines=True, secrets=["my-signing-secret-value"], stream=stream)
    yield stream
    setup_logging(logging.WARNING, json_lines=False, stream=io.StringIO())


def lines(stream):
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def test_one_json_line_per_check_without_message_text(sample_store, log_stream):
    checker = FactChecker(sample_store)
    checker.check(IncomingMessage(text="Alibaba stole Claude's guardrails", platform="slack"))
    [line] = [x for x in lines(log_stream) if x["logger"] == "factbot.check"]
    assert line["decision"] == "match" and line["claim_id"] == "alibaba-stole-guardrails"
    assert line["platform"] == "slack" and line["latency_ms"] >= 0 and 0 < line["score"] <= 1
    assert "Alibaba" not in json.dumps(line)


def test_message_text_only_when_configured(sample_store, log_stream):
    checker = FactChecker(sample_store)
    checker.log_message_text = True
    checker.check(IncomingMessage(text="Alibaba stole Claude's guardrails"))
    assert lines(log_stream)[-1]["text"] == "Alibaba stole Claude's guardrails"


def test_tokens_never_reach_the_log(log_stream):
    log = logging.getLogger("factbot.test")
    slack = "xoxb-" + "1234567890-abcdefghijkl"
    discord_token = "M" + "T" * 25 + ".Gabcde." + "x" * 38
    log.warning("auth failed with %s and %s", slack, discord_token, extra={"header": "Bearer " + slack})
    try:
        raise RuntimeError("bad secret my-signing-secret-value in request")
    except RuntimeError:
        log.exception("request failed")
    out = log_stream.getvalue()
    assert slack not in out and discord_token not in out and "my-signing-secret-value" not in out
    assert out.count("[redacted]") >= 4


def test_metrics_render_prometheus_text(sample_store):
    metrics = Metrics()
    checker = FactChecker(sample_store)
    checker.observers.append(lambda m, r, s: metrics.observe_check(m.platform, r.decision.value, s))
    checker.check(IncomingMessage(text="Alibaba stole Claude's guardrails", platform="discord"))
    checker.check(IncomingMessage(text="lunch?", platform="discord"))
    text = metrics.render().decode()
    assert 'factbot_checks_total{decision="match",platform="discord"} 1.0' in text
    assert 'factbot_checks_total{decision="none",platform="discord"} 1.0' in text
    assert "factbot_match_latency_seconds_count 2.0" in text


def test_watch_checks_and_turned_away_checks_are_counted(sample_store):
    import asyncio

    from bot.core.chat import Chat, Platform, Request

    metrics = Metrics()
    checker = FactChecker(sample_store)
    checker.watch_observers.append(lambda m, replied, s: metrics.observe_watch(m.platform, replied, s))
    checker.overload_observers.append(metrics.observe_turned_away)
    checker.conversations.set_watch("discord", "G1", "C1", True, by="admin")
    platform = Platform(name="discord")
    text = "Alibaba stole Claude's guardrails"

    async def scenario():
        chat = Chat(checker, max_wait=30.0)
        assert await chat.watch(Request("discord", text, "G1", "C1", "u1"), platform) is not None
        assert await chat.watch(Request("discord", "lunch?", "G1", "C1", "u2"), platform) is None  # nothing to say
        assert await chat.watch(Request("discord", text, "G1", "C2", "u2"), platform) is None  # not watched: no check
        chat.checks.pace = 100.0  # as if a check took 100 s
        async with chat.checks._lock:  # a check is running, one waits behind it
            waiting = asyncio.create_task(chat.check(Request("discord", "lunch?", "G1", "C1", "u3"), platform))
            while chat.checks.queued < 1:
                await asyncio.sleep(0.01)
            turned = await chat.check(Request("discord", text, "G1", "C1", "u4"), platform)
            assert turned.busy, "the second check should have been turned away"
            assert await chat.watch(Request("discord", text, "G1", "C1", "u5"), platform) is None
        await waiting

    asyncio.run(scenario())
    text = metrics.render().decode()
    assert 'factbot_watch_checks_total{platform="discord",replied="yes"} 1.0' in text
    assert 'factbot_watch_checks_total{platform="discord",replied="no"} 1.0' in text
    assert 'factbot_turned_away_total{kind="check",platform="discord"} 1.0' in text
    assert 'factbot_turned_away_total{kind="watch",platform="discord"} 1.0' in text
