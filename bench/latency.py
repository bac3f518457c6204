"""Per-message latency, memory, size and freshness of factbot at 1k...1M claims, with a naive baseline.

For each size this script

1. generates synthetic claims (bench/synth.py), writes them with ``Store.upsert_claims`` (one
   transaction) and builds the tantivy index with ``ClaimIndex.rebuild``, timing each step;
2. starts a fresh child process that opens the database and checks every query message through
   the whole path (``FactChecker.check(..., record=False)``: normalisation, retrieval, decision)
   after a warm-up on other messages: p50/p99 latency, rank-1 recall on the paraphrases, false
   matches on the off-topic chat, and the child's RSS high-water mark (``ru_maxrss``);
3. in the same child, compares retrieval alone: FTS5 (an OR of every quoted word, ordered by bm25,
   LIMIT 50, through the store's ``claims_fts``) against tantivy (``ClaimIndex.search``);
4. in the same child, adds a claim through a second ``Store`` handle on the same file (as
   ``factbot claims add`` does while the bot runs) and times until the next check returns it;
5. starts another child for the naive baseline: rapidfuzz ``process.extractOne(query, texts)``
   with its default scorer over every claim's text held in a list.

    python bench/latency.py                         # 1k, 10k, 100k
    python bench/latency.py --sizes 1000000 --baseline-queries 50

Prints Markdown tables and writes bench/results/latency-*.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (puts the repository root on sys.path)
import synth  # noqa: E402

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.models import Claim, IncomingMessage, Source, Verdict  # noqa: E402
from bot.core.store import Store  # noqa: E402

SIZE_NAMES = {1_000: "1k", 10_000: "10k", 100_000: "100k", 1_000_000: "1M"}


def size_name(n: int) -> str:
    return SIZE_NAMES.get(n, f"{n:,}")


# -- build ---------------------------------------------------------------------------


def build(size: int, workdir: Path, *, seed: int, n_queries: int, n_warm: int, n_offtopic: int) -> dict[str, Any]:
    """Generate, write and index ``size`` claims in ``workdir``; returns timings, sizes and the query files."""
    marker = workdir / "built.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("seed") == seed and info.get("size") == size and info.get("n_queries") == n_queries \
                and info.get("synth_version") == synth.VERSION:
            info["reused"] = True
            return info
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "claims.db"

    t0 = time.perf_counter()
    lx = synth.lexicon(seed)
    claims = list(synth.generate(size, seed, lx=lx))
    t_gen = time.perf_counter() - t0

    picks = synth.sample_indices(size, n_queries + n_warm, seed)
    sampled = [claims[i] for i in picks]
    # Warm-up messages come from other claims than the measured ones, so caches hold nothing measured.
    warm = synth.make_queries(sampled[:n_warm], n_offtopic=max(n_warm // 5, 1), seed=seed + 1)
    queries = synth.make_queries(sampled[n_warm:], n_offtopic=n_offtopic, seed=seed)
    (workdir / "warmup.json").write_text(json.dumps(warm))
    (workdir / "queries.json").write_text(json.dumps(queries))

    store = Store(db_path)
    t0 = time.perf_counter()
    store.upsert_claims(claims)
    t_sql = time.perf_counter() - t0
    del claims
    wal_after_import = common.dir_bytes(db_path.with_name(db_path.name + "-wal"))

    index = ClaimIndex(store)
    t0 = time.perf_counter()
    n_indexed = index.rebuild()
    t_index = time.perf_counter() - t0
    store.close()
    del index

    sizes = _sizes(db_path)
    info = {
        "size": size,
        "seed": seed,
        "n_queries": n_queries,
        "synth_version": synth.VERSION,
        "generate_s": round(t_gen, 2),
        "sqlite_import_s": round(t_sql, 2),
        "index_build_s": round(t_index, 2),
        "build_s": round(t_sql + t_index, 2),
        "indexed": n_indexed,
        "wal_after_import_mb": common.mb(wal_after_import),
        **sizes,
    }
    marker.write_text(json.dumps(info))
    info["reused"] = False
    return info


def _sizes(db_path: Path) -> dict[str, Any]:
    """Bytes on disk (SQLite file, WAL, shm, index dir) and a per-table breakdown from dbstat."""
    sqlite_b = common.dir_bytes(db_path)
    wal_b = common.dir_bytes(db_path.with_name(db_path.name + "-wal")) + common.dir_bytes(
        db_path.with_name(db_path.name + "-shm")
    )
    index_b = common.dir_bytes(db_path.with_name(db_path.name + ".index"))
    breakdown: dict[str, float] = {}
    import sqlite3

    conn = sqlite3.connect(str(db_path))
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        groups: dict[str, int] = {}
        for name, size in rows:
            if name.startswith("claims_fts"):
                key = "fts5"
            elif name.startswith("claim_changes"):
                key = "change_feed"
            elif name in ("claims",) or name.startswith("sqlite_autoindex_claims") or name.startswith("idx_claims"):
                key = "claims"
            else:
                key = "other"
            groups[key] = groups.get(key, 0) + size
        breakdown = {k: common.mb(v) for k, v in sorted(groups.items())}
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return {
        "sqlite_mb": common.mb(sqlite_b),
        "wal_mb": common.mb(wal_b),
        "index_mb": common.mb(index_b),
        "total_mb": common.mb(sqlite_b + wal_b + index_b),
        "sqlite_breakdown_mb": breakdown,
    }


# -- child: factbot ----------------------------------------------------------------------


def _added_claim(k: int) -> tuple[Claim, str]:
    words = ["quorvendal", "yattermere", "plinkostead", "zembrovia", "kastellune", "drovanthi", "wexmoribel"]
    w1, w2 = words[k % len(words)], words[(k + 3) % len(words)]
    claim = Claim(
        id=f"bench-added-{k}",
        claim=f"Inspector {w1.capitalize()} Ostrander{k} relocated the {w2} aqueduct to Vastrapool in 1987.",
        verdict=Verdict.FALSE,
        summary="Added by the freshness benchmark.",
        sources=(Source(title="bench"),),
    )
    return claim, f"did inspector {w1} ostrander{k} really relocate the {w2} aqueduct??"


def child_factbot(db_path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from bot.core.normalize import content_words, terms
    from bot.core.service import FactChecker
    from bot.core.store import fts_query

    warm = json.loads((workdir / "warmup.json").read_text())
    queries = json.loads((workdir / "queries.json").read_text())
    out: dict[str, Any] = {}

    t0 = time.perf_counter()
    store = Store(db_path)
    checker = FactChecker(store, matcher_config=common.matcher_config(args.semantic))
    out["matcher"] = common.matcher_mode(checker.matcher)
    out["load_before"] = common.busy_note()
    out["open_s"] = round(time.perf_counter() - t0, 4)
    t0 = time.perf_counter()
    checker.check(IncomingMessage(text=warm[0]["text"]), record=False)
    out["first_check_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    for q in warm:
        checker.check(IncomingMessage(text=q["text"]), record=False)

    # 1. the whole check, message by message
    lat, lat_para, lat_off = [], [], []
    hits = para = correct_match = off = off_match = off_possible = para_none = 0
    by_kind: dict[str, list[int]] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    cpu_lat = []
    for q in queries:
        c0 = time.thread_time()
        t0 = time.perf_counter()
        result = checker.check(IncomingMessage(text=q["text"]), record=False)
        dt_ = time.perf_counter() - t0
        cpu_lat.append(time.thread_time() - c0)
        lat.append(dt_)
        best = result.best
        top = best.claim.id if best else None
        if q["expected"]:
            lat_para.append(dt_)
            para += 1
            hits += top == q["expected"]
            k = by_kind.setdefault(q["kind"], [0, 0])
            k[0] += top == q["expected"]
            k[1] += 1
            correct_match += result.decision.value == "match" and top == q["expected"]
            para_none += result.decision.value == "none"
        else:
            lat_off.append(dt_)
            off += 1
            off_match += result.decision.value == "match"
            off_possible += result.decision.value == "possible"
    # CPU time over wall time of the loop: well under 1 means the process waited for a CPU (a busy machine).
    out["cpu_share"] = round((time.process_time() - cpu0) / (time.perf_counter() - wall0), 3)
    out["check"] = common.summary_ms(lat)
    # CPU time of the checking thread per message: what a check costs when it does not wait for a CPU.
    out["check_cpu"] = common.summary_ms(cpu_lat)
    out["check_paraphrase"] = common.summary_ms(lat_para)
    out["check_offtopic"] = common.summary_ms(lat_off)
    out["recall_at_1"] = round(hits / para, 4) if para else None
    out["match_and_correct"] = round(correct_match / para, 4) if para else None
    out["paraphrase_decided_none"] = round(para_none / para, 4) if para else None
    out["offtopic_false_match"] = round(off_match / off, 4) if off else None
    out["offtopic_possible"] = round(off_possible / off, 4) if off else None
    out["recall_at_1_by_kind"] = {k: round(v[0] / v[1], 4) for k, v in sorted(by_kind.items())}
    out["n_paraphrase"], out["n_offtopic"] = para, off
    out["peak_rss_mb"] = round(common.vm_hwm_mb(), 1)
    out["ru_maxrss_mb"] = round(common.max_rss_mb(), 1)

    # 2. retrieval alone: FTS5 vs tantivy
    index = checker.index
    rowid = {
        q["expected"]: store.db.execute("SELECT rowid FROM claims WHERE id = ?", [q["expected"]]).fetchone()[0]
        for q in queries
        if q["expected"]
    }
    sql = "SELECT rowid FROM claims_fts WHERE claims_fts MATCH ? ORDER BY bm25(claims_fts) LIMIT 50"

    def fts_all(text: str) -> list[Any]:
        expr = fts_query(text)
        return [r[0] for r in store.db.execute(sql, [expr])] if expr else []

    def fts_content(text: str) -> list[Any]:
        words = list(dict.fromkeys(content_words(text)))[:32]
        if not words:
            return []
        expr = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        return [r[0] for r in store.db.execute(sql, [expr])]

    def tantivy_search(text: str) -> list[Any]:
        return [cid for cid, _ in index.search(terms(text), 50)]

    retrieval = {}
    methods = [
        ("fts5_or_every_word", fts_all, lambda q: rowid.get(q["expected"])),
        ("fts5_or_content_words", fts_content, lambda q: rowid.get(q["expected"])),
        ("tantivy_bm25", tantivy_search, lambda q: q["expected"]),
    ]
    for name, fn, want in methods:
        for q in warm[:20]:
            fn(q["text"])
        times, r1, r50, npara = [], 0, 0, 0
        budget_end = time.perf_counter() + args.retrieval_budget_s
        for i, q in enumerate(queries[: args.retrieval_queries]):
            if i >= 50 and time.perf_counter() > budget_end:
                break
            t0 = time.perf_counter()
            got = fn(q["text"])
            times.append(time.perf_counter() - t0)
            if q["expected"]:
                npara += 1
                target = want(q)
                r1 += bool(got) and got[0] == target
                r50 += target in got
        retrieval[name] = {
            **common.summary_ms(times),
            "recall_at_1": round(r1 / npara, 4) if npara else None,
            "recall_at_50": round(r50 / npara, 4) if npara else None,
        }
    out["retrieval"] = retrieval

    # 3. freshness: a claim written through a second handle, then the bot's next check
    fresh = []
    writer = Store(db_path)
    for k in range(args.fresh_rounds):
        claim, ask = _added_claim(k)
        t0 = time.perf_counter()
        writer.upsert_claims([claim])
        t1 = time.perf_counter()
        result = checker.check(IncomingMessage(text=ask), record=False)
        t2 = time.perf_counter()
        # the check after that one: back to the usual cost?
        result2 = checker.check(IncomingMessage(text=ask), record=False)
        t3 = time.perf_counter()
        fresh.append(
            {
                "write_ms": round((t1 - t0) * 1000, 2),
                "next_check_ms": round((t2 - t1) * 1000, 2),
                "visible": bool(result.best and result.best.claim.id == claim.id),
                "decision": result.decision.value,
                "check_after_ms": round((t3 - t2) * 1000, 2),
                "still_visible": bool(result2.best and result2.best.claim.id == claim.id),
            }
        )
    # The CLI path: `factbot claims add` also brings the shared index up to date before it exits.
    cli_like = []
    for k in range(args.fresh_rounds, 2 * args.fresh_rounds):
        claim, ask = _added_claim(k)
        t0 = time.perf_counter()
        writer.upsert_claims([claim])
        ClaimIndex(writer).ensure_current()
        t1 = time.perf_counter()
        result = checker.check(IncomingMessage(text=ask), record=False)
        t2 = time.perf_counter()
        cli_like.append(
            {
                "write_and_index_ms": round((t1 - t0) * 1000, 2),
                "next_check_ms": round((t2 - t1) * 1000, 2),
                "visible": bool(result.best and result.best.claim.id == claim.id),
            }
        )
    out["freshness"] = fresh
    out["freshness_cli_like"] = cli_like
    # leave the database as it was built, so a kept build can be measured again
    for k in range(2 * args.fresh_rounds):
        writer.remove(f"bench-added-{k}")
    checker.index.ensure_current()
    writer.close()
    store.close()
    return out


# -- child: naive baseline ---------------------------------------------------------------


def child_baseline(db_path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from rapidfuzz import process, utils

    queries = json.loads((workdir / "queries.json").read_text())
    warm = json.loads((workdir / "warmup.json").read_text())
    store = Store(db_path)
    t0 = time.perf_counter()
    ids, texts = [], []
    for cid, text in store.db.execute("SELECT id, claim FROM claims ORDER BY rowid"):
        ids.append(cid)
        texts.append(text)
    store.close()
    load_s = time.perf_counter() - t0
    n = args.baseline_queries or len(queries)
    for q in warm[:3]:
        process.extractOne(q["text"], texts)
    times, hits, para = [], 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for q in queries[:n]:
        t0 = time.perf_counter()
        best = process.extractOne(q["text"], texts)
        times.append(time.perf_counter() - t0)
        if q["expected"]:
            para += 1
            hits += best is not None and ids[best[2]] == q["expected"]
    cpu_share = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    peak = common.vm_hwm_mb()
    # The same with rapidfuzz's default_process (lowercase, punctuation removed) applied to the claims once
    # and to each message: a fairer naive baseline, since chat is lowercase and the claims are not.
    folded = [utils.default_process(t) for t in texts]
    times_p, hits_p = [], 0
    for q in queries[:n]:
        t0 = time.perf_counter()
        best = process.extractOne(utils.default_process(q["text"]), folded)
        times_p.append(time.perf_counter() - t0)
        if q["expected"]:
            hits_p += best is not None and ids[best[2]] == q["expected"]
    return {
        "load_s": round(load_s, 2),
        "cpu_share": round(cpu_share, 3),
        "check": common.summary_ms(times),
        "recall_at_1": round(hits / para, 4) if para else None,
        "n_paraphrase": para,
        "peak_rss_mb": round(peak, 1),
        "processed": {**common.summary_ms(times_p), "recall_at_1": round(hits_p / para, 4) if para else None},
    }


def run_child(kind: str, db_path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    out_file = workdir / f"{kind}-result.json"
    cmd = [
        sys.executable, __file__, "--child", kind, "--child-dir", str(workdir),
        "--baseline-queries", str(args.baseline_queries or 0),
        "--retrieval-queries", str(args.retrieval_queries),
        "--retrieval-budget-s", str(args.retrieval_budget_s),
        "--fresh-rounds", str(args.fresh_rounds),
    ] + (["--semantic", args.semantic] if args.semantic else [])
    subprocess.run(cmd, check=True)
    return json.loads(out_file.read_text())


# -- report ------------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]]) -> str:
    out = []
    out.append("### Whole check (normalise, retrieve, decide), one message at a time\n")
    out.append(
        common.table(
            ["claims", "factbot p50 ms", "factbot p99 ms", "factbot CPU p50 ms", "factbot CPU p99 ms", "baseline p50 ms", "baseline p99 ms", "speed-up (p50)",
             "factbot recall@1", "baseline recall@1", "baseline (lowercased) p50 ms", "baseline (lowercased) recall@1",
             "baseline queries"],
            [
                [
                    size_name(r["size"]), r["factbot"]["check"]["p50_ms"], r["factbot"]["check"]["p99_ms"],
                    r["factbot"]["check_cpu"]["p50_ms"], r["factbot"]["check_cpu"]["p99_ms"],
                    r["baseline"]["check"]["p50_ms"], r["baseline"]["check"]["p99_ms"],
                    f'{r["baseline"]["check"]["p50_ms"] / r["factbot"]["check"]["p50_ms"]:.0f}x',
                    r["factbot"]["recall_at_1"], r["baseline"]["recall_at_1"], r["baseline"]["processed"]["p50_ms"],
                    r["baseline"]["processed"]["recall_at_1"], r["baseline"]["check"]["n"],
                ]
                for r in rows
            ],
        )
    )
    out.append("\n### Decisions\n")
    out.append(
        common.table(
            ["claims", "recall@1 chatty", "recall@1 terse", "claim messages matched to the right claim", "claim messages decided none", "off-topic decided match",
             "off-topic decided possible", "messages (claim + off-topic)"],
            [
                [
                    size_name(r["size"]), r["factbot"]["recall_at_1_by_kind"].get("paraphrase"),
                    r["factbot"]["recall_at_1_by_kind"].get("terse"), r["factbot"]["match_and_correct"], r["factbot"]["paraphrase_decided_none"],
                    r["factbot"]["offtopic_false_match"], r["factbot"]["offtopic_possible"],
                    f'{r["factbot"]["n_paraphrase"]} + {r["factbot"]["n_offtopic"]}',
                ]
                for r in rows
            ],
        )
    )
    out.append("\n### Retrieval alone: FTS5 vs tantivy (top 50)\n")
    trows = []
    for r in rows:
        for name, m in r["factbot"]["retrieval"].items():
            trows.append([size_name(r["size"]), name, m["p50_ms"], m["p99_ms"], m["recall_at_1"], m["recall_at_50"], m["n"]])
    out.append(common.table(["claims", "method", "p50 ms", "p99 ms", "recall@1", "recall@50", "queries"], trows))
    out.append("\n### Build, size, memory, freshness\n")
    brows = []
    for r in rows:
        b, f = r["build"], r["factbot"]
        fresh = f["freshness"]
        cli = f["freshness_cli_like"]
        brows.append(
            [
                size_name(r["size"]), b["sqlite_import_s"], b["index_build_s"], b["sqlite_mb"], b["wal_mb"], b["index_mb"],
                b["total_mb"], f["peak_rss_mb"], r["baseline"]["peak_rss_mb"],
                max(x["next_check_ms"] for x in fresh), all(x["visible"] for x in fresh),
                max(x["write_and_index_ms"] for x in cli) if cli else float("nan"),
                f["open_s"], f["first_check_ms"],
            ]
        )
    out.append(
        common.table(
            ["claims", "import s", "index s", "SQLite MB", "WAL+shm MB", "index MB", "total MB", "factbot peak RSS MB",
             "baseline peak RSS MB", "add→visible: next check ms (max)", "visible", "CLI add+index ms (max)",
             "open s", "first check ms"],
            brows,
        )
    )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated claim counts (1000000 on request)")
    ap.add_argument("--queries", type=int, default=500, help="paraphrase queries per size (measured)")
    ap.add_argument("--offtopic", type=int, default=100, help="off-topic messages per size (measured)")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up messages (from other claims)")
    ap.add_argument("--baseline-queries", type=int, default=0,
                    help="messages for the naive baseline (0: all; default 50 at 1M and above)")
    ap.add_argument("--retrieval-queries", type=int, default=600, help="messages for the FTS5 / tantivy comparison")
    ap.add_argument("--retrieval-budget-s", type=float, default=240.0,
                    help="stop a retrieval method after this long (at least 50 messages are always measured)")
    ap.add_argument("--fresh-rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--semantic", choices=["auto", "on", "off"],
                    help="set matcher.semantic where this factbot has it (default: factbot's own default)")
    ap.add_argument("--keep-dir", metavar="DIR", help="build under DIR/<size> and keep it; an existing build is reused")
    ap.add_argument("--reuse-baseline", action="store_true",
                    help="with --keep-dir: reuse the baseline figures measured on that build before")
    ap.add_argument("--child", choices=["build", "factbot", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child == "build":
        workdir = Path(args.child_dir)
        info = build(args.child_size, workdir, seed=args.seed, n_queries=args.queries, n_warm=args.warmup,
                     n_offtopic=args.offtopic)
        (workdir / "build-result.json").write_text(json.dumps(info))
        return
    if args.child:
        workdir = Path(args.child_dir)
        fn = child_factbot if args.child == "factbot" else child_baseline
        result = fn(workdir / "claims.db", workdir, args)
        (workdir / f"{args.child}-result.json").write_text(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    for size in sizes:
        if args.keep_dir:
            workdir = Path(args.keep_dir) / str(size)
        else:
            workdir = Path(tempfile.mkdtemp(prefix=f"factbot-bench-{size}-"))
        try:
            print(f"== {size_name(size)} claims: building...", file=sys.stderr, flush=True)
            # The build runs in its own process too: the children that measure memory are then started by a
            # small parent (a forked child's ru_maxrss starts from its parent's high-water mark).
            subprocess.run(
                [sys.executable, __file__, "--child", "build", "--child-dir", str(workdir), "--child-size", str(size),
                 "--seed", str(args.seed), "--queries", str(args.queries), "--warmup", str(args.warmup),
                 "--offtopic", str(args.offtopic)],
                check=True,
            )
            b = json.loads((workdir / "build-result.json").read_text())
            print(f"   import {b['sqlite_import_s']} s, index {b['index_build_s']} s"
                  f"{' (reused)' if b.get('reused') else ''}; checking...", file=sys.stderr, flush=True)
            f = run_child("factbot", workdir / "claims.db", workdir, args)
            print(f"   factbot p50 {f['check']['p50_ms']} ms p99 {f['check']['p99_ms']} ms; baseline...",
                  file=sys.stderr, flush=True)
            child_args = argparse.Namespace(**vars(args))
            if not args.baseline_queries and size >= 1_000_000:
                child_args.baseline_queries = 50
            if args.reuse_baseline and (workdir / "baseline-result.json").exists():
                base = json.loads((workdir / "baseline-result.json").read_text())
                print("   (baseline reused from the kept build)", file=sys.stderr)
            else:
                base = run_child("baseline", workdir / "claims.db", workdir, child_args)
            rows.append({"size": size, "build": b, "factbot": f, "baseline": base})
        finally:
            if not args.keep_dir:
                shutil.rmtree(workdir, ignore_errors=True)
    text = report(rows)
    print(text)
    for r in rows:
        print(f"\n{size_name(r['size'])}: matcher {r['factbot']['matcher']}; {r['factbot']['load_before']}; "
              f"CPU share during checks {r['factbot']['cpu_share']}, baseline {r['baseline']['cpu_share']}")
    path = common.write_results("latency", {"args": {k: v for k, v in vars(args).items() if not k.startswith("child")},
                                            "sizes": rows})
    print(f"\n(results written to {path.relative_to(common.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
