"""From a chat message to a decision: ``match``, ``possible`` or ``none``.

Retrieval and decision are separate on purpose.  BM25 (``index.ClaimIndex``)
finds the candidates, because it is the ranker that holds up on real
fact-check archives (see docs/performance.md).  The decision then asks a
different question of the few best candidates: how much of what the message
says does this claim, in its best phrasing, cover, and how much of the claim
does the message say?  Both are counted in informative words (weighted by
IDF, so "Alibaba" counts and "said" does not) with rapidfuzz forgiving typos
word by word.  A message about nothing in the database covers little of any
claim and gets ``none``: there is no forced match.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .index import ClaimIndex
from .models import Candidate, CheckResult, Claim, Decision, SegmentResult
from .normalize import clean, fold, segments, strip_markup, terms
from .store import Store


@dataclass(frozen=True)
class MatchConfig:
    """Thresholds and limits; every one is a configuration key under ``[matcher]``."""

    match_threshold: float = 0.36
    possible_threshold: float = 0.26
    # A second (third...) claim in the same message is added to the reply only
    # with stronger evidence than the first: one reply, few wrong verdicts.
    extra_claim_threshold: float = 0.5
    retrieve: int = 12  # BM25 candidates that get the full decision scoring
    max_chars: int = 4000  # longer messages are checked on their first max_chars characters
    max_segments: int = 6
    coverage_weight: float = 1.0  # F-beta's beta squared: below 1 favours "message covered", above "claim covered"

    def validate(self) -> "MatchConfig":
        if not 0 < self.possible_threshold <= self.match_threshold <= 1 or not 0 < self.extra_claim_threshold <= 1:
            raise ValueError("matcher thresholds must satisfy 0 < possible_threshold <= match_threshold <= 1")
        if self.retrieve < 1 or self.max_chars < 1 or self.max_segments < 1:
            raise ValueError("matcher.retrieve, max_chars and max_segments must be positive")
        return self


FUZZY_HIT_WEIGHT = 0.7  # a word matched only through a typo counts for less than an exact one


def _hit(word: str, others: frozenset[str], choices: Sequence[str]) -> float:
    """1 if ``word`` is among ``others``; FUZZY_HIT_WEIGHT if one typo away (a swap counts as one; two for 8+ letters)."""
    if word in others:
        return 1.0
    if len(word) < 4 or word.isdigit():
        return 0.0
    cutoff = 1 if len(word) < 8 else 2
    hit = process.extractOne(word, choices, scorer=OSA.distance, score_cutoff=cutoff)
    return FUZZY_HIT_WEIGHT if hit is not None else 0.0


# How much a message's matched words can prove, by how many informative words matched:
# one shared word ("alibaba?") is never enough for a confident verdict.
_EVIDENCE = (0.0, 0.6, 0.85, 1.0)


@functools.lru_cache(maxsize=50_000)
def _variant_terms(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    ts = terms(text)
    uniq = tuple(dict.fromkeys(ts))
    return frozenset(uniq), uniq


def _claim_vocabulary(claim: Claim) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every informative word of every phrasing of a claim."""
    words: dict[str, None] = {}
    for text in claim.texts():
        words.update(dict.fromkeys(_variant_terms(text)[1]))
    return frozenset(words), tuple(words)


class Matcher:
    """Checks text against the claims in a store."""

    def __init__(self, store: Store, index: ClaimIndex | None = None, config: MatchConfig | None = None):
        self.store = store
        self.index = index or ClaimIndex(store)
        self.config = (config or MatchConfig()).validate()

    # -- public ------------------------------------------------------------
    def check(self, text: object, *, top: int = 3) -> CheckResult:
        """Check a whole message, claim by claim, and consolidate the answer."""
        raw = clean(text)
        notice = ""
        if len(raw) > self.config.max_chars:
            raw = raw[: self.config.max_chars]
            notice = f"The message is long; only its first {self.config.max_chars:,} characters were checked."
        if not terms(raw):
            why = "There is nothing to check in this message: no words left once mentions, links and emoji are removed."
            if not strip_markup(raw).strip():
                why = "There is nothing to check: the message is empty once mentions, links and emoji are removed."
            return CheckResult(query=raw, decision=Decision.NONE, notice=notice or why)

        parts = segments(raw, max_segments=self.config.max_segments)
        seg_results = [self._check_segment(raw, top=max(top, 3))]
        if len(parts) > 1:
            seg_results += [self._check_segment(p, top=max(top, 3)) for p in parts]

        merged: dict[str, Candidate] = {}
        matched: dict[str, Candidate] = {}
        for seg in seg_results:
            for cand in seg.candidates:
                if cand.claim.id not in merged or cand.score > merged[cand.claim.id].score:
                    merged[cand.claim.id] = cand
            if seg.decision is Decision.MATCH and seg.best is not None:
                best = seg.best
                if best.claim.id not in matched or best.score > matched[best.claim.id].score:
                    matched[best.claim.id] = best
        ranked = sorted(merged.values(), key=lambda c: c.score, reverse=True)
        kept = sorted(matched.values(), key=lambda c: c.score, reverse=True)
        extra = max(self.config.extra_claim_threshold, self.config.match_threshold)
        kept = kept[:1] + [c for c in kept[1:] if c.score >= extra]
        if matched:
            decision = Decision.MATCH
        elif any(s.decision is Decision.POSSIBLE for s in seg_results):
            decision = Decision.POSSIBLE
        else:
            decision = Decision.NONE
        return CheckResult(
            query=raw,
            decision=decision,
            matches=tuple(kept),
            candidates=tuple(ranked[:top]),
            segments=tuple(seg_results),
            notice=notice,
        )

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        """Candidates for one text, best first, with no decision: for search listings and benchmarks."""
        return list(self._check_segment(clean(text), top=limit).candidates)

    # -- internals -----------------------------------------------------------
    def _check_segment(self, text: str, *, top: int) -> SegmentResult:
        q_terms = terms(text)
        hits = self.index.search(q_terms, limit=max(self.config.retrieve, top))
        if not hits:
            return SegmentResult(text=text, decision=Decision.NONE, candidates=())
        claims = self.store.get_many([cid for cid, _ in hits])
        q_unique = tuple(dict.fromkeys(q_terms))
        q_set = frozenset(q_unique)
        q_fold = fold(text)
        idf = {t: self.index.idf(t) for t in q_unique}
        scored = []
        for rank, (cid, bm25) in enumerate(hits):
            claim = claims.get(cid)
            if claim is None:
                continue
            if rank < self.config.retrieve:
                scored.append(self._score(claim, bm25, q_unique, q_set, q_fold, idf, text))
            else:
                scored.append(Candidate(claim, 0.0, claim.claim, False, bm25, 0.0, 0.0, text))
        scored.sort(key=lambda c: c.score, reverse=True)
        best = scored[0] if scored else None
        if best is None or best.score < self.config.possible_threshold:
            decision = Decision.NONE
        elif best.score >= self.config.match_threshold:
            decision = Decision.MATCH
        else:
            decision = Decision.POSSIBLE
        return SegmentResult(text=text, decision=decision, candidates=tuple(scored[:top]))

    def _score(
        self,
        claim: Claim,
        bm25: float,
        q_unique: tuple[str, ...],
        q_set: frozenset[str],
        q_fold: str,
        idf: dict[str, float],
        segment: str,
    ) -> Candidate:
        """Confidence that the message makes this claim, from two coverages.

        ``cq``: the share of the message's informative words that the claim
        uses in any of its phrasings (people mix the words of several).
        ``cv``: the share of the best single phrasing that the message says.
        Their weighted harmonic mean, scaled by how many words matched at all.
        """
        q_total = sum(idf.values()) or 1.0
        u_set, u_unique = _claim_vocabulary(claim)
        q_hits = [_hit(t, u_set, u_unique) for t in q_unique]
        cq = sum(idf[t] * h for t, h in zip(q_unique, q_hits)) / q_total
        evidence = _EVIDENCE[min(sum(1 for h in q_hits if h), len(_EVIDENCE) - 1)]
        best_cv, best_i = 0.0, 0
        for i, variant in enumerate(claim.texts()):
            _, v_unique = _variant_terms(variant)
            weights = [self.index.idf(t) for t in v_unique]
            total = sum(weights)
            if not total:
                continue
            cv = sum(w * _hit(t, q_set, q_unique) for t, w in zip(v_unique, weights)) / total
            if cv > best_cv:
                best_cv, best_i = cv, i
        b2 = self.config.coverage_weight
        conf = 0.0 if cq <= 0 or best_cv <= 0 else evidence * (1 + b2) * cq * best_cv / (b2 * cq + best_cv)
        variant = claim.texts()[best_i]
        return Candidate(
            claim=claim,
            score=min(conf, 1.0),
            matched_text=variant,
            matched_alias=best_i > 0,
            lexical=bm25,
            fuzzy=float(fuzz.token_sort_ratio(q_fold, fold(variant))),
            coverage=cq,
            segment=segment,
        )
