"""factbot on Discord end to end: the real discord.py client against a fake Discord on 127.0.0.1.

Each test starts the adapter on a fresh temp-file database (with the bundled
claims), drives it the way Discord would (gateway events, interactions) and
asserts on what members would see: the exact embeds, buttons and
``allowed_mentions`` the bot sent, and who Discord would have pinged.
Waits are on events (a request arriving, a gateway op), never on sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from conftest import ENGINES
from helpers import Clock, eventually, text_with

from bot.adapters.discord import render
from bot.adapters.discord.runner import DiscordAdapter
from bot.config import BotSettings, DiscordSettings, Settings, StoreSettings
from bot.core.i18n import translator
from bot.core.models import Decision, Verdict
from bot.core.service import FactChecker, checker_for, open_store

try:
    from tests.fakes.discord_server import FakeDiscord, Recorded
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.discord_server import FakeDiscord, Recorded

MATCH_TEXT = "Alibaba stole Claude Fable's guardrails"
MATCH_ID = "alibaba-stole-fable-guardrails"
NONE_TEXT = "anyone up for lunch?"
NO_PINGS = {"everyone": False, "users": [], "roles": []}


@dataclass
class Env:
    fake: FakeDiscord
    adapter: DiscordAdapter
    checker: FactChecker
    settings: Settings
    clock: Clock
    caplog: Any = None

    @property
    def bot(self):
        return self.adapter.client

    @property
    def conversations(self):
        return self.checker.conversations


async def start_adapter(env: Env) -> None:
    env.adapter = DiscordAdapter(env.checker, env.settings.discord, clock=env.clock, guild_ready_timeout=0.01, ready_timeout=10)
    await env.adapter.start()


async def _run(db: Path, body: Callable[[Env], Awaitable[None]], caplog: Any, *, rate: int = 10,
               allow_message_content: bool = True) -> None:
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    fake = await FakeDiscord(allow_message_content=allow_message_content).start()
    settings = Settings(store=StoreSettings(path=str(db)), bot=BotSettings(rate_limit_per_minute=rate),
                        discord=DiscordSettings(token=fake.token, api_base=fake.api_base, gateway_url=fake.gateway_url))
    store, _ = open_store(db)
    env = Env(fake, None, checker_for(store, settings), settings, Clock(), caplog)  # type: ignore[arg-type]
    try:
        await start_adapter(env)
        await body(env)
        assert_nothing_could_ping(fake)
    finally:
        if env.adapter is not None:
            await env.adapter.stop()
        await fake.close()
        store.close()
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def e2e(*, engines: tuple[str, ...] = (), **options: Any):
    """Run ``async def test(env)`` against a fresh fake Discord and database (an SQLite file, or with
    ``engines=ENGINES`` a PostgreSQL database as well)."""
    def decorate(fn: Callable[[Env], Awaitable[None]]):
        def test(tmp_path: Path, caplog: pytest.LogCaptureFixture, db_engine: str, request: Any) -> None:
            db = request.getfixturevalue("pg_url") if db_engine == "postgresql" else tmp_path / "factbot.db"
            asyncio.run(asyncio.wait_for(_run(db, fn, caplog, **options), 60))
        test.__name__, test.__doc__ = fn.__name__, fn.__doc__
        return pytest.mark.parametrize("db_engine", engines)(test) if engines else test
    return decorate


# -- helpers ------------------------------------------------------------------------------


def recorded(env: Env, message_id: str, channel: str | None = None) -> Awaitable[Any]:
    """The core's record of a public reply, once the bot has written it."""
    return eventually(lambda: env.conversations.reply("discord", channel or env.fake.general, message_id))


def _ref(r: Recorded) -> str:
    return str(((r.json or {}).get("message_reference") or {}).get("message_id", ""))


async def reply_to(env: Env, message: dict, *, after: int = 0) -> Recorded:
    """The bot's channel message that replies to ``message``."""
    return await env.fake.wait_request("POST", f"/channels/{message['channel_id']}/messages", after=after,
                                       where=lambda r: _ref(r) == message["id"])


def replies_to(env: Env, message: dict, *, after: int = 0) -> list[Recorded]:
    return env.fake.find("POST", f"/channels/{message['channel_id']}/messages", after=after,
                         where=lambda r: _ref(r) == message["id"])


async def settle(env: Env) -> None:
    """Everything pushed before has been handled: a help request sent now has been answered (so every earlier
    event has reached its handler), and no handler is still running (a check by meaning embeds off the loop, so
    the help can overtake it)."""
    sentinel = await env.fake.mention(env.fake.bob, "")
    reply = await reply_to(env, sentinel)
    assert "Mention me with a claim" in reply.json["content"]
    await asyncio.wait_for(env.bot.chat.idle(), 10)


def buttons(message_or_body: dict) -> list[dict]:
    return [c for row in message_or_body.get("components") or [] for c in row["components"]]


def custom_ids(message_or_body: dict) -> list[str]:
    return [b["custom_id"] for b in buttons(message_or_body)]


def assert_pings_nobody(r: Recorded) -> None:
    assert r.json["allowed_mentions"]["parse"] == []
    assert r.json["allowed_mentions"].get("replied_user") in (None, False)
    assert r.response["pinged"] == NO_PINGS
    assert r.response["mentions"] == [] and r.response["mention_everyone"] is False


def assert_nothing_could_ping(fake: FakeDiscord) -> None:
    """Every message the bot sent or edited in a test carried allowed_mentions that allow nobody."""
    for r in fake.requests:
        payload = (r.json or {}).get("data") if r.path.endswith("/callback") else r.json
        if isinstance(payload, dict) and ("content" in payload or "embeds" in payload):
            assert (payload.get("allowed_mentions") or {}).get("parse") == [], (r.method, r.path, payload)
            assert not (payload.get("allowed_mentions") or {}).get("replied_user"), (r.method, r.path)


def original_patch(env: Env, interaction) -> Recorded:
    found = env.fake.find("PATCH", f"/webhooks/{env.fake.app_id}/{interaction.token}/messages/@original")
    assert found, "the deferred response was never filled in"
    return found[-1]


# -- mentions ----------------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_mention_gets_a_verdict_embed_in_reply(env: Env):
    fake = env.fake
    asked = await fake.mention(fake.alice, MATCH_TEXT)
    r = await reply_to(env, asked)
    assert r.status == 200
    (embed,) = r.json["embeds"]
    claim = env.checker.claim(MATCH_ID)
    assert embed["title"].startswith(f"{claim.verdict.emoji} Alibaba illicitly extracted Claude Fable")
    assert embed["color"] == Verdict.UNVERIFIED.colour
    assert embed["description"].startswith("**Unverified** · rated “Unsupported”\nOnly the aggregator AgentCrunch says so")
    assert embed["footer"]["text"].startswith("Match strength ") and embed["footer"]["text"].endswith(f"claim id {MATCH_ID}")
    sources = embed["fields"][0]
    assert sources["name"] == "Sources"
    assert sources["value"].startswith("• Anthropic's Guardrail Woes · AgentCrunch\n• Anthropic apologizes for invisible")
    assert custom_ids(r.json) == [f"factbot:vote:up:{MATCH_ID}", f"factbot:vote:down:{MATCH_ID}", "factbot:delete"]
    assert r.json["message_reference"]["fail_if_not_exists"] is False
    assert_pings_nobody(r)
    record = await recorded(env, r.response["id"])
    assert (record.requester, record.thread_id, record.claim_id, record.source) == (fake.alice.id, asked["id"], MATCH_ID, "mention")


@e2e()
async def test_reply_mention_checks_the_message_replied_to(env: Env):
    fake = env.fake
    claim = await fake.send_message(fake.bob, MATCH_TEXT)
    asking = await fake.mention(fake.alice, "is this true?", reply_to=claim)
    r = await reply_to(env, claim)  # the answer is threaded under the message that was checked
    assert r.json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert not replies_to(env, asking)
    record = await recorded(env, r.response["id"])
    assert (record.requester, record.thread_id) == (fake.alice.id, claim["id"])  # alice asked, so alice may remove it


@e2e()
async def test_mention_alone_gets_help_and_bots_are_ignored(env: Env):
    fake = env.fake
    m = fake.mark()
    await fake.mention(fake.other_bot, MATCH_TEXT)  # another bot, even one mentioning factbot
    await fake.send_message(fake.other_bot, MATCH_TEXT)
    await settle(env)
    posts = fake.find("POST", f"/channels/{fake.general}/messages", after=m)
    assert len(posts) == 1 and "Mention me with a claim" in posts[0].json["content"]  # only the help for bob
    # factbot's own replies come back through the gateway (MESSAGE_CREATE) and are ignored as well
    assert len([r for r in fake.requests if r.method == "POST" and "/messages" in r.path]) == 1


@e2e(allow_message_content=False)
async def test_without_the_message_content_intent(env: Env):
    """The portal switch is off: factbot falls back, mentions and the context menu still work, reply-mentions explain."""
    fake = env.fake
    assert [k for k, _ in fake.gateway_log if k in ("disallowed-intents", "identify")] == ["disallowed-intents", "identify"]
    assert not env.bot.intents.message_content
    r = await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))  # a mention's text is delivered anyway
    assert r.json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    claim = await fake.send_message(fake.bob, MATCH_TEXT)
    asking = await fake.mention(fake.alice, "", reply_to=claim)
    r = await reply_to(env, asking)
    assert "Fact-check this message" in r.json["content"] and not r.json["embeds"]
    i = await fake.context_menu(fake.alice, "Fact-check this message", claim)  # Discord resolves the content
    assert (await fake.wait_original(i))["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    m = fake.mark()
    await fake.slash(fake.admin, "factbot", "watch", "on")
    r = await fake.wait_request("POST", after=m, where=lambda r: r.path.endswith("/callback"))
    assert "without the message content intent" in r.json["data"]["content"]


# -- slash commands and the context menu --------------------------------------------------------


@e2e()
async def test_slash_factcheck_public_and_ephemeral(env: Env):
    fake = env.fake
    i = await fake.slash(fake.alice, "factcheck", text=MATCH_TEXT)
    assert (await fake.wait_response(i)) == {"type": 5}  # acknowledged at once ("thinking…"), public
    shown = await fake.wait_original(i)
    assert shown["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert custom_ids(shown)[-1] == "factbot:delete"
    assert_pings_nobody(original_patch(env, i))
    record = await recorded(env, shown["id"])
    assert (record.source, record.requester) == ("command", fake.alice.id)

    i = await fake.slash(fake.bob, "factcheck", text=MATCH_TEXT, ephemeral=True)
    assert (await fake.wait_response(i)) == {"type": 5, "data": {"flags": 64}}
    shown = await fake.wait_original(i)
    assert shown["flags"] & 64 and shown["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert "factbot:delete" not in custom_ids(shown)  # nothing to remove: only bob sees it
    await settle(env)
    assert env.conversations.reply("discord", fake.general, shown["id"]) is None


@e2e()
async def test_context_menu_checks_someone_elses_message(env: Env):
    fake = env.fake
    target = await fake.send_message(fake.bob, f"guys, {MATCH_TEXT}!!")
    i = await fake.context_menu(fake.alice, "Fact-check this message", target)
    shown = await fake.wait_original(i)
    embed = shown["embeds"][0]
    assert embed["footer"]["text"].endswith(MATCH_ID)
    jump = next(f for f in embed["fields"] if f["name"] == "Checked message")
    assert f"/channels/{fake.guild_id}/{fake.general}/{target['id']}" in jump["value"]
    record = await recorded(env, shown["id"])
    assert (record.source, record.requester, record.thread_id) == ("context-menu", fake.alice.id, target["id"])


@e2e(engines=ENGINES)
async def test_claim_autocomplete_show_and_search(env: Env):
    fake = env.fake
    i = await fake.autocomplete(fake.alice, "claim", focused="id", id="alibaba guard")
    cb = await fake.wait_response(i)
    assert cb["type"] == 8
    choices = cb["data"]["choices"]
    assert choices[0] == {"name": "❓ Unverified: Alibaba illicitly extracted Claude Fable's guardrails.",
                          "value": MATCH_ID}
    assert len(choices) <= 25 and all(len(c["name"]) <= 100 for c in choices)
    i = await fake.autocomplete(fake.alice, "claim", focused="id", id="")
    assert len((await fake.wait_response(i))["data"]["choices"]) == 25  # an empty box lists claims to pick from

    i = await fake.slash(fake.alice, "claim", id=MATCH_ID)
    cb = await fake.wait_response(i)
    footer = cb["data"]["embeds"][0]["footer"]["text"]
    assert cb["type"] == 4 and footer.startswith("reviewed ") and footer.endswith(f" · claim id {MATCH_ID}")
    assert cb["data"]["allowed_mentions"] == {"parse": []}
    record = await recorded(env, fake.original(i)["id"])
    assert (record.claim_id, record.verdict, record.source) == (MATCH_ID, "unverified", "command")

    i = await fake.slash(fake.alice, "claim", id="no-such-claim")
    cb = await fake.wait_response(i)
    assert cb["data"]["flags"] == 64 and "No claim with the id “no-such-claim”" in cb["data"]["content"]

    i = await fake.slash(fake.alice, "claims", "search", query="alibaba guardrails")
    shown = await fake.wait_original(i)
    assert shown["flags"] & 64
    assert f"`{MATCH_ID}`" in shown["embeds"][0]["description"]


# -- possible and none ---------------------------------------------------------------------------


@e2e()
async def test_possible_offers_candidates_that_reveal_their_verdict(env: Env):
    fake = env.fake
    text = text_with(env.checker, Decision.POSSIBLE)
    r = await reply_to(env, await fake.mention(fake.alice, text))
    embed = r.json["embeds"][0]
    assert embed["title"] == "🤔 Did you mean…"
    reveal = [b for b in buttons(r.json) if b["custom_id"].startswith("factbot:reveal:")]
    assert 1 <= len(reveal) <= 3 and reveal[0]["label"].startswith("1. ")
    assert custom_ids(r.json)[-1] == "factbot:delete"
    claim_id = reveal[0]["custom_id"].removeprefix("factbot:reveal:")
    claim = env.checker.claim(claim_id)
    assert claim.verdict.label not in embed["description"]  # the verdict is behind the button

    i = await fake.click(fake.bob, r.response["id"], reveal[0]["custom_id"])
    cb = await fake.wait_response(i)
    assert cb["type"] == 4 and cb["data"]["flags"] == 64  # shown to bob only
    shown = cb["data"]["embeds"][0]
    reviewed = translator("en").date(claim.reviewed_at)  # "Nov 20, 2026": the date as the reader's locale writes it
    assert shown["footer"]["text"] == f"reviewed {reviewed} · claim id {claim_id}"
    assert shown["color"] == claim.verdict.colour
    assert shown["description"].startswith(f"**{claim.verdict.label}**")


@e2e()
async def test_none_says_so_and_suggest_for_review_records_it(env: Env):
    fake = env.fake
    r = await reply_to(env, await fake.mention(fake.alice, NONE_TEXT))
    embed = r.json["embeds"][0]
    assert embed["title"] == "🔎 No verified claim matches"
    assert {"name": "Checked text", "value": NONE_TEXT, "inline": False} in embed["fields"]
    assert custom_ids(r.json) == ["factbot:suggest", "factbot:delete"]

    i = await fake.click(fake.bob, r.response["id"], "factbot:suggest")
    cb = await fake.wait_response(i)
    assert cb["data"]["flags"] == 64 and "fact-checkers will see this" in cb["data"]["content"]
    i = await fake.click(fake.bob, r.response["id"], "factbot:suggest")
    assert "already suggested" in (await fake.wait_response(i))["data"]["content"]
    (suggestion,) = env.conversations.suggestions()
    assert (suggestion["query"], suggestion["requests"]) == (NONE_TEXT, 1)


# -- feedback and removal -------------------------------------------------------------------------


@e2e(engines=ENGINES)
async def test_feedback_buttons_count_one_vote_per_user(env: Env):
    fake = env.fake
    reply = (await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))).response["id"]
    up, down = f"factbot:vote:up:{MATCH_ID}", f"factbot:vote:down:{MATCH_ID}"

    async def press(user, custom_id) -> tuple[str | None, str | None]:
        cb = await fake.wait_response(await fake.click(user, reply, custom_id))
        assert cb["type"] == 7  # the reply itself is updated
        labels = {b["custom_id"]: b.get("label") for b in buttons(cb["data"])}
        assert "factbot:delete" in labels
        return labels[up], labels[down]

    assert await press(fake.alice, up) == ("1", None)
    assert await press(fake.alice, up) == ("1", None)  # pressing again does not count twice
    assert await press(fake.alice, down) == (None, "1")  # changing one's mind moves the vote
    assert await press(fake.bob, up) == ("1", "1")
    assert env.conversations.votes("discord", reply) == (1, 1)


@e2e()
async def test_trash_button_asker_yes_stranger_no_moderator_yes(env: Env):
    fake = env.fake
    first = (await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))).response["id"]

    cb = await fake.wait_response(await fake.click(fake.bob, first, "factbot:delete"))
    assert cb["data"]["flags"] == 64 and "Only the person who asked" in cb["data"]["content"]
    assert first in fake.messages

    m = fake.mark()
    cb = await fake.wait_response(await fake.click(fake.alice, first, "factbot:delete"))
    assert cb == {"type": 6}
    await fake.wait_request("DELETE", f"/channels/{fake.general}/messages/{first}", after=m)
    assert first not in fake.messages
    assert await eventually(lambda: env.conversations.reply("discord", fake.general, first).deleted_at)

    second = (await reply_to(env, await fake.mention(fake.alice, NONE_TEXT))).response["id"]
    m = fake.mark()
    await fake.wait_response(await fake.click(fake.mod, second, "factbot:delete"))  # Manage Messages
    await fake.wait_request("DELETE", f"/channels/{fake.general}/messages/{second}", after=m)
    assert second not in fake.messages


@e2e()
async def test_buttons_keep_working_after_a_restart(env: Env):
    fake = env.fake
    reply = (await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))).response["id"]
    await env.adapter.stop()
    await start_adapter(env)  # a new process would rebuild the buttons from their custom_id alone
    assert sum(1 for k, _ in fake.gateway_log if k == "identify") == 2
    cb = await fake.wait_response(await fake.click(fake.bob, reply, f"factbot:vote:up:{MATCH_ID}"))
    assert cb["type"] == 7
    m = fake.mark()
    await fake.wait_response(await fake.click(fake.alice, reply, "factbot:delete"))
    await fake.wait_request("DELETE", f"/channels/{fake.general}/messages/{reply}", after=m)


# -- the language of replies ----------------------------------------------------------------


@e2e()
async def test_factbot_language_sets_the_channels_and_the_servers_language(env: Env):
    fake = env.fake
    cb = await fake.wait_response(await fake.slash(fake.alice, "factbot", "language", "show"))
    assert cb["data"]["flags"] == 64 and cb["data"]["content"] == (
        "No language is set here: a reply follows the reader's app language, then the language of the message, then "
        "English. Change it with `/factbot language set <language>` or `/factbot language clear`; with "
        "`server:True` it changes the whole server. Languages: en (English), es (español), de (Deutsch), "
        "fr (français), pt (português), ja (日本語), zh-Hans (中文 (简体)).")
    cb = await fake.wait_response(await fake.slash(fake.alice, "factbot", "language", "set", language="es"))
    assert cb["data"]["flags"] == 64 and "Manage Channels" in cb["data"]["content"]  # no Manage Channels
    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "language", "set", language="es"))
    assert cb["type"] == 4 and "flags" not in cb["data"]
    assert cb["data"]["content"] == "Las respuestas en este canal están en **español**."
    assert env.checker.languages.get("discord", fake.guild_id, fake.general) == "es"
    i = await fake.slash(fake.alice, "factcheck", text=MATCH_TEXT)  # Alice's client is in English: the channel wins
    shown = await fake.wait_original(i)
    assert shown["embeds"][0]["title"] == "❓ Alibaba extrajo ilícitamente los guardrails de Claude Fable."
    assert shown["embeds"][0]["footer"]["text"].startswith("Coincidencia 100\xa0% · coincide con la formulación")
    assert shown["embeds"][0]["fields"][0]["name"] == "Fuentes"
    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "language", "set", language="Deutsch",
                                                   server=True))
    assert cb["data"]["flags"] == 64
    assert cb["data"]["content"] == "Necesitas el permiso Manage Server en este canal para hacerlo."
    assert env.checker.languages.get("discord", fake.guild_id) is None
    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "language", "clear"))
    assert cb["data"]["content"] == "This channel's language setting is removed."  # in the language that now holds
    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "language", "clear"))
    assert cb["data"]["flags"] == 64 and cb["data"]["content"] == "There was no language setting to remove."


# -- watch mode ------------------------------------------------------------------------------


@e2e()
async def test_watch_mode_replies_once_per_claim_per_cooldown(env: Env):
    fake = env.fake
    i = await fake.slash(fake.alice, "factbot", "watch", "on")  # no Manage Channels
    cb = await fake.wait_response(i)
    assert cb["data"]["flags"] == 64 and "Manage Channels" in cb["data"]["content"]
    assert not env.conversations.watching("discord", fake.guild_id, fake.general)

    m = fake.mark()
    first = await fake.send_message(fake.bob, MATCH_TEXT)
    await settle(env)
    assert not replies_to(env, first, after=m)  # watch is off by default

    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "watch", "on"))
    assert cb["type"] == 4 and "Watch mode is **on**" in cb["data"]["content"] and "flags" not in cb["data"]
    assert "every 24 h" in cb["data"]["content"]

    watched = await fake.send_message(fake.bob, MATCH_TEXT)
    r = await reply_to(env, watched)
    assert r.json["content"].startswith("👀") and r.json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert_pings_nobody(r)
    record = await recorded(env, r.response["id"])
    assert (record.source, record.requester) == ("watch", fake.bob.id)

    m = fake.mark()
    again = await fake.send_message(fake.alice, f"wait, {MATCH_TEXT}?")
    chatter = await fake.send_message(fake.alice, NONE_TEXT)
    await settle(env)
    assert not replies_to(env, again, after=m) and not replies_to(env, chatter, after=m)  # cooldown; no match

    env.clock.advance(hours=25)
    later = await fake.send_message(fake.bob, MATCH_TEXT)
    await reply_to(env, later)  # the cooldown is over

    await fake.wait_response(await fake.slash(fake.admin, "factbot", "watch", "off"))
    env.clock.advance(hours=25)
    m = fake.mark()
    off = await fake.send_message(fake.bob, MATCH_TEXT)
    await settle(env)
    assert not replies_to(env, off, after=m)


# -- digest subscriptions ----------------------------------------------------------------------


@e2e()
async def test_digest_subscribe_needs_permission_and_a_valid_time_zone(env: Env):
    fake = env.fake
    subs = env.checker.subscriptions
    cb = await fake.wait_response(await fake.slash(fake.alice, "factbot", "digest", "subscribe",
                                                   day="monday", time="09:00", timezone="Europe/Berlin"))
    assert cb["data"]["flags"] == 64 and "You need the Manage Channels permission" in cb["data"]["content"]
    assert subs.get("discord", fake.guild_id, fake.general) is None

    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "digest", "subscribe",
                                                   day="mon", time="9am", timezone="Mars/Olympus_Mons"))
    assert cb["data"]["flags"] == 64
    assert "is not a time zone; use an IANA name like Europe/Berlin" in cb["data"]["content"]
    assert "Nothing was changed" in cb["data"]["content"]
    assert subs.get("discord", fake.guild_id, fake.general) is None

    i = await fake.autocomplete(fake.admin, "factbot", "digest", "subscribe", focused="timezone",
                                day="monday", time="09:00", timezone="europe/ber")
    assert (await fake.wait_response(i))["data"]["choices"][0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}

    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "digest", "subscribe",
                                                   day="monday", time="09:00", timezone="Europe/Berlin"))
    assert cb["type"] == 4 and "every Monday at 09:00 (Europe/Berlin)" in cb["data"]["content"]
    sub = subs.get("discord", fake.guild_id, fake.general)
    assert (sub.weekday, sub.time, sub.timezone, sub.created_by) == (0, "09:00", "Europe/Berlin", fake.admin.id)

    await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))  # something for the digest to count
    i = await fake.slash(fake.admin, "factbot", "digest", "preview")
    shown = await fake.wait_original(i)
    assert shown["flags"] & 64
    assert shown["embeds"][0]["title"] == "📰 Weekly fact-check digest"
    assert "**1** checks · **1** matched" in shown["embeds"][0]["description"]

    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "digest", "unsubscribe"))
    assert "stopped" in cb["data"]["content"] and subs.get("discord", fake.guild_id, fake.general) is None


# -- safety and limits ---------------------------------------------------------------------------


@e2e()
async def test_injected_mentions_ping_nobody(env: Env):
    fake = env.fake
    hostile = f"@everyone @here <@{fake.bob.id}> <@&{fake.mod_role}> **{NONE_TEXT}** [click](https://evil.example)"
    r = await reply_to(env, await fake.mention(fake.alice, hostile))
    assert_pings_nobody(r)
    shown = next(f["value"] for f in r.json["embeds"][0]["fields"] if f["name"] == "Checked text")
    assert "\\@everyone" in shown and f"\\<\\@{fake.bob.id}\\>" in shown and "\\*\\*" in shown and "\\[click\\]" in shown
    assert render.unescape(shown) == hostile

    i = await fake.slash(fake.alice, "factcheck", text=f"@everyone {MATCH_TEXT} <@{fake.bob.id}>")
    await fake.wait_original(i)
    patch = original_patch(env, i)
    assert patch.json["allowed_mentions"] == {"parse": []} and patch.response["pinged"] == NO_PINGS


@e2e()
async def test_a_10_kb_message_gets_an_answer_within_discords_limits(env: Env):
    fake = env.fake
    text = (MATCH_TEXT + ". ") + ("lorem ipsum dolor sit amet " * 400)[:10_000]
    r = await reply_to(env, await fake.mention(fake.alice, text))
    assert r.status == 200 and not fake.validate(r.json)  # the fake would have refused anything over a limit
    assert r.json["content"].startswith("ℹ️ The message is long; only its first")
    assert r.json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    assert len(json.dumps(r.json["embeds"])) < 6000 + 1000
    i = await fake.slash(fake.bob, "factcheck", text=("zzz " * 1500)[:6000])
    shown = await fake.wait_original(i)
    assert original_patch(env, i).status == 200 and shown["embeds"]


@e2e()
async def test_under_overload_new_requests_are_turned_away_at_once_with_a_clear_reply(env: Env):
    fake, checks = env.fake, env.bot.checks
    checks.pace = 100.0  # as if a check took 100 s: one waiting check is already past max_wait_seconds (30 s)
    env.conversations.set_watch("discord", fake.guild_id, fake.general, True, by="admin")
    busy = ("I'm getting more questions than I can answer right now, so I skipped this one rather than answer it "
            "late. Please ask again in a minute.")
    async with checks.paused():  # a check is running
        waiting = await fake.mention(fake.alice, MATCH_TEXT)
        await eventually(lambda: checks.queued == 1)
        turned_away = await fake.mention(fake.bob, MATCH_TEXT)
        r = await reply_to(env, turned_away)
        assert r.json["content"] == busy and not r.json["embeds"]
        i = await fake.slash(fake.bob, "factcheck", text=MATCH_TEXT)
        assert (await fake.wait_response(i)) == {"type": 5}
        assert (await fake.wait_original(i))["content"] == busy
        m = fake.mark()
        watched = await fake.send_message(fake.bob, MATCH_TEXT)  # watch mode: unasked, so turned away quietly
        await asyncio.sleep(0.2)
        assert checks.queued == 1
    r = await reply_to(env, waiting)  # the one in line gets its verdict
    assert r.json["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    await settle(env)
    assert not replies_to(env, watched, after=m)
    assert "overloaded: 1 check(s) waiting (about 100 s of work)" in env.caplog.text


@e2e(rate=2)
async def test_rate_limit_answers_the_excess_with_one_short_notice(env: Env):
    fake = env.fake
    for _ in range(2):
        r = await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))
        assert r.json["embeds"]
    third = await fake.mention(fake.alice, MATCH_TEXT)
    r = await reply_to(env, third)
    assert r.json["content"].startswith("You're checking a lot of messages at once; try again in")
    assert not r.json["embeds"]
    m = fake.mark()
    fourth = await fake.mention(fake.alice, MATCH_TEXT)
    await settle(env)  # bob is not limited
    assert not replies_to(env, fourth, after=m)  # told once; the rest is dropped quietly
    cb = await fake.wait_response(await fake.slash(fake.alice, "factcheck", text=MATCH_TEXT))
    assert cb["data"]["flags"] == 64 and cb["data"]["content"].startswith("You're checking a lot")


@e2e()
async def test_errors_are_short_and_friendly_and_details_stay_in_the_log(env: Env, ):
    fake = env.fake

    def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded; token={fake.token}")

    env.checker.check = env.checker.timed_check = broken  # type: ignore[method-assign]
    r = await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))
    sorry = "Sorry, I couldn't do that right now. Please try again in a moment."  # the same words as on Slack
    assert r.json["content"] == sorry
    i = await fake.slash(fake.alice, "factcheck", text=MATCH_TEXT)
    shown = await fake.wait_original(i)
    assert shown["content"] == sorry
    sent = json.dumps([r.json for r in fake.requests])
    assert "exploded" not in sent and fake.token not in sent
    errors = [r.getMessage() for r in env.caplog.records if r.name == "factbot.discord" and r.levelname == "ERROR"]
    assert errors == ["could not answer a message: RuntimeError", "command factcheck failed: RuntimeError"]


# -- the gateway -------------------------------------------------------------------------------


@e2e()
async def test_reconnect_in_the_middle_resumes_and_keeps_answering(env: Env):
    fake = env.fake
    await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))
    await fake.drop()
    missed = await fake.mention(fake.alice, NONE_TEXT)  # sent while the bot is away: replayed on RESUME
    await fake.wait_gateway("resume")
    r = await reply_to(env, missed)
    assert r.json["embeds"][0]["title"] == "🔎 No verified claim matches"
    i = await fake.slash(fake.bob, "factcheck", text=MATCH_TEXT)
    assert (await fake.wait_original(i))["embeds"][0]["footer"]["text"].endswith(MATCH_ID)
    await fake.request_reconnect()  # Discord asking for a reconnect (opcode 7)
    await fake.wait_gateway("resume", count=2)
    r = await reply_to(env, await fake.mention(fake.bob, MATCH_TEXT))
    assert r.status == 200
    assert [k for k, _ in fake.gateway_log if k in ("identify", "resume")] == ["identify", "resume", "resume"]
    assert env.adapter.health()[0]


# -- digests and corrections posted by the scheduler ------------------------------------------------


@e2e(engines=ENGINES)
async def test_scheduler_posts_digests_and_corrections_through_the_poster(env: Env):
    from bot.scheduler import DeliveryGone, DigestService

    fake = env.fake
    service = DigestService(env.checker.store, {"discord": env.adapter.poster()}, clock=env.clock)
    reply = await reply_to(env, await fake.mention(fake.alice, MATCH_TEXT))
    await recorded(env, reply.response["id"])

    # A verdict change: the earlier reply gets a correction in reply, and is marked "updated".
    claim = env.checker.claim(MATCH_ID)
    env.checker.store.upsert_claims([dataclasses.replace(claim, verdict=Verdict.MISLEADING)])
    m = fake.mark()
    assert await service.send_corrections() == 1
    note = await reply_to(env, {"id": reply.response["id"], "channel_id": fake.general}, after=m)
    assert note.json["content"].startswith("✏️ Correction: the verdict on “Alibaba illicitly extracted")
    assert "from Unverified to ⚠️ Misleading" in note.json["content"]
    assert_pings_nobody(note)
    assert fake.messages[reply.response["id"]]["content"] == "✏️ Updated: this verdict is now ⚠️ Misleading; see the correction below."
    assert fake.messages[reply.response["id"]]["embeds"]  # the original verdict stays readable
    assert await service.send_corrections() == 0  # told once

    # A digest: posted with its period tag, found again after a "crash", refused for a channel that is gone.
    cb = await fake.wait_response(await fake.slash(fake.admin, "factbot", "digest", "subscribe",
                                                   day="monday", time="09:00", timezone="UTC"))
    assert cb["type"] == 4
    sub = env.checker.subscriptions.get("discord", fake.guild_id, fake.general)
    m = fake.mark()
    message_id = await service.send_now(sub)
    post = await fake.wait_request("POST", f"/channels/{fake.general}/messages", after=m)
    assert post.response["id"] == message_id and not fake.validate(post.json)
    assert post.json["embeds"][0]["title"] == "📰 Weekly fact-check digest"
    assert post.json["embeds"][0]["footer"]["text"].startswith("factbot weekly digest · manual-")
    poster = env.adapter.poster()
    period = post.json["embeds"][0]["footer"]["text"].removeprefix("factbot weekly digest · ")
    assert await poster.find_digest(sub, period=period) == message_id
    assert await poster.find_digest(sub, period="2020-01-06") is None
    gone = dataclasses.replace(sub, channel="1234567890123456789")
    with pytest.raises(DeliveryGone):
        await poster.post_digest(gone, service.preview(sub), period="2026-11-23")


@e2e()
async def test_a_connection_discord_will_not_resume_is_reported(env: Env):
    """A token reset while running: Discord closes with 4004; health turns red and the log says why."""
    await env.fake.drop(code=4004)
    await eventually(lambda: env.bot.is_closed())
    assert env.adapter.health() == (False, "not connected")
    errors = await eventually(lambda: [r.getMessage() for r in env.caplog.records if r.levelname == "ERROR"])
    assert errors == ["the Discord connection ended and will not come back: ConnectionClosed (code 4004)"]
