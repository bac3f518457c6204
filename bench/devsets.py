"""The chat dev sets per language and split, and the chatter set: what a user in each language would see.

For each matcher mode (``semantic = off``, the default, and ``on`` when an engine is there) against
the bundled claims:

* ``tests/data/devset.jsonl`` (English) and ``tests/data/devset_multilingual.jsonl``, per language and
  per split: precision and recall as tests/test_devset.py computes them (a message that lists two
  claims is found when either is answered), and the verdicts given to near misses and off-topic lines;
* ``tests/data/chatter.jsonl``, per language and split: how many messages got ``none``, ``possible``
  and a verdict (``match``); the target is no verdict at all and at most 5 % ``possible``.

English lines have no split field: they count as ``tune`` (the English set has been used to calibrate).
A label naming a retired claim id that was merged or renamed is scored as its successor.

    python bench/devsets.py [--modes off,default,on] [--split all|tune|held-out]

Prints Markdown tables and writes bench/results/devsets-*.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.knowledge import load_knowledge  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402
from bot.core.models import Decision  # noqa: E402
from bot.core.service import open_store  # noqa: E402

DATA = common.ROOT / "tests" / "data"


def read(name: str) -> list[dict]:
    path = DATA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def successors() -> dict[str, str]:
    """Retired id -> the one claim that replaced it (merged or renamed); split ids have no single successor."""
    knowledge = load_knowledge()
    return {r.id: r.replaced_by[0] for r in getattr(knowledge, "retired", ()) if len(r.replaced_by) == 1}


def claim_rows(moved: dict[str, str]) -> list[dict]:
    """Every dev-set line with ``expected`` as a list of ids: none, one, or (a message joining two claims) several."""
    rows = [dict(r, lang="en", split=r.get("split", "tune")) for r in read("devset.jsonl")]
    rows += read("devset_multilingual.jsonl")
    for r in rows:
        value = r["expected"]
        ids = [] if not value else [value] if isinstance(value, str) else list(value)
        r["expected"] = [moved.get(i, i) for i in ids]
    return rows


def score(check, rows: list[dict]) -> dict:
    """Counts per (language, split): precision and recall over messages that make a claim, near-miss verdicts."""
    out: dict[tuple[str, str], Counter] = defaultdict(Counter)
    misses = []
    for row in rows:
        result = check(row["text"])
        got = [m.claim.id for m in result.matches] if result.decision is Decision.MATCH else []
        for key in ((row["lang"], row["split"]), (row["lang"], "all")):
            c = out[key]
            if row["expected"]:
                c["claims"] += 1
                c["found"] += bool(set(row["expected"]) & set(got))
            else:
                c["near misses"] += 1
                c["near-miss verdicts"] += bool(got)
            c["answered"] += len(got)
            c["correct"] += sum(g in row["expected"] for g in got)
        if set(got) - set(row["expected"]) or (row["expected"] and not set(row["expected"]) & set(got)):
            misses.append({"lang": row["lang"], "split": row["split"], "text": row["text"],
                           "expected": row["expected"], "got": got or result.decision.value})
    return {"counts": out, "misses": misses}


def chatter_score(check, rows: list[dict]) -> dict:
    out: dict[tuple[str, str], Counter] = defaultdict(Counter)
    verdicts = []
    for row in rows:
        result = check(row["text"])
        for key in ((row["lang"], row["split"]), (row["lang"], "all"), ("all", row["split"]), ("all", "all")):
            out[key][result.decision.value] += 1
        if result.decision is Decision.MATCH:
            verdicts.append({"lang": row["lang"], "split": row["split"], "text": row["text"],
                             "got": [m.claim.id for m in result.matches]})
    return {"counts": out, "verdicts": verdicts}


def ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="off,default,on", help="comma-separated: off, default, on")
    ap.add_argument("--split", default="all", choices=["all", "tune", "held-out"])
    args = ap.parse_args()

    store, _ = open_store(":memory:")
    index = ClaimIndex(store)
    moved = successors()
    rows = claim_rows(moved)
    chatter = read("chatter.jsonl")
    langs = sorted({r["lang"] for r in rows}, key=lambda lang: (lang != "en", lang))
    results = {"split": args.split, "modes": {}}
    print(f"# Dev sets per language ({common.busy_note()}, commit {common.git_rev()})\n")
    for mode in args.modes.split(","):
        try:
            matcher = Matcher(store, index, common.matcher_config(None if mode == "default" else mode))
            matcher.check("warm up")
        except Exception as exc:  # noqa: BLE001 - an engine that is not installed is reported, not fatal
            print(f"## {mode}: not available ({type(exc).__name__}: {exc})\n")
            continue
        started = time.perf_counter()
        s = score(matcher.check, rows)
        c = chatter_score(matcher.check, chatter)
        seconds = time.perf_counter() - started
        print(f"## `{mode}`: {common.matcher_mode(matcher)}\n")
        table = []
        for lang in langs:
            k = s["counts"][(lang, args.split)]
            table.append([lang, k["claims"], ratio(k["correct"], k["answered"]), ratio(k["found"], k["claims"]),
                          f"{k['near-miss verdicts']}/{k['near misses']}"])
        print(common.table(["lang", "claim messages", "precision", "recall", "no-claim lines with a verdict"], table))
        print()
        clangs = sorted({r["lang"] for r in chatter}, key=lambda lang: (lang != "en", lang)) + ["all"]
        table = []
        for lang in clangs:
            k = c["counts"][(lang, args.split)]
            n = sum(k.values())
            table.append([lang, n, k["none"], k["possible"], ratio(k["possible"], n), k["match"]])
        print(common.table(["chatter", "messages", "none", "possible", "possible share", "verdicts"], table))
        print(f"\n{len(rows) + len(chatter)} messages in {seconds:.1f} s\n")
        results["modes"][mode] = {
            "status": common.matcher_mode(matcher),
            "devset": {f"{lang}/{split}": dict(k) for (lang, split), k in s["counts"].items()},
            "chatter": {f"{lang}/{split}": dict(k) for (lang, split), k in c["counts"].items()},
            "misses": s["misses"], "chatter verdicts": c["verdicts"], "seconds": round(seconds, 2),
        }
    print(f"full figures: {common.write_results('devsets', results)}")


if __name__ == "__main__":
    main()
