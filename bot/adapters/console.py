"""The console adapter: talk to factbot in a terminal, no token needed.

It renders results as plain text the way the chat adapters render embeds and
blocks, so what you see locally is what a channel would get, minus colour.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from ..core.chat import CLI, CONSOLE, Platform, Wording, words
from ..core.explain import explain_lines
from ..core.languages import choose_locale
from ..core.models import CheckResult, Claim, Digest, IncomingMessage
from ..core.replies import Kind, Phrases, Reply, Rich, Unrenderable, VerdictItem, as_rich, grouped
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


def terminal_locale(environ: Mapping[str, str] | None = None) -> str | None:
    """The terminal's language as a tag, read as gettext reads it (LC_ALL, then LC_MESSAGES, then LANG).

    It is the console's "platform locale" in the order every reply's language is chosen by (docs/localisation.md):
    ``es_ES.UTF-8`` reads Spanish; ``C`` / ``POSIX`` (containers, CI) name no language, so the message's own
    language decides, as it does in a channel with no setting.
    """
    env = os.environ if environ is None else environ
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:
            tag = value.split(".")[0].split("@")[0]
            return None if tag in ("C", "POSIX", "") else tag.replace("_", "-")
    return None


def reply_locale(checker: FactChecker, result: CheckResult) -> str:
    """The language of a console reply: the terminal's, else the message's, else English (the core decides)."""
    return choose_locale(checker.store, platform=PLATFORM.name, platform_locale=terminal_locale(),
                         detected=result.language)


def render_text(result: CheckResult, *, explain: bool = False, semantic_status: str = "", locale: str = "en",
                platform: Platform = CLI) -> str:
    """The plain-text reply: verdict, claim, why, sources, and how strong the match is."""
    lines = [render_reply(_WORDING.result_reply(result, platform, locale, deletable=False))] if (
        result.query or result.notice) else []
    if explain:
        lines += ["", *explain_lines(result, semantic_status)]
    return "\n".join(lines)


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

    write(_WORDING.console_banner(checker.store.count()))
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
            write(render_reply(_WORDING.console_help()))
            continue
        if text.startswith("/claim"):
            cid = text[len("/claim") :].strip()
            found = checker.lookup(cid) if cid else None
            if found is not None and found.claim is not None:
                write(render_reply(_WORDING.claim_reply(found.claim, deletable=False, votes=False, notice=found.notice)))
            else:
                write(render_reply(_WORDING.no_such_claim(cid)))
            continue
        if text.startswith("/search"):
            query = text[len("/search") :].strip()
            write(render_reply(_WORDING.search_reply(query, checker.search(query, limit=5), PLATFORM)))
            continue
        if text.startswith("/"):
            write(render_reply(_WORDING.unknown_command(text.split()[0])))
            continue
        result = checker.check(IncomingMessage(text=text, platform="console", channel="console"))
        checked += 1
        shown = render_text(result, platform=PLATFORM, locale=reply_locale(checker, result))
        write("factbot> " + shown.replace("\n", "\n         "))
    return checked


def render_digest_text(digest: Digest | Reply, *, limit: int = 10, locale: str = "en") -> str:
    """A digest as plain text (the core's ``Wording.digest_reply``, or a ``Digest`` worded here in ``locale``)."""
    reply = digest if isinstance(digest, Reply) else _WORDING.digest_reply(digest, CLI, locale, limit=limit)
    if reply.kind is not Kind.DIGEST:
        raise Unrenderable(f"render_digest_text was handed a {reply.kind.value} reply")
    period, *body = reply.body
    lines = [f"{text(reply.title)} · {text(period)}", *(text(b) for b in body)]
    more = reply.phrases.more
    for group, members in grouped(reply.sections):
        lines.append("")
        if group:
            lines.append(group)
        for m in members:
            indent = "  " if group else ""
            if m.title:
                lines.append(indent + m.title)
            if m.intro:
                lines.append(indent + text(m.intro))
            lines += [indent + "  " + text(line) for line in m.lines]
            if m.hidden:
                lines.append(indent + "  " + more % {"n": m.hidden})
    return "\n".join(lines)
