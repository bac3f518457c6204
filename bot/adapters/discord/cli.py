"""``factbot discord sync`` and ``factbot discord invite-url``: the two admin steps of a Discord setup.

``sync`` registers the slash commands and the message context menu: per
server with ``--guild`` (instant, for development), globally otherwise (every
server, for production).  ``invite-url`` prints the link a server admin opens
to add factbot, with exactly the scopes and the smallest set of permissions
it needs.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, NoReturn

import aiohttp
import click
import discord

from ...config import ConfigError, Settings, load_settings
from ...exitcodes import EXIT_CONFIG, EXIT_NOT_FOUND
from .client import FactbotClient, configure_endpoints

SCOPES = ("bot", "applications.commands")

# What factbot does in a channel, and nothing more (docs/discord.md explains each):
#   View Channels             see the channels it is used in, and receive their messages
#   Send Messages             answer a mention, watch mode, digests
#   Send Messages in Threads  the same inside threads
#   Embed Links               its answers are embeds (a message without this permission loses them)
#   Read Message History      reply to the message it checked, read the message a reply-mention points at
# Slash commands and the context menu answer through the interaction and need none of these.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    read_message_history=True,
)
PERMISSION_NAMES = ("View Channels", "Send Messages", "Send Messages in Threads", "Embed Links", "Read Message History")

EXIT_NOT_DONE = EXIT_NOT_FOUND


def invite_url(client_id: int) -> str:
    return discord.utils.oauth_url(client_id, permissions=PERMISSIONS, scopes=SCOPES)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    obj = click.get_current_context().find_root().obj
    if obj is not None:
        return obj.settings
    try:
        return load_settings()
    except ConfigError as exc:
        _fail(str(exc), EXIT_CONFIG)


def _token(settings: Settings, purpose: str) -> str:
    token = settings.discord.token
    if not token:
        _fail(f"{purpose} needs the bot token: set DISCORD_TOKEN, or token in the [discord] section of the config file",
              EXIT_CONFIG)
    return token


async def logged_in(settings: Settings, token: str) -> FactbotClient:
    """A client that has logged in over REST only (no gateway connection)."""
    configure_endpoints(settings.discord)
    client = FactbotClient(None, settings=settings.discord)
    try:
        await client.login(token)
    except discord.LoginFailure:
        await client.close()
        _fail("Discord rejected the token (HTTP 401): check DISCORD_TOKEN or the [discord] token setting", EXIT_CONFIG)
    except (aiohttp.ClientError, OSError, discord.HTTPException) as exc:
        await client.close()
        _fail(f"cannot reach Discord at {settings.discord.api_base} ({type(exc).__name__})", EXIT_NOT_DONE)
    return client


@click.group("discord")
def discord_cli() -> None:
    """Discord setup: register the commands, print the invite link."""


@discord_cli.command("sync")
@click.option("--guild", "guild_id", type=int, metavar="ID",
              help="Register in this server only (instant; for development). Default: globally, for every server.")
@click.option("--clear", is_flag=True, help="Remove factbot's commands (from --guild, or the global ones) instead.")
def sync(guild_id: int | None, clear: bool) -> None:
    """Register the slash commands and the "Fact-check this message" menu with Discord."""
    settings = _settings()
    token = _token(settings, "sync")

    async def go() -> list[Any]:
        client = await logged_in(settings, token)
        try:
            guild = discord.Object(id=guild_id) if guild_id else None
            if clear:
                client.tree.clear_commands(guild=guild)
            elif guild is not None:
                client.tree.copy_global_to(guild=guild)
            return await client.tree.sync(guild=guild)
        except discord.Forbidden:
            where = f"server {guild_id}" if guild_id else "this application"
            _fail(f"Discord refused to register commands for {where}: is factbot in that server, invited with the "
                  "applications.commands scope (see factbot discord invite-url)?", EXIT_NOT_DONE)
        except discord.HTTPException as exc:
            _fail(f"Discord refused the commands (HTTP {exc.status}, code {exc.code})", EXIT_NOT_DONE)
        finally:
            await client.close()

    synced = asyncio.run(go())
    where = f"in server {guild_id}" if guild_id else "globally"
    if clear:
        click.echo(f"Removed factbot's commands {where}.")
        return
    names = ", ".join(f"/{c.name}" if c.type is discord.AppCommandType.chat_input else f"“{c.name}”" for c in synced)
    click.echo(f"Registered {len(synced)} commands {where}: {names}.")
    if guild_id:
        click.echo("They work in that server now. For every server, run `factbot discord sync` without --guild.", err=True)
    else:
        click.echo("Discord can take a few minutes to show them in every server.", err=True)


@discord_cli.command("invite-url")
@click.option("--client-id", type=int, metavar="ID",
              help="The application id (developer portal → General Information). Default: asked from Discord with the token.")
def invite_url_cmd(client_id: int | None) -> None:
    """Print the link a server admin opens to add factbot (scopes and the minimal permissions)."""
    if client_id is None:
        settings = _settings()
        token = _token(settings, "invite-url without --client-id")

        async def lookup() -> int:
            client = await logged_in(settings, token)
            try:
                assert client.application_id is not None
                return client.application_id
            finally:
                await client.close()

        client_id = asyncio.run(lookup())
    click.echo(invite_url(client_id))
    click.echo(f"Scopes: {' '.join(SCOPES)}. Permissions {PERMISSIONS.value} = {', '.join(PERMISSION_NAMES)}.", err=True)
