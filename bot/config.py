"""Settings: a TOML file, overridden by environment variables, overridden by command-line flags.

Tokens live here too, read from the environment or the file and never from
code; ``Settings.redacted()`` is the only form that is ever printed or logged.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from .core.matcher import MatchConfig

APP = "factbot"


class ConfigError(ValueError):
    pass


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "factbot.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "factbot.toml"


@dataclass(frozen=True)
class Settings:
    db_path: str = ""
    store_query_text: bool = True  # False keeps only a hash of what people asked
    check_retention_days: int = 90
    matcher: MatchConfig = field(default_factory=MatchConfig)
    discord_token: str = ""
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    source: str = ""  # which config file was read, for `config check`

    @property
    def database(self) -> str:
        return self.db_path or str(default_db_path())

    def redacted(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("token", "secret")):
                value = "(set)" if value else "(not set)"
            elif isinstance(value, MatchConfig):
                value = {g.name: getattr(value, g.name) for g in fields(value)}
            out[f.name] = value
        return out


_SECRET_ENV = {
    "discord_token": "DISCORD_TOKEN",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
}


def _coerce(name: str, value: Any, like: Any) -> Any:
    try:
        if isinstance(like, bool):
            if isinstance(value, str):
                if value.strip().lower() in ("1", "true", "yes", "on"):
                    return True
                if value.strip().lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            return bool(value)
        if isinstance(like, int):
            return int(value)
        if isinstance(like, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {type(like).__name__}, got {value!r}") from None


def load_settings(
    config_path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    db_path: str | None = None,
) -> Settings:
    """Read settings: file (explicit, ``FACTBOT_CONFIG``, or the XDG default if present), then env, then flags."""
    env = os.environ if env is None else env
    path = config_path or env.get("FACTBOT_CONFIG")
    data: dict[str, Any] = {}
    source = ""
    if path:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
    elif default_config_path().is_file():
        path = default_config_path()
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        source = str(path)

    base = Settings()
    db = data.get("database", {})
    matcher_tbl = data.get("matcher", {})
    for section, table in (("database", db), ("matcher", matcher_tbl), ("discord", data.get("discord", {})), ("slack", data.get("slack", {}))):
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
    known_db = {"path", "store_query_text", "check_retention_days"}
    unknown = set(db) - known_db
    if unknown:
        raise ConfigError(f"[database]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known_db))}")
    known_matcher = {f.name for f in fields(MatchConfig)}
    unknown = set(matcher_tbl) - known_matcher
    if unknown:
        raise ConfigError(f"[matcher]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known_matcher))}")

    values: dict[str, Any] = {
        "db_path": str(db.get("path", "")),
        "store_query_text": _coerce("database.store_query_text", db.get("store_query_text", base.store_query_text), True),
        "check_retention_days": _coerce("database.check_retention_days", db.get("check_retention_days", base.check_retention_days), 1),
    }
    mvals = {f.name: getattr(base.matcher, f.name) for f in fields(MatchConfig)}
    for key, val in matcher_tbl.items():
        mvals[key] = _coerce(f"matcher.{key}", val, mvals[key])
    values["discord_token"] = str(data.get("discord", {}).get("token", ""))
    slack = data.get("slack", {})
    values["slack_bot_token"] = str(slack.get("bot_token", ""))
    values["slack_app_token"] = str(slack.get("app_token", ""))
    values["slack_signing_secret"] = str(slack.get("signing_secret", ""))

    # Environment overrides the file.
    if env.get("FACTBOT_DB"):
        values["db_path"] = env["FACTBOT_DB"]
    if env.get("FACTBOT_STORE_QUERY_TEXT"):
        values["store_query_text"] = _coerce("FACTBOT_STORE_QUERY_TEXT", env["FACTBOT_STORE_QUERY_TEXT"], True)
    if env.get("FACTBOT_CHECK_RETENTION_DAYS"):
        values["check_retention_days"] = _coerce("FACTBOT_CHECK_RETENTION_DAYS", env["FACTBOT_CHECK_RETENTION_DAYS"], 1)
    for name in known_matcher:
        key = f"FACTBOT_MATCHER_{name.upper()}"
        if env.get(key):
            mvals[name] = _coerce(key, env[key], mvals[name])
    for attr, key in _SECRET_ENV.items():
        if env.get(key):
            values[attr] = env[key]
    if db_path:
        values["db_path"] = db_path
    try:
        values["matcher"] = MatchConfig(**mvals).validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if values["check_retention_days"] < 1:
        raise ConfigError("database.check_retention_days must be at least 1")
    return Settings(**values, source=source)
