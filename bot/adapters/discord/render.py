"""The core's results as Discord embeds and buttons: pure functions, no I/O.

Everything a user or a claim wrote is escaped before it reaches an embed or
a message, so it can neither mention anyone (``@everyone``, ``<@id>``,
``<@&role>``) nor break the layout with markdown; every Discord limit is
enforced here, cutting with an ellipsis instead of letting the API refuse
the message.  Tests call these functions and compare ``Embed.to_dict()``.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import discord
from discord import app_commands

from ...core.models import Candidate, CheckResult, Claim, Decision, Digest
from ...core.normalize import display_text
from .components import DELETE_ID, DeleteButton, RevealButton, SuggestButton, VoteButton

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR = 256
EMBED_TOTAL = 6000  # all the embeds of one message together
EMBEDS_PER_MESSAGE = 10
CONTENT = 2000
BUTTON_LABEL = 80
CHOICE_NAME = 100
CHOICES = 25

ELLIPSIS = "…"
NO_MENTIONS = discord.AllowedMentions.none()

BLURPLE = 0x5865F2
GREY = 0x757575
AMBER = 0xF9A825

CHECKED_FIELD = "Checked text"  # the none reply keeps what was asked here, for "Suggest this for review"
ERROR_TEXT = "Sorry, I couldn't check that right now. Please try again in a moment."
WATCH_NOTE = "👀 A claim in this message has been fact-checked (watch mode is on in this channel):"
HELP_TEXT = (
    "Mention me with a claim to check it, e.g. `@factbot Alibaba stole Claude Fable's guardrails`, "
    "or reply to a message with just `@factbot`. You can also use `/factcheck`, or right-click a message "
    "and choose **Apps → Fact-check this message**."
)


# -- text safety ----------------------------------------------------------------------

# Escaped everywhere: markdown (\ * _ ~ ` | > [ ] ( )) and the start of every mention or
# custom emoji (< @).  A backslash before punctuation is what Discord's own escaping uses,
# and it is exactly reversible (see ``unescape``).
_ALWAYS = re.compile(r"([\\*_~`|<>\[\]()@])")
# Only meaningful at the start of a line: headings, lists, block quotes, "-#" subtext.
_LINE_START = re.compile(r"^(\s*)([#+\-])", re.MULTILINE)
_ORDERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def escape(text: object) -> str:
    """Text shown as written: no mention, no markdown, no custom emoji, whatever it contains."""
    s = "" if text is None else str(text)
    s = _ALWAYS.sub(r"\\\1", s)
    s = _LINE_START.sub(r"\1\\\2", s)
    return _ORDERED.sub(r"\1\\.", s)


def unescape(text: str) -> str:
    """The inverse of ``escape`` (for reading back text factbot itself posted)."""
    return _UNESCAPE.sub(r"\1", text)


def clip(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with an ellipsis, never leaving half an escape behind."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def quote(text: object, limit: int) -> str:
    """User text for display: cleaned, whitespace folded, escaped, within ``limit``."""
    return clip(escape(display_text(text, limit)), limit)


def confidence(score: float) -> str:
    return f"{round(score * 100)}%"


def _link_url(url: str) -> str | None:
    """A URL safe inside a markdown link ``[text](url)``, or None when it is not http(s)."""
    url = (url or "").strip()
    if not re.match(r"^https?://[^\s]+$", url):
        return None
    return urllib.parse.quote(url, safe=":/?#@!$&'*+,;=%~-._")


def lines_within(lines: Sequence[str], limit: int, *, hidden: int = 0, more: str = "…and {n} more") -> str:
    """Join lines with newlines, as many as fit in ``limit``, then say how many were left out.

    ``hidden`` counts items that were left out before (a per-section cap), so the
    closing "…and N more" covers both.
    """
    out: list[str] = []
    used = 0
    reserve = len(more.format(n=len(lines) + hidden)) + 1
    for i, line in enumerate(lines):
        last = i == len(lines) - 1 and not hidden
        tail = 0 if last else reserve
        cost = len(line) + (1 if out else 0)
        if used + cost + tail > limit:
            if not out:  # one long line: show its start rather than nothing
                out.append(clip(line, max(limit - tail - 1, 1)))
            break
        out.append(line)
        used += cost
    left = len(lines) - len(out) + hidden
    if left > 0:
        out.append(more.format(n=left))
    return clip("\n".join(out), limit)


# -- limits ---------------------------------------------------------------------------


def embed_size(embed: discord.Embed) -> int:
    return len(embed)


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Enforce every per-embed limit in place (clipping with an ellipsis) and return the embed."""
    if embed.title:
        embed.title = clip(embed.title, TITLE)
    if embed.description:
        embed.description = clip(embed.description, DESCRIPTION)
    if embed.author and embed.author.name:
        embed.set_author(name=clip(embed.author.name, AUTHOR), url=embed.author.url, icon_url=embed.author.icon_url)
    if embed.footer and embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, FOOTER), icon_url=embed.footer.icon_url)
    fields = embed.fields[:FIELDS]
    embed.clear_fields()
    for f in fields:
        embed.add_field(name=clip(f.name or "\u200b", FIELD_NAME), value=clip(f.value or "\u200b", FIELD_VALUE), inline=f.inline)
    excess = len(embed) - EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - excess, 200))
    while len(embed) > EMBED_TOTAL and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL and embed.description:
        embed.description = clip(embed.description, max(len(embed.description) - (len(embed) - EMBED_TOTAL), 1))
    return embed


def pack_embeds(embeds: Iterable[discord.Embed]) -> list[list[discord.Embed]]:
    """Group embeds into messages of at most 10 embeds and 6000 characters each."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        fit_embed(embed)
        n = len(embed)
        if current and (len(current) >= EMBEDS_PER_MESSAGE or size + n > EMBED_TOTAL):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += n
    if current:
        messages.append(current)
    return messages


# -- replies --------------------------------------------------------------------------


@dataclass
class Reply:
    """One message to send: plain content (optional), embeds and buttons; never pings anyone."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None

    def kwargs(self, *, edit: bool = False) -> dict[str, Any]:
        """Keyword arguments for ``send``/``reply``/``send_message`` (or, with ``edit``, for an edit)."""
        out: dict[str, Any] = {"embeds": self.embeds, "allowed_mentions": NO_MENTIONS}
        if self.content is not None or edit:
            out["content"] = self.content
        if self.view is not None or edit:
            out["view"] = self.view
        return out


def _view(*items: discord.ui.Item) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def verdict_view(claim_id: str, *, up: int = 0, down: int = 0, deletable: bool = True) -> discord.ui.View:
    """👍 / 👎 (with their counts once anyone voted) and, on public replies, 🗑️."""
    items: list[discord.ui.Item] = [VoteButton("up", claim_id, up), VoteButton("down", claim_id, down)]
    if deletable:
        items.append(DeleteButton())
    return _view(*items)


def claim_embed(claim: Claim, *, candidate: Candidate | None = None, checked_url: str | None = None) -> discord.Embed:
    """One verdict: colour and emoji by verdict, the claim as title, why, sources, confidence and id."""
    v = claim.verdict
    rating = ""
    if claim.rating_text and claim.rating_text.strip().lower() != v.label.lower():
        rating = f" · rated “{escape(display_text(claim.rating_text, 200))}”"
    description = f"**{v.label}**{rating}\n{escape(claim.summary)}"
    if candidate is not None and candidate.matched_alias:
        description += f"\n\nMatched the wording “{quote(candidate.matched_text, 300)}”."
    embed = discord.Embed(
        title=clip(f"{v.emoji} {escape(display_text(claim.claim, TITLE))}", TITLE),
        description=clip(description, DESCRIPTION),
        colour=v.colour,
    )
    sources = [_source_line(s) for s in claim.sources]
    if sources:
        embed.add_field(name="Sources", value=lines_within(sources, FIELD_VALUE), inline=False)
    if checked_url and _link_url(checked_url):
        embed.add_field(name="Checked message", value=f"[Jump to the message]({_link_url(checked_url)})", inline=False)
    if candidate is not None:
        embed.set_footer(text=f"Match confidence {confidence(candidate.score)} · claim id {claim.id}")
    else:
        embed.set_footer(text=f"claim id {claim.id}")
    return fit_embed(embed)


def _source_line(source) -> str:
    name = clip(escape(display_text(source.shown_title, 300)), 300)
    url = _link_url(source.url)
    bits = [f"[{name}]({url})" if url else name]
    if source.publisher:
        bits.append(escape(display_text(source.publisher, 100)))
    if source.date:
        bits.append(escape(display_text(source.date, 30)))
    return "• " + " · ".join(bits)


def render_result(result: CheckResult, *, deletable: bool = True, checked_url: str | None = None,
                  watch: bool = False) -> Reply:
    """The reply to a check: a verdict, "did you mean…", or "no verified claim matches".

    ``watch`` marks a reply nobody asked for (watch mode), so the channel knows why the bot spoke.
    """
    notes: list[str] = [WATCH_NOTE] if watch else []
    if result.notice:
        notes.append(f"ℹ️ {escape(result.notice)}")
    if result.decision is Decision.MATCH and result.matches:
        matches = list(result.matches)
        embeds = [claim_embed(c.claim, candidate=c, checked_url=checked_url if i == 0 else None) for i, c in enumerate(matches)]
        kept = pack_embeds(embeds)[0]  # one message: as many verdicts as fit, best first
        if len(matches) > 1:
            notes.append(f"This message makes {len(matches)} claims that have been checked:")
        if len(kept) < len(matches):
            notes.append(f"…and {len(matches) - len(kept)} more; ask about them one at a time.")
        return Reply(
            content=clip("\n".join(notes), CONTENT) if notes else None,
            embeds=kept,
            view=verdict_view(matches[0].claim.id, deletable=deletable),
        )
    if result.decision is Decision.POSSIBLE:
        return _render_possible(result, notes, deletable=deletable, checked_url=checked_url)
    return _render_none(result, notes, deletable=deletable, checked_url=checked_url)


def _render_possible(result: CheckResult, notes: list[str], *, deletable: bool, checked_url: str | None) -> Reply:
    candidates = [c for c in result.candidates if c.score > 0][:3]
    lines = [
        f"**{i}.** {escape(display_text(c.claim.claim, 600))} ({confidence(c.score)} match)"
        for i, c in enumerate(candidates, 1)
    ]
    description = "No verified claim matches exactly. Did you mean one of these?\n\n" + "\n".join(lines)
    if checked_url and _link_url(checked_url):
        description += f"\n\n[Jump to the checked message]({_link_url(checked_url)})"
    embed = discord.Embed(title="🤔 Did you mean…", description=clip(description, DESCRIPTION), colour=AMBER)
    embed.set_footer(text="Pick one to see its verdict, why, and sources.")
    items: list[discord.ui.Item] = [
        RevealButton(c.claim.id, clip(f"{i}. {display_text(c.claim.claim, BUTTON_LABEL)}", BUTTON_LABEL))
        for i, c in enumerate(candidates, 1)
    ]
    if deletable:
        items.append(DeleteButton())
    return Reply(content=clip("\n".join(notes), CONTENT) if notes else None, embeds=[fit_embed(embed)], view=_view(*items))


def _render_none(result: CheckResult, notes: list[str], *, deletable: bool, checked_url: str | None) -> Reply:
    if not result.query.strip():
        embed = discord.Embed(
            title="🔎 Nothing to check",
            description=clip(escape(result.notice) if result.notice else "There was no text to check.", DESCRIPTION),
            colour=GREY,
        )
        return Reply(embeds=[fit_embed(embed)], view=_view(DeleteButton()) if deletable else None)
    description = (
        "No verified claim in the database matches this. If you think it should be checked, "
        "suggest it for review and the fact-checkers will see it."
    )
    if checked_url and _link_url(checked_url):
        description += f"\n\n[Jump to the checked message]({_link_url(checked_url)})"
    embed = discord.Embed(title="🔎 No verified claim matches", description=description, colour=GREY)
    embed.add_field(name=CHECKED_FIELD, value=quote(result.query, FIELD_VALUE), inline=False)
    items: list[discord.ui.Item] = [SuggestButton()]
    if deletable:
        items.append(DeleteButton())
    return Reply(content=clip("\n".join(notes), CONTENT) if notes else None, embeds=[fit_embed(embed)], view=_view(*items))


def checked_text(embeds: Sequence[discord.Embed]) -> str:
    """What a no-match reply said it checked (read back for "Suggest this for review")."""
    for embed in embeds:
        for f in embed.fields:
            if f.name == CHECKED_FIELD and f.value:
                return unescape(f.value)
    return ""


def has_delete_button(message: discord.Message | None) -> bool:
    if message is None:
        return False
    for row in message.components:
        for child in getattr(row, "children", []):
            if getattr(child, "custom_id", None) == DELETE_ID:
                return True
    return False


def render_claim(claim: Claim, *, deletable: bool = True, notice: str = "") -> Reply:
    """``/claim id:``: one claim in full, with feedback buttons; ``notice`` (a retired id's fate) goes above it."""
    return Reply(content=clip(escape(notice), CONTENT) if notice else None, embeds=[claim_embed(claim)],
                 view=verdict_view(claim.id, deletable=deletable))


def render_reveal(claim: Claim) -> Reply:
    """A "Did you mean…" candidate's verdict, shown to whoever clicked."""
    return Reply(embeds=[claim_embed(claim)])


def render_search(query: str, candidates: Sequence[Candidate]) -> Reply:
    """``/claims search``: the best matches, each with its verdict and id."""
    title = clip(f"🔎 Claims matching “{escape(display_text(query, 200))}”", TITLE)
    if not candidates:
        embed = discord.Embed(title=title, description="No claim matches those words.", colour=GREY)
        return Reply(embeds=[fit_embed(embed)])
    lines = [
        f"{c.claim.verdict.emoji} **{c.claim.verdict.label}** · {escape(display_text(c.claim.claim, 300))}\n"
        f"  `{c.claim.id}` · {confidence(c.score)}"
        for c in candidates
    ]
    embed = discord.Embed(title=title, description=lines_within(lines, DESCRIPTION), colour=BLURPLE)
    embed.set_footer(text="Post one in the channel with /claim id:<id>.")
    return Reply(embeds=[fit_embed(embed)])


def render_notice(text: str) -> Reply:
    """A short plain message (rate limit, permission, error): escaped, within 2000 characters."""
    return Reply(content=clip(escape(text), CONTENT))


def render_text(text: str) -> Reply:
    """A short message factbot wrote itself (may use markdown); still within 2000 characters."""
    return Reply(content=clip(text, CONTENT))


def claim_choices(claims: Iterable[Claim]) -> list[app_commands.Choice[str]]:
    """Autocomplete entries for ``/claim id:``: the verdict and claim text shown, the id sent."""
    out: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            continue
        seen.add(claim.id)
        name = clip(f"{claim.verdict.emoji} {claim.verdict.label}: {display_text(claim.claim, CHOICE_NAME)}", CHOICE_NAME)
        out.append(app_commands.Choice(name=name, value=claim.id[:100]))
        if len(out) >= CHOICES:
            break
    return out


def text_choices(values: Iterable[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=clip(v, CHOICE_NAME), value=v[:100]) for v in list(values)[:CHOICES]]


# -- weekly digest --------------------------------------------------------------------


def _section(title: str, colour: int, fields: list[tuple[str, str]], description: str = "") -> list[discord.Embed]:
    """One digest section as embeds: fields spread over as many embeds as the limits need."""
    embeds: list[discord.Embed] = []
    current = discord.Embed(title=title, description=description or None, colour=colour)
    for name, value in fields:
        name, value = clip(name, FIELD_NAME), clip(value, FIELD_VALUE)
        if len(current.fields) >= FIELDS or len(current) + len(name) + len(value) > EMBED_TOTAL:
            embeds.append(current)
            current = discord.Embed(title=clip(f"{title} (continued)", TITLE), colour=colour)
        current.add_field(name=name, value=value, inline=False)
    embeds.append(current)
    return [fit_embed(e) for e in embeds]


def _limited(lines: list[str], limit: int) -> str:
    """Up to ``limit`` lines within a field; the rest as "…and N more"."""
    return lines_within(lines[:limit], FIELD_VALUE, hidden=max(len(lines) - limit, 0))


def render_digest(digest: Digest, *, limit: int = 10, footer: str | None = None) -> list[discord.Embed]:
    """A weekly digest as embeds; send them with ``pack_embeds`` (10 embeds / 6000 characters a message)."""
    start, end = digest.period_start[:10], digest.period_end[:10]
    head = discord.Embed(title="📰 Weekly fact-check digest", colour=BLURPLE)
    if digest.quiet:
        head.description = (
            f"{start} → {end}\n\nA quiet week: no new or changed claims, and nobody asked me anything here."
        )
        if footer:
            head.set_footer(text=footer)
        return [fit_embed(head)]
    t = digest.totals
    head.description = (
        f"{start} → {end}\n\n**{t.checks}** checks · **{t.matches}** matched · 👍 {t.upvotes} · 👎 {t.downvotes}"
    )
    embeds = [head]
    if digest.corrections:
        lines = [f"• {escape(c.text())}" for c in digest.corrections]
        embeds += _section("✏️ Corrections to earlier replies here", AMBER, [], description=(
            "These verdicts changed since I gave them in this channel:\n"
            + lines_within(lines[:limit], DESCRIPTION - 80, hidden=max(len(lines) - limit, 0))
        ))
    if digest.changes:
        fields: list[tuple[str, str]] = []
        for verdict, items in digest.changes_by_verdict():
            lines = []
            for ch in items:
                was = f" (was {ch.old_verdict.label})" if ch.old_verdict else ""
                new = " 🆕" if ch.change == "added" else ""
                src = ch.claim.sources[0] if ch.claim.sources else None
                source = ""
                if src is not None:
                    name = escape(display_text(src.publisher or src.title, 80))
                    url = _link_url(src.url)
                    source = f" · [{name}]({url})" if url else f" · {name}"
                lines.append(
                    f"• {escape(display_text(ch.claim.claim, 200))}{was}{new} — "
                    f"{escape(display_text(ch.claim.summary, 240))}{source}"
                )
            fields.append((f"{verdict.emoji} {verdict.label} ({len(items)})", _limited(lines, limit)))
        embeds += _section("🗂️ New and updated claims", BLURPLE, fields)
    tops: list[tuple[str, str]] = []
    for title, items in (("Most checked in this channel", digest.top_in_channel),
                         ("Most checked in this server", digest.top_in_workspace)):
        if items:
            lines = [
                f"{cc.count}× {cc.claim.verdict.emoji} {escape(display_text(cc.claim.claim, 150))} (`{cc.claim.id}`)"
                for cc in items
            ]
            tops.append((title, _limited(lines, limit)))
    if tops:
        embeds += _section("📈 What people checked", BLURPLE, tops)
    if digest.unmatched:
        lines = []
        for u in digest.unmatched:
            text = f"“{quote(u.text, 200)}”" if u.text else "(text not kept)"
            mark = " · 📝 suggested for review" if u.suggested else ""
            lines.append(f"{u.count}× {text}{mark}")
        embeds += _section("❓ Asked, but not in the database", GREY, [], description=(
            "For the fact-checkers, most asked first:\n"
            + lines_within(lines[:limit], DESCRIPTION - 80, hidden=max(len(lines) - limit, 0))
        ))
    if footer:
        embeds[-1].set_footer(text=footer)
    return [fit_embed(e) for e in embeds]
