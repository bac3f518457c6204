"""The claims database: SQLite through sqlite-utils, the single source of truth.

Everything else (the search index, digests, statistics) is derived from or
reads this file.  It is opened in WAL mode with a busy timeout so that a
running bot and a ``factbot`` command on the same file do not lock each other
out, and every multi-row write is one transaction: an import either lands
whole or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import sqlite_utils

from . import migrations
from .models import Claim, Source, Verdict, utcnow
from .normalize import fold, tokens

CLAIM_COLUMNS = (
    "id", "claim", "verdict", "rating_text", "summary", "sources", "claimant", "claim_date",
    "reviewed_at", "tags", "aliases", "language", "created_at", "updated_at", "origin",
)
_CONTENT_COLUMNS = tuple(c for c in CLAIM_COLUMNS if c not in ("created_at", "updated_at", "origin"))


@dataclass
class WriteStats:
    """What a write did, so the CLI can say "3 added, 1 updated, 20 unchanged"."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # bundled updates not applied to user-edited claims
    deleted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.inserted)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.deleted:
            parts.append(f"{len(self.deleted)} removed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} kept as edited")
        return ", ".join(parts)


def claim_to_row(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "claim": claim.claim,
        "verdict": claim.verdict.value,
        "rating_text": claim.rating_text,
        "summary": claim.summary,
        "sources": json.dumps([s.to_dict() for s in claim.sources], ensure_ascii=False),
        "claimant": claim.claimant,
        "claim_date": claim.claim_date,
        "reviewed_at": claim.reviewed_at,
        "tags": json.dumps(list(claim.tags), ensure_ascii=False),
        "aliases": json.dumps(list(claim.aliases), ensure_ascii=False),
        "language": claim.language,
        "created_at": claim.created_at,
        "updated_at": claim.updated_at,
        "origin": claim.origin,
    }


def row_to_claim(row: dict[str, Any] | sqlite3.Row) -> Claim:
    row = dict(row)
    return Claim(
        id=row["id"],
        claim=row["claim"],
        verdict=Verdict(row["verdict"]),
        summary=row["summary"],
        sources=tuple(Source.from_dict(s) for s in json.loads(row["sources"] or "[]")),
        rating_text=row.get("rating_text") or "",
        claimant=row.get("claimant") or "",
        claim_date=row.get("claim_date") or "",
        reviewed_at=row.get("reviewed_at") or "",
        tags=tuple(json.loads(row.get("tags") or "[]")),
        aliases=tuple(json.loads(row.get("aliases") or "[]")),
        language=row.get("language") or "en",
        created_at=row.get("created_at") or "",
        updated_at=row.get("updated_at") or "",
        origin=row.get("origin") or "user",
    )


def fts_query(text: str, *, prefix: bool = False, max_terms: int = 32) -> str:
    """An FTS5 MATCH expression from chat text: each word quoted, joined with OR.

    Quoting makes every FTS5 operator (``AND``, ``NEAR``, ``-``, ``col:``,
    ``"``, ``*``) a plain word, so hostile or merely chatty input never
    raises a syntax error.  Returns "" when there is no word to search for.
    """
    words = list(dict.fromkeys(tokens(text)))[:max_terms]
    if not words:
        return ""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix:
        quoted[-1] += "*"
    return " OR ".join(quoted)


class Store:
    """Claims, their change feed and the check log, in one SQLite file."""

    def __init__(self, path: str | Path | None = None, *, busy_timeout_ms: int = 5000):
        self.path: Path | None = None if path in (None, ":memory:") else Path(path).expanduser()
        if self.path is None:
            self.db = sqlite_utils.Database(memory=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=busy_timeout_ms / 1000)
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
        self._tx_depth = 0
        self.db.conn.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        migrations.migrate(self.db)
        if not self.get_meta("db_id"):
            self.set_meta("db_id", uuid.uuid4().hex)

    # -- housekeeping --------------------------------------------------
    def close(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.db.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested uses join the outer one, so a composite write stays all or nothing."""
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield
            finally:
                self._tx_depth -= 1
            return
        self._tx_depth = 1
        try:
            with self.db.conn:
                self.db.conn.execute("BEGIN IMMEDIATE")
                yield
        finally:
            self._tx_depth = 0

    @property
    def schema_version(self) -> int:
        return migrations.version(self.db)

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def size_bytes(self) -> int:
        if self.path is None:
            return self.db.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())

    # -- reading claims -------------------------------------------------
    def count(self, verdict: str | None = None) -> int:
        if verdict:
            return self.db.execute("SELECT count(*) FROM claims WHERE verdict = ?", [verdict]).fetchone()[0]
        return self.db.execute("SELECT count(*) FROM claims").fetchone()[0]

    def get(self, claim_id: str) -> Claim | None:
        row = self.db.execute("SELECT * FROM claims WHERE id = ?", [claim_id]).fetchone()
        return row_to_claim(row) if row else None

    def get_many(self, ids: Sequence[str]) -> dict[str, Claim]:
        out: dict[str, Claim] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM claims WHERE id IN ({marks})", chunk):
                out[row["id"]] = row_to_claim(row)
        return out

    def first_stored(self, ids: Sequence[str]) -> list[str]:
        """The given ids in the order their claims were first stored (an update keeps a claim's place)."""
        ids = list(dict.fromkeys(ids))
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id FROM claims WHERE id IN ({marks}) ORDER BY rowid", ids) if ids else []
        return [row["id"] for row in rows]

    def iter_claims(self, *, verdict: str | None = None, origin: str | None = None, batch: int = 1000) -> Iterator[Claim]:
        """All claims in id order, read in batches so a million rows never sit in memory at once."""
        last = ""
        where, args = [], []
        if verdict:
            where.append("verdict = ?")
            args.append(verdict)
        if origin:
            where.append("origin = ?")
            args.append(origin)
        extra = "".join(f" AND {w}" for w in where)
        while True:
            rows = self.db.execute(
                f"SELECT * FROM claims WHERE id > ?{extra} ORDER BY id LIMIT ?", [last, *args, batch]
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row_to_claim(row)
            last = rows[-1]["id"]

    def search_fts(self, text: str, limit: int = 10, *, prefix: bool = False) -> list[tuple[Claim, float]]:
        """Claims whose text or aliases contain the words (FTS5, BM25-ranked): for autocomplete and listing."""
        query = fts_query(text, prefix=prefix)
        if not query:
            return []
        rows = self.db.execute(
            """SELECT claims.*, bm25(claims_fts) AS rank FROM claims_fts
               JOIN claims ON claims.rowid = claims_fts.rowid
               WHERE claims_fts MATCH ? ORDER BY rank LIMIT ?""",
            [query, int(limit)],
        ).fetchall()
        return [(row_to_claim(r), -float(r["rank"])) for r in rows]

    # -- writing claims -------------------------------------------------
    def upsert_claims(
        self,
        claims: Iterable[Claim],
        *,
        origin: str = "user",
        progress: Callable[[int], None] | None = None,
        protect_user_edits: bool = False,
    ) -> WriteStats:
        """Insert or update claims by id, all in one transaction.

        A claim whose content is unchanged is not rewritten, so the change
        feed (and the digests and correction notices that read it) only sees
        real changes.  With ``protect_user_edits`` (bundled knowledge sync),
        claims a user imported or edited are left as they are.
        """
        stats = WriteStats()
        now = utcnow()
        cols = ", ".join(CLAIM_COLUMNS)
        marks = ", ".join("?" * len(CLAIM_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in CLAIM_COLUMNS if c not in ("id", "created_at"))
        sql = f"INSERT INTO claims ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"
        with self.transaction():
            batch: list[Claim] = []

            def flush() -> None:
                existing = {
                    r["id"]: dict(r)
                    for r in self._rows_by_id([c.id for c in batch])
                }
                params = []
                for claim in batch:
                    row = claim_to_row(claim)
                    row["origin"] = origin
                    old = existing.get(claim.id)
                    if old is None:
                        row["created_at"] = claim.created_at or now
                        row["updated_at"] = claim.updated_at or now
                        stats.inserted.append(claim.id)
                    elif all((old.get(c) or "") == (row[c] or "") for c in _CONTENT_COLUMNS) and old["origin"] == origin:
                        stats.unchanged.append(claim.id)
                        continue
                    elif protect_user_edits and old["origin"] != origin:
                        stats.skipped.append(claim.id)
                        continue
                    else:
                        row["created_at"] = old["created_at"]
                        row["updated_at"] = now
                        stats.updated.append(claim.id)
                    params.append([row[c] for c in CLAIM_COLUMNS])
                if params:
                    self.db.conn.executemany(sql, params)
                if progress:
                    progress(len(batch))
                batch.clear()

            seen: set[str] = set()
            for claim in claims:
                if claim.id in seen:
                    raise ValueError(f"claim id {claim.id!r} appears twice in one write")
                seen.add(claim.id)
                batch.append(claim)
                if len(batch) >= 500:
                    flush()
            if batch:
                flush()
        return stats

    def _rows_by_id(self, ids: Sequence[str]) -> list[sqlite3.Row]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self.db.execute(f"SELECT * FROM claims WHERE id IN ({marks})", list(ids)).fetchall()

    def remove(self, claim_id: str) -> bool:
        with self.transaction():
            cur = self.db.conn.execute("DELETE FROM claims WHERE id = ?", [claim_id])
        return cur.rowcount > 0

    def sync_bundled(self, claims: Sequence[Claim], fingerprint: str, *, force: bool = False) -> WriteStats | None:
        """Bring the bundled (knowledge/) claims up to date; claims a user imported or edited stay as they are.

        Returns None when the knowledge files have not changed since the last
        sync, which makes this cheap enough to call at every start.
        """
        if not force and self.get_meta("knowledge_fingerprint") == fingerprint:
            return None
        with self.transaction():
            stats = self.upsert_claims(claims, origin="bundled", protect_user_edits=True)
            wanted = {c.id for c in claims}
            gone = [
                r[0] for r in self.db.execute("SELECT id FROM claims WHERE origin = 'bundled'").fetchall() if r[0] not in wanted
            ]
            for cid in gone:
                self.db.conn.execute("DELETE FROM claims WHERE id = ?", [cid])
            stats.deleted.extend(gone)
            self.db.conn.execute(
                "INSERT INTO meta(key, value) VALUES ('knowledge_fingerprint', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [fingerprint],
            )
        return stats

    def delete_all_claims(self) -> int:
        with self.transaction():
            n = self.db.conn.execute("DELETE FROM claims").rowcount
            self.db.conn.execute("DELETE FROM meta WHERE key = 'knowledge_fingerprint'")
        return n

    # -- the change feed ------------------------------------------------
    def last_change_seq(self) -> int:
        row = self.db.execute("SELECT max(seq) FROM claim_changes").fetchone()
        return row[0] or 0

    def changes_since(self, seq: int, limit: int | None = None) -> list[tuple[int, str, str]]:
        sql = "SELECT seq, claim_id, op FROM claim_changes WHERE seq > ? ORDER BY seq"
        args: list[Any] = [seq]
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [(r[0], r[1], r[2]) for r in self.db.execute(sql, args)]

    # -- the check log --------------------------------------------------
    def log_check(
        self,
        *,
        query: str,
        decision: str,
        claim_id: str | None,
        score: float | None,
        platform: str = "console",
        workspace: str = "",
        channel: str = "",
        latency_ms: float | None = None,
        keep_text: bool = True,
        at: str | None = None,
        language: str | None = None,
    ) -> int:
        """Record one check for digests and statistics; with ``keep_text=False`` only a hash of the words is kept."""
        folded = fold(query)
        with self.transaction():
            cur = self.db.conn.execute(
                "INSERT INTO checks(at, platform, workspace, channel, query, query_hash, decision, claim_id, score,"
                " latency_ms, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    at or utcnow(),
                    platform,
                    workspace,
                    channel,
                    query[:2000] if keep_text else None,
                    hashlib.sha256(folded.encode()).hexdigest(),
                    decision,
                    claim_id,
                    score,
                    latency_ms,
                    language,
                ],
            )
        return int(cur.lastrowid)

    def prune_checks(self, retention_days: int, *, now: dt.datetime | None = None) -> int:
        """Forget checks older than the retention period; returns how many went."""
        now = now or dt.datetime.now(dt.timezone.utc)
        cutoff = (now - dt.timedelta(days=retention_days)).replace(microsecond=0).isoformat()
        with self.transaction():
            return self.db.conn.execute("DELETE FROM checks WHERE at < ?", [cutoff]).rowcount

    def checks(self, since: str = "", *, limit: int = 1000) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.execute("SELECT * FROM checks WHERE at >= ? ORDER BY id LIMIT ?", [since, limit])
        ]
