"""The core's results as Slack Block Kit: pure functions, no I/O.

Every piece of text a user or a claim wrote is escaped (``&``, ``<``, ``>``)
before it reaches a ``mrkdwn`` field or the fallback ``text``, so it can
never become ``<!channel>``, ``<!here>``, ``<!everyone>``, a user, group or
channel mention, or a link; ``plain_text`` fields cannot mention anyone and
are only cleaned.  Slack's limits are enforced here, cutting with an
ellipsis (or "…and N more") instead of letting the API refuse the message.
Tests call these functions and compare the blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...core.chat import Platform, Wording
from ...core.models import Candidate, CheckResult, Claim, CountedClaim, Decision, Digest, Source
from ...core.normalize import display_text
from ...core.replies import Action, ActionKind, Kind, Phrases, Rich, Unrenderable, VerdictItem, as_rich, grouped
from ...core.replies import Reply as NeutralReply
from ...core.subscriptions import Subscription
from .. import fit

# Block Kit limits (https://api.slack.com/reference/block-kit).
MAX_BLOCKS = 50  # a message
MAX_VIEW_BLOCKS = 100  # an App Home view
SECTION_TEXT = 3000
HEADER_TEXT = 150
CONTEXT_TEXT = 2000  # our own cap for a context element (Slack's is 3000)
FALLBACK_TEXT = 3000  # the top-level ``text`` (notifications, screen readers)
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ELEMENTS = 25

ELLIPSIS = "…"

# action_ids: the app dispatches on these; the candidate buttons are numbered (unique per block).
SHARE = "factbot_share"
REVEAL = "factbot_reveal"  # factbot_reveal_1 … _3
VOTE_UP = "factbot_vote_up"
VOTE_DOWN = "factbot_vote_down"
DELETE = "factbot_delete"
SUGGEST = "factbot_suggest"
ACTIONS_BLOCK = "factbot_actions"
SHORTCUT = "factcheck_message"  # the message shortcut's callback_id (deploy/slack-manifest.yml)

# -- text safety ------------------------------------------------------------------------


def escape(text: object) -> str:
    """Slack's three control characters escaped: the text is shown as written and mentions nobody."""
    s = "" if text is None else str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY = re.compile(r"&[a-z#0-9]{0,4}$")


def clip(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with an ellipsis, never leaving half an ``&amp;`` or half a link."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    cut = _PARTIAL_ENTITY.sub("", cut)
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return cut.rstrip() + ELLIPSIS


def quote(text: object, limit: int) -> str:
    """User or claim text for a mrkdwn field: cleaned, whitespace folded, escaped, within ``limit``."""
    return clip(escape(display_text(text, limit)), limit)


_MARKERS = re.compile(r"([*_~`])")
ZWSP = "\u200b"


def literal(text: str) -> str:
    """mrkdwn's formatting characters (``*`` ``_`` ``~`` `````) kept from pairing up: Slack has no escape for them,
    but a marker next to a zero-width space is not at a word boundary, so ``*bold*`` shows as typed."""
    return _MARKERS.sub(ZWSP + r"\1" + ZWSP, text)


def quote_user(text: object, limit: int) -> str:
    """What a person wrote, for a mrkdwn field: as ``quote``, and shown as typed (no bold, italics, strike, code)."""
    return clip(literal(escape(display_text(text, limit))), limit)


def plain(text: object, limit: int) -> str:
    """Text for a plain_text field (never parsed for mentions): cleaned and within ``limit``."""
    return clip(display_text(text, limit), limit)


_URL = re.compile(r"^https?://[^\s<>|]+$")


def link(url: str, label: str) -> str:
    """``<url|label>`` for an http(s) URL (label already escaped); just the label otherwise."""
    url = (url or "").strip()
    if not _URL.match(url):
        return label
    return f"<{escape(url)}|{label.replace('|', '¦')}>"


_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,30}$")


def channel_ref(channel_id: str) -> str:
    """``<#C123>`` (a link, never a notification) for a channel id; anything else shown escaped."""
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id or "") else escape(channel_id)


def lines_within(lines: Sequence[str], limit: int, *, hidden: int = 0, more: str = "…and %(n)s more") -> str:
    """``fit.lines_within`` with this platform's escape-aware ``clip``."""
    return fit.lines_within(lines, limit, clip=clip, hidden=hidden, more=more)


# -- blocks -----------------------------------------------------------------------------


def header(text: str) -> dict[str, Any]:
    """A header (plain text: it cannot mention anyone); callers clean user-written parts with ``plain``."""
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT), "emoji": True}}


def section(mrkdwn: str) -> dict[str, Any]:
    """A section of text we composed (anything user-written in it is already escaped)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn or " ", SECTION_TEXT)}}


def context(*mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(t, CONTEXT_TEXT)} for t in mrkdwn[:10]]}


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str = "", *, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "action_id": action_id,
                         "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT), "emoji": True}}
    if value:
        b["value"] = value[:BUTTON_VALUE]
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": list(elements)[:ACTION_ELEMENTS]}


def with_votes(blocks: Sequence[dict[str, Any]], up: int, down: int) -> list[dict[str, Any]]:
    """The same blocks with the vote counts shown on 👍 / 👎 (for ``chat.update`` after a vote)."""
    out = []
    for block in blocks:
        if block.get("type") == "actions":
            block = dict(block)
            elements = []
            for el in block.get("elements", []):
                if el.get("action_id") in (VOTE_UP, VOTE_DOWN):
                    up_button = el["action_id"] == VOTE_UP
                    count, face = (up, "👍") if up_button else (down, "👎")
                    label = f"{face} {count}" if count else face
                    el = {**el, "text": {"type": "plain_text", "text": label, "emoji": True}}
                elements.append(el)
            block["elements"] = elements
        out.append(block)
    return out


def fit_blocks(blocks: Sequence[dict[str, Any]], limit: int = MAX_BLOCKS, *,
               more: str = Phrases.more) -> list[dict[str, Any]]:
    """At most ``limit`` blocks: the rest become one "…and N more" line (actions kept at the end)."""
    blocks = list(blocks)
    if len(blocks) <= limit:
        return blocks
    tail = [b for b in blocks[-1:] if b.get("type") == "actions"]
    body = blocks[: len(blocks) - len(tail)]
    keep = limit - 1 - len(tail)
    hidden = len(body) - keep
    return body[:keep] + [context(escape(more % {"n": hidden}))] + tail


# -- replies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One message: Block Kit blocks and the plain ``text`` Slack shows in notifications."""

    blocks: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def kwargs(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "text": self.text}


def fallback(text: str) -> str:
    """The notification text: escaped by the caller where user-written, within 3000 characters."""
    return clip(text, FALLBACK_TEXT)


def _source_line(source: Source) -> str:
    name = quote(source.shown_title, 300)
    bits = [link(source.url, name)]
    if source.publisher:
        bits.append(quote(source.publisher, 100))
    if source.date:
        bits.append(quote(source.date, 30))
    return "• " + " · ".join(bits)


# -- the core's neutral replies in Slack's syntax ----------------------------------------------------


def mrkdwn(value: Rich | str) -> str:
    """Rich text as Slack mrkdwn: every word escaped (``& < >``), bold, code and links as Slack writes them."""
    out = []
    for span in as_rich(value).spans:
        piece = escape(display_text(span.text, len(span.text) + 1)) if span.user else escape(span.text)
        if span.style == "channel":
            piece = channel_ref(span.text)
        elif span.style == "verbatim":
            piece = literal(piece)
        elif span.style == "bold":
            piece = f"*{piece}*"
        elif span.style == "code":
            piece = "`" + piece.replace("`", "ˋ") + "`"
        out.append(link(span.url, piece) if span.url else piece)
    return "".join(out)


def plain_text(value: Rich | str) -> str:
    """Rich text for a plain_text field or the notification text: the words alone."""
    return as_rich(value).plain()


def _confirm(action: Action) -> dict[str, Any] | None:
    if not action.confirm:
        return None
    title, text, yes, no = action.confirm
    return {"title": {"type": "plain_text", "text": title}, "text": {"type": "mrkdwn", "text": escape(text)},
            "confirm": {"type": "plain_text", "text": yes}, "deny": {"type": "plain_text", "text": no}}


def _button(action: Action) -> dict[str, Any]:
    kind = action.kind
    if kind in (ActionKind.VOTE_UP, ActionKind.VOTE_DOWN):
        face = action.label
        return button(f"{face} {action.count}" if action.count else face,
                      VOTE_UP if kind is ActionKind.VOTE_UP else VOTE_DOWN, action.value)
    if kind is ActionKind.DELETE:
        return button(action.label, DELETE, confirm=_confirm(action))
    if kind is ActionKind.SHARE:
        return button(action.label, SHARE, action.value, style="primary")
    if kind is ActionKind.REVEAL:
        return button(plain(action.label, BUTTON_TEXT), f"{REVEAL}_{action.number}", action.value)
    if kind is ActionKind.SUGGEST:
        return button(action.label, SUGGEST, suggest_value(action.value))
    raise Unrenderable(f"Slack has no button for {kind.value}")


def _actions(reply: NeutralReply) -> list[dict[str, Any]]:
    return [actions(*(_button(a) for a in reply.actions))] if reply.actions else []


def item_blocks(item: VerdictItem, phrases: Phrases) -> list[dict[str, Any]]:
    """One verdict: a header with its emoji and label, the claim and why, sources, match strength and id."""
    rating = f" · {plain_text(item.rating)}" if item.rating else ""
    body = f"*{quote(item.headline, 1000)}*"
    if item.language_note:
        body += f" {mrkdwn(item.language_note)}"
    body += f"\n{quote(item.why, 2000)}"
    blocks = [header(f"{item.emoji} {item.label}{rating}"), section(body)]
    sources = [_source_line(s) for s in item.sources]
    if sources:
        head = f"*{escape(phrases.sources)}*\n"
        blocks.append(section(head + lines_within(sources, SECTION_TEXT - len(head), more=phrases.more)))
    facts = [mrkdwn(f) for f in item.facts] + ([mrkdwn(item.method)] if item.method else [])
    blocks.append(context(" · ".join(facts)))
    return blocks


def render_reply(reply: NeutralReply) -> Reply:
    """Any reply of the core as one Slack message: Block Kit blocks and the notification text."""
    render = _RENDERERS.get(reply.kind)
    if render is None:
        raise Unrenderable(f"the Slack renderer has not learned {reply.kind.value} replies")
    return render(reply)


def _notes(reply: NeutralReply) -> list[dict[str, Any]]:
    return [context(mrkdwn(n)) for n in reply.notes]


def _render_verdicts(reply: NeutralReply) -> Reply:
    head = _notes(reply)
    controls = _actions(reply)
    body: list[dict[str, Any]] = []
    shown = 0
    for i, item in enumerate(reply.items):
        part = ([divider()] if i else []) + item_blocks(item, reply.phrases)
        # Room for this claim, the "…and N more" line and the buttons?
        if len(head) + len(body) + len(part) + 2 > MAX_BLOCKS:
            break
        body += part
        shown += 1
    if shown < len(reply.items):
        body.append(context(escape(reply.phrases.more_claims % {"n": len(reply.items) - shown})))
    return Reply(blocks=fit_blocks(head + body + controls, more=reply.phrases.more), text=fallback(escape(reply.summary)))


def _render_did_you_mean(reply: NeutralReply) -> Reply:
    blocks = _notes(reply)
    lines = "\n".join(mrkdwn(c.line) for c in reply.candidates)
    blocks += [
        header(plain_text(reply.title)),
        section("\n\n".join(mrkdwn(b) for b in reply.body) + "\n\n" + lines),
        context(mrkdwn(reply.footer)),
        *_actions(reply),
    ]
    return Reply(blocks=fit_blocks(blocks, more=reply.phrases.more), text=fallback(escape(reply.summary)))


def _render_no_match(reply: NeutralReply) -> Reply:
    blocks = _notes(reply)
    blocks += [header(plain_text(reply.title)), *(section(mrkdwn(b)) for b in reply.body),
               section(f"*{escape(reply.checked_title)}*\n>{quote_user(reply.checked, SECTION_TEXT - 40)}"),
               *_actions(reply)]
    return Reply(blocks=fit_blocks(blocks, more=reply.phrases.more), text=fallback(escape(reply.summary)))


def _render_nothing(reply: NeutralReply) -> Reply:
    blocks = [header(plain_text(reply.title)), *(section(mrkdwn(b)) for b in reply.body), *_actions(reply)]
    return Reply(blocks=fit_blocks(blocks, more=reply.phrases.more), text=fallback(escape(reply.summary)))


def _render_notice(reply: NeutralReply) -> Reply:
    if not reply.body:
        return Reply()
    safe = "\n".join(mrkdwn(b) for b in reply.body)
    return Reply(blocks=[section(safe)], text=fallback(safe))


def _render_help(reply: NeutralReply) -> Reply:
    blocks = [section(mrkdwn(b)) for b in reply.body]
    for s in reply.sections:
        lines = ([f"*{escape(s.title)}*"] if s.title else []) + [mrkdwn(line) for line in s.lines]
        blocks.append(section("\n".join(lines)))
    return Reply(blocks=blocks, text=fallback(escape(reply.summary)))


_RENDERERS = {
    Kind.VERDICT: _render_verdicts,
    Kind.CLAIM: _render_verdicts,
    Kind.DID_YOU_MEAN: _render_did_you_mean,
    Kind.NO_MATCH: _render_no_match,
    Kind.NOTHING: _render_nothing,
    Kind.NOTICE: _render_notice,
    Kind.HELP: _render_help,
}


# -- the same, from a check's result (the wording is the core's: ``Wording``) --------------------------

_WORDING = Wording()
PLATFORM = Platform(name="slack", check_command="/factcheck", claim_command="/factcheck {id}",
                    watch_command="/factcheck watch", digest_command="/factcheck digest", moderator="admin",
                    server="workspace", needs_invite=True, corrections_in_thread=True)
REMOVE_CONFIRM = _confirm(_WORDING.result_reply(CheckResult(query="", decision=Decision.NONE), PLATFORM).actions[0])


def suggest_value(query: str) -> str:
    """What "Suggest for review" carries: the words that were checked (a button value holds 2000 characters)."""
    return display_text(query, BUTTON_VALUE - 100)


def render_result(result: CheckResult, *, ephemeral: bool = False, share_value: str = "", deletable: bool = True,
                  watch: bool = False, shared: bool = False, locale: str = "en") -> Reply:
    """The reply to a check: a verdict, "did you mean…", or "no verified claim matches".

    ``ephemeral`` replies (``/factcheck``) carry "Share in channel" (its value is ``share_value``) and no 🗑️;
    public ones carry 🗑️ when ``deletable``.  ``watch`` marks a reply nobody asked for, ``shared`` one
    posted from an ephemeral answer.
    """
    return render_reply(_WORDING.result_reply(result, PLATFORM, locale, private=ephemeral, deletable=deletable,
                                              watch=watch, shared=shared, share_token=share_value))


def claim_blocks(claim: Claim, *, candidate: Candidate | None = None, locale: str = "en") -> list[dict[str, Any]]:
    return item_blocks(_WORDING.verdict_item(claim, locale, candidate=candidate), Phrases())


def render_reveal(claim: Claim, *, locale: str = "en") -> Reply:
    """A "Did you mean…" candidate's verdict, shown to whoever picked it."""
    return render_reply(_WORDING.claim_reply(claim, locale, deletable=False, private=True, votes=False))


def render_help(*, admin: bool = True, locale: str = "en") -> Reply:
    return render_reply(_WORDING.help(PLATFORM, locale, admin=admin))


def render_notice(text: str) -> Reply:
    """A short message with user-written parts in it (escaped as a whole)."""
    safe = escape(text)
    return Reply(blocks=[section(safe)], text=fallback(safe))


def render_text(mrkdwn: str) -> Reply:
    """A short message factbot wrote itself (may use mrkdwn; anything user-written in it is escaped already)."""
    return Reply(blocks=[section(mrkdwn)], text=fallback(mrkdwn))


# -- weekly digest ----------------------------------------------------------------------


def _limited(title: str, lines: list[str], hidden: int, more: str, intro: str = "") -> dict[str, Any]:
    """A titled section: its lines within Slack's section limit; the rest as "…and N more"."""
    head = (f"*{title}*\n" if title else "") + (f"{intro}\n" if intro else "")
    return section(head + lines_within(lines, SECTION_TEXT - len(head), hidden=hidden, more=more))


def _parts(reply: NeutralReply) -> list[dict[str, Any]]:
    """A reply's sections: each group under a divider and its heading, each section on its own under a divider."""
    blocks: list[dict[str, Any]] = []
    more = reply.phrases.more
    for group, members in grouped(reply.sections):
        blocks.append(divider())
        if group:
            blocks.append(header(group) if reply.kind is Kind.HOME else section(f"*{escape(group)}*"))
        for m in members:
            blocks.append(_limited(escape(m.title), [mrkdwn(line) for line in m.lines], m.hidden, more,
                                   intro=mrkdwn(m.intro) if m.intro else ""))
    return blocks


def render_digest(digest: Digest | NeutralReply, *, limit: int = 10, footer: str | None = None,
                  locale: str = "en") -> tuple[list[dict[str, Any]], str]:
    """A digest (the core's ``Wording.digest_reply``, or a ``Digest`` worded here in ``locale``) as one message's
    blocks and its fallback text, within Slack's limits."""
    reply = digest if isinstance(digest, NeutralReply) else _WORDING.digest_reply(
        digest, PLATFORM, locale, limit=limit, footer=footer or "")
    if reply.kind is not Kind.DIGEST:
        raise Unrenderable(f"render_digest was handed a {reply.kind.value} reply")
    period, line = reply.body
    blocks: list[dict[str, Any]] = [header(plain_text(reply.title)), context(mrkdwn(period)), section(mrkdwn(line))]
    blocks += _parts(reply)
    tail = [context(escape(plain_text(reply.footer)))] if reply.footer else []
    blocks = fit_blocks(blocks, MAX_BLOCKS - len(tail), more=reply.phrases.more) + tail
    return blocks, fallback(reply.summary)


def digest_tag(blocks: Iterable[dict[str, Any]]) -> str:
    """The last context line of a message (where ``render_digest`` puts its footer), unescaped."""
    for block in reversed(list(blocks)):
        if block.get("type") == "context":
            for el in block.get("elements", []):
                text = el.get("text", "")
                return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            return ""
    return ""


# -- App Home ---------------------------------------------------------------------------


def render_home(home: NeutralReply | None = None, *, watched: Sequence[str] | None = None,
                subscriptions: Sequence[Subscription] = (), top: Sequence[CountedClaim] = (), limit: int = 10,
                locale: str = "en") -> dict[str, Any]:
    """The App Home tab (the core's ``Wording.home``, or worded here from a workspace's settings in ``locale``):
    how to use factbot, this workspace's watch and digest settings, this week's top claims."""
    reply = home if home is not None else _WORDING.home(PLATFORM, locale, watched=watched,
                                                       subscriptions=subscriptions, top=top, limit=limit)
    if reply.kind is not Kind.HOME:
        raise Unrenderable(f"render_home was handed a {reply.kind.value} reply")
    how = [s for s in reply.sections if not s.group]
    blocks = [header(plain_text(reply.title)), *_render_help(replace(reply, sections=tuple(how))).blocks,
              *_parts(replace(reply, sections=tuple(s for s in reply.sections if s.group)))]
    return {"type": "home", "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS, more=reply.phrases.more)}
