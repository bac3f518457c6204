"""Slack HTTP mode: every POST to ``/slack/events`` is verified before anything parses it.

Slack signs each request: ``X-Slack-Signature`` is ``v0=`` and the HMAC-SHA256, keyed with the app's signing
secret, of ``v0:<X-Slack-Request-Timestamp>:<body>``.  A request whose timestamp is not a number, is more than
five minutes off, or whose signature does not match is answered 401; a signed request whose body is not what
Slack sends (UTF-8 JSON with an object at the top, or a form whose ``payload`` is such JSON) is answered 400.
Either way one warning line says why and how big the body was; the body itself is never logged, and nothing
after this (Bolt, the listeners) ever sees such a request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from aiohttp import web

log = logging.getLogger("factbot.slack")

MAX_AGE_SECONDS = 300  # Slack's own rule: a request older (or newer) than five minutes is a replay


def signature_problem(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                      now: float | None = None) -> str:
    """Why this request is not Slack's, in a few words ("" when it is)."""
    if not timestamp or not signature:
        return "not signed"
    try:
        sent = int(timestamp)
    except ValueError:
        return "a timestamp that is not a number"
    if abs((time.time() if now is None else now) - sent) > MAX_AGE_SECONDS:
        return "a timestamp more than five minutes off"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "a wrong signature"
    return ""


def body_problem(content_type: str, body: bytes) -> str:
    """Why a signed body is not one Slack sends ("" when it is one)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "a body that is not UTF-8"
    try:
        if content_type == "application/json":
            if not isinstance(json.loads(text), dict):
                return "JSON that is not an object"
        elif content_type == "application/x-www-form-urlencoded":
            form = parse_qs(text, keep_blank_values=True)
            if "payload" in form and not isinstance(json.loads(form["payload"][0]), dict):
                return "a payload that is not a JSON object"
        else:
            return f"an unexpected content type ({content_type or 'none'})"
    except (ValueError, RecursionError):
        return "a body that is not valid JSON" if content_type == "application/json" else "a payload that is not valid JSON"
    return ""


def verify_first(signing_secret: str, path: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """aiohttp middleware: refuse unsigned, stale or malformed POSTs to ``path`` before they are parsed."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        if request.method != "POST" or request.path != path:
            return await handler(request)
        body = await request.read()  # a body over the size limit is answered 413 here
        why = signature_problem(signing_secret, request.headers.get("X-Slack-Request-Timestamp"),
                                request.headers.get("X-Slack-Signature"), body)
        status = 401
        if not why:
            why, status = body_problem(request.content_type, body), 400
        if why:
            log.warning("Slack request refused (HTTP %d): %s, %d-byte body", status, why, len(body),
                        extra={"status": status, "bytes": len(body)})
            return web.Response(status=status, text="refused\n")
        return await handler(request)

    return middleware
