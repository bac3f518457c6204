"""The Slack renderer on its own: results in, Block Kit out, every limit held and nothing able to notify anyone."""

from __future__ import annotations

import json

import pytest
from helpers import cand, make_claim

from bot.adapters.slack import render
from bot.core.chat import METHOD_URL
from bot.core.models import (
    CheckResult,
    Claim,
    Correction,
    CountedClaim,
    Decision,
    Digest,
    DigestChange,
    DigestTotals,
    Source,
    UnmatchedQuestion,
    Verdict,
)
from bot.core.subscriptions import Subscription

try:
    from tests.fakes.slack_api import FakeSlack
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.slack_api import FakeSlack

validate = FakeSlack.validate  # the fake Slack's own check of a message body against Block Kit's limits
pinged = FakeSlack.pinged  # who Slack would notify for a message body


def action_ids(reply: render.Reply) -> list[str]:
    return [el["action_id"] for b in reply.blocks if b["type"] == "actions" for el in b["elements"]]


HOSTILE = "<!channel> <!here> <!everyone> <@U0ALICE> <!subteam^S0TEAM|@team> <#C0GENERAL> <https://evil.example|click> & co"


# -- escaping -----------------------------------------------------------------------------------


def test_escape_turns_every_control_character_into_an_entity():
    assert render.escape(HOSTILE) == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U0ALICE&gt; &lt;!subteam^S0TEAM|@team&gt; "
        "&lt;#C0GENERAL&gt; &lt;https://evil.example|click&gt; &amp; co"
    )
    assert pinged({"text": render.escape(HOSTILE)}) == []
    assert pinged({"text": HOSTILE}) == ["!channel", "!here", "!everyone", "@U0ALICE", "!subteam^S0TEAM"]


def test_clip_never_leaves_half_an_entity_or_half_a_link():
    text = render.escape("&" * 50)
    for limit in range(2, 60):
        clipped = render.clip(text, limit)
        assert len(clipped) <= limit
        body = clipped.removesuffix("…")
        assert body.replace("&amp;", "") == "", clipped
    linked = "see " + render.link("https://example.org/a-long-path", "label")
    assert render.clip(linked, 20) == "see…"


def test_links_only_for_http_urls_and_labels_cannot_break_out():
    assert render.link("https://example.org/a?b=1&c=2", "A &amp; B") == "<https://example.org/a?b=1&amp;c=2|A &amp; B>"
    assert render.link("javascript:alert(1)", "x") == "x"
    assert render.link("https://example.org/a|b", "x") == "x"
    assert render.link("https://example.org/", "a|b") == "<https://example.org/|a¦b>"


def test_lines_within_says_how_many_more():
    lines = [f"line {i} " + "x" * 40 for i in range(200)]
    text = render.lines_within(lines, 3000)
    assert len(text) <= 3000
    shown = text.count("\n")
    assert text.endswith(f"…and {200 - shown} more")
    assert render.lines_within(["a", "b"], 100, hidden=3) == "a\nb\n…and 3 more"


# -- results --------------------------------------------------------------------------------------


def test_match_reply_is_header_claim_sources_context_and_buttons():
    claim = make_claim(rating_text="Unsupported", sources=[
        {"title": "Paper <v2> & more", "publisher": "Lab", "url": "https://example.org/a?x=1&y=2"},
        {"title": "A thread", "publisher": "Forum"},
    ])
    result = CheckResult(query="q", decision=Decision.MATCH, matches=(cand(claim, 0.874, alias="people say <it>"),),
                         candidates=(cand(claim, 0.874),))
    reply = render.render_result(result)
    assert reply.blocks == [
        {"type": "header", "text": {"type": "plain_text", "text": "❌ False · rated “Unsupported”", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Claim number 0 says something checkable*\nBecause the source says otherwise.")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            "*Sources*\n• <https://example.org/a?x=1&amp;y=2|Paper &lt;v2&gt; &amp; more> · Lab\n• A thread · Forum")}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "Match strength 87% · matched the wording “people say &lt;it&gt;” · claim id `claim-000` · "
            f"<{METHOD_URL}|How verdicts are chosen>")}]},
        {"type": "actions", "block_id": "factbot_actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "👍", "emoji": True},
             "action_id": "factbot_vote_up", "value": "claim-000"},
            {"type": "button", "text": {"type": "plain_text", "text": "👎", "emoji": True},
             "action_id": "factbot_vote_down", "value": "claim-000"},
            {"type": "button", "text": {"type": "plain_text", "text": "🗑️ Remove", "emoji": True},
             "action_id": "factbot_delete", "confirm": render.REMOVE_CONFIRM},
        ]},
    ]
    assert reply.text == "❌ False: Claim number 0 says something checkable — Because the source says otherwise."
    assert not validate(reply.kwargs()) and pinged(reply.kwargs()) == []


def test_every_verdict_has_its_emoji_and_label_in_the_header():
    for verdict in Verdict:
        blocks = render.claim_blocks(make_claim(verdict=verdict.value))
        assert blocks[0]["text"]["text"] == f"{verdict.emoji} {verdict.label}"


def test_ephemeral_reply_offers_share_instead_of_remove():
    result = CheckResult(query="q", decision=Decision.MATCH, matches=(cand(make_claim()),))
    reply = render.render_result(result, ephemeral=True, share_value="k1")
    assert action_ids(reply) == ["factbot_vote_up", "factbot_vote_down", "factbot_share"]
    share = reply.blocks[-1]["elements"][-1]
    assert share["text"]["text"] == "📣 Share in channel" and share["value"] == "k1" and share["style"] == "primary"


def test_several_matches_notice_and_watch_note():
    claims = [make_claim(i) for i in range(3)]
    result = CheckResult(query="q", decision=Decision.MATCH, matches=tuple(cand(c) for c in claims),
                         notice="The message is long; only its first 4,000 characters were checked.")
    reply = render.render_result(result, watch=True)
    notes = [b["elements"][0]["text"] for b in reply.blocks[:3]]
    assert notes == ["👀 A claim in this message has been fact-checked (watch mode is on in this channel):", "ℹ️ The message is long; only its first 4,000 characters were checked.",
                     "This message makes 3 claims that have been checked:"]
    assert [b["type"] for b in reply.blocks].count("divider") == 2
    assert [b["text"]["text"] for b in reply.blocks if b["type"] == "header"] == ["❌ False"] * 3
    assert action_ids(reply)[0] == "factbot_vote_up" and reply.blocks[-1]["elements"][0]["value"] == "claim-000"
    assert reply.text.startswith("👀 ❌ False: Claim number 0") and reply.text.count("❌ False") == 3


def test_possible_lists_up_to_three_candidates_behind_buttons():
    claims = [make_claim(i, claim=f"Candidate {i} " + "word " * 30) for i in range(5)]
    result = CheckResult(query="q", decision=Decision.POSSIBLE,
                         candidates=tuple(cand(c, 0.5 - i / 10) for i, c in enumerate(claims)))
    reply = render.render_result(result)
    assert reply.blocks[0] == render.header("🤔 Did you mean…")
    text = reply.blocks[1]["text"]["text"]
    assert text.startswith("No verified claim matches exactly. Did you mean one of these?\n\n*1.* Candidate 0 word")
    assert "· match strength 50% · id `claim-000`" in text and "*4.*" not in text
    assert "❌" not in text and "False" not in text  # no verdict shouted before it is picked
    assert reply.blocks[2] == render.context(
        "Pick one to see its verdict, why and sources (only you will see it), or ask for one by its id: "
        "`/factcheck claim-000`.")
    assert action_ids(reply) == ["factbot_reveal_1", "factbot_reveal_2", "factbot_reveal_3", "factbot_delete"]
    picks = reply.blocks[-1]["elements"][:3]
    assert [p["value"] for p in picks] == ["claim-000", "claim-001", "claim-002"]
    assert all(len(p["text"]["text"]) <= 75 for p in picks) and picks[0]["text"]["text"].startswith("1. Candidate 0")
    assert not validate(reply.kwargs())


def test_none_offers_suggest_with_the_checked_text_escaped():
    reply = render.render_result(CheckResult(query=HOSTILE, decision=Decision.NONE))
    assert reply.blocks[0] == render.header("🔎 No verified claim matches")
    assert reply.blocks[2]["text"]["text"] == "*Checked text*\n>" + render.escape(HOSTILE)
    assert action_ids(reply) == ["factbot_suggest", "factbot_delete"]
    assert reply.blocks[-1]["elements"][0]["value"] == HOSTILE  # read back as written for the fact-checkers
    assert reply.text == "🔎 No verified claim matches this."
    assert pinged(reply.kwargs()) == [] and not validate(reply.kwargs())


def test_formatting_a_person_typed_is_shown_as_typed_in_the_checked_text_and_the_digest():
    """``*bold*``, ``_italic_``, ``~strike~`` and ```code``` in what someone wrote: every marker sits next to a
    zero-width space, so none is at a word boundary and Slack formats nothing; the characters are all there."""
    typed = "is it *really* _true_ that ~nobody~ ran `rm -rf` <@U0ALICE>?"
    z = render.ZWSP
    shown = (f"is it {z}*{z}really{z}*{z} {z}_{z}true{z}_{z} that {z}~{z}nobody{z}~{z} ran {z}`{z}rm -rf{z}`{z} "
             "&lt;@U0ALICE&gt;?")
    reply = render.render_result(CheckResult(query=typed, decision=Decision.NONE))
    assert reply.blocks[2]["text"]["text"] == "*Checked text*\n>" + shown
    assert shown.replace(z, "") == render.escape(typed)  # nothing lost but the formatting
    assert pinged(reply.kwargs()) == [] and not validate(reply.kwargs())
    digest = Digest(platform="slack", workspace="T1", channel="C1", period_start="2026-11-16T09:00:00+00:00",
                    period_end="2026-11-23T09:00:00+00:00", totals=DigestTotals(checks=1),
                    unmatched=(UnmatchedQuestion(text=typed, count=2, suggested=False),))
    blocks, _ = render.render_digest(digest, footer="f")
    assert [b["text"]["text"] for b in blocks if f"2× “{shown}”" in (b.get("text") or {}).get("text", "")]


def test_nothing_to_check_explains_why():
    reply = render.render_result(CheckResult(query="", decision=Decision.NONE, notice="There is nothing to check."))
    assert reply.blocks[:2] == [render.header("🔎 Nothing to check"), render.section("There is nothing to check.")]
    assert action_ids(reply) == ["factbot_delete"]
    assert action_ids(render.render_result(CheckResult(query="", decision=Decision.NONE), ephemeral=True)) == []


def test_vote_counts_show_on_the_buttons():
    reply = render.render_result(CheckResult(query="q", decision=Decision.MATCH, matches=(cand(make_claim()),)))
    counted = render.with_votes(reply.blocks, 3, 0)
    texts = [el["text"]["text"] for el in counted[-1]["elements"]]
    assert texts == ["👍 3", "👎", "🗑️ Remove"]
    assert counted[:-1] == reply.blocks[:-1] and reply.blocks[-1]["elements"][0]["text"]["text"] == "👍"


def test_help_lists_every_way_in():
    reply = render.render_help()
    text = "\n".join(b["text"]["text"] for b in reply.blocks)
    for needle in ("@factbot Alibaba stole", "/factcheck &lt;claim&gt;", "Fact-check this message", "/factcheck watch on",
                   "/factcheck digest subscribe &lt;day&gt; &lt;time&gt; &lt;timezone&gt;", "/factcheck digest preview"):
        assert needle in text
    assert "<" not in json.dumps(reply.kwargs()) and pinged(reply.kwargs()) == []


# -- limits ------------------------------------------------------------------------------------------


def test_huge_claims_and_input_are_cut_to_block_kit_limits():
    claim = Claim(
        id="a" * 80, claim="C&" * 2500, verdict=Verdict.MIXED, summary="S<" * 4500, rating_text="R" * 500,
        sources=tuple(Source(title=f"source {i} " + "t" * 300, publisher="p" * 200, url="https://example.org/" + "u" * 500)
                      for i in range(60)),
    )
    result = CheckResult(query="x" * 40000, decision=Decision.MATCH,
                         matches=tuple(cand(claim, alias="A" * 3000) for _ in range(12)), notice="N" * 3000)
    reply = render.render_result(result)
    assert not validate(reply.kwargs()), validate(reply.kwargs())
    assert len(reply.blocks) <= 50 and len(reply.text) <= 3000 and reply.text.endswith("…")
    sources = next(b for b in reply.blocks if b["type"] == "section" and b["text"]["text"].startswith("*Sources*"))
    assert sources["text"]["text"].endswith("more")
    more = [b for b in reply.blocks if b["type"] == "context" and b["elements"][0]["text"].startswith("…and ")]
    assert more and more[0]["elements"][0]["text"].endswith("more; ask about them one at a time.")
    assert reply.blocks[-1]["type"] == "actions"
    none = render.render_result(CheckResult(query="*" * 40000, decision=Decision.NONE))
    assert not validate(none.kwargs()) and none.blocks[2]["text"]["text"].endswith("…")
    assert len(none.blocks[-1]["elements"][0]["value"]) <= 2000


def test_fit_blocks_keeps_the_buttons_and_says_how_many_more():
    blocks = [render.section(f"s{i}") for i in range(80)] + [render.actions(render.button("🗑️ Remove", render.DELETE))]
    fitted = render.fit_blocks(blocks)
    assert len(fitted) == 50 and fitted[-1]["type"] == "actions"
    assert fitted[-2] == render.context("…and 32 more")


# -- digests -------------------------------------------------------------------------------------


def big_digest(n: int = 500) -> Digest:
    verdicts = list(Verdict)
    claims = [make_claim(i, verdict=verdicts[i % len(verdicts)].value, summary="why " * 60) for i in range(n)]
    return Digest(
        platform="slack", workspace="T1", channel="C1",
        period_start="2026-11-16T08:00:00+00:00", period_end="2026-11-23T08:00:00+00:00",
        changes=tuple(DigestChange(c, "changed" if i % 2 else "added", Verdict.TRUE if i % 2 else None)
                      for i, c in enumerate(claims)),
        top_in_channel=tuple(CountedClaim(c, n - i) for i, c in enumerate(claims)),
        top_in_workspace=tuple(CountedClaim(c, 2 * n - i) for i, c in enumerate(claims)),
        unmatched=tuple(UnmatchedQuestion(f"<!channel> question {i} " + "q" * 300, n - i, i % 3 == 0) for i in range(n)),
        totals=DigestTotals(checks=1234, matches=1000, upvotes=12, downvotes=3),
        corrections=tuple(Correction(i, "slack", "T1", "C1", str(i), "", c, Verdict.TRUE, i) for i, c in enumerate(claims[:40])),
    )


def section_titled(blocks: list[dict], title: str) -> str:
    return next(b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(f"*{title}"))


def test_digest_with_500_items_stays_within_limits_with_and_n_more():
    blocks, text = render.render_digest(big_digest(), footer="factbot weekly digest · 2026-11-23")
    body = {"blocks": blocks, "text": text}
    assert not validate(body), validate(body)
    assert pinged(body) == []
    assert blocks[:3] == [render.header("📰 Weekly fact-check digest"), render.context("Nov 16, 2026 → Nov 23, 2026"),
                          render.section("*1,234* checks · *1,000* matched · 👍 12 · 👎 3")]
    assert text == "📰 Weekly fact-check digest (Nov 16, 2026 → Nov 23, 2026): 1,234 checks, 1,000 matched."
    corrections = section_titled(blocks, "✏️ Corrections")
    shown = corrections.count("\n• ")  # as many as fit in one section (each carries the claim's summary)
    assert 5 <= shown <= 10 and corrections.endswith(f"…and {40 - shown} more")
    asked = section_titled(blocks, "❓ Asked")
    assert asked.startswith("*❓ Asked, but not in the database*\nFor the fact-checkers, most asked first:\n")
    assert asked.count("\n") == 12 and asked.endswith("…and 490 more")
    assert "&lt;!channel&gt; question 0" in asked and "· 📝 suggested for review" in asked
    assert "*📈 What people checked*" in [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert section_titled(blocks, "Most checked in this channel").endswith("…and 490 more")
    assert section_titled(blocks, "Most checked in this workspace").endswith("…and 490 more")
    true_changes = section_titled(blocks, "✅ True (56)")
    assert "🆕" in true_changes and "(was True)" in section_titled(blocks, "☑️ Mostly true (56)")
    assert "<https://example.org/a|Example News>" in true_changes
    assert blocks[-1] == render.context("factbot weekly digest · 2026-11-23")
    assert render.digest_tag(blocks) == "factbot weekly digest · 2026-11-23"


def test_digest_with_more_sections_than_blocks_says_how_many_more():
    digest = big_digest(20)
    many = Digest(platform="slack", workspace="T1", channel="C1", period_start=digest.period_start,
                  period_end=digest.period_end, changes=digest.changes,
                  corrections=digest.corrections, unmatched=digest.unmatched, totals=digest.totals)
    blocks, _ = render.render_digest(many, footer="tag")
    assert len(blocks) <= 50 and blocks[-1] == render.context("tag")
    # 9 verdict groups fit; so does everything else at this size
    assert sum(1 for b in blocks if b["type"] == "section") == 13
    packed = render.fit_blocks([render.section(str(i)) for i in range(60)], 49) + [render.context("tag")]
    assert len(packed) == 50 and packed[-2] == render.context("…and 12 more")


def test_quiet_week_is_one_short_message():
    quiet = Digest(platform="slack", workspace="T1", channel="C1",
                   period_start="2026-11-16T08:00:00+00:00", period_end="2026-11-23T08:00:00+00:00")
    blocks, text = render.render_digest(quiet)
    assert blocks == [render.header("📰 Weekly fact-check digest"), render.context("Nov 16, 2026 → Nov 23, 2026"),
                      render.section("A quiet week: no new or changed claims, and nobody asked me anything here.")]
    assert text == "📰 Weekly fact-check digest (Nov 16, 2026 → Nov 23, 2026): a quiet week."


# -- App Home -------------------------------------------------------------------------------------


def test_home_view_shows_how_to_settings_and_top_claims():
    sub = Subscription(id=1, platform="slack", workspace="T1", channel="C0GENERAL", weekday=0, time="09:00",
                       timezone="Europe/Berlin")
    view = render.render_home(watched=["C0GENERAL", "<!channel>"], subscriptions=[sub],
                              top=[CountedClaim(make_claim(1), 4), CountedClaim(make_claim(2, verdict="true"), 2)])
    assert view["type"] == "home"
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] in ("section", "header")]
    assert texts[0] == "👋 factbot"
    assert "*👀 Watch mode is on in*\n• <#C0GENERAL>\n• &lt;!channel&gt;" in texts
    assert "*📰 Weekly digests*\n• <#C0GENERAL>: every Monday at 09:00 (Europe/Berlin)" in texts
    assert texts[-2:] == ["📈 Most checked this week", (
        "4× ❌ False · Claim number 1 says something checkable (`claim-001`)\n"
        "2× ✅ True · Claim number 2 says something checkable (`claim-002`)")]
    assert not validate({"blocks": view["blocks"]}, max_blocks=100) and pinged({"blocks": view["blocks"]}) == []
    empty = render.render_home(watched=None, subscriptions=[], top=[])
    empty_texts = [b["text"]["text"] for b in empty["blocks"] if b["type"] == "section"]
    assert "*Watch mode*: type `/factcheck watch` in a channel to see whether it is on there." in empty_texts
    assert empty_texts[-1] == "Nothing has been checked in this workspace this week yet."


def test_every_reply_shape_passes_the_fakes_checks():
    claim = make_claim()
    shapes = [
        render.render_result(CheckResult(query="q", decision=d, matches=(cand(claim),) if d is Decision.MATCH else (),
                                         candidates=(cand(claim, 0.4),)), ephemeral=e, share_value="k")
        for d in Decision for e in (True, False)
    ] + [render.render_reveal(claim), render.render_help(), render.render_notice(HOSTILE), render.render_text("*ok*")]
    for reply in shapes:
        assert not validate(reply.kwargs()), reply
        assert pinged(reply.kwargs()) == [], reply
    assert json.dumps(render.render_notice(HOSTILE).kwargs()).count("&lt;") == 14  # in the block and the text


@pytest.mark.parametrize("text", ["<@U123>", "<!here>", "a > b & c < d"])
def test_notice_and_fallback_text_are_escaped(text):
    reply = render.render_notice(text)
    assert reply.text == render.escape(text) and reply.blocks == [render.section(render.escape(text))]
