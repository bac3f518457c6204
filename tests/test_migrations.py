"""Schema versions: a new database is at the latest version; an older one is upgraded with its data intact."""

import sqlite_utils
import pytest

from bot.core import migrations
from bot.core.store import Store


def test_new_database_is_latest(store):
    assert store.schema_version == migrations.LATEST


def test_older_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.migrate(db, target=1)
    db["claims"].insert(
        {"id": "old-claim", "claim": "An old claim about guardrails", "verdict": "true", "summary": "s",
         "sources": '[{"title": "t"}]', "origin": "user"}
    )
    db.conn.commit()
    db.close()
    assert "checks" not in sqlite_utils.Database(path).table_names()

    store = Store(path)
    assert store.schema_version == migrations.LATEST
    assert store.get("old-claim").claim == "An old claim about guardrails"
    store.log_check(query="q", decision="none", claim_id=None, score=None)
    assert [c.id for c, _ in store.search_fts("guardrails")] == ["old-claim"]


def test_interrupted_step_is_rerun_safely(tmp_path):
    db = sqlite_utils.Database(tmp_path / "x.db")
    migrations.migrate(db, target=1)
    migrations.MIGRATIONS[1](db)  # the step ran, but the version bump did not
    assert migrations.version(db) == 1
    assert migrations.migrate(db) == list(range(2, migrations.LATEST + 1))


def test_newer_database_is_refused(tmp_path):
    db = sqlite_utils.Database(tmp_path / "new.db")
    db.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    db.close()
    with pytest.raises(migrations.SchemaTooNew, match="upgrade factbot"):
        Store(tmp_path / "new.db")


def test_v7_records_the_language_of_each_check(tmp_path):
    store = Store(tmp_path / "lang.db")
    store.log_check(query="¿es verdad?", decision="none", claim_id=None, score=None, language="es")
    store.log_check(query="old caller", decision="none", claim_id=None, score=None)
    assert [(r["query"], r["language"]) for r in store.checks()] == [("¿es verdad?", "es"), ("old caller", None)]
    store.close()


def test_a_claims_last_change_is_found_by_its_index_not_a_scan_of_the_feed(store):
    """The correction notices look up each recent reply's claim's last change; without an index on the claim id
    that was a scan of the whole change feed per reply (minutes on a running bot after a 200,000-claim import)."""
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT max(seq) FROM claim_changes WHERE claim_id = ? AND op = 'update'", ["x"]
    ).fetchall()
    assert any("USING INDEX claim_changes_claim" in row[3] or "USING COVERING INDEX claim_changes_claim" in row[3]
               for row in plan), [tuple(r) for r in plan]


# -- PostgreSQL: the same steps, a version table, one upgrade at a time --------------------------------------
def test_postgresql_database_is_created_at_the_latest_version_with_a_version_table(pg_url):
    import psycopg

    store = Store(pg_url)
    assert store.engine == "postgresql" and store.created
    assert store.schema_version == migrations.LATEST
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(migrations.LATEST,)]
    store.close()
    again = Store(pg_url)
    assert not again.created and again.schema_version == migrations.LATEST
    again.close()


def test_older_postgresql_database_is_upgraded_in_place(pg_url):
    from bot.core.engine import PgDatabase

    db = PgDatabase(pg_url)
    migrations.migrate(db, target=1)
    db.execute("INSERT INTO claims(id, claim, verdict, summary, sources, origin) VALUES (?, ?, ?, ?, ?, ?)",
               ["old-claim", "An old claim about guardrails", "true", "s", '[{"title": "t"}]', "user"])
    assert db.execute("SELECT to_regclass('checks')").fetchone()[0] is None
    db.close()
    store = Store(pg_url)
    assert store.schema_version == migrations.LATEST and not store.created
    assert store.get("old-claim").claim == "An old claim about guardrails"
    assert [c.id for c, _ in store.search_fts("guardrails")] == ["old-claim"]
    store.close()


def test_newer_postgresql_database_is_refused(pg_url):
    Store(pg_url).close()
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = %s", [migrations.LATEST + 1])
    with pytest.raises(migrations.SchemaTooNew, match="upgrade factbot"):
        Store(pg_url)


def test_instances_starting_together_upgrade_a_postgresql_database_once(pg_url):
    import threading

    stores, errors = [], []

    def open_one():
        try:
            stores.append(Store(pg_url))
        except Exception as exc:  # noqa: BLE001 - the failure this test exists to catch
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(stores) == 4
    assert {s.schema_version for s in stores} == {migrations.LATEST}
    assert sum(s.created for s in stores) == 1
    assert len({s.get_meta("db_id") for s in stores}) == 1
    for s in stores:
        s.close()
