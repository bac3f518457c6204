"""Database faults an operator meets, on real file systems, through the real ``factbot`` command.

A read-only disk (with and without the -wal/-shm files a running writer leaves), a full disk and another
process holding the write lock: each is one clear line and exit code 4 from a command that must write, and
nothing is changed; ``factbot check`` still answers where it can; ``run slack`` stops with exit code 4.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from tests.fakes.disks import fill, read_only, small_disk, writable
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.disks import fill, read_only, small_disk, writable

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
MATCH_ID = "alibaba-stole-fable-guardrails"
EXIT_DB = 4


def factbot(db: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTBOT_", "SLACK_", "DISCORD_"))}
    full_env.update({"FACTBOT_MATCHER_SEMANTIC": "off", "XDG_CONFIG_HOME": str(db.parent.parent / "config")})
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", "--db", str(db), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def one_line(result: subprocess.CompletedProcess) -> str:
    """stderr without the JSON log lines: what a person reads."""
    lines = [x for x in result.stderr.splitlines() if x.strip() and not x.startswith("{")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def claim_file(tmp: Path, n: int = 3) -> Path:
    path = tmp / "new.jsonl"
    path.write_text("".join(json.dumps({"id": f"penguin-{i}", "claim": f"Penguins fly north in winter number {i}",
                                        "verdict": "false", "summary": "They do not fly.",
                                        "sources": [{"url": "https://example.org/penguins"}]}) + "\n"
                            for i in range(n)))
    return path


def count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM claims").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("layout", ["closed cleanly", "with -wal and -shm"])
def test_a_read_only_disk_still_answers_checks_and_refuses_writes_in_one_line(tmp_path, layout):
    disk = tmp_path / "disk"
    with small_disk(disk):
        db = disk / "factbot.db"
        assert factbot(db, "check", MATCH_TEXT).returncode == 0
        if layout == "with -wal and -shm":  # what a writer leaves open, copied as it is
            writer = sqlite3.connect(db)
            writer.execute("PRAGMA wal_autocheckpoint = 0")
            writer.execute("INSERT INTO meta(key, value) VALUES ('left', 'open')")
            writer.commit()
            for suffix in ("", "-wal", "-shm"):
                shutil.copy(f"{db}{suffix}", disk / f"copy.db{suffix}")
            writer.close()
            db = disk / "copy.db"
            assert (disk / "copy.db-wal").exists() and (disk / "copy.db-shm").exists()
        before = count(db)
        read_only(disk)
        try:
            checked = factbot(db, "check", "--json", MATCH_TEXT)
            assert checked.returncode == 0, checked.stderr
            assert json.loads(checked.stdout)["matches"][0]["claim_id"] == MATCH_ID
            assert "Traceback" not in checked.stderr

            imported = factbot(db, "claims", "import", str(claim_file(tmp_path)))
            assert imported.returncode == EXIT_DB
            assert one_line(imported) == f"Error: the database {db} is read-only here (file, folder or disk); " \
                                          "nothing was changed"

            doctor = factbot(db, "doctor", "--offline")
            assert "Traceback" not in doctor.stderr
            lines = doctor.stdout.splitlines()
            assert f"➖ database: {db} is read-only here: checks work, nothing is recorded, and factbot run refuses it" \
                in lines
            assert "➖ full-text index: not checked: the database is read-only here" in lines

            served = factbot(db, "run", "slack", "--http", "--port", "3999", "--no-metrics",
                             env={"SLACK_SIGNING_SECRET": "s3cret", "SLACK_BOT_TOKEN": "xoxb-1-2-3"})
            assert served.returncode == EXIT_DB
            assert one_line(served) == (f"Error: the database {db} is read-only here (file, folder or disk): a "
                                        "running bot must be able to write it")
        finally:
            writable(disk)
        assert count(db) == before


def test_a_full_disk_is_one_line_nothing_changed_and_writes_work_again_when_space_returns(tmp_path):
    disk = tmp_path / "disk"
    with small_disk(disk, "8m"):
        db = disk / "factbot.db"
        assert factbot(db, "check", MATCH_TEXT).returncode == 0
        before = count(db)
        filler = fill(disk)
        checked = factbot(db, "check", "--json", MATCH_TEXT)  # a check writes nothing: it still answers
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["matches"][0]["claim_id"] == MATCH_ID

        imported = factbot(db, "claims", "import", str(claim_file(tmp_path, 200)))
        assert imported.returncode == EXIT_DB
        assert one_line(imported) == f"Error: the database {db} cannot be written: the disk is full; nothing was changed"
        filler.unlink()
        assert count(db) == before
        again = factbot(db, "claims", "import", str(claim_file(tmp_path, 200)))
        assert again.returncode == 0, again.stderr
        assert count(db) == before + 200


def test_a_write_lock_held_past_the_wait_is_one_line_and_checks_still_answer(tmp_path):
    db = tmp_path / "data" / "factbot.db"
    assert factbot(db, "check", MATCH_TEXT).returncode == 0
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for longer than factbot waits (5 s)
    try:
        checked = factbot(db, "check", "--json", MATCH_TEXT)
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["matches"][0]["claim_id"] == MATCH_ID
        added = factbot(db, "claims", "add", "--claim", "Penguins fly north", "--verdict", "false", "--summary", "No.",
                        "--source", "https://example.org/p")
        assert added.returncode == EXIT_DB
        assert one_line(added) == (f"Error: the database {db} is busy: another process has been writing to it for "
                                   "longer than factbot waits; try again")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert factbot(db, "claims", "show", "penguins-fly-north").returncode == 1  # nothing was added
