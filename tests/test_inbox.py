"""Acknowledged events kept until answered (bot/core/inbox.py), on both engines: one instance's claim, its renewal,
another instance taking over what a dead one left, a clean stop giving events back, and retention."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from conftest import ENGINES
from helpers import Clock

from bot.core.inbox import MAX_ATTEMPTS, EventInbox
from bot.core.store import Store

BODY = '{"type": "event_callback", "event_id": "Ev1"}'


@pytest.fixture(params=ENGINES)
def db_engine(request):
    return request.param


@pytest.fixture
def stores(opened):
    """Several instances' stores on one database (conftest's ``opened``), on both engines."""
    return opened


def open_rows(store: Store) -> list[tuple]:
    return [tuple(r) for r in store.db.execute(
        "SELECT event_id, owner, attempts FROM event_inbox WHERE done_at IS NULL ORDER BY event_id").fetchall()]


def test_an_event_is_kept_once_then_told_apart_from_its_retries_on_every_instance(stores):
    a, b = EventInbox(stores(), owner="a"), EventInbox(stores(), owner="b")
    assert a.keep("slack", "Ev1", BODY) is True
    assert a.keep("slack", "Ev1", BODY) is False  # a retry to the same instance
    assert b.keep("slack", "Ev1", BODY) is False  # ... and to another one
    assert open_rows(a.store) == [("Ev1", "a", 1)]
    a.done("slack", "Ev1")
    assert a.store.flush_pending(wait=True)
    assert open_rows(b.store) == []
    assert b.keep("slack", "Ev1", BODY) is False  # answered: a late retry is still known
    (body,) = b.store.db.execute("SELECT body FROM event_inbox WHERE event_id = 'Ev1'").fetchone()
    assert body is None  # what people wrote is not kept once answered


def test_keeping_from_another_thread_than_the_stores(stores):
    """The front acknowledges on a thread of its own; the store's SQLite connection belongs to the loop's."""
    inbox = EventInbox(stores(), owner="a")
    results: list[bool | None] = []
    threads = [threading.Thread(target=lambda i=i: results.append(inbox.keep("slack", f"Ev{i}", BODY)))
               for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 20 and len(open_rows(inbox.store)) == 20
    inbox.close()


def test_a_dead_instances_events_are_taken_over_by_one_instance_after_its_lease(stores):
    clock = Clock()
    dead = EventInbox(stores(), owner="dead", lease_seconds=30, clock=clock)
    b = EventInbox(stores(), owner="b", lease_seconds=30, clock=clock)
    c = EventInbox(stores(), owner="c", lease_seconds=30, clock=clock)
    for i in range(3):
        assert dead.keep("slack", f"Ev{i}", BODY.replace("Ev1", f"Ev{i}"))
    clock.advance(seconds=20)
    dead.renew()  # alive: its claim is extended
    clock.advance(seconds=20)
    assert b.take_over() == [] and c.take_over() == []  # 40 s since the keep, 20 since the renewal
    clock.advance(seconds=11)  # it stopped renewing: its lease has run out
    taken = b.take_over()
    assert [(k.event_id, k.attempts) for k in taken] == [("Ev0", 2), ("Ev1", 2), ("Ev2", 2)]
    assert taken[1].body == BODY
    assert c.take_over() == []  # each event goes to one instance
    assert {owner for _, owner, _ in open_rows(c.store)} == {"b"}
    b.renew()
    clock.advance(seconds=29)
    assert c.take_over() == []  # b renews its claim as its own


def test_an_event_that_keeps_killing_its_instances_is_given_up(stores, caplog):
    clock = Clock()
    inboxes = [EventInbox(stores(), owner=f"i{n}", lease_seconds=5, clock=clock) for n in range(MAX_ATTEMPTS + 1)]
    inboxes[0].keep("slack", "EvPoison", BODY)
    for n in range(1, MAX_ATTEMPTS):
        clock.advance(seconds=6)
        assert [k.attempts for k in inboxes[n].take_over()] == [n + 1]
    clock.advance(seconds=6)
    assert inboxes[-1].take_over() == []
    inboxes[-1].store.flush_pending(wait=True)
    assert open_rows(inboxes[0].store) == []
    assert "taken over 3 times without being answered: given up" in caplog.text


def test_a_clean_stop_gives_its_events_back_at_once(stores):
    clock = Clock()
    stopping = EventInbox(stores(), owner="stopping", lease_seconds=30, clock=clock)
    other = EventInbox(stores(), owner="other", lease_seconds=30, clock=clock)
    stopping.keep("slack", "Ev1", BODY)
    stopping.keep("slack", "Ev2", BODY)
    stopping.done("slack", "Ev2")
    stopping.store.flush_pending(wait=True)
    assert stopping.release() == 1
    assert [k.event_id for k in other.take_over()] == ["Ev1"]


def test_housekeeping_forgets_kept_events_after_two_days(stores):
    store = stores()
    clock = Clock()
    inbox = EventInbox(store, owner="a", clock=clock)
    inbox.keep("slack", "EvOld", BODY)
    clock.advance(days=3)
    inbox.keep("slack", "EvNew", BODY)
    assert store.housekeeping(90, now=clock()) is not None
    assert [r[0] for r in store.db.execute("SELECT event_id FROM event_inbox").fetchall()] == ["EvNew"]


def test_an_inbox_on_a_database_that_cannot_keep_anything_says_so(tmp_path):
    memory = Store()
    try:
        assert EventInbox(memory).keep("slack", "Ev1", BODY) is None  # nothing would outlive the process
        assert EventInbox(memory).take_over() == []
    finally:
        memory.close()


def test_a_file_locked_by_another_writer_is_not_waited_for_and_the_event_goes_unkept(tmp_path, caplog):
    store = Store(tmp_path / "factbot.db")
    holder = sqlite3.connect(tmp_path / "factbot.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        inbox = EventInbox(store, owner="a")
        assert inbox.keep("slack", "Ev1", BODY) is None
        assert inbox.keep("slack", "Ev2", BODY) is None  # not tried again at once: no second wait
        assert caplog.text.count("could not be kept before their acknowledgement") == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()


def test_an_event_answered_unkept_and_its_kept_retry_are_one_event(stores):
    """Keeping gives way while the database is busy: the event is then remembered as a retried-event id instead.
    Its retry, kept once the database takes writes again, must still be told apart (and the other way round)."""
    from bot.core.conversations import Conversations

    store = stores()
    inbox = EventInbox(store, owner="a")
    assert Conversations(store).first_delivery("slack", "EvUnkept")  # answered while keeping failed
    store.flush_pending(wait=True)
    assert inbox.keep("slack", "EvUnkept", BODY) is False  # its retry: seen
    assert inbox.keep("slack", "EvKept", BODY) is True
    assert Conversations(stores()).first_delivery("slack", "EvKept") is False  # a retry that could not be kept


def test_keeps_arriving_together_are_written_together_and_each_told_apart(stores):
    import asyncio

    from bot.core.inbox import KeepQueue

    inbox = EventInbox(stores(), owner="a")
    inbox.keep("slack", "EvOld", BODY)
    written: list[int] = []
    keep_many = inbox.keep_many
    inbox.keep_many = lambda events: written.append(len(events)) or keep_many(events)  # type: ignore[method-assign]

    async def burst() -> list[bool | None]:
        queue = KeepQueue(inbox, offload=inbox.store.engine == "postgresql")
        ids = ["EvOld", *(f"Ev{i}" for i in range(30)), "Ev3"]
        return await asyncio.gather(*(queue.keep("slack", i, BODY) for i in ids))

    assert asyncio.run(burst()) == [False, *[True] * 30, False]
    assert len(written) < 32 and sum(written) == 32  # fewer commits than events
    assert len(open_rows(inbox.store)) == 31


def test_while_another_process_holds_the_files_write_lock_the_lease_work_gives_way_at_once(tmp_path):
    """Renewing and taking over run on the bot's event loop: they must not wait out the store's 5 s busy timeout
    behind an import in another process (the next round, a third of a lease later, tries again)."""
    from bot.core.store import StoreError

    store = Store(tmp_path / "factbot.db")
    inbox = EventInbox(store, owner="a")
    inbox.keep("slack", "Ev1", BODY)
    holder = sqlite3.connect(tmp_path / "factbot.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for work in (inbox.renew, inbox.take_over, inbox.release):
            statements: list[str] = []
            store.db.conn.set_trace_callback(statements.append)
            with pytest.raises(StoreError) as raised:
                work()
            assert raised.value.kind == "busy"
            # the lock asked for once, not waited for (the store's busy timeout is 5 s)
            assert statements[:2] == ["PRAGMA busy_timeout = 1", "BEGIN IMMEDIATE"], statements
        store.db.conn.set_trace_callback(None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert inbox.renew() == 1
    store.close()
