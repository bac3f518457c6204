"""The console adapter: talk to factbot in a terminal, no token needed.

It renders results as plain text the way the chat adapters render embeds and
blocks, so what you see locally is what a channel would get, minus colour.
"""

from __future__ import annotations

import sys
from typing import TextIO

from ..core.chat import CLI, CONSOLE, Platform, Wording, words
from ..core.models import CheckResult, Claim, IncomingMessage
from ..core.normalize import display_text
from ..core.replies import Kind, Phrases, Reply, Rich, Unrenderable, VerdictItem, as_rich
from ..core.service import FactChecker

PLATFORM = CONSOLE
_WORDING = Wording()


def text(value: Rich | str) -> str:
    """Rich text for a terminal: the words, with links written out after their text."""
    out = []
    for span in as_rich(value).spans:
        out.append(f"{span.text} <{span.url}>" if span.url and span.url != span.text else span.text)
    return "".join(out)


def item_lines(item: VerdictItem, phrases: Phrases, *, indent: str = "", why: str = "Why") -> list[str]:
    rating = f" ({text(item.rating)})" if item.rating else ""
    note = f" {text(item.language_note)}" if item.language_note else ""
    lines = [f"{indent}{item.emoji} {item.label.upper()}{rating}: {item.headline}{note}", f"{indent}{why}: {item.why}"]
    if item.sources:
        lines.append(f"{indent}{phrases.sources}:")
        for s in item.sources:
            bits = [s.shown_title]
            if s.publisher:
                bits.append(s.publisher)
            if s.date:
                bits.append(s.date)
            link = f" <{s.url}>" if s.url and s.url != s.title else ""
            lines.append(f"{indent}  - {' · '.join(bits)}{link}")
    return lines


def render_reply(reply: Reply) -> str:
    """Any reply of the core as terminal text: the same parts the chat platforms show, minus colour."""
    _ = words(reply.locale)
    why = _("Why")
    lines = [text(n) for n in reply.notes]
    if reply.kind in (Kind.VERDICT, Kind.CLAIM):
        for i, item in enumerate(reply.items):
            if i:
                lines.append("")
            lines += item_lines(item, reply.phrases, why=why)
            lines.append(" · ".join(text(f) for f in item.facts))
        if reply.items and reply.items[0].method:
            lines.append(text(reply.items[0].method))
    elif reply.kind is Kind.DID_YOU_MEAN:
        lines.append(f"{text(reply.title)} " + " ".join(text(b) for b in reply.body))
        lines += ["  " + text(c.line).replace("**", "") for c in reply.candidates]
        lines.append(text(reply.footer))
    elif reply.kind is Kind.NO_MATCH:
        lines.append(f"🔎 {text(reply.body[0])}")
        lines += ["   " + text(b) for b in reply.body[1:]]
    elif reply.kind in (Kind.NOTICE, Kind.NOTHING, Kind.HELP, Kind.SEARCH):
        lines += [text(b) for b in reply.body]
        for section in reply.sections:
            lines += ([section.title] if section.title else []) + [text(line) for line in section.lines]
    else:
        raise Unrenderable(f"the console has not learned {reply.kind.value} replies")
    return "\n".join(lines)


def render_claim(claim: Claim, *, indent: str = "", locale: str = "en") -> list[str]:
    """One claim in full (``factbot claims show``): verdict, claim, why, sources."""
    reply = _WORDING.claim_reply(claim, locale, deletable=False, votes=False)
    _ = words(locale)
    return item_lines(reply.items[0], reply.phrases, indent=indent, why=_("Why"))


def render_text(result: CheckResult, *, explain: bool = False, semantic_status: str = "", locale: str = "en",
                platform: Platform = CLI) -> str:
    """The plain-text reply: verdict, claim, why, sources, and how strong the match is."""
    lines = [render_reply(_WORDING.result_reply(result, platform, locale, deletable=False))] if (
        result.query or result.notice) else []
    if explain:
        semantic = any(c.vector is not None for c in result.candidates)
        lines.append("")
        lines.append("Scores (bm25 = lexical retrieval, coverage = share of the message's informative words the claim covers,")
        lines.append("        fuzzy = rapidfuzz token_sort_ratio of the best phrasing, score = decision confidence):")
        if semantic:
            lines.append("        lexical = lexical confidence, vector = cosine of the message and the nearest phrasing;")
            lines.append("        score fuses the two (docs/semantic.md)")
        for c in result.candidates:
            line = (
                f"  {c.claim.id}: score {c.score:.3f} · bm25 {c.lexical:.2f} · coverage {c.coverage:.2f} · fuzzy {c.fuzzy:.0f}"
            )
            if c.vector is not None:
                line += f" · lexical {c.lexical_score or 0.0:.3f} · vector {c.vector:.3f}"
            line += f" · matched “{display_text(c.matched_text, 80)}”"
            if c.vector is not None and c.vector_text and c.vector_text != c.matched_text:
                line += f" · nearest in meaning “{display_text(c.vector_text, 80)}”"
            if c.duplicates:
                line += f" · same claim also filed as {', '.join(c.duplicates)}"
            lines.append(line)
        if not semantic_status and not semantic:
            from ..core.embeddings import ENABLE_HINT, semantic_available

            semantic_status = (
                "off (see `factbot model info`)" if semantic_available() else f"off; to enable it, {ENABLE_HINT}"
            )
        if semantic_status:
            lines.append(f"Matching by meaning: {semantic_status}")
    return "\n".join(lines)


HELP = """Type a claim to check it. Commands:
  /claim ID      show one claim in full
  /search WORDS  list the claims that best match
  /help          this help
  /quit          leave (Ctrl-D works too)"""


def run_repl(
    checker: FactChecker,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    prompt: str = "you> ",
) -> int:
    """A local chat with the bot; returns the number of messages checked."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()

    def write(s: str) -> None:
        stdout.write(s + "\n")
        stdout.flush()

    write(f"factbot console · {checker.store.count()} claims loaded · /help for commands, /quit to leave")
    checked = 0
    while True:
        if interactive:
            stdout.write(prompt)
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            break
        if text == "/help":
            write(HELP)
            continue
        if text.startswith("/claim"):
            cid = text[len("/claim") :].strip()
            found = checker.lookup(cid) if cid else None
            if found is not None and found.claim is not None:
                write(render_reply(_WORDING.claim_reply(found.claim, deletable=False, votes=False, notice=found.notice)))
            else:
                write(render_reply(_WORDING.notice("No claim with the id “%(id)s”.", id=display_text(cid, 80))))
            continue
        if text.startswith("/search"):
            query = text[len("/search") :].strip()
            write(render_reply(_WORDING.search_reply(query, checker.search(query, limit=5), PLATFORM)))
            continue
        if text.startswith("/"):
            write(f"Unknown command {display_text(text.split()[0], 40)}. {HELP}")
            continue
        result = checker.check(IncomingMessage(text=text, platform="console", channel="console"))
        checked += 1
        write("factbot> " + render_text(result, platform=PLATFORM).replace("\n", "\n         "))
    return checked


def render_digest_text(digest, *, limit: int = 10) -> str:
    """A digest as plain text: the same sections the Discord and Slack renderers show."""
    lines = [f"📰 Weekly fact-check digest · {digest.period_start[:10]} → {digest.period_end[:10]}"]
    if digest.quiet:
        lines.append("A quiet week: no new or changed claims, and nobody asked the bot anything.")
        return "\n".join(lines)
    t = digest.totals
    lines.append(f"{t.checks} checks · {t.matches} matched · 👍 {t.upvotes} · 👎 {t.downvotes}")
    if digest.corrections:
        lines.append("")
        lines.append("Corrections to earlier replies in this channel:")
        for c in digest.corrections[:limit]:
            lines.append(f"  - {c.text()}")
        if len(digest.corrections) > limit:
            lines.append(f"  …and {len(digest.corrections) - limit} more")
    if digest.changes:
        lines.append("")
        lines.append("New and updated claims:")
        shown = 0
        for verdict, items in digest.changes_by_verdict():
            for ch in items:
                if shown >= limit:
                    break
                was = f" (was {ch.old_verdict.label})" if ch.old_verdict else ""
                src = ch.claim.sources[0] if ch.claim.sources else None
                source = f" · {src.publisher or src.title}" if src else ""
                lines.append(f"  {verdict.emoji} {verdict.label}{was}: {ch.claim.claim} — {ch.claim.summary}{source}")
                shown += 1
        if len(digest.changes) > shown:
            lines.append(f"  …and {len(digest.changes) - shown} more")
    for title, items in (("Most checked in this channel:", digest.top_in_channel),
                         ("Most checked in the workspace:", digest.top_in_workspace)):
        if items:
            lines.append("")
            lines.append(title)
            for cc in items[:limit]:
                lines.append(f"  {cc.count}× {cc.claim.verdict.emoji} {cc.claim.claim} ({cc.claim.id})")
    if digest.unmatched:
        lines.append("")
        lines.append("Asked but not in the database (for the fact-checkers):")
        for u in digest.unmatched[:limit]:
            mark = " · suggested for review" if u.suggested else ""
            text = display_text(u.text, 200) if u.text else "(text not kept)"
            lines.append(f"  {u.count}× “{text}”{mark}")
        if len(digest.unmatched) > limit:
            lines.append(f"  …and {len(digest.unmatched) - limit} more")
    return "\n".join(lines)
