"""Logs and metrics an operator can rely on.

Logs: one line per event, JSON when stderr is not a terminal (for log
shippers), readable text when it is.  Every record passes through a filter
that blanks anything shaped like a Slack or Discord token and every secret
configured, so a token can never reach a log line, whatever code logged it.
Message text is never logged unless ``log_message_text`` is on.

Metrics: Prometheus text format through prometheus-client, fed by an
observer on the core's checks (the core itself imports nothing of this).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_TOKEN_SHAPES = re.compile(
    r"xox[abposr]-[0-9A-Za-z-]{8,}"  # Slack bot/user/app tokens
    r"|xapp-[0-9A-Za-z-]{8,}"
    r"|[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}"  # Discord bot tokens
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """Blank token-shaped strings and configured secrets in the message, its args and its extras."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def scrub(self, text: str) -> str:
        text = _TOKEN_SHAPES.sub("[redacted]", text)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any extra fields given."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_text:
            data["error"] = record.exc_text
        elif record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_"))
        base = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        out = f"{base} {extras}".rstrip()
        if record.exc_text:
            out += "\n" + record.exc_text
        return out


def setup_logging(level: int = logging.INFO, *, json_lines: bool | None = None, secrets: Iterable[str] = (), stream=None) -> None:
    """Configure the root logger once: JSON off a terminal, text on one, secrets always redacted."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not (hasattr(stream, "isatty") and stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(RedactSecrets(secrets))
    handler._factbot = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_factbot", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries that log request details at INFO (and could include URLs with tokens) stay at WARNING.
    for noisy in ("discord.http", "discord.gateway", "slack_sdk", "slack_bolt", "factbot.slack.bolt", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


class Metrics:
    """The Prometheus metrics of one factbot process."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.checks = Counter("factbot_checks", "Checks by platform and decision", ["platform", "decision"], registry=r)
        self.latency = Histogram(
            "factbot_match_latency_seconds", "Time to check one message (normalise, retrieve, decide)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=r,
        )
        self.watch_checks = Counter("factbot_watch_checks", "Watch-mode checks in watched channels, by whether they "
                                    "replied", ["platform", "replied"], registry=r)
        self.turned_away = Counter("factbot_turned_away", "Checks not run because the queue was too long, by kind "
                                   "(check: someone asked; watch: watch mode)", ["platform", "kind"], registry=r)
        self.digests = Counter("factbot_digests", "Scheduled digests by outcome (sent, failed, skipped)", ["status"],
                               registry=r)
        self.scheduler_lag = Gauge("factbot_scheduler_lag_seconds", "How long after its scheduled time the last "
                                   "scheduled digest was sent", registry=r)
        self.db_size = Gauge("factbot_database_size_bytes", "Database and index size on disk", registry=r)
        self.claims = Gauge("factbot_claims", "Claims in the database", registry=r)

    def observe_check(self, platform: str, decision: str, seconds: float) -> None:
        self.checks.labels(platform=platform, decision=decision).inc()
        self.latency.observe(seconds)

    def observe_watch(self, platform: str, replied: bool, seconds: float) -> None:
        self.watch_checks.labels(platform=platform, replied="yes" if replied else "no").inc()
        self.latency.observe(seconds)

    def observe_turned_away(self, platform: str, kind: str) -> None:
        self.turned_away.labels(platform=platform, kind=kind).inc()

    def observe_digest(self, status: str, lag_seconds: float | None) -> None:
        self.digests.labels(status=status).inc()
        if lag_seconds is not None:
            self.scheduler_lag.set(lag_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
