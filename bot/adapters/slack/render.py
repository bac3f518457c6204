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
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ...core.models import Candidate, CheckResult, Claim, CountedClaim, Decision, Digest, Source
from ...core.normalize import display_text
from ...core.subscriptions import Subscription

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

ERROR_TEXT = "Sorry, I couldn't do that right now. Please try again in a moment."
WATCH_NOTE = "👀 A claim in this message has been fact-checked (watch mode is on in this channel):"
SHARED_NOTE = "📣 Shared from /factcheck"
DIGEST_TITLE = "📰 Weekly fact-check digest"

HELP_LINES = (
    "*factbot checks claims against a database of verified fact-checks.*",
    "• Mention me with a claim: `@factbot Alibaba stole Claude Fable's guardrails` (I answer in the thread).",
    "• Mention me with no other text inside a thread to check the thread's first message.",
    "• `/factcheck &lt;claim&gt;`: only you see the answer, with a button to share it in the channel.",
    "• On any message: *More actions (⋯) → Fact-check this message*.",
    "• Under a verdict: 👍 / 👎 tell the fact-checkers whether it fit; whoever asked can remove it with 🗑️.",
)
ADMIN_LINES = (
    "*For workspace admins*",
    "• `/factcheck watch on` / `off`: reply unasked to confident matches in this channel "
    "(once per claim per cooldown).",
    "• `/factcheck digest subscribe &lt;day&gt; &lt;time&gt; &lt;timezone&gt;`, e.g. "
    "`/factcheck digest subscribe monday 09:00 Europe/Berlin`; `/factcheck digest unsubscribe`; "
    "`/factcheck digest preview`.",
)


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


def plain(text: object, limit: int) -> str:
    """Text for a plain_text field (never parsed for mentions): cleaned and within ``limit``."""
    return clip(display_text(text, limit), limit)


def confidence(score: float) -> str:
    return f"{round(score * 100)}%"


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


def lines_within(lines: Sequence[str], limit: int, *, hidden: int = 0, more: str = "…and {n} more") -> str:
    """Join lines with newlines, as many as fit in ``limit``, then say how many were left out.

    ``hidden`` counts items left out before (a per-section cap), so the closing "…and N more" covers both.
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


REMOVE_CONFIRM = {
    "title": {"type": "plain_text", "text": "Remove this reply?"},
    "text": {"type": "mrkdwn", "text": "The verdict disappears from the channel for everyone."},
    "confirm": {"type": "plain_text", "text": "Remove"},
    "deny": {"type": "plain_text", "text": "Keep"},
}


def delete_button() -> dict[str, Any]:
    return button("🗑️ Remove", DELETE, confirm=REMOVE_CONFIRM)


def share_button(value: str) -> dict[str, Any]:
    return button("📣 Share in channel", SHARE, value, style="primary")


def vote_buttons(claim_id: str, up: int = 0, down: int = 0) -> list[dict[str, Any]]:
    return [
        button(f"👍 {up}" if up else "👍", VOTE_UP, claim_id),
        button(f"👎 {down}" if down else "👎", VOTE_DOWN, claim_id),
    ]


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


def fit_blocks(blocks: Sequence[dict[str, Any]], limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """At most ``limit`` blocks: the rest become one "…and N more" line (actions kept at the end)."""
    blocks = list(blocks)
    if len(blocks) <= limit:
        return blocks
    tail = [b for b in blocks[-1:] if b.get("type") == "actions"]
    body = blocks[: len(blocks) - len(tail)]
    keep = limit - 1 - len(tail)
    hidden = len(body) - keep
    return body[:keep] + [context(f"…and {hidden} more")] + tail


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


def claim_blocks(claim: Claim, *, candidate: Candidate | None = None) -> list[dict[str, Any]]:
    """One verdict: a header with its emoji and label, the claim and why, sources, confidence and id."""
    v = claim.verdict
    body = f"*{quote(claim.claim, 1000)}*\n{quote(claim.summary, 2000)}"
    if claim.rating_text and claim.rating_text.strip().lower() != v.label.lower():
        body += f"\n_Rated “{quote(claim.rating_text, 200)}”_"
    blocks = [header(f"{v.emoji} {v.label}"), section(body)]
    sources = [_source_line(s) for s in claim.sources]
    if sources:
        blocks.append(section("*Sources*\n" + lines_within(sources, SECTION_TEXT - 20)))
    facts = []
    if candidate is not None:
        facts.append(f"Match confidence {confidence(candidate.score)}")
        if candidate.matched_alias:
            facts.append(f"matched the wording “{quote(candidate.matched_text, 300)}”")
    facts.append(f"claim id `{claim.id}`")
    blocks.append(context(" · ".join(facts)))
    return blocks


def _claim_fallback(claim: Claim) -> str:
    v = claim.verdict
    what, why = escape(display_text(claim.claim, 500)), escape(display_text(claim.summary, 1000))
    return f"{v.emoji} {v.label}: {what} — {why}"


def _controls(*, ephemeral: bool, deletable: bool, share_value: str) -> list[dict[str, Any]]:
    out = []
    if ephemeral and share_value:
        out.append(share_button(share_value))
    if deletable and not ephemeral:
        out.append(delete_button())
    return out


def render_result(result: CheckResult, *, ephemeral: bool = False, share_value: str = "", deletable: bool = True,
                  watch: bool = False, shared: bool = False) -> Reply:
    """The reply to a check: a verdict, "did you mean…", or "no verified claim matches".

    ``ephemeral`` replies (``/factcheck``) carry "Share in channel" (its value is ``share_value``) and no 🗑️;
    public ones carry 🗑️ when ``deletable``.  ``watch`` marks a reply nobody asked for, ``shared`` one
    posted from an ephemeral answer.
    """
    notes: list[str] = []
    if watch:
        notes.append(WATCH_NOTE)
    if shared:
        notes.append(SHARED_NOTE)
    if result.notice and result.query.strip():  # with nothing to check, the notice is the whole answer
        notes.append(f"ℹ️ {escape(result.notice)}")
    if result.decision is Decision.MATCH and result.matches:
        return _render_match(result, notes, ephemeral=ephemeral, deletable=deletable, share_value=share_value)
    if result.decision is Decision.POSSIBLE and any(c.score > 0 for c in result.candidates):
        return _render_possible(result, notes, ephemeral=ephemeral, deletable=deletable, share_value=share_value)
    return _render_none(result, notes, ephemeral=ephemeral, deletable=deletable, share_value=share_value)


def _render_match(result: CheckResult, notes: list[str], *, ephemeral: bool, deletable: bool,
                  share_value: str) -> Reply:
    matches = list(result.matches)
    if len(matches) > 1:
        notes.append(f"This message makes {len(matches)} claims that have been checked:")
    head = [context(n) for n in notes]
    controls = actions(*vote_buttons(matches[0].claim.id),
                       *_controls(ephemeral=ephemeral, deletable=deletable, share_value=share_value))
    body: list[dict[str, Any]] = []
    shown = 0
    for i, cand in enumerate(matches):
        part = ([divider()] if i else []) + claim_blocks(cand.claim, candidate=cand)
        # Room for this claim, the "…and N more" line and the buttons?
        if len(head) + len(body) + len(part) + 2 > MAX_BLOCKS:
            break
        body += part
        shown += 1
    if shown < len(matches):
        body.append(context(f"…and {len(matches) - shown} more; ask about them one at a time."))
    text = "; ".join(_claim_fallback(c.claim) for c in matches[:3])
    if len(matches) > 3:
        text += f" (and {len(matches) - 3} more)"
    if notes and notes[0] == WATCH_NOTE:
        text = "👀 " + text
    return Reply(blocks=fit_blocks(head + body + [controls]), text=fallback(text))


def _render_possible(result: CheckResult, notes: list[str], *, ephemeral: bool, deletable: bool,
                     share_value: str) -> Reply:
    candidates = [c for c in result.candidates if c.score > 0][:3]
    lines = [
        f"*{i}.* {c.claim.verdict.emoji} {quote(c.claim.claim, 600)} ({confidence(c.score)} match)"
        for i, c in enumerate(candidates, 1)
    ]
    blocks = [context(n) for n in notes]
    blocks += [
        header("🤔 Did you mean…"),
        section("No verified claim matches exactly. Did you mean one of these?\n\n" + "\n".join(lines)),
        context("Pick one to see its verdict, why, and sources (only you will see it)."),
    ]
    picks = [button(f"{i}. {plain(c.claim.claim, BUTTON_TEXT)}", f"{REVEAL}_{i}", c.claim.id)
             for i, c in enumerate(candidates, 1)]
    blocks.append(actions(*picks, *_controls(ephemeral=ephemeral, deletable=deletable, share_value=share_value)))
    text = "🤔 Did you mean: " + "; ".join(
        f"{i}. {escape(display_text(c.claim.claim, 300))}" for i, c in enumerate(candidates, 1)
    )
    return Reply(blocks=fit_blocks(blocks), text=fallback(text))


def suggest_value(query: str) -> str:
    """What "Suggest for review" carries: the words that were checked (a button value holds 2000 characters)."""
    return display_text(query, BUTTON_VALUE - 100)


def _render_none(result: CheckResult, notes: list[str], *, ephemeral: bool, deletable: bool,
                 share_value: str) -> Reply:
    blocks = [context(n) for n in notes]
    if not result.query.strip():
        why = escape(result.notice) if result.notice else "There was no text to check."
        blocks += [header("🔎 Nothing to check"), section(why)]
        controls = _controls(ephemeral=ephemeral, deletable=deletable, share_value="")
        if controls:
            blocks.append(actions(*controls))
        return Reply(blocks=fit_blocks(blocks), text=fallback(f"🔎 Nothing to check. {why}"))
    blocks += [
        header("🔎 No verified claim matches"),
        section("No verified claim in the database matches this. If you think it should be checked, "
                "suggest it for review and the fact-checkers will see it."),
        section(f"*Checked text*\n>{quote(result.query, SECTION_TEXT - 40)}"),
        actions(button("📝 Suggest for review", SUGGEST, suggest_value(result.query)),
                *_controls(ephemeral=ephemeral, deletable=deletable, share_value=share_value)),
    ]
    return Reply(blocks=fit_blocks(blocks), text=fallback("🔎 No verified claim matches this."))


def render_reveal(claim: Claim) -> Reply:
    """A "Did you mean…" candidate's verdict, shown to whoever picked it."""
    return Reply(blocks=claim_blocks(claim), text=fallback(_claim_fallback(claim)))


def render_help(*, admin: bool = True) -> Reply:
    lines = list(HELP_LINES)
    blocks = [section("\n".join(lines))]
    if admin:
        blocks.append(section("\n".join(ADMIN_LINES)))
    return Reply(blocks=blocks, text="How to use factbot: mention me with a claim, or use /factcheck &lt;claim&gt;.")


def render_notice(text: str) -> Reply:
    """A short message with user-written parts in it (escaped as a whole)."""
    safe = escape(text)
    return Reply(blocks=[section(safe)], text=fallback(safe))


def render_text(mrkdwn: str) -> Reply:
    """A short message factbot wrote itself (may use mrkdwn; anything user-written in it is escaped already)."""
    return Reply(blocks=[section(mrkdwn)], text=fallback(mrkdwn))


# -- weekly digest ----------------------------------------------------------------------


def _limited(title: str, lines: list[str], limit: int) -> dict[str, Any]:
    """A titled section: up to ``limit`` lines within Slack's section limit; the rest as "…and N more"."""
    head = f"*{title}*\n"
    return section(head + lines_within(lines[:limit], SECTION_TEXT - len(head), hidden=max(len(lines) - limit, 0)))


def render_digest(digest: Digest, *, limit: int = 10, footer: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """A weekly digest as one message's blocks and its fallback text, within Slack's limits."""
    start, end = digest.period_start[:10], digest.period_end[:10]
    blocks: list[dict[str, Any]] = [header(DIGEST_TITLE), context(f"{start} → {end}")]
    if digest.quiet:
        blocks.append(section("A quiet week: no new or changed claims, and nobody asked me anything here."))
        text = f"{DIGEST_TITLE} ({start} → {end}): a quiet week."
    else:
        t = digest.totals
        blocks.append(section(f"*{t.checks}* checks · *{t.matches}* matched · 👍 {t.upvotes} · 👎 {t.downvotes}"))
        text = f"{DIGEST_TITLE} ({start} → {end}): {t.checks} checks, {t.matches} matched."
    if digest.corrections:
        lines = [f"• {escape(c.text())}" for c in digest.corrections]
        blocks.append(_limited("✏️ Corrections to earlier replies here", lines, limit))
    if digest.changes:
        blocks += [divider(), section("*🗂️ New and updated claims*")]
        for verdict, items in digest.changes_by_verdict():
            lines = []
            for ch in items:
                was = f" (was {ch.old_verdict.label})" if ch.old_verdict else ""
                new = " 🆕" if ch.change == "added" else ""
                src = ch.claim.sources[0] if ch.claim.sources else None
                source = ""
                if src is not None:
                    source = " · " + link(src.url, quote(src.publisher or src.title, 80))
                lines.append(f"• {quote(ch.claim.claim, 200)}{was}{new} — {quote(ch.claim.summary, 240)}{source}")
            blocks.append(_limited(f"{verdict.emoji} {verdict.label} ({len(items)})", lines, limit))
    tops = [(title, items) for title, items in (
        ("📈 Most checked in this channel", digest.top_in_channel),
        ("📈 Most checked in this workspace", digest.top_in_workspace),
    ) if items]
    if tops:
        blocks.append(divider())
    for title, items in tops:
        blocks.append(_limited(title, [_counted(cc) for cc in items], limit))
    if digest.unmatched:
        lines = []
        for u in digest.unmatched:
            asked = f"“{quote(u.text, 200)}”" if u.text else "(text not kept)"
            mark = " · 📝 suggested for review" if u.suggested else ""
            lines.append(f"{u.count}× {asked}{mark}")
        blocks += [divider(), _limited("❓ Asked, but not in the database (most asked first)", lines, limit)]
    tail = [context(escape(footer))] if footer else []
    blocks = fit_blocks(blocks, MAX_BLOCKS - len(tail)) + tail
    return blocks, fallback(text)


def _counted(cc: CountedClaim) -> str:
    v = cc.claim.verdict
    return f"{cc.count}× {v.emoji} {v.label} · {quote(cc.claim.claim, 150)} (`{cc.claim.id}`)"


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


def render_home(*, watched: Sequence[str] | None, subscriptions: Sequence[Subscription],
                top: Sequence[CountedClaim], limit: int = 10) -> dict[str, Any]:
    """The App Home tab: how to use factbot, this workspace's watch and digest settings, this week's top claims.

    ``watched`` is None when the channels with watch mode on cannot be listed.
    """
    blocks: list[dict[str, Any]] = [
        header("👋 factbot"), section("\n".join(HELP_LINES)), section("\n".join(ADMIN_LINES)),
        divider(), header("⚙️ Channel settings"),
    ]
    if watched is None:
        blocks.append(section("*Watch mode*: type `/factcheck watch` in a channel to see whether it is on there."))
    elif watched:
        blocks.append(_limited("👀 Watch mode is on in", [f"• {channel_ref(c)}" for c in watched], limit * 3))
    else:
        blocks.append(section("*👀 Watch mode* is off in every channel. An admin turns it on with "
                              "`/factcheck watch on` in the channel."))
    if subscriptions:
        lines = [f"• {channel_ref(s.channel)}: {escape(s.describe())}" + ("" if s.active else
                 f" (paused: {escape(s.disabled_reason)})") for s in subscriptions]
        blocks.append(_limited("📰 Weekly digests", lines, limit * 3))
    else:
        blocks.append(section("*📰 Weekly digests*: no channel gets one yet. An admin subscribes a channel with "
                              "`/factcheck digest subscribe monday 09:00 Europe/Berlin`."))
    blocks += [divider(), header("📈 Most checked this week")]
    if top:
        blocks.append(section(lines_within([_counted(cc) for cc in top[:limit]], SECTION_TEXT,
                                           hidden=max(len(top) - limit, 0))))
    else:
        blocks.append(section("Nothing has been checked in this workspace this week yet."))
    return {"type": "home", "blocks": fit_blocks(blocks, MAX_VIEW_BLOCKS)}
