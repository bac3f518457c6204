"""Settings: a TOML file, overridden by environment variables, overridden by command-line flags.

Every key is declared once in ``KEYS`` (section, name, type, environment
variable, default), so the file format, the environment, ``config check``
and the example config cannot drift apart.  Tokens live here too, read from
the environment or the file and never from code; ``Settings.redacted()`` is
the only form that is ever printed or logged.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from .core.engine import redact, url_password
from .core.matcher import MatchConfig

APP = "factbot"


class ConfigError(ValueError):
    pass


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False)) / "factbot.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False)) / "factbot.toml"


def _is_file(path: Path) -> bool:
    """Whether a config file is there; a folder on the way that cannot be read is a ConfigError, not a traceback."""
    try:
        return path.is_file()
    except OSError as exc:
        raise ConfigError(f"cannot read the config folder {path.parent} ({exc.strerror or exc}): fix its permissions "
                          "or point FACTBOT_CONFIG at a readable file") from None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    attr: str
    kind: type
    env: str
    secret: bool = False


# (section, key in the file, Settings attribute, type, environment variable)
KEYS: tuple[Key, ...] = (
    Key("database", "path", "db_path", str, "FACTBOT_DB"),
    Key("database", "store_query_text", "store_query_text", bool, "FACTBOT_STORE_QUERY_TEXT"),
    Key("database", "check_retention_days", "check_retention_days", int, "FACTBOT_CHECK_RETENTION_DAYS"),
    Key("bot", "rate_limit_per_minute", "rate_limit_per_minute", int, "FACTBOT_RATE_LIMIT_PER_MINUTE"),
    Key("bot", "watch_min_score", "watch_min_score", float, "FACTBOT_WATCH_MIN_SCORE"),
    Key("bot", "watch_cooldown_hours", "watch_cooldown_hours", float, "FACTBOT_WATCH_COOLDOWN_HOURS"),
    Key("bot", "max_wait_seconds", "max_wait_seconds", float, "FACTBOT_MAX_WAIT_SECONDS"),
    Key("discord", "token", "discord_token", str, "DISCORD_TOKEN", secret=True),
    Key("discord", "api_base", "discord_api_base", str, "DISCORD_API_BASE"),
    Key("discord", "gateway_url", "discord_gateway_url", str, "DISCORD_GATEWAY_URL"),
    Key("discord", "shard_id", "discord_shard_id", int, "FACTBOT_DISCORD_SHARD_ID"),
    Key("discord", "shard_count", "discord_shard_count", int, "FACTBOT_DISCORD_SHARD_COUNT"),
    Key("slack", "bot_token", "slack_bot_token", str, "SLACK_BOT_TOKEN", secret=True),
    Key("slack", "app_token", "slack_app_token", str, "SLACK_APP_TOKEN", secret=True),
    Key("slack", "signing_secret", "slack_signing_secret", str, "SLACK_SIGNING_SECRET", secret=True),
    Key("slack", "client_id", "slack_client_id", str, "SLACK_CLIENT_ID"),
    Key("slack", "client_secret", "slack_client_secret", str, "SLACK_CLIENT_SECRET", secret=True),
    Key("slack", "api_url", "slack_api_url", str, "SLACK_API_URL"),
    Key("slack", "admins", "slack_admins", str, "SLACK_ADMINS"),
    Key("slack", "shortcut_reply", "slack_shortcut_reply", str, "SLACK_SHORTCUT_REPLY"),
    Key("desk", "enabled", "desk_enabled", bool, "FACTBOT_DESK_ENABLED"),
    Key("desk", "host", "desk_host", str, "FACTBOT_DESK_HOST"),
    Key("desk", "port", "desk_port", int, "FACTBOT_DESK_PORT"),
    Key("desk", "secret_key", "desk_secret_key", str, "FACTBOT_DESK_SECRET_KEY", secret=True),
    Key("desk", "session_minutes", "desk_session_minutes", int, "FACTBOT_DESK_SESSION_MINUTES"),
    Key("desk", "secure_cookies", "desk_secure_cookies", bool, "FACTBOT_DESK_SECURE_COOKIES"),
)


@dataclass(frozen=True)
class Settings:
    db_path: str = ""
    store_query_text: bool = True  # False keeps only a hash of what people asked
    check_retention_days: int = 90
    matcher: MatchConfig = field(default_factory=MatchConfig)
    rate_limit_per_minute: int = 10  # checks per user per minute; 0 turns the limit off
    watch_min_score: float = 0.6  # watch mode answers only matches at least this confident
    watch_cooldown_hours: float = 24.0  # ...and once per claim per channel in this window
    max_wait_seconds: float = 30.0  # under overload, a request that would be answered later than this is turned away
    discord_token: str = ""
    discord_api_base: str = "https://discord.com/api/v10"
    discord_gateway_url: str = ""  # empty: ask Discord's /gateway/bot
    # Sharding (docs/scaling.md): this process opens shard discord_shard_id of discord_shard_count; 0 = not sharded.
    discord_shard_id: int = 0
    discord_shard_count: int = 0
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_admins: str = ""  # comma-separated Slack user ids allowed to change watch and digest settings
    slack_shortcut_reply: str = "thread"  # "thread" or "ephemeral"
    # The review desk (docs/desk.md): `factbot desk`, and `factbot run all` when enabled.
    desk_enabled: bool = False
    desk_host: str = "127.0.0.1"
    desk_port: int = 8080
    desk_secret_key: str = ""  # 32 bytes, url-safe base64 (Fernet); empty: a new key each start
    desk_session_minutes: int = 480
    desk_secure_cookies: bool = False  # True behind TLS (a reverse proxy): cookies only over https
    source: str = ""  # which config file was read, for `config check`

    @property
    def database(self) -> str:
        return self.db_path or str(default_db_path())

    @property
    def slack_admin_ids(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.slack_admins.split(",") if a.strip())

    def secrets(self) -> list[str]:
        """Every secret value set, for the log filter that blanks them."""
        found = [getattr(self, k.attr) for k in KEYS if k.secret and getattr(self, k.attr)]
        password = url_password(self.db_path)  # a postgresql:// URL may carry one
        return [*found, password] if password else found

    def redacted(self) -> dict[str, Any]:
        secrets = {k.attr for k in KEYS if k.secret}
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in secrets:
                value = "(set)" if value else "(not set)"
            elif f.name == "db_path":
                value = redact(value)
            elif isinstance(value, MatchConfig):
                value = {g.name: getattr(value, g.name) for g in fields(value)}
            out[f.name] = value
        return out


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {value!r}") from None


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
        if _is_dir(path):
            raise ConfigError(f"config file {path} is a folder, not a file")
        if not _is_file(path):
            raise ConfigError(f"config file {path} does not exist")
    elif _is_file(default_config_path()):
        path = default_config_path()
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read the config file {path} ({exc.strerror or exc})") from None
        source = str(path)

    known: dict[str, set[str]] = {}
    for k in KEYS:
        known.setdefault(k.section, set()).add(k.name)
    known["matcher"] = {f.name for f in fields(MatchConfig)}
    for section, table in data.items():
        if section not in known:
            raise ConfigError(f"[{section}]: unknown section; known: {', '.join(sorted(known))}")
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        unknown = set(table) - known[section]
        if unknown:
            raise ConfigError(f"[{section}]: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known[section]))}")

    values: dict[str, Any] = {}
    for k in KEYS:
        if k.name in data.get(k.section, {}):
            values[k.attr] = _coerce(f"{k.section}.{k.name}", data[k.section][k.name], k.kind)
        if env.get(k.env):
            values[k.attr] = _coerce(k.env, env[k.env], k.kind)
    base = MatchConfig()
    mvals = {f.name: getattr(base, f.name) for f in fields(MatchConfig)}
    for name in mvals:
        like = type(mvals[name])
        if name in data.get("matcher", {}):
            mvals[name] = _coerce(f"matcher.{name}", data["matcher"][name], like)
        env_key = f"FACTBOT_MATCHER_{name.upper()}"
        if name == "embedding_model" and not env.get(env_key) and env.get("FACTBOT_EMBEDDING_MODEL"):
            env_key = "FACTBOT_EMBEDDING_MODEL"  # the short name docs/semantic.md uses
        if env.get(env_key):
            mvals[name] = _coerce(env_key, env[env_key], like)
    if db_path:
        values["db_path"] = db_path
    try:
        values["matcher"] = MatchConfig(**mvals).validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    settings = Settings(**values, source=source)
    if settings.check_retention_days < 1:
        raise ConfigError("database.check_retention_days must be at least 1")
    if settings.rate_limit_per_minute < 0:
        raise ConfigError("bot.rate_limit_per_minute must be 0 (off) or more")
    if not 0 < settings.watch_min_score <= 1:
        raise ConfigError("bot.watch_min_score must be between 0 and 1")
    if settings.discord_shard_count < 0 or not 0 <= settings.discord_shard_id < max(settings.discord_shard_count, 1):
        raise ConfigError(
            f"discord.shard_id must be between 0 and shard_count - 1, and shard_count 0 (no sharding) or more; "
            f"got shard_id {settings.discord_shard_id} of shard_count {settings.discord_shard_count}"
        )
    if settings.max_wait_seconds < 0:
        raise ConfigError("bot.max_wait_seconds must be 0 (never turn requests away) or more")
    if not 1 <= settings.desk_port <= 65535:
        raise ConfigError("desk.port must be between 1 and 65535")
    if settings.desk_session_minutes < 1:
        raise ConfigError("desk.session_minutes must be at least 1")
    if settings.slack_shortcut_reply not in ("thread", "ephemeral"):
        raise ConfigError("slack.shortcut_reply must be 'thread' or 'ephemeral'")
    return settings
