"""``factbot claims``: import, export, list, show, add, edit and remove the claims in the database."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TextIO

import click

from ..adapters.console import render_claim
from ..core.editing import Actor, remove_claim, save_claims
from ..core.index import ClaimIndex
from ..core.models import ClaimError, Verdict, claim_from_dict
from ..exitcodes import EXIT_BAD_INPUT, EXIT_NOT_FOUND
from .root import Context, cli, fail, pass_ctx

IMPORT_COMMIT_EVERY = 1000  # claims per transaction of a large import at most (fewer when that takes long)


# -- claims --------------------------------------------------------------------
@cli.group()
def claims() -> None:
    """List, show, add, remove, import and export claims."""


@claims.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["yaml", "json", "jsonl", "csv", "claimreview"]), help="Override the format the extension suggests.")
@click.option("--dry-run", is_flag=True, help="Validate and report, write nothing.")
@pass_ctx
def claims_import(c: Context, file: Path, fmt: str | None, dry_run: bool) -> None:
    """Import claims from FILE (.yaml, .json, .jsonl, .csv, or ClaimReview JSON-LD).

    All or nothing: if any record is invalid, nothing is written and every
    problem is listed with its line or record and field. Claims are matched
    by id: an existing id is updated, a new one added. A file of more than
    1,000 claims is written 1,000 at a time, so a running bot is never kept
    waiting; if interrupted, running the same import again completes it.
    """
    from ..core.formats import ImportFileError, load_claims

    try:
        items = load_claims(file, fmt=fmt)
    except ImportFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    items, moved, refused = c.store.follow_redirects(items)
    if refused:
        fail(f"{file}: {len(refused)} problem(s):\n" + "\n".join(f"  {p}" for p in refused), EXIT_BAD_INPUT)
    for old_id, new_id in moved:
        click.echo(f"{old_id} was retired; its record updates {new_id}.", err=True)
    if dry_run:
        click.echo(f"{file}: {len(items)} valid claim(s); nothing written (--dry-run).")
        return
    store = c.store
    show = len(items) >= 1000 and sys.stderr.isatty()
    with click.progressbar(length=len(items), label="Importing", file=sys.stderr, hidden=not show) as bar:
        stats = save_claims(store, items, Actor.cli("import"), progress=bar.update, commit_every=IMPORT_COMMIT_EVERY,
                            reindex=False)
    if stats.longest_tx_s:
        logging.getLogger("factbot.store").info("import: the longest transaction held the write lock %.0f ms",
                                                stats.longest_tx_s * 1000)
    with click.progressbar(length=store.count(), label="Indexing", file=sys.stderr, hidden=not show) as bar:
        ClaimIndex(store).ensure_current()
    click.echo(f"Imported {file}: {stats.summary()}.")
    from ..model_cli import waiting_line

    line = waiting_line(store, c.settings.matcher)
    if line:
        click.echo(line, err=True)


@claims.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "yaml", "csv", "claimreview"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout).")
@click.option("--verdict", type=click.Choice([v.value for v in Verdict]), help="Only claims with this verdict.")
@pass_ctx
def claims_export(c: Context, fmt: str, output: TextIO, verdict: str | None) -> None:
    """Export claims (every field, sources and aliases included)."""
    from ..core.formats import dump_claims

    n = dump_claims(c.store.iter_claims(verdict=verdict), fmt, output)
    if output is not sys.stdout:
        click.echo(f"Exported {n} claim(s).", err=True)


@claims.command("list")
@click.option("--verdict", type=click.Choice([v.value for v in Verdict]))
@click.option("--search", "query", metavar="WORDS", help="Only claims that best match these words.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def claims_list(c: Context, verdict: str | None, query: str | None, limit: int, as_json: bool) -> None:
    """List claims: id, verdict and text."""
    if query:
        found = [x.claim for x in c.checker.search(query, limit=limit)]
        if verdict:
            found = [x for x in found if x.verdict.value == verdict]
    else:
        found = []
        for claim in c.store.iter_claims(verdict=verdict):
            found.append(claim)
            if len(found) >= limit:
                break
    for claim in found:
        if as_json:
            click.echo(json.dumps(claim.to_dict(include_meta=True), ensure_ascii=False))
        else:
            click.echo(f"{claim.verdict.emoji} {claim.verdict.label:<12} {claim.id}  {claim.claim}")
    if not found:
        click.echo("No claims.", err=True)


@claims.command("show")
@click.argument("claim_id")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def claims_show(c: Context, claim_id: str, as_json: bool) -> None:
    """Show one claim in full."""
    found = c.checker.lookup(claim_id)
    claim = found.claim
    if claim is None:
        fail(f"no claim with id {claim_id!r} (try: factbot claims list --search WORDS)", EXIT_NOT_FOUND)
    if found.notice:
        click.echo(found.notice, err=as_json)
    if as_json:
        click.echo(json.dumps(claim.to_dict(include_meta=True), ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(render_claim(claim)))
    if claim.aliases:
        click.echo("Also said as:")
        for a in claim.aliases:
            click.echo(f"  - {a}")
    meta = [f"id {claim.id}", f"origin {claim.origin}"]
    if claim.claimant:
        meta.append(f"claimant {claim.claimant}")
    if claim.reviewed_at:
        meta.append(f"reviewed {claim.reviewed_at}")
    click.echo(" · ".join(meta))


@claims.command("add")
@click.option("--id", "claim_id", help="Stable id (slug); made from the claim text when omitted.")
@click.option("--claim", "text", required=True, help="The statement as people make it.")
@click.option("--verdict", required=True, type=click.Choice([v.value for v in Verdict]))
@click.option("--summary", required=True, help="One or two sentences: why this verdict.")
@click.option("--source", "sources", multiple=True, required=True, metavar="URL", help="A source URL (repeatable).")
@click.option("--alias", "aliases", multiple=True, help="Another way people say it (repeatable).")
@click.option("--rating-text", help="The publisher's own wording of the rating.")
@click.option("--tag", "tags", multiple=True)
@click.option("--claimant")
@pass_ctx
def claims_add(c: Context, claim_id: str | None, text: str, verdict: str, summary: str, sources: tuple[str, ...],
               aliases: tuple[str, ...], rating_text: str | None, tags: tuple[str, ...], claimant: str | None) -> None:
    """Add one claim (or replace the claim with the same id)."""
    try:
        claim = claim_from_dict({
            "id": claim_id, "claim": text, "verdict": verdict, "summary": summary, "sources": [{"url": u} for u in sources],
            "aliases": list(aliases), "rating_text": rating_text, "tags": list(tags), "claimant": claimant,
        })
    except ClaimError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    stats = save_claims(c.store, [claim], Actor.cli())
    click.echo(f"{'Added' if stats.inserted else 'Updated' if stats.updated else 'Unchanged'}: {claim.id}")


@claims.command("edit")
@click.argument("claim_id")
@click.option("--claim", "text", help="New claim text.")
@click.option("--verdict", type=click.Choice([v.value for v in Verdict]))
@click.option("--summary")
@click.option("--rating-text")
@click.option("--add-source", "add_sources", multiple=True, metavar="URL")
@click.option("--add-alias", "add_aliases", multiple=True)
@pass_ctx
def claims_edit(c: Context, claim_id: str, text: str | None, verdict: str | None, summary: str | None,
                rating_text: str | None, add_sources: tuple[str, ...], add_aliases: tuple[str, ...]) -> None:
    """Change fields of one claim. An edited claim is yours: knowledge updates never overwrite it.

    A changed verdict is announced to the channels that were given the old one
    (see the digest and correction notices).
    """
    claim = c.store.get(claim_id)
    if claim is None:
        fail(f"no claim with id {claim_id!r}", EXIT_NOT_FOUND)
    data = claim.to_dict()
    for key, value in (("claim", text), ("verdict", verdict), ("summary", summary), ("rating_text", rating_text)):
        if value is not None:
            data[key] = value
    if verdict is not None and rating_text is None:
        data["rating_text"] = ""  # the old publisher wording no longer fits the new verdict
    data["sources"] = data["sources"] + [{"url": u} for u in add_sources]
    data["aliases"] = data["aliases"] + list(add_aliases)
    try:
        edited = claim_from_dict(data)
    except ClaimError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    stats = save_claims(c.store, [edited], Actor.cli())
    if stats.updated and verdict and verdict != claim.verdict.value:
        click.echo(f"Updated: {claim_id} ({claim.verdict.label} → {edited.verdict.label}); earlier replies will get a correction.")
    else:
        click.echo(f"{'Updated' if stats.updated else 'Unchanged'}: {claim_id}")


@claims.command("remove")
@click.argument("claim_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def claims_remove(c: Context, claim_id: str, yes: bool) -> None:
    """Remove one claim by id."""
    claim = c.store.get(claim_id)
    if claim is None:
        fail(f"no claim with id {claim_id!r}", EXIT_NOT_FOUND)
    if claim.origin == "bundled":
        click.echo("Note: this claim ships with factbot; it comes back at the next `factbot db rebuild`.", err=True)
    if not yes and not click.confirm(f"Remove {claim_id} ({claim.claim[:60]})?", err=True):
        sys.exit(EXIT_NOT_FOUND)
    remove_claim(c.store, claim_id, Actor.cli())
    click.echo(f"Removed: {claim_id}")
