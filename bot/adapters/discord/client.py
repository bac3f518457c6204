"""The factbot Discord client: events and interactions in, the core's answers out.

Every handler does the same three things: turn the Discord event into the
core's ``IncomingMessage``, ask the core, and send what ``render`` makes of
the result.  Matching, storage and policy (rate limits, watch cooldowns,
votes, suggestions) are the core's; this module only knows Discord.

Every message sent uses ``AllowedMentions.none()``; errors are logged (the
log filter blanks tokens) and answered with a short, generic sentence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
from functools import lru_cache
from typing import Any, Callable, Sequence
from zoneinfo import available_timezones

import discord
import yarl
from discord import app_commands

from ...core.models import CheckResult, IncomingMessage
from ...core.normalize import content_words
from ...core.service import FactChecker
from ...core.subscriptions import WEEKDAYS, SubscriptionError
from ..pacing import BUSY_TEXT, CheckQueue, Overloaded
from . import render
from .components import DYNAMIC_ITEMS
from .render import NO_MENTIONS, Reply

log = logging.getLogger("factbot.discord")

PLATFORM = "discord"
RATE_NOTICE_SECONDS = 15  # a message cannot be ephemeral, so the rate-limit notice removes itself
RESTARTING_TEXT = "factbot is restarting; please try again in a minute."


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


def configure_endpoints(settings: Any) -> None:
    """Point discord.py's REST client at ``settings.discord_api_base`` (tests and private proxies)."""
    base = (getattr(settings, "discord_api_base", "") or "https://discord.com/api/v10").rstrip("/")
    discord.http.Route.BASE = base


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@lru_cache(maxsize=1)
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class FactbotTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Track every command as in-flight work, and turn new ones away while shutting down."""
        client = interaction.client
        if not isinstance(client, FactbotClient):
            return True
        if not client.accepting:
            if interaction.type is not discord.InteractionType.autocomplete:
                await client.tell(interaction, RESTARTING_TEXT)
            return False
        client.track()
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            names = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
            text = f"You need the {names} permission in this channel to do that."
        elif isinstance(error, app_commands.NoPrivateMessage):
            text = "This command only works in a server channel."
        elif isinstance(error, app_commands.CommandNotFound):
            text = "That command is out of date; a server admin can refresh the commands (`factbot discord sync`)."
        else:
            original = getattr(error, "original", error)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("command %s failed: %s", command, type(original).__name__, exc_info=original)
            text = render.ERROR_TEXT
        client = interaction.client
        if isinstance(client, FactbotClient):
            await client.tell(interaction, text)


class FactbotClient(discord.Client):
    """factbot on Discord.  ``checker`` is the core; ``clock`` is replaceable for tests of cooldowns."""

    def __init__(
        self,
        checker: FactChecker | None,
        *,
        settings: Any = None,
        intents: discord.Intents | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        **options: Any,
    ):
        options.setdefault("chunk_guilds_at_startup", False)
        super().__init__(intents=intents or default_intents(), allowed_mentions=NO_MENTIONS, **options)
        self.checker = checker
        self.settings = settings
        self.clock = clock or _utcnow
        self.tree = FactbotTree(self)
        for command in build_commands():
            self.tree.add_command(command)
        self._watch_locks: dict[int, asyncio.Lock] = {}
        # Checks one at a time, and a long burst turned away rather than answered late (pacing.py).
        self.checks = CheckQueue(float(getattr(settings, "max_wait_seconds", 30.0) or 0.0), log=log)
        self.accepting = True  # False once shutting down: new events are turned away
        self._inflight: set[asyncio.Task] = set()

    # -- lifecycle ------------------------------------------------------------------
    async def setup_hook(self) -> None:
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # buttons keep working on replies posted before a restart

    async def connect(self, *, reconnect: bool = True) -> None:
        await self._choose_gateway()
        await super().connect(reconnect=reconnect)

    async def _choose_gateway(self) -> None:
        """``discord_gateway_url`` when configured, else the URL Discord's ``/gateway/bot`` gives."""
        url = getattr(self.settings, "discord_gateway_url", "") or ""
        if not url:
            try:
                _, url, _ = await self.http.get_bot_gateway()
            except (discord.GatewayNotFound, discord.HTTPException):
                url = ""
        if url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def track(self) -> None:
        """Count the running handler as in-flight work until it ends (see ``drain``)."""
        task = asyncio.current_task()
        if task is not None and task not in self._inflight:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking new events and let the replies being written finish (at most ``timeout`` seconds)."""
        self.accepting = False
        pending = {t for t in self._inflight if t is not asyncio.current_task() and not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def on_ready(self) -> None:
        log.info("connected to Discord", extra={"user": str(self.user), "guilds": len(self.guilds),
                                                "message_content": self.intents.message_content})

    async def on_resumed(self) -> None:
        log.info("Discord gateway session resumed")

    # -- helpers ----------------------------------------------------------------------
    def _core(self) -> FactChecker:
        if self.checker is None:
            raise RuntimeError("this client was built without a FactChecker")
        return self.checker

    @staticmethod
    def _where(guild_id: int | None, channel_id: int | None) -> dict[str, str]:
        return {"platform": PLATFORM, "workspace": str(guild_id or ""), "channel": str(channel_id or "")}

    def _incoming(self, text: str, *, guild_id: int | None, channel_id: int | None, user_id: int,
                  message_id: int | str | None) -> IncomingMessage:
        return IncomingMessage(text=text, user=str(user_id), message_id=str(message_id or ""),
                               **self._where(guild_id, channel_id))

    def _record(self, sent: discord.Message | discord.InteractionMessage, result: CheckResult | None, *, source: str,
                requester: int, thread: int | None = None, guild_id: int | None = None,
                claim_id: str | None = None, verdict: str | None = None) -> None:
        """Remember a public reply, so 🗑️, watch cooldowns and later corrections work."""
        self._core().conversations.record_reply(
            message_id=str(sent.id), result=result, source=source, requester=str(requester),
            thread_id=str(thread or ""), claim_id=claim_id, verdict=verdict, at=self.clock(),
            **self._where(guild_id, sent.channel.id if sent.channel else None),
        )

    async def tell(self, interaction: discord.Interaction, text: str) -> None:
        """A short private answer to an interaction, whether or not it was acknowledged yet."""
        reply = render.render_notice(text)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ephemeral=True, **reply.kwargs())
            else:
                await interaction.response.send_message(ephemeral=True, **reply.kwargs())
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
                      extra=self._where(message.guild and message.guild.id, message.channel.id))
            if addressed:
                try:
                    await message.reply(**render.render_text(render.ERROR_TEXT).kwargs(), mention_author=False)
                except discord.HTTPException:
                    pass

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
        core = self._core()
        decision = core.rate_limiter.check(PLATFORM, str(message.author.id))
        if not decision.allowed:  # one short notice that removes itself, then silence until the window frees up
            if decision.notify:
                await message.reply(delete_after=RATE_NOTICE_SECONDS, mention_author=False,
                                    **render.render_notice(core.rate_limiter.notice(decision)).kwargs())
            return
        target, text, problem = await self._what_to_check(message)
        if problem:
            await self._send_reply(message, render.render_text(problem))
            return
        guild_id = message.guild.id if message.guild else None
        incoming = self._incoming(text, guild_id=guild_id, channel_id=message.channel.id, user_id=message.author.id,
                                  message_id=target.id)
        try:
            result = await self.checks.run(lambda: core.check(incoming))
        except Overloaded:
            await self._send_reply(message, render.render_text(BUSY_TEXT))
            return
        sent = await self._send_reply(target, render.render_result(result, deletable=True))
        self._record(sent, result, source="mention", requester=message.author.id, thread=target.id, guild_id=guild_id)

    async def _what_to_check(self, message: discord.Message) -> tuple[discord.Message, str, str]:
        """(message to answer, text to check, or why not): the mention's own words, else the message it replies to."""
        text = self._strip_self_mentions(message) if message.guild else (message.content or "").strip()
        if content_words(text):
            return message, text, ""
        if message.reference is None:
            return message, text, render.HELP_TEXT
        referenced = await self._referenced(message)
        if referenced is None:
            return message, text, "I can't see the message you replied to."
        if referenced.author.bot:
            return message, text, "I only check what people write, not other bots' messages."
        if not (referenced.content or "").strip():  # no message-content intent: Discord sent it without its text
            return message, text, ("I can't read the text of that message here. Right-click it (or long-press) and "
                                   "choose **Apps → Fact-check this message** instead.")
        return referenced, referenced.content, ""

    async def _send_reply(self, target: discord.Message, reply: Reply) -> discord.Message:
        """Post in the channel as a reply to ``target`` (no ping, and no error if it was deleted meanwhile)."""
        return await target.channel.send(
            reference=target.to_reference(fail_if_not_exists=False), mention_author=False, **reply.kwargs()
        )

    async def watch_message(self, message: discord.Message) -> None:
        """Watch mode: the core decides (channel on, confident match, cooldown clear); we only post."""
        if message.guild is None:
            return
        core = self._core()
        lock = self._watch_locks.setdefault(message.channel.id, asyncio.Lock())
        async with lock:  # two messages about one claim at once: one reply, then the cooldown holds
            incoming = self._incoming(message.content, guild_id=message.guild.id, channel_id=message.channel.id,
                                      user_id=message.author.id, message_id=message.id)
            try:
                result = await self.checks.run(lambda: core.watch_check(incoming, now=self.clock()))
            except Overloaded:
                return  # unasked: under overload watch mode stays quiet rather than answer late
            if result is None:
                return
            sent = await self._send_reply(message, render.render_result(result, deletable=True, watch=True))
            # The author of the watched message counts as the asker: they may remove the reply.
            self._record(sent, result, source="watch", requester=message.author.id, thread=message.id,
                         guild_id=message.guild.id)

    # -- slash commands and the context menu ----------------------------------------------
    async def answer_interaction(self, interaction: discord.Interaction, text: str, *, ephemeral: bool, source: str,
                                 checked: discord.Message | None = None) -> None:
        """``/factcheck`` and "Fact-check this message": rate limit, acknowledge, check, answer, remember."""
        core = self._core()
        decision = core.rate_limiter.check(PLATFORM, str(interaction.user.id))
        if not decision.allowed:  # an ephemeral notice every time: only the user sees it, and Discord wants an answer
            await self.tell(interaction, core.rate_limiter.notice(decision))
            return
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        incoming = self._incoming(text, guild_id=interaction.guild_id, channel_id=interaction.channel_id,
                                  user_id=interaction.user.id, message_id=checked.id if checked else interaction.id)
        try:
            result = await self.checks.run(lambda: core.check(incoming))
        except Overloaded:
            await interaction.edit_original_response(**render.render_text(BUSY_TEXT).kwargs(edit=True))
            return
        reply = render.render_result(result, deletable=not ephemeral, checked_url=checked.jump_url if checked else None)
        sent = await interaction.edit_original_response(**reply.kwargs(edit=True))
        if not ephemeral:
            self._record(sent, result, source=source, requester=interaction.user.id,
                         thread=checked.id if checked else None, guild_id=interaction.guild_id)

    async def show_claim(self, interaction: discord.Interaction, claim_id: str, *, ephemeral: bool) -> None:
        found = self._core().lookup(claim_id.strip())
        claim = found.claim
        if claim is None:
            await self.tell(interaction, f"No claim with the id “{claim_id.strip()[:100]}”. "
                                         "Start typing in the id box to pick one from the list.")
            return
        reply = render.render_claim(claim, deletable=not ephemeral, notice=found.notice)
        response = await interaction.response.send_message(ephemeral=ephemeral, **reply.kwargs())
        if not ephemeral:
            sent = response.resource if isinstance(response.resource, discord.InteractionMessage) else await interaction.original_response()
            self._record(sent, None, source="command", requester=interaction.user.id, guild_id=interaction.guild_id,
                         claim_id=claim.id, verdict=claim.verdict.value)

    async def search_claims(self, interaction: discord.Interaction, query: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        hits = self._core().search(query, limit=10)
        await interaction.edit_original_response(**render.render_search(query, hits).kwargs(edit=True))

    def claim_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for ``/claim id:``: prefix search over claim text and aliases, an exact id first."""
        core = self._core()
        current = (current or "").strip()
        claims = []
        exact = core.claim(current) if current else None
        if exact is not None:
            claims.append(exact)
        if current:
            claims += [claim for claim, _ in core.store.search_fts(current, render.CHOICES, prefix=True)]
        else:
            claims += list(itertools.islice(core.store.iter_claims(), render.CHOICES))
        return render.claim_choices(claims)

    # -- /factbot: watch mode and digests --------------------------------------------------
    async def set_watch(self, interaction: discord.Interaction, on: bool) -> None:
        core = self._core()
        core.conversations.set_watch(by=str(interaction.user.id), on=on,
                                     **self._where(interaction.guild_id, interaction.channel_id))
        if on:
            hours = core.watch_cooldown.total_seconds() / 3600
            text = ("👀 Watch mode is **on** in this channel: I'll reply to messages that make a claim I have a "
                    f"confident verdict on, at most once per claim every {hours:g} h. Turn it off with `/factbot watch off`.")
            if not self.intents.message_content:
                text += ("\n⚠️ This bot runs without the message content intent, so it can't read messages here "
                         "yet; whoever runs factbot must switch it on (see the setup guide).")
        else:
            text = "Watch mode is **off** in this channel. Mention me or use `/factcheck` to check a claim."
        await interaction.response.send_message(**render.render_text(text).kwargs())

    async def subscribe_digest(self, interaction: discord.Interaction, day: str, time: str, timezone: str) -> None:
        try:
            sub = self._core().subscriptions.subscribe(
                weekday=day, time=time, timezone=timezone, created_by=str(interaction.user.id),
                **self._where(interaction.guild_id, interaction.channel_id),
            )
        except SubscriptionError as exc:
            await self.tell(interaction, f"⚠️ {exc}. Nothing was changed.")
            return
        await interaction.response.send_message(
            **render.render_text(f"📰 This channel will get a weekly fact-check digest {sub.describe()}.").kwargs()
        )

    async def unsubscribe_digest(self, interaction: discord.Interaction) -> None:
        removed = self._core().subscriptions.unsubscribe(**self._where(interaction.guild_id, interaction.channel_id))
        if not removed:
            await self.tell(interaction, "This channel has no weekly digest.")
            return
        await interaction.response.send_message(**render.render_text("This channel's weekly digest is stopped.").kwargs())

    async def preview_digest(self, interaction: discord.Interaction) -> None:
        from ...core.digest import build_digest
        from ...scheduler import DigestService

        await interaction.response.defer(ephemeral=True, thinking=True)
        core = self._core()
        where = self._where(interaction.guild_id, interaction.channel_id)
        sub = core.subscriptions.get(where["platform"], where["workspace"], where["channel"])
        if sub is not None:
            digest = DigestService(core.store, {}, clock=self.clock).preview(sub)
            footer = f"Preview · sent {sub.describe()}"
        else:
            now = self.clock() + dt.timedelta(seconds=1)
            digest = build_digest(core.store, since=now - dt.timedelta(days=7), now=now, **where)
            footer = "Preview of the last 7 days · this channel has no digest yet (/factbot digest subscribe)"
        messages = render.pack_embeds(render.render_digest(digest, footer=footer))
        await interaction.edit_original_response(content=None, embeds=messages[0], allowed_mentions=NO_MENTIONS)
        for embeds in messages[1:]:
            await interaction.followup.send(embeds=embeds, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- buttons --------------------------------------------------------------------------
    async def _guarded(self, interaction: discord.Interaction, what: str, handler: Callable[[], Any]) -> None:
        if not self.accepting:
            await self.tell(interaction, RESTARTING_TEXT)
            return
        self.track()
        try:
            await handler()
        except Exception as exc:  # noqa: BLE001
            log.error("button %s failed: %s", what, type(exc).__name__, exc_info=exc)
            await self.tell(interaction, render.ERROR_TEXT)

    async def on_vote(self, interaction: discord.Interaction, direction: str, claim_id: str) -> None:
        async def handle() -> None:
            assert interaction.message is not None
            up, down = self._core().conversations.vote(
                platform=PLATFORM, reply_message_id=str(interaction.message.id), user=str(interaction.user.id),
                vote=1 if direction == "up" else -1, claim_id=claim_id,
                workspace=str(interaction.guild_id or ""), channel=str(interaction.channel_id or ""),
            )
            view = render.verdict_view(claim_id, up=up, down=down, deletable=render.has_delete_button(interaction.message))
            await interaction.response.edit_message(view=view, allowed_mentions=NO_MENTIONS)

        await self._guarded(interaction, "vote", handle)

    async def on_delete(self, interaction: discord.Interaction) -> None:
        async def handle() -> None:
            message = interaction.message
            assert message is not None
            core = self._core()
            record = core.conversations.reply(PLATFORM, str(message.channel.id), str(message.id))
            asker = record is not None and record.requester == str(interaction.user.id)
            if not (asker or interaction.permissions.manage_messages):
                await self.tell(interaction, "Only the person who asked, or someone who can manage messages, "
                                             "can remove this reply.")
                return
            await interaction.response.defer()
            try:
                await message.delete()
            except discord.Forbidden:  # e.g. a channel the bot cannot see: the interaction token still can
                await interaction.delete_original_response()
            core.conversations.mark_deleted(PLATFORM, str(message.channel.id), str(message.id))
            log.info("reply removed", extra={"platform": PLATFORM, "by": "asker" if asker else "moderator"})

        await self._guarded(interaction, "delete", handle)

    async def on_reveal(self, interaction: discord.Interaction, claim_id: str) -> None:
        async def handle() -> None:
            claim = self._core().claim(claim_id)
            if claim is None:
                await self.tell(interaction, "That claim is no longer in the database.")
                return
            await interaction.response.send_message(ephemeral=True, **render.render_reveal(claim).kwargs())

        await self._guarded(interaction, "reveal", handle)

    async def on_suggest(self, interaction: discord.Interaction) -> None:
        async def handle() -> None:
            core = self._core()
            text = render.checked_text(interaction.message.embeds if interaction.message else [])
            if not text.strip():
                await self.tell(interaction, "I couldn't read back what was asked; please ask again.")
                return
            added = core.conversations.suggest(
                user=str(interaction.user.id), query=text, keep_text=core.store_query_text,
                **self._where(interaction.guild_id, interaction.channel_id),
            )
            await self.tell(interaction, "📝 Thanks! The fact-checkers will see this in their review list." if added
                            else "You already suggested this; it's on the fact-checkers' list.")

        await self._guarded(interaction, "suggest", handle)


# -- the app commands ---------------------------------------------------------------------


def _client(interaction: discord.Interaction) -> FactbotClient:
    client = interaction.client
    assert isinstance(client, FactbotClient)
    return client


def _matching(values: Sequence[str], current: str) -> list[app_commands.Choice[str]]:
    current = (current or "").strip().lower()
    starts = [v for v in values if v.lower().startswith(current)]
    contains = [v for v in values if current in v.lower() and v not in starts]
    return render.text_choices(starts + contains)


def build_commands() -> list[app_commands.Command | app_commands.Group | app_commands.ContextMenu]:
    """Fresh command objects for one client (so two clients never share state)."""

    @app_commands.command(name="factcheck", description="Check a claim against factbot's verified claims")
    @app_commands.describe(text="The claim to check", ephemeral="Only you see the answer (default: the whole channel)")
    async def factcheck(interaction: discord.Interaction, text: app_commands.Range[str, 1, 6000],
                        ephemeral: bool = False) -> None:
        await _client(interaction).answer_interaction(interaction, text, ephemeral=ephemeral, source="command")

    @app_commands.command(name="claim", description="Show one verified claim: verdict, why, and sources")
    @app_commands.describe(id="Start typing words of the claim, then pick it", ephemeral="Only you see it")
    async def claim(interaction: discord.Interaction, id: str, ephemeral: bool = False) -> None:  # noqa: A002
        await _client(interaction).show_claim(interaction, id, ephemeral=ephemeral)

    @claim.autocomplete("id")
    async def claim_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _client(interaction).claim_choices(current)

    claims = app_commands.Group(name="claims", description="Browse factbot's verified claims")

    @claims.command(name="search", description="List the verified claims that best match some words")
    @app_commands.describe(query="Words to look for")
    async def claims_search(interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await _client(interaction).search_claims(interaction, query)

    async def factcheck_message(interaction: discord.Interaction, message: discord.Message) -> None:
        client = _client(interaction)
        if not (message.content or "").strip():
            await client.tell(interaction, "That message has no text I can check.")
            return
        await client.answer_interaction(interaction, message.content, ephemeral=False, source="context-menu",
                                        checked=message)

    context_menu = app_commands.ContextMenu(name="Fact-check this message", callback=factcheck_message)

    factbot = app_commands.Group(
        name="factbot", description="factbot settings for this channel", guild_only=True,
        default_permissions=discord.Permissions(manage_channels=True),
    )
    watch = app_commands.Group(name="watch", description="Reply unasked to confident matches in this channel",
                               parent=factbot)
    digest = app_commands.Group(name="digest", description="This channel's weekly fact-check digest", parent=factbot)
    manage_channels = app_commands.checks.has_permissions(manage_channels=True)

    @watch.command(name="on", description="Reply to confident matches in this channel, once per claim per cooldown")
    @manage_channels
    async def watch_on(interaction: discord.Interaction) -> None:
        await _client(interaction).set_watch(interaction, True)

    @watch.command(name="off", description="Stop replying unasked in this channel")
    @manage_channels
    async def watch_off(interaction: discord.Interaction) -> None:
        await _client(interaction).set_watch(interaction, False)

    @digest.command(name="subscribe", description="Post a weekly fact-check digest in this channel")
    @app_commands.describe(day="Weekday, e.g. monday", time="Local time, 24-hour HH:MM, e.g. 09:00",
                           timezone="IANA time zone, e.g. Europe/Berlin")
    @manage_channels
    async def digest_subscribe(interaction: discord.Interaction, day: str, time: str, timezone: str) -> None:
        await _client(interaction).subscribe_digest(interaction, day, time, timezone)

    @digest_subscribe.autocomplete("day")
    async def day_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _matching(WEEKDAYS, current)

    @digest_subscribe.autocomplete("timezone")
    async def tz_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _matching(_timezones(), current)

    @digest.command(name="unsubscribe", description="Stop this channel's weekly digest")
    @manage_channels
    async def digest_unsubscribe(interaction: discord.Interaction) -> None:
        await _client(interaction).unsubscribe_digest(interaction)

    @digest.command(name="preview", description="See (privately) what this channel's digest would say now")
    @manage_channels
    async def digest_preview(interaction: discord.Interaction) -> None:
        await _client(interaction).preview_digest(interaction)

    return [factcheck, claim, claims, context_menu, factbot]
