"""Slack acks while ``factbot claims import`` loads a large archive into the running bot's database.

The same three processes as ``load_slack.py`` (the bot, ``factbot run slack --http`` on a fresh database; the
fake Web API; this sender), plus a fourth: ``factbot claims import`` of ``--claims`` synthetic claims
(``synth.py``) into the bot's database file. Signed ``app_mention`` events go out open-loop at ``--rate`` per
second throughout:

1. a warm-up, then ``--baseline`` seconds with no import (the baseline, same run);
2. from the moment the import starts until it has ended and the bot finds a claim of the archive (its index
   caught up), plus two seconds.

Reported for each phase: events, ack latency p50 / p99 / max, acks over Slack's 3 s, HTTP statuses other than
200, events never answered, error replies; the import's own time; the load average before and after. The bot
runs with lexical matching (``FACTBOT_MATCHER_SEMANTIC=off``) and without the per-user rate limit; with
``--semantic`` it matches by meaning (the default engine), embeds the archive's claims on its background thread
after the import, and ``--after S`` adds a third phase: S more seconds of events while that embedding runs.

    python bench/import_slack.py [--claims 200000] [--rate 20] [--baseline 20] [--semantic --after 60]

Prints a Markdown table and writes bench/results/import_slack-latest.json. Takes about
``baseline + import + catch-up`` seconds (3-5 minutes at 200,000 claims on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common  # noqa: E402
import load_slack  # noqa: E402
from synth import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLACK_ACK_S = 3.0


def write_archive(path: Path, n: int) -> str:
    """``n`` synthetic claims as JSON lines; returns the text of one of them to look for once imported."""
    probe = ""
    with open(path, "w", encoding="utf-8") as out:
        for i, claim in enumerate(generate(n, seed=7, id_prefix="archive")):
            out.write(json.dumps(claim.to_dict(), ensure_ascii=False) + "\n")
            if i == n * 2 // 3:
                probe = claim.claim
    return probe


def phase(events: list[load_slack.Sent], replies: load_slack.Replies) -> dict[str, Any]:
    ok = [ev for ev in events if ev.status == 200]
    ack_s = [ev.acked - ev.sent for ev in ok]
    got = [replies.of(ev) for ev in events]
    kinds = Counter(load_slack.reply_kind(r[0][1]) for r in got if r)
    return {
        "events": len(events),
        "ack_ms": common.summary_ms(ack_s),
        "acks_over_3s": sum(1 for s in ack_s if s > SLACK_ACK_S),
        "statuses": dict(Counter(ev.status for ev in events)),
        "never_answered": sum(1 for r in got if not r),
        "answered_twice": sum(1 for r in got if len(r) > 1),
        "error_replies": kinds.get("error", 0),
    }


async def drive(args: argparse.Namespace, port: int, conn: Any, env: dict[str, str], archive: Path,
                probe: str, bot_pid: int = 0) -> dict[str, Any]:
    import aiohttp

    from tests.fakes.slack_api import BOT_USER, TEAM, event_body

    on_topic, off_topic = load_slack.message_texts(42)
    gen = load_slack.Generator(f"http://127.0.0.1:{port}/slack/events", 2000, 42, on_topic, off_topic)
    replies = load_slack.Replies(conn)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=60)
    result: dict[str, Any] = {}
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        tasks: list[asyncio.Task] = []

        async def send_for(seconds: float | None, until: Any = None) -> list[load_slack.Sent]:
            sent: list[load_slack.Sent] = []
            start = loop.time()
            i = 0
            while (seconds is None or loop.time() - start < seconds) and not (until and until()):
                due = start + i / args.rate
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                ev = gen.event()
                sent.append(ev)
                tasks.append(asyncio.create_task(load_slack.deliver(session, gen.url, ev, None)))
                i += 1
            return sent

        await send_for(2.0)  # warm-up
        baseline = await send_for(args.baseline)
        print(f"  baseline: {len(baseline)} events", file=sys.stderr, flush=True)

        started = time.monotonic()
        importer = subprocess.Popen([sys.executable, "-m", "bot", "-v", "claims", "import", str(archive)], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        found: dict[str, float] = {}
        probe_n = [0]

        async def probe_once() -> None:
            probe_n[0] += 1
            ts = f"1900000000.{probe_n[0]:06d}"
            event = {"type": "app_mention", "user": "U0PROBE", "text": f"<@{BOT_USER}> {probe}", "ts": ts,
                     "channel": "C0PROBE", "event_ts": ts, "team": TEAM}
            body = json.dumps(event_body(event, event_id=f"EvPROBE{probe_n[0]:06d}"))
            await load_slack.post(session, gen.url, body)
            await asyncio.sleep(1.0)
            replies.pull()
            # Any probe's reply so far that is a verdict (not "no match", an error or the busy answer), when it came:
            # under overload a reply can take longer than the second between two probes.
            for i in range(1, probe_n[0] + 1):
                for at, text in replies.by_thread.get(("C0PROBE", f"1900000000.{i:06d}"), []):
                    if load_slack.reply_kind(text) == "verdict or did-you-mean":
                        found["at"] = min(found.get("at", at), at)

        async def watch_import() -> None:
            while importer.poll() is None:
                await asyncio.sleep(0.5)
            result["import_s"] = round(time.monotonic() - started, 1)
            result["import_exit"] = importer.returncode
            result["import_output"] = importer.stdout.read().strip()[-300:]
            stderr = importer.stderr.read()
            result["import_stderr"] = stderr.strip()[-300:]
            longest = re.search(r"longest transaction held the write lock (\d+) ms", stderr)
            result["import_longest_tx_ms"] = int(longest.group(1)) if longest else None
            print(f"  import done in {result['import_s']} s: {result['import_output']}", file=sys.stderr, flush=True)
            deadline = time.monotonic() + args.catch_up_limit
            while "at" not in found and time.monotonic() < deadline:
                await probe_once()

        async def sample_stacks() -> None:
            with open(args.py_spy, "a") as out:
                while not watcher.done():
                    dump = await asyncio.create_subprocess_exec(
                        shutil.which("py-spy") or "py-spy", "dump", "--pid", str(bot_pid), "--nonblocking",
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
                    text, _ = await dump.communicate()
                    out.write(f"=== {time.monotonic() - started:.1f}\n{text.decode(errors='replace')}\n")
                    await asyncio.sleep(1.0)

        watcher = asyncio.create_task(watch_import())
        if args.py_spy:
            tasks.append(asyncio.create_task(sample_stacks()))
        during = await send_for(None, until=lambda: watcher.done())
        during += await send_for(2.0)
        result["found_after_import_s"] = (round(found["at"] - started - result["import_s"], 1) if "at" in found
                                          else None)
        after = await send_for(args.after) if args.after else []
        await asyncio.gather(*tasks)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies.pull()
            if all(replies.of(ev) for ev in baseline + during + after):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        replies.pull()
    result["baseline"] = phase(baseline, replies)
    result["during_import"] = phase(during, replies)
    if after:
        result["after_import"] = phase(after, replies)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=20.0, help="events per second, throughout")
    ap.add_argument("--baseline", type=float, default=20.0, help="seconds of events before the import starts")
    ap.add_argument("--py-spy", metavar="FILE", help="during the import, append the bot's threads' stacks (py-spy dump) "
                    "to FILE every second")
    ap.add_argument("--semantic", action="store_true", help="match by meaning (the default engine), as a default "
                    "install does: the bot embeds the archive in the background after the import")
    ap.add_argument("--after", type=float, default=0.0, help="seconds of events after the import was found (with "
                    "--semantic: while the archive is being embedded)")
    ap.add_argument("--catch-up-limit", type=float, default=180.0,
                    help="after the import, look this long at most for the bot to find an archive claim")
    args = ap.parse_args()

    from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET

    tmp = Path(tempfile.mkdtemp(prefix="factbot-import-"))
    archive = tmp / "archive.jsonl"
    t0 = time.monotonic()
    probe = write_archive(archive, args.claims)
    print(f"{args.claims} claims written in {time.monotonic() - t0:.0f} s; {common.busy_note()}", file=sys.stderr)
    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    fake_proc = ctx.Process(target=load_slack._fake_main, args=(child_conn,), daemon=True)
    fake_proc.start()
    fake_port = conn.recv()
    port, metrics_port = load_slack.free_port(), load_slack.free_port()
    (tmp / "config").mkdir()
    env = {**os.environ, "FACTBOT_DB": str(tmp / "factbot.db"), "XDG_CONFIG_HOME": str(tmp / "config"),
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": f"http://127.0.0.1:{fake_port}/api/", "PYTHONPATH": str(ROOT),
           "FACTBOT_RATE_LIMIT_PER_MINUTE": "0"}
    if not args.semantic:
        env["FACTBOT_MATCHER_SEMANTIC"] = "off"
    else:
        env.pop("FACTBOT_MATCHER_SEMANTIC", None)
    for key in ("SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "FACTBOT_CONFIG"):
        env.pop(key, None)
    cmd, how = load_slack.bot_command(port, metrics_port)
    log_path = tmp / "bot.log"
    load_before = [round(x, 2) for x in os.getloadavg()]
    with open(log_path, "w") as log:
        bot = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    results = None
    try:
        asyncio.run(load_slack.wait_healthy([f"http://127.0.0.1:{metrics_port}/healthz", f"http://127.0.0.1:{port}/healthz"], bot))
        results = asyncio.run(drive(args, port, conn, env, archive, probe, bot.pid))
    except Exception as exc:  # noqa: BLE001 - say what happened, show the bot's log
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print(log_path.read_text()[-3000:], file=sys.stderr)
    finally:
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(30)
        except subprocess.TimeoutExpired:
            bot.kill()
        conn.send(("stop", None))
        fake_proc.join(10)
        if fake_proc.is_alive():
            fake_proc.kill()
        log_text = log_path.read_text()
        shutil.rmtree(tmp, ignore_errors=True)
    if results is None:
        return 1
    load_after = [round(x, 2) for x in os.getloadavg()]
    rows = []
    for name in ("baseline", "during_import", "after_import"):
        if name not in results:
            continue
        p = results[name]
        rows.append([name.replace("_", " "), p["events"], p["ack_ms"]["p50_ms"], p["ack_ms"]["p99_ms"],
                     p["ack_ms"]["max_ms"], p["acks_over_3s"],
                     ", ".join(f"{k}: {v}" for k, v in sorted(p["statuses"].items())), p["never_answered"],
                     p["error_replies"]])
    matching = "by meaning" if args.semantic else "lexical"
    print(f"\n## Slack acks during a {args.claims:,}-claim import ({how}, {matching}, {args.rate:g} ev/s)\n")
    print(common.table(["phase", "events", "ack p50 ms", "ack p99 ms", "ack max ms", "acks > 3 s", "HTTP statuses",
                        "never answered", "error replies"], rows))
    print(f"\nimport: {results['import_s']} s, exit code {results['import_exit']} ({results['import_output']}; "
          f"longest transaction {results['import_longest_tx_ms']} ms); "
          f"an archive claim was found {results['found_after_import_s']} s after the import ended")
    print(f"load average before: {load_before}; after: {load_after} ({os.cpu_count()} CPUs)")
    errors = [line for line in log_text.splitlines() if '"level": "error"' in line.lower()]
    warnings = Counter(json.loads(line).get("message", "")[:80] for line in log_text.splitlines()
                       if line.startswith("{") and '"level": "warning"' in line)
    print(f"bot log: {len(errors)} error line(s); warnings: {dict(warnings) or 'none'}")
    path = common.write_results("import_slack", {**results, "claims": args.claims, "rate": args.rate,
                                                 "semantic": args.semantic,
                                                 "load_before": load_before, "load_after": load_after,
                                                 "bot_errors": errors[:5], "bot_warnings": dict(warnings)})
    print(f"\nwrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
