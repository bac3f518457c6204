"""Schema versions, applied in order; ``PRAGMA user_version`` records how far a database got.

Each step is a plain function over a ``sqlite_utils.Database`` written to be
idempotent (``IF NOT EXISTS`` throughout): SQLite commits DDL as it goes, so a
step interrupted half way is simply run again at the next start, and the
version is bumped only after the step completed.  Opening an older database
with a newer factbot upgrades it; opening a newer one with an older factbot is
refused instead of guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


class SchemaTooNew(RuntimeError):
    pass


def _v1_claims(db: sqlite_utils.Database) -> None:
    """Claims and their full-text index: the part every other feature reads."""
    db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db.table("claims").create(
        {
            "id": str,
            "claim": str,
            "verdict": str,
            "rating_text": str,
            "summary": str,
            "sources": str,  # JSON array of {url, title, publisher, date}
            "claimant": str,
            "claim_date": str,
            "reviewed_at": str,
            "tags": str,  # JSON array
            "aliases": str,  # JSON array
            "language": str,
            "created_at": str,
            "updated_at": str,
            "origin": str,  # "bundled" (from knowledge/) or "user" (imported or edited: never overwritten)
        },
        pk="id",
        not_null={"claim", "verdict", "summary", "sources", "origin"},
        defaults={"origin": "user", "language": "en", "tags": "[]", "aliases": "[]"},
        if_not_exists=True,
    )
    db.table("claims").create_index(["verdict"], if_not_exists=True)
    # External-content FTS5 with triggers: SQLite keeps it in sync inside the
    # same write, so no code path can forget to.
    if "claims_fts" not in db.table_names():
        db.table("claims").enable_fts(["claim", "aliases"], tokenize="porter unicode61 remove_diacritics 2", create_triggers=True)


def _v2_changes_and_checks(db: sqlite_utils.Database) -> None:
    """A change feed (for derived indexes, digests and correction notices) and the check log."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS claim_changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            claim_id TEXT NOT NULL,
            op TEXT NOT NULL,             -- insert | update | delete
            old_verdict TEXT,
            new_verdict TEXT,
            at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS claim_changes_at ON claim_changes(at)")
    db.executescript(
        """
        CREATE TRIGGER IF NOT EXISTS claims_change_ai AFTER INSERT ON claims BEGIN
            INSERT INTO claim_changes(claim_id, op, new_verdict) VALUES (new.id, 'insert', new.verdict);
        END;
        CREATE TRIGGER IF NOT EXISTS claims_change_au AFTER UPDATE ON claims BEGIN
            INSERT INTO claim_changes(claim_id, op, old_verdict, new_verdict)
            VALUES (new.id, 'update', old.verdict, new.verdict);
        END;
        CREATE TRIGGER IF NOT EXISTS claims_change_ad AFTER DELETE ON claims BEGIN
            INSERT INTO claim_changes(claim_id, op, old_verdict) VALUES (old.id, 'delete', old.verdict);
        END;
        """
    )
    db.table("checks").create(
        {
            "id": int,
            "at": str,
            "platform": str,
            "workspace": str,
            "channel": str,
            "query": str,  # the text, or NULL when only the hash is kept
            "query_hash": str,  # sha256 of the folded text: counts repeats without keeping words
            "decision": str,
            "claim_id": str,
            "score": float,
            "latency_ms": float,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("checks").create_index(["at"], if_not_exists=True)
    db.table("checks").create_index(["platform", "workspace", "channel", "at"], if_not_exists=True)


def _v3_conversations(db: sqlite_utils.Database) -> None:
    """What the chat adapters remember: channel settings, public replies, votes, suggestions,
    digest subscriptions and the events already handled (so a retried event is answered once)."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS channel_settings (
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            watch INTEGER NOT NULL DEFAULT 0,
            updated_by TEXT, updated_at TEXT,
            PRIMARY KEY (platform, workspace, channel)
        );
        CREATE TABLE IF NOT EXISTS replies (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            message_id TEXT NOT NULL,          -- the bot's reply (Discord message id / Slack ts)
            thread_id TEXT,                    -- the checked message or thread it answers
            requester TEXT,                    -- who asked (may delete the reply)
            claim_id TEXT, verdict TEXT,       -- what it said, for correction notices
            decision TEXT NOT NULL,
            source TEXT NOT NULL,              -- mention | command | context-menu | watch | share
            at TEXT NOT NULL,
            deleted_at TEXT,
            corrected_seq INTEGER,             -- last claim change already noticed
            UNIQUE (platform, channel, message_id)
        );
        CREATE INDEX IF NOT EXISTS replies_claim ON replies(claim_id, at);
        CREATE INDEX IF NOT EXISTS replies_watch ON replies(platform, workspace, channel, claim_id, source, at);
        CREATE TABLE IF NOT EXISTS feedback (
            platform TEXT NOT NULL, reply_message_id TEXT NOT NULL, user TEXT NOT NULL,
            claim_id TEXT, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            workspace TEXT, channel TEXT, at TEXT NOT NULL,
            PRIMARY KEY (platform, reply_message_id, user)
        );
        CREATE TABLE IF NOT EXISTS suggestions (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL, workspace TEXT, channel TEXT, user TEXT,
            query TEXT, query_hash TEXT NOT NULL, at TEXT NOT NULL,
            UNIQUE (platform, workspace, query_hash, user)
        );
        CREATE TABLE IF NOT EXISTS subscriptions (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL, workspace TEXT NOT NULL, channel TEXT NOT NULL,
            weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),   -- 0 = Monday
            time TEXT NOT NULL,                                          -- HH:MM, local
            timezone TEXT NOT NULL,                                      -- IANA name
            language TEXT NOT NULL DEFAULT 'en',
            created_by TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            UNIQUE (platform, workspace, channel)
        );
        CREATE TABLE IF NOT EXISTS digests_sent (
            subscription_id INTEGER NOT NULL,
            period TEXT NOT NULL,             -- the scheduled local date of the digest, e.g. 2026-11-23
            scheduled_for TEXT NOT NULL,      -- the scheduled instant (UTC): the next digest starts here
            status TEXT NOT NULL,             -- sending | sent | failed | skipped
            claimed_by TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            message_id TEXT, at TEXT NOT NULL, error TEXT,
            PRIMARY KEY (subscription_id, period)
        );
        CREATE TABLE IF NOT EXISTS processed_events (
            platform TEXT NOT NULL, event_id TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (platform, event_id)
        );
        """
    )


def _v4_claim_vectors(db: sqlite_utils.Database) -> None:
    """Sentence embeddings of each claim phrasing (the ``semantic`` extra; empty without it).

    ``variant`` 0 is the claim text, 1... its aliases in order. ``model`` and
    ``text_hash`` say what made the vector from what text, so it is recomputed
    only when either changes; ``vector`` is little-endian float16.
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS claim_vectors (
            claim_id TEXT NOT NULL,
            variant INTEGER NOT NULL,
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (claim_id, variant)
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS claim_vectors_model ON claim_vectors(model)")


def _v5_pending_shares(db: sqlite_utils.Database) -> None:
    """Private answers waiting for their "share in channel" press.

    In the database, not in the process, so that a press reaches the answer after a restart or on another
    instance behind a load balancer. ``payload`` is the public message as the adapter will post it
    (opaque to the core); ``taken_at`` marks a press being handled, so a double click posts once.
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS pending_shares (
            platform TEXT NOT NULL,
            token TEXT NOT NULL,
            workspace TEXT NOT NULL,
            channel TEXT NOT NULL,
            thread_id TEXT NOT NULL DEFAULT '',
            requester TEXT NOT NULL DEFAULT '',
            payload TEXT NOT NULL,
            claim_id TEXT,
            verdict TEXT,
            decision TEXT NOT NULL,
            at TEXT NOT NULL,
            taken_at TEXT,
            PRIMARY KEY (platform, token)
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS pending_shares_at ON pending_shares(at)")


def _v6_language_settings(db: sqlite_utils.Database) -> None:
    """The language a channel, or a whole server or workspace (``channel = ''``), reads factbot in.

    ``locale`` is a BCP 47 tag factbot has a catalog for (``es``, ``zh-Hans``); see bot/core/languages.py.
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS language_settings (
            platform TEXT NOT NULL,
            workspace TEXT NOT NULL DEFAULT '',
            channel TEXT NOT NULL DEFAULT '',
            locale TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (platform, workspace, channel)
        )"""
    )


def _v7_check_language(db: sqlite_utils.Database) -> None:
    """The language each check was written in (detected), for per-language statistics and replies."""
    columns = {c.name for c in db["checks"].columns}
    if "language" not in columns:
        db.execute("ALTER TABLE checks ADD COLUMN language TEXT")


def _v8_claim_redirects(db: sqlite_utils.Database) -> None:
    """Claim ids that were split, merged or renamed, and the claims that now stand for each.

    ``replaced_by`` is a JSON array of claim ids, the first the one an old id shows; ``claim`` and
    ``verdict`` are what the retired claim last said, so earlier replies can be corrected.
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS claim_redirects (
            old_id TEXT PRIMARY KEY,
            replaced_by TEXT NOT NULL,
            change TEXT NOT NULL,            -- split | merged | renamed
            claim TEXT NOT NULL,
            verdict TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            retired_at TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL DEFAULT 'bundled'
        )"""
    )


def _v9_claim_translations(db: sqlite_utils.Database) -> None:
    """A claim's text in other languages (claim, summary, aliases); verdict and sources stay the claim's.

    A change here is a change of the claim for whatever reads the change feed (the search index, the
    vectors): the triggers record it as op ``translate``, with the claim's verdict on both sides, so
    correction notices (verdict changes) and digests (claims added or changed) leave it out.
    """
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS claim_translations (
            claim_id TEXT NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
            language TEXT NOT NULL,
            claim TEXT NOT NULL,
            summary TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',     -- JSON array
            source_digest TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (claim_id, language)
        );
        CREATE TRIGGER IF NOT EXISTS claim_translations_ai AFTER INSERT ON claim_translations BEGIN
            INSERT INTO claim_changes(claim_id, op, old_verdict, new_verdict)
            SELECT new.claim_id, 'translate', verdict, verdict FROM claims WHERE id = new.claim_id;
        END;
        CREATE TRIGGER IF NOT EXISTS claim_translations_au AFTER UPDATE ON claim_translations BEGIN
            INSERT INTO claim_changes(claim_id, op, old_verdict, new_verdict)
            SELECT new.claim_id, 'translate', verdict, verdict FROM claims WHERE id = new.claim_id;
        END;
        CREATE TRIGGER IF NOT EXISTS claim_translations_ad AFTER DELETE ON claim_translations BEGIN
            INSERT INTO claim_changes(claim_id, op, old_verdict, new_verdict)
            SELECT old.claim_id, 'translate', verdict, verdict FROM claims WHERE id = old.claim_id;
        END;
        """
    )


def _v10_desk(db: sqlite_utils.Database) -> None:
    """The review desk: its accounts, the audit log of every change to a claim or the review queue
    (made on the desk, from the command line or by an import), dismissed unanswered questions and
    feedback marked as reviewed.

    ``audit_log.via`` says where a change came from (``desk``, ``cli``, ``import``); ``actor`` is the
    desk account, or the operating-system user for the command line; ``before``/``after`` are JSON.
    """
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS desk_users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            via TEXT NOT NULL,               -- desk | cli | import
            action TEXT NOT NULL,            -- claim.add | claim.edit | claim.remove | question.dismiss | feedback.review
            target TEXT NOT NULL,
            before TEXT,                     -- JSON, NULL when nothing was there
            after TEXT                       -- JSON, NULL when nothing is left
        );
        CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(target, id);
        CREATE TABLE IF NOT EXISTS dismissed_questions (
            query_hash TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            by TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS feedback_reviews (
            platform TEXT NOT NULL, reply_message_id TEXT NOT NULL, user TEXT NOT NULL,
            by TEXT NOT NULL, at TEXT NOT NULL,
            PRIMARY KEY (platform, reply_message_id, user)
        );
        """
    )


def _v11_changes_by_claim(db: sqlite_utils.Database) -> None:
    """The change feed by claim: the correction notices' look-up of a reply's claim's last change was a scan of
    the whole feed per reply (after a 200,000-claim import, a minute and more on a running bot's event loop)."""
    db.execute("CREATE INDEX IF NOT EXISTS claim_changes_claim ON claim_changes(claim_id, seq)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_claims, _v2_changes_and_checks, _v3_conversations, _v4_claim_vectors, _v5_pending_shares,
    _v6_language_settings, _v7_check_language, _v8_claim_redirects,
    _v9_claim_translations, _v10_desk, _v11_changes_by_claim,
]
LATEST = len(MIGRATIONS)


def version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database, target: int = LATEST) -> list[int]:
    """Bring ``db`` up to ``target``; returns the versions applied."""
    current = version(db)
    if current > LATEST:
        raise SchemaTooNew(
            f"this database has schema version {current}, newer than this factbot understands ({LATEST}); "
            "upgrade factbot or point --db at another file"
        )
    applied = []
    for number in range(current + 1, target + 1):
        MIGRATIONS[number - 1](db)
        db.execute(f"PRAGMA user_version = {number}")
        applied.append(number)
    return applied
