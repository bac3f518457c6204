"""Charts drawn on the server as SVG, by templates from the shapes computed here.

Hand-written SVG rather than a plotting library: two bar charts need no dependency, the markup goes
through the same autoescaping as the rest of the page (a claim's words in a label stay text), and it
needs neither scripts nor inline styles, so it works under the desk's strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SERIES = ("match", "possible", "none")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    series: str
    label: str  # the tooltip (<title>), escaped by the template
    day: str = ""
    count: int = 0


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return max(step * 4, 4)
    return value


def daily_bars(days: Sequence[dict[str, Any]], *, width: int = 640, height: int = 200) -> dict[str, Any]:
    """Stacked bars, one a day: matches, possibles and nones."""
    left, bottom, top = 36, 24, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = _nice_max(max([d["checks"] for d in days] or [0]))
    slot = plot_w / max(len(days), 1)
    bars: list[Bar] = []
    ticks = []
    for i, d in enumerate(days):
        x = left + i * slot + slot * 0.15
        y = top + plot_h
        for s in SERIES:
            h = plot_h * d[s] / peak
            if h:
                y -= h
                bars.append(Bar(round(x, 1), round(y, 1), round(slot * 0.7, 1), round(h, 1), s,
                                f"{d['day']}: {d[s]} {s}", d["day"], d[s]))
        if len(days) <= 16 or i % 2 == 0:
            ticks.append({"x": round(x + slot * 0.35, 1), "label": d["day"][5:]})
    grid = [{"y": round(top + plot_h - plot_h * k / 4, 1), "label": peak * k // 4} for k in range(5)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "grid": grid, "left": left,
            "right": width - 8, "base": top + plot_h, "series": SERIES}


def top_bars(rows: Sequence[dict[str, Any]], *, width: int = 640, row_h: int = 22) -> dict[str, Any]:
    """Horizontal bars: the claims checked most."""
    label_w = 0
    peak = max([r["n"] for r in rows] or [1])
    plot_w = width - label_w - 48
    items = []
    for i, r in enumerate(rows):
        w = plot_w * r["n"] / peak
        items.append({"y": i * row_h, "w": round(max(w, 2), 1), "n": r["n"], "claim_id": r["claim_id"],
                      "text": (r.get("claim") or r["claim_id"])[:90], "verdict": r.get("verdict") or ""})
    return {"width": width, "height": max(len(rows), 1) * row_h, "rows": items, "row_h": row_h, "label_w": label_w}
