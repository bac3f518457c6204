"""Settings: a TOML file, overridden by environment variables, overridden by command-line flags.

Every key is declared once in ``KEYS`` (section, name, type, environment
variable) and once, with its default, as a field of its section's frozen
dataclass (``StoreSettings`` for ``[database]``, ``BotSettings``,
``IndexSettings``, ``DiscordSettings``, ``SlackSettings``, ``DeskSettings``; ``MatchConfig`` for
``[matcher]``), so the file format, the environment, ``config check`` and the
example config cannot drift apart.  A section strips and checks its values when
it is made, so ``load_settings`` validates once and every adapter receives its
own typed section.  Tokens live here too, read from the environment or the file
and never from code; ``Settings.redacted()`` is the only form that is ever
printed or logged.
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
    name: str  # the key in the file, and the field of the section's dataclass
    attr: str  # the flat name `factbot config check` prints
    kind: type
    env: str
    secret: bool = False


# (section, key in the file, printed name, type, environment variable)
KEYS: tuple[Key, ...] = (
    Key("database", "path", "db_path", str, "FACTBOT_DB"),
    Key("database", "store_query_text", "store_query_text", bool, "FACTBOT_STORE_QUERY_TEXT"),
    Key("database", "check_retention_days", "check_retention_days", int, "FACTBOT_CHECK_RETENTION_DAYS"),
    Key("index", "cache_dir", "index_cache_dir", str, "FACTBOT_INDEX_DIR"),
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
    Key("slack", "event_lease_seconds", "slack_event_lease_seconds", float, "FACTBOT_SLACK_EVENT_LEASE_SECONDS"),
    Key("desk", "enabled", "desk_enabled", bool, "FACTBOT_DESK_ENABLED"),
    Key("desk", "host", "desk_host", str, "FACTBOT_DESK_HOST"),
    Key("desk", "port", "desk_port", int, "FACTBOT_DESK_PORT"),
    Key("desk", "secret_key", "desk_secret_key", str, "FACTBOT_DESK_SECRET_KEY", secret=True),
    Key("desk", "session_minutes", "desk_session_minutes", int, "FACTBOT_DESK_SESSION_MINUTES"),
    Key("desk", "secure_cookies", "desk_secure_cookies", bool, "FACTBOT_DESK_SECURE_COOKIES"),
)


class _Section:
    """A section of the settings: its text values stripped, an empty one its default, then checked."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, str):
                value = value.strip() or (f.default if isinstance(f.default, str) else "")
                object.__setattr__(self, f.name, value)
        self.check()

    def check(self) -> None:
        """Raise ConfigError, naming the key, for a value out of range."""


@dataclass(frozen=True)
class StoreSettings(_Section):
    """``[database]``: where the store is and what it keeps."""

    path: str = ""  # a file, or a postgresql:// URL; empty: the platform's data folder
    store_query_text: bool = True  # False keeps only a hash of what people asked
    check_retention_days: int = 90

    def check(self) -> None:
        if self.check_retention_days < 1:
            raise ConfigError("database.check_retention_days must be at least 1")

    @property
    def url(self) -> str:
        return self.path or str(default_db_path())


@dataclass(frozen=True)
class IndexSettings(_Section):
    """``[index]``: where an instance keeps its search index when the database is not a file beside it."""

    cache_dir: str = ""  # PostgreSQL: a folder per database under it; empty: the platform's cache folder

    @property
    def root(self) -> Path | None:
        return Path(self.cache_dir).expanduser() if self.cache_dir else None


@dataclass(frozen=True)
class BotSettings(_Section):
    """``[bot]``: how the conversation paces and when watch mode speaks, on every platform."""

    rate_limit_per_minute: int = 10  # checks per user per minute; 0 turns the limit off
    watch_min_score: float = 0.6  # watch mode answers only matches at least this confident
    watch_cooldown_hours: float = 24.0  # ...and once per claim per channel in this window
    max_wait_seconds: float = 30.0  # under overload, a request that would be answered later than this is turned away

    def check(self) -> None:
        if self.rate_limit_per_minute < 0:
            raise ConfigError("bot.rate_limit_per_minute must be 0 (off) or more")
        if not 0 < self.watch_min_score <= 1:
            raise ConfigError("bot.watch_min_score must be between 0 and 1")
        if self.max_wait_seconds < 0:
            raise ConfigError("bot.max_wait_seconds must be 0 (never turn requests away) or more")


@dataclass(frozen=True)
class DiscordSettings(_Section):
    """``[discord]``: the bot token and where Discord is."""

    token: str = ""
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = ""  # empty: ask Discord's /gateway/bot
    # Sharding (docs/scaling.md): this process opens shard shard_id of shard_count; 0 = not sharded.
    shard_id: int = 0
    shard_count: int = 0

    def check(self) -> None:
        if self.shard_count < 0 or not 0 <= self.shard_id < max(self.shard_count, 1):
            raise ConfigError(
                f"discord.shard_id must be between 0 and shard_count - 1, and shard_count 0 (no sharding) or more; "
                f"got shard_id {self.shard_id} of shard_count {self.shard_count}"
            )


@dataclass(frozen=True)
class SlackSettings(_Section):
    """``[slack]``: tokens for Socket Mode, the signing secret and OAuth client for HTTP mode, who may admin."""

    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_url: str = "https://slack.com/api/"
    admins: str = ""  # comma-separated Slack user ids allowed to change watch and digest settings
    shortcut_reply: str = "thread"  # "thread" or "ephemeral"
    # An acknowledged event is kept until answered (bot/core/inbox.py); an instance that stops renewing its claim
    # on one for this long is taken to be gone, and another instance answers it.
    event_lease_seconds: float = 30.0

    def check(self) -> None:
        if self.shortcut_reply not in ("thread", "ephemeral"):
            raise ConfigError("slack.shortcut_reply must be 'thread' or 'ephemeral'")
        if not 1 <= self.event_lease_seconds <= 3600:
            raise ConfigError("slack.event_lease_seconds must be between 1 and 3600")

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())

    @property
    def oauth(self) -> bool:
        """A client id and secret: the multi-workspace install (HTTP mode)."""
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class DeskSettings(_Section):
    """``[desk]``: the review desk (docs/desk.md): ``factbot desk``, and ``factbot run all`` when enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = ""  # 32 bytes, url-safe base64 (Fernet); empty: a new key each start
    session_minutes: int = 480
    secure_cookies: bool = False  # True behind TLS (a reverse proxy): cookies only over https

    def check(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError("desk.port must be between 1 and 65535")
        if self.session_minutes < 1:
            raise ConfigError("desk.session_minutes must be at least 1")


# The file's table → the Settings attribute that holds it, and its type.
SECTIONS: dict[str, tuple[str, type[_Section]]] = {
    "database": ("store", StoreSettings),
    "index": ("index", IndexSettings),
    "bot": ("bot", BotSettings),
    "discord": ("discord", DiscordSettings),
    "slack": ("slack", SlackSettings),
    "desk": ("desk", DeskSettings),
}


@dataclass(frozen=True)
class Settings:
    """Every setting, validated once, in typed sections; each adapter is handed its own section."""

    store: StoreSettings = field(default_factory=StoreSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    matcher: MatchConfig = field(default_factory=MatchConfig)
    bot: BotSettings = field(default_factory=BotSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)
    source: str = ""  # which config file was read, for `config check`

    @property
    def database(self) -> str:
        return self.store.url

    def value(self, key: Key) -> Any:
        return getattr(getattr(self, SECTIONS[key.section][0]), key.name)

    def secrets(self) -> list[str]:
        """Every secret value set, for the log filter that blanks them."""
        found = [self.value(k) for k in KEYS if k.secret and self.value(k)]
        password = url_password(self.store.path)  # a postgresql:// URL may carry one
        return [*found, password] if password else found

    def redacted(self) -> dict[str, Any]:
        """The printable form, one flat name a key (``db_path``, ``discord_token``…), secrets as (set)/(not set)."""
        out: dict[str, Any] = {}
        for k in KEYS:
            value = self.value(k)
            if k.secret:
                value = "(set)" if value else "(not set)"
            elif k.attr == "db_path":
                value = redact(value)
            out[k.attr] = value
            if k.attr == "check_retention_days":  # the matcher is listed after the database, as ever
                out["matcher"] = {g.name: getattr(self.matcher, g.name) for g in fields(self.matcher)}
        out["source"] = self.source
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

    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for k in KEYS:
        if k.name in data.get(k.section, {}):
            values[k.section][k.name] = _coerce(f"{k.section}.{k.name}", data[k.section][k.name], k.kind)
        if env.get(k.env):
            values[k.section][k.name] = _coerce(k.env, env[k.env], k.kind)
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
        values["database"]["path"] = db_path
    try:
        matcher = MatchConfig(**mvals).validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    sections = {attr: kind(**values[section]) for section, (attr, kind) in SECTIONS.items()}
    return Settings(**sections, matcher=matcher, source=source)  # type: ignore[arg-type]
