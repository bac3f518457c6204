"""``factbot db copy --to postgresql://…``: an SQLite database copied whole into an empty PostgreSQL one.

Every table factbot keeps goes across with its ids and change numbers as they are (a claim's place in the order
claims were first stored included), in one transaction: the copy lands whole or not at all.  The change feed's
triggers are off while the claims go in, since the feed is copied as it is; each identity column then continues
after the highest id copied.  The search index and vectors' caches are not copied: each instance builds its
own from the database.  Slack's installations are saved through slack_sdk's stores after the copy (not here).
"""

from __future__ import annotations

from collections.abc import Callable

from .store import Store

# Parents before the tables that refer to them; any other table both databases have follows in name order.
_FIRST = ("meta", "claims", "claim_changes", "claim_translations")
# slack_sdk's tables are laid out differently by its SQLite and SQLAlchemy stores: installations go across through
# the stores themselves (bot/adapters/slack/installs.py), and install states are minutes-old and not kept.
_SKIP_PREFIXES = ("sqlite_", "claims_fts", "slack_", "oauth_states")
_TRIGGERS = (("claims", "claims_change"), ("claim_translations", "claim_translations_change"))
_ROWID_TABLES = ("claims", "meta")  # SQLite's rowid becomes a column of these on PostgreSQL
_BATCH = 1000


class CopyError(ValueError):
    """The copy cannot start (what would be lost or mixed is said as one line)."""


def _source_tables(source: Store) -> list[str]:
    names = [r[0] for r in source.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    names = [n for n in names if not n.startswith(_SKIP_PREFIXES)]
    return [n for n in _FIRST if n in names] + [n for n in names if n not in _FIRST]


def _target_columns(target: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in target.db.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"):
        out.setdefault(r[0], []).append(r[1])
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_database(source: Store, target: Store, *, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy ``source`` (SQLite) into ``target`` (an empty PostgreSQL database); the rows copied per table."""
    if source.engine != "sqlite" or target.engine != "postgresql":
        raise CopyError("factbot db copy copies an SQLite database into a PostgreSQL one (--to postgresql://…)")
    if source.schema_version != target.schema_version:
        raise CopyError(f"the two databases have schema versions {source.schema_version} and "
                        f"{target.schema_version}: open both with this factbot first")
    columns = _target_columns(target)
    tables = [t for t in _source_tables(source) if t in columns]
    busy = [t for t in tables if t != "meta"
            and target.db.execute(f"SELECT 1 FROM {_quote(t)} LIMIT 1").fetchone() is not None]
    if busy:
        raise CopyError(f"the PostgreSQL database is not empty ({', '.join(busy)} already hold rows): "
                        "copy into a new database")
    copied: dict[str, int] = {}
    with target.transaction():
        for table, trigger in _TRIGGERS:
            target.db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for table in tables:
            have = [c[1] for c in source.db.execute(f"PRAGMA table_info({_quote(table)})")]
            cols = [c for c in have if c in columns[table]]
            select = ", ".join(_quote(c) for c in cols)
            if table in _ROWID_TABLES and "rowid" in columns[table]:
                cols, select = [*cols, "rowid"], select + ", rowid"
            where = " WHERE key != 'db_id'" if table == "meta" else ""  # the new database keeps its own id
            insert = (f"INSERT INTO {_quote(table)} ({', '.join(_quote(c) for c in cols)}) "
                      f"VALUES ({', '.join('?' * len(cols))})")
            if table == "meta":
                insert += " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
            cur = source.db.execute(f"SELECT {select} FROM {_quote(table)}{where} ORDER BY rowid")
            n = 0
            while rows := cur.fetchmany(_BATCH):
                target.db.conn.executemany(insert, [tuple(r) for r in rows])
                n += len(rows)
                if progress:
                    progress(table, n)
            copied[table] = n
        for r in target.db.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
            table, column = _quote(r[0]), _quote(r[1])
            target.db.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max({column}), 0) + 1, false) "
                              f"FROM {table}", [r[0], r[1]])
        for table, trigger in _TRIGGERS:
            target.db.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    return copied
