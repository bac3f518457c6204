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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands

from ...core.chat import Platform, Wording, verdict_label
from ...core.models import Candidate, CheckResult, Claim, Digest
from ...core.normalize import display_text
from ...core.replies import ActionKind, Kind, Phrases, Rich, Unrenderable, VerdictItem, as_rich, grouped
from ...core.replies import Reply as NeutralReply
from .. import fit
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


def _link_url(url: str) -> str | None:
    """A URL safe inside a markdown link ``[text](url)``, or None when it is not http(s)."""
    url = (url or "").strip()
    if not re.match(r"^https?://[^\s]+$", url):
        return None
    return urllib.parse.quote(url, safe=":/?#@!$&'*+,;=%~-._")


def lines_within(lines: Sequence[str], limit: int, *, hidden: int = 0, more: str = "…and %(n)s more") -> str:
    """``fit.lines_within`` with this platform's escape-aware ``clip``."""
    return fit.lines_within(lines, limit, clip=clip, hidden=hidden, more=more)


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


# -- the core's neutral replies in Discord's syntax ------------------------------------------------


def text(value: Rich | str) -> str:
    """Rich text as Discord markdown: someone else's words escaped, bold, code and links as Discord writes them."""
    out = []
    for span in as_rich(value).spans:
        if span.style == "code":
            piece = "`" + span.text.replace("`", "ˋ") + "`"
        elif span.style == "channel":
            piece = f"<#{span.text}>" if span.text.isdigit() else escape(span.text)
        else:
            piece = escape(display_text(span.text, len(span.text) + 1)) if span.user else span.text
            if span.style == "bold":
                piece = f"**{piece}**"
        url = _link_url(span.url) if span.url else None
        out.append(f"[{piece}]({url})" if url else piece)
    return "".join(out)


def plain(value: Rich | str) -> str:
    """Rich text where Discord shows no markdown (footers, button labels): the words alone."""
    return as_rich(value).plain()


def _content(lines: Sequence[Rich]) -> str | None:
    return clip("\n".join(text(n) for n in lines), CONTENT) if lines else None


def item_embed(item: VerdictItem, phrases: Phrases, *, checked_url: str | None = None) -> discord.Embed:
    """One verdict: colour and emoji by verdict, the claim as title, why, sources, match strength and id."""
    rating = f" · {text(item.rating)}" if item.rating else ""
    note = f" {text(item.language_note)}" if item.language_note else ""
    description = f"**{escape(item.label)}**{rating}{note}\n{escape(item.why)}"
    if item.method:
        description += f"\n\n{text(item.method)}"
    embed = discord.Embed(
        title=clip(f"{item.emoji} {escape(display_text(item.headline, TITLE))}", TITLE),
        description=clip(description, DESCRIPTION),
        colour=item.verdict.colour,
    )
    sources = [_source_line(s) for s in item.sources]
    if sources:
        embed.add_field(name=phrases.sources, value=lines_within(sources, FIELD_VALUE, more=phrases.more),
                        inline=False)
    if checked_url and _link_url(checked_url):
        embed.add_field(name=phrases.checked_message, value=f"[{phrases.jump}]({_link_url(checked_url)})",
                        inline=False)
    embed.set_footer(text=" · ".join(plain(f) for f in item.facts))
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


def _buttons(reply: NeutralReply) -> list[discord.ui.Item]:
    items: list[discord.ui.Item] = []
    for action in reply.actions:
        if action.kind is ActionKind.VOTE_UP:
            items.append(VoteButton("up", action.value, action.count))
        elif action.kind is ActionKind.VOTE_DOWN:
            items.append(VoteButton("down", action.value, action.count))
        elif action.kind is ActionKind.DELETE:
            items.append(DeleteButton())
        elif action.kind is ActionKind.REVEAL:
            items.append(RevealButton(action.value, clip(display_text(action.label, BUTTON_LABEL), BUTTON_LABEL)))
        elif action.kind is ActionKind.SUGGEST:
            items.append(SuggestButton(clip(action.label, BUTTON_LABEL)))
        else:
            raise Unrenderable(f"Discord has no button for {action.kind.value}")
    return items


def render_reply(reply: NeutralReply, *, checked_url: str | None = None) -> Reply:
    """Any reply of the core as one Discord message: content, embeds, buttons."""
    render = _RENDERERS.get(reply.kind)
    if render is None:
        raise Unrenderable(f"the Discord renderer has not learned {reply.kind.value} replies")
    return render(reply, checked_url)


def _jump(reply: NeutralReply, checked_url: str | None) -> str:
    url = _link_url(checked_url or "")
    return f"\n\n[{reply.phrases.jump}]({url})" if url else ""


def _render_verdicts(reply: NeutralReply, checked_url: str | None) -> Reply:
    embeds = [item_embed(item, reply.phrases, checked_url=checked_url if i == 0 else None)
              for i, item in enumerate(reply.items)]
    kept = pack_embeds(embeds)[0]  # one message: as many verdicts as fit, best first
    notes = [text(n) for n in reply.notes]
    if len(kept) < len(embeds):
        notes.append(reply.phrases.more_claims % {"n": len(embeds) - len(kept)})
    buttons = _buttons(reply)
    return Reply(content=clip("\n".join(notes), CONTENT) if notes else None, embeds=kept,
                 view=_view(*buttons) if buttons else None)


def _render_did_you_mean(reply: NeutralReply, checked_url: str | None) -> Reply:
    description = "\n\n".join(text(b) for b in reply.body)
    description += "\n\n" + "\n".join(text(c.line) for c in reply.candidates) + _jump(reply, checked_url)
    embed = discord.Embed(title=clip(text(reply.title), TITLE), description=clip(description, DESCRIPTION),
                          colour=AMBER)
    embed.set_footer(text=plain(reply.footer))
    return Reply(content=_content(reply.notes), embeds=[fit_embed(embed)], view=_view(*_buttons(reply)))


def _render_no_match(reply: NeutralReply, checked_url: str | None) -> Reply:
    description = "\n\n".join(text(b) for b in reply.body) + _jump(reply, checked_url)
    embed = discord.Embed(title=clip(text(reply.title), TITLE), description=clip(description, DESCRIPTION),
                          colour=GREY)
    embed.add_field(name=reply.checked_title, value=quote(reply.checked, FIELD_VALUE), inline=False)
    return Reply(content=_content(reply.notes), embeds=[fit_embed(embed)], view=_view(*_buttons(reply)))


def _render_nothing(reply: NeutralReply, checked_url: str | None) -> Reply:
    embed = discord.Embed(title=clip(text(reply.title), TITLE), description=clip("\n".join(text(b) for b in reply.body),
                                                                     DESCRIPTION), colour=GREY)
    buttons = _buttons(reply)
    return Reply(embeds=[fit_embed(embed)], view=_view(*buttons) if buttons else None)


def _render_notice(reply: NeutralReply, checked_url: str | None) -> Reply:
    return Reply(content=clip("\n".join(text(b) for b in reply.body), CONTENT))


def _render_help(reply: NeutralReply, checked_url: str | None) -> Reply:
    parts = [text(b) for b in reply.body]
    for section in reply.sections:
        lines = [text(line) for line in section.lines]
        parts.append("\n".join(([f"**{escape(section.title)}**"] if section.title else []) + lines))
    return Reply(content=clip("\n\n".join(parts), CONTENT))


def _render_search(reply: NeutralReply, checked_url: str | None) -> Reply:
    title = clip(text(reply.title), TITLE)
    if not reply.sections:
        embed = discord.Embed(title=title, description="\n".join(text(b) for b in reply.body), colour=GREY)
        return Reply(embeds=[fit_embed(embed)])
    lines = [text(line) for line in reply.sections[0].lines]
    embed = discord.Embed(title=title, description=lines_within(lines, DESCRIPTION, more=reply.phrases.more),
                          colour=BLURPLE)
    embed.set_footer(text=plain(reply.footer))
    return Reply(embeds=[fit_embed(embed)])


_RENDERERS = {
    Kind.VERDICT: _render_verdicts,
    Kind.CLAIM: _render_verdicts,
    Kind.DID_YOU_MEAN: _render_did_you_mean,
    Kind.NO_MATCH: _render_no_match,
    Kind.NOTHING: _render_nothing,
    Kind.NOTICE: _render_notice,
    Kind.HELP: _render_help,
    Kind.SEARCH: _render_search,
}


# -- the same, from a check's result (the wording is the core's: ``Wording``) -----------------------

_WORDING = Wording()
PLATFORM = Platform(name="discord", check_command="/factcheck", claim_command="/claim id:{id}",
                    watch_command="/factbot watch", digest_command="/factbot digest", moderator="manage-messages",
                    server="server", language_command="/factbot language")


def render_result(result: CheckResult, *, deletable: bool = True, checked_url: str | None = None,
                  watch: bool = False, locale: str = "en") -> Reply:
    """The reply to a check: a verdict, "did you mean…", or "no verified claim matches"."""
    reply = _WORDING.result_reply(result, PLATFORM, locale, deletable=deletable, watch=watch)
    return render_reply(reply, checked_url=checked_url)


def claim_embed(claim: Claim, *, candidate: Candidate | None = None, checked_url: str | None = None,
                locale: str = "en") -> discord.Embed:
    return item_embed(_WORDING.verdict_item(claim, locale, candidate=candidate), Phrases(), checked_url=checked_url)


def checked_text(embeds: Sequence[discord.Embed]) -> str:
    """What a no-match reply said it checked (read back for "Suggest for review"): its one field."""
    for embed in embeds:
        if len(embed.fields) == 1 and embed.colour == discord.Colour(GREY) and embed.fields[0].value:
            return unescape(embed.fields[0].value)
    return ""


def has_delete_button(message: discord.Message | None) -> bool:
    if message is None:
        return False
    for row in message.components:
        for child in getattr(row, "children", []):
            if getattr(child, "custom_id", None) == DELETE_ID:
                return True
    return False


def render_claim(claim: Claim, *, deletable: bool = True, notice: str = "", locale: str = "en") -> Reply:
    """``/claim id:``: one claim in full, with feedback buttons; ``notice`` (a retired id's fate) goes above it."""
    return render_reply(_WORDING.claim_reply(claim, locale, deletable=deletable, notice=notice))


def render_reveal(claim: Claim, *, locale: str = "en") -> Reply:
    """A "Did you mean…" candidate's verdict, shown to whoever clicked."""
    return render_reply(_WORDING.claim_reply(claim, locale, deletable=False, private=True, votes=False))


def render_search(query: str, candidates: Sequence[Candidate], *, locale: str = "en") -> Reply:
    """``/claims search``: the best matches, each with its verdict and id."""
    return render_reply(_WORDING.search_reply(query, candidates, PLATFORM, locale))


def claim_choices(claims: Iterable[Claim], *, locale: str = "en") -> list[app_commands.Choice[str]]:
    """Autocomplete entries for ``/claim id:``: the verdict (in the reader's language) and claim text shown, the id
    sent."""
    out: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for claim in claims:
        if claim.id in seen:
            continue
        seen.add(claim.id)
        label = verdict_label(claim.verdict, locale)
        name = clip(f"{claim.verdict.emoji} {label}: {display_text(claim.claim, CHOICE_NAME)}", CHOICE_NAME)
        out.append(app_commands.Choice(name=name, value=claim.id[:100]))
        if len(out) >= CHOICES:
            break
    return out


def text_choices(values: Iterable[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=clip(v, CHOICE_NAME), value=v[:100]) for v in list(values)[:CHOICES]]


# -- weekly digest --------------------------------------------------------------------

_TONES = {"warn": AMBER, "quiet": GREY}


def _section(title: str, colour: int, fields: list[tuple[str, str]], description: str = "", *,
             continued: str = Phrases.continued) -> list[discord.Embed]:
    """One digest section as embeds: fields spread over as many embeds as the limits need."""
    embeds: list[discord.Embed] = []
    current = discord.Embed(title=title, description=description or None, colour=colour)
    for name, value in fields:
        name, value = clip(name, FIELD_NAME), clip(value, FIELD_VALUE)
        if len(current.fields) >= FIELDS or len(current) + len(name) + len(value) > EMBED_TOTAL:
            embeds.append(current)
            current = discord.Embed(title=clip(continued % {"title": title}, TITLE), colour=colour)
        current.add_field(name=name, value=value, inline=False)
    embeds.append(current)
    return [fit_embed(e) for e in embeds]


def render_digest(digest: Digest | NeutralReply, *, limit: int = 10, footer: str | None = None,
                  locale: str = "en") -> list[discord.Embed]:
    """A digest (the core's ``Wording.digest_reply``, or a ``Digest`` worded here in ``locale``) as embeds;
    send them with ``pack_embeds`` (10 embeds / 6000 characters a message)."""
    reply = digest if isinstance(digest, NeutralReply) else _WORDING.digest_reply(
        digest, PLATFORM, locale, limit=limit, footer=footer or "")
    if reply.kind is not Kind.DIGEST:
        raise Unrenderable(f"render_digest was handed a {reply.kind.value} reply")
    phrases = reply.phrases
    head = discord.Embed(title=text(reply.title), colour=BLURPLE)
    head.description = "\n\n".join(text(b) for b in reply.body)
    embeds = [head]
    for group, members in grouped(reply.sections):
        if group:
            fields = [(plain(m.title), lines_within([text(line) for line in m.lines], FIELD_VALUE, hidden=m.hidden,
                                                    more=phrases.more)) for m in members]
            embeds += _section(group, _TONES.get(members[0].tone, BLURPLE), fields, continued=phrases.continued)
            continue
        for m in members:
            intro = text(m.intro) + "\n" if m.intro else ""
            body = lines_within([text(line) for line in m.lines], DESCRIPTION - 80, hidden=m.hidden, more=phrases.more)
            embeds += _section(m.title, _TONES.get(m.tone, BLURPLE), [], description=intro + body,
                               continued=phrases.continued)
    if reply.footer:
        embeds[-1].set_footer(text=plain(reply.footer))
    return [fit_embed(e) for e in embeds]
