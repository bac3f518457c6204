"""The store: claims round-trip, writes are all or nothing, FTS stays in sync, the check log keeps what it should."""

import datetime as dt
import sqlite3
import threading

import pytest

from bot.core.models import claim_from_dict
from bot.core.store import Store, fts_query


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
    # The FTS index agrees with its content table (SQLite's own integrity check).
    sample_store.db.execute("INSERT INTO claims_fts(claims_fts) VALUES ('integrity-check')")


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
    now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
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


def test_a_large_import_commits_in_bounded_transactions_so_other_writers_get_in(tmp_path):
    """Another process's writes (a running bot's) get the lock within half a second during a 20,000-claim import."""
    import threading
    import time

    db = tmp_path / "f.db"
    Store(db).close()
    importer, bot = Store(db), Store(db)
    claims = _many(20_000)
    done = threading.Event()

    def run_import():
        try:
            importer.upsert_claims(claims, commit_every=1000)
        finally:
            done.set()

    thread = threading.Thread(target=run_import)
    thread.start()
    waits, deferred = [], 0
    while not done.is_set():
        started = time.perf_counter()
        if bot.give_way([("INSERT INTO meta(key, value) VALUES (?, 'x')", [f"probe-{len(waits)}"])]) is None:
            deferred += 1
        waits.append(time.perf_counter() - started)
        time.sleep(0.01)
    thread.join()
    assert importer.count() == 20_000
    assert len(waits) > 5 and deferred == 0, (len(waits), deferred)
    assert max(waits) < Store.GIVE_WAY_MS / 1000 + 0.1


def test_a_bounded_import_checks_every_id_before_the_first_commit(tmp_path):
    store = Store(tmp_path / "f.db")
    claims = _many(2500)
    claims.append(claims[10])
    with pytest.raises(ValueError, match="'bulk-10' appears twice in one write"):
        store.upsert_claims(claims, commit_every=1000)
    assert store.count() == 0
