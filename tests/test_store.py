"""The store: claims round-trip, writes are all or nothing, FTS stays in sync, the check log keeps what it should."""

import datetime as dt
import sqlite3
import threading

import pytest
from conftest import ENGINES

from bot.core import queries
from bot.core.models import claim_from_dict
from bot.core.store import Store, fts_query


@pytest.fixture(params=ENGINES)
def db_engine(request):
    """Every test here on ``store`` / ``sample_store`` runs on SQLite and on PostgreSQL."""
    return request.param


def test_claims_round_trip_every_field(sample_store, sample_claims):
    for claim in sample_claims:
        got = sample_store.get(claim.id)
        assert got.to_dict() == claim.to_dict()
        assert got.created_at and got.updated_at


def test_upsert_reports_and_skips_unchanged(store, sample_claims):
    first = store.upsert_claims(sample_claims)
    assert sorted(first.inserted) == sorted(c.id for c in sample_claims)
    seq = store.last_change_seq()
    again = store.upsert_claims(sample_claims)
    assert again.inserted == [] and again.updated == [] and len(again.unchanged) == 3
    assert store.last_change_seq() == seq, "an unchanged claim must not reach the change feed"


def test_update_keeps_created_at_and_records_verdict_change(sample_store, sample_claims):
    before = sample_store.get("ford-inspectors")
    edited = claim_from_dict({**sample_claims[2].to_dict(), "verdict": "false"})
    stats = sample_store.upsert_claims([edited])
    assert stats.updated == ["ford-inspectors"]
    after = sample_store.get("ford-inspectors")
    assert after.created_at == before.created_at
    assert after.verdict.value == "false"
    row = sample_store.db.execute(
        "SELECT op, old_verdict, new_verdict FROM claim_changes ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert tuple(row) == ("update", "unverified", "false")


def test_first_stored_order_survives_updates(sample_store, sample_claims):
    # sample_claims were stored in list order; editing the first keeps its place, a new claim comes last.
    sample_store.upsert_claims([claim_from_dict({**sample_claims[0].to_dict(), "summary": "Edited."})])
    sample_store.upsert_claims([claim_from_dict({**sample_claims[1].to_dict(), "id": "aaa-newest"})])
    ids = ["aaa-newest", "ford-inspectors", "alibaba-stole-guardrails", "missing", "opus-fallback"]
    assert sample_store.first_stored(ids) == ["alibaba-stole-guardrails", "opus-fallback", "ford-inspectors", "aaa-newest"]
    assert sample_store.first_stored([]) == []


def test_import_is_all_or_nothing(sample_store, sample_claims):
    new = claim_from_dict({**sample_claims[0].to_dict(), "id": "brand-new"})
    with pytest.raises(ValueError, match="appears twice"):
        sample_store.upsert_claims([new, new])
    assert sample_store.get("brand-new") is None
    assert sample_store.count() == 3


def test_failure_mid_write_rolls_back(sample_store, sample_claims):
    def boom(n):
        raise RuntimeError("disk on fire")

    many = [claim_from_dict({**sample_claims[0].to_dict(), "id": f"bulk-{i:04d}"}) for i in range(1200)]
    with pytest.raises(RuntimeError):
        sample_store.upsert_claims(many, progress=boom)
    assert sample_store.count() == 3
    assert sample_store.search_fts("bulk") == []


def test_fts_follows_inserts_updates_and_deletes(sample_store, sample_claims):
    assert [c.id for c, _ in sample_store.search_fts("inspectors")] == ["ford-inspectors"]
    edited = claim_from_dict({**sample_claims[2].to_dict(), "claim": "Dealers check brakes", "aliases": []})
    sample_store.upsert_claims([edited])
    assert sample_store.search_fts("inspectors") == []
    assert [c.id for c, _ in sample_store.search_fts("brakes")] == ["ford-inspectors"]
    assert sample_store.remove("ford-inspectors")
    assert sample_store.search_fts("brakes") == []
    # The FTS index agrees with its content table (SQLite's own integrity check; PostgreSQL keeps its index).
    queries.check_fulltext_integrity(sample_store)


def test_fts_search_covers_aliases_and_prefixes(sample_store):
    assert [c.id for c, _ in sample_store.search_fts("downgrades")] == ["opus-fallback"]
    assert [c.id for c, _ in sample_store.search_fts("alib", prefix=True)] == ["alibaba-stole-guardrails"]


@pytest.mark.parametrize(
    "hostile",
    ['"', "'", "-", "AND", "NEAR(a b)", "claim:alibaba", "a OR", "*", "^x", "(((", "\x00", "alibaba\" OR \"x", ""],
)
def test_fts_syntax_in_chat_text_never_raises(sample_store, hostile):
    sample_store.search_fts(hostile)
    sample_store.search_fts(hostile, prefix=True)


def test_fts_query_quotes_every_word():
    assert fts_query('Alibaba AND "stole" NEAR -x col:y') == '"alibaba" OR "and" OR "stole" OR "near" OR "x" OR "col" OR "y"'
    assert fts_query("!!!") == ""


def test_sync_bundled_never_overwrites_user_claims(store, sample_claims):
    stats = store.sync_bundled(sample_claims, "v1")
    assert len(stats.inserted) == 3
    assert store.sync_bundled(sample_claims, "v1") is None  # same files: nothing to do
    mine = claim_from_dict({**sample_claims[0].to_dict(), "summary": "Our own review."})
    store.upsert_claims([mine])  # a user edit makes the claim theirs
    newer = [claim_from_dict({**c.to_dict(), "summary": c.summary + " Updated."}) for c in sample_claims[:2]]
    stats = store.sync_bundled(newer, "v2")
    assert stats.skipped == ["alibaba-stole-guardrails"]
    assert stats.updated == ["opus-fallback"]
    assert stats.deleted == ["ford-inspectors"]  # no longer shipped
    assert store.get("alibaba-stole-guardrails").summary == "Our own review."
    assert store.get("opus-fallback").summary.endswith("Updated.")


def test_check_log_keeps_text_or_only_hash(store):
    store.log_check(query="Alibaba stole it", decision="match", claim_id="x", score=0.9, platform="slack", channel="C1")
    store.log_check(query="Alibaba stole it!", decision="none", claim_id=None, score=None, keep_text=False)
    rows = store.checks()
    assert rows[0]["query"] == "Alibaba stole it" and rows[0]["platform"] == "slack"
    assert rows[1]["query"] is None
    assert rows[0]["query_hash"] == rows[1]["query_hash"], "the hash is of the folded text, so repeats count together"


def test_check_log_retention(store):
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    store.log_check(query="old", decision="none", claim_id=None, score=None, at="2026-01-01T00:00:00+00:00")
    store.log_check(query="new", decision="none", claim_id=None, score=None, at="2026-05-30T00:00:00+00:00")
    assert store.prune_checks(30, now=now) == 1
    assert [r["query"] for r in store.checks()] == ["new"]


def test_file_database_uses_wal_and_two_handles_share_it(tmp_path, sample_claims):
    path = tmp_path / "f.db"
    a, b = Store(path), Store(path)
    assert a.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert a.db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    a.upsert_claims(sample_claims)
    assert b.count() == 3
    errors = []

    def writer(store, prefix):
        try:
            for i in range(20):
                store.upsert_claims([claim_from_dict({**sample_claims[0].to_dict(), "id": f"{prefix}-{i:03d}"})])
        except sqlite3.Error as exc:  # pragma: no cover - the failure this test exists to catch
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, p)) for s, p in ((Store(path), "aa"), (Store(path), "bb"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert a.count() == 43


def _many(n: int, prefix: str = "bulk"):
    from bot.core.models import claim_from_dict

    return [claim_from_dict({"id": f"{prefix}-{i}", "claim": f"Mayor Oswin{i} banned kites over Pellmore{i}",
                             "verdict": "false", "summary": "No such ban.", "sources": [{"url": "https://e.org"}]})
            for i in range(n)]


def _lock_attempts(store: Store) -> list[str]:
    """The write transactions begun on ``store``'s own connection (the caller's thread), as they happen."""
    begun: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: begun.append(sql) if sql.startswith("BEGIN IMMEDIATE") else None)
    return begun


def _drained(store: Store, limit_s: float = 60.0) -> bool:
    import time

    deadline = time.monotonic() + limit_s
    while store.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    return not store.pending


def test_a_large_import_never_makes_the_bots_writes_wait_and_they_all_land_in_order(tmp_path):
    """During a 20,000-claim import in bounded transactions, each of the bot's writes tries for the lock once on
    the caller's thread (it polled for up to half a second there, holding a running bot's event loop), and the
    writes that gave way are made by the writer thread, in order, with no further call."""
    import threading
    import time

    db = tmp_path / "f.db"
    Store(db).close()
    importer, bot = Store(db), Store(db)
    claims = _many(20_000)
    done = threading.Event()
    stats = []

    def run_import():
        try:
            stats.append(importer.upsert_claims(claims, commit_every=1000))
        finally:
            done.set()

    begun = _lock_attempts(bot)
    thread = threading.Thread(target=run_import)
    thread.start()
    probes = 0
    while not done.is_set():
        bot.give_way([("INSERT INTO meta(key, value) VALUES (?, ?)", [f"probe-{probes:05d}", str(time.monotonic_ns())])])
        probes += 1
        time.sleep(0.005)
    thread.join()
    assert importer.count() == 20_000 and stats[0].longest_tx_s > 0
    assert probes > 5 and len(begun) <= probes, (probes, len(begun))  # at most one attempt per write
    assert _drained(bot)
    rows = bot.db.execute("SELECT key, value FROM meta WHERE key LIKE 'probe-%' ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == [f"probe-{i:05d}" for i in range(probes)]  # every one, in order
    bot.close()
    importer.close()


def test_writes_kept_while_another_connection_holds_the_lock_are_made_when_it_is_released(tmp_path):
    import sqlite3

    db = tmp_path / "f.db"
    bot = Store(db)
    begun = _lock_attempts(bot)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('a', '1')", [])]) is None
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('b', '2')", [])]) is None
    assert len(begun) <= 2 and bot.pending and bot.write_problem == ""  # busy is not a fault
    holder.execute("ROLLBACK")
    holder.close()
    assert _drained(bot)  # the writer thread made them: nobody called flush_pending
    assert bot.get_meta("a") == "1" and bot.get_meta("b") == "2"
    bot.close()


def test_one_kept_write_that_breaks_a_constraint_does_not_take_the_others_with_it(store, caplog):
    """On PostgreSQL a failed statement aborts its transaction: without a savepoint around each, one duplicate
    key among the writes that give way lost every write of the batch."""
    written = store.give_way([
        ("INSERT INTO meta(key, value) VALUES ('a', '1')", []),
        ("INSERT INTO meta(key, value) VALUES ('a', 'again')", []),  # a duplicate key: can never be made
        ("INSERT INTO meta(key, value) VALUES ('b', '2')", []),
    ])
    assert written == 1  # the row count of the last one, made
    assert store.get_meta("a") == "1" and store.get_meta("b") == "2"
    assert not store.pending and store.write_problem == ""
    assert "a kept write was dropped" in caplog.text
    assert store.give_way([("INSERT INTO meta(key, value) VALUES ('c', '3')", [])]) == 1  # and the next one too


def test_an_import_shortens_its_transactions_when_they_take_long(tmp_path, monkeypatch):
    store = Store(tmp_path / "f.db")
    monkeypatch.setattr(Store, "IMPORT_TX_S", 0.0)  # every transaction is "too long": the next one is smaller
    sizes: list[int] = []
    real = Store.upsert_claims

    def counting(self, claims, **kw):
        claims = list(claims)
        if not kw.get("commit_every"):
            sizes.append(len(claims))
        return real(self, claims, **kw)

    monkeypatch.setattr(Store, "upsert_claims", counting)
    store.upsert_claims(_many(3000), commit_every=1000)
    assert store.count() == 3000
    assert sizes[0] == 50 and set(sizes[1:-1]) == {10} and sum(sizes) == 3000  # it starts small, and shrinks


def test_an_import_lengthens_its_transactions_while_they_are_quick_up_to_its_limit(tmp_path, monkeypatch):
    store = Store(tmp_path / "f.db")
    monkeypatch.setattr(Store, "IMPORT_TX_S", 1e9)  # every transaction is quick
    sizes: list[int] = []
    real = Store.upsert_claims

    def counting(self, claims, **kw):
        claims = list(claims)
        if not kw.get("commit_every"):
            sizes.append(len(claims))
        return real(self, claims, **kw)

    monkeypatch.setattr(Store, "upsert_claims", counting)
    store.upsert_claims(_many(3000), commit_every=1000)
    assert store.count() == 3000
    assert sizes == [50, 100, 200, 400, 800, 1000, 450]


def test_a_bounded_import_checks_every_id_before_the_first_commit(tmp_path):
    store = Store(tmp_path / "f.db")
    claims = _many(2500)
    claims.append(claims[10])
    with pytest.raises(ValueError, match="'bulk-10' appears twice in one write"):
        store.upsert_claims(claims, commit_every=1000)
    assert store.count() == 0


class _LateTurn:
    """``Store._writing`` as a loaded machine schedules it: the caller's thread gets its turn only after the writer
    thread has made every kept write itself (the real writer thread, on its own connection)."""

    def __init__(self, store: Store):
        import threading

        self.store, self.lock, self.caller = store, store._writing, threading.current_thread()

    def acquire(self, timeout: float = -1) -> bool:
        import threading
        import time

        if threading.current_thread() is self.caller and self.store.pending:
            self.store._wake.set()
            deadline = time.monotonic() + 10
            while self.store.pending and time.monotonic() < deadline:
                time.sleep(0.001)
            assert not self.store.pending, "the writer thread did not make the kept writes"
        return self.lock.acquire(timeout=timeout)

    def release(self) -> None:
        self.lock.release()


def test_an_event_id_the_writer_thread_wrote_while_the_caller_waited_for_its_turn_is_answered(tmp_path):
    """Under load the writer thread can take an event's seen-id write between the caller keeping it and the caller's
    own attempt: the caller then found nothing left to write (row count 0, "another instance wrote it") and the
    event was acknowledged but never answered."""
    from bot.core.conversations import Conversations

    store = Store(tmp_path / "f.db")
    conversations = Conversations(store)
    store._writing = _LateTurn(store)  # type: ignore[assignment]
    assert conversations.first_delivery("slack", "Ev1")
    assert conversations.first_delivery("slack", "Ev2")
    assert not conversations.first_delivery("slack", "Ev1")  # a retry is still dropped
    seen = {r[0] for r in store.db.execute("SELECT event_id FROM processed_events")}
    assert seen == {"Ev1", "Ev2"}
    store.close()
    assert not Conversations(Store(tmp_path / "f.db")).first_delivery("slack", "Ev2")  # and after a restart


def test_a_kept_write_that_can_never_be_made_is_dropped_alone(tmp_path):
    import sqlite3

    db = tmp_path / "f.db"
    bot = Store(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('a', '1')", [])]) is None
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('a', 'again')", [])]) is None  # a duplicate key
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('b', '2')", [])]) is None
    holder.execute("ROLLBACK")
    holder.close()
    assert _drained(bot)
    assert bot.get_meta("a") == "1" and bot.get_meta("b") == "2"  # the others were made, in order
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('b', '3')", [])]) == 0  # now, on the caller's thread
    assert bot.give_way([("INSERT INTO meta(key, value) VALUES ('c', '3')", [])]) == 1
    bot.close()


def test_retention_is_one_job_for_every_process_on_the_database(db_engine, request, tmp_path):
    """Old checks and event ids go once per period, by whichever process asks first; the others do nothing."""
    target = request.getfixturevalue("pg_url") if db_engine == "postgresql" else str(tmp_path / "f.db")
    first, second = Store(target), Store(target)
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    for at in ("2026-01-01T00:00:00+00:00", "2026-05-30T00:00:00+00:00"):
        first.log_check(query=at, decision="none", claim_id=None, score=None, at=at)
    for event, at in (("EvOld", "2026-05-29T11:00:00+00:00"), ("EvNew", "2026-06-01T11:00:00+00:00")):
        first.give_way([("INSERT INTO processed_events(platform, event_id, at) VALUES ('slack', ?, ?)", [event, at])])
    assert first.housekeeping(90, now=now) == (1, 1)  # the January check, the three-day-old event id
    assert second.housekeeping(90, now=now + dt.timedelta(minutes=30)) is None  # this hour's is done
    assert [c["query"] for c in second.checks()] == ["2026-05-30T00:00:00+00:00"]
    assert [r[0] for r in second.db.execute("SELECT event_id FROM processed_events")] == ["EvNew"]
    assert second.housekeeping(90, now=now + dt.timedelta(days=2)) == (0, 1)  # the next period, by the other
    for s in (first, second):
        s.close()
