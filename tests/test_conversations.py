"""Watch mode, replies, votes, suggestions and retried deliveries, as every adapter uses them."""

import datetime as dt

import pytest

from bot.core.models import IncomingMessage
from bot.core.service import FactChecker

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def checker(sample_store):
    return FactChecker(sample_store, watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24))


def msg(text, channel="C1"):
    return IncomingMessage(text=text, platform="slack", workspace="T1", channel=channel, user="U1", message_id="1.0")


def test_watch_is_off_by_default(checker):
    assert checker.watch_check(msg("Alibaba stole Claude's guardrails"), now=T0) is None


def test_watch_answers_confident_matches_once_per_cooldown(checker):
    conv = checker.conversations
    conv.set_watch("slack", "T1", "C1", True, by="U9")
    assert conv.watching("slack", "T1", "C1") and not conv.watching("slack", "T1", "C2")
    first = checker.watch_check(msg("Alibaba stole Claude's guardrails"), now=T0)
    assert first is not None and first.result.matches[0].claim.id == "alibaba-stole-guardrails"
    conv.record_reply(platform="slack", workspace="T1", channel="C1", message_id="r1", result=first.result,
                      source="watch", at=T0)
    assert checker.watch_check(msg("alibaba stole the guardrails, right?"), now=T0 + dt.timedelta(hours=23)) is None
    assert checker.watch_check(msg("Alibaba stole Claude's guardrails"), now=T0 + dt.timedelta(hours=25)) is not None
    # chatter and weak matches never get an unasked reply
    assert checker.watch_check(msg("lunch anyone?"), now=T0) is None
    assert checker.watch_check(msg("opus 4.8 has a fallback?"), now=T0) is None
    logged = [r["claim_id"] for r in checker.store.checks()]
    assert logged == ["alibaba-stole-guardrails", "alibaba-stole-guardrails"], "only answered watch checks are logged"


def test_reply_records_and_deletion(checker):
    result = checker.check(msg("Alibaba stole Claude's guardrails"))
    conv = checker.conversations
    conv.record_reply(platform="discord", workspace="G", channel="C", message_id="m1", result=result, source="mention",
                      requester="u1", thread_id="orig")
    rec = conv.reply("discord", "C", "m1")
    assert (rec.requester, rec.claim_id, rec.verdict, rec.thread_id) == ("u1", "alibaba-stole-guardrails", "false", "orig")
    assert [r.message_id for r in conv.replies_for_claim("alibaba-stole-guardrails")] == ["m1"]
    conv.mark_deleted("discord", "C", "m1")
    assert conv.reply("discord", "C", "m1").deleted_at
    assert conv.replies_for_claim("alibaba-stole-guardrails") == []


def test_one_vote_per_user(checker):
    conv = checker.conversations
    assert conv.vote(platform="slack", reply_message_id="r1", user="a", vote=1, claim_id="x") == (1, 0)
    assert conv.vote(platform="slack", reply_message_id="r1", user="b", vote=1, claim_id="x") == (2, 0)
    assert conv.vote(platform="slack", reply_message_id="r1", user="a", vote=-1, claim_id="x") == (1, 1)
    with pytest.raises(ValueError):
        conv.vote(platform="slack", reply_message_id="r1", user="a", vote=5, claim_id="x")


def test_suggestions_are_grouped_and_deduplicated(checker):
    conv = checker.conversations
    assert conv.suggest(platform="slack", workspace="T", channel="C", user="a", query="Is the moon cheese?")
    assert not conv.suggest(platform="slack", workspace="T", channel="C", user="a", query="is the moon cheese")
    assert conv.suggest(platform="slack", workspace="T", channel="C", user="b", query="Is the moon cheese?!")
    conv.suggest(platform="slack", workspace="T", channel="C", user="a", query="Mars is flat")
    top = conv.suggestions()
    assert [(s["requests"]) for s in top] == [2, 1]
    assert top[0]["query"].lower().startswith("is the moon cheese")


def test_retried_event_is_handled_once(tmp_path):
    from bot.core.conversations import Conversations
    from bot.core.store import Store

    path = tmp_path / "f.db"
    assert Conversations(Store(path)).first_delivery("slack", "Ev1")
    # after a restart (a new handle on the same file) the retry is still recognised
    assert not Conversations(Store(path)).first_delivery("slack", "Ev1")
    assert Conversations(Store(path)).first_delivery("slack", "Ev2")


def test_watched_channels_lists_one_workspace_with_watch_on(checker):
    conv = checker.conversations
    conv.set_watch("slack", "T1", "C2", True)
    conv.set_watch("slack", "T1", "C1", True)
    conv.set_watch("slack", "T1", "C3", True)
    conv.set_watch("slack", "T1", "C3", False)
    conv.set_watch("slack", "T2", "C9", True)
    conv.set_watch("discord", "T1", "C8", True)
    assert conv.watched_channels("slack", "T1") == ["C1", "C2"]
    assert conv.watched_channels("slack", "T3") == []


def test_a_kept_answer_is_shared_once_survives_a_restart_and_expires(checker, tmp_path):
    from bot.core.service import open_store

    result = checker.check("Alibaba stole Claude's guardrails", record=False)
    hour = dt.timedelta(hours=1)
    kept = dict(platform="slack", workspace="T1", channel="C1", thread_id="9.9", requester="U1", result=result, ttl=hour)
    conv = checker.conversations
    token = conv.remember_share(payload='{"text": "public"}', at=T0, **kept)
    assert conv.take_share("discord", token, ttl=hour, at=T0) is None  # another platform's token space
    share = conv.take_share("slack", token, ttl=hour, at=T0 + dt.timedelta(minutes=5))
    assert (share.channel, share.thread_id, share.requester, share.payload, share.claim_id, share.verdict,
            share.decision) == ("C1", "9.9", "U1", '{"text": "public"}', "alibaba-stole-guardrails", "false", "match")
    assert conv.take_share("slack", token, ttl=hour, at=T0) is None, "a second press while the first posts gets nothing"
    conv.release_share("slack", token)  # the post failed: the button works again
    assert conv.take_share("slack", token, ttl=hour, at=T0) is not None
    conv.done_share("slack", token)
    assert conv.take_share("slack", token, ttl=hour, at=T0) is None

    # In a file database, a kept answer outlives the process; after the ttl it is gone, and pruned.
    store, _ = open_store(tmp_path / "f.db")
    token = FactChecker(store).conversations.remember_share(payload="{}", at=T0, **kept)
    store.close()
    store, _ = open_store(tmp_path / "f.db")
    conv = FactChecker(store).conversations
    assert conv.take_share("slack", token, ttl=hour, at=T0 + dt.timedelta(minutes=59)) is not None
    conv.release_share("slack", token)
    assert conv.take_share("slack", token, ttl=hour, at=T0 + dt.timedelta(minutes=61)) is None
    conv.remember_share(payload="{}", at=T0 + dt.timedelta(minutes=61), **kept)
    assert store.db.execute("SELECT count(*) FROM pending_shares").fetchone()[0] == 1
    store.close()
