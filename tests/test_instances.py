"""Several factbot instances on one PostgreSQL database, as behind a load balancer, one of them killed midway.

Real processes of the real CLI: three ``factbot run slack --http --no-scheduler`` and one ``factbot run slack
--http`` with the digest scheduler, all on one database of the session's PostgreSQL server (tests/pgserver.py),
all talking to the fake Slack Web API on 127.0.0.1. This test plays Slack's Events API and the load balancer:
signed ``app_mention`` events are spread over the three instances; some that were acknowledged are delivered
again with ``X-Slack-Retry-Num`` to another instance (as Slack does when an ack seems late), and every event whose
ack never came is delivered again to another instance, as Slack does. Midway, one instance is killed with
SIGKILL between two of its events while the others carry on, and events keep being routed to its address.

What a user sees is asserted: every event answered once in its thread (none lost, none twice), one digest per
period in the subscribed channel, posted by the scheduler alone, and the limits that live in the database held
across the instances: one person's mentions, sent to all three at once, answered up to the rate limit with one
"slow down" notice, and six messages about one claim in a watched channel, sent to all three at once, answered
once (the watch cooldown). The instances are stopped with SIGTERM before the
replies are counted, so everything they were going to post has been posted: no count depends on a sleep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from tests.fakes.slack_api import BOT_TOKEN, BOT_USER, SIGNING_SECRET, TEAM, ThreadedFakeSlack, event_body, sign
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.slack_api import (  # type: ignore[no-redef]
        BOT_TOKEN,
        BOT_USER,
        SIGNING_SECRET,
        TEAM,
        ThreadedFakeSlack,
        event_body,
        sign,
    )

from bot.adapters.slack import render
from bot.core.conversations import Conversations
from bot.core.digest import DIGEST_TAG
from bot.core.service import open_store
from bot.core.subscriptions import Subscriptions

ROOT = Path(__file__).resolve().parent.parent
DIGEST_CHANNEL = "C0DIGEST"
CHANNELS = ("C0ONE", "C0TWO", "C0THREE")
TEXTS = ("Alibaba stole Claude Fable's guardrails", "is it true that fable 5 downgrades you to opus 4.8?",
         "anyone up for lunch?", "the build is green again")
START_TIMEOUT = 120.0  # four processes starting at once on a loaded two-core machine
ANSWER_TIMEOUT = 90.0
LIMIT = 3  # mentions a person may make per minute, on every instance together
LIMITED, LIMIT_CHANNEL = "U0LIMITED", "C0LIMIT"
WATCH_CHANNEL, WATCHED_TEXT = "C0WATCH", "Alibaba stole Claude Fable's guardrails"
STUCK_CHANNEL, POSTED_CHANNEL = "C0STUCK", "C0POSTED"  # b's events when it is killed: not answered, and answered
HOLD = 10.0  # seconds the fake Slack keeps its answer to b's calls for those events (b is killed meanwhile)
LEASE = 6.0  # seconds an instance's claim on an acknowledged event lasts unrenewed (renewed every 2 s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Instance:
    name: str
    proc: subprocess.Popen
    port: int
    metrics_port: int
    log: Path
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    launches: int = 1

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def tail(self) -> str:
        try:
            return f"--- {self.name} (exit {self.proc.poll()}) ---\n" + self.log.read_text()[-2500:]
        except OSError:
            return f"--- {self.name}: no log ---"


@dataclass
class Event:
    event_id: str
    channel: str
    ts: str
    body: str
    deliveries: list[tuple[str, int, int]] = field(default_factory=list)  # (instance, retry number, status)

    @property
    def acked_by(self) -> list[str]:
        return [name for name, _, status in self.deliveries if status == 200]


def start(name: str, tmp: Path, env: dict[str, str], *, scheduler: bool) -> Instance:
    inst = Instance(name, None, 0, 0, tmp / f"{name}.log", env=env, launches=0)  # type: ignore[arg-type]
    inst.cmd = ["--no-scheduler"] if not scheduler else []
    launch(inst)
    return inst


def launch(inst: Instance) -> None:
    """(Re)start ``inst`` on two free ports; the ports are only free when asked, so a taken one means a relaunch."""
    inst.port, inst.metrics_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "bot", "run", "slack", "--http", "--host", "127.0.0.1", "--port", str(inst.port),
           "--metrics-host", "127.0.0.1", "--metrics-port", str(inst.metrics_port), *inst.cmd]
    with open(inst.log, "w") as out:
        inst.proc = subprocess.Popen(cmd, cwd=ROOT, env=inst.env, stdout=out, stderr=subprocess.STDOUT)
    inst.launches += 1


def lost_its_port(inst: Instance) -> bool:
    """Exited at start because another process took one of its ports between free_port() and its bind."""
    text = inst.log.read_text(errors="replace")
    return inst.proc.returncode == 4 and ("cannot listen on" in text or "cannot serve /healthz" in text)


async def wait_healthy(instances: list[Instance]) -> None:
    import aiohttp

    deadline = time.monotonic() + START_TIMEOUT
    pending = list(instances)
    async with aiohttp.ClientSession() as session:
        while pending:
            for inst in list(pending):
                if inst.proc.poll() is not None:
                    if lost_its_port(inst) and inst.launches < 3:
                        launch(inst)
                        continue
                    raise AssertionError(f"{inst.name} exited before serving\n{inst.tail()}")
                try:
                    async with session.get(f"http://127.0.0.1:{inst.metrics_port}/healthz") as response:
                        if response.status == 200:
                            pending.remove(inst)
                except aiohttp.ClientError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError("not healthy in time: " + "\n".join(i.tail() for i in pending))
            await asyncio.sleep(0.2)


async def deliver(session: Any, inst: Instance, ev: Event, retry: int = 0) -> int:
    """One delivery as Slack makes it; the HTTP status, 0 when no answer came (refused, reset, timed out)."""
    import aiohttp

    headers = {"Content-Type": "application/json", **sign(ev.body)}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    try:
        async with session.post(inst.events_url, data=ev.body.encode(), headers=headers) as response:
            await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError, OSError):
        status = 0
    ev.deliveries.append((inst.name, retry, status))
    return status


async def deliver_until_acked(session: Any, ring: list[Instance], first: int, ev: Event) -> None:
    """Slack's way: deliver to one instance; while no ack comes, retry (up to 3 times) on the next one."""
    for retry in range(4):
        inst = ring[(first + retry) % len(ring)]
        if await deliver(session, inst, ev, retry) == 200:
            return


def make_event(i: int, phase: str, *, user: str = "", channel: str = "", text: str = "",
               watched: bool = False) -> Event:
    """A mention (by default from a person of its own, about one of TEXTS), or with ``watched`` a plain message."""
    channel = channel or CHANNELS[i % len(CHANNELS)]
    ts = f"{1_790_000_000 + i}.{i:06d}"
    text = text or TEXTS[i % len(TEXTS)]
    event = {"type": "message", "channel_type": "channel", "text": text} if watched else \
        {"type": "app_mention", "text": f"<@{BOT_USER}> {text}"}
    event.update({"user": user or f"U0USER{i:04d}", "ts": ts, "channel": channel, "event_ts": ts, "team": TEAM})
    event_id = f"Ev{phase}{i:06d}"
    return Event(event_id, channel, ts, json.dumps(event_body(event, event_id=event_id)))


def replies_to(fake: Any, ev: Event) -> list[Any]:
    return [c for c in fake.find("chat.postMessage")
            if c.body.get("channel") == ev.channel and c.body.get("thread_ts") == ev.ts]


async def wait_answered(fake: Any, events: list[Event], what: str, instances: list[Instance]) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (missing := [ev.event_id for ev in events if not replies_to(fake, ev)]):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: {len(missing)} never answered, e.g. {missing[:5]}\n"
                                 + "\n".join(i.tail() for i in instances))
        await asyncio.sleep(0.2)


def posts_in(fake: Any, channel: str) -> list[Any]:
    return fake.find("chat.postMessage", where=lambda c: c.body.get("channel") == channel)


def notices_to(fake: Any, user: str) -> list[Any]:
    return fake.find("chat.postEphemeral", where=lambda c: c.body.get("user") == user)


def digests(fake: Any) -> list[str]:
    """The period of each digest posted to the subscribed channel, in order."""
    found = []
    for call in fake.find("chat.postMessage", where=lambda c: c.body.get("channel") == DIGEST_CHANNEL):
        tag = render.digest_tag(call.body.get("blocks") or [])
        found.append(tag.removeprefix(DIGEST_TAG) if tag else "(untagged)")
    return found


async def wait_until(predicate: Any, what: str, instances: list[Instance]) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n" + "\n".join(i.tail() for i in instances))
        await asyncio.sleep(0.2)


def stop(inst: Instance) -> int:
    if inst.proc.poll() is None:
        inst.proc.send_signal(signal.SIGTERM)
    try:
        return inst.proc.wait(60)
    except subprocess.TimeoutExpired:
        inst.proc.kill()
        return inst.proc.wait(10)


def test_three_instances_and_a_scheduler_on_one_postgresql_answer_each_event_once_through_a_kill(pg_url, tmp_path):
    import aiohttp

    # The database, with the bundled claims, made once before the instances start; one weekly digest subscription.
    store, _ = open_store(pg_url)
    Conversations(store).set_watch("slack", TEAM, WATCH_CHANNEL, True, by="U0ADMIN")
    real = dt.datetime.now(dt.UTC)
    due = (real + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[due.weekday()]
    Subscriptions(store).subscribe(platform="slack", workspace=TEAM, channel=DIGEST_CHANNEL, weekday=day,
                                   time=due.strftime("%H:%M"), timezone="UTC")
    store.close()
    clock = tmp_path / "clock"

    def move_to(moment: dt.datetime) -> None:  # the scheduler's "now" becomes `moment`
        clock.write_text(str((moment - dt.datetime.now(dt.UTC)).total_seconds()))

    move_to(due + dt.timedelta(minutes=5))  # the first period's digest is due as the scheduler starts
    (tmp_path / "config").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FACTBOT_", "SLACK_", "DISCORD_"))}

    instances: list[Instance] = []
    with ThreadedFakeSlack(socket_mode=False) as fake:
        env = {**base, "FACTBOT_DB": pg_url, "XDG_CONFIG_HOME": str(tmp_path / "config"),
               "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
               "FACTBOT_MATCHER_SEMANTIC": "off", "FACTBOT_TEST_CLOCK_FILE": str(clock),
               "FACTBOT_RATE_LIMIT_PER_MINUTE": str(LIMIT), "FACTBOT_SLACK_EVENT_LEASE_SECONDS": str(LEASE),
               "FACTBOT_INDEX_DIR": str(tmp_path / "index-cache")}  # the host's index cache, not the home folder's
        try:
            instances = [start(name, tmp_path, env, scheduler=False) for name in ("a", "b", "c")]
            instances.append(start("scheduler", tmp_path, env, scheduler=True))
            a, b, c, scheduler = instances

            async def scenario() -> tuple[list[Event], ...]:
                await wait_healthy(instances)
                timeout = aiohttp.ClientTimeout(total=30)
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    ring = [a, b, c]
                    # 1. Events spread over the three; every fifth one acknowledged is delivered again to the
                    #    next instance, as Slack does when an ack seems late.
                    before = [make_event(i, "A") for i in range(0, 30)]
                    await asyncio.gather(*(deliver_until_acked(session, ring, i, ev) for i, ev in enumerate(before)))
                    await asyncio.gather(*(deliver(session, ring[(i + 1) % 3], ev, retry=1)
                                           for i, ev in enumerate(before) if i % 5 == 0))
                    # Shared limits: one person's mentions, two to each instance at once, past the limit; and
                    # six messages about one claim in a watched channel, two to each instance at once.
                    limited = [make_event(i, "L", user=LIMITED, channel=LIMIT_CHANNEL) for i in range(300, 306)]
                    watched = [make_event(i, "W", user=f"U0WATCHER{i}", channel=WATCH_CHANNEL, text=WATCHED_TEXT,
                                          watched=True) for i in range(400, 406)]
                    await asyncio.gather(*(deliver_until_acked(session, ring, i, ev)
                                           for i, ev in enumerate(limited + watched)))
                    await wait_until(lambda: (len(posts_in(fake, LIMIT_CHANNEL)) >= LIMIT
                                              and notices_to(fake, LIMITED) and posts_in(fake, WATCH_CHANNEL)),
                                     "the limited person's answers and the watch reply", instances)
                    # 2. b is killed with SIGKILL while it holds events it has acknowledged and not answered, as a
                    #    and c are being sent theirs: some wait for Slack's users.info, some have had their answer
                    #    posted and wait for Slack's reply to the post. Slack sends none of them again.
                    await wait_answered(fake, [ev for ev in before if "b" in ev.acked_by], "b's events", instances)
                    stuck = [make_event(i, "K", channel=STUCK_CHANNEL) for i in range(500, 506)]
                    posted = [make_event(i, "P", channel=POSTED_CHANNEL) for i in range(600, 604)]
                    for ev in posted:  # the mentions exist in their channel, as on Slack
                        fake.add_message(POSTED_CHANNEL, "a mention", user="U0POSTER", ts=ev.ts)
                    stuck_users = {json.loads(ev.body)["event"]["user"] for ev in stuck}
                    fake.hold("users.info", lambda body: body.get("user") in stuck_users, HOLD)
                    fake.hold("chat.postMessage", lambda body: body.get("channel") == POSTED_CHANNEL, HOLD)
                    assert await asyncio.gather(*(deliver(session, b, ev) for ev in stuck + posted)) == [200] * 10
                    await wait_until(lambda: (len(posts_in(fake, POSTED_CHANNEL)) == len(posted) and stuck_users <= {
                        c.body.get("user") for c in fake.find("users.info")}), "b holding its events", instances)
                    during = [make_event(i, "B") for i in range(100, 130)]
                    sending = asyncio.gather(*(deliver_until_acked(session, [a, c], i, ev)
                                               for i, ev in enumerate(during)))
                    b.proc.send_signal(signal.SIGKILL)
                    await sending
                    assert await asyncio.get_running_loop().run_in_executor(None, b.proc.wait) == -signal.SIGKILL
                    assert not any(replies_to(fake, ev) for ev in stuck)  # b died before answering these
                    fake.holds.clear()
                    # 3. The balancer still sends to b's address: no ack comes from there, so each of those is
                    #    delivered again to the next instance; and acknowledged ones are again retried elsewhere.
                    after = [make_event(i, "C") for i in range(200, 230)]
                    await asyncio.gather(*(deliver_until_acked(session, ring, i, ev) for i, ev in enumerate(after)))
                    await asyncio.gather(*(deliver(session, c if ev.acked_by[-1] == "a" else a, ev, retry=2)
                                           for i, ev in enumerate(after) if i % 4 == 0))
                    # b's events are answered by a or c once b's lease has run out: those b had not answered,
                    # and those it had answered only looked at.
                    await wait_answered(fake, before + during + after + stuck, "all events", instances)
                # 4. The next week: the scheduler posts that period's digest too.
                await wait_until(lambda: len(digests(fake)) >= 1, "the first digest", instances)
                move_to(due + dt.timedelta(days=7, minutes=5))
                await wait_until(lambda: len(digests(fake)) >= 2, "the second digest", instances)
                return before, during, after, stuck, posted

            before, during, after, stuck, posted = asyncio.run(scenario())
            # Everything the living instances were going to post is posted once they have stopped.
            codes = {inst.name: stop(inst) for inst in (a, c, scheduler)}
        finally:
            for inst in instances:
                if inst.proc.poll() is None:
                    inst.proc.kill()
                    inst.proc.wait(10)
        logs = "\n".join(inst.tail() for inst in instances)
        events = before + during + after + stuck + posted
        answers = {ev.event_id: len(replies_to(fake, ev)) for ev in events}
        periods = digests(fake)
        limit_posts, limit_notices = posts_in(fake, LIMIT_CHANNEL), notices_to(fake, LIMITED)
        watch_posts = posts_in(fake, WATCH_CHANNEL)
        store, _ = open_store(pg_url)
        kept = {eid: (attempts, done) for eid, attempts, done in store.db.execute(
            "SELECT event_id, attempts, done_at IS NOT NULL FROM event_inbox WHERE event_id LIKE 'EvK%'"
            " OR event_id LIKE 'EvP%'").fetchall()}
        store.close()

    assert codes == {"a": 0, "c": 0, "scheduler": 0}, logs
    # Every event acknowledged by some instance, and answered exactly once in its thread.
    assert all(ev.acked_by for ev in events), [ev.deliveries for ev in events if not ev.acked_by]
    assert {eid: n for eid, n in answers.items() if n != 1} == {}, logs
    # What b held when it was killed was answered by another instance: once, and not again where b had posted.
    taking = [i.log.read_text() for i in (a, c, scheduler)]
    assert sum(t.count("acknowledged by an instance that stopped before answering") for t in taking) >= 1, logs
    assert {eid: row for eid, row in kept.items() if row != (2, True)} == {}, kept  # taken over once, now done
    # The retries really landed elsewhere: acknowledged there, not answered again.
    retried = [ev for ev in events if len(ev.acked_by) > 1]
    assert len(retried) >= 6 and all(len(set(ev.acked_by)) == len(ev.acked_by) for ev in retried)
    # Events routed to b after its death were refused there and answered by another instance.
    refused = [ev for ev in after if ("b", 0, 0) in ev.deliveries]
    assert len(refused) == 10 and all(ev.acked_by[0] in ("a", "c") for ev in refused)
    # The rate limit held across the instances: LIMIT answers, one "slow down" notice, then silence.
    assert len(limit_posts) == LIMIT and len(limit_notices) == 1, (limit_posts, limit_notices)
    # The watch cooldown held across them: one reply for six messages about the claim.
    assert len(watch_posts) == 1, [(p.body.get("thread_ts"), p.body.get("text")) for p in watch_posts]
    # One digest per period, none from the --no-scheduler instances.
    assert len(periods) == 2 and len(set(periods)) == 2 and "(untagged)" not in periods, periods
