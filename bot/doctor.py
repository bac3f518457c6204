"""``factbot doctor``: is this installation healthy?  Database, search index, tokens, schedule.

Each check returns a line a person can act on; tokens are verified against
the platforms' own auth endpoints (Slack ``auth.test``, Discord
``/users/@me``) when the network allows, and are never printed.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from .config import Settings
from .core import inbox, migrations, queries
from .core.index import ClaimIndex
from .core.store import Store
from .core.subscriptions import Subscriptions


@dataclass(frozen=True)
class Finding:
    ok: bool | None  # None: not checked (e.g. no token configured)
    area: str
    message: str

    def line(self) -> str:
        mark = {True: "✅", False: "❌", None: "➖"}[self.ok]
        return f"{mark} {self.area}: {self.message}"


class _NotChecked(Exception):
    pass


def check_database(store: Store) -> list[Finding]:
    out = []
    engine = queries.engine_info(store)
    out.append(Finding(True, "database", f"{engine['engine']} ({engine['server_version']}) at {engine['location']}"))
    version = store.schema_version
    out.append(Finding(version == migrations.LATEST, "schema", f"version {version} (this factbot: {migrations.LATEST})"))
    if store.readonly:
        out.append(Finding(None, "database", f"{store.path} is read-only here: checks work, nothing is recorded, "
                                             "and factbot run refuses it"))
    try:
        if store.readonly:  # the integrity check is a write to SQLite; a read-only file cannot run it
            raise _NotChecked
        queries.check_fulltext_integrity(store)
        out.append(Finding(True, "full-text index", "in sync with the claims table" if store.engine == "sqlite"
                           else "PostgreSQL's text search index on the claims table"))
    except _NotChecked:
        out.append(Finding(None, "full-text index", "not checked: the database is read-only here"))
    except Exception as exc:  # noqa: BLE001
        out.append(Finding(False, "full-text index", f"out of sync ({exc}); run: factbot db rebuild"))
    kept, stale = inbox.waiting(store)
    if stale:
        out.append(Finding(False, "events", f"{kept} acknowledged and not answered yet, {stale} of them held by no "
                           "running instance: a running factbot run slack answers them"))
    elif kept:
        out.append(Finding(True, "events", f"{kept} acknowledged and being answered by the running instances"))
    count = store.count()
    out.append(Finding(count > 0, "claims", f"{count} in the database" if count else "none: run factbot db rebuild"))
    index = ClaimIndex(store)
    if index.problem:  # found out of step with the database, or unusable, when opened
        out.append(Finding(False, "search index", index.problem))
    index.ensure_current()
    synced = index.synced_seq == store.last_change_seq() and index.num_docs == count
    detail = f"{index.num_docs} documents, synced to change {index.synced_seq}"
    if store.engine == "postgresql":  # each host keeps its own: say where, and how far it had got
        if index.path is None:
            detail += "; in memory, built from the database at each start"
        elif index.opened_seq >= 0:
            detail += f"; kept in {index.path}, which had caught up to change {index.opened_seq}"
        else:
            detail += f"; built from the database into {index.path} now"
    out.append(Finding(synced, "search index", detail))
    # The latest claims written must be findable: what a restored backup written again, or an index copied
    # from elsewhere, gets wrong first.
    recent = queries.recently_changed_claims(store, changes=200)
    lost = index.missing(recent)
    if lost:
        where = f"delete the folder {index.path} (it is rebuilt at the next start)" if index.path else "restart"
        out.append(Finding(False, "search index", f"{len(lost)} of the {len(recent)} latest claims cannot be found "
                           f"(e.g. {lost[0]}): {where}"))
    return out


def check_vectors(store: Store, matcher_config) -> list[Finding]:
    """Matching by meaning: which engine, and how many claims still wait for vectors (matched by words meanwhile)."""
    from .core.matcher import Matcher

    try:
        matcher = Matcher(store, config=matcher_config)
    except Exception as exc:  # noqa: BLE001 - semantic = "on" with no engine: that is the finding
        return [Finding(False, "matching by meaning", str(exc))]
    vectors = matcher.vectors
    if vectors is None:
        return [Finding(matcher.config.semantic == "off", "matching by meaning", matcher.semantic_status)]
    waiting = vectors.pending()
    total = store.count()
    if waiting:
        message = (f"{matcher.semantic_status}; {waiting:,} of {total:,} claims wait for vectors (matched by their "
                   "words until then): the running bot embeds them in the background, or run factbot model embed")
    else:
        message = f"{matcher.semantic_status}; every one of {total:,} claims has vectors"
    return [Finding(True, "matching by meaning", message)]


def _get_json(url: str, headers: dict[str, str], timeout: float, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured https endpoints
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


def check_tokens(settings: Settings, *, timeout: float = 5.0) -> list[Finding]:
    out = []
    if settings.slack.bot_token:
        try:
            _, body = _get_json(
                settings.slack.api_url.rstrip("/") + "/auth.test",
                {"Authorization": f"Bearer {settings.slack.bot_token}", "Content-Type": "application/x-www-form-urlencoded"},
                timeout, data=b"",
            )
            if body.get("ok"):
                out.append(Finding(True, "slack token", f"valid for team {body.get('team', '?')} as {body.get('user', '?')}"))
            else:
                out.append(Finding(False, "slack token", f"rejected by Slack: {body.get('error', 'unknown error')}"))
        except (OSError, ValueError) as exc:
            out.append(Finding(None, "slack token", f"could not reach Slack to check it ({type(exc).__name__})"))
    else:
        out.append(Finding(None, "slack token", "not configured (SLACK_BOT_TOKEN)"))
    if settings.discord.token:
        try:
            status, body = _get_json(
                settings.discord.api_base.rstrip("/") + "/users/@me",
                {"Authorization": f"Bot {settings.discord.token}", "User-Agent": "factbot doctor"}, timeout,
            )
            if status == 200:
                out.append(Finding(True, "discord token", f"valid for bot {body.get('username', '?')}"))
            else:
                out.append(Finding(False, "discord token", f"rejected by Discord (HTTP {status})"))
        except (OSError, ValueError) as exc:
            out.append(Finding(None, "discord token", f"could not reach Discord to check it ({type(exc).__name__})"))
    else:
        out.append(Finding(None, "discord token", "not configured (DISCORD_TOKEN)"))
    return out


def check_schedule(store: Store, now: dt.datetime | None = None) -> list[Finding]:
    now = now or dt.datetime.now(dt.UTC)
    subs = Subscriptions(store).list()
    if not subs:
        return [Finding(None, "digests", "no channel has subscribed")]
    out = []
    for sub in subs:
        if sub.active:
            out.append(Finding(True, "digest", f"{sub.platform} {sub.channel}: next {sub.next_run(now).isoformat()} ({sub.describe()})"))
        else:
            out.append(Finding(False, "digest", f"{sub.platform} {sub.channel}: disabled ({sub.disabled_reason})"))
    return out
