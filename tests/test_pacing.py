"""Both adapters under a burst: checks run one at a time, with a turn of the event loop between two.

Bolt starts each event's listener as a task after acknowledging it, and discord.py each event's handler;
run back to back, a burst's checks would hold the loop while new requests wait to be acknowledged (Slack
retries what is not acknowledged within 3 s). bench/load_slack.py measures the effect; this pins the
mechanism (``bot/core/pacing.py``, shared by both adapters) without timing anything. Turning requests
away under overload is tested end to end in test_slack_http.py and test_discord_e2e.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from bot.core.pacing import CheckQueue


def queue() -> CheckQueue:
    return CheckQueue(30.0, log=logging.getLogger("test"))


def test_checks_of_a_burst_never_run_back_to_back() -> None:
    async def main() -> list[str]:
        slack = queue()
        seen: list[str] = []

        async def other_work() -> None:  # stands for the loop's other business: reading requests, acks
            for _ in range(50):
                seen.append("loop")
                await asyncio.sleep(0)

        def check(n: int) -> int:
            seen.append(f"check {n}")
            return n

        ticker = asyncio.create_task(other_work())
        results = await asyncio.gather(*(slack.run(lambda n=n: check(n)) for n in range(5)))
        await ticker
        assert results == [0, 1, 2, 3, 4]
        return seen

    seen = asyncio.run(main())
    checks = [i for i, what in enumerate(seen) if what.startswith("check")]
    assert len(checks) == 5
    assert all(b - a > 1 for a, b in zip(checks, checks[1:], strict=False)), seen  # the loop had a turn between any two


def test_a_failing_check_does_not_block_the_next() -> None:
    async def main() -> int:
        slack = queue()

        def boom() -> int:
            raise RuntimeError("the core failed")

        with contextlib.suppress(RuntimeError):
            await slack.run(boom)
        assert slack.queued == 0  # the failed check left the line
        return await asyncio.wait_for(slack.run(lambda: 7), 1)

    assert asyncio.run(main()) == 7


def test_prepare_runs_off_the_loop_while_the_loop_goes_on_and_checks_stay_one_at_a_time() -> None:
    """A check by meaning embeds first (C code, no interpreter lock): that part leaves the loop, the rest does not."""
    async def main() -> tuple[list[str], set[int], set[int], int]:
        slack = queue()
        release = threading.Event()
        seen: list[str] = []
        prepare_threads: set[int] = set()
        check_threads: set[int] = set()
        running = 0
        most = 0

        def prepare(n: int) -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            prepare_threads.add(threading.get_ident())
            seen.append(f"prepare {n}")
            assert release.wait(10), "the loop never went on while a check was being prepared"
            running -= 1

        def check(n: int) -> int:
            check_threads.add(threading.get_ident())
            seen.append(f"check {n}")
            return n

        runs = asyncio.gather(*(slack.run(lambda n=n: check(n), prepare=lambda n=n: prepare(n)) for n in range(3)))
        for _ in range(1000):  # the loop answers other work (acks) while the first prepare waits
            await asyncio.sleep(0.001)
            if "prepare 0" in seen:
                break
        seen.append("loop while preparing")
        release.set()
        assert await asyncio.wait_for(runs, 10) == [0, 1, 2]
        slack.close()
        return seen, prepare_threads, check_threads, most

    seen, prepare_threads, check_threads, most = asyncio.run(main())
    assert seen[:2] == ["prepare 0", "loop while preparing"], seen
    assert [s for s in seen if s.startswith("check")] == ["check 0", "check 1", "check 2"]
    for n in range(3):  # each check right after its own preparation, never interleaved with another's
        assert seen.index(f"prepare {n}") < seen.index(f"check {n}")
    assert most == 1  # one preparation at a time
    assert threading.get_ident() not in prepare_threads
    assert check_threads == {threading.get_ident()}  # asyncio.run's loop ran on this thread


def test_a_failing_prepare_leaves_the_check_to_run_and_report() -> None:
    async def main() -> int:
        slack = queue()

        def prepare() -> None:
            raise RuntimeError("the engine failed")

        try:
            return await slack.run(lambda: 5, prepare=prepare)
        finally:
            slack.close()

    assert asyncio.run(main()) == 5
