"""Changing claims by hand: the one path the desk, ``factbot claims add/edit/remove`` and imports take.

Each write goes through ``Store.upsert_claims`` (so the change feed sees it, and with it the search
index, the vectors, the correction notices and the digests) and leaves an audit entry per claim that
changed, saying who made it and from where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import audit
from .index import ClaimIndex
from .models import Claim, ClaimError, claim_from_dict
from .store import Store, WriteStats


@dataclass(frozen=True)
class Actor:
    """Who makes a change (a desk account or an operating-system user) and through what (``audit.VIAS``)."""

    name: str
    via: str

    @classmethod
    def cli(cls, via: str = "cli") -> Actor:
        return cls(audit.cli_actor(), via)


def save_claims(store: Store, claims: Iterable[Claim], actor: Actor, *, commit_every: int | None = None,
                progress: Callable[[int], None] | None = None, reindex: bool = True) -> WriteStats:
    """Insert or update claims by id and audit each one that changed; the index is brought up to date."""
    claims = list(claims)
    before = store.get_many([c.id for c in claims])
    stats = store.upsert_claims(claims, progress=progress, commit_every=commit_every)
    changed = sorted({*stats.inserted, *stats.updated})
    step = commit_every or len(changed) or 1  # a large import's audit is written in transactions as short as its own
    for start in range(0, len(changed), step):
        part = changed[start : start + step]
        after = store.get_many(part)
        with store.transaction():
            for cid in part:
                old = before.get(cid)
                audit.record(store, actor=actor.name, via=actor.via,
                             action="claim.edit" if old is not None else "claim.add", target=f"claim:{cid}",
                             before=None if old is None else old.to_dict(include_meta=True),
                             after=after[cid].to_dict(include_meta=True) if cid in after else None)
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


__all__ = ["Actor", "ClaimError", "claim_from_form", "edit_claim", "remove_claim", "save_claims"]
