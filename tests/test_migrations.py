"""Schema versions: a new database is at the latest version; an older one is upgraded with its data intact."""

import pytest
import sqlite_utils

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


# -- v12: one stored form of a moment, the change feed's too ---------------------------------------------------
def _claim_row(claim_id: str) -> list[str]:
    return [claim_id, f"A claim called {claim_id}", "true", "s", '[{"title": "t"}]', "user"]


INSERT_CLAIM = "INSERT INTO claims(id, claim, verdict, summary, sources, origin) VALUES (?, ?, ?, ?, ?, ?)"


def _feed(db) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT claim_id, at FROM claim_changes ORDER BY seq").fetchall()]


def _assert_one_form(feed: list[tuple[str, str]], before: str) -> None:
    import datetime as dt
    import re

    assert [claim_id for claim_id, _ in feed] == ["before-v12", "after-v12"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", at) for _, at in feed), feed
    assert feed[0][1] == before[:19] + "+00:00"  # the same moment, rewritten
    moment = dt.datetime.fromisoformat(feed[1][1])
    assert moment.tzinfo is not None and abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(minutes=5)


def test_v12_rewrites_the_change_feed_to_the_one_stored_form_and_writes_it_from_then_on(tmp_path):
    path = tmp_path / "feed.db"
    db = sqlite_utils.Database(path)
    migrations.migrate(db, target=11)
    db.execute(INSERT_CLAIM, _claim_row("before-v12"))
    db.conn.commit()
    [(_, before)] = _feed(db)
    assert before.endswith("Z")  # what v2's default wrote
    db.close()
    store = Store(path)
    assert store.schema_version == migrations.LATEST
    store.db.execute(INSERT_CLAIM, _claim_row("after-v12"))
    store.db.conn.commit()
    _assert_one_form(_feed(store.db), before)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    fresh = sqlite_utils.Database(tmp_path / "new.db")
    migrations.migrate(fresh)
    (sql,) = fresh.execute("SELECT sql FROM sqlite_master WHERE name = 'claim_changes'").fetchone()
    assert migrations.SQLITE_NOW in sql and "SZ'" not in sql
    assert migrations._v12_one_timestamp_form(fresh) is None  # run again: nothing to do, nothing broken


def test_v12_on_postgresql(pg_url):
    from bot.core.engine import PgDatabase

    db = PgDatabase(pg_url)
    migrations.migrate(db, target=11)
    db.execute(INSERT_CLAIM, _claim_row("before-v12"))
    [(_, before)] = _feed(db)
    assert before.endswith("Z")
    db.close()
    store = Store(pg_url)
    assert store.schema_version == migrations.LATEST
    store.db.execute(INSERT_CLAIM, _claim_row("after-v12"))
    _assert_one_form(_feed(store.db), before)
    store.close()
