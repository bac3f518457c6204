"""``factbot doctor`` and ``factbot health``: is this installation, and a running bot, well."""

from __future__ import annotations

import sys

import click

from ..exitcodes import EXIT_DB, EXIT_NOT_FOUND
from .root import Context, cli, fail, pass_ctx


# -- health and doctor ---------------------------------------------------------
@cli.command()
@click.option("--offline", is_flag=True, help="Do not contact Discord or Slack to verify tokens.")
@pass_ctx
def doctor(c: Context, offline: bool) -> None:
    """Check the database, the search index, the tokens and the digest schedule."""
    from ..doctor import check_database, check_schedule, check_tokens, check_vectors

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
