"""``factbot digest``: weekly digest subscriptions, previews and sending one now."""

from __future__ import annotations

import json
import logging

import click

from ..exitcodes import EXIT_BAD_INPUT, EXIT_NOT_FOUND
from .root import Context, cli, fail, pass_ctx


# -- digest --------------------------------------------------------------------
@cli.group()
def digest() -> None:
    """Weekly digest subscriptions: subscribe, unsubscribe, list, preview."""


def _channel(platforms: tuple[str, ...] = ("discord", "slack", "console"), where: str = "Slack team id or Discord guild id."):
    """The channel a digest command is about: the same three options on every command of the group."""

    def apply(f):
        f = click.option("--channel", required=True)(f)
        f = click.option("--workspace", default="", help=where)(f)
        return click.option("--platform", required=True, type=click.Choice(list(platforms)))(f)

    return apply


@digest.command("subscribe")
@_channel()
@click.option("--day", required=True, help="monday … sunday, or mon … sun.")
@click.option("--time", "time_", required=True, help="Local time, 24-hour HH:MM (e.g. 09:00).")
@click.option("--timezone", required=True, help="IANA name, e.g. Europe/Berlin.")
@pass_ctx
def digest_subscribe(c: Context, platform: str, workspace: str, channel: str, day: str, time_: str, timezone: str) -> None:
    """Subscribe a channel to a weekly digest (subscribing again changes its schedule)."""
    from ..core.subscriptions import SubscriptionError

    try:
        sub = c.checker.subscriptions.subscribe(platform=platform, workspace=workspace, channel=channel, weekday=day,
                                                time=time_, timezone=timezone, created_by="cli")
    except SubscriptionError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    click.echo(f"Subscribed {platform} channel {channel}: {sub.describe()}.")


@digest.command("unsubscribe")
@_channel()
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
@_channel()
@pass_ctx
def digest_preview(c: Context, platform: str, workspace: str, channel: str) -> None:
    """Print the digest this channel would get now (covering the time since its last digest)."""
    import datetime as dt

    from ..adapters.console import render_digest_text
    from ..core.digest import build_digest
    from ..scheduler import DigestService

    sub = c.checker.subscriptions.get(platform, workspace, channel)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # include this very second
    if sub is not None:
        d = DigestService(c.store, {}).preview(sub)
    else:
        d = build_digest(c.store, platform=platform, workspace=workspace, channel=channel, since=now - dt.timedelta(days=7), now=now)
    click.echo(render_digest_text(d))


@digest.command("send-now")
@_channel(("discord", "slack"), "Slack team id or Discord guild id, as subscribed.")
@pass_ctx
def digest_send_now(c: Context, platform: str, workspace: str, channel: str) -> None:
    """Post a subscribed channel's digest now, outside its schedule (its weekly digest still comes)."""
    import asyncio

    from ..launch import SendNowError, send_now
    from ..scheduler import DeliveryGone

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
