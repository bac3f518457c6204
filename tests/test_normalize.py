"""Normalisation: one form for queries, claims and aliases; nothing a chat can send makes it raise."""

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.normalize import clean, display_text, fold, segments, strip_pasted, terms


def test_discord_and_slack_markup_is_removed():
    text = (
        "<@!123456789012345678> <@&987> <#555> <:pepe:1234> <a:dance:99> <t:1700000000:R> "
        "<@U024BE7LH|bob> <#C024BE7LH|general> <!channel> <!subteam^S1|@team> @everyone @here "
        "Alibaba stole :thinking_face: the guardrails https://x.com/a?b=c www.example.com"
    )
    assert fold(text) == "alibaba stole the guardrails"


def test_a_pasted_tweet_loses_its_signature_and_link_debris():
    tweet = ("The US drone attack on #Soleimani caught on camera.#IranUsapic.twitter.com/TvRkHvlgby "
             "— Olaudah Equiano® (@RealOlaudah) January 6, 2020")
    assert fold(strip_pasted(tweet)) == "the us drone attack on soleimani caught on camera iran usa olaudah equiano realolaudah"
    assert strip_pasted("see nytimes.com/2020/01/06/world and t.co/x1") == "see   and"
    assert strip_pasted("a-" * 10_000) == "a-" * 10_000  # no link in a long run of words: nothing removed
    # Platform markup is read as markup, not as a hashtag or a link: a channel link goes, a link's label stays.
    assert fold(strip_pasted("<#C024BE7LH|general> see <https://www.wired.com/story/x|wired> #showcase")) == \
        "see wired showcase"
    # A date, a dash or a handle elsewhere in a message are words of the message.
    text = "Trump - as @PressSec said (@PressSec) on January 6, 2020 - cut the CDC budget"
    assert strip_pasted(text) == text


def test_slack_link_keeps_its_label():
    assert fold("see <https://wired.com/story|Wired's story> now") == "see wired story now"


def test_case_width_and_possessives_fold():
    assert fold("ＣＬＡＵＤＥ’s  GUARDRAILS!!") == "claude guardrails"
    assert fold("don't") == "dont"


def test_version_numbers_stay_one_word():
    assert "4.8" in fold("falls back to Opus 4.8.")


def test_terms_drop_stopwords_and_stem():
    assert terms("Is it true that Alibaba stole the guardrails?") == ("alibaba", "stole", "guardrail")


def test_negation_is_kept():
    assert "not" in terms("users are not told")


def test_control_characters_and_bidi_overrides_removed():
    assert clean("a\x00b\u202ec\x1b[31m") == "a b c [31m"


def test_invalid_unicode_and_bytes_do_not_raise():
    assert clean("bad \ud800 surrogate") == "bad ? surrogate"
    assert clean(b"\xff\xfeok") == "\ufffd\ufffdok"
    assert fold(None) == ""


def test_segments_split_sentences_and_merge_fragments():
    parts = segments("lol. Anthropic silently downgrades you to Opus 4.8. Also Alibaba stole the guardrails! ok?")
    assert parts == ["lol. Anthropic silently downgrades you to Opus 4.8.", "Also Alibaba stole the guardrails! ok?"]


def test_display_text_is_bounded():
    assert display_text("x" * 5000, limit=100).endswith("…")
    assert len(display_text("x" * 5000, limit=100)) == 100


@given(st.text())
@settings(max_examples=300, deadline=None)
def test_fold_is_idempotent_and_clean(text):
    once = fold(text)
    assert fold(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert all(ch.isalnum() or ch in " .," for ch in once)


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_bytes_are_safe(data):
    cleaned = clean(data)
    assert "\x00" not in cleaned
    assert all(t == t.casefold() for t in terms(cleaned))
