"""``factbot db``: where the database is, what it holds, and rebuilding it."""

from __future__ import annotations

import json

import click

from ..core import queries
from ..core.engine import redact
from ..core.index import ClaimIndex
from ..core.knowledge import KnowledgeError, load_knowledge
from ..core.migrations import SchemaTooNew
from ..core.models import Verdict
from ..core.store import Store
from ..exitcodes import EXIT_BAD_INPUT, EXIT_DB
from .root import Context, cli, fail, pass_ctx


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


@db.command("copy")
@click.option("--to", "target_url", required=True, metavar="URL", help="An empty PostgreSQL database: postgresql://…")
@pass_ctx
def db_copy(c: Context, target_url: str) -> None:
    """Copy this SQLite database into an empty PostgreSQL one, ids and change numbers kept.

    Then point --db (or FACTBOT_DB, or [database] path) at the URL. The search index is rebuilt by each host from
    the database; Slack installations (the multi-workspace install) go across, each workspace's latest one.
    """
    from ..core.dbcopy import CopyError, copy_database
    from ..core.engine import is_url

    if not is_url(target_url):
        fail(f"--to must be a postgresql:// URL, not {redact(target_url)}", EXIT_BAD_INPUT)
    source = c.store
    if source.engine != "sqlite":
        fail("factbot db copy copies an SQLite database: give the file with --db", EXIT_BAD_INPUT)
    try:
        target = Store(target_url)
    except SchemaTooNew as exc:
        fail(str(exc), EXIT_DB)
    installs = 0
    try:
        copied = copy_database(source, target)
        if queries.slack_installs(source):
            from ..adapters.slack.installs import copy_installations

            try:
                installs = copy_installations(source, target)
            except ValueError as exc:
                fail(f"the database was copied, but not its Slack installations: {exc}", EXIT_DB)
    except CopyError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    finally:
        target.close()
    rows = sum(copied.values())
    click.echo(f"Copied {source.location} into {redact(target_url)}: {rows:,} rows in {len(copied)} tables "
               f"({copied.get('claims', 0):,} claims, {copied.get('claim_changes', 0):,} changes, "
               f"{copied.get('checks', 0):,} checks).")
    for table, n in copied.items():
        if n:
            click.echo(f"{table:>20}: {n:,}")
    if installs:
        click.echo(f"Slack installations (the multi-workspace install): {installs:,} workspace(s), each with its "
                   "latest bot token.")


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
