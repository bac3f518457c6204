"""Where the time goes: cProfile of the build (import + index) and of the check path, plus two experiments.

    python bench/hotspots.py build --size 100000        # profile upsert_claims and ClaimIndex.rebuild
    python bench/hotspots.py check --size 100000        # profile FactChecker.check over the latency messages
    python bench/hotspots.py check-variants --size 100000 --keep-dir DIR
        # CPU per check as shipped, with a fast path in normalize.clean, with warm caches (candidate
        # phrasings already analysed), and without typo expansion in the search
    python bench/hotspots.py import-variants --size 100000
        # times upsert_claims as shipped, without the FTS5 triggers, and without the change-feed triggers,
        # to show what each costs at import

``check`` reuses a build kept by ``latency.py --keep-dir DIR`` when given ``--keep-dir DIR``.
Prints the top functions (by own time and by cumulative time) and writes bench/results/profile-*.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import synth  # noqa: E402

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.models import IncomingMessage  # noqa: E402
from bot.core.store import Store  # noqa: E402


def top(profile: cProfile.Profile, sort: str, n: int) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(n)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return "\n".join(lines[start:])


def profile_build(size: int, seed: int, n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="factbot-prof-"))
    try:
        claims = list(synth.generate(size, seed))
        store = Store(tmp / "claims.db")
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        store.upsert_claims(claims)
        prof.disable()
        t_import = time.perf_counter() - t0
        print(f"## upsert_claims({size:,}): {t_import:.1f} s (under the profiler)\n")
        print(top(prof, "tottime", n))
        index = ClaimIndex(store)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        index.rebuild()
        prof.disable()
        t_index = time.perf_counter() - t0
        print(f"\n## ClaimIndex.rebuild() over {size:,}: {t_index:.1f} s (under the profiler)\n")
        print(top(prof, "tottime", n))
        store.close()
        return {"size": size, "import_s_profiled": round(t_import, 2), "index_s_profiled": round(t_index, 2)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def import_variants(size: int, seed: int) -> dict:
    """upsert_claims with and without the FTS5 triggers / change-feed triggers (dropped in a scratch database)."""
    claims = list(synth.generate(size, seed))
    out = {}
    for label, drop in (
        ("as shipped", []),
        ("without FTS5 triggers", ["claims_ai", "claims_ad", "claims_au"]),
        ("without change-feed triggers", ["claims_change_ai", "claims_change_au", "claims_change_ad"]),
        ("without either", ["claims_ai", "claims_ad", "claims_au", "claims_change_ai", "claims_change_au",
                            "claims_change_ad"]),
    ):
        tmp = Path(tempfile.mkdtemp(prefix="factbot-prof-"))
        try:
            store = Store(tmp / "claims.db")
            for trig in drop:
                store.db.execute(f"DROP TRIGGER IF EXISTS {trig}")
            t0 = time.perf_counter()
            store.upsert_claims(claims)
            dt_ = time.perf_counter() - t0
            store.close()
            out[label] = {"import_s": round(dt_, 2), "sqlite_mb": common.mb(common.dir_bytes(tmp / "claims.db"))}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(common.table(["upsert_claims of %s claims" % f"{size:,}", "s", "SQLite MB"],
                       [[k, v["import_s"], v["sqlite_mb"]] for k, v in out.items()]))
    return {"size": size, "import_variants": out}


def profile_check(size: int, seed: int, n: int, keep_dir: str | None) -> dict:
    from bot.core.service import FactChecker

    if keep_dir and (Path(keep_dir) / str(size) / "built.json").exists():
        workdir = Path(keep_dir) / str(size)
        cleanup = False
    else:
        workdir = Path(tempfile.mkdtemp(prefix="factbot-prof-"))
        cleanup = True
        sys.argv = ["latency.py"]
        import latency

        latency.build(size, workdir, seed=seed, n_queries=500, n_warm=100, n_offtopic=100)
    try:
        queries = json.loads((workdir / "queries.json").read_text())
        warm = json.loads((workdir / "warmup.json").read_text())
        store = Store(workdir / "claims.db")
        checker = FactChecker(store)
        for q in warm:
            checker.check(IncomingMessage(text=q["text"]), record=False)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for q in queries:
            checker.check(IncomingMessage(text=q["text"]), record=False)
        prof.disable()
        dt_ = time.perf_counter() - t0
        print(f"## {len(queries)} checks against {size:,} claims: {dt_ / len(queries) * 1000:.2f} ms each "
              "(under the profiler)\n")
        print(top(prof, "tottime", n))
        print()
        print(top(prof, "cumulative", n))
        store.close()
        return {"size": size, "ms_per_check_profiled": round(dt_ / len(queries) * 1000, 3)}
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)


def _fast_clean(original):
    """normalize.clean with a fast path: text that is all printable has no control or format characters,
    so the per-character ``unicodedata.category`` pass can be skipped (same output)."""
    import unicodedata

    def clean(text: object) -> str:
        if isinstance(text, str) and text.isprintable():
            text = text[:20_000].encode("utf-8", errors="replace").decode("utf-8")
            return unicodedata.normalize("NFKC", text).strip() if not text.isascii() else text.strip()
        return original(text)

    return clean


def check_variants(size: int, keep_dir: str | None) -> dict:
    """CPU time per check (thread time, so a busy machine matters less) for changes prototyped by patching."""
    import bot.core.index as index_mod
    import bot.core.matcher as matcher_mod
    import bot.core.normalize as normalize_mod
    from bot.core.service import FactChecker

    workdir = Path(keep_dir) / str(size) if keep_dir else None
    if workdir is None or not (workdir / "built.json").exists():
        raise SystemExit("check-variants needs a build kept by latency.py --keep-dir DIR (pass --keep-dir DIR)")
    queries = json.loads((workdir / "queries.json").read_text())
    warm = json.loads((workdir / "warmup.json").read_text())
    # the fast path must give the same text as the original on every message and claim phrasing we see
    fast = _fast_clean(normalize_mod.clean)
    for q in queries + warm:
        assert fast(q["text"]) == normalize_mod.clean(q["text"]), q["text"]

    def measure(label: str, passes: int = 1) -> dict:
        normalize_mod.fold.cache_clear()
        normalize_mod.terms.cache_clear()
        matcher_mod._variant_terms.cache_clear()
        store = Store(workdir / "claims.db")
        checker = FactChecker(store)
        for q in warm:
            checker.check(IncomingMessage(text=q["text"]), record=False)
        for _ in range(passes):
            times, hits, n = [], 0, 0
            for q in queries:
                c0 = time.thread_time()
                result = checker.check(IncomingMessage(text=q["text"]), record=False)
                times.append(time.thread_time() - c0)
                if q["expected"]:
                    n += 1
                    hits += bool(result.best) and result.best.claim.id == q["expected"]
        store.close()
        res = {**common.summary_ms(times), "recall_at_1": round(hits / n, 4)}
        print(f"{label}: CPU p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms, mean {res['mean_ms']} ms", flush=True)
        return res

    out = {}
    out["as shipped"] = measure("as shipped")
    original_clean = normalize_mod.clean
    normalize_mod.clean = fast
    matcher_mod.clean = fast
    try:
        out["clean() fast path for printable text"] = measure("clean() fast path")
    finally:
        normalize_mod.clean = original_clean
        matcher_mod.clean = original_clean
    out["candidate phrasings already analysed (second pass, warm caches)"] = measure("second pass, warm caches", 2)
    original_search = index_mod.ClaimIndex.search
    index_mod.ClaimIndex.search = lambda self, t, limit=20, fuzzy=True: original_search(self, t, limit, fuzzy=False)
    try:
        out["no typo expansion in search (quality cost!)"] = measure("no fuzzy expansion")
    finally:
        index_mod.ClaimIndex.search = original_search
    print()
    print(common.table([f"check at {size:,} claims", "CPU p50 ms", "CPU p99 ms", "CPU mean ms", "recall@1"],
                       [[k, v["p50_ms"], v["p99_ms"], v["mean_ms"], v["recall_at_1"]] for k, v in out.items()]))
    return {"size": size, "check_variants": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["build", "check", "import-variants", "check-variants"])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--keep-dir", metavar="DIR", help="a directory of builds kept by latency.py --keep-dir")
    args = ap.parse_args()
    if args.what == "build":
        result = profile_build(args.size, args.seed, args.top)
    elif args.what == "check-variants":
        result = check_variants(args.size, args.keep_dir)
    elif args.what == "import-variants":
        result = import_variants(args.size, args.seed)
    else:
        result = profile_check(args.size, args.seed, args.top, args.keep_dir)
    path = common.write_results(f"profile-{args.what}", result)
    print(f"\n(results written to {path.relative_to(common.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
