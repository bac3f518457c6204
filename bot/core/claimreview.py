"""schema.org ClaimReview, the format fact-checkers already publish, read and written.

Reading it lets a community load PolitiFact's or Full Fact's reviews as they
appear on the web; writing it lets any ClaimReview consumer read factbot's
claims.  A factbot export reads back to the same claim: aliases and sources
live in standard schema.org properties (``itemReviewed.alternateName``,
``citation``), and only the verdict needs an extension, ``factbot:verdict``
on the rating, because publishers' rating words do not map one-to-one onto
factbot's nine verdicts (our "Unsupported" may mean false where Full Fact's
means unverified).  docs/formats.md has the field mapping both ways.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .models import _TEXT_LIMITS, CLAIM_ID_RE, Claim, Source, Verdict

CONTEXT = "https://schema.org"
VERDICT_KEY = "factbot:verdict"
TITLE_FROM_KEY = "factbot:titleFrom"  # on a citation: where its name comes from when it is not the headline
DIGEST_KEY = "factbot:sourceDigest"  # on a translated review: which text of the original it was written from

V = Verdict

# Which publishers use each label, kept apart so docs/formats.md can say where a
# label comes from; RATINGS merges them (a test checks no two families disagree).
RATING_FAMILIES: tuple[tuple[str, dict[str, Verdict]], ...] = (
    ("factbot", {v.label: v for v in Verdict}),
    ("PolitiFact", {
        "True": V.TRUE, "Mostly True": V.MOSTLY_TRUE, "Half True": V.MIXED, "Mostly False": V.MOSTLY_FALSE,
        "False": V.FALSE, "Pants on Fire": V.FALSE,
        # The Flip-O-Meter rates whether a position changed, not whether a statement is true:
        # a full flop leaves the old statement outdated, a half flip leaves it partly standing.
        "Full Flop": V.OUTDATED, "Half Flip": V.MIXED, "No Flip": V.TRUE,
    }),
    ("Snopes", {
        "True": V.TRUE, "Mostly True": V.MOSTLY_TRUE, "Mixture": V.MIXED, "Mostly False": V.MOSTLY_FALSE,
        "False": V.FALSE, "Unproven": V.UNVERIFIED, "Unfounded": V.UNVERIFIED, "Outdated": V.OUTDATED,
        "Miscaptioned": V.MISLEADING, "Misattributed": V.FALSE, "Correct Attribution": V.TRUE,
        "Legend": V.UNVERIFIED, "Scam": V.FALSE, "Labeled Satire": V.SATIRE, "Originated as Satire": V.SATIRE,
        "Research in Progress": V.UNVERIFIED, "Fake": V.FALSE, "Legit": V.TRUE,
    }),
    ("Full Fact", {
        # "Needs context" and "Not the full picture" say the claim is right but incomplete,
        # which is factbot's mostly-true; "Missing context" below says the post misleads.
        "Correct": V.TRUE, "Incorrect": V.FALSE, "Misleading": V.MISLEADING, "Needs context": V.MOSTLY_TRUE,
        "Unsupported": V.UNVERIFIED, "Not the full picture": V.MOSTLY_TRUE,
    }),
    ("AFP, Reuters, AP, Lead Stories, FactCheck.org, Logically", {
        "Missing context": V.MISLEADING, "Lacks context": V.MISLEADING, "Out of context": V.MISLEADING,
        "Altered": V.FALSE, "Manipulated": V.FALSE, "Fabricated": V.FALSE, "Hoax": V.FALSE, "Not true": V.FALSE,
        "Partly false": V.MOSTLY_FALSE, "Partially false": V.MOSTLY_FALSE, "Partly true": V.MIXED,
        "Partially true": V.MIXED, "False": V.FALSE, "True": V.TRUE, "Misleading": V.MISLEADING,
        "Satire": V.SATIRE, "Unsubstantiated": V.UNVERIFIED, "No evidence": V.UNVERIFIED,
        "Unverifiable": V.UNVERIFIED, "Exaggerated": V.MISLEADING, "Distorts the Facts": V.MISLEADING,
        "Spins the Facts": V.MISLEADING, "Cherry Picks": V.MISLEADING, "Accurate": V.TRUE,
        "Inaccurate": V.FALSE, "Mostly accurate": V.MOSTLY_TRUE, "Mostly correct": V.MOSTLY_TRUE,
    }),
    ("Washington Post Fact Checker", {
        "Geppetto Checkmark": V.TRUE, "One Pinocchio": V.MOSTLY_TRUE, "Two Pinocchios": V.MIXED,
        "Three Pinocchios": V.MOSTLY_FALSE, "Four Pinocchios": V.FALSE, "Bottomless Pinocchio": V.FALSE,
    }),
)


def normalise_rating(text: str) -> str:
    """Casefolded, punctuation gone: "Pants on Fire!", "pants-on-fire" and "PANTS ON FIRE" are one key."""
    text = re.sub(r"['’]", "", str(text).casefold())
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


RATINGS: dict[str, Verdict] = {
    normalise_rating(label): verdict for _, table in RATING_FAMILIES for label, verdict in table.items()
}

# Key words for ratings the table does not know ("Partly false photo", "Mostly accurate claim").
_SATIRE = {"satire", "satirical", "parody", "humor", "humour"}
_OUTDATED = {"outdated", "obsolete", "superseded"}
_MISLEADING = {
    "misleading", "mislead", "misleads", "context", "distorts", "distorted", "distortion", "exaggerated",
    "exaggerates", "exaggeration", "overstated", "overstates", "miscaptioned", "misrepresents",
    "misrepresented", "spin", "spins", "cherry",
}
_FALSE = {
    "false", "incorrect", "inaccurate", "untrue", "wrong", "fake", "hoax", "fabricated", "bogus", "debunked",
    "scam", "altered", "manipulated", "doctored", "misattributed",
}
_TRUE = {"true", "correct", "accurate", "right", "legit", "genuine", "authentic", "confirmed"}
_NEGATIONS = {"not", "no", "isnt", "never"}
_MOSTLY = {"mostly", "largely", "broadly"}
_PARTLY = {"partly", "partially", "somewhat", "half"}

# factbot's verdicts on the usual 1 (false) .. 5 (true) scale; the rest are not a degree of truth.
_SCORES = {V.TRUE: 5, V.MOSTLY_TRUE: 4, V.MIXED: 3, V.MISLEADING: 2, V.MOSTLY_FALSE: 2, V.FALSE: 1}
_SCALE_STEPS = ((0.875, V.TRUE), (0.625, V.MOSTLY_TRUE), (0.375, V.MIXED), (0.125, V.MOSTLY_FALSE), (0.0, V.FALSE))

# The ClaimReview property each claim field comes from, so an import error names what the file says.
FIELD_NAMES = {
    "id": "identifier", "claim": "claimReviewed", "verdict": "reviewRating", "rating_text": "reviewRating.alternateName",
    "summary": "reviewBody", "sources": "url", "claimant": "itemReviewed.author",
    "claim_date": "itemReviewed.datePublished", "reviewed_at": "datePublished", "tags": "keywords",
    "aliases": "itemReviewed.alternateName", "language": "inLanguage",
}


def verdict_from_rating(text: str | None, value: Any = None, best: Any = None, worst: Any = None) -> Verdict:
    """A publisher's rating as a factbot verdict: its label, else its key words, else its place on the scale.

    Words come before numbers because scales differ by publisher and are rarely
    linear; ``unverified`` is the honest answer when neither says anything.
    """
    if text:
        key = normalise_rating(text)
        if key in RATINGS:
            return RATINGS[key]
        guess = _verdict_from_words(key.split())
        if guess:
            return guess
    return _verdict_from_scale(value, best, worst) or V.UNVERIFIED


def _verdict_from_words(words: list[str]) -> Verdict | None:
    found = set(words)
    if found & _SATIRE:
        return V.SATIRE
    if found & _OUTDATED:
        return V.OUTDATED
    if found & _MISLEADING:
        return V.MISLEADING
    true, false = _polarity(words)
    if true and false:
        return V.MIXED
    if false:
        return V.MIXED if "half" in found else V.MOSTLY_FALSE if found & (_MOSTLY | _PARTLY) else V.FALSE
    if true:
        return V.MOSTLY_TRUE if found & _MOSTLY else V.MIXED if found & _PARTLY else V.TRUE
    return None


def _polarity(words: list[str]) -> tuple[bool, bool]:
    """Whether the words call the claim true and/or false; "not true" counts as false."""
    true = false = False
    for previous, word in zip(["", *words], words, strict=False):
        negated = previous in _NEGATIONS
        if word in _TRUE:
            false, true = (True, true) if negated else (false, True)
        elif word in _FALSE:
            true, false = (True, false) if negated else (true, True)
    return true, false


def _verdict_from_scale(value: Any, best: Any, worst: Any) -> Verdict | None:
    """The rating's position between worstRating and bestRating (schema.org defaults: 1 and 5)."""
    number, top, bottom = _number(value), _number(best), _number(worst)
    top = 5.0 if top is None else top
    bottom = 1.0 if bottom is None else bottom
    if number is None or top == bottom:
        return None
    position = (number - bottom) / (top - bottom)
    if not 0.0 <= position <= 1.0:
        return None
    return next(verdict for threshold, verdict in _SCALE_STEPS if position >= threshold)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(_text(value)) if not isinstance(value, (int, float)) else float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


# -- reading JSON-LD -----------------------------------------------------------


def _values(value: Any) -> list[Any]:
    """A JSON-LD property holds one value or a list of them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """The first plain value: a string, a number or a ``{"@value": ...}`` object."""
    for item in _values(value):
        if isinstance(item, Mapping):
            item = item.get("@value")
        if isinstance(item, str) and item.strip():
            return item.strip()
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return str(item)
    return ""


def _texts(value: Any, *, split_on: str = "") -> list[str]:
    """Every plain value; a lone string is split when the property allows a delimited list (keywords)."""
    if split_on and isinstance(value, str):
        value = value.split(split_on)
    return [text for text in map(_text, _values(value)) if text]


def _node(value: Any) -> Mapping:
    return next((item for item in _values(value) if isinstance(item, Mapping)), {})


def _name(value: Any) -> str:
    """The name of a Person or Organization, or the bare string some publishers give instead."""
    for item in _values(value):
        name = _text(item.get("name")) if isinstance(item, Mapping) else _text(item)
        if name:
            return name
    return ""


def _is_claimreview(node: Mapping) -> bool:
    """``ClaimReview``, ``schema:ClaimReview`` and ``http://schema.org/ClaimReview`` alike."""
    return any(isinstance(t, str) and re.split(r"[/:#]", t)[-1] == "ClaimReview" for t in _values(node.get("@type")))


def iter_claimreviews(doc: Any) -> Iterator[Mapping]:
    """Every ClaimReview in a document, in document order, wherever a page nests it.

    Pages wrap reviews in ``@graph``, ``mainEntity``, ``review`` or lists of
    those; walking every value finds them all.  The walk is iterative so a
    deeply nested document cannot exhaust the stack.
    """
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping) and _is_claimreview(node):
            yield node
        elif isinstance(node, Mapping):
            stack.extend(reversed([v for v in node.values() if isinstance(v, (list, Mapping))]))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def claimreview_to_record(obj: Mapping) -> dict:
    """One ClaimReview as a plain record for ``claim_from_dict``, which does the validating.

    Empty values are left out so the model's defaults apply (an id from the
    claim's text, ``en``, the verdict's label as rating text).
    """
    claim = _text(obj.get("claimReviewed"))
    item = _node(obj.get("itemReviewed"))
    rating = _node(obj.get("reviewRating"))
    rating_text = _text(rating.get("alternateName")) or _text(rating.get("name"))
    guessed = verdict_from_rating(rating_text, rating.get("ratingValue"), rating.get("bestRating"), rating.get("worstRating"))
    sources = _sources(obj, claim)
    record = {
        "id": _slug_id(obj),
        "claim": claim,
        "verdict": _text(rating.get(VERDICT_KEY)) or guessed.value,
        "rating_text": rating_text,
        "summary": _summary(obj, rating_text or guessed.label, sources[0].get("publisher", "")),
        "sources": sources,
        "claimant": _name(item.get("author")),
        "claim_date": _claim_date(item),
        "reviewed_at": _text(obj.get("datePublished")),
        "tags": _texts(obj.get("keywords"), split_on=","),
        "aliases": _texts(item.get("alternateName")),
        "language": _language(obj.get("inLanguage")),
    }
    return {key: value for key, value in record.items() if value}


def _slug_id(obj: Mapping) -> str:
    """``identifier`` or ``@id`` when it is usable as a claim id as it is; a page URL is not."""
    for key in ("identifier", "@id"):
        value = _text(obj.get(key))
        if CLAIM_ID_RE.match(value):
            return value
    return ""


def _sources(obj: Mapping, claim: str) -> list[dict[str, str]]:
    """The review article, then its ``citation`` list.

    factbot's export lists every source as a citation, the article's among
    them, so the article is only added when it is not cited already (or
    nothing is cited): that keeps a factbot round trip exact and a
    publisher's article first.
    """
    cited = [_source(c) for c in _values(obj.get("citation")) if isinstance(c, (str, Mapping))]
    article = _source(obj, fallback_title=claim)
    if not cited or (article.get("url") and article["url"] not in {c.get("url") for c in cited}):
        return [article, *cited]
    return cited


def _source(node: str | Mapping, *, fallback_title: str = "") -> dict[str, str]:
    if isinstance(node, str):
        return {"url": node} if node.startswith(("http://", "https://")) else {"title": node}
    source = {
        "url": _text(node.get("url")),
        "title": _text(node.get("headline")) or _text(node.get("name")) or fallback_title,
        "publisher": _name(node.get("author")) or _name(node.get("publisher")),
        "date": _text(node.get("datePublished")),
        "title_from": _text(node.get(TITLE_FROM_KEY)),
        "note": _text(node.get("description")) if fallback_title == "" else "",
    }
    return {key: value for key, value in source.items() if value}


def _summary(obj: Mapping, rating: str, publisher: str) -> str:
    """The review's own words, cut to what a claim holds; a plain sentence when it has none."""
    body = _text(obj.get("reviewBody")) or _text(obj.get("description"))
    if body:
        return _clip(body, _TEXT_LIMITS["summary"])
    return f'Rated "{rating}" by {publisher}.' if publisher else f'Rated "{rating}".'


def _clip(text: str, limit: int) -> str:
    """Publishers often put the whole article in reviewBody; keep its opening, cut at a word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


def _claim_date(item: Mapping) -> str:
    """When the claim was made: the Claim's own date, else its first dated appearance."""
    appearances = _values(item.get("appearance")) + _values(item.get("firstAppearance"))
    dates = [_text(item.get("datePublished"))] + [_text(a.get("datePublished")) for a in appearances if isinstance(a, Mapping)]
    return next((d for d in dates if d), "")


def _language(value: Any) -> str:
    """``inLanguage`` is a code, or a Language node whose alternateName is the code."""
    node = _node(value)
    return _text(value) or _text(node.get("alternateName")) or _text(node.get("name"))


# -- writing JSON-LD -----------------------------------------------------------


def node_id(claim_id: str, language: str = "") -> str:
    """A document-local JSON-LD id for a claim's review (a blank node: factbot gives claims no URLs)."""
    return f"_:factbot-{claim_id}" + (f"-{language}" if language else "")


def claim_to_claimreviews(claim: Claim, *, publisher: str = "factbot") -> list[dict]:
    """The claim's ClaimReview, then one per translation: schema.org's way for a work in several languages.

    Each translated review has its own ``inLanguage``, claim, summary and aliases, the original's verdict
    and citations, and ``translationOfWork`` pointing at the original (which lists them under
    ``workTranslation``).
    """
    original = claim_to_claimreview(claim, publisher=publisher)
    if not claim.translations:
        return [original]
    langs = sorted(claim.translations)
    original = {"@id": node_id(claim.id), **original,
                "workTranslation": [{"@id": node_id(claim.id, lang)} for lang in langs]}
    out = [original]
    for lang in langs:
        t = claim.translations[lang]
        review = {key: value for key, value in original.items() if key not in ("@id", "workTranslation")}
        item = {**review.get("itemReviewed", {"@type": "Claim"}), "alternateName": list(t.aliases)}
        review.update({
            "@id": node_id(claim.id, lang), "inLanguage": lang, "claimReviewed": t.claim, "reviewBody": t.summary,
            "itemReviewed": _compact(item), "translationOfWork": {"@id": node_id(claim.id)}, DIGEST_KEY: t.source_digest,
        })
        out.append(_compact(review))
    return out


def translation_of(review: Mapping) -> str:
    """The ``@id`` of the review this one translates ("" when it is an original)."""
    return _text(_node(review.get("translationOfWork")).get("@id")) or _text(review.get("translationOfWork"))


def claimreview_to_translation(review: Mapping) -> tuple[str, dict]:
    """A translated review as (language, translation record for ``translation_from_dict``)."""
    item = _node(review.get("itemReviewed"))
    record = {
        "claim": _text(review.get("claimReviewed")),
        "summary": _text(review.get("reviewBody")) or _text(review.get("description")),
        "aliases": _texts(item.get("alternateName")),
        "source_digest": _text(review.get(DIGEST_KEY)),
    }
    return _language(review.get("inLanguage")), {k: v for k, v in record.items() if v}


def claim_to_claimreview(claim: Claim, *, publisher: str = "factbot") -> dict:
    """A ClaimReview for one claim, valid for schema.org consumers and lossless for factbot.

    The review article is the first source with a URL (ClaimReview wants a
    ``url``); every source, that one too, is also listed under ``citation``
    so sources without a URL and their order survive the trip.
    """
    article = next((s for s in claim.sources if s.url), next(iter(claim.sources), Source(title="")))
    item = {
        "@type": "Claim",
        "author": _organization(claim.claimant),
        "datePublished": claim.claim_date,
        "alternateName": list(claim.aliases),
    }
    review = {
        "@context": CONTEXT,
        "@type": "ClaimReview",
        "identifier": claim.id,
        "url": article.url,
        "headline": article.title,
        "author": _organization(article.publisher or publisher),
        "datePublished": claim.reviewed_at,
        "inLanguage": claim.language,
        "claimReviewed": claim.claim,
        "itemReviewed": _compact(item),
        "reviewRating": _rating(claim),
        "reviewBody": claim.summary,
        "keywords": list(claim.tags),
        "citation": [_citation(s) for s in claim.sources],
    }
    return _compact(review)


def _rating(claim: Claim) -> dict:
    """The publisher's words, factbot's verdict, and a 1..5 score when the verdict is a degree of truth."""
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": claim.rating_text, VERDICT_KEY: claim.verdict.value}
    score = _SCORES.get(claim.verdict)
    if score is not None:
        rating.update(ratingValue=score, bestRating=5, worstRating=1)
    return _compact(rating)


def _citation(source: Source) -> dict:
    return _compact({
        "@type": "CreativeWork",
        "name": source.title,
        "url": source.url,
        "publisher": _organization(source.publisher),
        "datePublished": source.date,
        "description": source.note,
        TITLE_FROM_KEY: source.title_from,
    })


def _organization(name: str) -> dict:
    return {"@type": "Organization", "name": name} if name else {}


def _compact(node: dict) -> dict:
    """Leave out empty properties: JSON-LD has no use for "" and consumers flag it."""
    return {key: value for key, value in node.items() if value not in ("", [], {}, None)}
