"""Summaries of the database for the operator's commands (``factbot db stats``, ``doctor``, ``model status``).

The command line shows these; the SQL behind them lives here, beside the store, so that every statement the
project runs is under ``bot/core`` (and a second database engine has one place to look).
"""

from __future__ import annotations

from .store import Store


def engine_info(store: Store) -> dict[str, str]:
    """Which engine holds the data, where (a URL without its password), and the server's version."""
    info = {"engine": store.engine, "location": store.location}
    if store.engine == "postgresql":
        info["server_version"] = str(store.db.execute("SHOW server_version").fetchone()[0])
    else:
        info["server_version"] = "SQLite " + str(store.db.execute("SELECT sqlite_version()").fetchone()[0])
    return info


def claims_by_origin(store: Store) -> dict[str, int]:
    """Claims per origin (``bundled``, ``import``, ``manual``…)."""
    return {r[0]: r[1] for r in store.db.execute("SELECT origin, count(*) FROM claims GROUP BY origin")}


def own_claims(store: Store) -> int:
    """Claims that did not come from the bundled knowledge (imported, added or edited here)."""
    return int(store.db.execute("SELECT count(*) FROM claims WHERE origin != 'bundled'").fetchone()[0])


def checks_logged(store: Store) -> int:
    return int(store.db.execute("SELECT count(*) FROM checks").fetchone()[0])


def check_fulltext_integrity(store: Store) -> None:
    """SQLite's integrity check of the full-text table (a write: not on a read-only file); raises when out of sync.

    PostgreSQL's text search is an index on the claims table itself, which the server keeps in step."""
    if store.engine == "postgresql":
        return
    store.db.execute("INSERT INTO claims_fts(claims_fts) VALUES ('integrity-check')")


def recently_changed_claims(store: Store, *, changes: int = 200) -> list[str]:
    """The ids of the existing claims written in the last ``changes`` changes."""
    return [r[0] for r in store.db.execute(
        "SELECT DISTINCT claim_id FROM claim_changes WHERE seq > ? AND claim_id IN (SELECT id FROM claims)",
        [max(store.last_change_seq() - changes, 0)])]


def stored_phrasings(store: Store) -> int:
    """How many phrasings have a stored vector, whatever the model."""
    return int(store.db.execute("SELECT count(*) FROM claim_vectors").fetchone()[0])


def vectors_by_model(store: Store) -> list[tuple[str, int, int]]:
    """(model, phrasings, claims) for each model with stored vectors."""
    rows = store.db.execute("SELECT model, count(*), count(DISTINCT claim_id) FROM claim_vectors GROUP BY model")
    return [(r[0], r[1], r[2]) for r in rows.fetchall()]


def slack_installs(store: Store) -> list[tuple[str, str | None, str | None, bool]]:
    """What slack_sdk's SQLite installation store in this file holds installations for: (client id, enterprise id,
    team id, whether the install is organisation-wide), each once; none on PostgreSQL or without the table."""
    if store.engine != "sqlite" or store.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'slack_installations'").fetchone() is None:
        return []
    rows = store.db.execute("SELECT DISTINCT client_id, enterprise_id, team_id, is_enterprise_install "
                            "FROM slack_installations ORDER BY client_id, enterprise_id, team_id")
    return [(r[0], r[1] or None, r[2] or None, bool(r[3])) for r in rows.fetchall()]
