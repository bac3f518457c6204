"""The matcher's decisions: match, possible, none; explained; and never raising on hostile input."""

import pytest

from bot.core.matcher import MatchConfig, Matcher
from bot.core.models import Decision


def test_paraphrase_with_chatter_matches_and_explains(matcher):
    result = matcher.check("<@123> wait is it true Alibaba stole claude's guardrails?? :eyes:")
    assert result.decision is Decision.MATCH
    best = result.matches[0]
    assert best.claim.id == "alibaba-stole-guardrails"
    assert best.matched_text == "Alibaba stole Claude's guardrails" and best.matched_alias
    assert 0.9 <= best.score <= 1.0
    assert best.lexical > 0 and best.coverage == pytest.approx(1.0)


def test_typos_still_match(matcher):
    result = matcher.check("alibba stol claudes gaurdrails")
    assert result.decision is Decision.MATCH
    assert result.matches[0].claim.id == "alibaba-stole-guardrails"


def test_partial_overlap_is_only_possible(matcher):
    result = matcher.check("opus 4.8 has a fallback?")
    assert result.decision is Decision.POSSIBLE
    assert result.candidates[0].claim.id == "opus-fallback"
    assert result.matches == ()


@pytest.mark.parametrize(
    "text",
    ["anyone up for lunch?", "the build is broken again", "Alibaba's cloud revenue grew 20% last quarter",
     "Ford recalled 300k trucks over brakes"],
)
def test_unrelated_messages_get_none(matcher, text):
    assert matcher.check(text).decision is Decision.NONE


def test_none_still_lists_nearest_candidates(matcher):
    result = matcher.check("Alibaba's cloud revenue grew 20% last quarter")
    assert result.candidates and result.candidates[0].claim.id == "alibaba-stole-guardrails"
    assert result.to_dict()["matches"][0]["claim_id"] == "alibaba-stole-guardrails"


def test_several_claims_in_one_message_are_answered_together(matcher):
    result = matcher.check(
        "Big news today. Fable 5 downgrades you to Opus 4.8 on cyber questions. Also Alibaba stole Claude's guardrails lol"
    )
    assert result.decision is Decision.MATCH
    assert {m.claim.id for m in result.matches} == {"alibaba-stole-guardrails", "opus-fallback"}


@pytest.mark.parametrize(
    "text",
    ['"', "AND OR NOT", "NEAR(alibaba guardrails, 2)", "claim:alibaba", "alibaba*", "-guardrails", "^",
     "\x00\x01\x02", "\ud800\udfff", "🙂" * 500, "   ", "@everyone <!channel> <!here>"],
)
def test_hostile_input_never_raises(matcher, text):
    result = matcher.check(text)
    assert result.decision in (Decision.NONE, Decision.POSSIBLE, Decision.MATCH)


def test_empty_input_says_why(matcher):
    assert "nothing to check" in matcher.check("").notice
    assert "nothing to check" in matcher.check("<@123> :wave: https://example.com").notice


def test_huge_message_is_checked_in_part_and_says_so(matcher):
    result = matcher.check("Alibaba stole Claude's guardrails. " + "blah " * 30_000)
    assert result.decision is Decision.MATCH
    assert "first 4,000 characters" in result.notice


def test_binary_input(matcher):
    assert matcher.check(bytes(range(256))).decision is Decision.NONE


def test_thresholds_come_from_config(sample_store):
    strict = Matcher(sample_store, config=MatchConfig(match_threshold=0.99, possible_threshold=0.98))
    assert strict.check("alibaba stole the guardrails").decision is not Decision.MATCH
    with pytest.raises(ValueError, match="thresholds"):
        MatchConfig(match_threshold=0.3, possible_threshold=0.5).validate()
