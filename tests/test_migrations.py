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
