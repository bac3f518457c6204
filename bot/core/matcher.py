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
import logging
from dataclasses import dataclass, replace
from typing import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .i18n import N_
from .index import ClaimIndex, phrasing_key
from .models import Candidate, CheckResult, Claim, Decision, SegmentResult
from .normalize import clean, fold, segments, strip_markup, terms
from .store import Store

log = logging.getLogger(__name__)

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
    # -- semantic matching (the ``semantic`` extra; docs/semantic.md) --
    semantic: str = "auto"  # "auto": on when the extra is installed; "on": required; "off": lexical only
    embedding_model: str = "all-MiniLM-L6-v2"  # a model name or a local model folder
    semantic_weight: float = 0.4  # share of the vector part in the fused score (the rest is lexical)
    vector_candidates: int = 10  # nearest claims by embedding that join BM25's candidates
    vector_index_above: int = 300_000  # phrasings above which vector search uses an HNSW graph, not exact search

    def validate(self) -> "MatchConfig":
        if not 0 < self.possible_threshold <= self.match_threshold <= 1 or not 0 < self.extra_claim_threshold <= 1:
            raise ValueError("matcher thresholds must satisfy 0 < possible_threshold <= match_threshold <= 1")
        if self.retrieve < 1 or self.max_chars < 1 or self.max_segments < 1:
            raise ValueError("matcher.retrieve, max_chars and max_segments must be positive")
        if self.semantic not in ("auto", "on", "off"):
            raise ValueError("matcher.semantic must be auto, on or off")
        if not 0 <= self.semantic_weight <= 1:
            raise ValueError("matcher.semantic_weight must be between 0 and 1")
        if self.vector_candidates < 0 or self.vector_index_above < 1:
            raise ValueError("matcher.vector_candidates must be 0 or more and vector_index_above positive")
        return self



# The fused score (semantic matching on), calibrated on the dev set and CLEF 2020 (docs/semantic.md):
VECTOR_CEILING = 0.9  # cosine at which the vector part of the weighted sum is full
VECTOR_ALONE_ZERO = 0.3  # a cosine at or below this is no evidence on its own...
VECTOR_ALONE_MATCH = 0.7  # ...and one at or above this is a match on its own, whatever the words
# Raw fused scores at the possible and match boundaries, mapped (piecewise linearly) onto the lexical
# scale's default thresholds, so that match_threshold, possible_threshold, extra_claim_threshold and
# the bot's watch_min_score mean the same in both modes.
FUSED_POSSIBLE_AT = 0.35
FUSED_MATCH_AT = 0.45
_CALIBRATION = ((0.0, 0.0), (FUSED_POSSIBLE_AT, 0.26), (FUSED_MATCH_AT, 0.36), (1.0, 1.0))


def calibrate(raw: float) -> float:
    """A raw fused score on the lexical confidence scale (monotone, piecewise linear)."""
    raw = min(max(raw, 0.0), 1.0)
    for (x0, y0), (x1, y1) in zip(_CALIBRATION, _CALIBRATION[1:]):
        if raw <= x1:
            return y0 + (raw - x0) * (y1 - y0) / (x1 - x0)
    return 1.0


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


def _phrasing_terms(text: str, analysed: dict[int, str] | None) -> tuple[frozenset[str], tuple[str, ...]]:
    """A phrasing's words: as the index stored them when it has them (no re-analysis), else analysed now."""
    if analysed:
        stored = analysed.get(phrasing_key(text))
        if stored is not None:
            uniq = tuple(dict.fromkeys(stored.split()))
            return frozenset(uniq), uniq
    return _variant_terms(text)


def _claim_vocabulary(claim: Claim, analysed: dict[int, str] | None = None) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every informative word of every phrasing of a claim."""
    words: dict[str, None] = {}
    for text in claim.texts():
        words.update(dict.fromkeys(_phrasing_terms(text, analysed)[1]))
    return frozenset(words), tuple(words)


class Matcher:
    """Checks text against the claims in a store."""

    def __init__(self, store: Store, index: ClaimIndex | None = None, config: MatchConfig | None = None):
        self.store = store
        self.index = index or ClaimIndex(store)
        self.config = (config or MatchConfig()).validate()
        self.vectors = None  # a vectors.VectorIndex when semantic matching is on
        self.semantic_status = ""  # one line for --explain and `factbot model info`
        self._init_semantic()

    def _init_semantic(self) -> None:
        """Turn semantic matching on when configured and possible; otherwise say why it is off."""
        from .embeddings import ENABLE_HINT, ModelMissing, SemanticUnavailable, semantic_available

        mode = self.config.semantic
        if mode == "off":
            self.semantic_status = "off (matcher.semantic = off)"
            return
        if not semantic_available():
            if mode == "on":
                raise SemanticUnavailable(f"matcher.semantic is on, but the semantic extra is missing: {ENABLE_HINT}")
            self.semantic_status = f"off: lexical matching only; to enable semantic matching, {ENABLE_HINT}"
            return
        from .embeddings import shared_embedder
        from .vectors import VectorIndex

        try:
            embedder = shared_embedder(self.config.embedding_model)
        except ModelMissing as exc:
            if mode == "on":
                raise
            log.warning("semantic matching is off: %s", exc)
            self.semantic_status = f"off: {exc}"
            return
        self.vectors = VectorIndex(self.store, embedder, hnsw_above=self.config.vector_index_above)
        self.semantic_status = f"on: {embedder.name}"

    @property
    def semantic(self) -> bool:
        return self.vectors is not None

    def _embed(self, texts: Sequence[str]):
        """All the texts of one message through the model in one call (None when semantic matching is off)."""
        if self.vectors is None:
            return None
        return self.vectors.embedder.encode_queries([strip_markup(t) for t in texts])

    # -- public ------------------------------------------------------------
    def check(self, text: object, *, top: int = 3) -> CheckResult:
        """Check a whole message, claim by claim, and consolidate the answer."""
        raw = clean(text)
        notice = ""
        if len(raw) > self.config.max_chars:
            raw = raw[: self.config.max_chars]
            notice = N_("The message is long; only its first %(chars)s characters were checked.",
                        chars=self.config.max_chars)
        if not terms(raw):
            why = N_("There is nothing to check in this message: no words left once mentions, links and emoji are removed.")
            if not strip_markup(raw).strip():
                why = N_("There is nothing to check: the message is empty once mentions, links and emoji are removed.")
            return CheckResult(query=raw, decision=Decision.NONE, notice=notice or why)

        parts = segments(raw, max_segments=self.config.max_segments)
        texts = [raw] + (parts if len(parts) > 1 else [])
        qvecs = self._embed(texts)
        seg_results = [
            self._check_segment(t, top=max(top, 3), qvec=None if qvecs is None else qvecs[i]) for i, t in enumerate(texts)
        ]

        if self.semantic:
            decision, kept, ranked = self._consolidate_semantic(seg_results)
            # Copies can also meet across sentences (each sentence merged only the copies it found).
            copies = self._copies([*kept, *ranked])
            kept, ranked = self._collapse_duplicates(kept, copies), self._collapse_duplicates(ranked, copies)
            return CheckResult(
                query=raw, decision=decision, matches=tuple(kept), candidates=tuple(ranked[:top]),
                segments=tuple(seg_results), notice=notice,
            )
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
        copies = self._copies([*kept, *ranked])  # copies met in different sentences
        kept, ranked = self._collapse_duplicates(kept, copies), self._collapse_duplicates(ranked, copies)
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

    def _consolidate_semantic(self, seg_results: list[SegmentResult]) -> tuple[Decision, list[Candidate], list[Candidate]]:
        """One answer from the whole message and its sentences, when the scores include meaning.

        A single sentence is close in meaning to more claims than the whole message is, so a
        sentence's match must clear ``extra_claim_threshold`` unless the whole message agrees, and
        the whole message's own candidates rank first (on CLEF this kept MAP@5 at 0.87 where the
        lexical rule, best score of any part first, gave 0.84).
        """
        whole, parts = seg_results[0], seg_results[1:]
        extra = max(self.config.extra_claim_threshold, self.config.match_threshold)
        kept: dict[str, Candidate] = {}
        if whole.decision is Decision.MATCH and whole.best is not None:
            kept[whole.best.claim.id] = whole.best
        near_miss = whole.decision is Decision.POSSIBLE
        for seg in sorted(parts, key=lambda s: s.best.score if s.best else 0.0, reverse=True):
            best = seg.best
            if seg.decision is Decision.MATCH and best is not None and best.claim.id not in kept:
                if best.score >= extra or any(c.claim.id == best.claim.id for c in whole.candidates[:1]):
                    kept[best.claim.id] = best
                else:
                    near_miss = True
            elif seg.decision is Decision.POSSIBLE:
                near_miss = True
        ranked = list(whole.candidates)
        seen = {c.claim.id for c in ranked}
        rest: dict[str, Candidate] = {}
        for seg in parts:
            for cand in seg.candidates:
                if cand.claim.id not in seen and (cand.claim.id not in rest or cand.score > rest[cand.claim.id].score):
                    rest[cand.claim.id] = cand
        ranked += sorted(rest.values(), key=lambda c: c.score, reverse=True)
        if kept:
            decision = Decision.MATCH
        elif near_miss:
            decision = Decision.POSSIBLE
        else:
            decision = Decision.NONE
        return decision, list(kept.values()), ranked

    def rank(self, text: str, limit: int = 10) -> list[Candidate]:
        """Candidates for one text, best first, with no decision: for search listings and benchmarks."""
        text = clean(text)
        qvecs = self._embed([text])
        return list(self._check_segment(text, top=limit, qvec=None if qvecs is None else qvecs[0]).candidates)

    # -- internals -----------------------------------------------------------
    def _check_segment(self, text: str, *, top: int, qvec=None) -> SegmentResult:
        q_terms = terms(text)
        found = self.index.search_analysed(q_terms, limit=max(self.config.retrieve, top))
        hits = [(cid, score) for cid, score, _ in found]
        analysed = {cid: phrasings for cid, _, phrasings in found}
        near = []
        if qvec is not None and self.vectors is not None and self.config.vector_candidates:
            near = self.vectors.search(qvec[None, :], k=max(self.config.vector_candidates, top))[0]
        if not hits and not near:
            return SegmentResult(text=text, decision=Decision.NONE, candidates=())
        bm25_of = dict(hits)
        order = list(dict.fromkeys([cid for cid, _ in hits] + [h.claim_id for h in near]))
        claims = self.store.get_many(order)
        q_unique = tuple(dict.fromkeys(q_terms))
        q_set = frozenset(q_unique)
        q_fold = fold(text)
        idf = {t: self.index.idf(t) for t in q_unique}
        word_idf, said = dict(idf), {}  # per-segment memos for _score
        lexical_rank = {cid: i for i, (cid, _) in enumerate(hits)}
        scored = []
        for cid in order:
            claim = claims.get(cid)
            if claim is None:
                continue
            if lexical_rank.get(cid, 0) < self.config.retrieve:
                scored.append(self._score(claim, bm25_of.get(cid, 0.0), q_unique, q_set, q_fold, idf, text,
                                          word_idf=word_idf, said=said, analysed=analysed.get(cid)))
            else:
                scored.append(Candidate(claim, 0.0, claim.claim, False, bm25_of[cid], 0.0, 0.0, text))
        if qvec is not None and self.vectors is not None:
            scored = self._fuse(scored, qvec, near)
        scored.sort(key=lambda c: c.score, reverse=True)
        scored = self._collapse_duplicates(scored)
        best = scored[0] if scored else None
        if best is None or best.score < self.config.possible_threshold:
            decision = Decision.NONE
        elif best.score >= self.config.match_threshold:
            decision = Decision.MATCH
        else:
            decision = Decision.POSSIBLE
        return SegmentResult(text=text, decision=decision, candidates=tuple(scored[:top]))

    def _copies(self, cands: Sequence[Candidate]) -> dict[str, Candidate]:
        """For each claim id among ``cands`` that has a copy among them, the entry that stands for both.

        Archives file the same claim more than once (a re-publication, a copy that differs only in its
        quotation marks), and a reply that lists one claim twice under "did you mean" wastes a line and
        hides the next candidate. Claims with the same text (compared case-, punctuation- and
        quote-insensitively) and the same verdict are one entry: the claim stored first (the original
        record), scored as the best of its copies, with the others' ids in ``duplicates``. Claims with
        the same text but different verdicts stay apart: that disagreement is for the reader to see.
        """
        groups: dict[tuple[str, str], dict[str, Candidate]] = {}
        for cand in cands:
            group = groups.setdefault((fold(cand.claim.claim), cand.claim.verdict.value), {})
            if cand.claim.id not in group or cand.score > group[cand.claim.id].score:
                group[cand.claim.id] = cand
        out: dict[str, Candidate] = {}
        for group in groups.values():
            if len(group) == 1:
                continue
            order = self.store.first_stored(list(group)) or list(group)
            first = group[order[0]]
            also = dict.fromkeys([*order[1:], *(d for c in group.values() for d in c.duplicates)])
            also.pop(first.claim.id, None)
            entry = replace(first, score=max(c.score for c in group.values()), duplicates=tuple(also))
            out.update(dict.fromkeys(group, entry))
        return out

    def _collapse_duplicates(self, cands: list[Candidate], copies: dict[str, Candidate] | None = None) -> list[Candidate]:
        """``cands`` with each group of copies (see ``_copies``) listed once, where its first member was."""
        copies = self._copies(cands) if copies is None else copies
        if not copies:
            return cands
        out, seen = [], set()
        for cand in cands:
            entry = copies.get(cand.claim.id, cand)
            if entry.claim.id not in seen:
                seen.add(entry.claim.id)
                out.append(entry)
        return out

    def fused_score(self, lexical: float, cosine: float) -> float:
        """The decision confidence from the lexical confidence and the cosine (docs/semantic.md).

        A weighted sum, so that words and meaning add up (the better ranking on CLEF), or the cosine
        alone when it is high enough to decide by itself (a paraphrase that shares no word); then
        calibrated onto the lexical scale, so the thresholds mean the same with and without the extra.
        """
        w = self.config.semantic_weight
        summed = (1 - w) * lexical + w * min(max(cosine, 0.0) / VECTOR_CEILING, 1.0)
        alone = FUSED_MATCH_AT * (cosine - VECTOR_ALONE_ZERO) / (VECTOR_ALONE_MATCH - VECTOR_ALONE_ZERO)
        return calibrate(max(summed, alone))

    def _fuse(self, scored: list[Candidate], qvec, near) -> list[Candidate]:
        assert self.vectors is not None
        cos = {h.claim_id: (h.cosine, h.variant) for h in near}
        missing = [c.claim.id for c in scored if c.claim.id not in cos]
        if missing:
            cos.update(self.vectors.cosines(qvec, missing))
        out = []
        for c in scored:
            cosine, variant = cos.get(c.claim.id, (0.0, 0))
            texts = c.claim.texts()
            out.append(
                replace(
                    c,
                    score=self.fused_score(c.score, cosine),
                    vector=cosine,
                    vector_text=texts[variant] if variant < len(texts) else c.claim.claim,
                    lexical_score=c.score,
                )
            )
        return out

    def _score(
        self,
        claim: Claim,
        bm25: float,
        q_unique: tuple[str, ...],
        q_set: frozenset[str],
        q_fold: str,
        idf: dict[str, float],
        segment: str,
        *,
        word_idf: dict[str, float] | None = None,
        said: dict[str, float] | None = None,
        analysed: dict[int, str] | None = None,
    ) -> Candidate:
        """Confidence that the message makes this claim, from two coverages.

        ``cq``: the share of the message's informative words that the claim
        uses in any of its phrasings (people mix the words of several).
        ``cv``: the share of the best single phrasing that the message says.
        Their weighted harmonic mean, scaled by how many words matched at all.
        """
        q_total = sum(idf.values()) or 1.0
        u_set, u_unique = _claim_vocabulary(claim, analysed)
        q_hits = [_hit(t, u_set, u_unique) for t in q_unique]
        cq = sum(idf[t] * h for t, h in zip(q_unique, q_hits)) / q_total
        evidence = _EVIDENCE[min(sum(1 for h in q_hits if h), len(_EVIDENCE) - 1)]
        best_cv, best_i = 0.0, 0
        # The message side is the same for every candidate of this segment: a claim word's IDF and its
        # hit on the message are computed once per segment (``word_idf``, ``said``), not once per
        # phrasing of every candidate.
        word_idf = {} if word_idf is None else word_idf
        said = {} if said is None else said
        for i, variant in enumerate(claim.texts()):
            _, v_unique = _phrasing_terms(variant, analysed)
            weights = [word_idf[t] if t in word_idf else word_idf.setdefault(t, self.index.idf(t)) for t in v_unique]
            total = sum(weights)
            if not total:
                continue
            cv = sum(w * (said[t] if t in said else said.setdefault(t, _hit(t, q_set, q_unique)))
                     for t, w in zip(v_unique, weights)) / total
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
