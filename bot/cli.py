"""The ``factbot`` command: check claims, chat locally, manage the claims database.

Exit codes (documented in docs/cli.md and relied on by scripts):
0 success · 1 not found / nothing done · 2 usage error · 3 bad input data · 4 database or configuration problem.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click

from . import __version__
from .adapters.console import render_claim, render_text, run_repl
from .config import ConfigError, Settings, load_settings
from .core import queries
from .core.editing import Actor, remove_claim, save_claims
from .core.engine import redact
from .core.formats import parse_batch_line
from .core.index import ClaimIndex
from .core.knowledge import KnowledgeError, load_knowledge
from .core.migrations import SchemaTooNew
from .core.models import ClaimError, IncomingMessage, Verdict, claim_from_dict
from .core.service import FactChecker, checker_for, open_store
from .core.store import Store, StoreError, store_error
from .exitcodes import EXIT_BAD_INPUT, EXIT_DB, EXIT_NOT_FOUND
from .observability import setup_logging

IMPORT_COMMIT_EVERY = 1000  # claims per transaction of a large import at most (fewer when that takes long)


class Context:
    """Lazily opened resources, so ``--help`` and ``config check`` never touch the database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._checker: FactChecker | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            try:
                self._store, report = open_store(self.settings.database)
            except SchemaTooNew as exc:
                fail(str(exc), EXIT_DB)
            except KnowledgeError as exc:
                fail(f"the bundled knowledge is invalid:\n{exc}", EXIT_DB)
            except (OSError, StoreError) as exc:
                fail(str(store_error(exc, self.settings.database)), EXIT_DB)
            self._store.prune_checks(self.settings.check_retention_days)
            if report.created and self.settings.database != ":memory:":
                click.echo(f"Created {self._store.location} with {self._store.count()} bundled claims.", err=True)
        return self._store

    @property
    def checker(self) -> FactChecker:
        if self._checker is None:
            self._checker = checker_for(self.store, self.settings)
        return self._checker

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


pass_ctx = click.make_pass_decorator(Context)


class LazyGroup(click.Group):
    """Groups whose modules import a platform library load only when used: ``factbot check`` stays quick."""

    lazy = {
        "discord": "bot.adapters.discord.cli:discord_cli",
        "model": "bot.model_cli:model_cli",
        "language": "bot.language_cli:language_cli",
        "desk": "bot.desk.cli:desk_cli",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def invoke(self, ctx: click.Context) -> Any:
        """Every database fault (locked past the wait, read-only, disk full, damaged) is one line and exit code 4."""
        try:
            return super().invoke(ctx)
        except (StoreError, sqlite3.Error) as exc:
            obj = ctx.obj if isinstance(ctx.obj, Context) else None
            logging.getLogger("factbot.store").debug("database error", exc_info=True)
            fail(str(store_error(exc, obj.settings.database if obj else None)), EXIT_DB)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_path", envvar="FACTBOT_DB", metavar="PATH|URL", help="Database file, or a postgresql:// URL (default: a file in your user data directory; env FACTBOT_DB).")
@click.option("--config", "config_path", metavar="FILE", help="Settings file (TOML; env FACTBOT_CONFIG).")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.version_option(__version__, prog_name="factbot")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, config_path: str | None, verbose: int) -> None:
    """factbot checks chat messages against a database of verified claims.

    \b
    Quick start:
      factbot check "Alibaba stole Claude Fable's guardrails"
      factbot chat
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    try:
        settings = load_settings(config_path, db_path=db_path)
    except ConfigError as exc:
        setup_logging(level)
        fail(str(exc), EXIT_DB)
    setup_logging(level, secrets=settings.secrets())
    ctx.obj = Context(settings)
    ctx.call_on_close(ctx.obj.close)


# -- check ---------------------------------------------------------------------
@cli.command()
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--top", default=3, show_default=True, type=click.IntRange(1, 50), help="How many candidates to list.")
@click.option("--batch", type=click.File("r", encoding="utf-8", errors="replace"), metavar="FILE",
              help='JSON lines in ({"id": ..., "text": ...}), JSON lines out; "-" reads stdin.')
@click.option("--explain", is_flag=True, help="Show how each candidate's score was made.")
@pass_ctx
def check(c: Context, text: tuple[str, ...], as_json: bool, top: int, batch: TextIO | None, explain: bool) -> None:
    """Check TEXT against the verified claims and print the verdict, why, and sources.

    The decision is "match" (a verdict applies), "possible" (did you mean...?)
    or "none" (no verified claim matches).
    """
    if batch is not None:
        if text:
            raise click.UsageError("give either TEXT or --batch, not both")
        sys.exit(_check_batch(c, batch, top))
    if not text:
        raise click.UsageError('nothing to check: give the text, e.g. factbot check "Alibaba stole the guardrails"')
    result = c.checker.check(IncomingMessage(text=" ".join(text), platform="cli"), top=top, record=False)
    _say_waiting(c)
    if as_json:
        out = result.to_dict()
        out["matches"] = [m.to_dict() for m in (result.matches or result.candidates)][:top]
        if result.matches:
            out["candidates"] = [m.to_dict() for m in result.candidates][:top]
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        click.echo(render_text(result, explain=explain))


def _say_waiting(c: Context) -> None:
    """On stderr: claims a check could not compare by meaning yet (a large import not embedded so far)."""
    vectors = c.checker.matcher.vectors
    if vectors is not None and vectors.waiting:
        click.echo(f"Note: {vectors.waiting:,} claim(s) wait for vectors and were matched by their words only; "
                   "run `factbot model embed` (a running bot embeds them in the background).", err=True)


def _check_batch(c: Context, stream: TextIO, top: int) -> int:
    """One JSON line out per line in; a bad line gets an error object and does not stop the run."""
    checker = c.checker
    bad = 0
    for lineno, line in enumerate(stream, 1):
        if lineno == 1:
            line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark, as import accepts it
        if not line.strip():
            continue
        try:
            item = parse_batch_line(line)
        except ValueError as exc:
            bad += 1
            click.echo(json.dumps({"line": lineno, "error": f"line {lineno}: {exc}"}))
            continue
        try:
            result = checker.check(IncomingMessage(text=item["text"], platform="batch"), top=top, record=False)
        except (StoreError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - one line that cannot be checked must not lose the lines after it
            logging.getLogger("factbot.check").debug("batch line %d failed", lineno, exc_info=True)
            bad += 1
            click.echo(json.dumps({"line": lineno, "id": item.get("id"),
                                   "error": f"line {lineno}: could not be checked ({type(exc).__name__})"}))
            continue
        ranked = list(result.matches) + [x for x in result.candidates if x.claim.id not in {m.claim.id for m in result.matches}]
        row: dict[str, Any] = {
            "id": item.get("id"),
            "decision": result.decision.value,
            "matches": [m.to_dict() for m in ranked[:top]],
        }
        if result.notice:
            row["notice"] = result.notice
        click.echo(json.dumps(row, ensure_ascii=False))
    if bad:
        click.echo(f"{bad} line(s) could not be read; see the error objects in the output.", err=True)
    return EXIT_BAD_INPUT if bad else 0


# -- chat ----------------------------------------------------------------------
@cli.command()
@pass_ctx
def chat(c: Context) -> None:
    """Talk to factbot in this terminal, the way it answers in a channel (no token needed)."""
    run_repl(c.checker)


# -- run -----------------------------------------------------------------------
def metrics_options(f):
    """/healthz and /metrics: every long-running mode serves them (the container health check reads /healthz)."""
    f = click.option("--no-scheduler", is_flag=True, help="Do not post weekly digests from this process.")(f)
    f = click.option("--no-metrics", is_flag=True, help="Serve no /healthz and /metrics.")(f)
    f = click.option("--metrics-port", type=click.IntRange(1, 65535), default=9100, show_default=True,
                     envvar="FACTBOT_METRICS_PORT", help="Port of /healthz and /metrics (env FACTBOT_METRICS_PORT).")(f)
    f = click.option("--metrics-host", default="127.0.0.1", show_default=True, envvar="FACTBOT_METRICS_HOST",
                     help="Address of /healthz and /metrics; 0.0.0.0 in a container (env FACTBOT_METRICS_HOST).")(f)
    return f


@cli.group()
def run() -> None:
    """Run the bot: on Discord, on Slack, on both, or in this terminal.

    \b
    factbot run console                    no token needed
    factbot run discord                    DISCORD_TOKEN
    factbot run slack                      Socket Mode: SLACK_BOT_TOKEN + SLACK_APP_TOKEN
    factbot run slack --http --port 3000   HTTP mode: SLACK_SIGNING_SECRET + SLACK_BOT_TOKEN (or the OAuth install)
    factbot run all                        every platform configured, in one process

    Stops cleanly on SIGTERM or Ctrl-C: new events are turned away, replies in flight finish.
    Exit code 4: a token or secret is missing or rejected, or the database cannot be opened.
    """


@run.command("console")
@pass_ctx
def run_console(c: Context) -> None:
    """Talk to factbot in this terminal, the way it answers in a channel (same as `factbot chat`)."""
    run_repl(c.checker)


@run.command("discord")
@metrics_options
@pass_ctx
def run_discord(c: Context, metrics_host: str, metrics_port: int, no_metrics: bool, no_scheduler: bool) -> None:
    """Answer on Discord (DISCORD_TOKEN; see docs/discord.md)."""
    from .adapters.discord.runner import run as run_on_discord

    sys.exit(run_on_discord(c.settings, port=None if no_metrics else metrics_port, metrics_host=metrics_host,
                            scheduler=not no_scheduler))


@run.command("slack")
@click.option("--http", is_flag=True, help="HTTP mode (Events API over HTTPS) instead of Socket Mode.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True, help="HTTP mode's port.")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP mode's address.")
@metrics_options
@pass_ctx
def run_slack(c: Context, http: bool, port: int, host: str, metrics_host: str, metrics_port: int, no_metrics: bool,
              no_scheduler: bool) -> None:
    """Answer on Slack, in Socket Mode or, with --http, on /slack/events (see docs/slack.md)."""
    from .adapters.slack.runner import run as run_on_slack

    sys.exit(run_on_slack(c.settings, http=http, port=port, host=host, metrics_host=metrics_host,
                          metrics_port=None if no_metrics else metrics_port, scheduler=not no_scheduler))


@run.command("all")
@click.option("--slack-http/--slack-socket", default=None,
              help="Slack's mode (default: Socket Mode when SLACK_APP_TOKEN is set, HTTP mode otherwise).")
@click.option("--slack-port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option("--slack-host", default="0.0.0.0", show_default=True)
@click.option("--desk/--no-desk", default=None, help="Serve the review desk too (default: [desk] enabled).")
@metrics_options
@pass_ctx
def run_all(c: Context, slack_http: bool | None, slack_port: int, slack_host: str, desk: bool | None,
            metrics_host: str, metrics_port: int, no_metrics: bool, no_scheduler: bool) -> None:
    """Every configured platform and the weekly digests in one process."""
    from .launch import run_all as run_everything

    sys.exit(run_everything(c.settings, slack_http=slack_http, slack_port=slack_port, slack_host=slack_host,
                            metrics_host=metrics_host, metrics_port=None if no_metrics else metrics_port,
                            scheduler=not no_scheduler, desk=desk))


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
    from .core.formats import ImportFileError, load_claims

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
    from .model_cli import waiting_line

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
    from .core.formats import dump_claims

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


# -- db ------------------------------------------------------------------------
@cli.group()
def knowledge() -> None:
    """The bundled knowledge files: claims, retired ids and translations."""


@knowledge.command("check")
@click.option("--strict", is_flag=True, help="Exit 1 when a translation is stale or missing, too.")
def knowledge_check(strict: bool) -> None:
    """Validate knowledge/ and say, per language, which translations are current, stale or missing.

    Every problem in every file is listed at once (exit 3). A stale translation was written from an older
    English claim or summary: factbot leaves it out (readers get the English) until it is translated again.
    """
    try:
        bundle = load_knowledge()
    except KnowledgeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    stale: dict[str, list[str]] = {}
    for problem in bundle.stale:
        lang, name = problem.file.split("/")[1:3]
        stale.setdefault(lang, []).append(name.rsplit(".", 1)[0])
    langs = sorted({lang for c in bundle.claims for lang in c.translations} | set(stale))
    click.echo(f"{len(bundle.claims)} claims, {len(bundle.retired)} retired ids: every file is valid.")
    incomplete = False
    for lang in langs:
        have = {c.id for c in bundle.claims if lang in c.translations}
        missing = sorted(c.id for c in bundle.claims if c.id not in have and c.id not in stale.get(lang, []))
        click.echo(f"{lang}: {len(have)} current, {len(stale.get(lang, []))} stale, {len(missing)} missing")
        for cid in sorted(stale.get(lang, [])):
            click.echo(f"  stale:   {cid}")
        for cid in missing:
            click.echo(f"  missing: {cid}")
        incomplete = incomplete or bool(stale.get(lang) or missing)
    if strict and incomplete:
        sys.exit(1)


@cli.group()
def db() -> None:
    """Inspect or rebuild the database."""


@db.command("path")
@pass_ctx
def db_path_cmd(c: Context) -> None:
    """Print where the database is (a URL without its password)."""
    click.echo(redact(c.settings.database))


@db.command("info")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def db_info(c: Context, as_json: bool) -> None:
    """Schema version, claim counts by verdict and origin, index state, size."""
    store = c.store
    index = ClaimIndex(store)
    index.ensure_current()
    engine = queries.engine_info(store)
    info = {
        "engine": engine["engine"],
        "path": store.location,
        "server": engine["server_version"],
        "schema_version": store.schema_version,
        "claims": store.count(),
        "by_verdict": {v.value: store.count(v.value) for v in Verdict if store.count(v.value)},
        "by_origin": queries.claims_by_origin(store),
        "index_docs": index.num_docs,
        "index_synced_to": index.synced_seq,
        "changes": store.last_change_seq(),
        "checks_logged": queries.checks_logged(store),
        "size_bytes": store.size_bytes(),
    }
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        click.echo(f"{key:>16}: {value}")


@db.command("rebuild")
@click.option("--yes", is_flag=True, help="Do not ask before dropping claims that did not come from knowledge/.")
@pass_ctx
def db_rebuild(c: Context, yes: bool) -> None:
    """Rebuild the claims from the bundled knowledge/ files, from scratch.

    Claims you imported or added are removed (export them first); the check
    log and everything else is kept.
    """
    try:
        bundle = load_knowledge()
    except KnowledgeError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    store = c.store
    user = queries.own_claims(store)
    if user and not yes:
        click.confirm(f"{user} claim(s) you imported or edited will be removed. Continue?", abort=True, err=True)
    with store.transaction():
        store.delete_all_claims()
        store.sync_bundled(bundle.claims, bundle.fingerprint, retired=bundle.retired, force=True)
    n = ClaimIndex(store).rebuild()
    click.echo(f"Rebuilt {store.location}: {store.count()} claims from knowledge/, {n} indexed.")


# -- digest --------------------------------------------------------------------
@cli.group()
def digest() -> None:
    """Weekly digest subscriptions: subscribe, unsubscribe, list, preview."""


@digest.command("subscribe")
@click.option("--platform", required=True, type=click.Choice(["discord", "slack", "console"]))
@click.option("--workspace", default="", help="Slack team id or Discord guild id.")
@click.option("--channel", required=True)
@click.option("--day", required=True, help="monday … sunday, or mon … sun.")
@click.option("--time", "time_", required=True, help="Local time, 24-hour HH:MM (e.g. 09:00).")
@click.option("--timezone", required=True, help="IANA name, e.g. Europe/Berlin.")
@pass_ctx
def digest_subscribe(c: Context, platform: str, workspace: str, channel: str, day: str, time_: str, timezone: str) -> None:
    """Subscribe a channel to a weekly digest (subscribing again changes its schedule)."""
    from .core.subscriptions import SubscriptionError

    try:
        sub = c.checker.subscriptions.subscribe(platform=platform, workspace=workspace, channel=channel, weekday=day,
                                                time=time_, timezone=timezone, created_by="cli")
    except SubscriptionError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    click.echo(f"Subscribed {platform} channel {channel}: {sub.describe()}.")


@digest.command("unsubscribe")
@click.option("--platform", required=True, type=click.Choice(["discord", "slack", "console"]))
@click.option("--workspace", default="")
@click.option("--channel", required=True)
@pass_ctx
def digest_unsubscribe(c: Context, platform: str, workspace: str, channel: str) -> None:
    """Stop a channel's weekly digest."""
    if not c.checker.subscriptions.unsubscribe(platform=platform, workspace=workspace, channel=channel):
        fail(f"{platform} channel {channel} has no digest subscription", EXIT_NOT_FOUND)
    click.echo(f"Unsubscribed {platform} channel {channel}.")


@digest.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def digest_list(c: Context, as_json: bool) -> None:
    """List subscriptions with their schedule and state."""
    import dataclasses
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    subs = c.checker.subscriptions.list()
    for sub in subs:
        if as_json:
            click.echo(json.dumps({**dataclasses.asdict(sub), "next_run": sub.next_run(now).isoformat()}))
            continue
        state = "active" if sub.active else f"disabled ({sub.disabled_reason})"
        click.echo(f"{sub.id:>4}  {sub.platform:<8} {sub.workspace or '-':<12} {sub.channel:<14} {sub.describe():<44} {state}")
    if not subs:
        click.echo("No digest subscriptions.", err=True)


@digest.command("preview")
@click.option("--platform", required=True, type=click.Choice(["discord", "slack", "console"]))
@click.option("--workspace", default="")
@click.option("--channel", required=True)
@pass_ctx
def digest_preview(c: Context, platform: str, workspace: str, channel: str) -> None:
    """Print the digest this channel would get now (covering the time since its last digest)."""
    import datetime as dt

    from .adapters.console import render_digest_text
    from .core.digest import build_digest
    from .scheduler import DigestService

    sub = c.checker.subscriptions.get(platform, workspace, channel)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # include this very second
    if sub is not None:
        d = DigestService(c.store, {}).preview(sub)
    else:
        d = build_digest(c.store, platform=platform, workspace=workspace, channel=channel, since=now - dt.timedelta(days=7), now=now)
    click.echo(render_digest_text(d))


@digest.command("send-now")
@click.option("--platform", required=True, type=click.Choice(["discord", "slack"]))
@click.option("--workspace", default="", help="Slack team id or Discord guild id, as subscribed.")
@click.option("--channel", required=True)
@pass_ctx
def digest_send_now(c: Context, platform: str, workspace: str, channel: str) -> None:
    """Post a subscribed channel's digest now, outside its schedule (its weekly digest still comes)."""
    import asyncio

    from .launch import SendNowError, send_now
    from .scheduler import DeliveryGone

    try:
        message_id = asyncio.run(send_now(c.checker, c.settings, platform, workspace, channel))
    except SendNowError as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    except DeliveryGone as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    except Exception as exc:  # noqa: BLE001 - the platform said no: one line, the details in the log
        logging.getLogger("factbot.digest").debug("send-now failed", exc_info=True)
        fail(f"the digest was not posted: {type(exc).__name__}: {exc}", EXIT_NOT_FOUND)
    click.echo(f"Posted the digest to {platform} channel {channel} (message {message_id}).")


# -- config --------------------------------------------------------------------
@cli.group()
def config() -> None:
    """Inspect settings."""


@config.command("check")
@pass_ctx
def config_check(c: Context) -> None:
    """Validate the settings and show them, secrets redacted."""
    for key, value in c.settings.redacted().items():
        click.echo(f"{key}: {value}")


# -- health and doctor ---------------------------------------------------------
@cli.command()
@click.option("--offline", is_flag=True, help="Do not contact Discord or Slack to verify tokens.")
@pass_ctx
def doctor(c: Context, offline: bool) -> None:
    """Check the database, the search index, the tokens and the digest schedule."""
    from .doctor import check_database, check_schedule, check_tokens, check_vectors

    findings = (check_database(c.store) + check_vectors(c.store, c.settings.matcher)
                + ([] if offline else check_tokens(c.settings)) + check_schedule(c.store))
    for finding in findings:
        click.echo(finding.line())
    if any(f.ok is False for f in findings):
        sys.exit(EXIT_DB)


@cli.command()
@click.option("--url", default="http://127.0.0.1:9100/healthz", show_default=True, help="The running bot's health endpoint.")
@click.option("--timeout", default=3.0, show_default=True)
def health(url: str, timeout: float) -> None:
    """Exit 0 if a running factbot answers healthy (for container health checks)."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - operator-given local URL
            body = response.read().decode("utf-8", "replace")
    except OSError as exc:
        fail(f"unhealthy: {url} did not answer ({exc})", EXIT_NOT_FOUND)
    click.echo(body.strip())


def main() -> None:
    cli(prog_name="factbot")
