"""Which language a channel, server or workspace reads factbot in: the stored settings and the choice.

A setting is made for one channel, or for a whole server/workspace (``channel=""``); the
channel's wins.  Without either, the platform's locale, then the language the message was
written in, then English (``i18n.resolve``).  Platform-neutral: ids are opaque strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import i18n
from .i18n import N_, Message, Resolution
from .models import utcnow
from .store import Store


class LanguageError(ValueError):
    """A language factbot does not speak; ``message`` says so in words for the person who asked."""

    def __init__(self, message: Message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class LanguageSetting:
    platform: str
    workspace: str
    channel: str  # "" for the whole server or workspace
    locale: str
    updated_by: str
    updated_at: str

    @property
    def scope(self) -> str:
        return "channel" if self.channel else "workspace"


def parse_language(value: str) -> str:
    """A tag a person typed ("es", "pt-BR", "zh_CN", "Español"), as the catalog it names; else LanguageError."""
    text = (value or "").strip()
    found = i18n.negotiate(text)
    if found is None:
        lowered = text.casefold()
        for tag in i18n.LANGUAGES:  # a language's own name or its English name
            t = i18n.translator(tag)
            if lowered in {t.language_name(tag).casefold(), i18n.translator("en").language_name(tag).casefold()}:
                found = tag
                break
    if found is None:
        raise LanguageError(N_("factbot does not speak “%(language)s”. Choose one of: %(languages)s.",
                               language=text[:40], languages=i18n.describe_languages()))
    return found


class LanguageSettings:
    def __init__(self, store: Store):
        self.store = store

    def set(self, platform: str, workspace: str, channel: str, language: str, *, by: str = "") -> str:
        """Store a channel's (or with ``channel=""`` a server's/workspace's) language; returns its tag."""
        tag = parse_language(language)
        with self.store.transaction():
            self.store.db.conn.execute(
                """INSERT INTO language_settings(platform, workspace, channel, locale, updated_by, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(platform, workspace, channel) DO UPDATE SET
                     locale = excluded.locale, updated_by = excluded.updated_by, updated_at = excluded.updated_at""",
                [platform, workspace or "", channel or "", tag, by, utcnow()],
            )
        return tag

    def get(self, platform: str, workspace: str, channel: str = "") -> str | None:
        """The setting of exactly this scope (not inherited), or None."""
        r = self.store.db.execute(
            "SELECT locale FROM language_settings WHERE platform = ? AND workspace = ? AND channel = ?",
            [platform, workspace or "", channel or ""],
        ).fetchone()
        return r[0] if r else None

    def clear(self, platform: str, workspace: str, channel: str = "") -> bool:
        """Remove a setting; False when there was none."""
        with self.store.transaction():
            cur = self.store.db.conn.execute(
                "DELETE FROM language_settings WHERE platform = ? AND workspace = ? AND channel = ?",
                [platform, workspace or "", channel or ""],
            )
        return cur.rowcount > 0

    def settings(self, platform: str | None = None, workspace: str | None = None) -> list[LanguageSetting]:
        sql, args = "SELECT * FROM language_settings WHERE 1 = 1", []
        if platform:
            sql += " AND platform = ?"
            args.append(platform)
        if workspace is not None:
            sql += " AND workspace = ?"
            args.append(workspace)
        rows = self.store.db.execute(sql + " ORDER BY platform, workspace, channel", args).fetchall()
        return [LanguageSetting(r["platform"], r["workspace"], r["channel"], r["locale"], r["updated_by"],
                                r["updated_at"]) for r in rows]

    def resolve(
        self,
        *,
        platform: str,
        workspace: str = "",
        channel: str = "",
        platform_locales: str | Iterable[str | None] | None = None,
        detected: str | None = None,
    ) -> Resolution:
        """The language of a reply in this channel (see ``i18n.resolve`` for the order)."""
        rows = self.store.db.execute(
            """SELECT channel, locale FROM language_settings
               WHERE platform = ? AND workspace = ? AND channel IN (?, '')""",
            [platform, workspace or "", channel or ""],
        ).fetchall()
        found = {r[0]: r[1] for r in rows}
        return i18n.resolve(
            channel=found.get(channel) if channel else None,
            workspace=found.get(""),
            platform=platform_locales,
            detected=detected,
        )

    def locale_for(self, **kwargs) -> str:
        return self.resolve(**kwargs).locale


def choose_locale(store: Store, *, platform: str, workspace: str = "", channel: str = "",
                  platform_locale: str | Iterable[str | None] | None = None, detected: str | None = None) -> str:
    """The language of a reply in one channel, with its stored settings (``LanguageSettings.resolve``)."""
    return LanguageSettings(store).resolve(platform=platform, workspace=workspace, channel=channel,
                                           platform_locales=platform_locale, detected=detected or None).locale
