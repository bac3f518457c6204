"""Settings: file, then environment, then flags; clear errors; secrets never shown."""

import os

import pytest

from bot.config import (
    BotSettings,
    ConfigError,
    DeskSettings,
    DiscordSettings,
    SlackSettings,
    StoreSettings,
    load_settings,
)


def write(tmp_path, text):
    p = tmp_path / "factbot.toml"
    p.write_text(text)
    return p


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    s = load_settings(env={})
    assert s.database == str(tmp_path / "data" / "factbot" / "factbot.db")
    assert s.matcher.match_threshold > s.matcher.possible_threshold


def test_file_then_env_then_flag(tmp_path):
    cfg = write(tmp_path, '[database]\npath = "/from/file.db"\n[matcher]\nmatch_threshold = 0.7\n[discord]\ntoken = "file-token"\n')
    s = load_settings(cfg, env={})
    assert (s.store.path, s.matcher.match_threshold, s.discord.token) == ("/from/file.db", 0.7, "file-token")
    s = load_settings(cfg, env={"FACTBOT_DB": "/from/env.db", "FACTBOT_MATCHER_MATCH_THRESHOLD": "0.8", "DISCORD_TOKEN": "env"})
    assert (s.store.path, s.matcher.match_threshold, s.discord.token) == ("/from/env.db", 0.8, "env")
    assert load_settings(cfg, env={"FACTBOT_DB": "/from/env.db"}, db_path="/flag.db").store.path == "/flag.db"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[matcher]\nmatch_threshold = 'high'\n", "matcher.match_threshold: expected float"),
        ("[matcher]\nspeed = 3\n", "unknown key(s) speed"),
        ("[database]\ncheck_retention_days = 0\n", "at least 1"),
        ("[matcher]\nmatch_threshold = 0.2\npossible_threshold = 0.5\n", "thresholds"),
        ("not toml at all [", "not valid TOML"),
        ("matcher = 3\n", "[matcher] must be a table"),
        ("[discord]\nshard_id = 2\nshard_count = 2\n", "got shard_id 2 of shard_count 2"),
        ("[discord]\nshard_id = 1\n", "got shard_id 1 of shard_count 0"),
        ("[discord]\nshard_count = -1\n", "shard_count 0 (no sharding) or more"),
    ],
)
def test_bad_settings_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_settings(write(tmp_path, text), env={})
    assert message in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})


def test_redacted_hides_every_secret(tmp_path):
    s = load_settings(env={"DISCORD_TOKEN": "d-secret", "SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "sig"})
    shown = str(s.redacted())
    assert "d-secret" not in shown and "xoxb-secret" not in shown and "sig'" not in shown
    assert s.redacted()["slack_app_token"] == "(not set)"
    assert "d-secret" not in repr(s.redacted())


def test_embedding_model_from_short_or_full_env_name(tmp_path):
    cfg = write(tmp_path, '[matcher]\nembedding_model = "/models/file"\nsemantic = "off"\n')
    assert load_settings(cfg, env={}).matcher.embedding_model == "/models/file"
    assert load_settings(cfg, env={"FACTBOT_EMBEDDING_MODEL": "/short"}).matcher.embedding_model == "/short"
    both = {"FACTBOT_EMBEDDING_MODEL": "/short", "FACTBOT_MATCHER_EMBEDDING_MODEL": "/full"}
    assert load_settings(cfg, env=both).matcher.embedding_model == "/full"
    with pytest.raises(ConfigError, match="semantic"):
        load_settings(cfg, env={"FACTBOT_MATCHER_SEMANTIC": "sometimes"})


def test_a_folder_given_as_the_config_file_is_one_line(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(tmp_path), "config", "check"])
    assert (result.exit_code, result.stderr) == (4, f"Error: config file {tmp_path} is a folder, not a file\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder of mode 000 anyway: run as another user to see it")
def test_an_unreadable_config_folder_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "config"
    (config / "factbot").mkdir(parents=True)
    (config / "factbot" / "factbot.toml").write_text("[bot]\n")
    (config / "factbot").chmod(0)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTBOT_")}
        done = subprocess.run([sys.executable, "-m", "bot", "--db", str(tmp_path / "f.db"), "config", "check"],
                              env={**env, "XDG_CONFIG_HOME": str(config)}, capture_output=True, text=True)
    finally:
        (config / "factbot").chmod(0o755)
    assert done.returncode == 4
    assert done.stderr == (f"Error: cannot read the config folder {config / 'factbot'} (Permission denied): fix its "
                           "permissions or point FACTBOT_CONFIG at a readable file\n")


def test_settings_come_in_typed_sections_checked_once_and_printed_flat(tmp_path):
    cfg = tmp_path / "factbot.toml"
    cfg.write_text('[discord]\napi_base = ""\nshard_count = 2\nshard_id = 1\n[slack]\nadmins = "U1, U2"\n')
    s = load_settings(cfg, env={"DISCORD_TOKEN": "  tok\n", "FACTBOT_WATCH_MIN_SCORE": "0.7"})
    assert s.discord == DiscordSettings(token="tok", shard_id=1, shard_count=2)  # stripped; empty: the default
    assert s.discord.api_base == "https://discord.com/api/v10"
    assert s.bot == BotSettings(watch_min_score=0.7) and s.slack.admin_ids == {"U1", "U2"}
    assert (s.store, s.desk) == (StoreSettings(), DeskSettings())
    # A section made in code is checked as one loaded is, with the key's name in the message.
    with pytest.raises(ConfigError, match="^slack.shortcut_reply must be 'thread' or 'ephemeral'$"):
        SlackSettings(shortcut_reply="dm")
    with pytest.raises(ConfigError, match="^slack.event_lease_seconds must be between 1 and 3600$"):
        SlackSettings(event_lease_seconds=0.5)
    with pytest.raises(ConfigError, match="^desk.port must be between 1 and 65535$"):
        DeskSettings(port=0)
    # `factbot config check` still prints one flat name a key, in the order docs/configuration.md shows.
    assert list(s.redacted()) == [
        "db_path", "store_query_text", "check_retention_days", "matcher", "index_cache_dir", "rate_limit_per_minute",
        "watch_min_score",
        "watch_cooldown_hours", "max_wait_seconds", "discord_token", "discord_api_base", "discord_gateway_url",
        "discord_shard_id", "discord_shard_count", "slack_bot_token", "slack_app_token", "slack_signing_secret",
        "slack_client_id", "slack_client_secret", "slack_api_url", "slack_admins", "slack_shortcut_reply",
        "slack_event_lease_seconds", "desk_enabled", "desk_host", "desk_port", "desk_secret_key", "desk_session_minutes", "desk_secure_cookies",
        "source"]
    assert s.redacted()["discord_token"] == "(set)" and s.redacted()["discord_shard_id"] == 1
