"""Small helpers shared by the benchmark scripts: percentiles, sizes, tables, results files, machine facts."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation, as numpy's default does."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / mean / max of durations given in seconds, in milliseconds."""
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p90_ms": round(percentile(ms, 90), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else float("nan"),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
    }


def max_rss_mb() -> float:
    """This process's RSS high-water mark (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (``VmHWM``, ``VmRSS``...), in MB; NaN elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def vm_hwm_mb() -> float:
    """Peak resident set of this process image (``VmHWM``): unlike ``ru_maxrss`` it does not inherit the
    high-water mark of the parent that forked it, so it is the figure for "what this process needed"."""
    return status_mb("VmHWM")


def dir_bytes(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mb(n_bytes: float) -> float:
    return round(n_bytes / 1_000_000, 1)


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = {}
    for mod in ("tantivy", "rapidfuzz", "sqlite_utils"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001 - informational only
            versions[mod] = "?"
    import sqlite3

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        **versions,
    }


def matcher_config(semantic: str | None = None):
    """The default MatchConfig, or with ``semantic`` set when this factbot has that setting (``off`` pins lexical)."""
    from bot.core.matcher import MatchConfig

    if semantic and "semantic" in getattr(MatchConfig, "__dataclass_fields__", {}):
        return MatchConfig(semantic=semantic)
    return MatchConfig()


def matcher_mode(matcher) -> str:
    """What the matcher is doing: lexical only, or semantic on/off and why."""
    return getattr(matcher, "semantic_status", "") or "lexical (BM25 + coverage decision)"


def busy_note() -> str:
    """Warn when other processes are using the CPUs: latency figures measured then are pessimistic."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    return f"load average {load:.2f} on {cpus} CPUs" + (" (busy: figures may be pessimistic)" if load > 0.5 * cpus else "")


def git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    data = {"benchmark": name, "when": stamp, "commit": git_rev(), "machine": machine(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()], **data}
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    (RESULTS / f"{name}-latest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return path


def devset_decisions(check, items: Iterable[dict]) -> dict[str, Any]:
    """Dev-set counts as tests/test_devset.py makes them: ``check(text)`` is a matcher's or checker's check.

    Precision: the verdicts given that name the expected claim; recall: the messages with an expected
    claim that got it; plus the verdicts given on messages that make no claim, and decisions by kind.
    """
    from collections import Counter

    from bot.core.models import Decision

    answered = correct = positives = found = off = off_match = 0
    by_kind: dict[str, Counter] = {}
    for row in items:
        result = check(row["text"])
        got = [m.claim.id for m in result.matches] if result.decision is Decision.MATCH else []
        if row["expected"]:
            positives += 1
            found += row["expected"] in got
        else:
            off += 1
            off_match += bool(got)
        answered += len(got)
        correct += sum(g == row["expected"] for g in got)
        by_kind.setdefault(row.get("kind", ""), Counter())[result.decision.value] += 1
    nan = float("nan")
    return {
        "precision": correct / answered if answered else nan,
        "recall": found / positives if positives else nan,
        "off-claim verdicts": off_match / off if off else nan,
        "by kind": {k: dict(v) for k, v in by_kind.items()},
    }
