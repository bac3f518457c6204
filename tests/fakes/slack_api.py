"""A fake Slack Web API on 127.0.0.1 for end-to-end tests.

The real slack-sdk clients talk to it exactly as they talk to Slack
(``base_url`` pointed here): form-encoded or JSON bodies, ``Authorization:
Bearer`` tokens, HTTP 429 with ``Retry-After`` when asked to rate-limit.
Every call is recorded (method, parsed body, token) so a test can assert on
the exact blocks the bot sent.  Messages are kept per channel, so
``chat.update``/``chat.delete``/``conversations.replies``/``conversations.history``
behave like Slack's; message bodies are checked against Block Kit's limits
and refused with Slack's error shape (``invalid_blocks``, ``msg_too_long``),
and who a message would notify is computed from its mrkdwn (``pinged``).

``response_url`` endpoints (slash commands, shortcuts, buttons) live here
too, and ``apps.connections.open`` hands out the URL of the fake Socket Mode
server (``tests/fakes/slack_socket.py``) when one is attached.

The second half is Slack's other direction: the payloads Slack sends to an
app (events, slash commands, button presses, message shortcuts), the v0
request signature, and ``SlackSender``, which posts them to an app's
``/slack/events`` the way Slack does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import threading
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

API_PREFIX = "/api/"
TEAM = "T0FACTBOT"
TEAM_NAME = "Factbot Test"
BOT_TOKEN = "xoxb-1111-fake-bot-token-for-tests"
APP_TOKEN = "xapp-1-A0FACTBOT-fake-app-token-for-tests"
BOT_USER = "U0FACTBOT"
BOT_ID = "B0FACTBOT"
APP_ID = "A0FACTBOT"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret-for-tests"

# Form fields slack-sdk sends as JSON strings; decoded so tests compare structures.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")

_MENTION = re.compile(r"<(!channel|!here|!everyone|!subteam\^[A-Z0-9]+|@[UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class Call:
    method: str  # "chat.postMessage", ... or "response_url"
    path: str
    body: dict[str, Any]
    token: str
    headers: dict[str, str]
    status: int = 200
    response: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(self.response.get("ok", True))


@dataclass
class Workspace:
    team_id: str
    name: str
    bot_token: str
    bot_user_id: str = BOT_USER
    bot_id: str = BOT_ID
    users: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeSlack:
    def __init__(self, *, socket_url: str = "") -> None:
        self.socket_url = socket_url
        self.calls: list[Call] = []
        self.workspaces: dict[str, Workspace] = {}  # by bot token
        self.app_tokens = {APP_TOKEN}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, oldest first
        self.gone_channels: set[str] = set()  # chat.postMessage answers channel_not_found
        self.oauth_codes: dict[str, tuple[dict[str, Any], str]] = {}  # code -> (oauth.v2.access answer, bot id)
        self.rate_limits: dict[str, list[float]] = {}  # method -> Retry-After of the next 429s
        self.failures: dict[str, list[str]] = {}  # method -> errors for the next calls
        self.holds: list[tuple[str, Callable[[dict[str, Any]], bool], float]] = []  # see hold()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_workspace(TEAM, TEAM_NAME, BOT_TOKEN)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "{method}", self._api)  # slack-sdk GETs some methods
        app.router.add_post("/response/{label}", self._response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    # -- test setup ----------------------------------------------------------------------
    def add_workspace(self, team_id: str, name: str, bot_token: str, *, bot_user_id: str = BOT_USER,
                      bot_id: str = BOT_ID) -> Workspace:
        ws = Workspace(team_id, name, bot_token, bot_user_id, bot_id)
        self.workspaces[bot_token] = ws
        return ws

    def workspace(self, team_id: str) -> Workspace:
        return next(w for w in self.workspaces.values() if w.team_id == team_id)

    def add_user(self, user_id: str, *, team_id: str = TEAM, admin: bool = False, owner: bool = False,
                 locale: str = "en-US") -> str:
        self.workspace(team_id).users[user_id] = {"is_admin": admin, "is_owner": owner, "locale": locale}
        return user_id

    def next_ts(self) -> str:
        return f"{1_760_000_000 + next(self._ts)}.{next(self._ts):06d}"

    def add_message(self, channel: str, text: str, *, user: str = "", ts: str | None = None,
                    thread_ts: str | None = None, bot_id: str | None = None, **extra: Any) -> dict[str, Any]:
        message = {"type": "message", "ts": ts or self.next_ts(), "text": text, **extra}
        if user:
            message["user"] = user
        if bot_id:
            message["bot_id"] = bot_id
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages.setdefault(channel, []).append(message)
        return message

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    def response_url(self, label: str = "r") -> str:
        return f"{self.base_url}/response/{label}"

    def add_oauth_code(self, code: str, *, team_id: str, team_name: str, bot_token: str,
                       bot_user_id: str = "U0FACTBOT2", bot_id: str = "B0FACTBOT2", installer: str = "U0INSTALL") -> None:
        self.oauth_codes[code] = ({
            "ok": True, "app_id": APP_ID, "authed_user": {"id": installer},
            "scope": "app_mentions:read,channels:history,chat:write,commands",
            "token_type": "bot", "access_token": bot_token, "bot_user_id": bot_user_id,
            "team": {"id": team_id, "name": team_name}, "enterprise": None, "is_enterprise_install": False,
        }, bot_id)

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        self.failures[method] = [error] * times

    def hold(self, method: str, where: Callable[[dict[str, Any]], bool], seconds: float) -> None:
        """Answer the calls of ``method`` whose body ``where`` accepts only after ``seconds``; what they do is done
        (and recorded) at once, as when Slack's answer is slow to come back. ``holds.clear()`` ends it."""
        self.holds.append((method, where, seconds))

    def rate_limit(self, method: str, *retry_after: float) -> None:
        """Answer the next len(retry_after) calls of ``method`` with 429 and these Retry-After values."""
        self.rate_limits[method] = list(retry_after) or [1]

    # -- reading what happened -----------------------------------------------------------
    def find(self, method: str, *, after: int = 0, where: Callable[[Call], bool] | None = None) -> list[Call]:
        return [c for c in self.calls[after:] if c.method == method and (where is None or where(c))]

    async def wait_for(self, method: str, *, count: int = 1, after: int = 0, timeout: float = 5.0,
                       where: Callable[[Call], bool] | None = None) -> list[Call]:
        """The first ``count`` matching calls, once they have arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.find(method, after=after, where=where)) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                seen = [c.method for c in self.calls[after:]]
                raise AssertionError(f"timed out waiting for {count} {method} call(s); saw {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found[:count]

    async def next_call(self, method: str, *, after: int = 0, timeout: float = 5.0,
                        where: Callable[[Call], bool] | None = None) -> Call:
        return (await self.wait_for(method, after=after, timeout=timeout, where=where))[0]

    # -- Block Kit checks ----------------------------------------------------------------------
    @staticmethod
    def validate(body: dict[str, Any], *, max_blocks: int = 50) -> list[str]:
        """What Slack would refuse in a message (or view) body, as readable problems; [] when valid."""
        problems: list[str] = []
        text = body.get("text")
        if text is not None and len(text) > 40000:
            problems.append(f"text: {len(text)} > 40000 characters")
        blocks = body.get("blocks")
        if blocks is None:
            if not text:
                problems.append("neither text nor blocks")
            return problems
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if len(blocks) > max_blocks:
            problems.append(f"blocks: {len(blocks)} > {max_blocks}")
        action_ids: set[str] = set()
        block_ids: set[str] = set()

        def check_text(where: str, obj: Any, limit: int, kinds: Iterable[str] = ("plain_text", "mrkdwn")) -> None:
            if not isinstance(obj, dict) or obj.get("type") not in kinds:
                problems.append(f"{where}: not a {'/'.join(kinds)} text object")
                return
            if not obj.get("text"):
                problems.append(f"{where}: empty text")
            elif len(obj["text"]) > limit:
                problems.append(f"{where}: {len(obj['text'])} > {limit} characters")

        def check_element(where: str, el: dict[str, Any]) -> None:
            if el.get("type") != "button":
                problems.append(f"{where}: unsupported element {el.get('type')}")
                return
            check_text(f"{where}.text", el.get("text"), 75, ("plain_text",))
            aid = el.get("action_id", "")
            if not aid or len(aid) > 255:
                problems.append(f"{where}.action_id: missing or over 255")
            if aid in action_ids:
                problems.append(f"{where}.action_id: duplicate {aid}")
            action_ids.add(aid)
            if len(el.get("value", "")) > 2000:
                problems.append(f"{where}.value: {len(el['value'])} > 2000")
            if "confirm" in el:
                c = el["confirm"]
                check_text(f"{where}.confirm.title", c.get("title"), 100, ("plain_text",))
                check_text(f"{where}.confirm.text", c.get("text"), 300)

        for i, block in enumerate(blocks):
            where = f"blocks[{i}]"
            kind = block.get("type")
            bid = block.get("block_id")
            if bid is not None:
                if bid in block_ids:
                    problems.append(f"{where}.block_id: duplicate {bid}")
                block_ids.add(bid)
            if kind == "header":
                check_text(f"{where}.text", block.get("text"), 150, ("plain_text",))
            elif kind == "section":
                if "text" in block:
                    check_text(f"{where}.text", block["text"], 3000)
                elif not block.get("fields"):
                    problems.append(f"{where}: a section needs text or fields")
                for j, f in enumerate(block.get("fields", [])):
                    check_text(f"{where}.fields[{j}]", f, 2000)
            elif kind == "context":
                elements = block.get("elements") or []
                if not 1 <= len(elements) <= 10:
                    problems.append(f"{where}.elements: {len(elements)} (1 to 10)")
                for j, el in enumerate(elements):
                    check_text(f"{where}.elements[{j}]", el, 3000)
            elif kind == "actions":
                elements = block.get("elements") or []
                if not 1 <= len(elements) <= 25:
                    problems.append(f"{where}.elements: {len(elements)} (1 to 25)")
                for j, el in enumerate(elements):
                    check_element(f"{where}.elements[{j}]", el)
            elif kind != "divider":
                problems.append(f"{where}: unsupported block type {kind}")
        return problems

    @staticmethod
    def mrkdwn_texts(body: dict[str, Any]) -> list[str]:
        """Every string Slack parses for mentions: the fallback text and each mrkdwn text object."""
        out = [body["text"]] if isinstance(body.get("text"), str) else []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                    out.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        blocks = body.get("blocks")
        walk(json.loads(blocks) if isinstance(blocks, str) else blocks)
        return out

    @classmethod
    def pinged(cls, body: dict[str, Any]) -> list[str]:
        """Who the message would notify: ``!channel``, ``!here``, ``!everyone``, ``!subteam^…``, ``@U…``."""
        return [m.group(1) for text in cls.mrkdwn_texts(body) for m in _MENTION.finditer(text)]

    # -- the HTTP side ---------------------------------------------------------------------
    async def _parse(self, request: web.Request) -> tuple[dict[str, Any], str]:
        raw = await request.read()
        ctype = request.headers.get("Content-Type", "")
        if request.method == "GET":
            body = dict(request.query)
        elif "json" in ctype:
            body = json.loads(raw or b"{}")
        else:
            body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            for key in _JSON_FIELDS:
                if isinstance(body.get(key), str):
                    with contextlib.suppress(ValueError):
                        body[key] = json.loads(body[key])
        if request.method != "GET" and request.query:
            body = {**dict(request.query), **body}  # slack-sdk sends some arguments in the query string
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else str(body.get("token", ""))
        return body, token

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _response_url(self, request: web.Request) -> web.Response:
        body, token = await self._parse(request)
        problems = self.validate(body) if body.get("blocks") is not None or body.get("text") is not None else []
        response: dict[str, Any] = {"ok": not problems}
        if problems:
            response["error"] = "invalid_blocks"
            response["response_metadata"] = {"messages": problems}
        status = 200 if not problems else 400
        self._record(Call("response_url", request.path, body, token, dict(request.headers), status, response))
        return web.json_response(response, status=status)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body, token = await self._parse(request)
        call = Call(method, request.path, body, token, dict(request.headers))
        pending = self.rate_limits.get(method)
        if pending:
            retry_after = pending.pop(0)
            call.status, call.response = 429, {"ok": False, "error": "ratelimited"}
            self._record(call)
            return web.json_response(call.response, status=429, headers={"Retry-After": f"{retry_after:g}"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if self.failures.get(method):
            response: dict[str, Any] = {"ok": False, "error": self.failures[method].pop(0)}
        elif handler is None:
            response = {"ok": False, "error": "unknown_method"}
        elif method in ("oauth.v2.access", "apps.connections.open"):
            response = handler(body, token, request)
        else:
            ws = self.workspaces.get(token)
            response = {"ok": False, "error": "not_authed" if not token else "invalid_auth"} if ws is None else handler(body, ws)
        call.response = response
        self._record(call)
        held = next((seconds for m, where, seconds in list(self.holds) if m == method and where(body)), 0.0)
        if held:
            await asyncio.sleep(held)
        return web.json_response(response)

    # -- methods -----------------------------------------------------------------------------
    def _auth_test(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {"ok": True, "url": f"https://{ws.name.lower().replace(' ', '-')}.slack.com/", "team": ws.name,
                "user": "factbot", "team_id": ws.team_id, "user_id": ws.bot_user_id, "bot_id": ws.bot_id,
                "is_enterprise_install": False}

    def _refuse(self, body: dict[str, Any]) -> dict[str, Any] | None:
        problems = self.validate(body)
        if not problems:
            return None
        error = "msg_too_long" if any(p.startswith("text:") for p in problems) else (
            "no_text" if problems == ["neither text nor blocks"] else "invalid_blocks")
        return {"ok": False, "error": error, "response_metadata": {"messages": problems}}

    def _chat_postMessage(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = body.get("channel", "")
        if not channel or channel in self.gone_channels:
            return {"ok": False, "error": "channel_not_found"}
        refused = self._refuse(body)
        if refused:
            return refused
        message = self.add_message(channel, body.get("text", ""), user=ws.bot_user_id, bot_id=ws.bot_id,
                                   thread_ts=body.get("thread_ts"), blocks=body.get("blocks") or [], team=ws.team_id)
        if body.get("metadata"):
            message["metadata"] = body["metadata"]
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_postEphemeral(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        if body.get("channel") in self.gone_channels:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return self._refuse(body) or {"ok": True, "message_ts": self.next_ts()}

    def _chat_update(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = body.get("channel", ""), body.get("ts", "")
        message = self.message(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("bot_id") != ws.bot_id:
            return {"ok": False, "error": "cant_update_message"}
        refused = self._refuse(body)
        if refused:
            return refused
        if "text" in body:
            message["text"] = body["text"]
        if "blocks" in body:
            message["blocks"] = body["blocks"]
        message["edited"] = {"user": ws.bot_user_id, "ts": self.next_ts()}
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_delete(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = body.get("channel", ""), body.get("ts", "")
        message = self.message(channel, ts)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("bot_id") != ws.bot_id:
            return {"ok": False, "error": "cant_delete_message"}
        self.messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _views_publish(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = body.get("view") or {}
        problems = self.validate({"blocks": view.get("blocks", [])}, max_blocks=100)
        if problems or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}}
        return {"ok": True, "view": {"id": f"V{next(self._views):08d}", "team_id": ws.team_id, **view}}

    def _users_info(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user_id = body.get("user", "")
        user = ws.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": ws.team_id, "name": user_id.lower(), "deleted": False,
                                     "is_bot": False, "is_admin": user["is_admin"], "is_owner": user["is_owner"],
                                     "is_primary_owner": False,
                                     # as Slack: the user's language only when asked for (include_locale)
                                     **({"locale": user.get("locale", "en-US")}
                                        if str(body.get("include_locale", "")).lower() in ("true", "1") else {})}}

    def _conversations_replies(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel, ts = body.get("channel", ""), body.get("ts", "")
        parent = self.message(channel, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        thread = [parent] + [m for m in self.messages.get(channel, []) if m.get("thread_ts") == ts and m is not parent]
        limit = int(body.get("limit") or 1000)
        return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}

    def _conversations_history(self, body: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = body.get("channel", "")
        if channel in self.gone_channels:
            return {"ok": False, "error": "channel_not_found"}
        inclusive = str(body.get("inclusive", "")).lower() in ("1", "true")
        latest, oldest = body.get("latest"), body.get("oldest")

        def keep(m: dict[str, Any]) -> bool:
            if m.get("thread_ts") and m["thread_ts"] != m["ts"]:
                return False  # thread replies are not in the channel's history
            if latest and (float(m["ts"]) > float(latest) or (not inclusive and m["ts"] == latest)):
                return False
            return not (oldest and (float(m["ts"]) < float(oldest) or not inclusive and m["ts"] == oldest))

        found = [m for m in reversed(self.messages.get(channel, [])) if keep(m)]
        limit = int(body.get("limit") or 100)
        return {"ok": True, "messages": found[:limit], "has_more": len(found) > limit}

    def _oauth_v2_access(self, body: dict[str, Any], token: str, request: web.Request) -> dict[str, Any]:
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client_id" if client_id != CLIENT_ID else "bad_client_secret"}
        found = self.oauth_codes.pop(body.get("code", ""), None)
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        granted, bot_id = found
        team = granted["team"]
        self.add_workspace(team["id"], team["name"], granted["access_token"], bot_user_id=granted["bot_user_id"],
                           bot_id=bot_id)
        return granted

    def _apps_connections_open(self, body: dict[str, Any], token: str, request: web.Request) -> dict[str, Any]:
        if token not in self.app_tokens:
            return {"ok": False, "error": "invalid_auth" if token else "not_authed"}
        if not self.socket_url:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}



# -- Slack's side of the conversation: what Slack sends to an app ------------------------------------

SIGNING_SECRET = "fake-signing-secret-for-tests"
_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The ``X-Slack-Signature`` (v0 HMAC-SHA256 of ``v0:timestamp:body``) and timestamp headers Slack sends."""
    ts = str(int(_time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def event_body(event: dict[str, Any], *, team: str = TEAM, event_id: str | None = None,
               bot_user: str = BOT_USER) -> dict[str, Any]:
    """An Events API ``event_callback`` as Slack delivers it."""
    return {
        "token": "legacy-verification-token", "team_id": team, "api_app_id": APP_ID, "event": event,
        "type": "event_callback", "event_id": event_id or f"Ev{next(_event_ids):08d}", "event_time": int(_time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": bot_user, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }


def command_form(text: str, *, user: str, channel: str, team: str = TEAM, response_url: str,
                 command: str = "/factcheck") -> dict[str, str]:
    """A slash command invocation (form fields over HTTP; the same keys in a Socket Mode envelope)."""
    return {
        "token": "legacy-verification-token", "team_id": team, "team_domain": "factbot-test", "channel_id": channel,
        "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": command, "text": text,
        "api_app_id": APP_ID, "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": f"{next(_trigger_ids)}.trigger",
    }


def block_actions_payload(action_id: str, value: str | None, *, user: str, channel: str, message_ts: str,
                          response_url: str, message: dict[str, Any] | None = None, team: str = TEAM) -> dict[str, Any]:
    """A button press; ``message`` is None for an ephemeral message (Slack does not send those back)."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "factbot_actions", "type": "button",
                              "action_ts": f"{_time.time():.6f}", "text": {"type": "plain_text", "text": "…"}}
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": APP_ID, "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel,
                      "is_ephemeral": message is None},
        "trigger_id": f"{next(_trigger_ids)}.trigger", "team": {"id": team, "domain": "factbot-test"},
        "channel": {"id": channel, "name": "general"}, "response_url": response_url, "actions": [action],
    }
    if message is not None:
        payload["message"] = message
    return payload


def shortcut_payload(message: dict[str, Any], *, user: str, channel: str, response_url: str,
                     team: str = TEAM, callback_id: str = "factcheck_message") -> dict[str, Any]:
    """"Fact-check this message" chosen from a message's More actions menu."""
    return {
        "type": "message_action", "callback_id": callback_id, "trigger_id": f"{next(_trigger_ids)}.trigger",
        "message_ts": message["ts"], "response_url": response_url, "team": {"id": team, "domain": "factbot-test"},
        "channel": {"id": channel, "name": "general"}, "user": {"id": user, "name": user.lower()},
        "message": message, "token": "legacy-verification-token", "action_ts": f"{_time.time():.6f}",
    }


class SlackSender:
    """Slack delivering requests to an app's HTTP endpoint: signed, form or JSON, as Slack does."""

    def __init__(self, url: str, secret: str = SIGNING_SECRET):
        self.url = url  # …/slack/events
        self.secret = secret
        self.session: Any = None

    async def __aenter__(self) -> SlackSender:
        import aiohttp

        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def post(self, body: str, content_type: str, *, headers: dict[str, str] | None = None,
                   secret: str | None = None, timestamp: int | None = None) -> tuple[int, str]:
        all_headers = {"Content-Type": content_type, **sign(body, self.secret if secret is None else secret, timestamp)}
        all_headers.update(headers or {})
        async with self.session.post(self.url, data=body.encode(), headers=all_headers) as response:
            return response.status, await response.text()

    async def event(self, body: dict[str, Any], *, retry: int | None = None, **kwargs: Any) -> tuple[int, str]:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post(json.dumps(body), "application/json", headers=headers, **kwargs)

    async def form(self, fields: dict[str, str], **kwargs: Any) -> tuple[int, str]:
        from urllib.parse import urlencode

        return await self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    async def interactive(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return await self.form({"payload": json.dumps(payload)}, **kwargs)


class ThreadedFakeSlack:
    """The fake (and a fake Socket Mode server) on their own event loop in a thread, for code that runs
    ``asyncio.run`` itself (``runner.run``)."""

    def __init__(self, *, socket_mode: bool = True):
        self.fake = FakeSlack()
        self.socket: Any = None
        self.socket_mode = socket_mode
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        self.call(self._start())
        return self.fake

    async def _start(self) -> None:
        if self.socket_mode:
            try:
                from tests.fakes.slack_socket import FakeSocketMode
            except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
                from fakes.slack_socket import FakeSocketMode  # type: ignore[no-redef]
            self.socket = await FakeSocketMode().start()
            self.fake.socket_url = self.socket.url
        await self.fake.start()

    def call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __exit__(self, *exc: object) -> None:
        self.call(self.fake.close())
        if self.socket is not None:
            self.call(self.socket.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
