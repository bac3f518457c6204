"""The factbot Discord client: events and interactions in, the core's answers out.

Every handler does the same three things: turn the Discord event into the
core's ``IncomingMessage``, ask the core, and send what ``render`` makes of
the result.  Matching, storage and policy (rate limits, watch cooldowns,
votes, suggestions) are the core's; this module only knows Discord.

Every message sent uses ``AllowedMentions.none()``; errors are logged (the
log filter blanks tokens) and answered with a short, generic sentence.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord import app_commands

from ...config import DiscordSettings
from ...core.chat import Answer, Chat, Request
from ...core.normalize import content_words
from ...core.pacing import CheckQueue
from ...core.replies import Reply as NeutralReply
from ...core.service import FactChecker
from . import render
from .appcommands import RegistryTranslator, build_commands
from .appcommands import interaction_locale as _locale
from .components import DYNAMIC_ITEMS
from .render import NO_MENTIONS, Reply
from .render import PLATFORM as DISCORD

log = logging.getLogger("factbot.discord")

PLATFORM = DISCORD.name
RATE_NOTICE_SECONDS = 15  # a message cannot be ephemeral, so the rate-limit notice removes itself


def default_intents(*, message_content: bool = True) -> discord.Intents:
    """Servers and their channels, messages in servers and DMs; message content only when asked for.

    ``message_content`` is privileged: it has to be switched on in the developer portal.  Without it
    Discord still delivers the text of messages that mention the bot, of DMs and of messages picked in
    the context menu; watch mode and ``@factbot`` as a reply to someone else's message need it.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


def configure_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py's REST client at ``settings.api_base`` (tests and private proxies)."""
    base = settings.api_base.rstrip("/")
    discord.http.Route.BASE = base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FactbotTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Track every command as in-flight work, and turn new ones away while shutting down."""
        client = interaction.client
        if not isinstance(client, FactbotClient):
            return True
        if not client.accepting:
            if interaction.type is not discord.InteractionType.autocomplete:
                await client.tell(interaction, client.chat.restarting(_locale(interaction)))
            return False
        client.track()
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        client = interaction.client
        if not isinstance(client, FactbotClient):
            return
        chat, locale = client.chat, _locale(interaction)
        if isinstance(error, app_commands.MissingPermissions):
            names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
            reply = chat.needs_permission(names, locale)
        elif isinstance(error, app_commands.NoPrivateMessage):
            reply = chat.server_only(locale)
        elif isinstance(error, app_commands.CommandNotFound):
            reply = chat.commands_out_of_date(locale)
        else:
            original = getattr(error, "original", error)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("command %s failed: %s", command, type(original).__name__, exc_info=original)
            reply = chat.error(locale)
        await client.tell(interaction, reply)


class FactbotClient(discord.Client):
    """factbot on Discord.  ``checker`` is the core; ``clock`` is replaceable for tests of cooldowns."""

    def __init__(
        self,
        checker: FactChecker | None,
        *,
        settings: DiscordSettings | None = None,
        intents: discord.Intents | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        chat: Chat | None = None,
        **options: Any,
    ):
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(intents=intents or default_intents(), allowed_mentions=NO_MENTIONS, **options)
        self.checker = checker
        self.settings = settings or DiscordSettings()
        self.clock = clock or _utcnow
        self.tree = FactbotTree(self)
        for command in build_commands():
            self.tree.add_command(command)
        # The conversation layer: every decision and every word; one per process when the runtime shares it.
        if chat is None and checker is not None:
            chat = Chat(checker, clock=self.clock)  # the checker's queue carries bot.max_wait_seconds
        self._chat = chat

    @property
    def chat(self) -> Chat:
        if self._chat is None:
            raise RuntimeError("this client was built without a FactChecker")
        return self._chat

    @property
    def checks(self) -> CheckQueue:
        return self.chat.checks

    @property
    def accepting(self) -> bool:
        return self._chat is None or self._chat.accepting

    # -- lifecycle ------------------------------------------------------------------
    async def setup_hook(self) -> None:
        await self.tree.set_translator(RegistryTranslator())  # the registry in every catalog language on sync
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # buttons keep working on replies posted before a restart

    async def connect(self, *, reconnect: bool = True) -> None:
        await self._choose_gateway()
        await super().connect(reconnect=reconnect)

    async def _choose_gateway(self) -> None:
        """``discord.gateway_url`` when configured, else the URL Discord's ``/gateway/bot`` gives."""
        url = self.settings.gateway_url
        if not url:
            try:
                _, url, _ = await self.http.get_bot_gateway()
            except (discord.GatewayNotFound, discord.HTTPException):
                url = ""
        if url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def track(self) -> None:
        """Count the running handler as in-flight work until it ends (see ``drain``)."""
        self.chat.track()

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new events and let the replies being written finish (at most ``timeout`` seconds)."""
        await self.chat.drain(timeout)

    async def on_ready(self) -> None:
        log.info("connected to Discord", extra={"user": str(self.user), "guilds": len(self.guilds),
                                                "message_content": self.intents.message_content})

    async def on_resumed(self) -> None:
        log.info("Discord gateway session resumed")

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _request(text: str, *, guild_id: int | None, channel_id: int | None, user_id: int,
                 message_id: int | str | None, locale: Any = "", source: str = "mention") -> Request:
        return Request(platform=PLATFORM, text=text, workspace=str(guild_id or ""), channel=str(channel_id or ""),
                       user=str(user_id), message_id=str(message_id or ""),
                       locale=str(getattr(locale, "value", locale) or ""), source=source)

    def _from_interaction(self, interaction: discord.Interaction, text: str = "", *, message_id: Any = None,
                          source: str = "command") -> Request:
        return self._request(text, guild_id=interaction.guild_id, channel_id=interaction.channel_id,
                             user_id=interaction.user.id, message_id=message_id or interaction.id,
                             locale=_locale(interaction), source=source)

    async def _record(self, sent: discord.Message | discord.InteractionMessage, answer: Answer, request: Request, *,
                      thread: int | None = None) -> None:
        """Remember a public reply, so 🗑️, watch cooldowns and later corrections work."""
        await self.chat.record(answer, platform=PLATFORM, workspace=request.workspace,
                               channel=str(sent.channel.id if sent.channel else request.channel),
                               message_id=str(sent.id), source=request.source, requester=request.user,
                               thread_id=str(thread or ""))

    async def tell(self, interaction: discord.Interaction, reply: NeutralReply) -> None:
        """A short private answer to an interaction, whether or not it was acknowledged yet."""
        rendered = render.render_reply(reply)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ephemeral=True, **rendered.kwargs())
            else:
                await interaction.response.send_message(ephemeral=True, **rendered.kwargs())
        except discord.HTTPException as exc:
            log.warning("could not answer an interaction: %s %s", exc.status, type(exc).__name__)

    def _is_self_mention(self, message: discord.Message) -> bool:
        """Addressed explicitly: ``<@bot>`` in the text, or the bot's own role (not a reply ping, not @everyone)."""
        if self.user is None:
            return False
        if re.search(rf"<@!?{self.user.id}>", message.content or ""):
            return True
        role = message.guild.self_role if message.guild else None
        return role is not None and f"<@&{role.id}>" in (message.content or "")

    def _strip_self_mentions(self, message: discord.Message) -> str:
        text = message.content or ""
        assert self.user is not None
        text = re.sub(rf"<@!?{self.user.id}>", " ", text)
        role = message.guild.self_role if message.guild else None
        if role is not None:
            text = text.replace(f"<@&{role.id}>", " ")
        return text.strip()

    # -- messages -----------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or message.author.bot or message.webhook_id is not None:
            return  # other bots, webhooks, and factbot itself
        if message.type not in (discord.MessageType.default, discord.MessageType.reply) or not self.accepting:
            return
        self.track()
        addressed = message.guild is None or self._is_self_mention(message)
        try:
            if addressed:
                await self.answer_message(message)
            elif message.content:
                await self.watch_message(message)
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the bot
            log.error("could not answer a message: %s", type(exc).__name__, exc_info=exc,
                      extra={"platform": PLATFORM, "channel": str(message.channel.id)})
            if addressed:
                with contextlib.suppress(discord.HTTPException):
                    await message.reply(**render.render_reply(self.chat.error(self._guild_locale(message))).kwargs(),
                                        mention_author=False)

    @staticmethod
    def _guild_locale(message: discord.Message) -> str:
        value = getattr(message.guild, "preferred_locale", None) if message.guild else None
        return str(getattr(value, "value", value) or "")

    async def _referenced(self, message: discord.Message) -> discord.Message | None:
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved
        if isinstance(ref.resolved, discord.DeletedReferencedMessage):
            return None
        try:
            return await message.channel.fetch_message(ref.message_id)
        except (discord.NotFound, discord.Forbidden):
            return None

    async def answer_message(self, message: discord.Message) -> None:
        """``@factbot <text>``, ``@factbot`` as a reply, or a direct message."""
        chat = self.chat
        guild_id = message.guild.id if message.guild else None
        asked = self._request("", guild_id=guild_id, channel_id=message.channel.id, user_id=message.author.id,
                              message_id=message.id, locale=self._guild_locale(message))
        limited = chat.rate_limited(asked, every_time=False)
        if limited is not None:  # one short notice that removes itself, then silence until the window frees up
            if limited.body:
                await message.reply(delete_after=RATE_NOTICE_SECONDS, mention_author=False,
                                    **render.render_reply(limited).kwargs())
            return
        target, text, problem = await self._what_to_check(message, asked.locale)
        if problem is not None:
            await self._send_reply(message, render.render_reply(problem))
            return
        request = self._request(text, guild_id=guild_id, channel_id=message.channel.id, user_id=message.author.id,
                                message_id=target.id, locale=asked.locale)
        answer = await chat.check(request, DISCORD)
        if answer.busy:  # turned away: said under the mention, not under the message it points at
            await self._send_reply(message, render.render_reply(answer.reply))
            return
        sent = await self._send_reply(target, render.render_reply(answer.reply))
        await self._record(sent, answer, request, thread=target.id)

    async def _what_to_check(self, message: discord.Message,
                             locale: str) -> tuple[discord.Message, str, NeutralReply | None]:
        """(message to answer, text to check, or why not): the mention's own words, else the message it replies to."""
        text = self._strip_self_mentions(message) if message.guild else (message.content or "").strip()
        if content_words(text):
            return message, text, None
        if message.reference is None:
            return message, text, self.chat.help(DISCORD, locale)
        referenced = await self._referenced(message)
        if referenced is None:
            return message, text, self.chat.cannot_check("reply-gone", locale)
        if referenced.author.bot:
            return message, text, self.chat.cannot_check("bot", locale)
        if not (referenced.content or "").strip():  # no message-content intent: Discord sent it without its text
            return message, text, self.chat.cannot_check("no-content", locale)
        return referenced, referenced.content, None

    async def _send_reply(self, target: discord.Message, reply: Reply) -> discord.Message:
        """Post in the channel as a reply to ``target`` (no ping, and no error if it was deleted meanwhile)."""
        return await target.channel.send(
            reference=target.to_reference(fail_if_not_exists=False), mention_author=False, **reply.kwargs()
        )

    async def watch_message(self, message: discord.Message) -> None:
        """Watch mode: the core decides (channel on, confident match, cooldown clear); we only post."""
        if message.guild is None:
            return
        request = self._request(message.content, guild_id=message.guild.id, channel_id=message.channel.id,
                                user_id=message.author.id, message_id=message.id,
                                locale=self._guild_locale(message), source="watch")
        answer = await self.chat.watch(request, DISCORD)
        if answer is None:
            return
        with self.chat.posting(answer):  # a failed post gives the cooldown back
            sent = await self._send_reply(message, render.render_reply(answer.reply))
        # The author of the watched message counts as the asker: they may remove the reply.
        await self._record(sent, answer, request, thread=message.id)

    # -- slash commands and the context menu ----------------------------------------------
    async def answer_interaction(self, interaction: discord.Interaction, text: str, *, ephemeral: bool, source: str,
                                 checked: discord.Message | None = None) -> None:
        """``/factcheck`` and "Fact-check this message": rate limit, acknowledge, check, answer, remember."""
        chat = self.chat
        request = self._from_interaction(interaction, text, message_id=checked.id if checked else None, source=source)
        limited = chat.rate_limited(request, every_time=True)
        if limited is not None:  # an ephemeral notice every time: only the user sees it, and Discord wants an answer
            await self.tell(interaction, limited)
            return
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        answer = await chat.check(request, DISCORD, private=ephemeral, deletable=not ephemeral)
        reply = render.render_reply(answer.reply, checked_url=checked.jump_url if checked and not answer.busy else None)
        sent = await interaction.edit_original_response(**reply.kwargs(edit=True))
        if not ephemeral:
            await self._record(sent, answer, request, thread=checked.id if checked else None)

    async def check_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """"Fact-check this message" (the context menu): that message's text, answered in the channel."""
        if not (message.content or "").strip():
            await self.tell(interaction, self.chat.cannot_check("no-text", _locale(interaction)))
            return
        await self.answer_interaction(interaction, message.content, ephemeral=False, source="context-menu",
                                      checked=message)

    async def show_claim(self, interaction: discord.Interaction, claim_id: str, *, ephemeral: bool) -> None:
        request = self._from_interaction(interaction)
        answer = self.chat.show_claim(claim_id, request.locale, private=ephemeral)
        if answer.claim is None:
            await self.tell(interaction, answer.reply)
            return
        response = await interaction.response.send_message(ephemeral=ephemeral,
                                                           **render.render_reply(answer.reply).kwargs())
        if not ephemeral:
            sent = response.resource if isinstance(response.resource, discord.InteractionMessage) else await interaction.original_response()
            await self._record(sent, answer, request)

    async def search_claims(self, interaction: discord.Interaction, query: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = self.chat.search(query, _locale(interaction), platform=DISCORD)
        await interaction.edit_original_response(**render.render_reply(reply).kwargs(edit=True))

    def claim_choices(self, current: str, locale: str = "") -> list[app_commands.Choice[str]]:
        """Autocomplete for ``/claim id:``: an exact id first, then a prefix search over claim text and aliases."""
        return render.claim_choices(self.chat.claim_choices(current, limit=render.CHOICES), locale=locale)

    # -- /factbot: watch mode and digests --------------------------------------------------
    async def set_watch(self, interaction: discord.Interaction, on: bool) -> None:
        reply = self.chat.set_watch(self._from_interaction(interaction), DISCORD, on,
                                    can_read=self.intents.message_content)
        await interaction.response.send_message(**render.render_reply(reply).kwargs())

    async def _answer(self, interaction: discord.Interaction, reply: NeutralReply) -> None:
        """Public replies in the channel; private ones only to whoever asked."""
        if reply.private:
            await self.tell(interaction, reply)
        else:
            await interaction.response.send_message(**render.render_reply(reply).kwargs())

    async def subscribe_digest(self, interaction: discord.Interaction, day: str, time: str, timezone: str) -> None:
        await self._answer(interaction, self.chat.subscribe(self._from_interaction(interaction), day=day, time=time,
                                                            timezone=timezone))

    async def unsubscribe_digest(self, interaction: discord.Interaction) -> None:
        await self._answer(interaction, self.chat.unsubscribe(self._from_interaction(interaction)))

    async def preview_digest(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = self.chat.preview_reply(self._from_interaction(interaction), DISCORD)
        messages = render.pack_embeds(render.render_digest(reply))
        await interaction.edit_original_response(content=None, embeds=messages[0], allowed_mentions=NO_MENTIONS)
        for embeds in messages[1:]:
            await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- /factbot language ------------------------------------------------------------------
    async def show_language(self, interaction: discord.Interaction) -> None:
        await self.tell(interaction, self.chat.language_status(self._from_interaction(interaction), DISCORD))

    def _may_set_for_server(self, interaction: discord.Interaction) -> bool:
        permissions = getattr(interaction, "permissions", None)
        return bool(permissions is not None and permissions.manage_guild)

    async def set_language(self, interaction: discord.Interaction, language: str, *, server: bool) -> None:
        if server and not self._may_set_for_server(interaction):
            await self.tell(interaction, self.chat.needs_permission(
                "Manage Server", self.chat.locale_for(self._from_interaction(interaction))))
            return
        await self._answer(interaction, self.chat.set_language(self._from_interaction(interaction), DISCORD,
                                                               language, server=server))

    async def clear_language(self, interaction: discord.Interaction, *, server: bool) -> None:
        if server and not self._may_set_for_server(interaction):
            await self.tell(interaction, self.chat.needs_permission(
                "Manage Server", self.chat.locale_for(self._from_interaction(interaction))))
            return
        await self._answer(interaction, self.chat.clear_language(self._from_interaction(interaction), DISCORD,
                                                                 server=server))

    # -- buttons --------------------------------------------------------------------------
    async def _guarded(self, interaction: discord.Interaction, what: str, handler: Callable[[], Any]) -> None:
        if not self.accepting:
            await self.tell(interaction, self.chat.restarting(_locale(interaction)))
            return
        self.track()
        try:
            await handler()
        except Exception as exc:  # noqa: BLE001
            log.error("button %s failed: %s", what, type(exc).__name__, exc_info=exc)
            await self.tell(interaction, self.chat.error(_locale(interaction)))

    async def on_vote(self, interaction: discord.Interaction, direction: str, claim_id: str) -> None:
        async def handle() -> None:
            assert interaction.message is not None
            up, down = self.chat.vote(self._from_interaction(interaction), reply_message_id=str(interaction.message.id),
                                      up=direction == "up", claim_id=claim_id)
            view = render.verdict_view(claim_id, up=up, down=down, deletable=render.has_delete_button(interaction.message))
            await interaction.response.edit_message(view=view, allowed_mentions=NO_MENTIONS)

        await self._guarded(interaction, "vote", handle)

    async def on_delete(self, interaction: discord.Interaction) -> None:
        async def handle() -> None:
            message = interaction.message
            assert message is not None
            request = self._request("", guild_id=interaction.guild_id, channel_id=message.channel.id,
                                    user_id=interaction.user.id, message_id=message.id, locale=_locale(interaction))
            allowed, by = self.chat.may_delete(request, reply_message_id=str(message.id),
                                               moderator=interaction.permissions.manage_messages)
            if not allowed:
                await self.tell(interaction, self.chat.delete_refused(DISCORD, request.locale))
                return
            await interaction.response.defer()
            try:
                await message.delete()
            except discord.Forbidden:  # e.g. a channel the bot cannot see: the interaction token still can
                await interaction.delete_original_response()
            self.chat.deleted(request, str(message.id), by)

        await self._guarded(interaction, "delete", handle)

    async def on_reveal(self, interaction: discord.Interaction, claim_id: str) -> None:
        async def handle() -> None:
            reply = self.chat.reveal(claim_id, _locale(interaction))
            await interaction.response.send_message(ephemeral=True, **render.render_reply(reply).kwargs())

        await self._guarded(interaction, "reveal", handle)

    async def on_suggest(self, interaction: discord.Interaction) -> None:
        async def handle() -> None:
            text = render.checked_text(interaction.message.embeds if interaction.message else [])
            await self.tell(interaction, self.chat.suggest(self._from_interaction(interaction, text)))

        await self._guarded(interaction, "suggest", handle)
