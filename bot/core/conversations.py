"""What factbot remembers about the conversations it takes part in.

Channel settings (watch mode), every public reply it made (so a wrong reply
can be removed by whoever asked, watch mode can keep its cooldown, and a
changed verdict can be corrected where it was given), 👍/👎 votes (one per
user per reply), "suggest for review" requests, the platform events
already handled (so a retried delivery is answered once, even after a
restart), and private answers waiting to be shared.  Platform-neutral: ids
and payloads are opaque strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from .engine import POSTGRESQL
from .models import CheckResult, Decision, iso, utcnow
from .normalize import fold
from .store import Store, StoreError

log = logging.getLogger("factbot.watch")


@dataclass(frozen=True)
class ReplyRecord:
    id: int
    platform: str
    workspace: str
    channel: str
    message_id: str
    thread_id: str
    requester: str
    claim_id: str
    verdict: str
    decision: str
    source: str
    at: str
    deleted_at: str


@dataclass(frozen=True)
class WatchClaim:
    """The right to post one watch-mode reply (``Conversations.claim_watch``)."""

    platform: str
    workspace: str
    channel: str
    claim_id: str
    at: str
    token: str


@dataclass(frozen=True)
class PendingShare:
    """A private answer that its "share in channel" button may post publicly."""

    token: str
    workspace: str
    channel: str
    thread_id: str
    requester: str
    payload: str  # the public message, as the adapter will post it
    claim_id: str
    verdict: str
    decision: str


def _reply(r) -> ReplyRecord:
    return ReplyRecord(
        id=r["id"], platform=r["platform"], workspace=r["workspace"], channel=r["channel"], message_id=r["message_id"],
        thread_id=r["thread_id"] or "", requester=r["requester"] or "", claim_id=r["claim_id"] or "",
        verdict=r["verdict"] or "", decision=r["decision"], source=r["source"], at=r["at"], deleted_at=r["deleted_at"] or "",
    )


class Conversations:
    def __init__(self, store: Store):
        self.store = store
        self._seen: dict[tuple[str, str], None] = {}  # event ids this process saw, oldest first
        self._watch_pruned: dt.datetime | None = None

    # -- watch mode -------------------------------------------------------------
    def set_watch(self, platform: str, workspace: str, channel: str, on: bool, *, by: str = "") -> None:
        with self.store.transaction():
            self.store.db.conn.execute(
                """INSERT INTO channel_settings(platform, workspace, channel, watch, updated_by, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(platform, workspace, channel) DO UPDATE SET
                     watch = excluded.watch, updated_by = excluded.updated_by, updated_at = excluded.updated_at""",
                [platform, workspace, channel, int(on), by, utcnow()],
            )

    def watching(self, platform: str, workspace: str, channel: str) -> bool:
        r = self.store.db.execute(
            "SELECT watch FROM channel_settings WHERE platform = ? AND workspace = ? AND channel = ?",
            [platform, workspace, channel],
        ).fetchone()
        return bool(r and r[0])

    def watched_channels(self, platform: str, workspace: str) -> list[str]:
        """The channels of one workspace/server with watch mode on, for the settings overview (Slack's App Home)."""
        rows = self.store.db.execute(
            "SELECT channel FROM channel_settings WHERE platform = ? AND workspace = ? AND watch != 0 ORDER BY channel",
            [platform, workspace],
        ).fetchall()
        return [r[0] for r in rows]

    def claim_watch(
        self,
        result: CheckResult,
        *,
        platform: str,
        workspace: str,
        channel: str,
        min_score: float,
        cooldown: dt.timedelta,
        now: dt.datetime | None = None,
    ) -> WatchClaim | None:
        """Watch mode answers only confident matches, once per claim per channel per cooldown: the right to post
        that reply, or None.

        The right is claimed in the database before posting, by one ``INSERT … ON CONFLICT DO UPDATE … WHERE``
        that wins only when the last claim about this claim in this channel is a cooldown old: two messages about
        one claim arriving at two instances (or at one, at once) get one reply. ``release_watch`` gives the claim
        back if the post fails; a removed reply (🗑️) gives it back too (``mark_deleted``). A database that cannot
        take the claim at once (another process holding SQLite's write lock, as a large import does; read-only,
        unreachable) means no reply: watch mode stays quiet rather than risk answering twice.
        """
        if result.decision is not Decision.MATCH or not result.matches:
            return None
        best = result.matches[0]
        if best.score < min_score:
            return None
        now = now or dt.datetime.now(dt.UTC)
        claim = WatchClaim(platform, workspace, channel, best.claim.id, iso(now), secrets.token_hex(8))
        try:
            won = self.store.claim(
                """INSERT INTO watch_claims(platform, workspace, channel, claim_id, at, token) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(platform, workspace, channel, claim_id) DO UPDATE SET at = excluded.at,
                     token = excluded.token
                   WHERE watch_claims.at < ?
                   RETURNING token""",
                [platform, workspace, channel, claim.claim_id, claim.at, claim.token, iso(now - cooldown)],
            )
        except StoreError as exc:
            (log.debug if exc.kind == "busy" else log.warning)(
                "watch mode stays quiet: the database does not take its cooldown claim now (%s)", exc)
            return None
        self._prune_watch(now, cooldown)
        return claim if won is not None else None

    def release_watch(self, claim: WatchClaim) -> None:
        """The post a watch claim was for failed: the next message about that claim may be answered."""
        self.store.give_way([(
            """DELETE FROM watch_claims WHERE platform = ? AND workspace = ? AND channel = ? AND claim_id = ?
               AND token = ?""",
            [claim.platform, claim.workspace, claim.channel, claim.claim_id, claim.token],
        )])

    def _prune_watch(self, now: dt.datetime, cooldown: dt.timedelta) -> None:
        """Forget claims whose cooldown is over (a new claim wins over them anyway), at most once an hour."""
        if self._watch_pruned is not None and now - self._watch_pruned < dt.timedelta(hours=1):
            return
        self._watch_pruned = now
        self.store.give_way([("DELETE FROM watch_claims WHERE at < ?", [iso(now - cooldown)])])

    # -- replies ----------------------------------------------------------------
    def record_reply(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        message_id: str,
        result: CheckResult | None,
        source: str,
        requester: str = "",
        thread_id: str = "",
        claim_id: str | None = None,
        verdict: str | None = None,
        decision: str | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        """Remember a public reply: who asked, what verdict it showed, where."""
        best = result.matches[0] if result is not None and result.matches else None
        decision = decision or (result.decision.value if result is not None else Decision.MATCH.value)
        # The reply is posted already: remembering it gives way rather than fail (see Store.give_way).
        written = self.store.give_way([(
            """INSERT INTO replies(platform, workspace, channel, message_id, thread_id, requester, claim_id, verdict,
                                   decision, source, at, corrected_seq)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(platform, channel, message_id) DO NOTHING""",
            [platform, workspace, channel, message_id, thread_id, requester,
             claim_id or (best.claim.id if best else None), verdict or (best.claim.verdict.value if best else None),
             decision, source, iso(at), self.store.last_change_seq()],
        )])
        return int(written or 0)

    def reply(self, platform: str, channel: str, message_id: str) -> ReplyRecord | None:
        r = self.store.db.execute(
            "SELECT * FROM replies WHERE platform = ? AND channel = ? AND message_id = ?", [platform, channel, message_id]
        ).fetchone()
        return _reply(r) if r else None

    def mark_deleted(self, platform: str, channel: str, message_id: str) -> None:
        """A reply was removed (🗑️). A removed watch reply no longer holds its claim's cooldown in that channel."""
        with self.store.transaction():
            self.store.db.conn.execute(
                "UPDATE replies SET deleted_at = ? WHERE platform = ? AND channel = ? AND message_id = ?",
                [utcnow(), platform, channel, message_id],
            )
            self.store.db.conn.execute(
                """DELETE FROM watch_claims WHERE EXISTS (
                     SELECT 1 FROM replies r WHERE r.platform = ? AND r.channel = ? AND r.message_id = ?
                     AND r.source = 'watch' AND r.platform = watch_claims.platform
                     AND r.workspace = watch_claims.workspace AND r.channel = watch_claims.channel
                     AND r.claim_id = watch_claims.claim_id AND watch_claims.at <= r.at)""",
                [platform, channel, message_id],
            )

    def replies_for_claim(self, claim_id: str, *, since: str = "") -> list[ReplyRecord]:
        return [
            _reply(r)
            for r in self.store.db.execute(
                "SELECT * FROM replies WHERE claim_id = ? AND at >= ? AND deleted_at IS NULL ORDER BY id", [claim_id, since]
            )
        ]

    # -- feedback ---------------------------------------------------------------
    def vote(self, *, platform: str, reply_message_id: str, user: str, vote: int, claim_id: str | None,
             workspace: str = "", channel: str = "") -> tuple[int, int]:
        """Record 👍 (+1) or 👎 (-1); a user's second vote replaces their first. Returns (up, down)."""
        if vote not in (-1, 1):
            raise ValueError("vote must be +1 or -1")
        with self.store.transaction():
            self.store.db.conn.execute(
                """INSERT INTO feedback(platform, reply_message_id, user, claim_id, vote, workspace, channel, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(platform, reply_message_id, user) DO UPDATE SET vote = excluded.vote, at = excluded.at""",
                [platform, reply_message_id, user, claim_id, vote, workspace, channel, utcnow()],
            )
        return self.votes(platform, reply_message_id)

    def votes(self, platform: str, reply_message_id: str) -> tuple[int, int]:
        r = self.store.db.execute(
            "SELECT coalesce(sum(vote = 1), 0), coalesce(sum(vote = -1), 0) FROM feedback WHERE platform = ? AND reply_message_id = ?",
            [platform, reply_message_id],
        ).fetchone()
        return int(r[0]), int(r[1])

    # -- suggestions ------------------------------------------------------------
    def suggest(self, *, platform: str, workspace: str, channel: str, user: str, query: str, keep_text: bool = True) -> bool:
        """Record a "suggest for review" request; False if this user already suggested the same words here."""
        digest = hashlib.sha256(fold(query).encode()).hexdigest()
        with self.store.transaction():
            cur = self.store.db.conn.execute(
                """INSERT INTO suggestions(platform, workspace, channel, user, query, query_hash, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                [platform, workspace, channel, user, query[:2000] if keep_text else None, digest, utcnow()],
            )
        return cur.rowcount > 0

    def suggestions(self, *, since: str = "", limit: int = 100) -> list[dict]:
        return [
            dict(r)
            for r in self.store.db.execute(
                """SELECT max(query) AS query, query_hash, count(*) AS requests, max(at) AS last_at
                   FROM suggestions WHERE at >= ? GROUP BY query_hash ORDER BY requests DESC, last_at DESC LIMIT ?""",
                [since, limit],
            )
        ]

    # -- retried deliveries -----------------------------------------------------
    def first_delivery(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen (then remembered); False for every retry.

        The write gives way (``Store.give_way``): while another process holds the write lock, or the disk is
        full, the id is remembered in this process and written later, and the event is still answered once.
        """
        key = (platform, event_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > 50_000:
            self._seen.pop(next(iter(self._seen)))
        # On a file the read answers while another process holds the write lock; on PostgreSQL the insert alone says
        # whether the id is new, one round trip instead of two.
        # An event kept until answered (bot/core/inbox.py) is seen there: a retry of it that could not be kept
        # itself (the database busy) is still told apart.
        if self.store.engine != POSTGRESQL and self.store.db.execute(
                "SELECT 1 FROM processed_events WHERE platform = ? AND event_id = ? UNION ALL "
                "SELECT 1 FROM event_inbox WHERE platform = ? AND event_id = ?",
                [platform, event_id, platform, event_id]).fetchone():
            return False  # seen by an earlier run (or another instance)
        written = self.store.write_at_once(
            "INSERT INTO processed_events(platform, event_id, at) SELECT ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM event_inbox WHERE platform = ? AND event_id = ?) ON CONFLICT DO NOTHING",
            [platform, event_id, utcnow(), platform, event_id],
        )
        return written != 0  # 0: another instance wrote it in between

    # -- "share in channel" ----------------------------------------------------------
    def remember_share(self, *, platform: str, workspace: str, channel: str, thread_id: str, requester: str,
                       payload: str, result: CheckResult, ttl: dt.timedelta, at: dt.datetime | None = None) -> str:
        """Keep a private answer for its share button (``ttl``: how long); returns the button's token.

        Expired answers are removed as new ones arrive, so the table holds at most ``ttl``'s worth.
        """
        now = at or dt.datetime.now(dt.UTC)
        best = result.matches[0] if result.matches else None
        token = secrets.token_urlsafe(12)
        self.store.give_way([  # the answer goes out either way; the button works once this is written
            ("DELETE FROM pending_shares WHERE at < ?", [iso(now - ttl)]),
            ("""INSERT INTO pending_shares(platform, token, workspace, channel, thread_id, requester, payload,
                                           claim_id, verdict, decision, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
             [platform, token, workspace, channel, thread_id, requester, payload,
              best.claim.id if best else None, best.claim.verdict.value if best else None,
              result.decision.value, iso(now)]),
        ])
        return token

    def take_share(self, platform: str, token: str, *, ttl: dt.timedelta,
                   at: dt.datetime | None = None) -> PendingShare | None:
        """Claim a kept answer for posting: None when it is unknown, expired, posted, or being posted.

        The claim is one conditional UPDATE, so two presses (a double click, or two instances) cannot
        both get it. ``done_share`` ends it after the post; ``release_share`` gives it back if the post failed.
        """
        now = at or dt.datetime.now(dt.UTC)
        self.store.flush_pending()  # a share remembered while the database was busy
        with self.store.transaction():
            claimed = self.store.db.conn.execute(
                """UPDATE pending_shares SET taken_at = ?
                   WHERE platform = ? AND token = ? AND taken_at IS NULL AND at >= ?""",
                [iso(now), platform, token, iso(now - ttl)],
            ).rowcount
        if not claimed:
            return None
        r = self.store.db.execute("SELECT * FROM pending_shares WHERE platform = ? AND token = ?", [platform, token]).fetchone()
        return PendingShare(token=token, workspace=r["workspace"], channel=r["channel"], thread_id=r["thread_id"],
                            requester=r["requester"], payload=r["payload"], claim_id=r["claim_id"] or "",
                            verdict=r["verdict"] or "", decision=r["decision"])

    def release_share(self, platform: str, token: str) -> None:
        with self.store.transaction():
            self.store.db.conn.execute(
                "UPDATE pending_shares SET taken_at = NULL WHERE platform = ? AND token = ?", [platform, token])

    def done_share(self, platform: str, token: str) -> None:
        with self.store.transaction():
            self.store.db.conn.execute("DELETE FROM pending_shares WHERE platform = ? AND token = ?", [platform, token])
