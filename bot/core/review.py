"""What the review desk reads and changes besides claims: the queue of unanswered questions, 👎 feedback,
correction notices, digests and the daily figures. All its SQL lives here, in the core.

Unanswered questions are the checks that matched nothing (decision ``none``) plus the "Suggest for review"
requests. Questions that ask the same thing are grouped: first by the hash of their folded words (so a
question kept only as a hash still counts), then by the matcher's fuzzy word-set similarity of their texts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from . import audit
from .models import utcnow
from .normalize import fold
from .store import Store

GROUP_SIMILARITY = 85  # rapidfuzz token_set_ratio over folded text: at least this, and two questions are one


@dataclass
class QuestionGroup:
    """One question as people asked it, however many times and in however many wordings."""

    key: str  # the query_hash of its most asked wording: what Dismiss and "Write a claim" refer to
    text: str  # the most asked wording ("" when only hashes were kept)
    asked: int = 0
    suggested: int = 0  # "Suggest for review" requests among them
    wordings: list[str] = field(default_factory=list)
    hashes: set[str] = field(default_factory=set)
    places: set[tuple[str, str, str]] = field(default_factory=set)  # (platform, workspace, channel)
    first_at: str = ""
    last_at: str = ""
    language: str = ""  # the language the matcher detected in its most asked wording ("" when it could not tell)

    @property
    def place_list(self) -> list[str]:
        return sorted(f"{p} {w}/{c}".rstrip("/") if w or c else p for p, w, c in self.places)


def question_key(text: str) -> str:
    return hashlib.sha256(fold(text).encode()).hexdigest()


def unanswered(store: Store, *, days: int = 30, limit: int = 100, now: dt.datetime | None = None,
               include_dismissed: bool = False) -> list[QuestionGroup]:
    """Unanswered questions of the last ``days``, grouped, most asked first (suggested ones break ties)."""
    now = now or dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=days)).replace(microsecond=0).isoformat()
    rows: list[dict[str, Any]] = []
    for r in store.db.execute(
        """SELECT query_hash, max(query) AS query, count(*) AS n, 0 AS s, min(at) AS first_at, max(at) AS last_at,
                  max(language) AS language,
                  group_concat(DISTINCT platform || char(31) || coalesce(workspace, '') || char(31) || coalesce(channel, ''))
                  AS places
           FROM checks WHERE decision = 'none' AND at >= ? GROUP BY query_hash""", [since]):
        rows.append(dict(r))
    for r in store.db.execute(
        """SELECT query_hash, max(query) AS query, 0 AS n, count(*) AS s, min(at) AS first_at, max(at) AS last_at,
                  NULL AS language,
                  group_concat(DISTINCT platform || char(31) || coalesce(workspace, '') || char(31) || coalesce(channel, ''))
                  AS places
           FROM suggestions WHERE at >= ? GROUP BY query_hash""", [since]):
        rows.append(dict(r))
    dismissed = set() if include_dismissed else {
        r[0] for r in store.db.execute("SELECT query_hash FROM dismissed_questions")}
    by_hash: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["query_hash"] in dismissed:
            continue
        have = by_hash.get(r["query_hash"])
        if have is None:
            by_hash[r["query_hash"]] = dict(r, places=set((r["places"] or "").split(",")) - {""})
            continue
        have["n"] += r["n"]
        have["s"] += r["s"]
        have["query"] = have["query"] or r["query"]
        have["language"] = have["language"] or r["language"]
        have["first_at"] = min(have["first_at"], r["first_at"])
        have["last_at"] = max(have["last_at"], r["last_at"])
        have["places"] |= set((r["places"] or "").split(",")) - {""}
    groups: list[QuestionGroup] = []
    folded: list[str] = []
    for r in sorted(by_hash.values(), key=lambda r: (-(r["n"] + r["s"]), r["query_hash"])):
        text = r["query"] or ""
        f = fold(text) if text else ""
        target = None
        if f:
            for i, other in enumerate(folded):
                if other and fuzz.token_set_ratio(f, other) >= GROUP_SIMILARITY:
                    target = groups[i]
                    break
        if target is None:
            target = QuestionGroup(key=r["query_hash"], text=text, first_at=r["first_at"], last_at=r["last_at"])
            groups.append(target)
            folded.append(f)
        target.asked += r["n"] + r["s"]
        if not target.language and r["language"] not in (None, "", "und"):
            target.language = r["language"]
        target.suggested += r["s"]
        target.hashes.add(r["query_hash"])
        if text and text not in target.wordings:
            target.wordings.append(text)
        target.first_at = min(target.first_at, r["first_at"])
        target.last_at = max(target.last_at, r["last_at"])
        for place in r["places"]:
            parts = (place.split("\x1f") + ["", "", ""])[:3]
            target.places.add((parts[0], parts[1], parts[2]))
    groups.sort(key=lambda g: (-g.asked, -g.suggested, g.key))
    return groups[:limit]


def find_question(store: Store, key: str, *, days: int = 30) -> QuestionGroup | None:
    for g in unanswered(store, days=days, limit=10_000, include_dismissed=True):
        if key == g.key or key in g.hashes:
            return g
    return None


def dismiss(store: Store, key: str, reason: str, *, actor: str, via: str = "desk") -> QuestionGroup | None:
    """Take a question (every wording grouped with it) off the queue, with a reason; None if there is no such question."""
    group = find_question(store, key)
    if group is None:
        return None
    now = utcnow()
    with store.transaction():
        for h in sorted(group.hashes):
            store.db.conn.execute(
                "INSERT INTO dismissed_questions(query_hash, reason, by, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(query_hash) DO UPDATE SET reason = excluded.reason, by = excluded.by, at = excluded.at",
                [h, reason, actor, now])
        audit.record(store, actor=actor, via=via, action="question.dismiss", target=f"question:{group.key}",
                     before={"text": group.text, "asked": group.asked, "suggested": group.suggested},
                     after={"dismissed": True, "reason": reason})
    return group


def resolve_question(store: Store, key: str, claim_id: str, *, actor: str, via: str = "desk") -> None:
    """A claim was written from this question: it leaves the queue, and the audit log says which claim answers it."""
    group = find_question(store, key)
    hashes = sorted(group.hashes) if group else [key]
    now = utcnow()
    with store.transaction():
        for h in hashes:
            store.db.conn.execute(
                "INSERT INTO dismissed_questions(query_hash, reason, by, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(query_hash) DO UPDATE SET reason = excluded.reason, by = excluded.by, at = excluded.at",
                [h, f"answered by claim {claim_id}", actor, now])
        audit.record(store, actor=actor, via=via, action="question.answer", target=f"question:{key}",
                     before={"text": group.text if group else ""}, after={"claim": claim_id})


# -- feedback ------------------------------------------------------------------
def feedback(store: Store, *, reviewed: bool | None = False, limit: int = 200) -> list[dict[str, Any]]:
    """👎 votes, newest first, with the reply's claim and where it was (``reviewed_by`` set once marked).

    ``asked`` is the message the reply answered, as the bot checked it: the last check of that claim in that
    channel up to the reply (None when only a hash of the words was kept, or the check was pruned)."""
    sql = """
        SELECT f.platform, f.reply_message_id, f.user, f.claim_id, f.workspace, f.channel, f.at,
               r.thread_id, r.verdict, r.source, c.claim AS claim_text, fr.by AS reviewed_by, fr.at AS reviewed_at,
               (SELECT ch.query FROM checks ch
                 WHERE r.id IS NOT NULL AND ch.platform = r.platform AND ch.workspace = r.workspace
                   AND ch.channel = r.channel AND ch.claim_id = r.claim_id AND ch.at <= r.at
                 ORDER BY ch.at DESC LIMIT 1) AS asked
        FROM feedback f
        LEFT JOIN replies r ON r.platform = f.platform AND r.message_id = f.reply_message_id
        LEFT JOIN claims c ON c.id = f.claim_id
        LEFT JOIN feedback_reviews fr ON fr.platform = f.platform AND fr.reply_message_id = f.reply_message_id
                                     AND fr.user = f.user
        WHERE f.vote = -1"""
    if reviewed is False:
        sql += " AND fr.by IS NULL"
    elif reviewed is True:
        sql += " AND fr.by IS NOT NULL"
    sql += " ORDER BY f.at DESC LIMIT ?"
    return [dict(r) for r in store.db.execute(sql, [limit])]


def message_link(platform: str, workspace: str | None, channel: str | None, message_id: str | None) -> str:
    """A link to a message where the platform gives one from ids alone (Discord); "" otherwise."""
    if platform == "discord" and workspace and channel and message_id and all(
            x.isdigit() for x in (workspace, channel, message_id)):
        return f"https://discord.com/channels/{workspace}/{channel}/{message_id}"
    return ""


def review_feedback(store: Store, platform: str, reply_message_id: str, user: str, *, actor: str,
                    via: str = "desk") -> bool:
    row = store.db.execute("SELECT claim_id FROM feedback WHERE platform = ? AND reply_message_id = ? AND user = ?",
                           [platform, reply_message_id, user]).fetchone()
    if row is None:
        return False
    with store.transaction():
        store.db.conn.execute(
            "INSERT INTO feedback_reviews(platform, reply_message_id, user, by, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", [platform, reply_message_id, user, actor, utcnow()])
        audit.record(store, actor=actor, via=via, action="feedback.review",
                     target=f"feedback:{platform}:{reply_message_id}",
                     before={"claim": row[0], "reviewed": False}, after={"claim": row[0], "reviewed": True})
    return True


# -- corrections and digests -------------------------------------------------------
def sent_corrections(store: Store, *, limit: int = 100) -> list[dict[str, Any]]:
    """Replies whose correction notice went out: where, about which claim, and the verdict they now carry."""
    return [dict(r) for r in store.db.execute(
        """SELECT r.platform, r.workspace, r.channel, r.message_id, r.claim_id, r.verdict, r.at, ch.at AS changed_at,
                  ch.old_verdict, ch.new_verdict
           FROM replies r LEFT JOIN claim_changes ch ON ch.seq = r.corrected_seq
           WHERE r.corrected_seq IS NOT NULL ORDER BY r.corrected_seq DESC LIMIT ?""", [limit])]


def digest_runs(store: Store, *, limit: int = 200) -> list[dict[str, Any]]:
    """Each subscription with its last digest: when, what became of it, and the error if it failed."""
    return [dict(r) for r in store.db.execute(
        """SELECT s.id, s.platform, s.workspace, s.channel, s.weekday, s.time, s.timezone, s.language, s.active,
                  s.disabled_reason, d.period, d.status, d.at AS last_at, d.error, d.attempts,
                  (SELECT count(*) FROM digests_sent x WHERE x.subscription_id = s.id AND x.status = 'failed') AS failures
           FROM subscriptions s
           LEFT JOIN digests_sent d ON d.subscription_id = s.id
                AND d.period = (SELECT max(period) FROM digests_sent y WHERE y.subscription_id = s.id)
           ORDER BY s.platform, s.workspace, s.channel LIMIT ?""", [limit])]


def digest_failures(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    return [dict(r) for r in store.db.execute(
        """SELECT d.*, s.platform, s.workspace, s.channel FROM digests_sent d JOIN subscriptions s
           ON s.id = d.subscription_id WHERE d.status = 'failed' ORDER BY d.at DESC LIMIT ?""", [limit])]


# -- the overview ----------------------------------------------------------------
def daily_checks(store: Store, *, days: int = 14, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Checks per day by decision for the last ``days`` days, every day present (zeros included), oldest first."""
    now = now or dt.datetime.now(dt.UTC)
    first = (now - dt.timedelta(days=days - 1)).date()
    counts: dict[str, dict[str, int]] = {
        (first + dt.timedelta(days=i)).isoformat(): {"match": 0, "possible": 0, "none": 0} for i in range(days)}
    for r in store.db.execute(
            "SELECT substr(at, 1, 10) AS day, decision, count(*) AS n FROM checks WHERE at >= ? GROUP BY day, decision",
            [first.isoformat()]):
        if r["day"] in counts and r["decision"] in counts[r["day"]]:
            counts[r["day"]][r["decision"]] = r["n"]
    return [{"day": day, **c, "checks": sum(c.values())} for day, c in counts.items()]


def top_claims(store: Store, *, days: int = 30, limit: int = 10, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = now or dt.datetime.now(dt.UTC)
    since = (now - dt.timedelta(days=days)).replace(microsecond=0).isoformat()
    return [dict(r) for r in store.db.execute(
        """SELECT k.claim_id, count(*) AS n, c.claim, c.verdict FROM checks k LEFT JOIN claims c ON c.id = k.claim_id
           WHERE k.at >= ? AND k.claim_id IS NOT NULL AND k.decision IN ('match', 'possible')
           GROUP BY k.claim_id, c.claim, c.verdict ORDER BY n DESC, k.claim_id LIMIT ?""", [since, limit])]
