"""Do the candidate orders that help on CLEF also hold on chat?

On the dev set (tests/data/devset.jsonl against the bundled claims) and on the synthetic chat
messages (bench/synth.py, N claims), for the same BM25 candidates ordered by

* the decision score (today's ``Matcher.rank`` and ``Matcher.check``);
* BM25 alone;
* 0.5 * BM25 / max BM25 + 0.5 * decision score;
* BM25 with the claim text and the aliases as separate fields (alias boost 0.5);

it reports rank-1, and for the blend it also runs the whole decision (``BlendMatcher``: candidates in
blend order, the decision read from the first one's score, thresholds unchanged): dev-set precision
and recall as tests/test_devset.py computes them, claim messages matched to the right claim, and
off-topic messages answered with a verdict.

    python bench/rank_variants.py [--size 100000] [--keep-dir DIR]

``--keep-dir`` reuses a synthetic build kept by ``latency.py --keep-dir DIR``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clef  # noqa: E402
import common  # noqa: E402

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402
from bot.core.models import Decision, SegmentResult  # noqa: E402
from bot.core.store import Store  # noqa: E402


class BlendMatcher(Matcher):
    """The matcher with its candidates ordered by 0.5 * BM25/max + 0.5 * decision score (a prototype)."""

    alpha = 0.5

    def _check_segment(self, text: str, *, top: int, **kw) -> SegmentResult:
        seg = super()._check_segment(text, top=max(top, self.config.retrieve), **kw)
        cands = list(seg.candidates)
        if not cands:
            return seg
        mx = max(c.lexical for c in cands) or 1.0
        cands.sort(key=lambda c: self.alpha * c.lexical / mx + (1 - self.alpha) * c.score, reverse=True)
        best = cands[0].score
        if best >= self.config.match_threshold:
            decision = Decision.MATCH
        elif best >= self.config.possible_threshold:
            decision = Decision.POSSIBLE
        else:
            decision = Decision.NONE
        return SegmentResult(text=text, decision=decision, candidates=tuple(cands[:top]))


def rank1(store: Store, index: ClaimIndex, items: list[dict], claims) -> dict[str, float]:
    config = common.matcher_config("off")
    matcher = Matcher(store, index, config)
    positives = [q for q in items if q["expected"]]
    clef.set_ties(claims, 0)
    feats = {i: clef.features(matcher, q["text"], 12) for i, q in enumerate(positives)}
    fields_matcher = Matcher(store, clef.FieldsIndex(index, claims, 0.5), config)
    ffeats = {i: clef.features(fields_matcher, q["text"], 12) for i, q in enumerate(positives)}
    orders = {
        "decision score (Matcher.rank today)": (feats, clef.by_score(12)),
        "BM25": (feats, clef.by_bm25),
        "0.5 BM25/max + 0.5 decision score": (feats, clef.blend(0.5)),
        "claim and aliases as fields (alias boost 0.5), BM25": (ffeats, clef.by_bm25),
        "fields (alias boost 0.5), 0.5 BM25/max + 0.5 decision score": (ffeats, clef.blend(0.5)),
    }
    out = {}
    for name, (f, fn) in orders.items():
        out[name] = round(sum((fn(f[i])[:1] or [None])[0] == q["expected"] for i, q in enumerate(positives))
                          / len(positives), 4)
    return out


def decisions(matcher: Matcher, items: list[dict]) -> dict[str, float]:
    """Dev-set precision / recall as tests/test_devset.py computes them, plus match rates."""
    d = common.devset_decisions(matcher.check, items)
    return {
        "precision": round(d["precision"], 4),
        "recall (matched to the right claim)": round(d["recall"], 4),
        "no-claim messages answered with a verdict": round(d["off-claim verdicts"], 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--keep-dir", metavar="DIR")
    args = ap.parse_args()
    results: dict[str, dict] = {}

    from bot.core.service import open_store

    store, _ = open_store(":memory:")
    index = ClaimIndex(store)
    dev = [json.loads(x) for x in (common.ROOT / "tests" / "data" / "devset.jsonl").read_text().splitlines() if x.strip()]
    claims = list(store.iter_claims())
    results["devset"] = {
        "messages": len(dev),
        "rank1": rank1(store, index, dev, claims),
        "default": decisions(Matcher(store, index, common.matcher_config("off")), dev),
        "blend": decisions(BlendMatcher(store, index, common.matcher_config("off")), dev),
    }
    store.close()

    if args.keep_dir and (Path(args.keep_dir) / str(args.size) / "built.json").exists():
        workdir, cleanup = Path(args.keep_dir) / str(args.size), False
    else:
        import latency

        workdir, cleanup = Path(tempfile.mkdtemp(prefix="factbot-rank-")), True
        latency.build(args.size, workdir, seed=42, n_queries=500, n_warm=100, n_offtopic=100)
    try:
        store = Store(workdir / "claims.db")
        index = ClaimIndex(store)
        queries = json.loads((workdir / "queries.json").read_text())
        claims = list(store.iter_claims(batch=5000))
        results[f"synthetic {args.size:,}"] = {
            "messages": len(queries),
            "rank1": rank1(store, index, queries, claims),
            "default": decisions(Matcher(store, index, common.matcher_config("off")), queries),
            "blend": decisions(BlendMatcher(store, index, common.matcher_config("off")), queries),
        }
        store.close()
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)

    sets = list(results)
    print("### Rank-1 (expected claim first) by candidate order\n")
    names = list(results[sets[0]]["rank1"])
    print(common.table(["order"] + [f"{k} ({results[k]['messages']} msgs)" for k in sets],
                       [[n] + [results[k]["rank1"][n] for k in sets] for n in names]))
    print("\n### Whole decision: today's matcher vs candidates in blend order (thresholds unchanged)\n")
    metrics = list(results[sets[0]]["default"])
    rows = []
    for k in sets:
        for variant in ("default", "blend"):
            rows.append([k, variant] + [results[k][variant][m] for m in metrics])
    print(common.table(["messages", "matcher"] + metrics, rows))
    path = common.write_results("rank-variants", {"results": results})
    print(f"\n(results written to {path.relative_to(common.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
