"""Digests on a controlled clock with the real APScheduler: right instant, exactly once, missed runs, corrections."""

import asyncio
import datetime as dt

import pytest

from bot.core.conversations import Conversations
from bot.core.models import claim_from_dict
from bot.core.store import Store
from bot.core.subscriptions import Subscriptions
from bot.scheduler import DeliveryGone, DigestScheduler, DigestService

UTC = dt.UTC


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class FakePoster:
    """Records what would reach the channel; can fail, vanish, or die half way through a send."""

    platform = "slack"

    def __init__(self):
        self.posts = []  # (channel, period, digest)
        self.corrections = []
        self.fail = 0
        self.gone = False
        self.die_after_post = False

    async def post_digest(self, sub, digest, *, period):
        if self.gone:
            raise DeliveryGone("channel_not_found")
        if self.fail:
            self.fail -= 1
            raise ConnectionError("platform unavailable")
        self.posts.append((sub.channel, period, digest))
        if self.die_after_post:
            raise KeyboardInterrupt("process killed after posting, before recording")
        return f"m{len(self.posts)}"

    async def find_digest(self, sub, *, period):
        return next((f"m{i + 1}" for i, p in enumerate(self.posts) if p[1] == period and p[0] == sub.channel), None)

    async def post_correction(self, correction):
        self.corrections.append(correction)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def db(tmp_path, sample_claims):
    path = tmp_path / "f.db"
    s = Store(path)
    s.upsert_claims(sample_claims)
    return path


def subscribe(store, created, **kw):
    subs = Subscriptions(store)
    sub = subs.subscribe(platform="slack", workspace="T1", channel=kw.pop("channel", "C1"), weekday=kw.pop("weekday", "monday"),
                         time=kw.pop("time", "09:00"), timezone=kw.pop("timezone", "Europe/Berlin"))
    store.db.execute("UPDATE subscriptions SET created_at = ? WHERE id = ?", [created.isoformat(), sub.id])
    store.db.conn.commit()
    return subs.by_id(sub.id)


MON_0900_BERLIN = dt.datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday 2 November 2026, 09:00 CET


def service(path, clock, poster, **kw):
    return DigestService(Store(path), {"slack": poster}, clock=clock, **kw)


@pytest.mark.parametrize(
    "tz, weekday, time, after, expected",
    [
        ("Europe/Berlin", 0, "09:00", "2026-10-20T00:00", "2026-10-26T08:00"),   # first Monday after summer time ends
        ("Europe/Berlin", 0, "09:00", "2026-03-24T00:00", "2026-03-30T07:00"),   # first Monday of summer time
        ("America/New_York", 4, "17:30", "2026-10-30T00:00", "2026-10-30T21:30"),  # EDT (UTC-4)
        ("America/New_York", 4, "17:30", "2026-11-02T00:00", "2026-11-06T22:30"),  # EST (UTC-5)
        ("Asia/Kolkata", 2, "08:15", "2026-11-02T00:00", "2026-11-04T02:45"),    # UTC+5:30, no DST
        ("Australia/Sydney", 6, "10:00", "2026-10-01T00:00", "2026-10-03T23:00"),  # AEDT (UTC+11) from 02:00 that day
    ],
)
def test_a_digest_is_due_at_the_right_utc_instant(db, tz, weekday, time, after, expected):
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

    store = Store(db)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    sub = subscribe(store, MON_0900_BERLIN, weekday=days[weekday], time=time, timezone=tz)
    hour, minute = map(int, time.split(":"))
    trigger = CronTrigger(day_of_week=days[weekday], hour=hour, minute=minute, timezone=ZoneInfo(tz))
    start = dt.datetime.fromisoformat(after).replace(tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, start)
    assert fire.astimezone(UTC) == dt.datetime.fromisoformat(expected).replace(tzinfo=UTC)
    assert sub.next_run(start) == fire.astimezone(UTC), "our own computation agrees with APScheduler's"


def test_sends_once_per_period(db):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    svc = service(db, clock, poster)
    sub_id = svc.subscriptions.list()[0].id
    assert svc.subscriptions.by_id(sub_id) is not None
    assert run(svc.catch_up()) == ["m1"]
    assert run(svc.catch_up()) == []
    assert [(c, p) for c, p, _ in poster.posts] == [("C1", "2026-11-02")]


def test_two_schedulers_on_one_database_post_once(db):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    a, b = service(db, clock, poster, instance="a"), service(db, clock, poster, instance="b")

    async def both():
        return await asyncio.gather(a.catch_up(), b.catch_up(), a.catch_up(), b.catch_up())

    run(both())
    assert len(poster.posts) == 1


def test_crash_mid_send_then_restart_posts_once(db):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    poster.die_after_post = True
    first = service(db, clock, poster)
    with pytest.raises(KeyboardInterrupt):
        run(first.catch_up())
    poster.die_after_post = False
    clock.now += dt.timedelta(minutes=1)
    restarted = service(db, clock, poster)
    assert run(restarted.catch_up()) == [], "the claim is still leased to the process that died"
    clock.now += dt.timedelta(minutes=10)
    assert run(restarted.catch_up()) == [], "after the lease, the platform is asked and says it was posted"
    assert len(poster.posts) == 1
    row = restarted.store.db.execute("SELECT status, message_id FROM digests_sent").fetchone()
    assert tuple(row) == ("sent", "m1")


def test_crash_before_post_is_resent_after_lease(db):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    sub = subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    svc = service(db, clock, poster)
    assert svc._claim(sub, MON_0900_BERLIN, "2026-11-02") == "new"  # claimed, then the process died
    clock.now += dt.timedelta(minutes=6)
    assert run(service(db, clock, poster).catch_up()) == ["m1"]


def test_failed_send_is_retried_with_backoff(db):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    poster.fail = 2
    svc = service(db, clock, poster)
    assert run(svc.catch_up()) == []
    assert run(svc.catch_up()) == [], "not before the back-off"
    clock.now += dt.timedelta(minutes=2)
    assert run(svc.catch_up()) == []  # second failure
    clock.now += dt.timedelta(minutes=6)
    assert run(svc.catch_up()) == ["m1"]
    assert svc.store.db.execute("SELECT attempts, status FROM digests_sent").fetchone()[:] == (3, "sent")


def test_missed_run_inside_grace_is_sent_at_start(db):
    clock, poster = Clock(MON_0900_BERLIN + dt.timedelta(hours=11)), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    assert run(service(db, clock, poster).catch_up()) == ["m1"]


def test_missed_run_outside_grace_is_skipped_and_next_covers_it(db, caplog):
    clock, poster = Clock(MON_0900_BERLIN + dt.timedelta(days=16)), FakePoster()  # down for two weeks
    store = Store(db)
    subscribe(store, MON_0900_BERLIN - dt.timedelta(days=10))
    svc = service(db, clock, poster)
    assert run(svc.catch_up()) == []
    assert "skipped" in caplog.text
    assert poster.posts == []
    clock.now = MON_0900_BERLIN + dt.timedelta(days=21, minutes=1)  # the next Monday
    run(svc.catch_up())
    assert len(poster.posts) == 1, "several missed weeks produce one digest, not a burst"
    digest = poster.posts[0][2]
    assert digest.period_start < (MON_0900_BERLIN - dt.timedelta(days=9)).isoformat()


def test_deleted_channel_disables_the_subscription(db, caplog):
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    poster.gone = True
    svc = service(db, clock, poster)
    run(svc.catch_up())
    sub = svc.subscriptions.list()[0]
    assert not sub.active and sub.disabled_reason == "channel_not_found"
    clock.now += dt.timedelta(days=7)
    run(svc.catch_up())
    assert poster.posts == []


def test_digest_content_covers_the_period(db, sample_claims):
    store = Store(db)
    subscribe(store, MON_0900_BERLIN - dt.timedelta(days=10))
    for _ in range(2):
        store.log_check(query="alibaba stole it", decision="match", claim_id="alibaba-stole-guardrails", score=0.9,
                        platform="slack", workspace="T1", channel="C1", at=(MON_0900_BERLIN - dt.timedelta(days=1)).isoformat())
    clock, poster = Clock(MON_0900_BERLIN), FakePoster()
    run(service(db, clock, poster).catch_up())
    digest = poster.posts[0][2]
    assert [(c.claim.id, c.count) for c in digest.top_in_channel] == [("alibaba-stole-guardrails", 2)]
    assert digest.period_end == MON_0900_BERLIN.isoformat()


def test_verdict_change_posts_one_correction_per_reply(db, sample_claims):
    store = Store(db)
    conv = Conversations(store)
    now = dt.datetime.now(UTC)
    for mid in ("r1", "r2"):
        conv.record_reply(platform="slack", workspace="T1", channel="C9", message_id=mid, result=None, source="mention",
                          claim_id="ford-inspectors", verdict="unverified", thread_id="t-" + mid, at=now - dt.timedelta(days=1))
    conv.record_reply(platform="slack", workspace="T1", channel="C9", message_id="old", result=None, source="mention",
                      claim_id="ford-inspectors", verdict="unverified", at=now - dt.timedelta(days=45))
    store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "verdict": "false"})])
    poster = FakePoster()
    svc = service(db, Clock(now), poster)
    assert run(svc.send_corrections()) == 2
    assert run(svc.send_corrections()) == 0, "never twice for the same change"
    assert run(service(db, Clock(now), poster).send_corrections()) == 0, "not even from another process"
    assert sorted(c.message_id for c in poster.corrections) == ["r1", "r2"]
    c = poster.corrections[0]
    assert c.old_verdict.value == "unverified" and c.claim.verdict.value == "false"
    assert "changed from Unverified to ❌ False" in c.text()
    # changed back: a new change, so one more notice each
    store.upsert_claims([claim_from_dict(sample_claims[2].to_dict())])
    assert run(svc.send_corrections()) == 2


def test_channel_with_a_digest_gets_corrections_in_it(db, sample_claims):
    store = Store(db)
    subscribe(store, MON_0900_BERLIN - dt.timedelta(days=10))
    Conversations(store).record_reply(platform="slack", workspace="T1", channel="C1", message_id="r1", result=None,
                                      source="mention", claim_id="ford-inspectors", verdict="unverified",
                                      at=MON_0900_BERLIN - dt.timedelta(days=2))
    store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "verdict": "false"})])
    poster = FakePoster()
    svc = service(db, Clock(MON_0900_BERLIN), poster)
    assert run(svc.send_corrections()) == 0
    run(svc.catch_up())
    assert [c.message_id for c in poster.posts[0][2].corrections] == ["r1"]
    assert run(svc.send_corrections()) == 0
    store2 = Store(db)
    assert store2.db.execute("SELECT verdict FROM replies WHERE message_id = 'r1'").fetchone()[0] == "false"


def test_real_apscheduler_ticks_send_what_is_due_and_follow_subscription_changes(db):
    """One job, the tick: a subscription made after start is sent at the next tick, and gone once removed."""
    poster = FakePoster()

    async def scenario():
        svc = service(db, Clock(MON_0900_BERLIN), poster)
        store = svc.store
        sched = DigestScheduler(svc, tick_seconds=0.05)
        sched.start()
        try:
            assert sched.next_runs() == []
            assert [job.id for job in sched.scheduler.get_jobs()] == ["factbot:tick"]
            sub = subscribe(store, MON_0900_BERLIN - dt.timedelta(days=10))
            [(s, next_run)] = sched.next_runs()
            assert s.id == sub.id and next_run == MON_0900_BERLIN + dt.timedelta(days=7)
            for _ in range(200):
                if poster.posts:
                    break
                await asyncio.sleep(0.02)
            Subscriptions(store).unsubscribe(platform="slack", workspace="T1", channel="C1")
            assert sched.next_runs() == []
            assert [job.id for job in sched.scheduler.get_jobs()] == ["factbot:tick"]
        finally:
            sched.shutdown(wait=False)

    run(scenario())
    assert [(c, p) for c, p, _ in poster.posts] == [("C1", "2026-11-02")]


def test_digest_outcomes_and_lag_reach_the_metrics(db):
    from bot.observability import Metrics

    metrics = Metrics()
    clock, poster = Clock(MON_0900_BERLIN + dt.timedelta(minutes=3)), FakePoster()
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10))
    subscribe(Store(db), MON_0900_BERLIN - dt.timedelta(days=10), channel="C2")
    poster.fail = 1  # the first send fails, the second goes through
    svc = service(db, clock, poster)
    svc.observers.append(metrics.observe_digest)
    run(svc.catch_up())
    text = metrics.render().decode()
    assert 'factbot_digests_total{status="failed"} 1.0' in text
    assert 'factbot_digests_total{status="sent"} 1.0' in text
    assert "factbot_scheduler_lag_seconds 180.0" in text  # sent three minutes after its scheduled time
