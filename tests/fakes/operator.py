"""Run a blocking ``factbot run …`` while people act in a thread, then stop it the way an operator does."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_then_sigterm(run: Callable[[], T], people: Callable[[], None], *, join_timeout: float = 40) -> T:
    """``run()`` blocks until SIGTERM; ``people()`` acts from a thread and then SIGTERM is sent, even if it failed."""

    def act() -> None:
        try:
            people()
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=act)
    thread.start()
    try:
        return run()
    finally:
        signal.signal(signal.SIGTERM, lambda *_: None)  # a late signal (after a failure) must not stop pytest
        thread.join(join_timeout)
        signal.signal(signal.SIGTERM, previous)
