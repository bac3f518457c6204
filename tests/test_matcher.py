"""The matcher's decisions: match, possible, none; explained; and never raising on hostile input."""

import pytest

from bot.core.index import ClaimIndex
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


def test_a_pasted_tweet_is_matched_on_what_it_says_and_shown_as_written(matcher):
    said = "wait is it true Alibaba stole claude's guardrails?? — Some Account (@someaccount)"
    pasted = "wait is it true Alibaba stole claude's guardrails?? pic.twitter.com/Xy12AbCd — Some Account (@someaccount) March 3, 2026"
    result, plain = matcher.check(pasted), matcher.check(said)
    assert result.decision is plain.decision is Decision.MATCH
    assert result.matches[0].claim.id == plain.matches[0].claim.id == "alibaba-stole-guardrails"
    assert result.matches[0].score == pytest.approx(plain.matches[0].score)
    assert result.query == pasted


def test_typos_still_match(sample_store):
    # Typo tolerance is the words' part (rapidfuzz, tantivy's Levenshtein automaton): tested lexically.
    result = Matcher(sample_store, config=MatchConfig(semantic="off")).check("alibba stol claudes gaurdrails")
    assert result.decision is Decision.MATCH
    assert result.matches[0].claim.id == "alibaba-stole-guardrails"


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_partial_overlap_is_never_a_verdict(bundled_store, mode):
    # On the bundled claims, as a user meets them: a question naming the topic is a "did you mean", not a verdict.
    result = Matcher(bundled_store, config=MatchConfig(semantic=mode)).check("opus 4.8 has a fallback?")
    assert result.decision in (Decision.POSSIBLE, Decision.NONE)
    assert result.candidates[0].claim.id == "users-told-about-opus-fallback"
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
    "text", ['"', "^", "\x00\x01\x02", "\ud800\udfff", "🙂" * 500, "   ", "@everyone <!channel> <!here>"],
)
def test_input_without_words_is_none_and_says_why(matcher, text):
    result = matcher.check(text)
    assert result.decision is Decision.NONE and not result.candidates
    assert "nothing to check" in result.notice


@pytest.mark.parametrize("text", ["NEAR(alibaba guardrails, 2)", "claim:alibaba", "alibaba*", "-guardrails"])
def test_search_syntax_is_read_as_words_not_obeyed(matcher, text):
    # tantivy's query language (NEAR, field:, wildcards, negation) would raise or exclude; the words are searched.
    result = matcher.check(text)
    assert result.decision is Decision.NONE and result.notice == ""  # a word or two is not a claim
    assert result.candidates[0].claim.id == "alibaba-stole-guardrails"


def test_boolean_operators_alone_are_words_not_a_query(matcher):
    result = matcher.check("AND OR NOT")
    assert result.decision is Decision.NONE and result.matches == () and result.notice == ""


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
    strict = Matcher(sample_store, config=MatchConfig(match_threshold=1.0, possible_threshold=0.999))
    assert strict.check("alibaba stole the guardrails").decision is not Decision.MATCH
    with pytest.raises(ValueError, match="thresholds"):
        MatchConfig(match_threshold=0.3, possible_threshold=0.5).validate()


def _twin(claim_id: str, text: str, verdict: str = "false", **extra) -> dict:
    return {"id": claim_id, "claim": text, "verdict": verdict, "summary": "A copy.",
            "sources": [{"title": "An archive", "publisher": "Archive"}], **extra}


def test_a_fact_check_filed_twice_is_listed_once_under_the_first_record(sample_store, sample_claims):
    from bot.adapters.console import render_text
    from bot.core.models import claim_from_dict

    # The copy differs only in its quotation marks and sorts first by id: the original is the one stored first.
    sample_store.upsert_claims([claim_from_dict(_twin("zz-original", 'Anthropic said "Fable 5 has no safeguards at all"'))])
    sample_store.upsert_claims([claim_from_dict(_twin("aa-copy", "Anthropic said 'Fable 5 has no safeguards at all'"))])
    result = Matcher(sample_store, ClaimIndex(sample_store)).check("anthropic said fable 5 has no safeguards at all", top=5)

    ids = [c.claim.id for c in result.candidates]
    assert result.decision is Decision.MATCH and result.matches[0].claim.id == "zz-original"
    assert "aa-copy" not in ids and ids.count("zz-original") == 1
    assert result.matches[0].duplicates == ("aa-copy",)
    assert result.to_dict()["matches"][0]["duplicates"] == ["aa-copy"]
    assert "same claim also filed as aa-copy" in render_text(result, explain=True)


def test_the_same_text_with_another_verdict_is_not_collapsed(sample_store):
    from bot.core.models import claim_from_dict

    sample_store.upsert_claims([
        claim_from_dict(_twin("first-verdict", "Fable 5 was trained on fables", verdict="false")),
        claim_from_dict(_twin("second-verdict", "Fable 5 was trained on fables!", verdict="true")),
    ])
    result = Matcher(sample_store, ClaimIndex(sample_store)).check("fable 5 was trained on fables", top=5)
    ids = [c.claim.id for c in result.candidates]
    assert {"first-verdict", "second-verdict"} <= set(ids)
    assert all(c.duplicates == () for c in result.candidates)


def test_copies_met_in_different_sentences_are_merged_too(sample_store):
    from dataclasses import replace

    from bot.core.models import Candidate, claim_from_dict

    sample_store.upsert_claims([claim_from_dict(_twin("original", "Fable 5 refuses every cyber question"))])
    sample_store.upsert_claims([claim_from_dict(_twin("copy", "Fable 5 refuses every cyber question."))])
    matcher = Matcher(sample_store, ClaimIndex(sample_store))
    claims = sample_store.get_many(["original", "copy", "opus-fallback"])

    def cand(cid: str, score: float, **kw) -> Candidate:
        return Candidate(claims[cid], score, claims[cid].claim, False, 1.0, 50.0, 0.5, **kw)

    # One sentence found only the copy (stronger), another the original, which had merged a copy of its own.
    ranked = [cand("copy", 0.6), cand("opus-fallback", 0.5), cand("original", 0.4, duplicates=("older-merge",))]
    out = matcher._collapse_duplicates(ranked)
    assert [(c.claim.id, c.score, c.duplicates) for c in out] == [
        ("original", 0.6, ("copy", "older-merge")), ("opus-fallback", 0.5, ())]
    assert matcher._collapse_duplicates([replace(ranked[1])]) == [ranked[1]]
