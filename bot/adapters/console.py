"""The console adapter: talk to factbot in a terminal, no token needed.

It renders results as plain text the way the chat adapters render embeds and
blocks, so what you see locally is what a channel would get, minus colour.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from ..core.models import Candidate, CheckResult, Claim, Decision, IncomingMessage
from ..core.normalize import display_text
from ..core.service import FactChecker


def confidence(score: float) -> str:
    return f"{round(score * 100)}%"


def render_claim(claim: Claim, *, indent: str = "") -> list[str]:
    v = claim.verdict
    rating = f" (rated “{claim.rating_text}”)" if claim.rating_text and claim.rating_text.lower() != v.label.lower() else ""
    lines = [f"{indent}{v.emoji} {v.label.upper()}{rating}: {claim.claim}", f"{indent}Why: {claim.summary}"]
    if claim.sources:
        lines.append(f"{indent}Sources:")
        for s in claim.sources:
            bits = [s.shown_title]
            if s.publisher:
                bits.append(s.publisher)
            if s.date:
                bits.append(s.date)
            link = f" <{s.url}>" if s.url and s.url != s.title else ""
            lines.append(f"{indent}  - {' · '.join(bits)}{link}")
    return lines


def render_match(c: Candidate) -> list[str]:
    lines = render_claim(c.claim)
    via = f"the alias “{c.matched_text}”" if c.matched_alias else "the claim text"
    lines.append(f"Matched {via} · confidence {confidence(c.score)} · claim id {c.claim.id}")
    return lines


def render_text(result: CheckResult, *, explain: bool = False, semantic_status: str = "") -> str:
    """The plain-text reply: verdict, claim, why, sources, and how sure the match is."""
    lines: list[str] = []
    if result.notice:
        lines.append(f"ℹ️ {result.notice}")
    if result.decision is Decision.MATCH:
        if len(result.matches) > 1:
            lines.append(f"This message makes {len(result.matches)} claims that have been checked:")
        for i, cand in enumerate(result.matches):
            if i:
                lines.append("")
            lines.extend(render_match(cand))
    elif result.decision is Decision.POSSIBLE:
        lines.append("🤔 No exact match. Did you mean one of these?")
        for i, c in enumerate([c for c in result.candidates][:3], 1):
            lines.append(f"  {i}. {c.claim.verdict.emoji} {c.claim.verdict.label}: {c.claim.claim} ({confidence(c.score)}, id {c.claim.id})")
        lines.append("Ask about one by id to see its verdict, sources and why.")
    elif result.query:
        lines.append("🔎 No verified claim in the database matches this message.")
        near = result.candidates[0] if result.candidates else None
        if near is not None and near.score > 0:
            lines.append(f"   (nearest: “{near.claim.claim}”, {confidence(near.score)}, below the threshold)")
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
            lines.append(f"Semantic matching: {semantic_status}")
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
    write: Callable[[str], object] = lambda s: (stdout.write(s + "\n"), stdout.flush())
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
            claim = found.claim if found else None
            notice = f"{found.notice}\n" if found and found.notice else ""
            write(notice + "\n".join(render_claim(claim)) + f"\nclaim id {claim.id}" if claim else f"No claim with id “{display_text(cid, 80)}”.")
            continue
        if text.startswith("/search"):
            hits = checker.search(text[len("/search") :].strip(), limit=5)
            if not hits:
                write("No claim matches those words.")
            for c in hits:
                write(f"{c.claim.verdict.emoji} {c.claim.id}: {c.claim.claim}")
            continue
        if text.startswith("/"):
            write(f"Unknown command {display_text(text.split()[0], 40)}. {HELP}")
            continue
        result = checker.check(IncomingMessage(text=text, platform="console", channel="console"))
        checked += 1
        write("factbot> " + render_text(result).replace("\n", "\n         "))
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
