"""The Discord renderer on its own: results in, ``Embed.to_dict()`` and components out, every limit held."""

from __future__ import annotations

import json
import re

import pytest
from helpers import cand, make_claim

from bot.adapters.discord import render
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

try:
    from tests.fakes.discord_server import FakeDiscord
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.discord_server import FakeDiscord

validate = FakeDiscord.validate  # the fake Discord's own check of a message body against the limits


def body(reply: render.Reply) -> dict:
    """The message body discord.py would send for a reply."""
    out = {"content": reply.content, "embeds": [e.to_dict() for e in reply.embeds]}
    if reply.view is not None:
        out["components"] = reply.view.to_components()
    return out


def ids(reply: render.Reply) -> list[str]:
    return [c["custom_id"] for row in reply.view.to_components() for c in row["components"]]


# -- escaping ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "@everyone look", "@here", "<@123456789012345678>", "<@!123456789012345678>", "<@&123456789012345678>",
    "<#123456789012345678>", "<:blob:123456789012345678>", "**bold** __u__ ~~s~~ `code` ||spoiler||",
    "# heading\n- item\n1. first\n> quote\n-# small", "[masked](https://evil.example)", "back\\slash \\@everyone",
])
def test_escape_neutralises_mentions_and_markdown_and_round_trips(text):
    escaped = render.escape(text)
    assert render.unescape(escaped) == text
    for raw in ("@everyone", "@here", "<@", "<#", "<:", "**", "__", "~~", "``", "||", "](", "\n#", "\n-", "\n>"):
        if raw in escaped:
            i = escaped.index(raw)
            assert escaped[i - 1] == "\\", f"{raw!r} left unescaped in {escaped!r}"


def test_clip_never_leaves_half_an_escape():
    text = render.escape("*" * 50)
    for limit in range(2, 40):
        clipped = render.clip(text, limit)
        assert len(clipped) <= limit and clipped.endswith("…")
        assert (len(clipped[:-1]) - len(clipped[:-1].rstrip("\\"))) % 2 == 0


def test_lines_within_says_how_many_more():
    lines = [f"line {i} " + "x" * 40 for i in range(100)]
    text = render.lines_within(lines, 1024)
    assert len(text) <= 1024
    shown = text.count("\n")
    assert text.endswith(f"…and {100 - shown} more")
    assert render.lines_within(["a", "b"], 100) == "a\nb"
    assert render.lines_within(["a", "b"], 100, hidden=3) == "a\nb\n…and 3 more"


# -- results ---------------------------------------------------------------------------------


def test_match_embed_has_verdict_colour_title_why_sources_and_footer():
    claim = make_claim(rating_text="Unsupported", sources=[
        {"title": "Paper (v2) [final]", "publisher": "Lab", "url": "https://example.org/a_(b)"},
        {"title": "A thread", "publisher": "Forum"},
    ])
    result = CheckResult(query="q", decision=Decision.MATCH, matches=(cand(claim, 0.874, alias="people say it so"),),
                         candidates=(cand(claim, 0.874),))
    reply = render.render_result(result)
    (embed,) = [e.to_dict() for e in reply.embeds]
    assert embed["title"] == "❌ Claim number 1 says something checkable".replace("1", "0")
    assert embed["color"] == Verdict.FALSE.colour == 0xC62828
    assert embed["description"] == (
        "**False** · rated “Unsupported”\nBecause the source says otherwise.\n\n"
        f"[How verdicts are chosen]({METHOD_URL})"
    )
    assert embed["fields"] == [{
        "name": "Sources", "inline": False,
        "value": "• [Paper \\(v2\\) \\[final\\]](https://example.org/a_%28b%29) · Lab\n• A thread · Forum",
    }]
    assert embed["footer"] == {"text": "Match strength 87% · matched the wording “people say it so” · claim id claim-000"}
    assert ids(reply) == ["factbot:vote:up:claim-000", "factbot:vote:down:claim-000", "factbot:delete"]
    assert reply.content is None
    assert reply.kwargs()["allowed_mentions"].to_dict() == {"parse": []}


def test_every_verdict_has_its_colour_and_emoji():
    for verdict in Verdict:
        claim = make_claim(verdict=verdict.value)
        embed = render.claim_embed(claim).to_dict()
        assert embed["color"] == verdict.colour and embed["title"].startswith(verdict.emoji + " ")
        assert embed["description"].startswith(f"**{verdict.label}**")


def test_several_matches_are_listed_and_the_notice_shown():
    claims = [make_claim(i) for i in range(3)]
    result = CheckResult(query="q", decision=Decision.MATCH, matches=tuple(cand(c) for c in claims),
                         notice="The message is long; only its first 4,000 characters were checked.")
    reply = render.render_result(result)
    assert reply.content == ("ℹ️ The message is long; only its first 4,000 characters were checked.\n"
                             "This message makes 3 claims that have been checked:")
    assert [e.footer.text.rsplit(" ", 1)[-1] for e in reply.embeds] == ["claim-000", "claim-001", "claim-002"]
    assert ids(reply)[0] == "factbot:vote:up:claim-000"  # feedback goes to the best match


def test_possible_lists_up_to_three_candidates_behind_buttons():
    claims = [make_claim(i, claim=f"Candidate {i} " + "word " * 30) for i in range(5)]
    result = CheckResult(query="q", decision=Decision.POSSIBLE, candidates=tuple(cand(c, 0.5 - i / 10) for i, c in enumerate(claims)))
    reply = render.render_result(result)
    embed = reply.embeds[0].to_dict()
    assert embed["title"] == "🤔 Did you mean…"
    assert "**1.** Candidate 0" in embed["description"]
    assert "· match strength 50% · id `claim-000`" in embed["description"]
    assert embed["footer"]["text"] == ("Pick one to see its verdict, why and sources (only you will see it), or ask for "
                                       "one by its id: /claim id:claim-000.")
    assert "**4.**" not in embed["description"]
    assert "False" not in embed["description"]  # the verdict is revealed by the button
    comps = reply.view.to_components()[0]["components"]
    assert [c["custom_id"] for c in comps] == ["factbot:reveal:claim-000", "factbot:reveal:claim-001",
                                               "factbot:reveal:claim-002", "factbot:delete"]
    assert all(len(c.get("label", "")) <= 80 for c in comps) and comps[0]["label"].startswith("1. Candidate 0")
    assert not validate(body(reply))


def test_none_offers_suggest_and_keeps_the_text_it_can_read_back():
    text = "@everyone is the *moon* made of <@1234567890123456789> cheese?"
    reply = render.render_result(CheckResult(query=text, decision=Decision.NONE))
    embed = reply.embeds[0].to_dict()
    assert embed["title"] == "🔎 No verified claim matches"
    assert embed["fields"][0]["name"] == "Checked text"
    assert embed["fields"][0]["value"] == "\\@everyone is the \\*moon\\* made of \\<\\@1234567890123456789\\> cheese?"
    assert render.checked_text(reply.embeds) == text
    assert ids(reply) == ["factbot:suggest", "factbot:delete"]
    private = render.render_result(CheckResult(query=text, decision=Decision.NONE), deletable=False)
    assert ids(private) == ["factbot:suggest"]


def test_nothing_to_check_explains_why():
    reply = render.render_result(CheckResult(query="", decision=Decision.NONE, notice="There is nothing to check."))
    assert reply.embeds[0].to_dict()["description"] == "There is nothing to check."
    assert ids(reply) == ["factbot:delete"]


def test_watch_replies_say_why_the_bot_spoke():
    claim = make_claim()
    reply = render.render_result(CheckResult(query="q", decision=Decision.MATCH, matches=(cand(claim),)), watch=True)
    assert reply.content == "👀 A claim in this message has been fact-checked (watch mode is on in this channel):"


def test_vote_counts_show_on_the_buttons():
    comps = render.verdict_view("claim-000", up=3, down=0, deletable=False).to_components()[0]["components"]
    assert [(c["emoji"]["name"], c.get("label")) for c in comps] == [("👍", "3"), ("👎", None)]


# -- limits ------------------------------------------------------------------------------------


def test_huge_claims_are_cut_to_discords_limits():
    claim = Claim(
        id="a" * 80, claim="C" * 5000, verdict=Verdict.MIXED, summary="S" * 9000, rating_text="R" * 500,
        sources=tuple(Source(title=f"source {i} " + "t" * 300, publisher="p" * 200, url="https://example.org/" + "u" * 500)
                      for i in range(60)),
    )
    result = CheckResult(query="x" * 20000, decision=Decision.MATCH,
                         matches=tuple(cand(claim, alias="A" * 3000) for _ in range(12)),
                         notice="N" * 3000)
    reply = render.render_result(result)
    data = body(reply)
    assert not validate(data), validate(data)
    embed = data["embeds"][0]
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert embed["fields"][0]["value"].endswith("more")
    assert len(reply.content) <= 2000
    assert all(len(c["custom_id"]) <= 100 for row in data["components"] for c in row["components"])
    none = body(render.render_result(CheckResult(query="*" * 20000, decision=Decision.NONE)))
    assert not validate(none) and none["embeds"][0]["fields"][0]["value"].endswith("…")


def test_fit_embed_and_pack_embeds_respect_totals():
    import discord

    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for _ in range(30):
        embed.add_field(name="n" * 300, value="v" * 1100)
    render.fit_embed(embed)
    assert len(embed) <= 6000 and len(embed.fields) <= 25 and not validate({"embeds": [embed.to_dict()]})
    many = [discord.Embed(description="x" * 1500) for _ in range(25)]
    messages = render.pack_embeds(many)
    assert sum(len(m) for m in messages) == 25
    for chunk in messages:
        assert len(chunk) <= 10 and sum(len(e) for e in chunk) <= 6000


def test_autocomplete_choices_fit():
    claims = [make_claim(i, claim="A very long claim " * 20) for i in range(40)]
    choices = render.claim_choices(claims + claims)
    assert len(choices) == 25 and len({c.value for c in choices}) == 25
    assert all(len(c.name) <= 100 for c in choices)
    assert choices[0].name.startswith("❌ False: A very long claim") and choices[0].value == "claim-000"


def test_search_lists_ids():
    reply = render.render_search("@everyone guardrails", [cand(make_claim(i), 0.5) for i in range(3)])
    embed = reply.embeds[0].to_dict()
    assert embed["title"] == "🔎 Claims matching “\\@everyone guardrails”"
    assert "`claim-002`" in embed["description"]
    assert render.render_search("zzz", []).embeds[0].description == "No claim matches those words."


# -- digests ------------------------------------------------------------------------------------


def big_digest(n: int = 500) -> Digest:
    verdicts = list(Verdict)
    claims = [make_claim(i, verdict=verdicts[i % len(verdicts)].value, summary="why " * 60) for i in range(n)]
    return Digest(
        platform="discord", workspace="g", channel="c",
        period_start="2026-11-16T08:00:00+00:00", period_end="2026-11-23T08:00:00+00:00",
        changes=tuple(DigestChange(c, "changed" if i % 2 else "added", Verdict.TRUE if i % 2 else None)
                      for i, c in enumerate(claims)),
        top_in_channel=tuple(CountedClaim(c, n - i) for i, c in enumerate(claims)),
        top_in_workspace=tuple(CountedClaim(c, 2 * n - i) for i, c in enumerate(claims)),
        unmatched=tuple(UnmatchedQuestion(f"@everyone question {i} " + "q" * 300, n - i, i % 3 == 0) for i in range(n)),
        totals=DigestTotals(checks=1234, matches=1000, upvotes=12, downvotes=3),
        corrections=tuple(Correction(i, "discord", "g", "c", str(i), "", c, Verdict.TRUE, i) for i, c in enumerate(claims[:40])),
    )


def test_digest_with_500_items_stays_within_limits_with_and_n_more():
    embeds = render.render_digest(big_digest(), footer="factbot weekly digest · 2026-11-23")
    assert embeds[0].title == "📰 Weekly fact-check digest"
    assert embeds[0].description == "Nov 16, 2026 → Nov 23, 2026\n\n**1,234** checks · **1,000** matched · 👍 12 · 👎 3"
    text = json.dumps([e.to_dict() for e in embeds], ensure_ascii=False)
    corrections = next(e for e in embeds if e.title.startswith("✏️"))
    assert corrections.description.count("\n• ") == 10 and corrections.description.endswith("…and 30 more")
    asked = next(e for e in embeds if e.title.startswith("❓"))
    assert asked.description.count("\n") == 11 and asked.description.endswith("…and 490 more")
    assert "· 📝 suggested for review" in asked.description
    tops = next(e for e in embeds if e.title == "📈 What people checked")
    assert [f.name for f in tops.fields] == ["Most checked in this channel", "Most checked in this server"]
    assert all(re.search(r"…and \d+ more$", f.value) for f in tops.fields)
    assert "\\\\@everyone question 0" in text  # questions are escaped
    assert "@everyone question" not in text.replace("\\\\@everyone", "")
    for chunk in render.pack_embeds(embeds):
        assert not validate({"embeds": [e.to_dict() for e in chunk]})
    titles = [e.title for e in embeds]
    assert "🗂️ New and updated claims" in titles and "❓ Asked, but not in the database" in titles
    assert embeds[-1].footer.text == "factbot weekly digest · 2026-11-23"
    changes = next(e for e in embeds if e.title == "🗂️ New and updated claims")
    assert changes.fields[0].name == "✅ True (56)"
    assert "(was True)" in json.dumps([f.value for f in changes.fields], ensure_ascii=False)


def test_quiet_week_is_one_short_embed():
    quiet = Digest(platform="discord", workspace="g", channel="c",
                   period_start="2026-11-16T08:00:00+00:00", period_end="2026-11-23T08:00:00+00:00")
    (embed,) = render.render_digest(quiet)
    assert embed.description == ("Nov 16, 2026 → Nov 23, 2026\n\nA quiet week: no new or changed claims, "
                                 "and nobody asked me anything here.")


def test_claim_autocomplete_names_the_verdict_in_the_readers_language():
    claim = make_claim()
    (english,) = render.claim_choices([claim])
    (german,) = render.claim_choices([claim], locale="de")
    assert english.name.startswith(f"{claim.verdict.emoji} {claim.verdict.label}: ")
    assert german.name.startswith(f"{claim.verdict.emoji} Falsch: ") and german.value == english.value
