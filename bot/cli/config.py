"""``factbot config``: check the settings."""

from __future__ import annotations

import click

from .root import Context, cli, pass_ctx


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
