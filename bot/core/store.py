"""The claims database: SQLite through sqlite-utils, the single source of truth.

Everything else (the search index, digests, statistics) is derived from or
reads this file.  It is opened in WAL mode with a busy timeout so that a
running bot and a ``factbot`` command on the same file do not lock each other
out, and every multi-row write is one transaction: an import either lands
whole or not at all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from . import migrations
from .engine import POSTGRESQL, SQLITE, PgDatabase, is_url, pg_error_kind, redact
from .models import Claim, ClaimTranslation, Redirect, Source, Verdict, utcnow
from .normalize import fold, tokens

log = logging.getLogger("factbot.store")

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
    longest_tx_s: float = 0.0  # with ``commit_every``: the longest one transaction held the write lock

    def summary(self) -> str:
        parts = [f"{len(self.inserted)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.deleted:
            parts.append(f"{len(self.deleted)} removed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} kept as edited")
        return ", ".join(parts)


class TxPacer:
    """How many rows the next transaction of a large write takes, so that each holds the write lock for about
    ``target`` seconds at most: it starts small, halves (or less) after a slow one, doubles after a quick one, and
    never exceeds ``most``.  Bounded in time, not only in rows: on a loaded machine 1,000 claims can take a second."""

    def __init__(self, most: int, *, target: float, first: int = 50, least: int = 10):
        self.most, self.target, self.least = most, target, min(least, most)
        self.size = max(self.least, min(first, most))
        self.longest = 0.0  # seconds: the longest transaction so far held the write lock
        self.transactions = 0

    def held(self, seconds: float) -> None:
        """A transaction of ``size`` rows held the lock this long: size the next one."""
        self.longest = max(self.longest, seconds)
        self.transactions += 1
        if seconds > self.target:
            self.size = max(self.least, int(self.size * self.target / seconds * 0.8))
        elif seconds < self.target / 2:
            self.size = min(self.most, self.size * 2)


class StoreError(RuntimeError):
    """The database cannot do what was asked, as one line an operator can act on.

    ``kind`` is ``busy`` (another process holds the write lock past the wait), ``readonly``, ``full`` (the disk),
    ``io``, ``corrupt`` or ``unopenable``.  The command line maps every one to exit code 4, once.
    """

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


_DB_ERRORS = (
    ("locked", "busy", "is busy: another process has been writing to it for longer than factbot waits; try again"),
    ("busy", "busy", "is busy: another process has been writing to it for longer than factbot waits; try again"),
    ("readonly", "readonly", "is read-only here (file, folder or disk); nothing was changed"),
    ("read-only", "readonly", "is read-only here (file, folder or disk); nothing was changed"),
    ("disk is full", "full", "cannot be written: the disk is full; nothing was changed"),
    ("disk i/o", "io", "cannot be read or written (disk I/O error)"),
    ("not a database", "corrupt", "is not a SQLite database (or is damaged)"),
    ("malformed", "corrupt", "is damaged (database disk image is malformed)"),
    ("unable to open", "unopenable", "cannot be opened (check that its folder exists and is readable)"),
)


def store_error(exc: BaseException, path: str | Path | None = None) -> StoreError:
    """The ``StoreError`` an SQLite (or file system) error amounts to."""
    if isinstance(exc, StoreError):
        return exc
    where = f"the database {redact(path)}" if path else "the database"
    pg = pg_error_kind(exc)
    if pg is not None:
        return StoreError(f"{where} {pg[1]}", pg[0])
    text = str(exc).lower()
    for needle, kind, what in _DB_ERRORS:
        if needle in text:
            return StoreError(f"{where} {what}", kind)
    if isinstance(exc, OSError):
        if exc.errno == 28:
            return StoreError(f"{where} cannot be written: the disk is full; nothing was changed", "full")
        if exc.errno in (13, 30):
            return StoreError(f"{where} is read-only here (file, folder or disk); nothing was changed", "readonly")
        return StoreError(f"cannot open {where}: {exc.strerror or exc}", "unopenable")
    return StoreError(f"{where}: {exc}", "io")


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


def _row_to_redirect(row: sqlite3.Row) -> Redirect:
    return Redirect(
        id=row["old_id"], replaced_by=tuple(json.loads(row["replaced_by"])), change=row["change"], claim=row["claim"],
        verdict=Verdict(row["verdict"]), reason=row["reason"] or "", retired_at=row["retired_at"] or "",
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

    def __init__(self, path: str | Path | None = None, *, busy_timeout_ms: int = 5000, readonly: bool = False):
        # ``path`` is an SQLite file (None or ":memory:" for one in memory) or a ``postgresql://`` URL.
        self.url: str | None = str(path) if is_url(path) else None
        self.engine = POSTGRESQL if self.url else SQLITE
        self.path: Path | None = None if path in (None, ":memory:") or self.url else Path(path).expanduser()
        self.readonly = False
        self._busy_ms = int(busy_timeout_ms)
        self._tx_depth = 0
        # Writes that gave way (``give_way``), in order, and why writing fails now ("" while it works).
        self.pending: list[tuple[str, Sequence[Any]]] = []
        self.write_problem = ""
        self._pending_lock = threading.Lock()  # guards ``pending`` between the caller's and the writer thread
        # Statements ever kept, and ever settled (made or dropped): the n-th kept is settled once ``_settled >= n``,
        # whichever thread made it.
        self._kept = 0
        self._settled = 0
        self._writing = threading.Lock()  # one attempt at the kept writes at a time, on either connection
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._writer: threading.Thread | None = None
        self.created = False  # PostgreSQL: whether this open made the schema (a file says so by not existing)
        # PostgreSQL: every read is a network round trip. The change feed's head is read again only after
        # ``head_ttl`` seconds (or after a write of this store's), and the claims a check reads are kept while the
        # head stays where it was (see ``last_change_seq`` and ``get_many``).
        self.head_ttl = self.HEAD_TTL_S if self.url else 0.0
        self._head: tuple[int, float] | None = None  # (the head, when it was read)
        self._claims_seen: dict[str, Claim] = {}
        self._claims_seq = -1  # the head at which ``_claims_seen`` holds
        self._writer_conn: Any = None  # PostgreSQL: the connection the writes that give way are made on
        self.index_dir: Path | None = None  # PostgreSQL: ``[index] cache_dir``, where the local search index goes
        if self.url is not None:
            self._open_postgresql(self.url, busy_timeout_ms)
            return
        if self.path is None:
            self.db = sqlite_utils.Database(memory=True)
            self._prepare()
            return
        try:
            if readonly or not self._writable():
                self._open_readonly()
            else:
                self._open_writable()
        except sqlite3.DatabaseError as exc:
            raise store_error(exc, self.path) from None
        except OSError as exc:
            raise store_error(exc, self.path) from None

    def _writable(self) -> bool:
        """Whether this process may write the file and its folder (the -wal and -shm files go next to it)."""
        assert self.path is not None
        folder = self.path.parent
        if not self.path.exists():
            return True  # created below (or the folder is missing, which the open reports)
        try:
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                return False
        except (OSError, AttributeError):
            pass
        return os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)

    def _open_writable(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=self._busy_ms / 1000)
        self.db = sqlite_utils.Database(conn)
        self.db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._prepare()

    def _open_readonly(self) -> None:
        """Open for reading only (a read-only file, folder or disk): checks still work, writes raise StoreError.

        With its -wal and -shm files present SQLite reads a WAL database as it is; without them, on a
        read-only disk, it can only read the file as immutable (which is what it is there).
        """
        assert self.path is not None
        from urllib.parse import quote

        self.readonly = True
        base = "file:" + quote(str(self.path.resolve()))
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(base + query, uri=True, check_same_thread=False, timeout=self._busy_ms / 1000)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                break
            except sqlite3.OperationalError:
                conn.close()
                if query.endswith("immutable=1"):
                    raise
        self.db = sqlite_utils.Database(conn)
        self.db.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        current = migrations.version(self.db)
        if current != migrations.LATEST:
            migrations.migrate(self.db, target=current)  # raises SchemaTooNew for a newer database
            raise StoreError(f"the database {self.path} has schema version {current} and is read-only here: open it "
                             f"once where factbot may write it, to upgrade it to version {migrations.LATEST}",
                             "readonly")
        self.db.conn.row_factory = sqlite3.Row
        log.info("the database %s is read-only here: checks work, nothing is recorded", self.path)

    def _open_postgresql(self, url: str, busy_timeout_ms: int) -> None:
        """A PostgreSQL database through a connection pool; the schema is migrated as for a file."""
        try:
            self.db = PgDatabase(url, timeout=max(busy_timeout_ms / 1000, 1.0))  # type: ignore[assignment]
        except ImportError:
            raise StoreError(f"the database {redact(url)} is a PostgreSQL one, which needs the postgres extra: "
                             "pip install 'factbot[postgres]'", "unopenable") from None
        except Exception as exc:  # noqa: BLE001 - psycopg's and the pool's errors, each said as one line
            raise store_error(exc, url) from None
        try:
            applied = migrations.migrate(self.db)
            self.created = applied[:1] == [1]
            if not self.get_meta("db_id"):
                self.set_meta("db_id", uuid.uuid4().hex)
        except migrations.SchemaTooNew:
            self.db.close()
            raise
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is about the database itself
            self.db.close()
            if pg_error_kind(exc) is None:
                raise
            raise store_error(exc, url) from None

    @property
    def location(self) -> str:
        """Where the data is, as it may be shown: the file, ":memory:", or the URL with its password hidden."""
        if self.url is not None:
            return redact(self.url)
        return str(self.path) if self.path is not None else ":memory:"

    def _prepare(self) -> None:
        self.db.conn.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        migrations.migrate(self.db)
        if not self.get_meta("db_id"):
            self.set_meta("db_id", uuid.uuid4().hex)

    # -- housekeeping --------------------------------------------------
    def close(self) -> None:
        if self.url is not None and self.pending and not self.write_problem:
            self.flush_pending(wait=True)  # the writer thread stops below: a last attempt at what it still has
        self._closing.set()
        self._wake.set()
        if self._writer is not None and self._writer is not threading.current_thread():
            self._writer.join(2.0)
        if self.engine == POSTGRESQL:
            if self._writer_conn is not None:
                self._writer_conn.close()
            self.db.close()
            return
        with contextlib.suppress(sqlite3.ProgrammingError):
            self.db.conn.close()

    def reopen(self) -> Store | None:
        """Another connection to the same database, for work on a thread of its own (None for an in-memory one)."""
        if self.url is not None:
            other = Store(self.url, busy_timeout_ms=self._busy_ms)
            other.index_dir = self.index_dir
            return other
        if self.path is None:
            return None
        return Store(self.path, busy_timeout_ms=self._busy_ms, readonly=self.readonly)

    @property
    def closed(self) -> bool:
        return self._closing.is_set()

    def __enter__(self) -> Store:
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
        if self.readonly:
            raise StoreError(f"the database {self.path} is read-only here (file, folder or disk); nothing was changed",
                             "readonly")
        if self.engine == POSTGRESQL:
            try:
                with self.db.transaction():  # type: ignore[attr-defined]
                    yield
            except Exception as exc:  # noqa: BLE001 - re-raised unless it is about the database itself
                if pg_error_kind(exc) is None:
                    raise
                raise store_error(exc, self.url) from exc
            finally:
                self._head = None  # what this store wrote is read back at once, never from before
            return
        self._tx_depth = 1
        try:
            with self.db.conn:
                self.db.conn.execute("BEGIN IMMEDIATE")
                yield
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path) from exc
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:
                raise
            raise store_error(exc, self.path) from exc
        finally:
            self._tx_depth = 0

    # -- writes that give way ----------------------------------------------------
    IMPORT_PAUSE = 0.01  # seconds between the transactions of a large import (``upsert_claims(commit_every=…)``)
    IMPORT_TX_S = 0.2  # a large import commits at the latest after this long in one transaction
    GIVE_WAY_MS = 500  # how long ``flush_pending(wait=True)`` (at shutdown) tries for another process's write lock
    RETRY_S = 2.0  # how often kept writes are retried while writing fails for a reason other than a busy lock
    CHECKPOINT_S = 5.0  # how often the writer thread moves the write-ahead log into the database file
    MAX_PENDING = 20_000  # writes kept while they cannot be made; the oldest go first beyond this

    def give_way(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int | None:
        """Writes on a running bot's path (the check log, seen event ids, remembered replies): made now, in one
        transaction, if the write lock is free at this instant; otherwise kept in memory, in order, and made by a
        writer thread (on its own connection) as soon as the lock is free.  The caller never waits for the lock.

        So a person still gets an answer, and Slack its acknowledgement, while another process imports a large
        file, and while the disk is full or the file read-only (``write_problem`` says why; ``/healthz`` reports
        it).  Returns the row count of the last statement when written now, None when kept for later.
        """
        with self._pending_lock:
            self.pending.extend(statements)
            self._kept += len(statements)
            mine = self._kept  # the number of the last of these statements
        if (self.path is None and self.url is None) or self.readonly:
            return self._flush(want=mine)
        self._start_writer()
        if self.url is not None and self.write_problem:
            # The server did not take the last attempt: the writer thread tries again (every RETRY_S, and now),
            # and no caller waits for a connection meanwhile.
            self._wake.set()
            return None
        # The writer thread may be in the middle of an attempt (milliseconds): then it takes these too.
        if not self._writing.acquire(timeout=0.05):
            self._wake.set()
            return None
        try:
            # While this thread waited for its turn, the writer thread may have made these statements itself: their
            # row count is then not known here (None, as for writes kept for later), never 0 ("nothing written").
            rowcount = None if self._settled >= mine else self._flush(wait=False, want=mine)
        finally:
            self._writing.release()
        if self.pending:
            self._wake.set()
        return rowcount

    CLAIM_WAIT_MS = 0  # how long ``claim`` polls for another process's write lock on a file (0: one attempt)

    def claim(self, sql: str, params: Sequence[Any], *, wait_ms: int | None = None) -> Any:
        """One statement that decides between processes (``INSERT … ON CONFLICT … RETURNING``: the rate limit, watch
        mode's cooldown), on a running bot's path: the first row it returns, or None.

        Atomic on both engines: on a file the statement runs in a write transaction of its own, trying for the
        write lock once (SQLite's busy wait of a millisecond, enough for another bot's short writes) or for
        ``wait_ms``, and raising StoreError "busy" past that, so the caller decides what a busy database means
        rather than the event loop waiting five seconds behind a large import, check after check; on
        PostgreSQL it is a transaction of its own sent in one round trip, whose row lock makes concurrent claims of
        one row take turns. Neither waits for the disk at commit (SQLite's WAL with ``synchronous = NORMAL``;
        ``synchronous_commit = off`` on PostgreSQL): a power cut or a server crash may forget the last moment's
        claims, so a person may ask once more or a watched claim be answered once more, never corrupt anything.
        """
        if self.engine == POSTGRESQL:
            try:
                return self.db.execute_unsynced(sql, params).fetchone()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - re-raised unless it is about the database itself
                if pg_error_kind(exc) is None:
                    raise
                raise store_error(exc, self.url) from exc
        wait = self.CLAIM_WAIT_MS if wait_ms is None else wait_ms
        deadline = time.monotonic() + wait / 1000
        while True:
            try:
                with self._short_wait(), self.transaction():
                    return self.db.conn.execute(sql, list(params)).fetchone()
            except StoreError as exc:
                if exc.kind != "busy" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)

    def flush_pending(self, *, wait: bool = False) -> bool:
        """Make the writes that gave way if the database takes them now (with ``wait``, trying for up to
        ``GIVE_WAY_MS``, as at shutdown); True when none is left.  Never waits on the writer thread's attempt."""
        if not self.pending:
            return True
        if self.url is not None and not wait:
            # On PostgreSQL the writer thread makes them: an attempt here would wait for the server on the caller's
            # thread (the event loop's, for the runtime's periodic flush).
            self._start_writer()
            self._wake.set()
            return False
        if not self._writing.acquire(timeout=self.GIVE_WAY_MS / 1000 if wait else 0.05):
            self._wake.set()
            return False
        try:
            return not self.pending or self._flush(wait=wait) is not None
        finally:
            self._writing.release()

    def _flush(self, *, wait: bool = True, want: int | None = None) -> int | None:
        """One attempt at the kept writes on this connection (the caller holds ``_writing`` for a file); the row
        count of kept statement number ``want`` (default: the last), None when the attempt failed."""
        with self._pending_lock:
            batch, first = list(self.pending), self._settled + 1
        if not batch:
            return 0
        try:
            counts = self._write_soon(batch, self.db.conn, wait_ms=self.GIVE_WAY_MS if wait else 0)
        except StoreError as exc:
            self._failed(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - what _each cannot set apart (a statement's own are dropped alone there)
            if self.engine != POSTGRESQL or not type(exc).__module__.startswith("psycopg"):
                raise
            log.error("kept writes dropped: %s", exc)
            counts = []
        self._written(len(batch))
        at = len(batch) - 1 if want is None else want - first
        return counts[at] if 0 <= at < len(counts) else None

    def _failed(self, exc: StoreError) -> None:
        if exc.kind != "busy":
            if not self.write_problem:
                log.warning("writes fail, answers go on (%d kept to write later): %s", len(self.pending), exc)
            self.write_problem = str(exc)
        with self._pending_lock:
            if len(self.pending) > self.MAX_PENDING:
                dropped = len(self.pending) - self.MAX_PENDING
                del self.pending[:dropped]
                self._settled += dropped
                log.warning("%d kept write(s) dropped: the database has not taken writes for a while", dropped)

    def _written(self, n: int) -> None:
        with self._pending_lock:
            del self.pending[:n]
            self._settled += n
        if self.write_problem:
            log.warning("the database takes writes again; %d kept write(s) made", n)
            self.write_problem = ""

    def _write_soon(self, batch: Sequence[tuple[str, Sequence[Any]]], conn: sqlite3.Connection, *,
                    wait_ms: int) -> list[int]:
        """One transaction of these statements on ``conn``, trying for the write lock every 2 ms for at most
        ``wait_ms`` (0: once).  SQLite's own busy wait polls ever more slowly, and would miss the short pauses
        a large import leaves between its commits."""
        deadline = time.monotonic() + wait_ms / 1000
        while True:
            try:
                return self._write_now(batch, conn)
            except StoreError as exc:
                if exc.kind != "busy" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)

    def _write_now(self, batch: Sequence[tuple[str, Sequence[Any]]], conn: sqlite3.Connection) -> list[int]:
        """The statements in one transaction if the write lock is free now (StoreError "busy" if it is not); each
        statement's row count.  A statement that can never succeed (a constraint it breaks) is dropped alone, with
        an error line: it must not take the others with it."""
        if self.url is not None:
            return self._write_pg(batch)
        if conn is self.db.conn:
            with self._short_wait(), self.transaction():
                return self._each(batch, conn)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(exc, self.path) from exc
        try:
            counts = self._each(batch, conn)
            conn.execute("COMMIT")
            return counts
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise store_error(exc, self.path) from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _each(self, batch: Sequence[tuple[str, Sequence[Any]]], conn: sqlite3.Connection) -> list[int]:
        """Each statement's row count, in the transaction ``conn`` is in. If one breaks a constraint (it can never
        succeed), the batch is made again one statement at a time, each in a savepoint, and only the failing ones
        are dropped. On PostgreSQL a failed statement aborts the whole transaction, so the savepoint is what keeps
        the others there too."""
        conn.execute("SAVEPOINT kept")
        try:
            counts = [conn.execute(sql, list(args)).rowcount for sql, args in batch]
        except Exception as exc:
            if not self._statement_failed(exc):
                raise  # busy, full, read-only, gone: the whole transaction waits for another attempt
            conn.execute("ROLLBACK TO kept")
            counts = []
            for sql, args in batch:
                conn.execute("SAVEPOINT one")
                try:
                    counts.append(conn.execute(sql, list(args)).rowcount)
                except Exception as exc:  # noqa: PERF203 - one savepoint per statement is the point
                    if not self._statement_failed(exc):
                        raise
                    conn.execute("ROLLBACK TO one")
                    log.error("a kept write was dropped: %s", str(exc).strip().splitlines()[0] if str(exc).strip()
                              else type(exc).__name__)
                    counts.append(0)
                conn.execute("RELEASE one")
        conn.execute("RELEASE kept")
        return counts

    def _statement_failed(self, exc: BaseException) -> bool:
        """Whether ``exc`` is about the statement (a constraint it breaks: it can never succeed) rather than about
        the database (busy, full, read-only, unreachable: the same write may succeed later)."""
        if isinstance(exc, sqlite3.OperationalError):
            return False
        if isinstance(exc, sqlite3.DatabaseError):
            return True
        return (self.engine == POSTGRESQL and type(exc).__module__.startswith("psycopg")
                and pg_error_kind(exc) is None)

    def _write_pg(self, batch: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """The statements on PostgreSQL, on a connection of their own: one statement alone in autocommit (one round
        trip: the check log, an event id, a reply), more in one transaction.

        That connection's commits do not wait for the server's disk (``synchronous_commit = off``, set when it
        connects): what gives way is kept in memory when it cannot be written, and lost if the process dies; a
        server crash may lose its last fraction of a second of these rows, never corrupt anything. Claims and the
        digests' and corrections' claims are written by other paths, durably."""
        try:
            db = self._kept_db()
            if len(batch) > 1:
                with db.transaction():
                    return self._each(batch, db)  # type: ignore[arg-type]
            sql, args = batch[0]
            try:
                return [db.execute(sql, list(args)).rowcount]
            except Exception as exc:
                if not self._statement_failed(exc):
                    raise
                log.error("a kept write was dropped: %s", str(exc).strip().splitlines()[0] if str(exc).strip()
                          else type(exc).__name__)
                return [0]
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is about the database itself
            if pg_error_kind(exc) is None:
                raise
            raise store_error(exc, self.url) from exc

    def _kept_db(self) -> PgDatabase:
        with self._pending_lock:
            if self._writer_conn is None:
                from psycopg.conninfo import conninfo_to_dict, make_conninfo

                assert self.url is not None
                params = conninfo_to_dict(self.url)
                params["options"] = (str(params.get("options") or "") + " -c synchronous_commit=off").strip()
                # The kept writes take one connection at a time (``_writing``); the others serve ``write_at_once``.
                self._writer_conn = PgDatabase(make_conninfo("", **params), min_size=1, max_size=4,
                                               timeout=max(self._busy_ms / 1000, 1.0))
            return self._writer_conn

    def write_at_once(self, sql: str, args: Sequence[Any]) -> int | None:
        """One write that gives way, whose row count the caller needs to decide (a retried event's id, which another
        instance may be claiming at the same moment). On a file, ``give_way``. On PostgreSQL it is made at once on
        the writes' own connections, never queued behind the other kept writes (whose lock a caller may not get in
        time, and would then not know whether it won); kept for later (None) only when the server does not take it."""
        if self.url is None or self.readonly:
            return self.give_way([(sql, args)])
        if not self.write_problem:
            try:
                return self._write_pg([(sql, args)])[0]
            except StoreError as exc:
                self._failed(exc)
        return self.give_way([(sql, args)])

    # -- the writer thread: kept writes and checkpoints, off the caller's thread ---------------------------------
    def _start_writer(self) -> None:
        if self._writer is not None or self._closing.is_set():
            return
        with self._pending_lock:
            if self._writer is not None:
                return  # type: ignore[unreachable]  # another thread started it since the check above
            if self.url is None:
                # Moving the write-ahead log into the file (a checkpoint) after a large import's commits copies
                # megabytes: the writer thread does it, never a commit of the bot's own on its event loop.
                self.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
            target = self._write_kept if self.url is None else self._write_kept_pg
            self._writer = threading.Thread(target=target, name="factbot-writes", daemon=True)
            self._writer.start()

    def _write_kept(self) -> None:
        assert self.path is not None
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=0.001)
            conn.execute("PRAGMA busy_timeout = 1")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            log.warning("kept writes will be made on the main connection only: %s", exc)
            return
        last_checkpoint = time.monotonic()

        def attempt() -> str:
            with self._pending_lock:
                batch = list(self.pending)
            try:
                self._write_now(batch, conn)
            except StoreError as exc:
                self._failed(exc)
                return "busy" if exc.kind == "busy" else "later"  # a full disk, a read-only file: in RETRY_S
            except sqlite3.DatabaseError as exc:  # the file itself (damaged): as a failed write
                self._failed(store_error(exc, self.path))
                return "later"
            self._written(len(batch))
            return "made"

        def checkpoint() -> None:
            nonlocal last_checkpoint
            if time.monotonic() - last_checkpoint >= self.CHECKPOINT_S:
                last_checkpoint = time.monotonic()
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        try:
            self._kept_loop(attempt, checkpoint)
        finally:
            conn.close()

    def _write_kept_pg(self) -> None:
        """The writer thread on PostgreSQL: the kept writes the server did not take (it was away, or busy) are tried
        again every ``RETRY_S``, and whenever a caller keeps another, on the writes' own connection."""
        self._kept_loop(lambda: "made" if self._flush(wait=False) is not None else "later")

    def _kept_loop(self, attempt: Callable[[], str], between: Callable[[], None] | None = None) -> None:
        """The writer thread: woken (or every ``RETRY_S``), it attempts the kept writes until none is left. An
        attempt, made holding ``_writing``, says ``made``, ``busy`` (again at once) or ``later`` (after RETRY_S)."""
        while not self._closing.is_set():
            self._wake.wait(self.RETRY_S)
            self._wake.clear()
            while self.pending and not self._closing.is_set():
                if not self._writing.acquire(timeout=0.05):
                    continue
                try:
                    outcome = attempt()
                finally:
                    self._writing.release()
                    time.sleep(0.002)  # between two attempts the caller's thread may write itself
                if outcome == "later":
                    break
            if between is not None:
                between()

    @contextlib.contextmanager
    def _short_wait(self) -> Iterator[None]:
        """Take the write lock only if it is free now (``transaction`` then raises StoreError "busy")."""
        if self.path is None or self._tx_depth:
            yield
            return
        self.db.conn.execute("PRAGMA busy_timeout = 1")
        try:
            yield
        finally:
            self.db.conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")

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
        if self.engine == POSTGRESQL:
            return int(self.db.execute("SELECT pg_database_size(current_database())").fetchone()[0])
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
        return self._translated([row_to_claim(row)])[0] if row else None

    def translations(self, ids: Sequence[str]) -> dict[str, dict[str, ClaimTranslation]]:
        """The stored translations of these claims: claim id -> language -> translation."""
        out: dict[str, dict[str, ClaimTranslation]] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(f"SELECT * FROM claim_translations WHERE claim_id IN ({marks}) ORDER BY language", chunk):
                out.setdefault(r["claim_id"], {})[r["language"]] = ClaimTranslation(
                    claim=r["claim"], summary=r["summary"], aliases=tuple(json.loads(r["aliases"] or "[]")),
                    source_digest=r["source_digest"] or "")
        return out

    def _translated(self, claims: list[Claim]) -> list[Claim]:
        found = self.translations([c.id for c in claims]) if claims else {}
        return [dataclasses.replace(c, translations=found[c.id]) if c.id in found else c for c in claims]

    CLAIMS_KEPT = 20_000  # PostgreSQL: claims ``get_many`` keeps while the change feed stays where it was

    def get_many(self, ids: Sequence[str]) -> dict[str, Claim]:
        """The claims with these ids (translations included); an id with no claim is left out.

        On PostgreSQL the claims read are kept while the change feed's head stays where it was (every change to a
        claim or its translations moves it), so the claims a check reads again cost no round trip."""
        if self.head_ttl <= 0 or self._in_pg_transaction():
            return self._read_many(ids)
        head = self.last_change_seq()
        seen = self._claims_seen
        if self._claims_seq != head or len(seen) > self.CLAIMS_KEPT:
            seen = self._claims_seen = {}
            self._claims_seq = head
        ids = list(dict.fromkeys(ids))
        out = {i: seen[i] for i in ids if i in seen}
        missing = [i for i in ids if i not in out]
        if missing:
            read = self._read_many(missing)
            seen.update(read)
            out.update(read)
        return out

    def _read_many(self, ids: Sequence[str]) -> dict[str, Claim]:
        out: dict[str, Claim] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT * FROM claims WHERE id IN ({marks})", chunk).fetchall()
            for claim in self._translated([row_to_claim(row) for row in rows]):
                out[claim.id] = claim
        return out

    def redirect(self, claim_id: str) -> Redirect | None:
        """What became of a retired claim id (split, merged or renamed), or None for any other id."""
        row = self.db.execute("SELECT * FROM claim_redirects WHERE old_id = ?", [claim_id]).fetchone()
        return _row_to_redirect(row) if row else None

    def redirects(self) -> list[Redirect]:
        return [_row_to_redirect(r) for r in self.db.execute("SELECT * FROM claim_redirects ORDER BY old_id")]

    def resolve(self, claim_id: str) -> tuple[Claim | None, Redirect | None]:
        """The claim an id names: its own, else (for a retired id) the first claim that replaced it.

        A live claim always wins over a redirect, so a user's claim under a retired id is never hidden.
        """
        claim = self.get(claim_id)
        if claim is not None:
            return claim, None
        redirect = self.redirect(claim_id)
        if redirect is None:
            return None, None
        return self.get(redirect.primary), redirect

    def follow_redirects(self, claims: Sequence[Claim]) -> tuple[list[Claim], list[tuple[str, str]], list[str]]:
        """Imported records under a retired id, moved to the claim that now stands for it.

        Returns the claims (a merged or renamed id replaced by its successor), the ``(old, new)`` ids
        moved, and one problem per record that cannot be moved: a split id names two claims, so the
        record must say which one it means.  An id that still names a claim is left alone.
        """
        out: list[Claim] = []
        moved: list[tuple[str, str]] = []
        problems: list[str] = []
        given = {c.id for c in claims}
        for claim in claims:
            redirect = None if self.get(claim.id) is not None else self.redirect(claim.id)
            if redirect is None:
                out.append(claim)
            elif redirect.change == "split":
                problems.append(f"{claim.id}: this claim was split into {', '.join(redirect.replaced_by)}; "
                                "give the record the id of the one it means")
            elif redirect.primary in given:
                problems.append(f"{claim.id}: this claim was {redirect.change} into {redirect.primary}, "
                                "which the file also holds; keep one of the two records")
            else:
                out.append(dataclasses.replace(claim, id=redirect.primary))
                moved.append((claim.id, redirect.primary))
        return out, moved, problems

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
            yield from self._translated([row_to_claim(row) for row in rows])
            last = rows[-1]["id"]

    def search_fts(self, text: str, limit: int = 10, *, prefix: bool = False) -> list[tuple[Claim, float]]:
        """Claims whose text or aliases contain the words (FTS5, BM25-ranked): for autocomplete and listing."""
        if self.engine == POSTGRESQL:
            return self._search_text_pg(text, limit, prefix=prefix)
        query = fts_query(text, prefix=prefix)
        if not query:
            return []
        rows = self.db.execute(
            """SELECT claims.*, bm25(claims_fts) AS rank FROM claims_fts
               JOIN claims ON claims.rowid = claims_fts.rowid
               WHERE claims_fts MATCH ? ORDER BY rank LIMIT ?""",
            [query, int(limit)],
        ).fetchall()
        claims = self._translated([row_to_claim(r) for r in rows])
        return [(claim, -float(r["rank"])) for claim, r in zip(claims, rows, strict=True)]

    def _search_text_pg(self, text: str, limit: int, *, prefix: bool) -> list[tuple[Claim, float]]:
        """``search_fts`` on PostgreSQL: its own text search over the same words (the GIN index of migration 1)."""
        words = list(dict.fromkeys(tokens(text)))[:32]
        if not words:
            return []
        terms = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words]
        if prefix:
            terms[-1] += ":*"
        rows = self.db.execute(
            f"""SELECT claims.*, ts_rank({migrations.PG_CLAIM_TEXT}, q) AS rank
                FROM claims, to_tsquery('english', ?) AS q WHERE {migrations.PG_CLAIM_TEXT} @@ q
                ORDER BY rank DESC, claims.id LIMIT ?""",
            [" | ".join(terms), int(limit)],
        ).fetchall()
        claims = self._translated([row_to_claim(r) for r in rows])
        return [(claim, float(r["rank"])) for claim, r in zip(claims, rows, strict=True)]

    # -- writing claims -------------------------------------------------
    def upsert_claims(
        self,
        claims: Iterable[Claim],
        *,
        origin: str = "user",
        progress: Callable[[int], None] | None = None,
        protect_user_edits: bool = False,
        commit_every: int | None = None,
    ) -> WriteStats:
        """Insert or update claims by id, all in one transaction.

        A claim whose content is unchanged is not rewritten, so the change
        feed (and the digests and correction notices that read it) only sees
        real changes.  With ``protect_user_edits`` (bundled knowledge sync),
        claims a user imported or edited are left as they are.

        With ``commit_every`` (``factbot claims import``), a write of more claims than that is committed in
        transactions of that many, with a pause between them, so that a running bot on the same database never
        waits long for the write lock: 200,000 claims in one transaction held it for about 20 seconds.  Every
        claim is validated and the ids checked before the first commit; an import interrupted between two
        commits leaves the claims committed so far, and running it again completes it.
        """
        if commit_every and not self._tx_depth and not getattr(self.db, "depth", 0):
            claims = list(claims)
            seen_ids: set[str] = set()
            for claim in claims:
                if claim.id in seen_ids:
                    raise ValueError(f"claim id {claim.id!r} appears twice in one write")
                seen_ids.add(claim.id)
            if len(claims) > commit_every:
                total = WriteStats()
                pacer = TxPacer(commit_every, target=self.IMPORT_TX_S)
                start = 0
                while start < len(claims):
                    if start:
                        time.sleep(self.IMPORT_PAUSE)  # a waiting writer (the bot) gets the lock here
                    size = pacer.size
                    began = time.monotonic()
                    part = self.upsert_claims(claims[start : start + size], origin=origin, progress=progress,
                                              protect_user_edits=protect_user_edits)
                    pacer.held(time.monotonic() - began)
                    start += size
                    for name in ("inserted", "updated", "unchanged", "skipped", "deleted"):
                        getattr(total, name).extend(getattr(part, name))
                total.longest_tx_s = pacer.longest
                return total
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
                kept: list[Claim] = []  # claims whose translations follow this write
                for claim in batch:
                    row = claim_to_row(claim)
                    row["origin"] = origin
                    old = existing.get(claim.id)
                    if old is None:
                        row["created_at"] = claim.created_at or now
                        row["updated_at"] = claim.updated_at or now
                        stats.inserted.append(claim.id)
                    elif all((old.get(c) or "") == (row[c] or "") for c in _CONTENT_COLUMNS) and old["origin"] == origin:
                        kept.append(claim)
                        if self._write_translations([claim], dry=True):
                            stats.updated.append(claim.id)  # only its words in another language changed
                        else:
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
                    kept.append(claim)
                if params:
                    self.db.conn.executemany(sql, params)
                self._write_translations(kept)
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

    def _write_translations(self, claims: Sequence[Claim], *, dry: bool = False) -> bool:
        """Make the stored translations of these claims exactly theirs, touching only rows that differ
        (so the change feed sees real changes only); True if anything differs."""
        if not claims:
            return False
        stored = self.translations([c.id for c in claims])
        changed = False
        for claim in claims:
            have, want = stored.get(claim.id, {}), dict(claim.translations)
            gone = [lang for lang in have if lang not in want]
            new = {lang: t for lang, t in want.items() if have.get(lang) != t}
            if not gone and not new:
                continue
            changed = True
            if dry:
                return True
            for lang in gone:
                self.db.conn.execute("DELETE FROM claim_translations WHERE claim_id = ? AND language = ?", [claim.id, lang])
            for lang, t in new.items():
                self.db.conn.execute(
                    """INSERT INTO claim_translations(claim_id, language, claim, summary, aliases, source_digest)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT(claim_id, language) DO UPDATE SET claim = excluded.claim, summary = excluded.summary,
                         aliases = excluded.aliases, source_digest = excluded.source_digest""",
                    [claim.id, lang, t.claim, t.summary, json.dumps(list(t.aliases), ensure_ascii=False), t.source_digest],
                )
        return changed

    def _rows_by_id(self, ids: Sequence[str]) -> list[sqlite3.Row]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self.db.execute(f"SELECT * FROM claims WHERE id IN ({marks})", list(ids)).fetchall()

    def remove(self, claim_id: str) -> bool:
        with self.transaction():
            cur = self.db.conn.execute("DELETE FROM claims WHERE id = ?", [claim_id])
        return cur.rowcount > 0

    def sync_bundled(self, claims: Sequence[Claim], fingerprint: str, *, force: bool = False,
                     retired: Sequence[Redirect] = ()) -> WriteStats | None:
        """Bring the bundled (knowledge/) claims up to date; claims a user imported or edited stay as they are.

        ``retired`` are the bundled ids that were split, merged or renamed: they
        replace the bundled redirects, and a retired claim leaves the claims
        table like any bundled claim no longer shipped (the change feed records
        its deletion, which correction notices read).

        Returns None when the knowledge files have not changed since the last
        sync, which makes this cheap enough to call at every start.
        """
        if not force and self.get_meta("knowledge_fingerprint") == fingerprint:
            return None
        with self.transaction():
            self.db.conn.execute("DELETE FROM claim_redirects WHERE origin = 'bundled'")
            self.db.conn.executemany(
                "INSERT INTO claim_redirects(old_id, replaced_by, change, claim, verdict, reason, retired_at, origin)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'bundled') ON CONFLICT(old_id) DO UPDATE SET"
                " replaced_by = excluded.replaced_by, change = excluded.change, claim = excluded.claim,"
                " verdict = excluded.verdict, reason = excluded.reason, retired_at = excluded.retired_at,"
                " origin = excluded.origin",
                [[r.id, json.dumps(list(r.replaced_by)), r.change, r.claim, r.verdict.value, r.reason, r.retired_at]
                 for r in retired],
            )
            # An id retired on the desk stays retired: its bundled claim is not brought back.
            retired_here = {r[0] for r in self.db.execute("SELECT old_id FROM claim_redirects WHERE origin = 'user'")}
            claims = [c for c in claims if c.id not in retired_here]
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
    def _in_pg_transaction(self) -> bool:
        return bool(getattr(self.db, "depth", 0))

    HEAD_TTL_S = 0.5  # PostgreSQL: how long a read of the change feed's head is used again

    def last_change_seq(self) -> int:
        """The change feed's last number. On PostgreSQL a read is reused for ``head_ttl`` seconds (outside a
        transaction, and until this store writes): a check reads the head twice (the search index and the vectors
        follow it) and each read was a round trip. Another instance's change is then seen up to that much later."""
        ttl = self.head_ttl
        if ttl > 0 and not self._in_pg_transaction():
            now = time.monotonic()
            head = self._head
            if head is not None and now - head[1] < ttl:
                return head[0]
            seq = self.db.execute("SELECT max(seq) FROM claim_changes").fetchone()[0] or 0
            self._head = (seq, now)
            return seq
        row = self.db.execute("SELECT max(seq) FROM claim_changes").fetchone()
        return row[0] or 0

    def change_mark(self, seq: int) -> str:
        """What change ``seq`` was (claim, operation, time): a derived index remembers it with the position it
        follows, so it can tell this database from a restored backup of it that has since been written again."""
        if seq <= 0:
            return ""
        row = self.db.execute("SELECT claim_id, op, at FROM claim_changes WHERE seq = ?", [seq]).fetchone()
        return "" if row is None else f"{row[0]}|{row[1]}|{row[2]}"

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
    ) -> bool:
        """Record one check for digests and statistics; with ``keep_text=False`` only a hash of the words is kept.

        The write gives way (``give_way``): a check is answered whether or not it can be recorded at once.
        """
        folded = fold(query)
        return None is not self.give_way([(
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
        )])

    def prune_checks(self, retention_days: int, *, now: dt.datetime | None = None) -> int:
        """Forget checks older than the retention period; returns how many went.

        Housekeeping at every start: on a read-only database, or while another process holds the write lock or
        the disk is full, it is left for the next start rather than holding anything up.
        """
        if self.readonly:
            return 0
        now = now or dt.datetime.now(dt.UTC)
        cutoff = (now - dt.timedelta(days=retention_days)).replace(microsecond=0).isoformat()
        try:
            with self._short_wait(), self.transaction():
                return self.db.conn.execute("DELETE FROM checks WHERE at < ?", [cutoff]).rowcount
        except StoreError as exc:  # noqa: PERF203
            log.info("old checks not pruned now: %s", exc)
            return 0

    HOUSEKEEPING_EVERY = dt.timedelta(hours=1)
    EVENT_IDS_KEPT = dt.timedelta(days=2)  # Slack retries within minutes: two days of event ids is plenty

    def housekeeping(self, retention_days: int, *, now: dt.datetime | None = None) -> tuple[int, int] | None:
        """Retention: checks older than ``retention_days`` and event ids older than two days go.

        One job for every process on the database: whoever first claims the period (``HOUSEKEEPING_EVERY``; a
        compare-and-set on a ``meta`` row, in the same transaction as the deletes) does it, and every other
        process that asks in that period does nothing for the price of that one statement. So N instances, the
        scheduler and the command line may all ask (at each start, and each running process every period) and the
        tables are pruned once. Returns (checks, event ids) removed, or None when it was not this one's turn, or the
        database could not be written now (left for the next period rather than holding anything up).
        """
        if self.readonly:
            return None
        now = now or dt.datetime.now(dt.UTC)

        def at(moment: dt.datetime) -> str:
            return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()

        try:
            with self._short_wait(), self.transaction():
                won = self.db.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('housekeeping_at', ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = excluded.value WHERE meta.value <= ?",
                    [at(now), at(now - self.HOUSEKEEPING_EVERY)],
                ).rowcount
                if not won:
                    return None
                checks = self.db.conn.execute("DELETE FROM checks WHERE at < ?",
                                              [at(now - dt.timedelta(days=retention_days))]).rowcount
                events = self.db.conn.execute("DELETE FROM processed_events WHERE at < ?",
                                              [at(now - self.EVENT_IDS_KEPT)]).rowcount
                # Kept events (bot/core/inbox.py): answered or given up, a retry that late is no longer coming.
                events += self.db.conn.execute("DELETE FROM event_inbox WHERE at < ?",
                                               [at(now - self.EVENT_IDS_KEPT)]).rowcount
        except StoreError as exc:
            log.info("housekeeping not done now: %s", exc)
            return None
        if checks or events:
            log.info("housekeeping: %d old check(s) and %d event id(s) removed", checks, events)
        return checks, events

    def checks(self, since: str = "", *, limit: int = 1000) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.execute("SELECT * FROM checks WHERE at >= ? ORDER BY id LIMIT ?", [since, limit])
        ]
