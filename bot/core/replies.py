"""The neutral reply model: what factbot says, before any platform's syntax.

The conversation layer (``chat.py``) answers every request with a ``Reply``: typed parts (notes,
verdict items, candidates, body lines, actions) whose words are already chosen, in the reader's
``locale``.  Each platform's renderer supplies only its syntax: escaping, bold, code and links,
where each part goes (an embed's footer, a Block Kit context line, a terminal line), and the
platform's limits.  No renderer writes a sentence of its own; a reply kind a renderer has not
learned fails loudly there (``Unrenderable``) instead of being shown half.

Text is ``Rich``: a tuple of ``Span``.  A span's ``style`` says what it is, never how it looks:

* ``plain``, ``bold``, ``code``: ordinary words, emphasis, and command names or ids;
* ``verbatim``: what a person typed, shown exactly as typed (a renderer keeps its markup characters inert);
* ``channel``: a channel's id, shown as a reference to that channel where the platform has one;
* ``user=True``: words someone else wrote (a message, a claim, a time zone typed in a command),
  escaped so they can neither mention anyone nor turn into markup; factbot's own words are shown
  as written, with only the platform's control characters escaped (Slack's ``& < >``);
* any span may carry a ``url`` (an http(s) link; a renderer that cannot link shows the text).

``rich(template, **values)`` builds one from a translated template: ``**bold**`` and `` `code` ``
are the only markup, and every ``%(name)s`` (gettext's python-format) becomes a user span (or, when the value is already
``Rich``, its spans), so a value can never inject markup whatever it contains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from .models import Source, Verdict


class Unrenderable(TypeError):
    """A renderer was handed a reply kind (or part) it has not learned to show."""


@dataclass(frozen=True)
class Span:
    text: str
    style: str = "plain"  # plain | bold | code | verbatim | channel
    user: bool = False  # written by someone else: escaped by every renderer
    url: str = ""


@dataclass(frozen=True)
class Rich:
    spans: tuple[Span, ...] = ()

    def plain(self) -> str:
        """The words alone, no markup (logs, notifications, places that show no formatting)."""
        return "".join(s.text for s in self.spans)

    def __bool__(self) -> bool:
        return any(s.text for s in self.spans)

    def __add__(self, other: Rich | str) -> Rich:
        return Rich(self.spans + as_rich(other).spans)


def as_rich(value: Rich | str) -> Rich:
    """Plain factbot text as Rich (no markup parsed)."""
    return value if isinstance(value, Rich) else Rich((Span(str(value)),))


def user(text: object, url: str = "") -> Rich:
    """Words someone else wrote, as one span."""
    return Rich((Span("" if text is None else str(text), user=True, url=url),))


def verbatim(text: object) -> Rich:
    """What a person typed, shown exactly as typed (no markup of theirs takes effect)."""
    return Rich((Span("" if text is None else str(text), "verbatim", user=True),))


def channel(channel_id: str) -> Rich:
    """A reference to a channel by its id."""
    return Rich((Span(channel_id, "channel", user=True),))


def link(text: Rich | str, url: str) -> Rich:
    """``text`` as a link to ``url`` (each span keeps its style)."""
    return Rich(tuple(Span(s.text, s.style, s.user, url) for s in as_rich(text).spans))


_MARKUP = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`|%\((\w+)\)s|(%%)")


def rich(template: str, **values: object) -> Rich:
    """A translated template as Rich: ``**bold**``, `` `code` `` and ``%(name)s`` placeholders (see the module doc)."""
    spans: list[Span] = []
    at = 0
    for m in _MARKUP.finditer(template):
        if m.start() > at:
            spans.append(Span(template[at:m.start()]))
        bold, code, name, percent = m.groups()
        if percent is not None:
            spans.append(Span("%"))
        elif bold is not None:
            spans.extend(_inner(bold, "bold", values))
        elif code is not None:
            spans.extend(_inner(code, "code", values))
        else:
            spans.extend(_value(values, name))
        at = m.end()
    if at < len(template):
        spans.append(Span(template[at:]))
    return Rich(tuple(_merge(spans)))


def _inner(text: str, style: str, values: Mapping[str, object]) -> list[Span]:
    """A bold or code run: its own words take the run's style, and so do placeholders inside it."""
    out: list[Span] = []
    at = 0
    for m in re.finditer(r"%\((\w+)\)s", text):
        if m.start() > at:
            out.append(Span(text[at:m.start()], style))
        out.extend(Span(s.text, style if s.style == "plain" else s.style, s.user, s.url)
                   for s in _value(values, m.group(1)))
        at = m.end()
    if at < len(text):
        out.append(Span(text[at:], style))
    return out


def _value(values: Mapping[str, object], name: str) -> tuple[Span, ...]:
    if name not in values:
        raise KeyError(f"template placeholder %({name})s has no value")
    value = values[name]
    if isinstance(value, Rich):
        return value.spans
    return (Span(str(value), user=True),)


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s in spans:
        if not s.text:
            continue
        last = out[-1] if out else None
        if last is not None and (last.style, last.user, last.url) == (s.style, s.user, s.url):
            out[-1] = Span(last.text + s.text, s.style, s.user, s.url)
        else:
            out.append(s)
    return out


def join(parts: Iterable[Rich | str], sep: Rich | str = " · ") -> Rich:
    out = Rich()
    for i, part in enumerate(p for p in parts if p):
        out = out + (as_rich(sep) + part if i else as_rich(part))
    return out


# -- the parts of a reply --------------------------------------------------------------------


class Kind(str, Enum):
    VERDICT = "verdict"  # one or more matched claims, with why and sources
    CLAIM = "claim"  # one claim shown in full (by id, or a revealed candidate)
    DID_YOU_MEAN = "did-you-mean"  # close candidates, no verdict
    NO_MATCH = "no-match"  # nothing in the database matches; offers "suggest for review"
    NOTHING = "nothing"  # there was no text to check
    NOTICE = "notice"  # a short message: settings changed, a refusal, busy, an error
    SEARCH = "search"  # a list of claims matching some words
    HELP = "help"  # how to use factbot
    DIGEST = "digest"  # a weekly digest (sections)
    HOME = "home"  # a workspace's overview: how to use factbot, its settings, this week's claims (Slack's App Home)


class ActionKind(str, Enum):
    VOTE_UP = "vote-up"
    VOTE_DOWN = "vote-down"
    DELETE = "delete"
    SUGGEST = "suggest"
    REVEAL = "reveal"
    SHARE = "share"


@dataclass(frozen=True)
class Action:
    """A button: what it does, its words, what it carries (a claim id, a token, the checked words)."""

    kind: ActionKind
    label: str = ""
    value: str = ""
    number: int = 0  # reveal buttons are numbered like the candidates they show
    count: int = 0  # votes so far, shown on 👍 / 👎
    confirm: tuple[str, str, str, str] | tuple[()] = ()  # (title, text, confirm, deny) when the button asks first


@dataclass(frozen=True)
class VerdictItem:
    """One claim's verdict, worded: a renderer chooses where each part goes, never what it says."""

    claim_id: str
    verdict: Verdict
    label: str  # the verdict's name in the reader's language
    headline: str  # the claim, in the reader's language when the knowledge has it
    why: str  # the claim's summary
    rating: Rich = Rich()  # "rated “…”" when the fact-checkers' own rating differs from the label
    sources: tuple[Source, ...] = ()
    facts: tuple[Rich, ...] = ()  # match strength, the wording it matched, review date, claim id
    method: Rich = Rich()  # how verdicts are chosen (a link)
    language_note: Rich = Rich()  # "(in German)" when shown in a language other than the reader's

    @property
    def emoji(self) -> str:
        return self.verdict.emoji


@dataclass(frozen=True)
class CandidateItem:
    """A "did you mean…" candidate: the claim's words and how well it matched, no verdict."""

    number: int
    claim_id: str
    text: str
    strength: Rich
    line: Rich  # the whole line as shown in a list


@dataclass(frozen=True)
class Section:
    """A titled part of a longer reply (a digest): lines, or an introduction and lines."""

    title: str
    lines: tuple[Rich, ...] = ()
    intro: Rich = Rich()
    hidden: int = 0  # lines left out before (a per-section cap), counted in "…and N more"
    tone: str = "info"  # info | warn | quiet: a renderer may colour by it
    group: str = ""  # sections that share a group title belong under that one heading, in order


def grouped(sections: Iterable[Section]) -> list[tuple[str, list[Section]]]:
    """Sections in order, those of one group together under its title ("" for a section on its own)."""
    out: list[tuple[str, list[Section]]] = []
    for sec in sections:
        if sec.group and out and out[-1][0] == sec.group:
            out[-1][1].append(sec)
        else:
            out.append((sec.group, [sec]))
    return out


@dataclass(frozen=True)
class Phrases:
    """The few words a renderer needs while fitting a reply into a platform's limits."""

    more: str = "…and %(n)s more"  # lines that did not fit (``%`` with ``{"n": …}``)
    more_claims: str = "…and %(n)s more; ask about them one at a time."  # verdicts that did not fit
    continued: str = "%(title)s (continued)"  # a section split over two embeds
    sources: str = "Sources"
    jump: str = "Jump to the message"  # a link to the checked message
    checked_message: str = "Checked message"


@dataclass(frozen=True)
class Reply:
    """Everything one answer says, platform-neutral; ``summary`` is its one-line plain form."""

    kind: Kind
    locale: str = "en"
    title: Rich = Rich()
    notes: tuple[Rich, ...] = ()  # lines shown before the answer (watch mode, a notice about the input)
    items: tuple[VerdictItem, ...] = ()
    candidates: tuple[CandidateItem, ...] = ()
    body: tuple[Rich, ...] = ()  # paragraphs
    checked: str = ""  # the words that were checked (no-match: kept for "suggest for review")
    checked_title: str = ""
    footer: Rich = Rich()
    sections: tuple[Section, ...] = ()
    actions: tuple[Action, ...] = ()
    summary: str = ""  # notifications, screen readers, logs
    private: bool = False  # only the asker should see it (a renderer/adapter sends it ephemeral where it can)
    transient: bool = False  # may remove itself after a while (a rate-limit notice in a channel)
    phrases: Phrases = field(default_factory=Phrases)

    def with_votes(self, up: int, down: int) -> Reply:
        """The same reply with the vote counts on 👍 / 👎."""
        counts = {ActionKind.VOTE_UP: up, ActionKind.VOTE_DOWN: down}
        actions = tuple(Action(a.kind, a.label, a.value, a.number, counts.get(a.kind, a.count), a.confirm)
                        for a in self.actions)
        return _replace(self, actions=actions)

    def without(self, *kinds: ActionKind) -> Reply:
        return _replace(self, actions=tuple(a for a in self.actions if a.kind not in kinds))

    def action(self, kind: ActionKind) -> Action | None:
        return next((a for a in self.actions if a.kind is kind), None)


def _replace(reply: Reply, **changes: object) -> Reply:
    import dataclasses

    return dataclasses.replace(reply, **changes)  # type: ignore[arg-type]
