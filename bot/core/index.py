"""BM25 retrieval over claim texts and aliases: a tantivy index derived from the store.

Why tantivy and not only SQLite's FTS5: FTS5 ranks an OR query by scoring
every row that contains any query word, which at a million claims costs a
second per chat message; tantivy's block-max WAND skips what cannot reach the
top k and stays in milliseconds with every word kept (see docs/performance.md,
measured by bench/latency.py).  SQLite stays the source of truth: the index
records the last change-feed sequence it has applied (its high-water mark),
and before every search it catches up with whatever any process wrote since,
so a claim added by ``factbot claims add`` is visible to a running bot at its
next check.  Losing the index loses nothing: it is rebuilt from the store.

Where it lives: beside an SQLite file (``factbot.db.index/``, shared by the processes on that file); for a
PostgreSQL database, in a local cache folder of each host (``cache_folder``: ``[index] cache_dir``, else
``FACTBOT_INDEX_DIR``, else the user's cache folder), one folder per database, so a restart catches up from the
change it had reached instead of indexing every claim again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import platformdirs
import tantivy

from .engine import redact
from .models import Claim
from .normalize import terms
from .store import Store

log = logging.getLogger("factbot.index")


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _read_only_disk(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False

def index_root(configured: str | Path | None = None) -> Path:
    """The folder the per-database index folders of a PostgreSQL store go in.

    ``configured`` is ``[index] cache_dir`` (the settings read ``FACTBOT_INDEX_DIR`` into it); a store opened
    without the settings (a benchmark, a test) reads the variable itself; otherwise the user's cache folder.
    """
    chosen = configured or os.environ.get("FACTBOT_INDEX_DIR", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("factbot", appauthor=False)) / "index"


def _identity(store: Store) -> str:
    """Which server, database, user and options the store's URL names (never its password), as 12 hex digits."""
    return hashlib.sha256(redact(store.url).encode("utf-8")).hexdigest()[:12]


def cache_folder(store: Store) -> Path:
    """The local index folder of a PostgreSQL database: named by the address and by the database's own id.

    Two databases never share one: a database dropped and created again at the same address has a new id, so
    a new folder (the old one is removed when the new one is made), and a folder copied from elsewhere is
    refused by the id it records (``ClaimIndex._check_hwm``).
    """
    return index_root(store.index_dir) / f"{_identity(store)}-{store.get_meta('db_id')}"


INDEX_FORMAT = 3  # bump when the document layout or the analysis changes: forces a rebuild
_HWM_FILE = "factbot-sync.json"
_MAX_QUERY_TERMS = 48


def phrasings(claim: Claim) -> list[tuple[str, str]]:
    """Every phrasing a message can be matched against, with its language: (text, language).

    The claim text first, then its aliases, in the claim's language; then each translation's claim and
    aliases (knowledge/translations/), by language code. A phrasing's position is its "variant" number in
    the stored vectors and in ``Candidate.matched_text``.
    """
    own = (claim.language or "en").split("-")[0].lower()
    out = [(t, own) for t in claim.texts()]
    translations = getattr(claim, "translations", None) or {}
    for lang in sorted(translations):
        short = lang.split("-")[0].lower()
        out.extend((t, short) for t in translations[lang].texts())
    return out


def claim_terms(claim: Claim) -> str:
    """The analysed text of a claim as the index stores it: claim text and every alias, each in its language."""
    return " ".join(" ".join(terms(t, lang)) for t, lang in phrasings(claim))


def phrasing_key(text: str) -> int:
    """Which phrasing stored analysed terms belong to (a checksum of its text)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _document(claim: Claim) -> tantivy.Document:
    analysed = [(t, terms(t, lang)) for t, lang in phrasings(claim)]
    # Each phrasing's analysed terms are stored too, keyed by its text: the matcher scores every
    # candidate phrasing by phrasing, and re-analysing them at every check (stemming included) was a
    # third of a check's CPU time at a million claims, where few candidates are in any cache.
    stored = json.dumps([[phrasing_key(t), " ".join(ts)] for t, ts in analysed], ensure_ascii=False)
    return tantivy.Document(id=claim.id, text=" ".join(" ".join(ts) for _, ts in analysed),
                            phrasings=stored.encode("utf-8"))


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    # Text is analysed in Python (normalize.terms) so queries and documents
    # share one normalisation; tantivy only splits on the spaces we put in.
    builder.add_text_field("text", stored=False, tokenizer_name="whitespace", index_option="freq")
    builder.add_bytes_field("phrasings", stored=True, indexed=False)
    return builder.build()


class IndexBusy(RuntimeError):
    pass


INLINE_CHANGES = 500  # in the background (a running bot), more changes than this are applied off the event loop
CATCH_UP_IN_CHILD = True  # ... and in a child process (``catch_up_folder``), not in a thread of the bot's
EXIT_INDEX_BUSY = 75  # the child's exit code when another process holds the index's writer lock


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(10)


_SOURCE_ENV = "FACTBOT_INDEX_SOURCE"  # the child's database when it is a URL: kept out of the process listing


def catch_up_folder(db_path: str, index_path: str, writer_heap: int) -> int:
    """The child process of a running bot's large catch-up: apply the database's changes to the index folder."""
    logging.basicConfig(level=logging.WARNING)
    if db_path == "-":
        db_path = os.environ.get(_SOURCE_ENV, "")
    with Store(db_path, readonly=True) as store:
        index = ClaimIndex(store, index_path, writer_heap=writer_heap)
        if index.path is None:
            return 1  # the folder cannot be used: the bot's own index in memory stays as it is
        try:
            with index._lock:
                index._catch_up(store)
        except IndexBusy:
            return EXIT_INDEX_BUSY
    return 0


@contextlib.contextmanager
def _opening(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock (``flock`` on ``<folder>.lock``) while a process looks at, wipes or creates an index
    folder. Several instances on one host share a cache folder and often start together: each found the new folder
    without a high-water mark and wiped it while another was creating it, and the losers searched with an index in
    memory for the whole run. The lock is held for the opening only (milliseconds); building the index is then
    tantivy's single-writer business. Where the lock cannot be had (no ``fcntl``, a folder that cannot be
    written), opening goes on without it, as before."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock
        yield
        return
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        handle = open(folder.with_name(folder.name + ".lock"), "a")  # noqa: SIM115 - held across the yield
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ClaimIndex:
    """A search index kept in step with a Store through its change feed.

    The index folder records which database it follows (its id), the position in the change feed it has
    applied (its high-water mark) and what the change at that position was, and how many documents it holds.
    A folder that follows another database, or another generation of this one (a backup restored and written
    again reuses change numbers with other claims), or that lost part of itself, is rebuilt from the store; a
    folder that cannot be used at all (a file in its place, a read-only disk) is replaced by an index in memory.

    With ``background`` (a running bot), a large catch-up (a rebuild, or an import of thousands of claims by
    another process) runs in a thread on its own read-only connection while searches use the index as it is,
    so the event loop never waits for it.
    """

    def __init__(self, store: Store, path: str | Path | None = None, *, writer_heap: int = 64_000_000,
                 background: bool = False):
        self.store = store
        self.schema = _schema()
        self.writer_heap = writer_heap
        self.background = background
        self._lock = threading.RLock()
        self._seq = -1
        self._idf_cache: dict[str, float] = {}
        self._catching_up: threading.Thread | None = None
        self._reader: Store | None = None
        self.problem = ""  # why the folder could not be used as it was ("" when it could): for ``factbot doctor``
        self.opened_seq = -1  # the change the folder had caught up to when it was opened (-1: built anew)
        self._cache = False  # the folder is one of the local cache's (PostgreSQL), not beside a file
        if path is None and store.path is not None:
            path = store.path.with_name(store.path.name + ".index")
        elif path is None and store.url is not None:
            try:
                path, self._cache = cache_folder(store), True
            except (OSError, RuntimeError) as exc:
                self.problem = (f"no local folder for the search index ({_why(exc)}); searching with an index "
                                "in memory, built from the database at each start")
                log.warning("%s", self.problem)
        self.path = Path(path) if path is not None else None
        self._open()

    # -- lifecycle -------------------------------------------------------
    def _open(self) -> None:
        if self.path is not None:
            try:
                self._open_folder()
                return
            except (OSError, ValueError) as exc:
                self.problem = (f"the search index folder {self.path} cannot be used ({_why(exc)}); "
                                "searching with an index in memory, built from the database at each start")
                log.warning("%s", self.problem)
                self.path = None
        self.index = tantivy.Index(self.schema)
        self._seq = -1

    def _open_folder(self) -> None:
        assert self.path is not None
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(f"{self.path} is a file, not a folder")
        with _opening(self.path):
            self._open_folder_alone()

    def _open_folder_alone(self) -> None:
        """``_open_folder`` while no other process opens this folder (``_opening``)."""
        assert self.path is not None
        self.path.mkdir(parents=True, exist_ok=True)
        if not os.access(self.path, os.W_OK) or _read_only_disk(self.path):
            raise PermissionError("it is read-only here")
        if self._cache:
            self._drop_other_generations()
        hwm, why = self._check_hwm(self.store)
        if hwm is not None and not (self.path / "meta.json").is_file():
            hwm, why = None, "it lost its meta.json"
        if hwm is None:
            # No usable index here (new, other database or generation, older format, damaged): start empty.
            self._note_rebuild(why)
            if not why:
                log.info("search index at %s: new, built from the database", self.path)
            self._wipe_dir()
        try:
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            docs = self.index.searcher().num_docs
        except ValueError as exc:
            self._note_rebuild(f"it is unreadable ({_why(exc)})")
            self._wipe_dir()
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            hwm, docs = None, 0
        if hwm is not None and docs == 0 and self._recorded_docs() > 0:
            self._note_rebuild("it lost its documents")
            self._wipe_dir()
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            hwm = None
        if hwm is None:
            # Made here, empty: said at once, so that a process opening it next finds it this database's (at change
            # -1, to be built) and builds it or waits for the builder, instead of wiping it as unknown.
            self._write_hwm(-1)
        self._seq = hwm if hwm is not None else -1
        self.opened_seq = self._seq
        if hwm is not None:
            log.info("search index at %s: kept from before, at change %d; following the change feed from there",
                     self.path, hwm)

    def _drop_other_generations(self) -> None:
        """Remove the cache folders of databases that were at this address before (dropped, created again)."""
        assert self.path is not None
        prefix = self.path.name.split("-", 1)[0] + "-"
        for other in self.path.parent.glob(prefix + "*"):
            if other != self.path and other.is_dir() and (other / _HWM_FILE).is_file():
                log.info("search index at %s: its database is gone from this address; removing it", other)
                shutil.rmtree(other, ignore_errors=True)

    def _note_rebuild(self, why: str) -> None:
        if why:
            self.problem = f"the search index was rebuilt from the database: {why}"
            log.warning("search index at %s: %s; rebuilding it from the database", self.path, why)

    def _wipe_dir(self) -> None:
        assert self.path is not None
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _hwm_data(self) -> dict | None:
        if self.path is None:
            return None
        try:
            data = json.loads((self.path / _HWM_FILE).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _recorded_docs(self) -> int:
        docs = (self._hwm_data() or {}).get("docs")
        return docs if isinstance(docs, int) else 0

    def _check_hwm(self, source: Store) -> tuple[int | None, str]:
        """(the change the folder's index has applied, "") or (None, why it cannot be trusted; "" if new)."""
        if self.path is None:
            return (self._seq if self._seq >= 0 else None), ""
        data = self._hwm_data()
        if data is None:
            return None, ""
        seq = data.get("seq")
        if data.get("format") != INDEX_FORMAT or "mark" not in data or not isinstance(seq, int):
            return None, "it was made by another version of factbot"
        if data.get("db_id") != source.get_meta("db_id"):
            return None, "it belongs to another database"
        if source.change_mark(seq) != data["mark"]:
            return None, ("it follows another generation of this database (a backup restored and written since?): "
                          f"its change {seq} is not the database's")
        return seq, ""

    def _read_hwm(self, source: Store | None = None) -> int | None:
        return self._check_hwm(source or self.store)[0]

    def _write_hwm(self, seq: int, source: Store | None = None) -> None:
        self._seq = seq
        if self.path is None:
            return
        source = source or self.store
        tmp = self.path / (_HWM_FILE + ".tmp")
        tmp.write_text(json.dumps({"format": INDEX_FORMAT, "db_id": source.get_meta("db_id"), "seq": seq,
                                   "mark": source.change_mark(seq), "docs": self.index.searcher().num_docs}))
        os.replace(tmp, self.path / _HWM_FILE)

    def _writer(self, heap: int | None = None, threads: int = 1, wait_s: float = 2.0):
        """Take tantivy's single-writer lock, waiting briefly if another factbot process holds it."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return self.index.writer(heap or 15_000_000, threads)
            except ValueError as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise IndexBusy(str(exc)) from exc
                time.sleep(0.05)

    # -- keeping up with the store ----------------------------------------
    @property
    def synced_seq(self) -> int:
        return self._seq

    @property
    def catching_up(self) -> bool:
        """A catch-up is running in the background (searches meanwhile use the index as it is)."""
        return self._catching_up is not None and self._catching_up.is_alive()

    def ensure_current(self) -> bool:
        """Apply whatever the store changed since this index last looked; True if anything was applied.

        In the background mode a large catch-up is started in a thread and False returned at once.
        """
        head = self.store.last_change_seq()
        if head == self._seq:
            return False
        if self.background and self.path is not None and (self._seq < 0 or head - self._seq > INLINE_CHANGES):
            self._catch_up_in_background()
            return False
        if self.background:
            if not self._lock.acquire(blocking=False):
                return False  # a catch-up in the background holds it: search what is there
        else:
            self._lock.acquire()
        try:
            return self._catch_up(self.store)
        except IndexBusy:
            log.warning("search index is being written by another process; using it as it is")
            return False
        except (OSError, ValueError) as exc:  # tantivy's I/O errors (a full disk…): search what is there
            log.warning("search index could not catch up (%s); using it as it is", _why(exc))
            return False
        finally:
            self._lock.release()

    def _catch_up(self, source: Store) -> bool:
        head = source.last_change_seq()
        if head == self._seq:
            return False
        on_disk = self._read_hwm(source)
        if on_disk is not None and on_disk >= head:
            # Another process already brought the shared index up to date.
            self.index.reload()
            self._idf_cache.clear()
            self._seq = on_disk
            return True
        if on_disk is None or self._seq < 0:
            self._rebuild(source)
            return True
        self._apply_changes(on_disk, head, source)
        return True

    def _catch_up_in_background(self) -> None:
        if self.catching_up:
            return
        self._catching_up = threading.Thread(target=self._background_catch_up, name="factbot-index", daemon=True)
        self._catching_up.start()

    def _background_catch_up(self) -> None:
        try:
            if self._reader is None:
                self._reader = Store(self.store.url or self.store.path, readonly=True)
            with self._lock:
                if self.path is not None and CATCH_UP_IN_CHILD:
                    self._catch_up_in_child(self._reader)
                else:
                    self._catch_up(self._reader)
        except IndexBusy:
            log.info("search index is being written by another process; catching up later")
        except Exception as exc:  # noqa: BLE001 - searches go on with the index as it is; the next check tries again
            log.warning("search index could not catch up (%s: %s); searching it as it is", type(exc).__name__, _why(exc))

    def _catch_up_in_child(self, source: Store) -> None:
        """Bring the index folder up to date in a child process at a lower priority, then read what it wrote.

        Indexing 200,000 claims is tens of seconds of Python and tantivy work; in a thread of the bot's own
        process it competes with the event loop for the interpreter lock, and the acknowledgements Slack wants
        within 3 seconds queue behind it.  This thread only waits for the child.
        """
        assert self.path is not None and (source.path is not None or source.url is not None)
        script = ("import sys; from bot.core.index import catch_up_folder; "
                  "sys.exit(catch_up_folder(sys.argv[1], sys.argv[2], int(sys.argv[3])))")
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
        db = str(source.path)
        if source.url is not None:  # a URL may carry a password: in the child's environment, not its arguments
            env[_SOURCE_ENV], db = source.url, "-"
        child = subprocess.run([sys.executable, "-c", script, db, str(self.path), str(self.writer_heap)],
                               env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               preexec_fn=_lower_priority if os.name == "posix" else None)
        if child.returncode == EXIT_INDEX_BUSY:
            raise IndexBusy("another process writes the index")
        if child.returncode != 0:
            raise RuntimeError((child.stderr.strip().splitlines() or [f"exit code {child.returncode}"])[-1])
        on_disk = self._read_hwm(source)
        if on_disk is not None and on_disk != self._seq:
            self.index.reload()
            self._idf_cache.clear()
            self._seq = on_disk

    def _apply_changes(self, since: int, head: int, source: Store | None = None) -> None:
        source = source or self.store
        changed = list(dict.fromkeys(cid for _, cid, _ in source.changes_since(since)))
        if len(changed) > 50_000:
            self._rebuild(source)
            return
        claims = source.get_many(changed)
        writer = self._writer()
        try:
            for cid in changed:
                writer.delete_documents_by_term("id", cid)
                claim = claims.get(cid)
                if claim is not None:
                    writer.add_document(_document(claim))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        self.index.reload()
        self._idf_cache.clear()
        self._write_hwm(head, source)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every claim from scratch; returns the number indexed."""
        with self._lock:
            return self._rebuild(self.store, progress)

    def _rebuild(self, source: Store, progress: Callable[[int], None] | None = None) -> int:
        head = source.last_change_seq()
        writer = self._writer(self.writer_heap, threads=2 if (os.cpu_count() or 1) > 1 else 1)
        n = 0
        try:
            writer.delete_all_documents()
            for claim in source.iter_claims(batch=5000):
                writer.add_document(_document(claim))
                n += 1
                if progress and n % 1000 == 0:
                    progress(1000)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        if progress:
            progress(n % 1000)
        self.index.reload()
        self._idf_cache.clear()
        self._write_hwm(head, source)
        return n

    # -- searching ---------------------------------------------------------
    @property
    def num_docs(self) -> int:
        return self.index.searcher().num_docs

    def missing(self, claim_ids: Sequence[str]) -> list[str]:
        """Those of these claims the index has no document for (``factbot doctor``'s spot check)."""
        searcher = self.index.searcher()
        return [cid for cid in claim_ids
                if not searcher.search(tantivy.Query.term_query(self.schema, "id", cid), 1).hits]

    def doc_freq(self, term: str) -> int:
        """How many claims use ``term`` (0 for a word the index has never seen)."""
        return self.index.searcher().doc_freq("text", term)

    def idf(self, term: str, searcher: tantivy.Searcher | None = None) -> float:
        """BM25's inverse document frequency; unseen words count as rare."""
        value = self._idf_cache.get(term)
        if value is None:
            searcher = searcher or self.index.searcher()
            n = max(searcher.num_docs, 1)
            df = searcher.doc_freq("text", term)
            value = math.log(1 + (n - df + 0.5) / (df + 0.5))
            if len(self._idf_cache) > 200_000:
                self._idf_cache.clear()
            self._idf_cache[term] = value
        return value

    def search(self, query_terms: Sequence[str], limit: int = 20, *, fuzzy: bool = True) -> list[tuple[str, float]]:
        """Claim ids ranked by BM25 over every query term (OR).

        A word the index has never seen is looked up within edit distance 1
        (2 for long words) through tantivy's Levenshtein automaton, so a typo
        still retrieves its claim.
        """
        return [(cid, score) for cid, score, _ in self.search_analysed(query_terms, limit, fuzzy=fuzzy)]

    def search_analysed(self, query_terms: Sequence[str], limit: int = 20, *,
                        fuzzy: bool = True) -> list[tuple[str, float, dict[int, str]]]:
        """``search``, with each hit's analysed phrasings: {phrasing_key(text): "its terms"}."""
        self.ensure_current()
        unique = list(dict.fromkeys(t for t in query_terms if t))[:_MAX_QUERY_TERMS]
        if not unique:
            return []
        searcher = self.index.searcher()
        clauses = []
        for term in unique:
            if searcher.doc_freq("text", term) > 0:
                clauses.append((tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "text", term)))
            elif fuzzy and len(term) >= 4 and not term.isdigit():
                distance = 1 if len(term) < 8 else 2
                q = tantivy.Query.fuzzy_term_query(self.schema, "text", term, distance=distance, transposition_cost_one=True)
                clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, 2.0)))
        if not clauses:
            return []
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit)
        found = []
        for score, addr in result.hits:
            doc = searcher.doc(addr)
            stored = doc["phrasings"]
            analysed = {int(k): ts for k, ts in json.loads(stored[0])} if stored else {}
            found.append((doc["id"][0], float(score), analysed))
        return found
