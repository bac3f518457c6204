"""The platform-free vocabulary of factbot.

Every adapter (console, Discord, Slack) and every file format speaks in these
types, so a renderer never has to know where a claim came from and the store
never has to know where a message came from.  They are frozen dataclasses:
a result handed to a renderer cannot be changed behind the core's back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .i18n import N_, Translator, pN_, translator


class Verdict(str, Enum):
    """The nine verdicts factbot knows; each has one label, emoji and colour."""

    TRUE = "true"
    MOSTLY_TRUE = "mostly-true"
    MIXED = "mixed"
    MISLEADING = "misleading"
    MOSTLY_FALSE = "mostly-false"
    FALSE = "false"
    UNVERIFIED = "unverified"
    SATIRE = "satire"
    OUTDATED = "outdated"

    @property
    def label(self) -> str:
        """The English label (a plain str: files and logs get it as it is)."""
        return str(_VERDICT_STYLE[self][0])

    def label_in(self, t: Translator) -> str:
        """The label in ``t``'s language: ``Verdict.FALSE.label_in(translator("es"))`` → "Falso"."""
        return t.text(_VERDICT_STYLE[self][0])

    def description_in(self, t: Translator) -> str:
        return t.text(_VERDICT_STYLE[self][3])

    @property
    def emoji(self) -> str:
        return _VERDICT_STYLE[self][1]

    @property
    def colour(self) -> int:
        """RGB colour as an int (Discord embeds take it as is; Slack gets ``hex``)."""
        return _VERDICT_STYLE[self][2]

    @property
    def hex(self) -> str:
        return f"#{self.colour:06x}"

    @property
    def description(self) -> str:
        return str(_VERDICT_STYLE[self][3])

    @classmethod
    def parse(cls, value: str | Verdict) -> Verdict:
        """Accept ``mostly-true``, ``Mostly True``, ``mostly_true`` alike."""
        if isinstance(value, Verdict):
            return value
        key = re.sub(r"[\s_]+", "-", str(value).strip().lower())
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(v.value for v in cls)
            raise ValueError(f"unknown verdict {value!r} (allowed: {allowed})") from None


# Labels and descriptions are marked for the catalogs (bot/core/i18n.py): as a str each is its English
# text; ``verdict.label_in(translator(locale))`` gives it in the reader's language.
_VERDICT_STYLE: dict[Verdict, tuple[str, str, int, str]] = {
    Verdict.TRUE: (pN_("verdict", "True"), "✅", 0x2E7D32, N_("Accurate, supported by a primary source.")),
    Verdict.MOSTLY_TRUE: (pN_("verdict", "Mostly true"), "☑️", 0x7CB342, N_("Accurate but needs clarification or context.")),
    Verdict.MIXED: (pN_("verdict", "Mixed"), "🌗", 0xF9A825, N_("Partly accurate, partly not.")),
    Verdict.MISLEADING: (pN_("verdict", "Misleading"), "⚠️", 0xEF6C00, N_("Stretches or distorts what its own source says.")),
    Verdict.MOSTLY_FALSE: (pN_("verdict", "Mostly false"), "🟠", 0xE64A19,
                           N_("An element of truth, but the claim as made is wrong.")),
    Verdict.FALSE: (pN_("verdict", "False"), "❌", 0xC62828, N_("Contradicted by the evidence.")),
    Verdict.UNVERIFIED: (pN_("verdict", "Unverified"), "❓", 0x757575, N_("Asserted without a source that supports it.")),
    Verdict.SATIRE: (pN_("verdict", "Satire"), "🎭", 0x8E24AA, N_("Comes from satire or parody, not a factual report.")),
    Verdict.OUTDATED: (pN_("verdict", "Outdated"), "🕰️", 0x546E7A, N_("Was accurate once; no longer is.")),
}


class Decision(str, Enum):
    """What the bot does with a message: answer, ask "did you mean", or say nothing matches."""

    MATCH = "match"
    POSSIBLE = "possible"
    NONE = "none"


# Where a source's ``title`` comes from when it is not the article's own headline: a reader must be able
# to tell a headline they can search for from a title we had to make up (knowledge/README.md).
TITLE_FROM = {
    "headline": "the article's own headline",
    "first-sentence": "no headline is given; the title is the article's first sentence",
    "url": "no headline is given; the title is rebuilt from the URL",
    "description": "no headline is given; the title describes the document",
}


_TITLE_MARKERS = {"url": " (title from the URL)", "first-sentence": " (first sentence; no headline given)"}


@dataclass(frozen=True)
class Source:
    """Where a verdict comes from.  ``title`` and ``publisher`` name it even when no URL exists.

    ``title_from`` says where the title comes from when it is not the headline (see TITLE_FROM), and
    ``note`` holds anything else a reader should know about the source (an inferred publisher, say).
    """

    title: str
    publisher: str = ""
    url: str = ""
    date: str = ""
    title_from: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        return cls(
            title=str(data.get("title") or data.get("url") or "").strip(),
            publisher=str(data.get("publisher") or "").strip(),
            url=str(data.get("url") or "").strip(),
            date=_date_str(data.get("date")),
            title_from=str(data.get("title_from") or "").strip(),
            note=str(data.get("note") or "").strip(),
        )

    @property
    def title_is_headline(self) -> bool:
        return self.title_from in ("", "headline")

    @property
    def shown_title(self) -> str:
        """The title as a reader should see it: one that only looks like a headline says where it comes from."""
        marker = _TITLE_MARKERS.get(self.title_from, "")
        return f"{self.title or self.url}{marker}"


SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")  # the ids factbot makes, and the bundled claims'
# The ids an import accepts as they are: a fact-check team's own ("7", "12", "Claim_12", "fc-2024.031"). No spaces,
# colons or slashes, so an id fits in a button's value, a command argument and a Discord custom_id (100 characters).
CLAIM_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"
CLAIM_ID_RE = re.compile(rf"^{CLAIM_ID}$")


def slugify(text: str, max_len: int = 60) -> str:
    """A readable, stable id from a claim's text (used when an import gives no id)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = slug[:max_len].rstrip("-")
    return slug if len(slug) >= 3 else f"claim-{slug}".rstrip("-")


def _date_str(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


@dataclass(frozen=True)
class Claim:
    """A verified claim: what people say, what the fact-checkers found, and where it comes from."""

    id: str
    claim: str
    verdict: Verdict
    summary: str
    sources: tuple[Source, ...]
    rating_text: str = ""
    claimant: str = ""
    claim_date: str = ""
    reviewed_at: str = ""
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    language: str = "en"
    created_at: str = ""
    updated_at: str = ""
    origin: str = "user"  # "bundled" for knowledge/ claims, "user" for imported or edited ones
    # Retired ids (knowledge/retired/) this claim now stands for; set by the knowledge loader, not stored
    # or exported: the store keeps them as redirects (Store.resolve).
    replaces: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    # The claim's text in other languages, by BCP 47 code (knowledge/translations/<lang>/<id>.yaml):
    # verdict, sources and dates stay this claim's own.
    translations: Mapping[str, ClaimTranslation] = dataclasses.field(default_factory=dict, compare=False)

    def texts(self) -> tuple[str, ...]:
        """Every phrasing the matcher may match: the claim itself, then its aliases."""
        return (self.claim, *self.aliases)

    def source_digest(self) -> str:
        """Which English text a translation was written from: 12 hex characters of sha256(claim + "\\n" + summary)."""
        return hashlib.sha256(f"{self.claim.strip()}\n{self.summary.strip()}".encode()).hexdigest()[:12]

    def stale_translations(self) -> list[str]:
        """The languages whose translation was written from another version of this claim's text."""
        digest = self.source_digest()
        return sorted(lang for lang, t in self.translations.items() if t.source_digest != digest)

    def to_dict(self, *, include_meta: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "claim": self.claim,
            "verdict": self.verdict.value,
            "rating_text": self.rating_text,
            "summary": self.summary,
            "sources": [s.to_dict() for s in self.sources],
            "claimant": self.claimant,
            "claim_date": self.claim_date,
            "reviewed_at": self.reviewed_at,
            "tags": list(self.tags),
            "aliases": list(self.aliases),
            "language": self.language,
        }
        if self.translations:
            data["translations"] = {lang: self.translations[lang].to_dict() for lang in sorted(self.translations)}
        if include_meta:
            data.update(created_at=self.created_at, updated_at=self.updated_at, origin=self.origin)
        return data

    def content_key(self) -> tuple:
        """What makes two versions of a claim the same claim (ignores timestamps and origin)."""
        d = self.to_dict()
        return tuple((k, repr(d[k])) for k in sorted(d))


@dataclass(frozen=True)
class ClaimTranslation:
    """A claim's words in another language: the claim as chat readers there say it, the one-line why, and
    the aliases people there type.  ``source_digest`` names the English text it was written from
    (``Claim.source_digest``): when the English changes, the translation is stale until redone."""

    claim: str
    summary: str
    aliases: tuple[str, ...] = ()
    source_digest: str = ""

    def texts(self) -> tuple[str, ...]:
        """Every phrasing in this language: the translated claim, then its aliases (as ``Claim.texts``)."""
        return (self.claim, *self.aliases)

    def to_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "summary": self.summary, "aliases": list(self.aliases),
                "source_digest": self.source_digest}


TRANSLATION_FIELDS = ("claim", "summary", "aliases", "source_digest")
_DIGEST_RE = re.compile(r"^[0-9a-f]{12}$")


def language_problem(code: str) -> str | None:
    """Why ``code`` is not a language tag factbot can use (None: it is), as Babel knows languages."""
    from babel import Locale, UnknownLocaleError

    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", code or ""):
        return f"{code!r} is not a BCP 47 language code (such as es, pt-BR or zh-Hans)"
    try:
        Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return f"{code!r} is not a language Babel knows"
    return None


def translation_from_dict(data: Any, *, claim: Claim | None = None, language: str = "",
                          require_digest: bool = True, check_stale: bool = True) -> ClaimTranslation:
    """A validated translation; ClaimError lists every problem (field, message) at once.

    ``claim`` is the claim it translates: its language must differ, and the digest, when given, must be
    that claim's current one.  Without ``require_digest`` (an import) a missing digest means "written
    from the text as it is now".
    """
    errors: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise ClaimError([("", f"expected an object with {', '.join(TRANSLATION_FIELDS)}, got {type(data).__name__}")])
    problem = language_problem(language)
    if problem:
        errors.append(("language", problem))
    elif claim is not None and language.lower() == (claim.language or "en").lower():
        errors.append(("language", f"{language!r} is the claim's own language"))
    texts: dict[str, str] = {}
    for name, limit in (("claim", 300), ("summary", 600)):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append((name, "is required (and must not be empty)"))
            value = ""
        value = value.strip()
        if value and (bad := _text_problem(value, limit)):
            errors.append((name, bad))
        texts[name] = value
    raw = data.get("aliases") or []
    if not isinstance(raw, (list, tuple)):
        errors.append(("aliases", "must be a list"))
        raw = []
    aliases: list[str] = []
    folded: dict[str, int] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            errors.append((f"aliases[{i}]", "must be a non-empty text"))
            continue
        item = item.strip()
        if bad := _text_problem(item, 200):
            errors.append((f"aliases[{i}]", bad))
            continue
        key = " ".join(item.casefold().split())
        if key in folded:
            errors.append((f"aliases[{i}]", f"repeats aliases[{folded[key]}]"))
            continue
        folded[key] = i
        aliases.append(item)
    digest = data.get("source_digest")
    digest = "" if digest is None else str(digest).strip().lower()
    if not digest and require_digest:
        errors.append(("source_digest", "is required (the digest of the English claim and summary it was written from)"))
    elif digest and not _DIGEST_RE.match(digest):
        errors.append(("source_digest", f"{digest!r} is not 12 hex characters"))
    elif digest and check_stale and claim is not None and digest != claim.source_digest():
        errors.append(("source_digest", f"stale: written from another version of the English text "
                                        f"({digest}, now {claim.source_digest()}); translate it again"))
    if errors:
        raise ClaimError(errors)
    if not digest and claim is not None:
        digest = claim.source_digest()
    return ClaimTranslation(claim=texts["claim"], summary=texts["summary"], aliases=tuple(aliases), source_digest=digest)


RETIRE_CHANGES = ("split", "merged", "renamed")


@dataclass(frozen=True)
class Redirect:
    """A claim id that no longer names a claim of its own, and the claims that now stand for it.

    A ``split`` claim has two or more replacements (the first is the one ``/claim id:`` shows), a
    ``merged`` or ``renamed`` one exactly one.  ``claim`` and ``verdict`` are what the retired claim
    last said, so a correction notice can quote what a channel was told.
    """

    id: str
    replaced_by: tuple[str, ...]
    change: str
    claim: str
    verdict: Verdict
    reason: str = ""
    retired_at: str = ""

    @property
    def primary(self) -> str:
        return self.replaced_by[0]


class ClaimError(ValueError):
    """A claim record is invalid; ``errors`` lists every problem as (field, message)."""

    def __init__(self, errors: list[tuple[str, str]], where: str = ""):
        self.errors = errors
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(prefix + "; ".join(f"{f}: {m}" if f else m for f, m in errors))


_LIST_FIELDS = ("tags", "aliases")
SOURCE_FIELDS = ("title", "publisher", "url", "date", "title_from", "note")
_TEXT_LIMITS = {"claim": 1000, "summary": 2000, "rating_text": 200, "claimant": 300, "aliases": 1000, "tags": 50,
                "title": 500, "publisher": 200, "url": 2000, "date": 40, "title_from": 40, "note": 300}
_LIST_LIMITS = {"aliases": 100, "tags": 30, "sources": 30}
_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")


def _text_problem(value: str, limit: int | None) -> str | None:
    """Why a piece of claim text cannot be stored and shown as is (None: it can).

    A NUL or a lone surrogate (which JSON can carry) cannot be stored as UTF-8 text or shown; other
    control characters round-trip and the renderers escape them. A limit keeps one record from
    flooding a reply."""
    if limit and len(value) > limit:
        return f"is {len(value)} characters; at most {limit}"
    bad = _BAD_CHARS.search(value)
    if bad:
        what = "a NUL character" if bad.group() == "\x00" else "a lone surrogate (invalid Unicode)"
        return f"contains {what}"
    return None


def claim_from_dict(data: Mapping[str, Any], *, where: str = "", origin: str = "user") -> Claim:
    """Build a validated Claim from a plain mapping, collecting every error before raising."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise ClaimError([("", f"expected an object with claim fields, got {type(data).__name__}")], where)

    def text(name: str, required: bool = False) -> str:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors.append((name, "is required"))
            return ""
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append((name, f"must be text, got {type(value).__name__}"))
            return ""
        value = str(value).strip()
        problem = _text_problem(value, _TEXT_LIMITS.get(name, 200))
        if problem:
            errors.append((name, problem))
        return value

    claim_text = text("claim", required=True)
    cid = text("id")
    if not cid and claim_text:
        cid = slugify(claim_text)
    elif cid and not CLAIM_ID_RE.fullmatch(cid):
        errors.append(("id", f"{cid!r} is not a usable id (letters, digits, '_', '-' and '.', starting with a letter "
                             "or digit, at most 80 characters)"))

    verdict: Verdict | None = None
    raw_verdict = data.get("verdict")
    if raw_verdict in (None, ""):
        errors.append(("verdict", "is required"))
    else:
        try:
            verdict = Verdict.parse(raw_verdict)
        except ValueError as exc:
            errors.append(("verdict", str(exc)))

    summary = text("summary", required=True)

    sources: list[Source] = []
    raw_sources = data.get("sources")
    if isinstance(raw_sources, (str, Mapping)):
        raw_sources = [raw_sources]
    if not raw_sources:
        errors.append(("sources", "at least one source is required"))
    elif not isinstance(raw_sources, (list, tuple)):
        errors.append(("sources", "must be a list"))
    elif len(raw_sources) > _LIST_LIMITS["sources"]:
        errors.append(("sources", f"has {len(raw_sources)} entries; at most {_LIST_LIMITS['sources']}"))
    else:
        for i, raw in enumerate(raw_sources):
            if isinstance(raw, str):
                raw = {"url": raw} if raw.startswith(("http://", "https://")) else {"title": raw}
            if not isinstance(raw, Mapping):
                errors.append((f"sources[{i}]", "must be an object with url, title, publisher, date"))
                continue
            bad_fields = False
            for key in SOURCE_FIELDS:
                value = raw.get(key)
                if value is None:
                    continue
                if isinstance(value, (dt.date, dt.datetime)) and key == "date":
                    continue
                if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                    errors.append((f"sources[{i}].{key}", f"must be text, got {type(value).__name__}"))
                    bad_fields = True
                elif problem := _text_problem(str(value).strip(), _TEXT_LIMITS[key]):
                    errors.append((f"sources[{i}].{key}", problem))
                    bad_fields = True
            if bad_fields:
                continue
            src = Source.from_dict(raw)
            if not src.title:
                errors.append((f"sources[{i}].title", "is required when there is no url"))
            if src.url and not re.match(r"^https?://\S+$", src.url):
                errors.append((f"sources[{i}].url", f"{src.url!r} is not an http(s) URL"))
            if src.title_from and src.title_from not in TITLE_FROM:
                errors.append((f"sources[{i}].title_from", f"{src.title_from!r} is not one of {', '.join(TITLE_FROM)}"))
            unknown = [str(k) for k in raw if k not in SOURCE_FIELDS]
            if unknown:
                errors.append((f"sources[{i}]", f"unknown field {unknown[0]!r} (a source has {', '.join(SOURCE_FIELDS)})"))
            sources.append(src)

    lists: dict[str, tuple[str, ...]] = {}
    for name in _LIST_FIELDS:
        raw = data.get(name) or []
        if isinstance(raw, str):
            raw = [part.strip() for part in (raw.split("|") if name == "aliases" else raw.split(","))]
        if not isinstance(raw, (list, tuple)):
            errors.append((name, "must be a list"))
            raw = []
        if len(raw) > _LIST_LIMITS[name]:
            errors.append((name, f"has {len(raw)} entries; at most {_LIST_LIMITS[name]}"))
            raw = []
        items: list[str] = []
        for i, item in enumerate(raw):
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                errors.append((f"{name}[{i}]", "must be text"))
                continue
            item = str(item).strip()
            if name == "tags":
                item = item.lower()  # before the duplicate check: "AI" and "ai" are one tag
            if problem := _text_problem(item, _TEXT_LIMITS[name]):
                errors.append((f"{name}[{i}]", problem))
            elif item and item not in items:
                items.append(item)
        lists[name] = tuple(items)

    language = text("language") or "en"
    # Read before the check below, so that their problems are reported with the others.
    optional = {name: text(name) for name in ("rating_text", "claimant", "claim_date", "reviewed_at", "created_at",
                                              "updated_at")}
    raw_translations = data.get("translations") or {}
    if not isinstance(raw_translations, Mapping):
        errors.append(("translations", "must map language codes to {claim, summary, aliases, source_digest}"))
        raw_translations = {}
    if errors:
        raise ClaimError(errors, where)
    assert verdict is not None
    claim = Claim(
        id=cid,
        claim=claim_text,
        verdict=verdict,
        summary=summary,
        sources=tuple(sources),
        rating_text=optional["rating_text"] or verdict.label,
        claimant=optional["claimant"],
        claim_date=optional["claim_date"],
        reviewed_at=optional["reviewed_at"],
        tags=lists["tags"],
        aliases=lists["aliases"],
        language=language,
        created_at=optional["created_at"],
        updated_at=optional["updated_at"],
        origin=str(data.get("origin") or origin),
    )
    if not raw_translations:
        return claim
    translations: dict[str, ClaimTranslation] = {}
    for lang, raw in raw_translations.items():
        try:
            translations[str(lang)] = translation_from_dict(raw, claim=claim, language=str(lang), require_digest=False)
        except ClaimError as exc:
            errors.extend((f"translations.{lang}" + (f".{f}" if f else ""), m) for f, m in exc.errors)
    if errors:
        raise ClaimError(errors, where)
    return dataclasses.replace(claim, translations=translations)


@dataclass(frozen=True)
class IncomingMessage:
    """A chat message as the core sees it, whatever platform it came from."""

    text: str
    platform: str = "console"
    workspace: str = ""  # Slack team id or Discord guild id
    channel: str = ""
    user: str = ""
    message_id: str = ""


@dataclass(frozen=True)
class Candidate:
    """One claim the matcher considered, with the evidence for its score."""

    claim: Claim
    score: float  # 0..1 confidence that the message makes this claim
    matched_text: str  # the claim text or alias that matched best
    matched_alias: bool
    lexical: float  # raw BM25 score from the index
    fuzzy: float  # rapidfuzz similarity of the best phrasing, 0..100
    coverage: float  # share of the message's informative words the claim covers, 0..1
    segment: str = ""  # the part of the message this candidate answers
    # Semantic matching (the ``semantic`` extra); None when it is off:
    vector: float | None = None  # cosine similarity of the message and the claim's nearest phrasing
    vector_text: str = ""  # that phrasing
    lexical_score: float | None = None  # the lexical confidence before fusion with the vector part
    # Other claims in the database with the same text and verdict (a fact-check filed twice), shown
    # under this one, the first stored: see Matcher._copies.
    duplicates: tuple[str, ...] = ()
    # The decision model's inputs for this candidate (bot/core/decision.py FEATURES, in that order).
    features: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim.id,
            "claim": self.claim.claim,
            "verdict": self.claim.verdict.value,
            "score": round(self.score, 4),
            "summary": self.claim.summary,
            "sources": [s.to_dict() for s in self.claim.sources],
            "matched_text": self.matched_text,
            "explain": {
                "bm25": round(self.lexical, 4),
                "fuzzy": round(self.fuzzy, 2),
                "coverage": round(self.coverage, 4),
            },
            **({"duplicates": list(self.duplicates)} if self.duplicates else {}),
        }


@dataclass(frozen=True)
class SegmentResult:
    """The decision for one claim-sized part of a message."""

    text: str
    decision: Decision
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class CheckResult:
    """The core's answer to one message: what it matched, how sure, and why.

    ``decision`` is the consolidated decision over every segment: ``match`` when
    any segment matched, else ``possible`` when any was close, else ``none``.
    ``matches`` holds the distinct matched claims (best first); ``candidates``
    the ranked candidates for the whole message, listed whatever the decision.
    """

    query: str
    decision: Decision
    matches: tuple[Candidate, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    segments: tuple[SegmentResult, ...] = ()
    notice: str = ""  # a plain explanation when the input itself was the problem (empty, too long...)
    language: str = "und"  # the message's language as detected (BCP 47 primary subtag), "und" when unsure

    @property
    def best(self) -> Candidate | None:
        if self.matches:
            return self.matches[0]
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "decision": self.decision.value,
            "language": self.language,
            "matches": [c.to_dict() for c in (self.matches or self.candidates)],
        }
        if self.notice:
            data["notice"] = self.notice
        return data


def verdict_table() -> Iterable[tuple[str, str, str, str]]:
    """(value, label, emoji, hex colour) for docs and help text."""
    for v in Verdict:
        yield v.value, v.label, v.emoji, v.hex


def iso(t: dt.datetime | None = None) -> str:
    """The one stored form of a moment: ISO 8601 in UTC, whole seconds (``2026-03-12T09:00:00+00:00``).

    ``None`` is now.  A naive datetime is refused: what it means depends on the machine's time zone."""
    if t is None:
        t = dt.datetime.now(dt.UTC)
    elif t.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return t.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def utcnow() -> str:
    """Now, as stored (``iso``)."""
    return iso()


# -- weekly digests ------------------------------------------------------------------


@dataclass(frozen=True)
class DigestChange:
    """A claim added or changed in the period (``old_verdict`` set when its verdict changed)."""

    claim: Claim
    change: str  # "added" | "changed"
    old_verdict: Verdict | None = None


@dataclass(frozen=True)
class CountedClaim:
    claim: Claim
    count: int


@dataclass(frozen=True)
class UnmatchedQuestion:
    """Something people asked that matched nothing: the fact-checkers' to-do list."""

    text: str  # "" when only hashes are kept
    count: int
    suggested: bool  # someone pressed "Suggest for review"


@dataclass(frozen=True)
class DigestTotals:
    checks: int = 0
    matches: int = 0
    upvotes: int = 0
    downvotes: int = 0


@dataclass(frozen=True)
class Correction:
    """An earlier public reply whose verdict has since changed: where it is, what it said, what is true now."""

    reply_id: int
    platform: str
    workspace: str
    channel: str
    message_id: str  # the bot's earlier reply
    thread_id: str  # the message that reply answered
    claim: Claim  # the claim as it is now (for a retired id: the first claim that replaced it)
    old_verdict: Verdict  # the verdict the reply showed
    change_seq: int  # the change that made it outdated
    redirect: Redirect | None = None  # set when the reply's claim id was since split, merged or renamed
    others: tuple[Claim, ...] = ()  # a split claim's other replacements

    def text(self, t: Translator | None = None) -> str:
        """The notice, in ``t``'s language (English without one)."""
        t = t or translator()
        v = self.claim.verdict
        r = self.redirect
        if r is None:
            return t.gettext(
                "Correction: the verdict on “%(claim)s” changed from %(old)s to %(emoji)s %(new)s. %(summary)s",
                claim=self.claim.claim, old=self.old_verdict.label_in(t), emoji=v.emoji, new=v.label_in(t),
                summary=self.claim.summary,
            )
        # A retired claim id (knowledge/retired/): the claim the reply showed now lives on under other ids.
        if r.change == "split":
            parts = "; ".join(
                t.gettext("“%(claim)s”: %(emoji)s %(verdict)s", claim=c.claim, emoji=c.verdict.emoji,
                          verdict=c.verdict.label_in(t))
                for c in (self.claim, *self.others)
            )
            return t.gettext("Correction: “%(claim)s” was rated %(old)s; it is now checked as separate claims. %(parts)s.",
                             claim=r.claim, old=self.old_verdict.label_in(t), parts=parts)
        return t.gettext(
            "Correction: the verdict on “%(claim)s” changed from %(old)s to %(emoji)s %(new)s; it is now checked as "
            "“%(current)s”. %(summary)s",
            claim=r.claim, old=self.old_verdict.label_in(t), emoji=v.emoji, new=v.label_in(t),
            current=self.claim.claim, summary=self.claim.summary,
        )


@dataclass(frozen=True)
class Digest:
    """One channel's weekly digest, platform-neutral; each adapter renders it within its own limits."""

    platform: str
    workspace: str
    channel: str
    period_start: str  # ISO 8601, UTC
    period_end: str
    changes: tuple[DigestChange, ...] = ()
    top_in_channel: tuple[CountedClaim, ...] = ()
    top_in_workspace: tuple[CountedClaim, ...] = ()
    unmatched: tuple[UnmatchedQuestion, ...] = ()
    totals: DigestTotals = DigestTotals()
    corrections: tuple[Correction, ...] = ()  # verdicts this channel was given that have changed since

    @property
    def quiet(self) -> bool:
        return not (
            self.changes or self.top_in_channel or self.top_in_workspace or self.unmatched or self.totals.checks
            or self.corrections
        )

    def changes_by_verdict(self) -> list[tuple[Verdict, list[DigestChange]]]:
        """Changes grouped by verdict, in the order of the Verdict enum."""
        groups: dict[Verdict, list[DigestChange]] = {}
        for ch in self.changes:
            groups.setdefault(ch.claim.verdict, []).append(ch)
        return [(v, groups[v]) for v in Verdict if v in groups]
