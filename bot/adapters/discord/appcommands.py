"""factbot's application commands on Discord: ``/factcheck``, ``/claim``, ``/claims search``, the
"Fact-check this message" context menu and the ``/factbot`` settings group (watch, digest, language).

The registry text (descriptions, option descriptions, the context menu's name) is marked for the catalogs
and reaches Discord in every language factbot speaks through ``RegistryTranslator``; command and option
names stay as they are, so ``/factcheck`` is typed the same everywhere.

Each command only hands the interaction to the client that received it (``Handlers``: the methods of
``client.FactbotClient``), which turns it into a core request; this module holds the commands' names,
options, permissions and autocomplete, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol, cast
from zoneinfo import available_timezones

import discord
from discord import app_commands

from ...core import i18n
from ...core.i18n import N_
from ...core.subscriptions import WEEKDAYS
from . import render

LANGUAGE_TAGS = i18n.LANGUAGES


def interaction_locale(interaction: discord.Interaction) -> str:
    """The reader's language as Discord knows it: theirs, else the server's."""
    value = getattr(interaction, "locale", None) or getattr(interaction, "guild_locale", None)
    return str(getattr(value, "value", value) or "")


@lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


# What Discord lets a translation rename: the context menu's name, which a reader sees in the Apps menu.
# Slash command, group and option names are what people type and what the docs say, so they stay.
_DESCRIBED = frozenset({
    app_commands.TranslationContextLocation.command_description,
    app_commands.TranslationContextLocation.group_description,
    app_commands.TranslationContextLocation.parameter_description,
})


class RegistryTranslator(app_commands.Translator):
    """The command registry in the reader's language: Discord's locales read factbot's catalogs.

    A locale factbot does not speak (``ko``, ``zh-TW``: ``i18n.negotiate``) and English get no
    localisation, so Discord shows the English. Choices are not translated here: the only ones are
    autocomplete's (claims, already in the reader's language; weekdays, time zones and language tags,
    which are the values themselves).
    """

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        menu_name = (context.location is app_commands.TranslationContextLocation.command_name
                     and isinstance(context.data, app_commands.ContextMenu))
        if context.location not in _DESCRIBED and not menu_name:
            return None
        tag = i18n.negotiate(locale.value)
        if tag is None or tag == i18n.DEFAULT_LOCALE:
            return None
        translated = i18n.translator(tag).text(string.message)
        return translated if translated != string.message else None


class Handlers(Protocol):
    """What a command calls on the client that received it (``client.FactbotClient``)."""

    async def answer_interaction(self, interaction: discord.Interaction, text: str, *, ephemeral: bool, source: str,
                                 checked: discord.Message | None = None) -> None: ...
    async def check_message(self, interaction: discord.Interaction, message: discord.Message) -> None: ...
    async def show_claim(self, interaction: discord.Interaction, claim_id: str, *, ephemeral: bool) -> None: ...
    def claim_choices(self, current: str, locale: str = "") -> list[app_commands.Choice[str]]: ...
    async def search_claims(self, interaction: discord.Interaction, query: str) -> None: ...
    async def set_watch(self, interaction: discord.Interaction, on: bool) -> None: ...
    async def subscribe_digest(self, interaction: discord.Interaction, day: str, time: str, timezone: str) -> None: ...
    async def unsubscribe_digest(self, interaction: discord.Interaction) -> None: ...
    async def preview_digest(self, interaction: discord.Interaction) -> None: ...
    async def show_language(self, interaction: discord.Interaction) -> None: ...
    async def set_language(self, interaction: discord.Interaction, language: str, *, server: bool) -> None: ...
    async def clear_language(self, interaction: discord.Interaction, *, server: bool) -> None: ...


def _client(interaction: discord.Interaction) -> Handlers:
    return cast(Handlers, interaction.client)


def _matching(values: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    current = (current or "").strip().lower()
    starts = [v for v in values if v.lower().startswith(current)]
    contains = [v for v in values if current in v.lower() and v not in starts]
    return render.text_choices(starts + contains)


def build_commands() -> list[app_commands.Command | app_commands.Group | app_commands.ContextMenu]:
    """Fresh command objects for one client (so two clients never share state)."""

    @app_commands.command(name="factcheck", description=N_("Check a claim against factbot's verified claims"))
    @app_commands.describe(text=N_("The claim to check"), ephemeral=N_("Only you see the answer (default: the whole channel)"))
    async def factcheck(interaction: discord.Interaction, text: app_commands.Range[str, 1, 6000],
                        ephemeral: bool = False) -> None:
        await _client(interaction).answer_interaction(interaction, text, ephemeral=ephemeral, source="command")

    @app_commands.command(name="claim", description=N_("Show one verified claim: verdict, why, and sources"))
    @app_commands.describe(id=N_("Start typing words of the claim, then pick it"), ephemeral=N_("Only you see it"))
    async def claim(interaction: discord.Interaction, id: str, ephemeral: bool = False) -> None:  # noqa: A002
        await _client(interaction).show_claim(interaction, id, ephemeral=ephemeral)

    @claim.autocomplete("id")
    async def claim_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _client(interaction).claim_choices(current, interaction_locale(interaction))

    claims = app_commands.Group(name="claims", description=N_("Browse factbot's verified claims"))

    @claims.command(name="search", description=N_("List the verified claims that best match some words"))
    @app_commands.describe(query=N_("Words to look for"))
    async def claims_search(interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await _client(interaction).search_claims(interaction, query)

    async def factcheck_message(interaction: discord.Interaction, message: discord.Message) -> None:
        await _client(interaction).check_message(interaction, message)

    context_menu = app_commands.ContextMenu(name=N_("Fact-check this message"), callback=factcheck_message)

    factbot = app_commands.Group(
        name="factbot", description=N_("factbot settings for this channel"), guild_only=True,
        default_permissions=discord.Permissions(manage_channels=True),
    )
    watch = app_commands.Group(name="watch", description=N_("Reply unasked to confident matches in this channel"),
                               parent=factbot)
    digest = app_commands.Group(name="digest", description=N_("This channel's weekly fact-check digest"), parent=factbot)
    manage_channels = app_commands.checks.has_permissions(manage_channels=True)

    @watch.command(name="on", description=N_("Reply to confident matches in this channel, once per claim per cooldown"))
    @manage_channels
    async def watch_on(interaction: discord.Interaction) -> None:
        await _client(interaction).set_watch(interaction, True)

    @watch.command(name="off", description=N_("Stop replying unasked in this channel"))
    @manage_channels
    async def watch_off(interaction: discord.Interaction) -> None:
        await _client(interaction).set_watch(interaction, False)

    @digest.command(name="subscribe", description=N_("Post a weekly fact-check digest in this channel"))
    @app_commands.describe(day=N_("Weekday, e.g. monday"), time=N_("Local time, 24-hour HH:MM, e.g. 09:00"),
                           timezone=N_("IANA time zone, e.g. Europe/Berlin"))
    @manage_channels
    async def digest_subscribe(interaction: discord.Interaction, day: str, time: str, timezone: str) -> None:
        await _client(interaction).subscribe_digest(interaction, day, time, timezone)

    @digest_subscribe.autocomplete("day")
    async def day_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _matching(WEEKDAYS, current)

    @digest_subscribe.autocomplete("timezone")
    async def tz_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _matching(_timezones(), current)

    @digest.command(name="unsubscribe", description=N_("Stop this channel's weekly digest"))
    @manage_channels
    async def digest_unsubscribe(interaction: discord.Interaction) -> None:
        await _client(interaction).unsubscribe_digest(interaction)

    @digest.command(name="preview", description=N_("See (privately) what this channel's digest would say now"))
    @manage_channels
    async def digest_preview(interaction: discord.Interaction) -> None:
        await _client(interaction).preview_digest(interaction)

    language = app_commands.Group(name="language", description=N_("The language factbot replies in here"),
                                  parent=factbot)

    @language.command(name="show", description=N_("Which language replies here are in, and why"))
    async def language_show(interaction: discord.Interaction) -> None:
        await _client(interaction).show_language(interaction)

    @language.command(name="set", description=N_("Reply in one language in this channel (or the whole server)"))
    @app_commands.describe(language=N_("A language tag or name, e.g. es, de, Français"), server=N_("For the whole server (default: this channel)"))
    @manage_channels
    async def language_set(interaction: discord.Interaction, language: app_commands.Range[str, 1, 40],
                           server: bool = False) -> None:
        await _client(interaction).set_language(interaction, language, server=server)

    @language_set.autocomplete("language")
    async def language_autocomplete(interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        return _matching(LANGUAGE_TAGS, current)

    @language.command(name="clear", description=N_("Remove this channel's (or the server's) language setting"))
    @app_commands.describe(server=N_("For the whole server (default: this channel)"))
    @manage_channels
    async def language_clear(interaction: discord.Interaction, server: bool = False) -> None:
        await _client(interaction).clear_language(interaction, server=server)

    return [factcheck, claim, claims, context_menu, factbot]
