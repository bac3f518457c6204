"""Both adapters under a burst: checks run one at a time, with a turn of the event loop between two.

Bolt starts each event's listener as a task after acknowledging it, and discord.py each event's handler;
run back to back, a burst's checks would hold the loop while new requests wait to be acknowledged (Slack
retries what is not acknowledged within 3 s). bench/load_slack.py measures the effect; this pins the
mechanism (``bot/core/pacing.py``, shared by both adapters) without timing anything. Turning requests
away under overload is tested end to end in test_slack_http.py and test_discord_e2e.py.
"""

from __future__ import annotations

import asyncio

import logging

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
    assert all(b - a > 1 for a, b in zip(checks, checks[1:])), seen  # the loop had a turn between any two


def test_a_failing_check_does_not_block_the_next() -> None:
    async def main() -> int:
        slack = queue()

        def boom() -> int:
            raise RuntimeError("the core failed")

        try:
            await slack.run(boom)
        except RuntimeError:
            pass
        assert slack.queued == 0  # the failed check left the line
        return await asyncio.wait_for(slack.run(lambda: 7), 1)

    assert asyncio.run(main()) == 7
