"""Correction notices: when a verdict changes, the channels that were told the old one hear about it.

The bot records every public reply with the verdict it showed (see
``conversations.record_reply``) and the change-feed position at that time.
A reply is due a correction when a later change gave its claim a different
verdict; once noticed, the reply remembers that change, so no reply is
notified twice for the same change, whichever process sends it.

A reply about a claim that was since split, merged or renamed (its id is in
``claim_redirects``) is due one when a claim that replaced it has a verdict
other than the one the reply showed: the same notice a verdict change gets,
naming the claims that now stand for the old one.
"""

from __future__ import annotations

import datetime as dt

from .models import Correction, Verdict, iso
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
    since = iso(now - window)
    sql = """
        SELECT r.*, c.verdict AS current_verdict,
               (SELECT max(seq) FROM claim_changes ch WHERE ch.claim_id = r.claim_id) AS head_seq
        FROM replies r JOIN claims c ON c.id = r.claim_id
        WHERE r.deleted_at IS NULL AND r.at >= ? AND r.verdict IS NOT NULL AND r.verdict != c.verdict
          AND coalesce(r.corrected_seq, 0) < (SELECT max(seq) FROM claim_changes ch
                                              WHERE ch.claim_id = r.claim_id AND ch.op = 'update'
                                                AND ch.old_verdict IS NOT ch.new_verdict)
    """
    filters = [(name, value) for name, value in (("platform", platform), ("channel", channel)) if value]
    where = "".join(f" AND r.{name} = ?" for name, _ in filters)
    args: list = [since, *(value for _, value in filters)]
    rows = store.db.execute(sql + where + " ORDER BY r.id", args).fetchall()
    claims = store.get_many([r["claim_id"] for r in rows])
    out = [
        Correction(
            reply_id=r["id"], platform=r["platform"], workspace=r["workspace"], channel=r["channel"],
            message_id=r["message_id"], thread_id=r["thread_id"] or "", claim=claims[r["claim_id"]],
            old_verdict=Verdict(r["verdict"]), change_seq=int(r["head_seq"]),
        )
        for r in rows
        if r["claim_id"] in claims
    ]
    out += _redirected(store, since, where, args[1:])
    return sorted(out, key=lambda c: c.reply_id)


def _redirected(store: Store, since: str, where: str, args: list) -> list[Correction]:
    """Replies about a retired claim id whose replacements say something other than the reply did."""
    rows = store.db.execute(
        f"""SELECT r.* FROM replies r JOIN claim_redirects d ON d.old_id = r.claim_id
            WHERE r.deleted_at IS NULL AND r.at >= ? AND r.verdict IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.id = r.claim_id){where}
            ORDER BY r.id""",
        [since, *args],
    ).fetchall()
    out: list[Correction] = []
    for r in rows:
        redirect = store.redirect(r["claim_id"])
        if redirect is None:
            continue
        found = store.get_many(redirect.replaced_by)
        now = [found[i] for i in redirect.replaced_by if i in found]
        if not now or all(c.verdict.value == r["verdict"] for c in now):
            continue  # a rename that kept the verdict: nothing the channel was told has changed
        marks = ",".join("?" * len(now))
        head = store.db.execute(
            f"""SELECT max(seq) FROM claim_changes
                WHERE (claim_id = ? AND op = 'delete')
                   OR (claim_id IN ({marks}) AND (op = 'insert' OR (op = 'update' AND old_verdict IS NOT new_verdict)))""",
            [redirect.id, *[c.id for c in now]],
        ).fetchone()[0] or 0
        if (r["corrected_seq"] or 0) >= head:
            continue
        out.append(Correction(
            reply_id=r["id"], platform=r["platform"], workspace=r["workspace"], channel=r["channel"],
            message_id=r["message_id"], thread_id=r["thread_id"] or "", claim=now[0], old_verdict=Verdict(r["verdict"]),
            change_seq=int(head), redirect=redirect, others=tuple(now[1:]),
        ))
    return out


def mark_corrected(store: Store, corrections: list[Correction]) -> None:
    """Remember that these replies were told about these changes (and now show the new verdict)."""
    with store.transaction():
        for c in corrections:
            store.db.conn.execute(
                "UPDATE replies SET corrected_seq = max(coalesce(corrected_seq, 0), ?), verdict = ? WHERE id = ?",
                [c.change_seq, c.claim.verdict.value, c.reply_id],
            )
