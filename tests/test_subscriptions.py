"""Digest subscriptions: forgiving parsing, clear errors naming the accepted forms, nothing stored on error."""

import datetime as dt

import pytest

from bot.core.subscriptions import SubscriptionError, Subscriptions, parse_time, parse_timezone, parse_weekday


@pytest.mark.parametrize("text, day", [("monday", 0), ("Mon", 0), ("TUE", 1), ("wednesday", 2), ("sun.", 6), ("Thurs", 3)])
def test_weekdays(text, day):
    assert parse_weekday(text) == day


@pytest.mark.parametrize("text, hhmm", [("09:00", "09:00"), ("9:00", "09:00"), ("9am", "09:00"), ("12am", "00:00"),
                                        ("9:30pm", "21:30"), ("23:59", "23:59"), ("12pm", "12:00")])
def test_times(text, hhmm):
    assert parse_time(text) == hhmm


def test_timezones_case_insensitive():
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    assert parse_timezone("UTC") == "UTC"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: parse_weekday("someday"), "monday or mon"),
        (lambda: parse_time("25:00"), "HH:MM like 09:00"),
        (lambda: parse_time("9"), "HH:MM like 09:00"),
        (lambda: parse_time("13pm"), "HH:MM like 09:00"),
        (lambda: parse_timezone("Mars/Olympus"), "Europe/Berlin"),
        (lambda: parse_timezone("../../etc/passwd"), "Europe/Berlin"),
    ],
)
def test_errors_name_accepted_forms(call, message):
    with pytest.raises(SubscriptionError, match=message):
        call()


def test_subscribe_update_list_unsubscribe(store):
    subs = Subscriptions(store)
    s = subs.subscribe(platform="discord", workspace="G", channel="C", weekday="mon", time="9am", timezone="Europe/Berlin", created_by="u")
    assert (s.weekday, s.time, s.timezone, s.active) == (0, "09:00", "Europe/Berlin", True)
    assert s.describe() == "every Monday at 09:00 (Europe/Berlin)"
    again = subs.subscribe(platform="discord", workspace="G", channel="C", weekday="fri", time="17:00", timezone="UTC")
    assert again.id == s.id and again.weekday == 4
    assert [x.channel for x in subs.list()] == ["C"]
    subs.disable(s.id, "channel deleted")
    assert subs.list(active_only=True) == [] and subs.by_id(s.id).disabled_reason == "channel deleted"
    assert subs.unsubscribe(platform="discord", workspace="G", channel="C")
    assert not subs.unsubscribe(platform="discord", workspace="G", channel="C")


def test_bad_input_stores_nothing(store):
    subs = Subscriptions(store)
    with pytest.raises(SubscriptionError):
        subs.subscribe(platform="slack", workspace="T", channel="C", weekday="mon", time="9", timezone="UTC")
    assert subs.list() == []


def test_next_run_honours_daylight_saving(store):
    subs = Subscriptions(store)
    s = subs.subscribe(platform="slack", workspace="T", channel="C", weekday="monday", time="09:00", timezone="Europe/Berlin")
    # Summer time (UTC+2) ends on Sunday 25 October 2026.
    before = s.next_run(dt.datetime(2026, 10, 20, tzinfo=dt.UTC))
    after = s.next_run(dt.datetime(2026, 10, 27, tzinfo=dt.UTC))
    assert before == dt.datetime(2026, 10, 26, 8, 0, tzinfo=dt.UTC)  # Monday after the change: UTC+1
    assert after == dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
    summer = s.next_run(dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert summer == dt.datetime(2026, 7, 6, 7, 0, tzinfo=dt.UTC)
