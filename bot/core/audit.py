"""The audit log: who changed which claim or queue item, when, from where, and what it was before and after.

Every change made through ``bot.core.editing`` (the desk, ``factbot claims add/edit/remove`` and
``factbot claims import``) and every review-queue action (``bot.core.review``) writes one entry here,
in the same transaction as the change where the write allows it. ``via`` says where it came from:
``desk``, ``cli`` or ``import``.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any

from .models import utcnow
from .store import Store

VIAS = ("desk", "cli", "import")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    via: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def changed_fields(self) -> list[str]:
        """The top-level fields whose value differs between before and after (all of them for an add or remove)."""
        before, after = self.before or {}, self.after or {}
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each changed field, as a reader compares them: a claim's translations one
        language at a time (``translations.es``), each as its claim and summary."""
        before, after = self.before or {}, self.after or {}
        out: list[tuple[str, Any, Any]] = []
        for name in self.changed_fields():
            old, new = before.get(name), after.get(name)
            if name == "translations" and isinstance(old or {}, dict) and isinstance(new or {}, dict):
                old, new = old or {}, new or {}
                for lang in sorted(set(old) | set(new)):
                    if old.get(lang) != new.get(lang):
                        out.append((f"translations.{lang}", _translation_text(old.get(lang)),
                                    _translation_text(new.get(lang))))
                continue
            out.append((name, old, new))
        return out


def _translation_text(t: Any) -> str | None:
    if not isinstance(t, dict):
        return None
    return " — ".join(x for x in (t.get("claim"), t.get("summary"), " | ".join(t.get("aliases") or [])) if x)


def cli_actor() -> str:
    """Who runs a command-line change: the operating-system user, as the audit log names it."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in a container is not an error
        return "unknown"


INSERT = "INSERT INTO audit_log(at, actor, via, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)"


def entry_row(*, actor: str, via: str, action: str, target: str, before: dict[str, Any] | None = None,
              after: dict[str, Any] | None = None) -> list[Any]:
    """One entry as the row ``INSERT`` writes (made before the write transaction, which then only inserts it)."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {', '.join(VIAS)}")
    return [utcnow(), actor, via, action, target,
            None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
            None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True)]


def record(store: Store, *, actor: str, via: str, action: str, target: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    row = entry_row(actor=actor, via=via, action=action, target=target, before=before, after=after)
    with store.transaction():
        store.db.conn.execute(INSERT, row)


def entries(store: Store, *, target: str | None = None, action_prefix: str | None = None, actor: str | None = None,
            limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
    """The newest entries first, optionally for one target, one kind of action or one actor."""
    sql = "SELECT * FROM audit_log WHERE 1 = 1"
    args: list[Any] = []
    if target:
        sql += " AND target = ?"
        args.append(target)
    if action_prefix:
        sql += " AND action LIKE ?"
        args.append(action_prefix.replace("%", "") + "%")
    if actor:
        sql += " AND actor = ?"
        args.append(actor)
    if before_id:
        sql += " AND id < ?"
        args.append(before_id)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return [
        AuditEntry(id=r["id"], at=r["at"], actor=r["actor"], via=r["via"], action=r["action"], target=r["target"],
                   before=None if r["before"] is None else json.loads(r["before"]),
                   after=None if r["after"] is None else json.loads(r["after"]))
        for r in store.db.execute(sql, args)
    ]
