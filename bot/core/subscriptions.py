"""Weekly digest subscriptions: parsing what people type, and storing what the scheduler reads.

People type "mon", "Monday", "9am", "09:00", "Europe/Berlin" into slash
commands; every accepted form is listed in the error when something else is
typed, and nothing is stored unless all three parts are valid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .models import utcnow
from .store import Store

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SubscriptionError(ValueError):
    pass


def parse_weekday(text: str) -> int:
    """0 for Monday … 6 for Sunday, from the full name or its first three letters (any case)."""
    key = (text or "").strip().lower().rstrip(".")
    for i, name in enumerate(WEEKDAYS):
        if key == name or (len(key) >= 3 and name.startswith(key)):
            return i
    raise SubscriptionError(f"{text!r} is not a weekday; use a name like monday or mon (monday … sunday)")


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_time(text: str) -> str:
    """'09:00', '9:00', '9am', '21:30', '9:30pm' → 'HH:MM' (24-hour)."""
    m = _TIME.match((text or "").strip())
    if m:
        hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                hour = -1
            else:
                hour = hour % 12 + (12 if ampm == "pm" else 0)
        if 0 <= hour <= 23 and 0 <= minute <= 59 and (m.group(2) or ampm):
            return f"{hour:02d}:{minute:02d}"
    raise SubscriptionError(f"{text!r} is not a time of day; use 24-hour HH:MM like 09:00 or 17:30 (or 9am)")


def parse_timezone(text: str) -> str:
    """An IANA time zone name such as Europe/Berlin (case-insensitive); UTC is accepted too."""
    name = (text or "").strip()
    if not name or ".." in name or name.startswith("/"):
        raise SubscriptionError(f"{text!r} is not a time zone; use an IANA name like Europe/Berlin or America/New_York")
    lookup = {z.lower(): z for z in available_timezones()}
    canonical = lookup.get(name.lower())
    if canonical is None:
        raise SubscriptionError(f"{text!r} is not a time zone; use an IANA name like Europe/Berlin or America/New_York")
    try:
        ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but not loadable
        raise SubscriptionError(f"time zone {canonical!r} cannot be loaded on this system") from None
    return canonical


@dataclass(frozen=True)
class Subscription:
    id: int
    platform: str
    workspace: str
    channel: str
    weekday: int
    time: str
    timezone: str
    language: str = "en"
    created_by: str = ""
    active: bool = True
    disabled_reason: str = ""
    created_at: str = ""

    def describe(self) -> str:
        return f"every {WEEKDAYS[self.weekday].capitalize()} at {self.time} ({self.timezone})"

    def next_run(self, after: dt.datetime) -> dt.datetime:
        """The next scheduled instant strictly after ``after`` (aware), in UTC, honouring daylight saving."""
        tz = ZoneInfo(self.timezone)
        local = after.astimezone(tz)
        hour, minute = map(int, self.time.split(":"))
        day = local.date()
        for offset in range(0, 8):
            d = day + dt.timedelta(days=offset)
            if d.weekday() != self.weekday:
                continue
            candidate = dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)
            if candidate.astimezone(dt.UTC) > after.astimezone(dt.UTC):
                return candidate.astimezone(dt.UTC)
        return self.next_run(after + dt.timedelta(days=7))  # pragma: no cover - unreachable in practice

    def previous_run(self, at: dt.datetime) -> dt.datetime:
        """The latest scheduled instant at or before ``at`` (aware), in UTC."""
        tz = ZoneInfo(self.timezone)
        hour, minute = map(int, self.time.split(":"))
        day = at.astimezone(tz).date()
        for offset in range(0, 9):
            d = day - dt.timedelta(days=offset)
            if d.weekday() != self.weekday:
                continue
            candidate = dt.datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz).astimezone(dt.UTC)
            if candidate <= at.astimezone(dt.UTC):
                return candidate
        raise AssertionError("unreachable: a weekday recurs within 8 days")  # pragma: no cover

    def period(self, scheduled: dt.datetime) -> str:
        """The key of a digest period: the local date it is scheduled on (e.g. 2026-11-23)."""
        return scheduled.astimezone(ZoneInfo(self.timezone)).date().isoformat()


def _row(r) -> Subscription:
    return Subscription(
        id=r["id"], platform=r["platform"], workspace=r["workspace"], channel=r["channel"], weekday=r["weekday"],
        time=r["time"], timezone=r["timezone"], language=r["language"], created_by=r["created_by"] or "",
        active=bool(r["active"]), disabled_reason=r["disabled_reason"] or "", created_at=r["created_at"],
    )


class Subscriptions:
    """Digest subscriptions in the store; one per channel (subscribing again changes the schedule)."""

    def __init__(self, store: Store):
        self.store = store

    def subscribe(
        self, *, platform: str, workspace: str, channel: str, weekday: str, time: str, timezone: str,
        created_by: str = "", language: str = "en",
    ) -> Subscription:
        day, hhmm, tz = parse_weekday(weekday), parse_time(time), parse_timezone(timezone)
        now = utcnow()
        with self.store.transaction():
            self.store.db.conn.execute(
                """INSERT INTO subscriptions(platform, workspace, channel, weekday, time, timezone, language,
                                             created_by, created_at, updated_at, active, disabled_reason)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL)
                   ON CONFLICT(platform, workspace, channel) DO UPDATE SET
                     weekday = excluded.weekday, time = excluded.time, timezone = excluded.timezone,
                     language = excluded.language, updated_at = excluded.updated_at, active = 1, disabled_reason = NULL""",
                [platform, workspace, channel, day, hhmm, tz, language, created_by, now, now],
            )
        sub = self.get(platform, workspace, channel)
        assert sub is not None
        return sub

    def unsubscribe(self, *, platform: str, workspace: str, channel: str) -> bool:
        with self.store.transaction():
            cur = self.store.db.conn.execute(
                "DELETE FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?", [platform, workspace, channel]
            )
        return cur.rowcount > 0

    def get(self, platform: str, workspace: str, channel: str) -> Subscription | None:
        r = self.store.db.execute(
            "SELECT * FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ?", [platform, workspace, channel]
        ).fetchone()
        return _row(r) if r else None

    def by_id(self, sub_id: int) -> Subscription | None:
        r = self.store.db.execute("SELECT * FROM subscriptions WHERE id = ?", [sub_id]).fetchone()
        return _row(r) if r else None

    def list(self, *, platform: str | None = None, active_only: bool = False) -> list[Subscription]:
        sql, args = "SELECT * FROM subscriptions WHERE 1=1", []
        if platform:
            sql += " AND platform = ?"
            args.append(platform)
        if active_only:
            sql += " AND active = 1"
        return [_row(r) for r in self.store.db.execute(sql + " ORDER BY id", args)]

    def disable(self, sub_id: int, reason: str) -> None:
        with self.store.transaction():
            self.store.db.conn.execute(
                "UPDATE subscriptions SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?", [reason, utcnow(), sub_id]
            )
