"""Fitting lines into a platform's length limits, the same way on every platform.

Only the cutting of one line differs between platforms (an escape or a link must not be cut in half), so
each renderer passes its own ``clip``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def lines_within(lines: Sequence[str], limit: int, *, clip: Callable[[str, int], str], hidden: int = 0,
                 more: str = "…and %(n)s more") -> str:
    """Join lines with newlines, as many as fit in ``limit``, then say how many were left out.

    ``hidden`` counts items left out before (a per-section cap), so the closing "…and N more" covers both.
    """
    out: list[str] = []
    used = 0
    reserve = len(more % {"n": len(lines) + hidden}) + 1
    for i, line in enumerate(lines):
        last = i == len(lines) - 1 and not hidden
        tail = 0 if last else reserve
        cost = len(line) + (1 if out else 0)
        if used + cost + tail > limit:
            if not out:  # one long line: show its start rather than nothing
                out.append(clip(line, max(limit - tail - 1, 1)))
            break
        out.append(line)
        used += cost
    left = len(lines) - len(out) + hidden
    if left > 0:
        out.append(more % {"n": left})
    return clip("\n".join(out), limit)
