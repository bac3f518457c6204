"""Train the decision model (bot/core/decision_model.json) and measure it on what it was not trained on.

    python bench/train_decision.py PATH/TO/clef2020-task2 [--clef-db clef.db] [--write]

What it learns from, all public or written for this project:

* the CLEF 2020 CheckThat! task 2 **training split** (tweets against 10,375 Snopes fact-checks): a tweet's
  candidates are labelled by the task's qrels. Tweets with an even id train; odd ids are held out.
* the chat dev sets in ``tests/data/`` (English ``devset.jsonl``, ``devset_multilingual.jsonl``) against the
  bundled claims, and the chatter set ``chatter.jsonl`` (messages that share words or topic with the claims
  but make none of them: every candidate is negative). Lines marked ``"split": "held-out"`` (for the English
  set: a third of the lines, by a hash of the text) are never trained on.

For every message, the matcher's own candidate generation (BM25 and the nearest claims by meaning) gives the
candidates and ``Candidate.features`` their evidence; a logistic regression (scikit-learn, standardised
features, chat lines weighted up so the small chat sets count beside 800 tweets) learns P(this candidate is
the claim the message makes): the ranking. Three sets of weights: ``semantic`` (every feature), ``generic``
(the cosine only relative to the other candidates') and ``lexical`` (the features a lexical matcher has). Then,
for each set, the decision stage (``decide`` in bot/core/decision.py): a logistic regression over the chat tune
lines' best candidates alone, with the ranking's log-odds and margin among its inputs, labelled by whether the
line makes that claim. Its thresholds are chosen on the training lines: ``match_at`` the lowest probability at
which the chat lines' verdicts are at least 98.5 % right and the chatter gets none (plus a margin),
``possible_at`` the lowest at which at most 4 % of the chatter would get a "did you mean". Last, for the default
engine's set, the reranker (``fit_reranker``): the same features and rows, fitted with a ranking term as well, to
order the candidates while the ranking model and the decision stage decide. ``--rerank-only`` keeps the shipped
ranking, decision stages and thresholds and fits the reranker alone.

Prints the held-out figures (CLEF MAP@5, chat precision/recall per language, chatter verdicts and
possibles) beside the shipped model's in the same run, and with ``--write`` replaces the shipped file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bot.core import langid  # noqa: E402
from bot.core.decision import FEATURES, INDEX, RANK_FEATURES, DecisionModel, Weights, decide, load_model, logit  # noqa: E402
from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.matcher import MatchConfig, Matcher  # noqa: E402
from bot.core.normalize import clean, strip_markup, strip_pasted  # noqa: E402
from bot.core.service import open_store  # noqa: E402
from bot.core.store import Store  # noqa: E402

DATA = ROOT / "tests" / "data"
# The two coverages enter through lex_conf (their F-measure) only: on their own they are collinear with it, and
# the fit gave claim coverage a negative weight, which made a short question that names a claim's words a match.
# The ranking weights never see the decision stage's inputs (the ranking's own output) nor whether the message
# is a question: CLEF tweets that ask "why…?" still have their fact-check, so the ranking would learn nothing
# from it there but noise.
SEMANTIC_FEATURES = tuple(f for f in FEATURES if f not in ("coverage", "claim_coverage", "wh_question", *RANK_FEATURES))
LEXICAL_FEATURES = tuple(f for f in SEMANTIC_FEATURES if not f.startswith("cos"))
GENERIC_FEATURES = tuple(f for f in SEMANTIC_FEATURES if f not in ("cos", "cos_x_spaceless", "cos_claim", "cos_mean"))
# The decision stage (bot/core/decision.py ``decide``): trained on the chat sets' tune lines alone, over the best
# candidate's evidence, whether the message asks a wh-question, and the ranking's log-odds and margin.
DECIDE_SEMANTIC = ("lex_conf", "evidence", "bm25_rel", "fuzzy", "cos", "cos_gap", "cos_claim", "cos_mean", "english",
                   "spaceless", "query_terms", "number_clash", "wh_question", *RANK_FEATURES)
DECIDE_GENERIC = tuple(f for f in DECIDE_SEMANTIC if f not in ("cos", "cos_claim", "cos_mean"))
DECIDE_LEXICAL = tuple(f for f in DECIDE_SEMANTIC if not f.startswith("cos"))
CHAT_WEIGHT = 20.0  # a chat line counts this many CLEF tweets: the chat sets are small, and decisions are made there
# The reranker's fit (``fit_reranker``): the weight of its ranking term against the log-loss, and the L2 penalty on
# the standardised weights. Five settings (0.1 / 0.3 / 1 with 1e-4, and 0.3 with 1e-5 / 1e-3) were compared; each
# beat the pointwise ranking on both CLEF halves by 0.007-0.018 of MAP@5 (docs/performance.md); the sets it orders.
LISTWISE = 0.3
L2 = 1e-3
RERANK_SETS = ("semantic",)
MARGIN = 0.03


def english_split(text: str) -> str:
    return "held-out" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 3 == 0 else "tune"


def retired_ids() -> dict[str, list[str]]:
    """Retired claim id -> the ids that replaced it (knowledge/retired/): a line naming an old id is still right."""
    import yaml

    out = {}
    for path in sorted((ROOT / "knowledge" / "retired").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out[str(data.get("id"))] = [str(x) for x in data.get("replaced_by") or []]
    return out


def gold_of(expected, retired: dict[str, list[str]]) -> set[str]:
    """The claims that answer a line: one id, a list of acceptable ids, or none; retired ids as their successors."""
    ids = [] if not expected else [expected] if isinstance(expected, str) else list(expected)
    return {new for i in ids for new in (retired.get(i) or [i])}


def chat_lines() -> list[dict]:
    """Every chat line with its expected claims (empty for chatter and near misses) and its split."""
    retired = retired_ids()
    lines = []
    for name in ("devset.jsonl", "devset_multilingual.jsonl", "chatter.jsonl"):
        path = DATA / name
        if not path.is_file():
            print(f"({name} is missing: skipped)", file=sys.stderr)
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            lines.append({
                "set": name.split(".")[0], "text": row["text"], "expected": gold_of(row.get("expected"), retired) or None,
                "lang": row.get("lang", "en"), "kind": row.get("kind", ""),
                "split": row.get("split") or english_split(row["text"]),
            })
    return lines


def candidates(matcher: Matcher, text: str) -> list:
    """The whole message's candidates with their features, as the matcher scores them (no segment logic)."""
    text = strip_pasted(clean(text))  # as Matcher.check reads a message
    qvecs = matcher._embed([text])
    lang = langid.detect(strip_markup(text)).language
    seg = matcher._check_segment(text, top=40, qvec=None if qvecs is None else qvecs[0], language=lang)
    return list(seg.candidates)


def rows_for(matcher: Matcher, text: str, gold: set[str]) -> list[tuple[tuple[float, ...], int, str, tuple[str, ...]]]:
    out = []
    for c in candidates(matcher, text):
        ids = {c.claim.id, *c.duplicates}
        out.append((c.features, int(bool(ids & gold)), c.claim.id, tuple(c.duplicates)))
    return out


def collect(matcher: Matcher, items: list[tuple[str, str, set[str]]], label: str) -> dict[str, list]:
    started = time.perf_counter()
    data = {}
    for i, (qid, text, gold) in enumerate(items):
        data[qid] = rows_for(matcher, text, gold)
        if (i + 1) % 200 == 0:
            print(f"  {label}: {i + 1}/{len(items)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return data


def fit(X: np.ndarray, y: np.ndarray, w: np.ndarray, names: tuple[str, ...]) -> Weights:
    from sklearn.linear_model import LogisticRegression

    idx = [FEATURES.index(n) for n in names]
    Xs = X[:, idx]
    mean, scale = Xs.mean(axis=0), Xs.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((Xs - mean) / scale, y, sample_weight=w)
    return Weights(features=names, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                   coef=tuple(map(float, model.coef_[0])), intercept=float(model.intercept_[0]),
                   match_at=0.5, possible_at=0.3)


def fit_reranker(X: np.ndarray, y: np.ndarray, w: np.ndarray, names: tuple[str, ...], groups: list[np.ndarray],
                 listwise: float = LISTWISE) -> Weights:
    """The order of a message's candidates (``decide``'s reranker): a linear model fitted with a ranking term.

    The ranking model is fitted pointwise: each candidate is judged alone, so the fit spends its weight on telling
    every weak candidate from every strong one, most of which no message ever puts side by side. Ranking is a
    comparison within one message: this loss adds to the mean log-loss, per message of ``groups`` that has its
    claim among the candidates, minus the log of the share of the softmax over its candidates' scores that goes
    to the right ones (a conditional logit), weighted ``listwise``. Fitted as the ranking model and made to decide
    as well, it lost chat lines (its probabilities for right claims came out lower against the same chatter), so
    it only orders; its thresholds are placeholders nothing reads."""
    idx = [FEATURES.index(n) for n in names]
    Xs = X[:, idx]
    mean, scale = Xs.mean(axis=0), Xs.std(axis=0)
    scale[scale == 0] = 1.0
    intercept, coef = fit_listwise((Xs - mean) / scale, y.astype(np.float64), w, groups, listwise)
    return Weights(features=names, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                   coef=tuple(map(float, coef)), intercept=intercept, match_at=0.5, possible_at=0.3)


def fit_listwise(Z: np.ndarray, y: np.ndarray, w: np.ndarray, groups: list[np.ndarray], listwise: float,
                 l2: float = L2) -> tuple[float, np.ndarray]:
    """Minimise the weighted mean log-loss + ``listwise`` × the mean conditional-logit loss of the groups that
    have a positive + ``l2``/2 × |coef|² over standardised features ``Z``; returns (intercept, coef)."""
    from scipy.optimize import minimize

    ranked = [g for g in groups if len(g) > 1 and y[g].any()]
    wsum = float(w.sum())

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, c = theta[0], theta[1:]
        s = Z @ c + b
        total = float((w * (np.logaddexp(0, -s) * y + np.logaddexp(0, s) * (1 - y))).sum()) / wsum
        grad = w * (1 / (1 + np.exp(-s)) - y) / wsum
        if ranked:
            g_list = np.zeros_like(s)
            for g in ranked:
                e = np.exp(s[g] - s[g].max())
                pos = y[g] > 0
                total += listwise * -(np.log(e[pos].sum()) - np.log(e.sum())) / len(ranked)
                g_list[g] += e / e.sum() - np.where(pos, e / e[pos].sum(), 0.0)
            grad = grad + listwise * g_list / len(ranked)
        total += 0.5 * l2 * float(c @ c)
        return total, np.concatenate([[grad.sum()], Z.T @ grad + l2 * c])

    res = minimize(loss, np.zeros(Z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    if not res.success:
        print(f"(listwise fit: {res.message})", file=sys.stderr)
    return float(res.x[0]), res.x[1:]


def best_p(weights: Weights, rows, decider: Weights | None = None,
           reranker: Weights | None = None) -> tuple[float, str | None, int]:
    """The best candidate's deciding probability, its id and label (the best by the reranker, else the ranking)."""
    if not rows:
        return 0.0, None, 0
    scored = decide(weights, decider, [f for f, _, _, _ in rows], reranker)
    i = max(range(len(rows)), key=lambda j: scored[j][0])
    return scored[i][1], rows[i][2], rows[i][1]


def thresholds(weights: Weights, chat: dict[str, list], lines: dict[str, dict], decider: Weights | None = None) -> Weights:
    """``match_at``: the lowest probability at which the training lines' verdicts are at least 98.5 % right
    and no chatter line gets one (with a margin above the most likely chatter); ``possible_at``: the lowest
    at which at most 4 % of the chatter would get a "did you mean". Chosen for ``decider`` when given (the
    probability that decides), else for ``weights``; returns that set with its thresholds."""
    best = [(best_p(weights, rows, decider), lines[qid]) for qid, rows in chat.items()]
    chatter = sorted(p for (p, _, _), line in best if line["expected"] is None)
    floor = (chatter[-1] if chatter else 0.5) + MARGIN
    match_at = 0.95
    for t in sorted({p for (p, _, _), _ in best if p >= floor}, reverse=True):
        right = sum(1 for (p, _, y), line in best if p >= t and line["expected"] and y)
        wrong = sum(1 for (p, _, y), line in best if p >= t and not (line["expected"] and y))
        if right and right / (right + wrong) >= 0.985:
            match_at = t
    match_at = min(max(match_at, floor, 0.5), 0.95)
    k = int(len(chatter) * 0.96)
    possible_at = min(max(chatter[k] + 1e-3 if chatter and k < len(chatter) else 0.3, 0.2), match_at)
    return replace(decider or weights, match_at=round(match_at, 4), possible_at=round(possible_at, 4))


def fit_decider(ranker: Weights, chat: dict[str, list], lines: dict[str, dict], names: tuple[str, ...]) -> Weights:
    """The decision stage: a logistic regression over each chat line's best candidate (by ``ranker``), labelled
    1 when the line makes a claim and that candidate is it; its thresholds are chosen by ``thresholds``."""
    from sklearn.linear_model import LogisticRegression

    X, y = [], []
    for qid, rows in chat.items():
        if not rows:
            continue
        ps = [ranker.probability(f) for f, _, _, _ in rows]
        order = sorted(range(len(rows)), key=lambda i: ps[i], reverse=True)
        f = list(rows[order[0]][0])
        f[INDEX["rank_logit"]] = logit(ps[order[0]])
        f[INDEX["rank_margin"]] = ps[order[0]] - (ps[order[1]] if len(order) > 1 else 0.0)
        X.append([f[INDEX[n]] for n in names])
        y.append(int(bool(lines[qid]["expected"]) and rows[order[0]][1]))
    Xa = np.asarray(X, dtype=np.float64)
    mean, scale = Xa.mean(axis=0), Xa.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=5000)
    model.fit((Xa - mean) / scale, np.asarray(y))
    fitted = Weights(features=names, mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
                     coef=tuple(map(float, model.coef_[0])), intercept=float(model.intercept_[0]),
                     match_at=0.5, possible_at=0.3)
    return thresholds(ranker, chat, lines, fitted)


def found(weights: Weights, chat: dict[str, list], lines: dict[str, dict], decider: Weights | None = None) -> dict:
    """Per language, how many claim-bearing lines get a verdict on their claim; ``chatter``: verdicts on lines
    that make no claim."""
    judge = decider or weights
    out: dict[str, int] = defaultdict(int)
    for qid, rows in chat.items():
        p, _, y = best_p(weights, rows, decider)
        if p >= judge.match_at:
            line = lines[qid]
            if line["expected"]:
                out[line["lang"]] += bool(y)
            else:
                out["chatter"] += 1
    return dict(out)


def better_or_level(staged: dict, alone: dict) -> bool:
    """The decision stage finds, on the tune lines, at least what the ranking alone finds in every language
    with a target (en, es, de, fr, pt, ja, zh), and gives chatter no more verdicts."""
    return (staged.get("chatter", 0) <= alone.get("chatter", 0)
            and all(staged.get(lang, 0) >= alone.get(lang, 0) for lang in ("en", "es", "de", "fr", "pt", "ja", "zh")))


def rank_map5(weights: Weights, data: dict[str, list], qrels: dict[str, set[str]], ids) -> float:
    from semantic import average_precision

    total, n = 0.0, 0
    for qid in ids:
        if qid not in qrels:
            continue
        rows = data.get(qid, [])
        ranked = [cid for _, cid in sorted(((weights.probability(f), cid) for f, _, cid, _ in rows), reverse=True)]
        total += average_precision(ranked, qrels[qid], 5)
        n += 1
    return total / max(n, 1)


def chat_report(weights: Weights, chat: dict[str, list], lines: dict[str, dict], split: str,
                decider: Weights | None = None, reranker: Weights | None = None) -> dict:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for qid, rows in chat.items():
        line = lines[qid]
        if line["split"] != split:
            continue
        p, cid, y = best_p(weights, rows, decider, reranker)
        judge = decider or weights
        decision = "match" if p >= judge.match_at else "possible" if p >= judge.possible_at else "none"
        key = "chatter" if line["set"] == "chatter" else line["lang"]
        d = per[key]
        d["n"] += 1
        if line["expected"] is None:
            d["verdicts"] += decision == "match"
            d["possibles"] += decision == "possible"
        else:
            d["positives"] += 1
            if decision == "match":
                d["answered"] += 1
                d["right"] += bool(y)
    out = {}
    for key, d in sorted(per.items()):
        prec = d["right"] / d["answered"] if d["answered"] else 1.0
        rec = d["right"] / d["positives"] if d["positives"] else 1.0
        out[key] = {"n": d["n"], "precision": round(prec, 3), "recall": round(rec, 3),
                    "verdicts_on_negatives": d["verdicts"], "possibles_on_negatives": d["possibles"]}
    return out


def stack(data: dict[str, list], keys, weight: float):
    X, y, w = [], [], []
    for k in keys:
        for f, label, _, _ in data.get(k, []):
            X.append(f)
            y.append(label)
            w.append(weight)
    return X, y, w


def message_groups(*parts: tuple[dict[str, list], list]) -> list[np.ndarray]:
    """The row indices of each message's candidates, in the order ``stack`` lays the same ``(data, keys)`` out."""
    out, start = [], 0
    for data, keys in parts:
        for k in keys:
            n = len(data.get(k, []))
            if n:
                out.append(np.arange(start, start + n))
            start += n
    return out


def cached(folder: Path | None, name: str, compute):
    """``compute()``, or its result kept in ``folder`` from an earlier run (features do not depend on weights)."""
    import pickle

    path = folder / f"{name}.pickle" if folder else None
    if path is not None and path.exists():
        return pickle.loads(path.read_bytes())
    value = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(value))
    return value


def content_key(*paths: Path) -> str:
    """A digest of files' contents (the knowledge, the chat sets, the matcher code): when to collect again."""
    h = hashlib.sha256()
    for root in paths:
        for p in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode() + p.read_bytes())
    return h.hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clef", type=Path, help="folder of the CLEF 2020 task 2 training split")
    ap.add_argument("--clef-db", type=Path, help="a database with the CLEF claims imported and embedded "
                    "(bench/semantic.py --work keeps one); built in a temporary folder when absent")
    ap.add_argument("--write", action="store_true", help="replace bot/core/decision_model.json")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "decision-latest.json")
    ap.add_argument("--listwise", type=float, default=LISTWISE, help="weight of the ranking term in the reranker's "
                    f"fit (default {LISTWISE}); 0: no reranker, the ranking model orders")
    ap.add_argument("--rerank-only", action="store_true", help="keep the shipped model's ranking weights, decision "
                    "stages and thresholds; fit the reranker alone")
    ap.add_argument("--features", type=Path, help="a folder to keep the collected features in (pickles), read back "
                    "while the code, the knowledge and the chat sets are unchanged: retraining without the matcher")
    args = ap.parse_args()

    import semantic

    claims, queries, qrels = semantic.load_clef(args.clef)
    if args.clef_db is None or not args.clef_db.exists():
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="factbot-train-"))
        print(f"building the CLEF database in {work} (import, embed: minutes)", file=sys.stderr)
        semantic.ranking_end_to_end(args.clef, work, claims, queries[:1], qrels)
        args.clef_db = work / "clef.db"
    tune_q, held_q = semantic.split(queries)
    lines = {f"chat-{i}": line for i, line in enumerate(chat_lines())}
    code = [ROOT / "bot" / "core" / n for n in ("matcher.py", "normalize.py", "index.py", "decision.py", "langid.py")]
    chat_key = content_key(ROOT / "knowledge", DATA, *code)
    clef_key = content_key(*code)  # the CLEF claims live in the database given

    clef_store = Store(args.clef_db)
    bundled, _ = open_store(":memory:")
    shipped = load_model()
    report: dict = {"date": dt.date.today().isoformat(), "machine": semantic.machine()}
    model: dict[str, Weights] = {}
    deciders: dict[str, Weights] = {}
    rerankers: dict[str, Weights] = {}
    engine = ""
    for mode in ("semantic", "lexical"):
        cfg = MatchConfig(semantic="on" if mode == "semantic" else "off")
        clef_m = Matcher(clef_store, ClaimIndex(clef_store), cfg)
        chat_m = Matcher(bundled, ClaimIndex(bundled), cfg)
        engine = engine or (clef_m.semantic_status if mode == "semantic" else "")
        clef = cached(args.features, f"clef.{mode}.{clef_key}", lambda: collect(
            clef_m, [(q, t, qrels.get(q, set())) for q, t in queries], f"{mode} CLEF"))
        chat = cached(args.features, f"chat.{mode}.{chat_key}", lambda: collect(
            chat_m, [(k, l["text"], l["expected"] or set()) for k, l in lines.items()],
            f"{mode} chat"))
        X1, y1, w1 = stack(clef, tune_q, 1.0)
        tune_chat = [k for k, l in lines.items() if l["split"] == "tune"]
        X2, y2, w2 = stack(chat, tune_chat, CHAT_WEIGHT)
        X = np.asarray(X1 + X2, dtype=np.float64)
        groups = message_groups((clef, tune_q), (chat, tune_chat))
        sets = ((("semantic", SEMANTIC_FEATURES, DECIDE_SEMANTIC), ("generic", GENERIC_FEATURES, DECIDE_GENERIC))
                if mode == "semantic" else (("lexical", LEXICAL_FEATURES, DECIDE_LEXICAL),))
        tune_rows = {k: chat[k] for k in tune_chat}
        kept = {}
        for name, names, decide_names in sets:
            if args.rerank_only:  # the shipped ranking and decision, only the order learned anew
                model[name] = getattr(shipped, name)
                if name in shipped.deciders:
                    deciders[name] = shipped.deciders[name]
            else:
                fitted = fit(X, np.asarray(y1 + y2), np.asarray(w1 + w2), names)
                model[name] = thresholds(fitted, tune_rows, lines)
                stage = fit_decider(model[name], tune_rows, lines, decide_names)
                # The stage ships only where, on the tune lines, it finds at least what the ranking probability
                # finds with its own thresholds in every language with a target (without meaning it lost English).
                alone, staged = found(model[name], tune_rows, lines), found(model[name], tune_rows, lines, stage)
                kept[name] = {"tune lines found, ranking decides": alone, "with the decision stage": staged,
                              "shipped": better_or_level(staged, alone)}
                if better_or_level(staged, alone):
                    deciders[name] = stage
            if name in RERANK_SETS and args.listwise > 0:
                rerankers[name] = fit_reranker(X, np.asarray(y1 + y2), np.asarray(w1 + w2), names, groups,
                                               args.listwise)
        weights, decider, reranker = model[mode], deciders.get(mode), rerankers.get(mode)
        order = reranker or weights
        old = shipped.weights(mode == "semantic")
        old_decider = shipped.decider(mode == "semantic")
        old_order = shipped.reranker(mode == "semantic") or old
        report[mode] = {
            "weights": dict(zip(weights.features, weights.coef)),
            "reranker weights": dict(zip(reranker.features, reranker.coef, strict=True)) if reranker else None,
            "decision stage": kept or "the shipped one (--rerank-only)",
            "decider weights": dict(zip(decider.features, decider.coef, strict=True)) if decider else None,
            "thresholds": {"match_at": (decider or weights).match_at, "possible_at": (decider or weights).possible_at},
            "chat held out (ranking probability alone decides)": chat_report(weights, chat, lines, "held-out"),
            "CLEF MAP@5 (learned)": {"tune": rank_map5(order, clef, qrels, tune_q),
                                      "held out": rank_map5(order, clef, qrels, held_q),
                                      "all": rank_map5(order, clef, qrels, [q for q, _ in queries])},
            "CLEF MAP@5 (learned, without the reranker)": {
                "tune": rank_map5(weights, clef, qrels, tune_q), "held out": rank_map5(weights, clef, qrels, held_q),
                "all": rank_map5(weights, clef, qrels, [q for q, _ in queries])},
            "CLEF MAP@5 (shipped model, same run)": {"tune": rank_map5(old_order, clef, qrels, tune_q),
                                                     "held out": rank_map5(old_order, clef, qrels, held_q),
                                                     "all": rank_map5(old_order, clef, qrels, [q for q, _ in queries])},
            "chat held out (learned)": chat_report(weights, chat, lines, "held-out", decider, reranker),
            "chat tune (learned)": chat_report(weights, chat, lines, "tune", decider, reranker),
            "chat held out (shipped model, same run)": chat_report(old, chat, lines, "held-out", old_decider,
                                                                   shipped.reranker(mode == "semantic")),
            "chat tune (shipped model, same run)": chat_report(old, chat, lines, "tune", old_decider,
                                                               shipped.reranker(mode == "semantic")),
        }
        print(json.dumps(report[mode], indent=1, ensure_ascii=False))
    trained = dict(shipped.trained) if args.rerank_only else {
        "by": "bench/train_decision.py", "date": report["date"],
        "data": "CLEF 2020 task 2 training split (even tweet ids), tests/data chat sets (tune lines); "
                "the decision stage on the chat tune lines alone",
        "chat_weight": CHAT_WEIGHT, "engine": engine,
    }
    if rerankers:
        trained["rerank"] = {"by": "bench/train_decision.py", "date": report["date"], "listwise": args.listwise,
                             "l2": L2, "data": "CLEF 2020 task 2 training split (even tweet ids), tests/data chat "
                             "sets (tune lines)", "engine": engine}
    result = DecisionModel(model["semantic"], model["lexical"], model["generic"], trained, deciders, rerankers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    if args.write:
        target = ROOT / "bot" / "core" / "decision_model.json"
        target.write_text(json.dumps({"semantic": result.semantic.to_dict(), "lexical": result.lexical.to_dict(),
                                      "generic": result.generic.to_dict(), "trained": dict(result.trained),
                                      "decide": {k: v.to_dict() for k, v in result.deciders.items()},
                                      **({"rerank": {k: v.to_dict() for k, v in result.rerankers.items()}}
                                         if result.rerankers else {})},
                                     indent=1) + "\n", encoding="utf-8")
        print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
