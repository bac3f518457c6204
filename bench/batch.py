"""Throughput of ``factbot check --batch`` through the real CLI, and process start-up on its own.

Builds a database of N synthetic claims (default 10k), writes 10,000 JSON lines of chat messages
(paraphrases, terse mentions and off-topic chatter from bench/synth.py), and runs

* ``factbot --version``: interpreter + import of the command;
* ``factbot check "..."``: start-up + opening the database and the index + one check;
* ``factbot check --batch FILE``: the whole file, one JSON line out per line in;

each several times in a fresh process, reporting the median.  Lines per second are given over
the whole run and with the one-check start-up subtracted.

    python bench/batch.py [--claims 10000] [--lines 10000] [--repeat 3]

Prints a Markdown table and writes bench/results/batch-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import synth  # noqa: E402

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.store import Store  # noqa: E402


def factbot_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "factbot"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def timed(cmd: list[str], env: dict[str, str], stdout=subprocess.DEVNULL, cpu: list[float] | None = None) -> float:
    """Wall seconds of one run; its CPU seconds (user + system) are appended to ``cpu`` when given."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="factbot-batch-"))
    try:
        db = tmp / "claims.db"
        t0 = time.perf_counter()
        claims = list(synth.generate(args.claims, args.seed))
        store = Store(db)
        store.upsert_claims(claims)
        ClaimIndex(store).rebuild()
        store.close()
        build_s = time.perf_counter() - t0

        n_off = args.lines // 5
        picks = synth.sample_indices(len(claims), args.lines - n_off, args.seed)
        queries = synth.make_queries([claims[i] for i in picks], n_offtopic=n_off, seed=args.seed)
        while len(queries) < args.lines:  # fewer claims than lines: go round again
            queries += queries[: args.lines - len(queries)]
        lines_file = tmp / "messages.jsonl"
        with lines_file.open("w", encoding="utf-8") as fh:
            for i, q in enumerate(queries[: args.lines]):
                fh.write(json.dumps({"id": i, "text": q["text"]}, ensure_ascii=False) + "\n")

        # A clean environment: this database, no settings file of the user's.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTBOT_")}
        env.update(FACTBOT_DB=str(db), XDG_CONFIG_HOME=str(tmp / "config"), XDG_DATA_HOME=str(tmp / "data"))
        cmd = factbot_cmd()
        # First open: the bundled knowledge is merged into the database and indexed; not what we time.
        subprocess.run(cmd + ["db", "info"], env=env, stdout=subprocess.DEVNULL, check=True)

        load_before = common.busy_note()
        version_s = [timed(cmd + ["--version"], env) for _ in range(5)]
        one_cpu: list[float] = []
        one_s = [timed(cmd + ["check", "did the mayor ban water meters"], env, cpu=one_cpu) for _ in range(5)]
        batch_s: list[float] = []
        batch_cpu: list[float] = []
        for _ in range(args.repeat):
            out_file = tmp / "out.jsonl"
            with out_file.open("w") as fh:
                batch_s.append(timed(cmd + ["check", "--batch", str(lines_file)], env, stdout=fh, cpu=batch_cpu))
            out_lines = out_file.read_text(encoding="utf-8").splitlines()
            assert len(out_lines) == args.lines, f"{len(out_lines)} lines out for {args.lines} in"
            decisions = [json.loads(x)["decision"] for x in out_lines]

        startup = statistics.median(one_s)
        wall = statistics.median(batch_s)
        # CPU time of the batch process: what a line costs when the process does not wait for a CPU
        # (on a shared machine the wall figures include waiting).
        cpu = statistics.median(batch_cpu)
        startup_cpu = statistics.median(one_cpu)
        result = {
            "load_before": load_before,
            "claims": args.claims,
            "lines": args.lines,
            "build_s": round(build_s, 2),
            "version_s": round(statistics.median(version_s), 3),
            "one_check_s": round(startup, 3),
            "batch_wall_s": [round(x, 2) for x in batch_s],
            "lines_per_s": round(args.lines / wall, 1),
            "lines_per_s_after_startup": round(args.lines / (wall - startup), 1),
            "ms_per_line": round((wall - startup) / args.lines * 1000, 3),
            "batch_cpu_s": [round(x, 2) for x in batch_cpu],
            "cpu_share": round(cpu / wall, 3),
            "cpu_ms_per_line": round((cpu - startup_cpu) / args.lines * 1000, 3),
            "lines_per_cpu_s": round(args.lines / (cpu - startup_cpu), 1),
            "decisions": {d: decisions.count(d) for d in sorted(set(decisions))},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"### `factbot check --batch`: {args.lines:,} lines against {args.claims:,} claims\n")
    print(common.table(
        ["claims", "lines", "start-up: --version s", "start-up + 1 check s", "batch wall s (median)", "lines/s",
         "lines/s after start-up", "ms / line", "CPU ms / line", "lines / CPU s"],
        [[args.claims, args.lines, result["version_s"], result["one_check_s"], round(wall, 2), result["lines_per_s"],
          result["lines_per_s_after_startup"], result["ms_per_line"], result["cpu_ms_per_line"],
          result["lines_per_cpu_s"]]],
    ))
    print(f"\n{load_before}; CPU share of the batch process {result['cpu_share']}")
    path = common.write_results("batch", result)
    print(f"\n(results written to {path.relative_to(common.ROOT)})", file=sys.stderr)


if __name__ == "__main__":
    main()
