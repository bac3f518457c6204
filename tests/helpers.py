"""What several test modules need: a movable clock, the lexical matcher, claim builders, waiting for the bot.

Imported as ``from helpers import ...`` (pytest puts tests/ on sys.path); the fixtures built on these
live in conftest.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.core.matcher import MatchConfig
from bot.core.models import Candidate, Claim, Decision, claim_from_dict
from bot.core.service import FactChecker

DEVSET = Path(__file__).parent / "data" / "devset.jsonl"


def lexical_matcher() -> MatchConfig:
    """The lexical matcher (fast, deterministic); matching by meaning is tested on its own."""
    return MatchConfig(semantic="off")


class Clock:
    """Real time, moved forward on demand (watch cooldowns) while the check log keeps its real timestamps."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += dt.timedelta(**kwargs)


def make_claim(i: int = 0, **overrides: Any) -> Claim:
    """Claim number ``i``: false, one dated source with a link; any field replaced by ``overrides``."""
    data = {
        "id": f"claim-{i:03d}",
        "claim": f"Claim number {i} says something checkable",
        "verdict": "false",
        "summary": "Because the source says otherwise.",
        "sources": [{"title": "The source", "publisher": "Example News", "url": "https://example.org/a", "date": "2026-11-20"}],
    }
    data.update(overrides)
    return claim_from_dict(data)


def cand(claim: Claim, score: float = 0.9, alias: str = "") -> Candidate:
    """``claim`` as a matcher candidate of strength ``score`` (matched through ``alias`` when given)."""
    return Candidate(claim=claim, score=score, matched_text=alias or claim.claim, matched_alias=bool(alias),
                     lexical=1.0, fuzzy=90.0, coverage=0.9)


class Idles(Protocol):
    async def idle(self) -> None: ...


async def settle(bot: Idles, timeout: float = 10.0) -> None:
    """Everything the bot acknowledged so far has been handled, its replies sent (``SlackBot.idle``)."""
    await asyncio.wait_for(bot.idle(), timeout)


async def eventually(probe: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``probe`` until it returns something truthy (for the bot's own bookkeeping after a reply)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := probe()):
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)
    return value


def text_with(checker: FactChecker, decision: Decision) -> str:
    """A message the core answers with ``decision`` (so a test does not depend on the matcher's calibration)."""
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        if checker.check(text, record=False).decision is decision:
            return text
    pytest.skip(f"no dev-set message gives {decision.value} with this matcher")


DESK_PASSWORD = "correct horse battery"  # every account of the desk_store fixture (conftest.py)
