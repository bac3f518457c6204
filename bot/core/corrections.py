"""Correction notices: when a verdict changes, the channels that were told the old one hear about it.

The bot records every public reply with the verdict it showed (see
``conversations.record_reply``) and the change-feed position at that time.
A reply is due a correction when a later change gave its claim a different
verdict; once noticed, the reply remembers that change, so no reply is
notified twice for the same change, whichever process sends it.
"""

from __future__ import annotations

import datetime as dt

from .models import Correction, Verdict
from .store import Store


def pending_corrections(
    store: Store,
    *,
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(days=30),
    platform: str | None = None,
    channel: str | None = None,
) -> list[Correction]:
    """Replies from the last ``window`` whose verdict is no longer the claim's verdict."""
    since = (now - window).astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()
    sql = """
        SELECT r.*, c.verdict AS current_verdict,
               (SELECT max(seq) FROM claim_changes ch WHERE ch.claim_id = r.claim_id) AS head_seq
        FROM replies r JOIN claims c ON c.id = r.claim_id
        WHERE r.deleted_at IS NULL AND r.at >= ? AND r.verdict IS NOT NULL AND r.verdict != c.verdict
          AND coalesce(r.corrected_seq, 0) < (SELECT max(seq) FROM claim_changes ch
                                              WHERE ch.claim_id = r.claim_id AND ch.op = 'update'
                                                AND ch.old_verdict IS NOT ch.new_verdict)
    """
    args: list = [since]
    if platform:
        sql += " AND r.platform = ?"
        args.append(platform)
    if channel:
        sql += " AND r.channel = ?"
        args.append(channel)
    rows = store.db.execute(sql + " ORDER BY r.id", args).fetchall()
    claims = store.get_many([r["claim_id"] for r in rows])
    return [
        Correction(
            reply_id=r["id"], platform=r["platform"], workspace=r["workspace"], channel=r["channel"],
            message_id=r["message_id"], thread_id=r["thread_id"] or "", claim=claims[r["claim_id"]],
            old_verdict=Verdict(r["verdict"]), change_seq=int(r["head_seq"]),
        )
        for r in rows
        if r["claim_id"] in claims
    ]


def mark_corrected(store: Store, corrections: list[Correction]) -> None:
    """Remember that these replies were told about these changes (and now show the new verdict)."""
    with store.transaction():
        for c in corrections:
            store.db.conn.execute(
                "UPDATE replies SET corrected_seq = max(coalesce(corrected_seq, 0), ?), verdict = ? WHERE id = ?",
                [c.change_seq, c.claim.verdict.value, c.reply_id],
            )
