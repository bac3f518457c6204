"""The one entry point every adapter calls: ``FactChecker.check(message)``.

It ties the store, the index and the matcher together, and records each
check in the log that digests and statistics read.  Adapters never touch the
store themselves; they hand over an ``IncomingMessage`` and render what comes
back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from .index import ClaimIndex
from .knowledge import load_knowledge
from .matcher import MatchConfig, Matcher
from .models import Candidate, CheckResult, Claim, IncomingMessage
from .store import Store, WriteStats

log = logging.getLogger("factbot.check")


@dataclass
class OpenReport:
    """What happened when the database was opened, for the CLI to mention."""

    created: bool
    bundled: WriteStats | None


class FactChecker:
    def __init__(
        self,
        store: Store,
        *,
        matcher_config: MatchConfig | None = None,
        index: ClaimIndex | None = None,
        store_query_text: bool = True,
    ):
        self.store = store
        self.index = index or ClaimIndex(store)
        self.matcher = Matcher(store, self.index, matcher_config)
        self.store_query_text = store_query_text

    def check(self, message: IncomingMessage | str, *, top: int = 3, record: bool = True) -> CheckResult:
        """Check one message; the result says what matched, how sure, and why."""
        if isinstance(message, str):
            message = IncomingMessage(text=message)
        started = time.perf_counter()
        result = self.matcher.check(message.text, top=top)
        elapsed_ms = (time.perf_counter() - started) * 1000
        best = result.best
        if record and result.query:
            self.store.log_check(
                query=result.query,
                decision=result.decision.value,
                claim_id=best.claim.id if best and result.matches else None,
                score=round(best.score, 4) if best else None,
                platform=message.platform,
                workspace=message.workspace,
                channel=message.channel,
                latency_ms=round(elapsed_ms, 3),
                keep_text=self.store_query_text,
            )
        log.info(
            "check",
            extra={
                "platform": message.platform,
                "decision": result.decision.value,
                "claim_id": best.claim.id if best else None,
                "score": round(best.score, 4) if best else None,
                "latency_ms": round(elapsed_ms, 3),
            },
        )
        return result

    def claim(self, claim_id: str) -> Claim | None:
        return self.store.get(claim_id)

    def search(self, text: str, limit: int = 10) -> list[Candidate]:
        """Best candidates for a search box (no decision, nothing logged)."""
        return self.matcher.rank(text, limit=limit)


def open_store(path: str | Path, *, sync_knowledge: bool = True, knowledge: Path | None = None) -> tuple[Store, OpenReport]:
    """Open (or create) the database and bring the bundled claims up to date.

    A new database is filled from ``knowledge/``; an existing one gets the
    bundled claims that changed since, and keeps every claim a user
    imported or edited as it is.
    """
    is_memory = str(path) == ":memory:"
    created = is_memory or not Path(path).expanduser().exists()
    store = Store(None if is_memory else path)
    stats = None
    if sync_knowledge:
        claims, fingerprint = load_knowledge(knowledge)
        stats = store.sync_bundled(claims, fingerprint)
        if stats is not None and not created:
            log.info("bundled knowledge updated: %s", stats.summary())
    return store, OpenReport(created=created, bundled=stats)
