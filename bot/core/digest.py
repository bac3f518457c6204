"""The weekly digest: what changed, what people asked, what nobody could answer.

Built from the store for one channel and one period, with the clock passed
in, so the same function serves the scheduler, a preview and the tests.
It is platform-neutral: each adapter renders the ``Digest`` within its own
limits.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .corrections import pending_corrections
from .models import CountedClaim, Digest, DigestChange, DigestTotals, UnmatchedQuestion, Verdict, iso
from .store import Store

if TYPE_CHECKING:
    from .subscriptions import Subscription

# Every posted digest carries this tag and its period (a footer on Discord, a context block on Slack): after a
# crash between posting and recording, the poster finds the digest it already sent by it instead of sending twice.
DIGEST_TAG = "factbot weekly digest · "


def covers_since(store: Store, sub: Subscription, until: dt.datetime) -> dt.datetime:
    """Where a subscription's next digest starts: the last one sent before ``until`` (or when it began, at most 7 days back)."""
    row = store.db.execute(
        "SELECT max(scheduled_for) FROM digests_sent WHERE subscription_id = ? AND status = 'sent' AND scheduled_for < ?",
        [sub.id, iso(until)],
    ).fetchone()
    if row and row[0]:
        return dt.datetime.fromisoformat(row[0])
    return min(dt.datetime.fromisoformat(sub.created_at), until - dt.timedelta(days=7))


def preview_digest(store: Store, sub: Subscription, *, now: dt.datetime,
                   correction_window: dt.timedelta = dt.timedelta(days=30)) -> Digest:
    """What a subscription's digest would say at ``now`` (the period is end-exclusive: one second is added)."""
    now = now + dt.timedelta(seconds=1)
    return build_digest(store, platform=sub.platform, workspace=sub.workspace, channel=sub.channel,
                        since=covers_since(store, sub, now), now=now, correction_window=correction_window)


def build_digest(
    store: Store,
    *,
    platform: str,
    workspace: str,
    channel: str,
    since: dt.datetime,
    now: dt.datetime,
    limit: int = 10,
    correction_window: dt.timedelta = dt.timedelta(days=30),
) -> Digest:
    """The digest of [since, now) for one channel."""
    start, end = iso(since), iso(now)
    db = store.db

    # Claims added or changed: the change feed, folded per claim (first old verdict, current state).
    # A new or updated translation changes no verdict and no English text: not news for the channel.
    changes: list[DigestChange] = []
    rows = db.execute(
        """SELECT claim_id, min(seq) AS first_seq, group_concat(op) AS ops
           FROM claim_changes WHERE at >= ? AND at < ? AND op != 'translate'
           GROUP BY claim_id ORDER BY first_seq""",
        [iso(since), iso(now)],
    ).fetchall()
    claims = store.get_many([r["claim_id"] for r in rows])
    for r in rows:
        claim = claims.get(r["claim_id"])
        if claim is None:
            continue  # removed since: nothing to tell
        ops = r["ops"].split(",")
        if "insert" in ops:
            changes.append(DigestChange(claim, "added"))
            continue
        old = db.execute(
            "SELECT old_verdict FROM claim_changes WHERE claim_id = ? AND seq >= ? AND op = 'update' ORDER BY seq LIMIT 1",
            [r["claim_id"], r["first_seq"]],
        ).fetchone()
        old_verdict = Verdict(old[0]) if old and old[0] and old[0] != claim.verdict.value else None
        changes.append(DigestChange(claim, "changed", old_verdict))

    def top(where: str, args: list) -> tuple[CountedClaim, ...]:
        counted = db.execute(
            f"""SELECT claim_id, count(*) AS n FROM checks
                WHERE at >= ? AND at < ? AND decision = 'match' AND claim_id IS NOT NULL {where}
                GROUP BY claim_id ORDER BY n DESC, claim_id LIMIT ?""",
            [start, end, *args, limit],
        ).fetchall()
        found = store.get_many([c["claim_id"] for c in counted])
        return tuple(CountedClaim(found[c["claim_id"]], c["n"]) for c in counted if c["claim_id"] in found)

    top_channel = top("AND platform = ? AND workspace = ? AND channel = ?", [platform, workspace, channel])
    top_workspace = top("AND platform = ? AND workspace = ?", [platform, workspace])

    # Unmatched questions in this workspace, most asked first; suggestions marked (and counted even if never logged).
    asked = db.execute(
        """SELECT query_hash, max(query) AS query, count(*) AS n FROM checks
           WHERE at >= ? AND at < ? AND decision = 'none' AND platform = ? AND workspace = ?
           GROUP BY query_hash""",
        [start, end, platform, workspace],
    ).fetchall()
    suggested = {
        r["query_hash"]: (r["query"], r["n"])
        for r in db.execute(
            """SELECT query_hash, max(query) AS query, count(*) AS n FROM suggestions
               WHERE at >= ? AND at < ? AND platform = ? AND workspace = ? GROUP BY query_hash""",
            [start, end, platform, workspace],
        )
    }
    merged: dict[str, UnmatchedQuestion] = {}
    for r in asked:
        merged[r["query_hash"]] = UnmatchedQuestion(r["query"] or "", r["n"], r["query_hash"] in suggested)
    for h, (query, n) in suggested.items():
        if h not in merged:
            merged[h] = UnmatchedQuestion(query or "", n, True)
    unmatched = sorted(merged.values(), key=lambda u: (-u.count, not u.suggested, u.text))[: max(limit, 1) * 2]

    t = db.execute(
        """SELECT count(*), coalesce(sum(decision = 'match'), 0) FROM checks
           WHERE at >= ? AND at < ? AND platform = ? AND workspace = ?""",
        [start, end, platform, workspace],
    ).fetchone()
    votes = db.execute(
        """SELECT coalesce(sum(vote = 1), 0), coalesce(sum(vote = -1), 0) FROM feedback
           WHERE at >= ? AND at < ? AND platform = ? AND workspace = ?""",
        [start, end, platform, workspace],
    ).fetchone()
    return Digest(
        platform=platform,
        workspace=workspace,
        channel=channel,
        period_start=start,
        period_end=end,
        changes=tuple(changes),
        top_in_channel=top_channel,
        top_in_workspace=top_workspace,
        unmatched=tuple(unmatched),
        totals=DigestTotals(checks=t[0], matches=t[1], upvotes=votes[0], downvotes=votes[1]),
        corrections=tuple(
            pending_corrections(store, now=now, window=correction_window, platform=platform, channel=channel)
        ),
    )
