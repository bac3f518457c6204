"""The rate limit and watch mode's cooldown as database claims: held across Store objects, threads and processes
on one database, on SQLite and on PostgreSQL, with the same decisions the in-process limiter makes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import random
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlite_utils
from conftest import ENGINES

from bot.core import migrations
from bot.core.chat import Chat, Platform, Request
from bot.core.engine import PgDatabase
from bot.core.models import IncomingMessage
from bot.core.ratelimit import RateLimiter, SharedRateLimiter
from bot.core.service import FactChecker
from bot.core.store import Store

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
MATCH = "Alibaba stole Claude's guardrails"
ROOT = Path(__file__).resolve().parent.parent
SLACK = Platform(name="slack", needs_invite=True)


@pytest.fixture(params=ENGINES)
def db_engine(request):
    return request.param


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- the rate limit -------------------------------------------------------------------------------------------
def test_the_shared_limit_tells_once_then_stays_quiet_until_the_window_frees(opened):
    clock = Clock()
    rl = SharedRateLimiter(opened(), 3, window=60, clock=clock)
    assert [rl.check("slack", "u").allowed for _ in range(3)] == [True, True, True]
    clock.now += 20
    over = rl.check("slack", "u")
    assert (over.allowed, over.notify) == (False, True)
    assert "try again in 40 s" in rl.notice(over)
    quiet = rl.check("slack", "u")
    assert (quiet.allowed, quiet.notify) == (False, False)
    assert rl.check("slack", "other").allowed, "limits are per user"
    assert rl.check("discord", "u").allowed, "and per platform"
    clock.now += 40
    assert rl.check("slack", "u").allowed, "the window moved past the first three"
    assert rl.check("slack", "u").allowed and rl.check("slack", "u").allowed
    again = rl.check("slack", "u")
    assert (again.allowed, again.notify) == (False, True), "a new burst is told again, once"


def test_the_shared_limit_is_the_same_sliding_window_as_the_one_in_memory(opened):
    """The same requests at the same moments get the same answers, notices and waits from both limiters."""
    rng = random.Random(16)
    clock = Clock()
    shared = SharedRateLimiter(opened(), 4, window=30, clock=clock)
    local = RateLimiter(4, window=30, clock=clock)
    got, expected = [], []
    for _ in range(300):
        clock.now += rng.choice((0, 0, 0.25, 1, 2.5, 7, 31))
        user = rng.choice(("a", "b"))
        for limiter, out in ((shared, got), (local, expected)):
            d = limiter.check("slack", user)
            out.append((user, d.allowed, d.notify, round(d.retry_after, 3)))
    assert got == expected
    assert {allowed for _, allowed, _, _ in got} == {True, False}, "the sequence reached the limit"


def test_two_instances_on_one_database_allow_what_one_allows(opened):
    clock = Clock()
    a = SharedRateLimiter(opened(), 3, window=60, clock=clock)
    b = SharedRateLimiter(opened(), 3, window=60, clock=clock)
    assert a.store is not b.store
    assert [a.check("slack", "u").allowed, b.check("slack", "u").allowed, a.check("slack", "u").allowed] == [True] * 3
    told = b.check("slack", "u")
    assert (told.allowed, told.notify) == (False, True)
    assert (a.check("slack", "u").notify, b.check("slack", "u").notify) == (False, False), "told once, by either"
    clock.now += 60
    assert b.check("slack", "u").allowed


def test_concurrent_checks_on_two_connections_let_exactly_the_limit_through(opened):
    """Four connections (as four processes have), each checking from a thread of its own at the same moment."""
    limiters = [SharedRateLimiter(opened(), 10, window=3600) for _ in range(4)]
    for limiter in limiters:
        limiter.store.CLAIM_WAIT_MS = 30_000  # this test is about the statement's atomicity, not a busy file
    results: list = []
    start = threading.Barrier(4)

    def hammer(limiter):
        start.wait()
        results.extend(limiter.check("slack", "spammer") for _ in range(15))

    threads = [threading.Thread(target=hammer, args=(limiter,)) for limiter in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    assert sum(d.allowed for d in results) == 10
    assert sum(d.notify for d in results) == 1


_PROCESS = """
import json, sys
from bot.core.ratelimit import SharedRateLimiter
from bot.core.store import Store
store = Store(sys.argv[1])
store.CLAIM_WAIT_MS = 30_000
limiter = SharedRateLimiter(store, 10, window=3600)
decisions = [limiter.check("slack", "spammer") for _ in range(int(sys.argv[2]))]
store.close()
print(json.dumps({"allowed": sum(d.allowed for d in decisions), "told": sum(d.notify for d in decisions)}))
"""


def test_two_processes_on_one_database_share_the_limit(target, opened):
    opened()  # the schema exists before both start
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _PROCESS, target, "12"], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum(o["allowed"] for o in outs) == 10, outs
    assert sum(o["told"] for o in outs) == 1, outs


def test_old_rows_are_pruned(opened):
    clock = Clock()
    store = opened()
    rl = SharedRateLimiter(store, 2, window=60, clock=clock)
    for user in ("a", "b", "c"):
        rl.check("slack", user)
    clock.now += 30
    rl.check("slack", "d")
    assert store.db.execute("SELECT count(*) FROM rate_limits").fetchone()[0] == 4
    clock.now += 40  # a, b and c have not asked for 70 s; d asked 40 s ago
    rl.check("slack", "e")
    store.flush_pending(wait=True)
    left = [r[0] for r in store.db.execute("SELECT user FROM rate_limits ORDER BY user").fetchall()]
    assert left == ["d", "e"]


def test_a_changed_limit_starts_each_window_afresh(opened):
    clock = Clock()
    store = opened()
    assert all(SharedRateLimiter(store, 2, clock=clock).check("slack", "u").allowed for _ in range(2))
    bigger = SharedRateLimiter(store, 5, clock=clock)
    assert [bigger.check("slack", "u").allowed for _ in range(6)] == [True] * 5 + [False]


def test_while_another_process_holds_the_lock_the_limit_falls_back_to_this_process(tmp_path, caplog):
    path = tmp_path / "busy.db"
    store = Store(path)
    rl = SharedRateLimiter(store, 2, window=60, clock=Clock())
    assert rl.check("slack", "u").allowed and rl.check("slack", "u").allowed  # the shared window is full
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing (a large import)
    try:
        with caplog.at_level(logging.DEBUG, logger="factbot.ratelimit"):
            during = [rl.check("slack", "u") for _ in range(3)]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [(d.allowed, d.notify) for d in during] == [(True, False), (True, False), (False, True)], (
        "this process's own window decides meanwhile")
    assert rl.fallbacks == 3 and caplog.records == [], "a busy lock is no fault"
    after = rl.check("slack", "u")
    assert (after.allowed, after.notify) == (False, True), "the shared window, full before the lock, again"
    assert rl.fallbacks == 3
    store.close()


def test_a_full_disk_limits_in_this_process_and_says_so_once(tmp_path, caplog):
    try:
        from tests.fakes.disks import fill, small_disk
    except ImportError:
        from fakes.disks import fill, small_disk  # type: ignore[no-redef]

    with small_disk(tmp_path / "disk", "16m") as disk:
        store = Store(disk / "factbot.db")
        rl = SharedRateLimiter(store, 2, window=60, clock=Clock())
        assert rl.check("slack", "u").allowed
        filler = fill(disk)
        with caplog.at_level(logging.WARNING, logger="factbot.ratelimit"):
            during = [rl.check("slack", f"user{i}") for i in range(50)] + [rl.check("slack", "v") for _ in range(3)]
            assert [d.allowed for d in during[-3:]] == [True, True, False]
            assert sum("counted in this process alone" in r.message for r in caplog.records) == 1
            filler.unlink()
            assert [rl.check("slack", "u").allowed for _ in range(2)] == [True, False], (
                "the shared window again: one let through before the disk filled, one now")
        assert "shared through the database again" in caplog.text
        store.close()


def test_a_read_only_database_limits_in_this_process(tmp_path):
    path = tmp_path / "ro.db"
    Store(path).close()
    store = Store(path, readonly=True)
    rl = SharedRateLimiter(store, 1, clock=Clock())
    assert [rl.check("slack", "u").allowed for _ in range(2)] == [True, False]
    assert store.db.execute("SELECT count(*) FROM rate_limits").fetchone()[0] == 0
    store.close()


# -- watch mode's cooldown ------------------------------------------------------------------------------------
def checker_on(store: Store, sample_claims) -> FactChecker:
    store.upsert_claims(sample_claims)
    checker = FactChecker(store, watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24))
    checker.conversations.set_watch("slack", "T1", "C1", True, by="U9")
    return checker


def msg(text: str = MATCH, channel: str = "C1", message_id: str = "1.0") -> IncomingMessage:
    return IncomingMessage(text=text, platform="slack", workspace="T1", channel=channel, user="U1",
                           message_id=message_id)


def test_two_instances_answer_a_watched_claim_once_per_cooldown(opened, sample_claims):
    a = checker_on(opened(), sample_claims)
    b = FactChecker(opened(), watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24))
    first = a.watch_check(msg(), now=T0)
    assert first is not None and first.claim.claim_id == "alibaba-stole-guardrails"
    assert b.watch_check(msg(message_id="2.0"), now=T0 + dt.timedelta(minutes=1)) is None, "the other instance"
    assert a.watch_check(msg(message_id="3.0"), now=T0 + dt.timedelta(hours=23)) is None
    assert b.watch_check(msg(channel="C2"), now=T0) is None, "C2 is not watched"
    b.conversations.set_watch("slack", "T1", "C2", True)
    assert b.watch_check(msg(channel="C2"), now=T0) is not None, "the cooldown is per channel"
    later = b.watch_check(msg(message_id="4.0"), now=T0 + dt.timedelta(hours=24, seconds=1))
    assert later is not None, "the cooldown is over, whichever instance sees the claim next"
    assert a.watch_check(msg(message_id="5.0"), now=T0 + dt.timedelta(hours=25)) is None


def test_concurrent_watch_checks_on_two_connections_make_one_claim(opened, sample_claims):
    """Four connections (as four processes have), each asking from a thread of its own at the same moment."""
    checkers = [checker_on(opened(), sample_claims)] + [
        FactChecker(opened(), watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24)) for _ in range(3)]
    for c in checkers:
        c.store.CLAIM_WAIT_MS = 30_000
        c.watch_check(msg(text="warm up the index"), now=T0)
    won: list = []
    start = threading.Barrier(4)

    def race(checker, n):
        start.wait()
        won.extend(w for i in range(5) if (w := checker.watch_check(msg(message_id=f"{n}.{i}"), now=T0)))

    threads = [threading.Thread(target=race, args=(checker, n)) for n, checker in enumerate(checkers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_a_failed_post_gives_the_cooldown_back_and_a_posted_one_keeps_it(opened, sample_claims):
    checker = checker_on(opened(), sample_claims)
    other = FactChecker(opened(), watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24))
    clock = [T0]
    chat = Chat(checker, clock=lambda: clock[0])
    ask = Request(platform="slack", text=MATCH, workspace="T1", channel="C1", user="U1", message_id="M1")
    answer = asyncio.run(chat.watch(ask, SLACK))
    assert answer is not None and answer.watch is not None
    with pytest.raises(ConnectionError), chat.posting(answer):
        raise ConnectionError("the platform did not take the post")
    checker.store.flush_pending(wait=True)
    retry = other.watch_check(msg(message_id="M2"), now=T0 + dt.timedelta(minutes=1))
    assert retry is not None, "the next message about the claim is answered, on any instance"
    clock[0] = T0 + dt.timedelta(minutes=2)
    assert asyncio.run(chat.watch(ask, SLACK)) is None, "and that one holds the cooldown"


def test_a_removed_watch_reply_frees_the_cooldown(opened, sample_claims):
    checker = checker_on(opened(), sample_claims)
    other = FactChecker(opened(), watch_min_score=0.6, watch_cooldown=dt.timedelta(hours=24))
    first = checker.watch_check(msg(), now=T0)
    assert first is not None
    checker.conversations.record_reply(platform="slack", workspace="T1", channel="C1", message_id="R1",
                                       result=first.result, source="watch", at=T0)
    assert other.watch_check(msg(message_id="2.0"), now=T0 + dt.timedelta(hours=1)) is None
    other.conversations.mark_deleted("slack", "C1", "R1")  # 🗑️, pressed on the other instance
    assert checker.watch_check(msg(message_id="3.0"), now=T0 + dt.timedelta(hours=2)) is not None


def test_expired_watch_claims_are_pruned(opened, sample_claims):
    checker = checker_on(opened(), sample_claims)
    assert checker.watch_check(msg(), now=T0) is not None
    checker.conversations.set_watch("slack", "T1", "C2", True)
    assert checker.watch_check(msg(channel="C2"), now=T0 + dt.timedelta(hours=20)) is not None
    assert checker.watch_check(msg(channel="C3"), now=T0 + dt.timedelta(hours=26)) is None  # C3 is not watched
    checker.conversations.set_watch("slack", "T1", "C3", True)
    assert checker.watch_check(msg(channel="C3"), now=T0 + dt.timedelta(hours=26)) is not None
    checker.store.flush_pending(wait=True)
    rows = checker.store.db.execute("SELECT channel FROM watch_claims ORDER BY channel").fetchall()
    assert [r[0] for r in rows] == ["C2", "C3"], "C1's claim is more than a cooldown old"


# -- the schema ------------------------------------------------------------------------------------------------
def _v12_with_a_watch_reply(db_engine: str, target: str, at: str) -> None:
    db = PgDatabase(target) if db_engine == "postgresql" else sqlite_utils.Database(target)
    migrations.migrate(db, target=12)
    for message_id, deleted in (("R1", None), ("R2", "2026-11-02T12:30:00+00:00")):
        db.execute(
            """INSERT INTO replies(platform, workspace, channel, message_id, claim_id, decision, source, at, deleted_at)
               VALUES ('slack', 'T1', ?, ?, 'alibaba-stole-guardrails', 'match', 'watch', ?, ?)""",
            ["C1" if message_id == "R1" else "C2", message_id, at, deleted])
    if db_engine == "postgresql":
        db.close()
    else:
        db.conn.commit()
        db.close()


def test_the_upgrade_keeps_a_cooldown_that_was_running(db_engine, target, sample_claims):
    _v12_with_a_watch_reply(db_engine, target, "2026-11-02T12:00:00+00:00")
    store = Store(target)
    try:
        assert store.schema_version == migrations.LATEST >= 13
        checker = checker_on(store, sample_claims)
        checker.conversations.set_watch("slack", "T1", "C2", True)
        assert checker.watch_check(msg(), now=T0 + dt.timedelta(hours=3)) is None, "answered before the upgrade"
        assert checker.watch_check(msg(channel="C2"), now=T0 + dt.timedelta(hours=3)) is not None, (
            "a removed reply held no cooldown before the upgrade either")
        rl = SharedRateLimiter(store, 1, clock=Clock())
        assert [rl.check("slack", "u").allowed for _ in range(2)] == [True, False]
    finally:
        store.close()


def test_the_shared_limits_step_can_run_twice(tmp_path):
    db = sqlite_utils.Database(tmp_path / "twice.db")
    migrations.migrate(db, target=12)
    migrations.MIGRATIONS[12](db)  # the step ran, the version bump did not
    assert migrations.migrate(db) == list(range(13, migrations.LATEST + 1))
    assert {"rate_limits", "watch_claims"} <= set(db.table_names())
