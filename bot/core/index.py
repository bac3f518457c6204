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
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import threading
import time
import zlib
from pathlib import Path
from typing import Callable, Sequence

import tantivy

from .models import Claim
from .normalize import terms
from .store import Store

log = logging.getLogger(__name__)

INDEX_FORMAT = 2  # bump when the document layout or the analysis changes: forces a rebuild
_HWM_FILE = "factbot-sync.json"
_MAX_QUERY_TERMS = 48


def claim_terms(claim: Claim) -> str:
    """The analysed text of a claim as the index stores it: claim text and every alias."""
    return " ".join(" ".join(terms(t)) for t in claim.texts())


def phrasing_key(text: str) -> int:
    """Which phrasing stored analysed terms belong to (a checksum of its text)."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _document(claim: Claim) -> tantivy.Document:
    analysed = [(t, terms(t)) for t in claim.texts()]
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


class ClaimIndex:
    """A search index kept in step with a Store through its change feed."""

    def __init__(self, store: Store, path: str | Path | None = None, *, writer_heap: int = 64_000_000):
        self.store = store
        self.schema = _schema()
        self.writer_heap = writer_heap
        self._lock = threading.RLock()
        self._seq = -1
        self._idf_cache: dict[str, float] = {}
        if path is None and store.path is not None:
            path = store.path.with_name(store.path.name + ".index")
        self.path = Path(path) if path is not None else None
        self._open()

    # -- lifecycle -------------------------------------------------------
    def _open(self) -> None:
        if self.path is None:
            self.index = tantivy.Index(self.schema)
            self._seq = -1
            return
        self.path.mkdir(parents=True, exist_ok=True)
        hwm = self._read_hwm()
        if hwm is None:
            # No usable index here (new, other database, older format): start empty.
            self._wipe_dir()
        try:
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        except ValueError:
            log.warning("search index at %s is unreadable; rebuilding it", self.path)
            self._wipe_dir()
            self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            hwm = None
        self._seq = hwm if hwm is not None else -1

    def _wipe_dir(self) -> None:
        assert self.path is not None
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _read_hwm(self) -> int | None:
        if self.path is None:
            return self._seq if self._seq >= 0 else None
        try:
            data = json.loads((self.path / _HWM_FILE).read_text())
        except (OSError, ValueError):
            return None
        if data.get("format") != INDEX_FORMAT or data.get("db_id") != self.store.get_meta("db_id"):
            return None
        seq = data.get("seq")
        return int(seq) if isinstance(seq, int) else None

    def _write_hwm(self, seq: int) -> None:
        self._seq = seq
        if self.path is None:
            return
        tmp = self.path / (_HWM_FILE + ".tmp")
        tmp.write_text(json.dumps({"format": INDEX_FORMAT, "db_id": self.store.get_meta("db_id"), "seq": seq}))
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

    def ensure_current(self) -> bool:
        """Apply whatever the store changed since this index last looked; True if anything was applied."""
        head = self.store.last_change_seq()
        if head == self._seq:
            return False
        with self._lock:
            head = self.store.last_change_seq()
            if head == self._seq:
                return False
            on_disk = self._read_hwm()
            if on_disk is not None and on_disk >= head:
                # Another process already brought the shared index up to date.
                self.index.reload()
                self._idf_cache.clear()
                self._seq = on_disk
                return True
            if on_disk is None or self._seq < 0:
                self.rebuild()
                return True
            try:
                self._apply_changes(on_disk, head)
            except IndexBusy:
                log.warning("search index is being written by another process; using it as it is")
                return False
            return True

    def _apply_changes(self, since: int, head: int) -> None:
        changed = list(dict.fromkeys(cid for _, cid, _ in self.store.changes_since(since)))
        if len(changed) > 50_000:
            self.rebuild()
            return
        claims = self.store.get_many(changed)
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
        self._write_hwm(head)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every claim from scratch; returns the number indexed."""
        with self._lock:
            head = self.store.last_change_seq()
            writer = self._writer(self.writer_heap, threads=2 if (os.cpu_count() or 1) > 1 else 1)
            n = 0
            try:
                writer.delete_all_documents()
                for claim in self.store.iter_claims(batch=5000):
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
            self._write_hwm(head)
            return n

    # -- searching ---------------------------------------------------------
    @property
    def num_docs(self) -> int:
        return self.index.searcher().num_docs

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
