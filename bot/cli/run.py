"""``factbot run``: the long-running bot (console, Discord, Slack, or all configured platforms)."""

from __future__ import annotations

import sys

import click

from ..adapters.console import run_repl
from .root import Context, cli, pass_ctx


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
    from ..adapters.discord.runner import run as run_on_discord

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
    from ..adapters.slack.runner import run as run_on_slack

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
    from ..launch import run_all as run_everything

    sys.exit(run_everything(c.settings, slack_http=slack_http, slack_port=slack_port, slack_host=slack_host,
                            metrics_host=metrics_host, metrics_port=None if no_metrics else metrics_port,
                            scheduler=not no_scheduler, desk=desk))
