"""``factbot language``: which language a channel, server or workspace reads factbot in.

    factbot language list                                        the languages factbot speaks
    factbot language set es --platform discord --workspace G     a whole server (or Slack workspace)
    factbot language set de --platform slack --workspace T --channel C   one channel
    factbot language show [--platform P --workspace W [--channel C] [--locale pt-BR]]
    factbot language clear --platform P --workspace W [--channel C]

docs/localisation.md says how the language of a reply is chosen.
"""

from __future__ import annotations

import json
import sys

import click

from .core import i18n
from .core.languages import LanguageError

EXIT_NOT_FOUND = 1
EXIT_BAD_INPUT = 3

PLATFORMS = ["discord", "slack", "console"]
SOURCES = {
    "channel": "from the channel's setting",
    "workspace": "from the server's or workspace's setting",
    "platform": "from the platform's locale",
    "message": "the language of the message",
    "default": "the default (no setting, and no locale factbot speaks)",
}


def _checker(ctx: click.Context):
    return ctx.find_root().obj.checker


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _where(platform: str, workspace: str, channel: str) -> str:
    """"discord server G1", "slack channel C2 (workspace T1)"."""
    kind = {"discord": "server", "slack": "workspace"}.get(platform, "workspace")
    if not channel:
        return f"{platform} {kind} {workspace}".rstrip()
    return f"{platform} channel {channel}" + (f" ({kind} {workspace})" if workspace else "")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scope_options(f):
    f = click.option("--channel", default="", help="One channel; without it the setting is for the whole server or workspace.")(f)
    f = click.option("--workspace", default="", help="Slack team id or Discord guild id.")(f)
    return click.option("--platform", required=True, type=click.Choice(PLATFORMS))(f)


@click.group("language")
def language_cli() -> None:
    """The language replies are written in: per channel, per server or workspace."""


@language_cli.command("list")
def language_list() -> None:
    """The languages factbot speaks, with the tag to set each."""
    for tag in i18n.LANGUAGES:
        t = i18n.translator(tag)
        click.echo(f"{tag:<8} {t.language_name(tag)}")


@language_cli.command("set")
@click.argument("language")
@_scope_options
@click.pass_context
def language_set(ctx: click.Context, language: str, platform: str, workspace: str, channel: str) -> None:
    """Set the language of a channel, or (without --channel) of a whole server or workspace."""
    try:
        tag = _checker(ctx).languages.set(platform, workspace, channel, language, by="cli")
    except LanguageError as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    name = i18n.translator("en").language_name(tag)
    click.echo(f"{_cap(_where(platform, workspace, channel))} now reads factbot in {name} ({tag}).")


@language_cli.command("clear")
@_scope_options
@click.pass_context
def language_clear(ctx: click.Context, platform: str, workspace: str, channel: str) -> None:
    """Remove a setting: the channel then follows its server or workspace, the platform's locale, or English."""
    if not _checker(ctx).languages.clear(platform, workspace, channel):
        _fail(f"{_where(platform, workspace, channel)} has no language setting", EXIT_NOT_FOUND)
    click.echo(f"Cleared the language of {_where(platform, workspace, channel)}.")


@language_cli.command("show")
@click.option("--platform", type=click.Choice(PLATFORMS), help="With --workspace: the language one place gets.")
@click.option("--workspace", default=None)
@click.option("--channel", default="")
@click.option("--locale", "platform_locale", default=None, metavar="TAG",
              help="The platform's locale to assume (e.g. Discord's pt-BR, Slack's ja-JP).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def language_show(ctx: click.Context, platform: str | None, workspace: str | None, channel: str,
                  platform_locale: str | None, as_json: bool) -> None:
    """The stored settings; with --platform and --workspace, the language a reply there gets, and why."""
    languages = _checker(ctx).languages
    if platform and workspace is not None:
        r = languages.resolve(platform=platform, workspace=workspace, channel=channel, platform_locales=platform_locale)
        if as_json:
            click.echo(json.dumps({"platform": platform, "workspace": workspace, "channel": channel,
                                   "locale": r.locale, "source": r.source}))
            return
        name = i18n.translator("en").language_name(r.locale)
        click.echo(f"{_cap(_where(platform, workspace, channel))}: {name} ({r.locale}), "
                   f"{SOURCES[r.source]}{f' ({r.asked})' if r.source == 'platform' else ''}.")
        return
    settings = languages.settings(platform, workspace)
    for s in settings:
        if as_json:
            click.echo(json.dumps({"platform": s.platform, "workspace": s.workspace, "channel": s.channel,
                                   "locale": s.locale, "updated_by": s.updated_by, "updated_at": s.updated_at}))
            continue
        click.echo(f"{s.platform:<8} {s.workspace or '-':<14} {s.channel or '(all channels)':<16} {s.locale:<8} "
                   f"{s.updated_by or '-'}  {s.updated_at}")
    if not settings:
        click.echo("No language settings: every reply follows the platform's locale, the message, or English.", err=True)
