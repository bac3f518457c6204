"""A fake Discord on 127.0.0.1 for end-to-end tests: the gateway WebSocket and the REST routes factbot uses.

The real discord.py client connects to it exactly as it connects to Discord
(``Route.BASE`` and the gateway URL pointed here): HELLO, IDENTIFY → READY +
GUILD_CREATE, heartbeats, RESUME → RESUMED with the missed events replayed,
zlib-stream compression when asked for.  Tests push MESSAGE_CREATE and
INTERACTION_CREATE events the way Discord would (message content withheld
when the bot did not ask for the message-content intent and is not
mentioned; members' permissions computed from their roles), and every REST
request is recorded (method, path, query, JSON body) so a test can assert on
the exact embeds, components and ``allowed_mentions`` the bot sent.  Message
bodies are checked against Discord's limits and rejected with Discord's
error shape, and who a message would actually ping is computed from its
content and ``allowed_mentions`` (``pinged``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import itertools
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
TOKEN = "fake-bot-token.for-tests-only"

# Permission bits (https://discord.com/developers/docs/topics/permissions).
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_CHANNELS = 1 << 4
ADMINISTRATOR = 1 << 3
SEND_MESSAGES_IN_THREADS = 1 << 38
MEMBER_PERMS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY | USE_APPLICATION_COMMANDS | MENTION_EVERYONE

INTENT_MESSAGE_CONTENT = 1 << 15

_snowflakes = itertools.count(1_310_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_snowflakes))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class User:
    id: str
    username: str
    bot: bool = False
    roles: tuple[str, ...] = ()
    locale: str = "en-US"  # the language of this person's Discord client (an interaction's ``locale``)

    def payload(self) -> dict[str, Any]:
        data = {"id": self.id, "username": self.username, "discriminator": "0", "global_name": self.username,
                "avatar": None, "public_flags": 0}
        if self.bot:
            data["bot"] = True
        return data

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    status: int = 0
    response: Any = None


@dataclass
class Interaction:
    id: str
    token: str
    type: int
    channel_id: str
    user: User
    message_id: str | None = None  # the message a component sat on
    original_id: str | None = None  # the response message
    acknowledged: bool = False
    callback: dict[str, Any] | None = None


@dataclass
class Session:
    id: str
    intents: int
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)


class Connection:
    def __init__(self, ws: web.WebSocketResponse, compress: bool):
        self.ws = ws
        self.deflate = zlib.compressobj() if compress else None
        self.session: Session | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        if self.deflate is not None:
            await self.ws.send_bytes(self.deflate.compress(data.encode()) + self.deflate.flush(zlib.Z_SYNC_FLUSH))
        else:
            await self.ws.send_str(data)


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: Any = None):
        self.status, self.code, self.message, self.errors = status, code, message, errors


class FakeDiscord:
    """One guild (#general, #random), five people, another bot, and factbot's application."""

    def __init__(self, *, token: str = TOKEN, allow_message_content: bool = True):
        self.token = token
        self.allow_message_content = allow_message_content  # False: the portal switch is off (close 4014)
        self.app_id = snowflake()
        self.bot = User(self.app_id, "factbot", bot=True)
        self.guild_id = snowflake()
        self.preferred_locale = "en-US"  # Server Settings → Community → Server primary language
        self.general = snowflake()
        self.random = snowflake()
        self.mod_role, self.admin_role, self.bot_role = snowflake(), snowflake(), snowflake()
        self.roles = {
            self.guild_id: ("@everyone", MEMBER_PERMS, False),
            self.mod_role: ("Moderators", MANAGE_MESSAGES, False),
            self.admin_role: ("Admins", MANAGE_CHANNELS, False),
            self.bot_role: ("factbot", VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY, True),
        }
        self.alice = User(snowflake(), "alice")
        self.bob = User(snowflake(), "bob")
        self.mod = User(snowflake(), "mona", roles=(self.mod_role,))
        self.admin = User(snowflake(), "adam", roles=(self.admin_role,))
        self.other_bot = User(snowflake(), "otherbot", bot=True)
        self.bot.roles = (self.bot_role,)
        self.users = {u.id: u for u in (self.bot, self.alice, self.bob, self.mod, self.admin, self.other_bot)}

        self.requests: list[Recorded] = []
        self.identified_shards: list[Any] = []  # IDENTIFY's "shard" ([id, count], or None when not sharded)
        self.gateway_log: list[tuple[str, Any]] = []  # ("identify", intents), ("resume", seq), ("heartbeat", seq)...
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.interactions: dict[str, Interaction] = {}
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None
        self.connections: list[Connection] = []
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> FakeDiscord:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- waiting ----------------------------------------------------------------------
    def mark(self) -> int:
        """The position in the request log; pass it as ``after`` to look only at what comes next."""
        return len(self.requests)

    async def wait_until(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:
        assert self._changed is not None
        async with self._changed:
            result = condition()
            if result:
                return result
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)
            return condition()

    def find(self, method: str | None = None, path: str | re.Pattern | None = None, *, after: int = 0,
             where: Callable[[Recorded], bool] | None = None) -> list[Recorded]:
        out = []
        for r in self.requests[after:]:
            if method and r.method != method:
                continue
            if isinstance(path, str) and r.path != path:
                continue
            if isinstance(path, re.Pattern) and not path.fullmatch(r.path):
                continue
            if where and not where(r):
                continue
            out.append(r)
        return out

    async def wait_request(self, method: str | None = None, path: str | re.Pattern | None = None, *, after: int = 0,
                           where: Callable[[Recorded], bool] | None = None, timeout: float = 5.0) -> Recorded:
        """The first matching request after ``after`` that has been answered (waits for it)."""
        found = await self.wait_until(
            lambda: [r for r in self.find(method, path, after=after, where=where) if r.status], timeout
        )
        return found[0]

    async def wait_gateway(self, kind: str, *, count: int = 1, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: sum(1 for k, _ in self.gateway_log if k == kind) >= count, timeout)

    # -- the guild as Discord describes it ---------------------------------------------
    def permissions(self, user: User) -> int:
        perms = 0
        for role_id in (self.guild_id, *user.roles):
            perms |= self.roles[role_id][1]
        return ADMINISTRATOR | perms if perms & ADMINISTRATOR else perms

    def member(self, user: User, *, with_user: bool = True, with_permissions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"roles": list(user.roles), "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False,
                                "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
                                "premium_since": None, "communication_disabled_until": None}
        if with_user:
            data["user"] = user.payload()
        if with_permissions:
            data["permissions"] = str(self.permissions(user))
        return data

    def channel(self, channel_id: str) -> dict[str, Any]:
        name = "general" if channel_id == self.general else "random"
        return {"id": channel_id, "type": 0, "guild_id": self.guild_id, "name": name, "position": 0 if name == "general" else 1,
                "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None, "last_message_id": None,
                "rate_limit_per_user": 0, "flags": 0}

    def guild(self) -> dict[str, Any]:
        roles = [
            {"id": rid, "name": name, "permissions": str(perms), "position": i, "color": 0, "colors": {"primary_color": 0},
             "hoist": False, "managed": managed, "mentionable": False, "icon": None, "unicode_emoji": None, "flags": 0,
             **({"tags": {"bot_id": self.bot.id}} if managed else {})}
            for i, (rid, (name, perms, managed)) in enumerate(self.roles.items())
        ]
        return {
            "id": self.guild_id, "name": "Fact Fans", "icon": None, "splash": None, "discovery_splash": None,
            "owner_id": self.admin.id, "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "roles": roles, "emojis": [],
            "stickers": [], "features": [], "mfa_level": 0, "application_id": None, "system_channel_id": None,
            "system_channel_flags": 0, "rules_channel_id": None, "max_members": 500000, "vanity_url_code": None,
            "description": None, "banner": None, "premium_tier": 0, "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale, "public_updates_channel_id": None, "nsfw_level": 0,
            "premium_progress_bar_enabled": False, "joined_at": "2026-01-01T00:00:00+00:00", "large": False,
            "unavailable": False, "member_count": len(self.users),
            "members": [self.member(u) for u in self.users.values()],
            "channels": [self.channel(self.general), self.channel(self.random)],
            "threads": [], "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "soundboard_sounds": [],
        }

    # -- gateway ----------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, compress=request.query.get("compress") == "zlib-stream")
        self.connections.append(conn)
        try:
            await conn.send({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                await self._gateway_op(conn, payload["op"], payload.get("d"))
        finally:
            if conn in self.connections:
                self.connections.remove(conn)
            if conn.session is not None:
                self.gateway_log.append(("disconnect", conn.session.id))
                await self._notify()
        return ws

    async def _gateway_op(self, conn: Connection, op: int, d: Any) -> None:
        if op == 1:  # heartbeat
            self.gateway_log.append(("heartbeat", d))
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:  # identify
            if d.get("token") != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            intents = int(d.get("intents", 0))
            if intents & INTENT_MESSAGE_CONTENT and not self.allow_message_content:
                self.gateway_log.append(("disallowed-intents", intents))
                await self._notify()
                await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            session = Session(id="session-" + snowflake(), intents=intents)
            self.sessions[session.id] = session
            self.session = session
            conn.session = session
            self.gateway_log.append(("identify", intents))
            self.identified_shards.append(d.get("shard"))
            await self._send_event(conn, "READY", {
                "v": 10, "user": self.bot.payload(), "guilds": [{"id": self.guild_id, "unavailable": True}],
                "session_id": session.id, "resume_gateway_url": self.gateway_url, "session_type": "normal",
                "application": {"id": self.app_id, "flags": 0}, "private_channels": [], "relationships": [],
            })
            await self._send_event(conn, "GUILD_CREATE", self.guild())
            await self._notify()
        elif op == 6:  # resume
            session = self.sessions.get(d.get("session_id"))
            if session is None or d.get("token") != self.token:
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            conn.session = session
            self.session = session
            missed = [e for e in session.log if e["s"] > (d.get("seq") or 0)]
            self.gateway_log.append(("resume", d.get("seq")))
            for event in missed:
                await conn.send(event)
            await self._send_event(conn, "RESUMED", {})
            await self._notify()
        else:  # presence, voice, member requests: not used by factbot
            self.gateway_log.append((f"op{op}", d))

    async def _send_event(self, conn: Connection, name: str, data: Any) -> None:
        session = conn.session
        assert session is not None
        session.seq += 1
        event = {"op": 0, "t": name, "s": session.seq, "d": data}
        session.log.append(event)
        await conn.send(event)

    def _live(self) -> Connection | None:
        for conn in reversed(self.connections):
            if conn.session is self.session and not conn.ws.closed:
                return conn
        return None

    async def dispatch(self, name: str, data: Any) -> None:
        """Send an event to the bot; while it is disconnected the event waits for its RESUME, as on Discord."""
        session = self.session
        assert session is not None, "the bot has not identified yet"
        conn = self._live()
        if conn is None:
            session.seq += 1
            session.log.append({"op": 0, "t": name, "s": session.seq, "d": data})
            return
        await self._send_event(conn, name, data)

    def _echo(self, name: str, data: Any) -> None:
        """What the bot did over REST comes back over its gateway; a REST-only client (no session) gets nothing."""
        if self.session is not None:
            asyncio.get_running_loop().create_task(self.dispatch(name, data))

    async def drop(self, code: int = 4000) -> None:
        """Close the gateway connection (4000: "unknown error", which a client resumes)."""
        conn = self._live()
        assert conn is not None, "no live gateway connection"
        await conn.ws.close(code=code, message=b"dropped by the test")

    async def request_reconnect(self) -> None:
        """Opcode 7: Discord asking the client to reconnect and resume."""
        conn = self._live()
        assert conn is not None
        await conn.send({"op": 7, "d": None, "s": None, "t": None})

    # -- messages as Discord builds them ------------------------------------------------
    def _content_visible(self, message: dict[str, Any]) -> bool:
        session = self.session
        if session is None or session.intents & INTENT_MESSAGE_CONTENT:
            return True
        if message["author"]["id"] == self.bot.id or "guild_id" not in message:
            return True
        return any(m["id"] == self.bot.id for m in message.get("mentions", []))

    def _as_delivered(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message as the bot receives it: without content unless the intent or a mention allows it."""
        out = dict(message)
        if not self._content_visible(message):
            out.update(content="", embeds=[], attachments=[], components=[])
        ref = message.get("referenced_message")
        if ref is not None:
            out["referenced_message"] = self._as_delivered(ref)
        return out

    def pinged(self, content: str, allowed: dict[str, Any] | None, *, reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """Who a message would notify, from its content and allowed_mentions (Discord's rules)."""
        if allowed is None:
            allowed = {"parse": ["everyone", "users", "roles"], "replied_user": True}
        parse = set(allowed.get("parse", []))
        users = set(allowed.get("users", []))
        roles = set(allowed.get("roles", []))
        content = content or ""
        everyone = "everyone" in parse and bool(re.search(r"(?<!\\)@(everyone|here)\b", content))
        mentioned_users = [u for u in re.findall(r"(?<!\\)<@!?(\d+)>", content) if "users" in parse or u in users]
        mentioned_roles = [r for r in re.findall(r"(?<!\\)<@&(\d+)>", content) if "roles" in parse or r in roles]
        if reply_to is not None and allowed.get("replied_user"):
            mentioned_users.append(reply_to["author"]["id"])
        return {"everyone": everyone, "users": sorted(set(mentioned_users)), "roles": sorted(set(mentioned_roles))}

    def _message(self, *, channel_id: str, author: User, content: str = "", embeds: list | None = None,
                 components: list | None = None, flags: int = 0, reference: dict | None = None,
                 allowed_mentions: dict | None = None, interaction: Interaction | None = None,
                 mentions: Iterable[User] = (), mention_roles: Iterable[str] = ()) -> dict[str, Any]:
        message_id = snowflake()
        referenced = self.messages.get(reference["message_id"]) if reference and reference.get("message_id") else None
        if author.id == self.bot.id:
            ping = self.pinged(content, allowed_mentions, reply_to=referenced)
            mention_users = [self.users[u].payload() for u in ping["users"] if u in self.users]
            role_ids, everyone = ping["roles"], ping["everyone"]
        else:
            ping = None
            mention_users = [u.payload() for u in mentions]
            role_ids, everyone = list(mention_roles), bool(re.search(r"@(everyone|here)\b", content))
        message: dict[str, Any] = {
            "id": message_id, "channel_id": channel_id, "guild_id": self.guild_id, "author": author.payload(),
            "content": content, "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": everyone, "mentions": mention_users, "mention_roles": role_ids, "attachments": [],
            "embeds": [dict(e, type=e.get("type", "rich")) for e in embeds or []], "pinned": False,
            "type": 19 if reference else 0, "flags": flags, "components": components or [],
        }
        if author.id != self.bot.id:
            message["member"] = self.member(author, with_user=False)
        if reference:
            message["message_reference"] = {"type": 0, "message_id": reference.get("message_id"),
                                            "channel_id": reference.get("channel_id", channel_id), "guild_id": self.guild_id}
            message["referenced_message"] = referenced
        if interaction is not None:
            message["application_id"] = self.app_id
            message["webhook_id"] = self.app_id
            message["interaction_metadata"] = {"id": interaction.id, "type": interaction.type,
                                               "user": interaction.user.payload(),
                                               "authorizing_integration_owners": {"0": self.guild_id}}
        if ping is not None:
            message["pinged"] = ping  # not a Discord field: what the fake computed, for assertions
        self.messages[message_id] = message
        return message

    async def send_message(self, author: User, content: str, *, channel: str | None = None,
                           mentions: Iterable[User] = (), mention_roles: Iterable[str] = (),
                           reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """A person (or another bot) posts in a channel: MESSAGE_CREATE as the bot would receive it."""
        reference = {"message_id": reply_to["id"], "channel_id": reply_to["channel_id"]} if reply_to else None
        message = self._message(channel_id=channel or self.general, author=author, content=content,
                                mentions=mentions, mention_roles=mention_roles, reference=reference)
        await self.dispatch("MESSAGE_CREATE", self._as_delivered(message))
        return message

    async def mention(self, author: User, text: str, **kwargs: Any) -> dict[str, Any]:
        """``@factbot <text>``."""
        return await self.send_message(author, f"{self.bot.mention} {text}".strip(),
                                       mentions=[self.bot, *kwargs.pop("mentions", ())], **kwargs)

    # -- interactions ---------------------------------------------------------------
    def _interaction_payload(self, kind: int, data: dict[str, Any], user: User, channel_id: str,
                             message: dict[str, Any] | None = None) -> tuple[Interaction, dict[str, Any]]:
        interaction = Interaction(id=snowflake(), token="itoken-" + snowflake(), type=kind, channel_id=channel_id, user=user,
                                  message_id=message["id"] if message else None)
        self.interactions[interaction.token] = interaction
        payload = {
            "id": interaction.id, "application_id": self.app_id, "type": kind, "data": data,
            "guild_id": self.guild_id, "channel_id": channel_id, "channel": self.channel(channel_id),
            "member": self.member(user, with_permissions=True), "token": interaction.token, "version": 1,
            "app_permissions": str(self.permissions(self.bot)), "locale": user.locale, "guild_locale": self.preferred_locale,
            "entitlements": [], "authorizing_integration_owners": {"0": self.guild_id}, "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        return interaction, payload

    @staticmethod
    def _options(values: dict[str, Any], focused: str | None = None) -> list[dict[str, Any]]:
        out = []
        for name, value in values.items():
            kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
            option = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            out.append(option)
        return out

    def _command_data(self, name: str, path: Iterable[str], options: dict[str, Any], focused: str | None) -> dict:
        path = list(path)
        inner = self._options(options, focused)
        for i, sub in reversed(list(enumerate(path))):
            kind = 1 if i == len(path) - 1 else 2  # the last name is a subcommand, the others groups
            inner = [{"name": sub, "type": kind, "options": inner}]
        return {"id": snowflake(), "name": name, "type": 1, "options": inner}

    async def slash(self, user: User, name: str, *path: str, channel: str | None = None, **options: Any) -> Interaction:
        """A slash command, e.g. ``slash(alice, "factbot", "watch", "on")`` or ``slash(alice, "factcheck", text=...)``."""
        interaction, payload = self._interaction_payload(2, self._command_data(name, path, options, None), user,
                                                         channel or self.general)
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def autocomplete(self, user: User, name: str, *path: str, focused: str, channel: str | None = None,
                           **options: Any) -> Interaction:
        interaction, payload = self._interaction_payload(4, self._command_data(name, path, options, focused), user,
                                                         channel or self.general)
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def context_menu(self, user: User, name: str, message: dict[str, Any]) -> Interaction:
        """A message command: Discord resolves the target message, content included (no intent needed)."""
        data = {"id": snowflake(), "name": name, "type": 3, "target_id": message["id"],
                "resolved": {"messages": {message["id"]: message}}}
        interaction, payload = self._interaction_payload(2, data, user, message["channel_id"])
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def click(self, user: User, message: dict[str, Any] | str, custom_id: str) -> Interaction:
        """Press a button on a message (the current version of it)."""
        message_id = message if isinstance(message, str) else message["id"]
        current = self.messages[message_id]
        ids = [c.get("custom_id") for row in current.get("components", []) for c in row.get("components", [])]
        assert custom_id in ids, f"no button {custom_id!r} on that message (it has {ids})"
        interaction, payload = self._interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, user,
                                                         current["channel_id"], message=current)
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def wait_response(self, interaction: Interaction, *, timeout: float = 5.0) -> dict[str, Any]:
        """The callback the bot answered ``interaction`` with: {"type": ..., "data": ...}."""
        await self.wait_until(lambda: interaction.callback is not None, timeout)
        assert interaction.callback is not None
        return interaction.callback

    def original(self, interaction: Interaction) -> dict[str, Any] | None:
        return self.messages.get(interaction.original_id or "")

    async def wait_original(self, interaction: Interaction, *, timeout: float = 5.0) -> dict[str, Any]:
        """The interaction's response message once it is no longer "thinking"."""
        def done():
            m = self.original(interaction)
            return m if m is not None and not m["flags"] & 128 else None
        return await self.wait_until(done, timeout)

    # -- REST -----------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if raw:
                if request.content_type == "application/json":
                    body = json.loads(raw)
                else:
                    body = {"_raw": raw.decode("utf-8", "replace")}
        rec = Recorded(request.method, path, dict(request.query), body)
        self.requests.append(rec)
        try:
            status, response = await self._route(request, rec)
        except DiscordError as exc:
            status, response = exc.status, {"code": exc.code, "message": exc.message, **({"errors": exc.errors} if exc.errors else {})}
        rec.status, rec.response = status, copy.deepcopy(response)  # as answered then, not as edited later
        await self._notify()
        if status == 204:
            return web.Response(status=204)
        # Exactly "application/json", as Discord sends it (discord.py compares the header verbatim).
        return web.Response(status=status, body=json.dumps(response).encode(), headers={"Content-Type": "application/json"})

    def _authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")

    async def _route(self, request: web.Request, rec: Recorded) -> tuple[int, Any]:
        m, p = rec.method, rec.path
        if p.startswith("/interactions/") or p.startswith("/webhooks/"):
            return await self._interaction_routes(m, p, rec.json)
        self._authorised(request)
        if m == "GET" and p == "/users/@me":
            return 200, {**self.bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0}
        if m == "GET" and p in ("/oauth2/applications/@me", "/applications/@me"):
            return 200, self.application()
        if m == "GET" and p in ("/gateway/bot", "/gateway"):
            return 200, {"url": self.gateway_url, "shards": 1,
                         "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}
        if match := re.fullmatch(r"/applications/(\d+)(?:/guilds/(\d+))?/commands", p):
            return self._commands(m, match.group(1), match.group(2), rec.json)
        if match := re.fullmatch(r"/channels/(\d+)", p):
            self._check_channel(match.group(1))
            return 200, self.channel(match.group(1))
        if match := re.fullmatch(r"/channels/(\d+)/typing", p):
            return 204, None
        if match := re.fullmatch(r"/channels/(\d+)/messages", p):
            channel_id = match.group(1)
            self._check_channel(channel_id)
            if m == "POST":
                message = self._create_from_body(channel_id, self.bot, rec.json or {})
                self._echo("MESSAGE_CREATE", self._as_delivered(message))
                return 200, message
            if m == "GET":
                limit = int(request.query.get("limit", 50))
                found = [msg for msg in self.messages.values() if msg["channel_id"] == channel_id]
                return 200, sorted(found, key=lambda x: int(x["id"]), reverse=True)[:limit]
        if match := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", p):
            channel_id, message_id = match.groups()
            self._check_channel(channel_id)
            message = self.messages.get(message_id)
            if message is None or message["channel_id"] != channel_id:
                raise DiscordError(404, 10008, "Unknown Message")
            if m == "GET":
                return 200, self._as_delivered(message)
            if m == "PATCH":
                return 200, self._edit(message, rec.json or {})
            if m == "DELETE":
                if message["author"]["id"] != self.bot.id and not self.permissions(self.bot) & MANAGE_MESSAGES:
                    raise DiscordError(403, 50013, "Missing Permissions")
                self._delete(message_id)
                return 204, None
        raise DiscordError(404, 0, "404: Not Found")

    def _check_channel(self, channel_id: str) -> None:
        if channel_id not in (self.general, self.random):
            raise DiscordError(404, 10003, "Unknown Channel")

    def application(self) -> dict[str, Any]:
        return {"id": self.app_id, "name": "factbot", "icon": None, "description": "", "summary": "", "type": None,
                "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                "owner": self.admin.payload(), "team": None, "rpc_origins": [], "hook": True,
                "interactions_endpoint_url": None, "tags": [], "bot": self.bot.payload()}

    def _commands(self, method: str, app_id: str, guild_id: str | None, body: Any) -> tuple[int, Any]:
        if app_id != self.app_id or guild_id not in (None, self.guild_id):  # not in that server
            raise DiscordError(403, 50001, "Missing Access")
        if method == "GET":
            return 200, self.commands.get(guild_id, [])
        if method == "PUT":
            if not isinstance(body, list) or len(body) > 100:
                raise DiscordError(400, 50035, "Invalid Form Body")
            saved = []
            for cmd in body:
                cmd = dict(cmd, id=snowflake(), application_id=self.app_id, version=snowflake())
                cmd.setdefault("description", "")
                cmd.setdefault("type", 1)
                if guild_id:
                    cmd["guild_id"] = guild_id
                saved.append(cmd)
            self.commands[guild_id] = saved
            return 200, saved
        raise DiscordError(405, 0, "405: Method Not Allowed")

    # message bodies -------------------------------------------------------------------
    @staticmethod
    def validate(body: dict[str, Any]) -> list[str]:
        """Discord's limits on a message body; each problem as a readable string."""
        problems = []
        content = body.get("content") or ""
        if len(content) > 2000:
            problems.append(f"content is {len(content)} characters (max 2000)")
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            problems.append(f"{len(embeds)} embeds (max 10)")
        total = 0
        for i, e in enumerate(embeds):
            size = 0
            for key, limit in (("title", 256), ("description", 4096)):
                n = len(e.get(key) or "")
                size += n
                if n > limit:
                    problems.append(f"embeds[{i}].{key} is {n} (max {limit})")
            fields = e.get("fields") or []
            if len(fields) > 25:
                problems.append(f"embeds[{i}] has {len(fields)} fields (max 25)")
            for j, f in enumerate(fields):
                name, value = f.get("name") or "", f.get("value") or ""
                if not name or not value:
                    problems.append(f"embeds[{i}].fields[{j}] needs a name and a value")
                if len(name) > 256:
                    problems.append(f"embeds[{i}].fields[{j}].name is {len(name)} (max 256)")
                if len(value) > 1024:
                    problems.append(f"embeds[{i}].fields[{j}].value is {len(value)} (max 1024)")
                size += len(name) + len(value)
            footer = (e.get("footer") or {}).get("text") or ""
            author = (e.get("author") or {}).get("name") or ""
            if len(footer) > 2048:
                problems.append(f"embeds[{i}].footer.text is {len(footer)} (max 2048)")
            if len(author) > 256:
                problems.append(f"embeds[{i}].author.name is {len(author)} (max 256)")
            size += len(footer) + len(author)
            total += size
        if total > 6000:
            problems.append(f"embeds total {total} characters (max 6000)")
        for r, row in enumerate(body.get("components") or []):
            buttons = row.get("components") or []
            if len(buttons) > 5:
                problems.append(f"components[{r}] has {len(buttons)} buttons (max 5)")
            for b in buttons:
                if len(b.get("custom_id") or "") > 100:
                    problems.append(f"custom_id {b.get('custom_id')!r} is over 100 characters")
                if len(b.get("label") or "") > 80:
                    problems.append(f"button label is {len(b.get('label'))} (max 80)")
        return problems

    def _check_body(self, body: dict[str, Any]) -> None:
        problems = self.validate(body)
        if problems:
            raise DiscordError(400, 50035, "Invalid Form Body", {"problems": problems})

    def _create_from_body(self, channel_id: str, author: User, body: dict[str, Any], *,
                          interaction: Interaction | None = None, flags: int = 0) -> dict[str, Any]:
        self._check_body(body)
        if not (body.get("content") or body.get("embeds") or flags & 128):
            raise DiscordError(400, 50006, "Cannot send an empty message")
        reference = body.get("message_reference")
        if reference and reference.get("fail_if_not_exists", True) and reference.get("message_id") not in self.messages:
            raise DiscordError(400, 50035, "Invalid Form Body", {"message_reference": "Unknown message"})
        return self._message(channel_id=channel_id, author=author, content=body.get("content") or "",
                             embeds=body.get("embeds"), components=body.get("components"),
                             flags=flags | int(body.get("flags") or 0), reference=reference,
                             allowed_mentions=body.get("allowed_mentions"), interaction=interaction)

    def _edit(self, message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        merged = {k: message.get(k) for k in ("content", "embeds", "components")}
        merged.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        self._check_body(merged)
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "embeds" in body:
            message["embeds"] = [dict(e, type=e.get("type", "rich")) for e in message["embeds"]]
        if "allowed_mentions" in body or "content" in body:
            message["pinged"] = self.pinged(message["content"], body.get("allowed_mentions"))
        message["flags"] = message["flags"] & ~128
        message["edited_timestamp"] = _now()
        return message

    def _delete(self, message_id: str) -> None:
        message = self.messages.pop(message_id)
        self.deleted.add(message_id)
        self._echo("MESSAGE_DELETE", {"id": message_id, "channel_id": message["channel_id"], "guild_id": self.guild_id})

    # interaction callbacks and webhooks -------------------------------------------------
    async def _interaction_routes(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if match := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path):
            interaction = self.interactions.get(match.group(2))
            if interaction is None or interaction.id != match.group(1):
                raise DiscordError(404, 10062, "Unknown interaction")
            if interaction.acknowledged:
                raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
            result = self._callback(interaction, body or {})
            interaction.acknowledged = True
            interaction.callback = body
            return 200, result
        match = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(?:/messages/(@original|\d+))?", path)
        if match is None or match.group(1) != self.app_id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        interaction = self.interactions.get(match.group(2))
        if interaction is None or not interaction.acknowledged:
            raise DiscordError(404, 10015, "Unknown Webhook")
        target = match.group(3)
        if target is None and method == "POST":  # a followup
            original = self.original(interaction)
            if original is not None and original["flags"] & 128:  # the first followup fills a "thinking" reply
                return 200, self._edit(original, body or {})
            return 200, self._create_from_body(interaction.channel_id, self.bot, body or {}, interaction=interaction)
        message_id = interaction.original_id if target == "@original" else target
        message = self.messages.get(message_id or "")
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        if method == "GET":
            return 200, message
        if method == "PATCH":
            return 200, self._edit(message, body or {})
        if method == "DELETE":
            self._delete(message["id"])
            return 204, None
        raise DiscordError(405, 0, "405: Method Not Allowed")

    def _callback(self, interaction: Interaction, body: dict[str, Any]) -> dict[str, Any]:
        kind = body.get("type")
        data = body.get("data") or {}
        info: dict[str, Any] = {"id": interaction.id, "type": interaction.type}
        out: dict[str, Any] = {"interaction": info}
        if kind == 4:  # a message
            message = self._create_from_body(interaction.channel_id, self.bot, data, interaction=interaction)
            interaction.original_id = message["id"]
            info.update(response_message_id=message["id"], response_message_loading=False,
                        response_message_ephemeral=bool(message["flags"] & 64))
            out["resource"] = {"type": 4, "message": message}
        elif kind == 5:  # "thinking…", answered later by editing @original
            message = self._create_from_body(interaction.channel_id, self.bot, {}, interaction=interaction,
                                             flags=128 | (int(data.get("flags") or 0) & 64))
            interaction.original_id = message["id"]
            info.update(response_message_id=message["id"], response_message_loading=True,
                        response_message_ephemeral=bool(message["flags"] & 64))
            out["resource"] = {"type": 5, "message": message}
        elif kind in (6, 7):  # components: acknowledge, or update the message the button is on
            if interaction.message_id is None:
                raise DiscordError(400, 40004, "Interaction type requires a message component")
            interaction.original_id = interaction.message_id
            if kind == 7:
                message = self._edit(self.messages[interaction.message_id], data)
                out["resource"] = {"type": 7, "message": message}
        elif kind == 8:  # autocomplete choices
            choices = data.get("choices") or []
            if len(choices) > 25 or any(len(c["name"]) > 100 or len(str(c["value"])) > 100 for c in choices):
                raise DiscordError(400, 50035, "Invalid Form Body", {"choices": "too many or too long"})
        else:
            raise DiscordError(400, 50035, "Invalid Form Body", {"type": f"unsupported callback type {kind}"})
        return out


class ThreadedFakeDiscord:
    """The fake on its own event loop in a thread, for code that runs ``asyncio.run`` itself (``runner.run``)."""

    def __init__(self, **kwargs: Any):
        self.fake = FakeDiscord(**kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeDiscord:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self._loop).result(10)
        return self.fake

    def call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
