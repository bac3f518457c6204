"""Claim embeddings: stored in SQLite, searched in memory (the ``semantic`` extra).

Storage. Every phrasing of a claim (variant 0 is the claim text, 1... its
aliases) has one row in ``claim_vectors``: the model that made it, a hash of
the exact text embedded, and the vector as float16. A row is recomputed only
when its text or the model changes, so restarting, re-importing the same file
or rebuilding the database costs no model time for what is already there.

Freshness. Like the BM25 index, the vectors follow the store's change feed:
``ensure_current`` embeds the claims written since the last sequence it
applied (by this process or any other) before each search, and records the
sequence in ``meta`` so the next process starts from there. The first time a
model meets a database, every claim is compared with what is stored and only
what is missing or stale is embedded (with a progress callback).

Search. Exact inner product over a float16 matrix in faiss (``IndexScalarQuantizer``,
SIMD, no training) up to ``hnsw_above`` vectors; above that, an HNSW graph
(faiss ``IndexHNSWFlat``), which answers in well under a millisecond at a
million claims but costs minutes to build and does not delete, so edits are
tombstoned and the graph is rebuilt when a quarter of it is stale. The
cut-over comes from bench/semantic.py (docs/performance.md, "Semantic matching").

Persistence. A graph takes minutes to build, so it is saved next to the database
(``<db>.hnsw``, with the change sequence it reflects) and read back at the next
start, which then applies only the claims changed since. The file is a cache:
anything wrong with it (another model, another sequence than the store can
explain, a torn write) and the graph is built again from the stored vectors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .embeddings import Embedder, text_hash
from .index import phrasings
from .models import Claim
from .normalize import clean
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger("factbot.vectors")

GRAPH_FORMAT = 1  # of the saved graph file; another value is rebuilt
GRAPH_MAGIC = b"factbot vector graph 1\n"
META_MODEL = "vectors_model"
META_SEQ = "vectors_seq"
DEFAULT_HNSW_ABOVE = 300_000
INLINE_LIMIT = 500
BACKGROUND_NICE = 10  # how much lower the background embedding thread runs than the rest of the bot


def embed_text(text: str) -> str:
    """The text a claim phrasing is embedded as: cleaned, case and punctuation kept (the model uses them)."""
    return clean(text)


BUNDLED_VECTORS = "vectors"  # folder in the knowledge directory: vectors of the bundled phrasings, per model
_bundled: dict[str, dict[str, np.ndarray]] = {}


def bundled_vectors_path(model_id: str):
    from .knowledge import knowledge_dir

    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in model_id)
    return knowledge_dir() / BUNDLED_VECTORS / f"{slug}.npz"


def bundled_vectors(model_id: str) -> dict[str, np.ndarray]:
    """Vectors of the bundled claims' phrasings for ``model_id``, by text hash ({} when none ship).

    The claims that come with factbot are the same on every install, so their vectors ship with them
    (made by ``factbot model bundle``): a new install answers by meaning at its first check instead of
    embedding every phrasing first. A phrasing edited since is not in the file and is embedded as usual.
    """
    if model_id not in _bundled:
        import numpy as np

        table: dict[str, np.ndarray] = {}
        try:
            path = bundled_vectors_path(model_id)
            if path.is_file():
                with np.load(path, allow_pickle=False) as data:
                    if str(data["model"]) == model_id:
                        for h, v in zip(data["text_hash"], data["vector"], strict=False):
                            table[str(h)] = v.astype(np.float32)
        except Exception as exc:  # noqa: BLE001 - a damaged cache costs embedding time, nothing else
            log.warning("the bundled vectors cannot be read (%s); embedding the bundled claims instead", exc)
            table = {}
        _bundled[model_id] = table
    return _bundled[model_id]


def write_bundled_vectors(store: Store, model_id: str, path) -> int:
    """Save the stored vectors of the bundled claims for ``model_id`` (what ``bundled_vectors`` reads)."""
    import numpy as np

    rows = store.db.execute(
        "SELECT v.text_hash, v.vector FROM claim_vectors v JOIN claims c ON c.id = v.claim_id"
        " WHERE v.model = ? AND c.origin = 'bundled' ORDER BY v.text_hash", [model_id]).fetchall()
    seen: dict[str, bytes] = {}
    for h, blob in rows:
        seen.setdefault(h, blob)
    hashes = np.array(list(seen), dtype="U32")
    vecs = np.vstack([np.frombuffer(b, dtype=np.float16) for b in seen.values()]) if seen else np.zeros((0, 0), np.float16)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, model=np.array(model_id), text_hash=hashes, vector=vecs)
    os.replace(tmp, path)
    _bundled.pop(model_id, None)
    return len(seen)


@dataclass(frozen=True)
class VectorHit:
    claim_id: str
    cosine: float
    variant: int  # 0 = the claim text, i = alias i


class _Matrix:
    """Vectors in memory with stable integer ids; exact search, or HNSW above the cut-over."""

    def __init__(self, dim: int, *, hnsw_above: int):
        import faiss

        self.faiss = faiss
        self.dim = dim
        self.hnsw_above = hnsw_above
        self.key_of: dict[int, tuple[str, int]] = {}
        self.ids_of: dict[str, list[int]] = {}
        self._next = 0
        self._dead = 0
        self._hnsw = False
        self.index = self._new_exact()

    def _new_exact(self):
        f = self.faiss
        base = f.IndexScalarQuantizer(self.dim, f.ScalarQuantizer.QT_fp16, f.METRIC_INNER_PRODUCT)
        return f.IndexIDMap2(base)

    def _new_hnsw(self):
        f = self.faiss
        base = f.IndexHNSWFlat(self.dim, 32, f.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = 80
        base.hnsw.efSearch = 96
        return f.IndexIDMap2(base)

    @property
    def kind(self) -> str:
        return "hnsw" if self._hnsw else "exact-fp16"

    def __len__(self) -> int:
        return len(self.key_of)

    def set_claim(self, claim_id: str, vectors: np.ndarray) -> None:
        """Replace every vector of one claim (an empty array removes the claim)."""
        import numpy as np

        self.remove_claim(claim_id)
        if len(vectors) == 0:
            return
        ids = np.arange(self._next, self._next + len(vectors), dtype=np.int64)
        self._next += len(vectors)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self.ids_of[claim_id] = [int(i) for i in ids]
        for variant, i in enumerate(ids):
            self.key_of[int(i)] = (claim_id, variant)
        if not self._hnsw and len(self.key_of) > self.hnsw_above:
            self._rebuild(hnsw=True)

    def add_many(self, claim_ids: Sequence[str], variants: Sequence[int], vectors: np.ndarray) -> None:
        """Bulk load (rows of claims not yet in memory), far faster than ``set_claim`` one by one."""
        import numpy as np

        if len(vectors) == 0:
            return
        ids = np.arange(self._next, self._next + len(vectors), dtype=np.int64)
        self._next += len(vectors)
        for cid, variant, i in zip(claim_ids, variants, ids, strict=False):
            self.key_of[int(i)] = (cid, int(variant))
            self.ids_of.setdefault(cid, []).append(int(i))
        if not self._hnsw and len(self.key_of) > self.hnsw_above:
            self._rebuild(hnsw=True, extra=(ids, np.asarray(vectors, dtype=np.float32)))
            return
        if self._hnsw:
            self.faiss.omp_set_num_threads(os.cpu_count() or 1)
        try:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        finally:
            self.faiss.omp_set_num_threads(1)

    def remove_claim(self, claim_id: str) -> None:
        import numpy as np

        old = self.ids_of.pop(claim_id, None)
        if not old:
            return
        for i in old:
            self.key_of.pop(i, None)
        if self._hnsw:
            # HNSW cannot delete: the ids are forgotten (search skips them) and the graph is
            # rebuilt once a quarter of it is dead.
            self._dead += len(old)
            if self._dead > max(len(self.key_of), 1) // 4:
                self._rebuild(hnsw=True)
        else:
            self.index.remove_ids(np.asarray(old, dtype=np.int64))

    def _rebuild(self, *, hnsw: bool, extra: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Move the live vectors (plus ``extra`` ids and vectors not yet added) into a new index."""
        import numpy as np

        old = self.index
        ids = np.fromiter(self.key_of.keys(), dtype=np.int64, count=len(self.key_of))
        if extra is not None:
            ids = ids[~np.isin(ids, extra[0])]
        vecs = np.vstack([old.reconstruct(int(i)) for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)
        if extra is not None:
            ids = np.concatenate([ids, extra[0]])
            vecs = np.concatenate([vecs.astype(np.float32), extra[1]])
        self._hnsw = hnsw
        self.index = self._new_hnsw() if hnsw else self._new_exact()
        self._dead = 0
        self.faiss.omp_set_num_threads(os.cpu_count() or 1)  # building a graph is worth every core
        try:
            for start in range(0, len(ids), 50_000):
                chunk = np.ascontiguousarray(vecs[start : start + 50_000], dtype=np.float32)
                self.index.add_with_ids(chunk, ids[start : start + 50_000])
        finally:
            self.faiss.omp_set_num_threads(1)

    @property
    def is_graph(self) -> bool:
        return self._hnsw

    def save(self, path: os.PathLike[str], meta: dict) -> None:
        """Write the graph and its id map to ``path`` in one file, atomically (write aside, then rename).

        The file: a magic line, the id map and metadata as a length-prefixed ``.npz``, then the faiss index
        streamed in faiss's own format, so that neither writing nor reading holds a second copy of it.
        """
        import io
        import json

        import numpy as np

        keys = sorted(self.key_of.items())
        header = {**meta, "format": GRAPH_FORMAT, "dim": self.dim, "next": self._next, "dead": self._dead}
        idmap = io.BytesIO()
        np.savez(
            idmap,
            header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            ids=np.fromiter((i for i, _ in keys), dtype=np.int64, count=len(keys)),
            claims=np.array([cid for _, (cid, _) in keys], dtype=np.str_),
            variants=np.fromiter((v for _, (_, v) in keys), dtype=np.int32, count=len(keys)),
        )
        tmp = f"{os.fspath(path)}.{os.getpid()}.{threading.get_ident()}.tmp"  # two processes may save at once
        try:
            with open(tmp, "wb") as f:
                f.write(GRAPH_MAGIC)
                f.write(len(idmap.getbuffer()).to_bytes(8, "little"))
                f.write(idmap.getbuffer())
                writer = self.faiss.PyCallbackIOWriter(f.write)  # type: ignore[attr-defined]
                self.faiss.write_index(self.index, writer)
                del writer
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path: os.PathLike[str], *, hnsw_above: int) -> tuple[_Matrix, dict]:
        """A graph saved by ``save`` and the metadata it was saved with; raises on anything unexpected."""
        import io
        import json

        import faiss
        import numpy as np

        with open(path, "rb") as f:
            if f.read(len(GRAPH_MAGIC)) != GRAPH_MAGIC:
                raise ValueError("not a factbot vector graph of this format")
            size = int.from_bytes(f.read(8), "little")
            raw = f.read(size)
            if len(raw) != size:
                raise ValueError("the file is cut short")
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                ids, claims, variants = data["ids"], data["claims"], data["variants"]
            reader = faiss.PyCallbackIOReader(f.read)  # type: ignore[attr-defined]
            index = faiss.read_index(reader)
            del reader
            if f.read(1):
                raise ValueError("unexpected bytes after the graph")
        if header.get("format") != GRAPH_FORMAT:
            raise ValueError(f"graph format {header.get('format')!r}, expected {GRAPH_FORMAT}")
        if index.d != header["dim"] or not len(ids) == len(claims) == len(variants):
            raise ValueError("graph and id map disagree")
        if index.ntotal != len(ids) + header["dead"]:
            raise ValueError(f"graph holds {index.ntotal} vectors, the id map {len(ids)} + {header['dead']} removed")
        matrix = cls(int(header["dim"]), hnsw_above=hnsw_above)
        matrix.index = index
        matrix._hnsw = True
        matrix._next = int(header["next"])
        matrix._dead = int(header["dead"])
        for i, cid, variant in zip(ids.tolist(), claims.tolist(), variants.tolist(), strict=False):
            matrix.key_of[i] = (cid, variant)
            matrix.ids_of.setdefault(cid, []).append(i)
        return matrix, header

    def vectors(self, claim_id: str) -> list[np.ndarray]:
        return [self.index.reconstruct(i) for i in self.ids_of.get(claim_id, ())]

    def vectors_of(self, claim_ids: Iterable[str]) -> tuple[list[tuple[str, int]], np.ndarray]:
        """Every phrasing vector of these claims in one call: ``[(claim_id, count), ...]`` and the rows in that order.

        One ``reconstruct_batch`` instead of one call per phrasing: a check's candidates have hundreds of
        phrasings when their translations are in (a tenth of the CPU of a check by meaning, one by one).
        """
        import numpy as np

        spans: list[tuple[str, int]] = []
        ids: list[int] = []
        for cid in claim_ids:
            mine = self.ids_of.get(cid)
            if mine:
                spans.append((cid, len(mine)))
                ids.extend(mine)
        if not ids:
            return [], np.zeros((0, self.dim), np.float32)
        return spans, self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k_claims: int) -> list[list[VectorHit]]:
        """Best claims per query row, each claim scored by its best phrasing."""
        import numpy as np

        # One query is one thread's work: OpenMP threads waiting on a busy core cost more than they give.
        self.faiss.omp_set_num_threads(1)
        n = len(self.key_of)
        if n == 0 or k_claims <= 0:
            return [[] for _ in range(len(queries))]
        k_rows = min(n + self._dead, max(k_claims * 4, 16))
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k_rows)
        out = []
        for srow, irow in zip(scores, ids, strict=True):
            best: dict[str, VectorHit] = {}
            for s, i in zip(srow, irow, strict=True):
                key = self.key_of.get(int(i))
                if key is None:
                    continue
                cid, variant = key
                if cid not in best:
                    best[cid] = VectorHit(cid, float(s), variant)
                    if len(best) >= k_claims:
                        break
            out.append(list(best.values()))
        return out


class VectorIndex:
    """The embeddings of every claim phrasing, kept in step with the store."""

    def __init__(self, store: Store, embedder: Embedder, *, hnsw_above: int = DEFAULT_HNSW_ABOVE, batch: int = 2048):
        self.store = store
        self.embedder = embedder
        self.hnsw_above = hnsw_above
        self.batch = batch
        self._lock = threading.RLock()
        self._seq = -1
        self._matrix: _Matrix | None = None
        self.embedded = 0  # phrasings this object had to run through the model (reused ones are not counted)
        # A check embeds what changed inline only up to this many claims; beyond it, claims without vectors
        # are matched by their words until ``factbot model embed`` or the bot's background worker embeds them.
        self.inline_limit = INLINE_LIMIT
        self.waiting = 0  # claims known to wait for vectors (set at each catch-up)
        self._worker: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.loaded_from = ""  # "graph file" when the last load read the saved HNSW graph, else "database"
        self.graph_path = store.path.with_name(store.path.name + ".hnsw") if store.path is not None else None

    # -- keeping up with the store ---------------------------------------
    @property
    def synced_seq(self) -> int:
        return self._seq

    @property
    def size(self) -> int:
        return len(self._matrix) if self._matrix is not None else 0

    @property
    def kind(self) -> str:
        return self._matrix.kind if self._matrix is not None else "not loaded"

    def ensure_current(self, progress: Callable[[int], None] | None = None, *, embed: bool | None = None) -> int:
        """Catch up with the store; returns the number of phrasings embedded.

        ``embed=True`` embeds every claim that changed (``model embed``, imports of a few claims);
        ``None`` (a check) embeds inline only up to ``inline_limit`` claims and otherwise loads what is
        stored, leaving the rest to the background worker or ``factbot model embed``: a check must not
        wait minutes for a 100k-claim import to be embedded. ``progress(n)``: claims handled so far.
        """
        head = self.store.last_change_seq()
        if head == self._seq and self._matrix is not None:
            return 0
        with self._lock:
            head = self.store.last_change_seq()
            if head == self._seq and self._matrix is not None:
                return 0
            before = self.embedded
            inline = embed if embed is not None else (self._worker is None and self.pending() <= self.inline_limit)
            if self._matrix is None:
                if inline:
                    self._sync_stored(head, progress)
                self._load(head)
            else:
                changed = list(dict.fromkeys(cid for _, cid, _ in self.store.changes_since(self._seq)))
                if inline:
                    self._refresh_claims(changed, progress, patch=True)
                    self._mark_synced(head)
                else:
                    for start in range(0, len(changed), 500):
                        self._patch(self._matrix, changed[start : start + 500])
            self._seq = head
            self.waiting = 0 if inline else self.pending()
            if self.waiting and self._worker is not None:
                self._wake.set()
            return self.embedded - before

    # -- embedding in the background (the running bot) ---------------------
    def start_background(self, *, interval: float = 5.0) -> bool:
        """Embed claims that wait for vectors on a thread of its own, with its own database connection.

        Checks go on meanwhile with the vectors there are (the claims still waiting are matched by their
        words); each batch is visible to the next check. Only for a database file or a PostgreSQL database: an
        in-memory store has one connection, and embeds inline. Returns False when there is nothing to run it on.
        """
        if (self.store.path is None and self.store.url is None) or self._worker is not None:
            return False
        self._stop.clear()
        self._worker = threading.Thread(target=self._background, args=(interval,), name="factbot-embed", daemon=True)
        self._worker.start()
        self._wake.set()
        return True

    def stop_background(self, timeout: float = 10.0) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            self._stop.set()
            self._wake.set()
            worker.join(timeout)

    def _store_closed(self) -> bool:
        return self.store.closed

    def _background(self, interval: float) -> None:
        # Embedding is the bot's least urgent work: this thread (and the threads its engine starts) yields the cores
        # to the event loop and to the checks (Linux sets the priority per thread), and it has its own model
        # instance, so a check's query never waits for a batch of claims to be encoded.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
        own = Store(self.store.url or self.store.path)
        try:
            helper = VectorIndex(own, self.embedder.twin(), hnsw_above=self.hnsw_above, batch=64)
            # It ends with the store it serves: a closed store's database may be gone (a test's, or one dropped).
            while not self._stop.is_set() and not self._store_closed():
                self._wake.wait(interval)
                self._wake.clear()
                if self._stop.is_set() or self._store_closed():
                    break
                try:
                    self._embed_waiting(helper)
                except Exception as exc:  # noqa: BLE001 - a full disk or a locked database: try again later
                    if self._store_closed():
                        break
                    log.warning("background embedding paused: %s", exc)
                    self._stop.wait(interval)
        finally:
            own.close()

    def _embed_waiting(self, helper: VectorIndex) -> int:
        """One pass: embed, batch by batch, every claim whose stored vectors are missing or stale."""
        store = helper.store
        head = store.last_change_seq()
        stored_model, stored_seq = store.get_meta(META_MODEL), store.get_meta(META_SEQ)
        if stored_model == self.embedder.model_id and stored_seq is not None and int(stored_seq) <= head:
            todo = list(dict.fromkeys(cid for _, cid, _ in store.changes_since(int(stored_seq))))
        else:
            todo = [r[0] for r in store.db.execute("SELECT id FROM claims ORDER BY rowid")]
        if not todo:
            helper._mark_synced(head)
            self.waiting = 0
            return 0
        log.info("embedding %d claim(s) in the background", len(todo))
        done = 0
        for start in range(0, len(todo), helper.batch):
            if self._stop.is_set():
                return done
            chunk = todo[start : start + helper.batch]
            current = store.get_many(chunk)
            helper._sync_claims({cid: current.get(cid) for cid in chunk}, None)
            rows = helper._rows(chunk)
            with self._lock:
                if self._matrix is not None:
                    import numpy as np

                    for cid in chunk:
                        vecs = rows.get(cid)
                        self._matrix.set_claim(cid, vecs if vecs is not None else np.zeros((0, self._matrix.dim), np.float32))
            done += len(chunk)
            self.waiting = max(len(todo) - done, 0)
        helper._mark_synced(head)
        self.embedded += helper.embedded
        helper.embedded = 0
        log.info("background embedding done: %d claim(s)", done)
        return done

    def sync_stored(self, progress: Callable[[int], None] | None = None) -> int:
        """Bring the stored embeddings up to date without loading them for search; returns the phrasings embedded.

        For the commands that only write (``claims import``, ``model embed``): on an archive above the
        cut-over, loading would read or build the HNSW graph for nothing.
        """
        with self._lock:
            before = self.embedded
            if self._matrix is not None:
                return self.ensure_current(progress, embed=True)
            self._sync_stored(self.store.last_change_seq(), progress)
            return self.embedded - before

    def _sync_stored(self, head: int, progress: Callable[[int], None] | None) -> None:
        """The stored rows: the claims changed since the last sync (any process's), or all of them for a new model."""
        stored_model = self.store.get_meta(META_MODEL)
        stored_seq = self.store.get_meta(META_SEQ)
        if stored_model == self.embedder.model_id and stored_seq is not None and int(stored_seq) <= head:
            changed = list(dict.fromkeys(cid for _, cid, _ in self.store.changes_since(int(stored_seq))))
            self._refresh_claims(changed, progress)
        else:
            self._full_sync(progress)
        self._mark_synced(head)

    def _mark_synced(self, head: int) -> None:
        if self.store.get_meta(META_SEQ) != str(head) or self.store.get_meta(META_MODEL) != self.embedder.model_id:
            with self.store.transaction():
                self.store.set_meta(META_MODEL, self.embedder.model_id)
                self.store.set_meta(META_SEQ, str(head))

    def pending(self) -> int:
        """How many claims wait for vectors of this model (missing, or their text changed since)."""
        stored_model = self.store.get_meta(META_MODEL)
        stored_seq = self.store.get_meta(META_SEQ)
        if stored_model == self.embedder.model_id and stored_seq is not None:
            return self.store.db.execute(
                "SELECT count(DISTINCT claim_id) FROM claim_changes WHERE seq > ?", [int(stored_seq)]
            ).fetchone()[0]
        return self.store.count()

    def _stored(self, claim_ids: Sequence[str]) -> dict[tuple[str, int], tuple[str, str]]:
        out: dict[tuple[str, int], tuple[str, str]] = {}
        for start in range(0, len(claim_ids), 500):
            chunk = list(claim_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.store.db.execute(
                f"SELECT claim_id, variant, model, text_hash FROM claim_vectors WHERE claim_id IN ({marks})", chunk
            ):
                out[(r[0], r[1])] = (r[2], r[3])
        return out

    def _sync_claims(self, claims: dict[str, Claim | None], progress: Callable[[int], None] | None) -> None:
        """Make the stored rows of these claims match their current phrasings and this model."""
        import numpy as np

        ids = list(claims)
        stored = self._stored(ids)
        todo: list[tuple[str, int, str]] = []  # (claim_id, variant, text)
        stale: list[tuple[str, int]] = []
        for cid in ids:
            claim = claims[cid]
            texts = [embed_text(t) for t, _ in phrasings(claim)] if claim is not None else []
            for variant, text in enumerate(texts):
                have = stored.get((cid, variant))
                if have != (self.embedder.model_id, text_hash(text)):
                    todo.append((cid, variant, text))
            stale += [key for key in stored if key[0] == cid and key[1] >= len(texts)]
        shipped = bundled_vectors(self.embedder.model_id) if todo else {}
        vectors = np.zeros((len(todo), 0), np.float32)
        if todo:
            known = [shipped.get(text_hash(t)) for _, _, t in todo]
            fresh = [i for i, v in enumerate(known) if v is None]
            encoded = self.embedder.encode([todo[i][2] for i in fresh], progress=None) if fresh else None
            dim = encoded.shape[1] if encoded is not None else len(next(v for v in known if v is not None))
            vectors = np.empty((len(todo), dim), np.float32)
            for i, v in enumerate(known):
                if v is not None:
                    vectors[i] = v
            if encoded is not None:
                vectors[fresh] = encoded
            self.embedded += len(fresh)
        with self.store.transaction():
            if stale:
                self.store.db.conn.executemany("DELETE FROM claim_vectors WHERE claim_id = ? AND variant = ?", stale)
            if todo:
                self.store.db.conn.executemany(
                    "INSERT INTO claim_vectors(claim_id, variant, model, text_hash, dim, vector) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(claim_id, variant) DO UPDATE SET model = excluded.model,"
                    " text_hash = excluded.text_hash, dim = excluded.dim, vector = excluded.vector",
                    [
                        (cid, variant, self.embedder.model_id, text_hash(text), vectors.shape[1],
                         vectors[i].astype(np.float16).tobytes())
                        for i, (cid, variant, text) in enumerate(todo)
                    ],
                )
        if progress:
            progress(len(ids))

    def _refresh_claims(self, changed: list[str], progress, *, patch: bool = False) -> None:
        for start in range(0, len(changed), self.batch):
            chunk = changed[start : start + self.batch]
            current = self.store.get_many(chunk)
            self._sync_claims({cid: current.get(cid) for cid in chunk}, progress)
            if patch and self._matrix is not None:
                self._patch(self._matrix, chunk)

    def _patch(self, matrix: _Matrix, claim_ids: Sequence[str]) -> None:
        """Give these claims, in memory, the vectors stored for them now (none: the claim is gone)."""
        import numpy as np

        rows = self._rows(claim_ids)
        for cid in claim_ids:
            vecs = rows.get(cid)
            matrix.set_claim(cid, vecs if vecs is not None else np.zeros((0, matrix.dim), np.float32))

    def _full_sync(self, progress) -> None:
        """Compare every claim with what is stored; embed only what is missing or stale."""
        batch: list[Claim] = []
        for claim in self.store.iter_claims(batch=5000):
            batch.append(claim)
            if len(batch) >= self.batch:
                self._sync_claims({c.id: c for c in batch}, progress)
                batch = []
        if batch:
            self._sync_claims({c.id: c for c in batch}, progress)
        with self.store.transaction():
            self.store.db.conn.execute("DELETE FROM claim_vectors WHERE claim_id NOT IN (SELECT id FROM claims)")

    def _rows(self, claim_ids: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np

        out: dict[str, list[tuple[int, bytes]]] = {}
        for start in range(0, len(claim_ids), 500):
            chunk = list(claim_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for r in self.store.db.execute(
                f"SELECT claim_id, variant, vector FROM claim_vectors WHERE model = ? AND claim_id IN ({marks})",
                [self.embedder.model_id, *chunk],
            ):
                out.setdefault(r[0], []).append((r[1], r[2]))
        return {
            cid: np.vstack([np.frombuffer(b, dtype=np.float16) for _, b in sorted(rows)]).astype(np.float32)
            for cid, rows in out.items()
        }

    def _load(self, seq: int) -> None:
        """Into memory: the saved graph plus what changed since it was saved, or every stored vector.

        ``seq``: the change the stored vectors are known to be current with (later ones may be there too).
        """
        if self._load_graph(seq):
            return
        self._load_rows()
        self.loaded_from = "database"
        if self._matrix is not None and self._matrix.is_graph:
            self._save_graph(seq)

    def _save_graph(self, seq: int) -> None:
        """Keep the graph for the next start (best effort: a failure costs a rebuild then, nothing now).

        It is saved as of ``seq``, not the store's head now: a change another process makes meanwhile may
        be missing from it, and the next start re-applies everything after ``seq``.
        """
        if self.graph_path is None or self._matrix is None:
            return
        meta = {"model": self.embedder.model_id, "seq": seq, "db_id": self.store.get_meta("db_id")}
        try:
            self._matrix.save(self.graph_path, meta)
        except Exception as exc:  # noqa: BLE001 - a full disk or a read-only folder must not stop the bot
            log.warning("could not save the vector graph to %s (%s); it will be built again at the next start",
                        self.graph_path, exc)

    def _load_graph(self, head: int) -> bool:
        """Read the saved graph if it is this model's and the store can tell what changed since; apply that."""
        if self.graph_path is None or not self.graph_path.exists():
            return False
        try:
            matrix, header = _Matrix.load(self.graph_path, hnsw_above=self.hnsw_above)
            if header.get("db_id") != self.store.get_meta("db_id"):
                raise ValueError("saved for another database")
            if header.get("model") != self.embedder.model_id:
                raise ValueError(f"saved for {header.get('model')}")
            if len(matrix) <= self.hnsw_above:
                raise ValueError(f"{len(matrix):,} vectors, not above matcher.vector_index_above ({self.hnsw_above:,})")
            seq = int(header["seq"])
            if not 0 <= seq <= head:
                raise ValueError(f"saved at change {seq}, the database is at {head}")
        except Exception as exc:  # noqa: BLE001 - any damage means "build it again"
            log.warning("the saved vector graph %s is not usable (%s); building it again", self.graph_path, exc)
            return False
        changed = list(dict.fromkeys(cid for _, cid, _ in self.store.changes_since(seq)))
        for start in range(0, len(changed), 500):
            self._patch(matrix, changed[start : start + 500])
        self._matrix = matrix
        self.loaded_from = "graph file"
        if len(changed) > max(len(matrix), 1) // 20:  # keep the next start's catch-up short
            self._save_graph(head)
        return True

    def _load_rows(self) -> None:
        """Read every stored vector of this model into memory."""
        import numpy as np

        matrix: _Matrix | None = None
        cur = self.store.db.execute(
            "SELECT claim_id, variant, dim, vector FROM claim_vectors WHERE model = ? ORDER BY claim_id, variant",
            [self.embedder.model_id],
        )
        while True:
            rows = cur.fetchmany(50_000)
            if not rows:
                break
            if matrix is None:
                matrix = _Matrix(rows[0][2], hnsw_above=self.hnsw_above)
            vecs = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float16).reshape(len(rows), -1)
            matrix.add_many([r[0] for r in rows], [r[1] for r in rows], vecs.astype(np.float32))
        self._matrix = matrix or _Matrix(self.embedder.dim, hnsw_above=self.hnsw_above)

    # -- searching ---------------------------------------------------------
    def search(self, queries: np.ndarray, k: int = 20) -> list[list[VectorHit]]:
        """The ``k`` nearest claims for each query vector (unit length), best first."""
        self.ensure_current()
        assert self._matrix is not None
        with self._lock:  # a concurrent check may be patching the matrix
            return self._matrix.search(queries, k)

    def cosines(self, query: np.ndarray, claim_ids: Iterable[str]) -> dict[str, tuple[float, int]]:
        """Best cosine (and which phrasing) of the query against each given claim."""
        return {cid: (best, i) for cid, (best, i, _, _) in self.cosine_profile(query, claim_ids).items()}

    def cosine_profile(self, query: np.ndarray, claim_ids: Iterable[str]) -> dict[str, tuple[float, int, float, float]]:
        """Per claim: the best cosine, its phrasing, the claim text's own cosine and the mean over phrasings."""
        import numpy as np

        assert self._matrix is not None
        out: dict[str, tuple[float, int, float, float]] = {}
        with self._lock:
            spans, rows = self._matrix.vectors_of(dict.fromkeys(claim_ids))
        at = 0
        for cid, count in spans:
            sims = rows[at : at + count] @ query  # per claim, as before: the same products, bit for bit
            at += count
            i = int(np.argmax(sims))
            out[cid] = (float(sims[i]), i, float(sims[0]), float(sims.mean()))
        return out
