"""The one entry point every adapter calls: ``FactChecker.check(message)``.

It ties the store, the index and the matcher together, and records each
check in the log that digests and statistics read.  Adapters never touch the
store themselves; they hand over an ``IncomingMessage`` and render what comes
back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .conversations import Conversations, WatchClaim
from .engine import is_url
from .i18n import Translator, translator
from .index import ClaimIndex
from .knowledge import load_knowledge
from .languages import LanguageSettings
from .matcher import MatchConfig, Matcher
from .models import Candidate, CheckResult, Claim, IncomingMessage, Redirect
from .offloop import StoreCalls
from .pacing import CheckQueue
from .ratelimit import SharedRateLimiter
from .store import Store, StoreError, WriteStats
from .subscriptions import Subscriptions

log = logging.getLogger("factbot.check")


@dataclass
class OpenReport:
    """What happened when the database was opened, for the CLI to mention."""

    created: bool
    bundled: WriteStats | None


@dataclass(frozen=True)
class Watched:
    """A watch-mode result worth posting, and the claim of the right to post it (give it back if the post fails)."""

    result: CheckResult
    claim: WatchClaim


@dataclass(frozen=True)
class ClaimLookup:
    """What an id names: a claim, and when the id was retired, what became of it."""

    claim: Claim | None
    redirect: Redirect | None = None
    others: tuple[Claim, ...] = ()  # a split claim's other replacements

    @property
    def notice(self) -> str:
        """One line saying the id was retired and where its claim went ("" for a claim's own id)."""
        return self.notice_in(None)

    def notice_in(self, t: Translator | None) -> str:
        """``notice`` in ``t``'s language (English without one)."""
        r = self.redirect
        if r is None or self.claim is None:
            return ""
        t = t or translator()
        if r.change == "renamed":
            return t.gettext("The claim id “%(old)s” is now “%(new)s”.", old=r.id, new=self.claim.id)
        if r.change == "merged":
            return t.gettext("The claim “%(old)s” was merged into this one, “%(new)s”.", old=r.id, new=self.claim.id)
        rest = "; ".join(
            t.gettext("“%(claim)s” (%(verdict)s, id %(id)s)", claim=c.claim, verdict=c.verdict.label_in(t), id=c.id)
            for c in self.others
        )
        return t.gettext("The claim “%(old)s” was split; this is one of the claims that replace it. Also: %(others)s.",
                         old=r.id, others=rest)


class FactChecker:
    def __init__(
        self,
        store: Store,
        *,
        matcher_config: MatchConfig | None = None,
        index: ClaimIndex | None = None,
        store_query_text: bool = True,
        rate_limit_per_minute: int = 10,
        watch_min_score: float = 0.6,
        watch_cooldown: dt.timedelta = dt.timedelta(hours=24),
        max_wait_seconds: float = 30.0,
    ):
        self.store = store
        # The process's one check queue: every adapter's checks wait their turn in it (pacing.py).
        self.checks = CheckQueue(max_wait_seconds, log=logging.getLogger("factbot.chat"))
        # Store calls from the event loop: on PostgreSQL on threads of their own, so the loop never waits for them.
        self.calls = StoreCalls(store)
        self.index = index or ClaimIndex(store)
        self.matcher = Matcher(store, self.index, matcher_config)
        self.store_query_text = store_query_text
        self.conversations = Conversations(store)
        self.subscriptions = Subscriptions(store)
        self.languages = LanguageSettings(store)
        # The limit is shared by every instance on the database (a row per person, ratelimit.py).
        self.rate_limiter = SharedRateLimiter(store, rate_limit_per_minute)
        self.watch_min_score = watch_min_score
        self.watch_cooldown = watch_cooldown
        # Called as observer(message, result, seconds) after every check: metrics hook in here,
        # so the core needs to know nothing about how they are exported.
        self.observers: list[Callable[[IncomingMessage, CheckResult, float], None]] = []
        # observer(message, replied, seconds) after every watch-mode check that ran the matcher (a watched channel).
        self.watch_observers: list[Callable[[IncomingMessage, bool, float], None]] = []
        # observer(platform, kind) when a check is turned away under overload; kind is "check" or "watch".
        self.overload_observers: list[Callable[[str, str], None]] = []
        self.log_message_text = False

    def check(self, message: IncomingMessage | str, *, top: int = 3, record: bool = True) -> CheckResult:
        """Check one message; the result says what matched, how sure, and why."""
        message = message if isinstance(message, IncomingMessage) else IncomingMessage(text=message)
        result, elapsed = self.timed_check(message, top=top)
        if record:
            self.record_check(message, result, elapsed)
        return result

    def timed_check(self, message: IncomingMessage, *, top: int = 3) -> tuple[CheckResult, float]:
        """``check`` without recording it in the check log (``record_check`` does, wherever the caller runs it);
        the result and the seconds the matcher took."""
        started = time.perf_counter()
        result = self.matcher.check(message.text, top=top)
        elapsed = time.perf_counter() - started
        elapsed_ms = elapsed * 1000
        for observer in self.observers:
            observer(message, result, elapsed)
        best = result.best
        fields = {
            "platform": message.platform,
            "decision": result.decision.value,
            "claim_id": best.claim.id if best else None,
            "score": round(best.score, 4) if best else None,
            "latency_ms": round(elapsed_ms, 3),
            "language": result.language,
        }
        if self.log_message_text:
            fields["text"] = result.query[:500]
        log.info("check", extra=fields)
        return result, elapsed

    def record_check(self, message: IncomingMessage, result: CheckResult, elapsed: float) -> None:
        """The check log's row for a check (a write that gives way)."""
        if not result.query:
            return
        best = result.best
        self.store.log_check(
            query=result.query,
            decision=result.decision.value,
            claim_id=best.claim.id if best and result.matches else None,
            score=round(best.score, 4) if best else None,
            platform=message.platform,
            workspace=message.workspace,
            channel=message.channel,
            latency_ms=round(elapsed * 1000, 3),
            keep_text=self.store_query_text,
            language=result.language,
        )

    def prepare(self, message: IncomingMessage | str) -> None:
        """What ``check`` would do first and may do on another thread: embed the message (``Matcher.prepare``)."""
        self.matcher.prepare(message if isinstance(message, str) else message.text)

    def warm_up(self, *, background: bool = True) -> float:
        """Do now what the first check would otherwise do lazily; returns the seconds it took.

        Adapters call it before they go online, so the first person to ask does not wait: the
        BM25 index catches up with the store and, when matching by meaning, the embedding engine
        loads, a few claims without vectors are embedded at once, and the rest (a large import)
        are left to a background thread (``background``), matched by their words meanwhile. Nothing
        is logged as a check and no observer sees it.
        """
        started = time.perf_counter()
        self.index.ensure_current()
        # A bot that warmed up is about to serve: from now on a large catch-up of the index (another process
        # imported thousands of claims) runs in a thread, and checks search the index as it is meanwhile.
        self.index.background = True
        embedded = waiting = 0
        vectors = self.matcher.vectors
        if vectors is not None:
            embedded = vectors.ensure_current()
            waiting = vectors.waiting
            # Claims imported while the bot runs (or too many to embed before going online) are embedded
            # on a thread of their own; until then they are matched by their words.
            if background and vectors.start_background() and waiting:
                logging.getLogger("factbot.startup").info(
                    "%d claim(s) wait for vectors: embedding them in the background", waiting)
        # A message of two sentences takes every path a real one does: the whole, each sentence, fusion.
        self.matcher.check("Is it true that the bot is warming up? Someone said it loads its model first.", top=1)
        elapsed = time.perf_counter() - started
        status = self.matcher.semantic_status
        logging.getLogger("factbot.startup").info(
            "warmed up", extra={"seconds": round(elapsed, 2), "semantic": status, "embedded": embedded,
                                "waiting_for_vectors": waiting}
        )
        return elapsed

    def watch_check(self, message: IncomingMessage, *, now: dt.datetime | None = None) -> Watched | None:
        """For watch mode: a result worth posting unasked, with the claim of the right to post it; or None.

        Only channels that turned watch mode on, only confident matches, and
        at most once per claim per channel per cooldown, so a busy channel is
        never flooded: the cooldown is claimed in the database before anything is
        posted (``Conversations.claim_watch``), so it holds across instances.
        Only the checks it answers are logged.
        """
        if not self.conversations.watching(message.platform, message.workspace, message.channel):
            return None
        started = time.perf_counter()
        result = self.matcher.check(message.text, top=3)
        claim = self.conversations.claim_watch(
            result, platform=message.platform, workspace=message.workspace, channel=message.channel,
            min_score=self.watch_min_score, cooldown=self.watch_cooldown, now=now,
        )
        elapsed = time.perf_counter() - started
        for observer in self.watch_observers:
            observer(message, claim is not None, elapsed)
        if claim is None:
            return None
        best = result.matches[0]
        self.store.log_check(
            query=result.query, decision=result.decision.value, claim_id=best.claim.id, score=round(best.score, 4),
            platform=message.platform, workspace=message.workspace, channel=message.channel,
            keep_text=self.store_query_text, language=result.language,
        )
        return Watched(result, claim)

    def turned_away(self, platform: str, kind: str) -> None:
        """A check was not run because the queue was too long (``pacing.Overloaded``): tell the observers."""
        for observer in self.overload_observers:
            observer(platform, kind)

    def claim(self, claim_id: str) -> Claim | None:
        """The claim an id names; a split, merged or renamed id gives the claim that now stands for it."""
        return self.lookup(claim_id).claim

    def lookup(self, claim_id: str) -> ClaimLookup:
        """Like ``claim``, with what became of a retired id (for a one-line notice above the claim)."""
        claim, redirect = self.store.resolve(claim_id)
        if redirect is None or claim is None:
            return ClaimLookup(claim, redirect if claim else None)
        found = self.store.get_many(redirect.replaced_by[1:])
        others = tuple(found[i] for i in redirect.replaced_by[1:] if i in found)
        return ClaimLookup(claim, redirect, others)

    def search(self, text: str, limit: int = 10) -> list[Candidate]:
        """Best candidates for a search box (no decision, nothing logged)."""
        return self.matcher.rank(text, limit=limit)


def checker_for(store: Store, settings) -> FactChecker:
    """A FactChecker configured from ``bot.config.Settings``: its ``matcher``, ``bot`` and ``store`` sections
    (duck-typed: the core does not import config)."""
    bot = settings.bot
    return FactChecker(
        store,
        matcher_config=settings.matcher,
        store_query_text=settings.store.store_query_text,
        rate_limit_per_minute=bot.rate_limit_per_minute,
        watch_min_score=bot.watch_min_score,
        watch_cooldown=dt.timedelta(hours=bot.watch_cooldown_hours),
        max_wait_seconds=bot.max_wait_seconds,
    )


def open_store(path: str | Path, *, sync_knowledge: bool = True, knowledge: Path | None = None,
               index_dir: Path | None = None) -> tuple[Store, OpenReport]:
    """Open (or create) the database and bring the bundled claims up to date.

    A new database is filled from ``knowledge/``; an existing one gets the
    bundled claims that changed since, and keeps every claim a user
    imported or edited as it is.  ``index_dir`` is where a PostgreSQL
    database's local search index goes (``[index] cache_dir``).
    """
    is_memory = str(path) == ":memory:"
    url = is_url(path)
    created = is_memory or (not url and not Path(path).expanduser().exists())
    store = Store(None if is_memory else path)
    store.index_dir = index_dir
    created = created or store.created
    stats = None
    if sync_knowledge and not store.readonly:  # a read-only database is checked against as it is
        bundle = load_knowledge(knowledge)
        try:
            stats = store.sync_bundled(bundle.claims, bundle.fingerprint, retired=bundle.retired)
        except StoreError as exc:
            if created or exc.kind not in ("busy", "full"):
                store.close()
                raise
            log.warning("bundled knowledge not updated now (the next start tries again): %s", exc)
        if bundle.stale and stats is not None:
            log.warning("%d bundled translation(s) were written from an older English text and are left out until "
                        "translated again (factbot knowledge check lists them)", len(bundle.stale))
        if stats is not None and not created:
            log.info("bundled knowledge updated: %s", stats.summary())
    return store, OpenReport(created=created, bundled=stats)
