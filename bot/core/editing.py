"""Changing claims by hand: the one path the desk, ``factbot claims add/edit/remove`` and imports take.

Each write goes through ``Store.upsert_claims`` (so the change feed sees it, and with it the search
index, the vectors, the correction notices and the digests) and leaves an audit entry per claim that
changed, saying who made it and from where.

A claim's translations are part of the claim (``Claim.translations``, the ``claim_translations`` table):
``set_translation`` and ``remove_translation`` write the whole claim back through ``save_claims``, as an
import that carries ``translations`` does, so the index and the vectors pick the change up the same way.

``retire_claim`` does for one stored claim what ``knowledge/retired/`` does for a bundled one: the id
leaves the claims table (the change feed records the deletion) and a row in ``claim_redirects`` says
which claims stand for it now, so ``/claim id:`` shows them, imports under the old id update them, and
earlier replies get the correction notice (and the digest line) a verdict change gets.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import audit
from .index import ClaimIndex
from .models import (
    RETIRE_CHANGES,
    Claim,
    ClaimError,
    Redirect,
    claim_from_dict,
    language_problem,
    translation_from_dict,
)
from .store import Store, TxPacer, WriteStats


@dataclass(frozen=True)
class Actor:
    """Who makes a change (a desk account or an operating-system user) and through what (``audit.VIAS``)."""

    name: str
    via: str

    @classmethod
    def cli(cls, via: str = "cli") -> Actor:
        return cls(audit.cli_actor(), via)


def save_claims(store: Store, claims: Iterable[Claim], actor: Actor, *, commit_every: int | None = None,
                progress: Callable[[int], None] | None = None, reindex: bool = True,
                action: str | None = None) -> WriteStats:
    """Insert or update claims by id and audit each one that changed; the index is brought up to date.
    ``action`` names the audit entry of an update (``claim.edit`` unless said otherwise)."""
    claims = list(claims)
    before = store.get_many([c.id for c in claims])
    stats = store.upsert_claims(claims, progress=progress, commit_every=commit_every)
    changed = sorted({*stats.inserted, *stats.updated})

    def entries() -> Iterator[list[Any]]:
        for start in range(0, len(changed), 1000):
            part = changed[start : start + 1000]
            after = store.get_many(part)
            for cid in part:
                old = before.get(cid)
                yield audit.entry_row(actor=actor.name, via=actor.via,
                                      action=(action or "claim.edit") if old is not None else "claim.add", target=f"claim:{cid}",
                                      before=None if old is None else old.to_dict(include_meta=True),
                                      after=after[cid].to_dict(include_meta=True) if cid in after else None)

    # The entries are made before each transaction, which only inserts them. A large import's audit is written in
    # transactions paced as its claims were (``TxPacer``), so a running bot never waits long for the lock.
    pacer = TxPacer(commit_every, target=store.IMPORT_TX_S) if commit_every and len(changed) > commit_every else None
    pending = entries()
    while rows := list(itertools.islice(pending, pacer.size if pacer else None)):
        began = time.monotonic()
        with store.transaction():
            store.db.conn.executemany(audit.INSERT, rows)
        if pacer is not None:
            pacer.held(time.monotonic() - began)
            time.sleep(store.IMPORT_PAUSE)
    if pacer is not None:
        stats.longest_tx_s = max(stats.longest_tx_s, pacer.longest)
    if reindex:
        ClaimIndex(store).ensure_current()
    return stats


def claim_from_form(data: Mapping[str, Any]) -> Claim:
    """A claim from a flat form (one source URL or alias a line): the same validation as an import, every error
    at once (``ClaimError.errors``, field by field)."""
    def lines(name: str) -> list[str]:
        return [x.strip() for x in str(data.get(name) or "").splitlines() if x.strip()]

    record: dict[str, Any] = {k: (str(data.get(k) or "").strip() or None) for k in (
        "id", "claim", "verdict", "summary", "rating_text", "claimant", "claim_date", "reviewed_at", "language")}
    record["sources"] = [{"url": u} for u in lines("sources")]
    record["aliases"] = lines("aliases")
    record["tags"] = lines("tags")
    return claim_from_dict({k: v for k, v in record.items() if v is not None})


def edit_claim(store: Store, claim_id: str, changes: Mapping[str, Any], actor: Actor) -> tuple[Claim, Claim, WriteStats]:
    """Apply ``changes`` (claim fields) to a stored claim; returns (old, new, stats). Raises KeyError, ClaimError."""
    claim = store.get(claim_id)
    if claim is None:
        raise KeyError(claim_id)
    data = claim.to_dict()
    data.update(changes)
    data["id"] = claim_id
    edited = claim_from_dict(data)
    stats = save_claims(store, [edited], actor)
    return claim, edited, stats


def remove_claim(store: Store, claim_id: str, actor: Actor) -> bool:
    claim = store.get(claim_id)
    if claim is None:
        return False
    with store.transaction():
        store.remove(claim_id)
        audit.record(store, actor=actor.name, via=actor.via, action="claim.remove", target=f"claim:{claim_id}",
                     before=claim.to_dict(include_meta=True), after=None)
    ClaimIndex(store).ensure_current()
    return True


def _lines(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(x).strip() for x in value if str(x).strip()]
    return [x.strip() for x in str(value or "").splitlines() if x.strip()]


def translation_language(code: str) -> str:
    """The key a translation is stored under: the language subtag, lower case (``pt-BR`` -> ``pt``), which is
    what replies look translations up by and what ``knowledge/translations/<lang>/`` folders are named."""
    return str(code or "").strip().replace("_", "-").split("-")[0].lower()


def set_translation(store: Store, claim_id: str, language: str, data: Mapping[str, Any], actor: Actor, *,
                    new: bool = False) -> tuple[Claim, Claim, WriteStats]:
    """Add (``new``) or replace a claim's translation into ``language`` from ``claim``, ``summary`` and
    ``aliases`` (a list, or one a line), written from the claim's English text as it is now (so it is current).

    Validated as an import validates translations, every problem at once (ClaimError, field by field); raises
    KeyError for an unknown claim. Returns (old, new, stats)."""
    claim = store.get(claim_id)
    if claim is None:
        raise KeyError(claim_id)
    given = str(language or "").strip()
    lang = translation_language(given)
    errors: list[tuple[str, str]] = []
    if not given:
        errors.append(("language", "is required (a language code such as es, de or pt)"))
    elif problem := language_problem(given.replace("_", "-")):
        errors.append(("language", problem))
    elif new and lang in claim.translations:
        errors.append(("language", f"{claim_id} already has a translation into {lang}; edit that one"))
    record = {"claim": data.get("claim") or "", "summary": data.get("summary") or "",
              "aliases": _lines(data.get("aliases")), "source_digest": claim.source_digest()}
    try:
        translation = translation_from_dict(record, claim=claim, language=lang or "en", require_digest=False)
    except ClaimError as exc:
        errors += [(f, m) for f, m in exc.errors if not (f == "language" and errors and errors[0][0] == "language")]
    if errors:
        raise ClaimError(errors)
    edited = dataclasses.replace(claim, translations={**claim.translations, lang: translation})
    stats = save_claims(store, [edited], actor, action="claim.translate")
    return claim, edited, stats


def remove_translation(store: Store, claim_id: str, language: str, actor: Actor) -> bool:
    """Take a claim's translation into ``language`` away (False: no such claim or translation)."""
    claim = store.get(claim_id)
    lang = translation_language(language)
    if claim is None or lang not in claim.translations:
        return False
    rest = {k: v for k, v in claim.translations.items() if k != lang}
    save_claims(store, [dataclasses.replace(claim, translations=rest)], actor, action="claim.translate")
    return True


def retire_claim(store: Store, claim_id: str, *, change: str, replaced_by: Iterable[str] | str, reason: str,
                 actor: Actor, today: dt.date | None = None) -> Redirect:
    """Retire a stored claim's id as ``knowledge/retired/`` does: ``split`` into two or more claims, ``merged``
    into one, or ``renamed`` to one. The claims named must exist; every problem is listed at once (ClaimError).

    Retired ids that pointed at this claim are pointed at its replacements, so no redirect leads nowhere."""
    claim = store.get(claim_id)
    if claim is None:
        raise KeyError(claim_id)
    targets = list(dict.fromkeys(_lines(replaced_by.replace(",", "\n") if isinstance(replaced_by, str)
                                        else replaced_by)))
    errors: list[tuple[str, str]] = []
    if change not in RETIRE_CHANGES:
        errors.append(("change", f"{change!r} must be one of {', '.join(RETIRE_CHANGES)}" if change else
                                 f"is required ({', '.join(RETIRE_CHANGES)})"))
    if not targets:
        errors.append(("replaced_by", "name the id of the claim (or claims) that now stands for this one"))
    found = store.get_many(targets)
    for t in targets:
        if t == claim_id:
            errors.append(("replaced_by", f"{t!r} is this claim; name the claims that replace it"))
        elif t not in found:
            errors.append(("replaced_by", f"{t!r} is not a claim (name claims that exist, not retired ids)"))
    if change == "split" and len(targets) < 2:
        errors.append(("replaced_by", "a split claim names at least two claims"))
    if change in ("merged", "renamed") and len(targets) > 1:
        errors.append(("replaced_by", f"a {change} claim names exactly one claim"))
    reason = str(reason or "").strip()
    if not reason:
        errors.append(("reason", "is required (say why, for the people who read the audit log)"))
    elif len(reason) > 500:
        errors.append(("reason", f"has {len(reason)} characters; at most 500"))
    if errors:
        raise ClaimError(errors)
    when = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    redirect = Redirect(id=claim_id, replaced_by=tuple(targets), change=change, claim=claim.claim,
                        verdict=claim.verdict, reason=reason, retired_at=when)
    conn = store.db.conn
    with store.transaction():
        conn.execute(
            """INSERT INTO claim_redirects(old_id, replaced_by, change, claim, verdict, reason, retired_at, origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'user')
               ON CONFLICT(old_id) DO UPDATE SET replaced_by = excluded.replaced_by, change = excluded.change,
                 claim = excluded.claim, verdict = excluded.verdict, reason = excluded.reason,
                 retired_at = excluded.retired_at, origin = excluded.origin""",
            [claim_id, json.dumps(targets), change, claim.claim, claim.verdict.value, reason, when])
        for earlier in store.redirects():
            if claim_id not in earlier.replaced_by or earlier.id == claim_id:
                continue
            moved = [t for t in dict.fromkeys(
                x for r in earlier.replaced_by for x in (targets if r == claim_id else [r])) if t != earlier.id]
            kind = "split" if len(moved) > 1 else ("merged" if earlier.change == "split" else earlier.change)
            conn.execute("UPDATE claim_redirects SET replaced_by = ?, change = ? WHERE old_id = ?",
                         [json.dumps(moved), kind, earlier.id])
            audit.record(store, actor=actor.name, via=actor.via, action="claim.redirect", target=f"claim:{earlier.id}",
                         before={"change": earlier.change, "replaced_by": list(earlier.replaced_by)},
                         after={"change": kind, "replaced_by": moved})
        store.remove(claim_id)
        audit.record(store, actor=actor.name, via=actor.via, action="claim.retire", target=f"claim:{claim_id}",
                     before=claim.to_dict(include_meta=True),
                     after={"retired": True, "change": change, "replaced_by": targets, "reason": reason,
                            "retired_at": when})
    ClaimIndex(store).ensure_current()
    return redirect


__all__ = ["Actor", "ClaimError", "claim_from_form", "edit_claim", "remove_claim", "remove_translation",
           "retire_claim", "save_claims", "set_translation", "translation_language"]
