"""The digest model built from a seeded store: changes, counts, ordering, the to-do list, the quiet week."""

import datetime as dt

import pytest

from bot.core.conversations import Conversations
from bot.core.digest import build_digest
from bot.core.models import Verdict, claim_from_dict


def now():
    """Real time: the store stamps writes with the wall clock, so the digest's window must contain it."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def at(days_ago):
    return (now() - dt.timedelta(days=days_ago)).isoformat()


def digest(store, channel="C1"):
    end = now() + dt.timedelta(minutes=1)
    return build_digest(store, platform="slack", workspace="T1", channel=channel, since=end - dt.timedelta(days=7), now=end)


def log(store, query, decision, claim_id=None, channel="C1", workspace="T1", days_ago=1):
    store.log_check(query=query, decision=decision, claim_id=claim_id, score=0.9 if claim_id else 0.1,
                    platform="slack", workspace=workspace, channel=channel, at=at(days_ago))


def test_quiet_week(store):
    d = digest(store)
    assert d.quiet and d.totals.checks == 0 and d.changes == ()


def test_changes_grouped_by_verdict_with_old_verdict(sample_store, sample_claims):
    sample_store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "verdict": "false"})])
    d = digest(sample_store)
    kinds = {c.claim.id: (c.change, c.old_verdict) for c in d.changes}
    assert kinds["ford-inspectors"] == ("added", None), "added and changed in the same week is news once, as added"
    groups = d.changes_by_verdict()
    assert [v for v, _ in groups] == [Verdict.TRUE, Verdict.FALSE]
    assert {c.claim.id for c in dict(groups)[Verdict.FALSE]} == {"alibaba-stole-guardrails", "ford-inspectors"}


def test_verdict_change_of_an_older_claim(sample_store, sample_claims):
    sample_store.db.execute("UPDATE claim_changes SET at = '2020-01-01T00:00:00Z'")
    sample_store.db.conn.commit()
    sample_store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "verdict": "false"})])
    d = digest(sample_store)
    assert [(c.claim.id, c.change, c.old_verdict) for c in d.changes] == [("ford-inspectors", "changed", Verdict.UNVERIFIED)]


def test_counts_ordering_and_scope(sample_store):
    for _ in range(3):
        log(sample_store, "alibaba stole it", "match", "alibaba-stole-guardrails")
    log(sample_store, "opus fallback", "match", "opus-fallback")
    for _ in range(4):
        log(sample_store, "opus fallback", "match", "opus-fallback", channel="C2")
    log(sample_store, "alibaba stole it", "match", "alibaba-stole-guardrails", workspace="OTHER")
    log(sample_store, "too old", "match", "opus-fallback", days_ago=9)
    d = digest(sample_store)
    assert [(c.claim.id, c.count) for c in d.top_in_channel] == [("alibaba-stole-guardrails", 3), ("opus-fallback", 1)]
    assert [(c.claim.id, c.count) for c in d.top_in_workspace] == [("opus-fallback", 5), ("alibaba-stole-guardrails", 3)]
    assert d.totals.checks == 8 and d.totals.matches == 8


def test_unmatched_questions_most_asked_first_and_suggestions_marked(sample_store):
    for _ in range(3):
        log(sample_store, "is the moon cheese?", "none")
    log(sample_store, "Is the moon cheese", "none")  # same words, folded: counted together
    log(sample_store, "mars is flat", "none")
    Conversations(sample_store).suggest(platform="slack", workspace="T1", channel="C1", user="u", query="mars is flat")
    Conversations(sample_store).suggest(platform="slack", workspace="T1", channel="C1", user="u", query="pluto is a planet")
    d = digest(sample_store)
    got = [(u.count, u.suggested) for u in d.unmatched]
    assert got[0] == (4, False)
    assert {u.text.lower().rstrip("?") for u in d.unmatched} == {"is the moon cheese", "mars is flat", "pluto is a planet"}
    assert all(u.suggested for u in d.unmatched[1:])


def test_feedback_totals(sample_store):
    conv = Conversations(sample_store)
    conv.vote(platform="slack", reply_message_id="r1", user="a", vote=1, claim_id="x", workspace="T1", channel="C1")
    conv.vote(platform="slack", reply_message_id="r1", user="b", vote=-1, claim_id="x", workspace="T1", channel="C1")
    d = digest(sample_store)
    assert (d.totals.upvotes, d.totals.downvotes) == (1, 1)


def test_naive_times_are_refused(store):
    with pytest.raises(ValueError, match="timezone-aware"):
        build_digest(store, platform="slack", workspace="T", channel="C", since=dt.datetime(2026, 1, 1), now=now())
