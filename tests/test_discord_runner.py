"""Starting factbot on Discord and its admin commands, against the fake Discord in a background thread."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.adapters.discord import runner
from bot.adapters.discord.cli import PERMISSIONS, discord_cli, invite_url
from bot.config import Settings, StoreSettings, load_settings

try:
    from tests.fakes.discord_server import ThreadedFakeDiscord
    from tests.fakes.operator import run_then_sigterm
except ImportError:  # pytest run with tests/ (not the checkout) on sys.path
    from fakes.discord_server import ThreadedFakeDiscord
    from fakes.operator import run_then_sigterm


pytestmark = pytest.mark.usefixtures("quick_discord_ready", "restore_discord_endpoints")


def env_for(fake, tmp_path, token=None) -> dict[str, str]:
    return {"DISCORD_TOKEN": fake.token if token is None else token, "DISCORD_API_BASE": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url, "FACTBOT_DB": str(tmp_path / "factbot.db")}


def mention_once(threaded, fake, answered: dict):
    """What a member does once the bot is online: mention it once and wait for the reply (kept in ``answered``)."""
    def member_then_operator():
        threaded.call(fake.wait_gateway("identify", timeout=30), timeout=35)
        asked = threaded.call(fake.mention(fake.alice, "Alibaba stole Claude Fable's guardrails"))
        answered["reply"] = threaded.call(fake.wait_request(
            "POST", f"/channels/{fake.general}/messages", timeout=10,
            where=lambda r: str(r.json["message_reference"]["message_id"]) == asked["id"]))
    return member_then_operator


# -- factbot run discord ----------------------------------------------------------------------


def test_missing_token_exits_4_with_one_clear_line(tmp_path, capsys):
    code = runner.run(Settings(store=StoreSettings(path=str(tmp_path / "factbot.db"))), port=None)
    assert code == 4
    err = capsys.readouterr().err
    assert err == "Error: no Discord token: set DISCORD_TOKEN, or token in the [discord] section of the config file\n"
    assert not (tmp_path / "factbot.db").exists()  # nothing touched


def test_rejected_token_exits_4_without_traceback_or_token(tmp_path, capsys, caplog):
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.wrong-token-for-this-test-abcdefghijklmn"
    with ThreadedFakeDiscord() as fake:
        settings = load_settings(env=env_for(fake, tmp_path, token=wrong))
        code = runner.run(settings, port=None)
        assert [r.path for r in fake.requests] == ["/users/@me"]  # asked once, then stopped
        assert fake.requests[0].status == 401
    assert code == 4
    messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert messages == ["discord: Discord rejected the token (HTTP 401): check DISCORD_TOKEN or the [discord] token setting"]
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out + caplog.text
    assert wrong not in out.err + out.out + caplog.text


def test_run_answers_mentions_and_stops_cleanly_on_sigterm(tmp_path):
    """`factbot run discord` end to end: settings from the environment, a mention answered, SIGTERM → exit 0."""
    threaded = ThreadedFakeDiscord()
    with threaded as fake:
        settings = load_settings(env=env_for(fake, tmp_path))
        answered: dict = {}
        code = run_then_sigterm(lambda: runner.run(settings, port=None), mention_once(threaded, fake, answered))
        assert fake.identified_shards == [None]  # not sharded: IDENTIFY names no shard
    assert code == 0
    assert answered["reply"].json["embeds"][0]["footer"]["text"].endswith("alibaba-stole-fable-guardrails")
    assert answered["reply"].json["allowed_mentions"] == {"parse": [], "replied_user": False}


def test_a_shard_process_identifies_as_its_shard_and_answers(tmp_path):
    """FACTBOT_DISCORD_SHARD_ID / _COUNT: the gateway IDENTIFY carries [id, count], and the shard answers."""
    threaded = ThreadedFakeDiscord()
    with threaded as fake:
        env = {**env_for(fake, tmp_path), "FACTBOT_DISCORD_SHARD_ID": "1", "FACTBOT_DISCORD_SHARD_COUNT": "2"}
        settings = load_settings(env=env)
        answered: dict = {}
        code = run_then_sigterm(lambda: runner.run(settings, port=None), mention_once(threaded, fake, answered))
        assert fake.identified_shards == [[1, 2]]
    assert code == 0
    assert answered["reply"].json["embeds"][0]["footer"]["text"].endswith("alibaba-stole-fable-guardrails")


# -- factbot discord sync / invite-url ------------------------------------------------------------


def test_invite_url_has_the_exact_scopes_and_minimal_permissions():
    result = CliRunner().invoke(discord_cli, ["invite-url", "--client-id", "123456789012345678"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("https://discord.com/oauth2/authorize?client_id=123456789012345678"
                             "&scope=bot+applications.commands&permissions=274877991936\n")
    assert PERMISSIONS.value == 274877991936
    allowed = {name for name, on in PERMISSIONS if on}
    assert allowed == {"read_messages", "send_messages", "send_messages_in_threads", "embed_links", "read_message_history"}
    assert "Permissions 274877991936 = View Channels, Send Messages" in result.stderr


def test_invite_url_asks_discord_for_the_application_id(tmp_path):
    with ThreadedFakeDiscord() as fake:
        result = CliRunner(env=env_for(fake, tmp_path)).invoke(discord_cli, ["invite-url"])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == invite_url(int(fake.app_id))


def test_sync_per_guild_globally_and_clear(tmp_path):
    with ThreadedFakeDiscord() as fake:
        cli = CliRunner(env=env_for(fake, tmp_path))
        result = cli.invoke(discord_cli, ["sync", "--guild", fake.guild_id])
        assert result.exit_code == 0, result.output
        assert result.stdout == (f"Registered 5 commands in server {fake.guild_id}: /factcheck, /claim, /claims, "
                                 "/factbot, “Fact-check this message”.\n")
        (put,) = [r for r in fake.requests if r.method == "PUT"]
        assert put.path == f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"
        by_name = {c["name"]: c for c in put.json}
        assert by_name["Fact-check this message"]["type"] == 3
        assert str(by_name["factbot"]["default_member_permissions"]) == "16"  # Manage Channels
        assert [o["name"] for o in by_name["factbot"]["options"]] == ["watch", "digest", "language"]
        language = {o["name"]: o for o in by_name["factbot"]["options"][2]["options"]}
        assert list(language) == ["show", "set", "clear"]
        assert [(o["name"], o.get("autocomplete", False)) for o in language["set"]["options"]] == [
            ("language", True), ("server", False)]
        assert by_name["claim"]["options"][0]["autocomplete"] is True
        # The registry in the reader's language: descriptions and the menu's name from the catalogs, names kept.
        spanish = ("es-ES", "es-419")
        factcheck = by_name["factcheck"]
        assert factcheck["name_localizations"] == {}
        for locale in spanish:
            assert factcheck["description_localizations"][locale] == (
                "Comprueba una afirmación con las afirmaciones verificadas de factbot")
            assert [o["description_localizations"][locale] for o in factcheck["options"]] == [
                "La afirmación que quieres comprobar", "Solo tú ves la respuesta (por defecto: todo el canal)"]
            assert by_name["Fact-check this message"]["name_localizations"][locale] == "Verificar este mensaje"
            assert by_name["factbot"]["description_localizations"][locale] == "Ajustes de factbot para este canal"
            assert language["set"]["description_localizations"][locale] == (
                "Responde en un idioma en este canal (o en todo el servidor)")
            assert [o["description_localizations"][locale] for o in language["set"]["options"]] == [
                "Una etiqueta o nombre de idioma, p. ej. es, de, Français",
                "Para todo el servidor (por defecto: este canal)"]
        assert sorted(factcheck["description_localizations"]) == ["de", "es-419", "es-ES", "fr", "ja", "pt-BR", "zh-CN"]
        assert by_name["Fact-check this message"]["name_localizations"]["de"] == "Diese Nachricht prüfen"
        assert all("name_localizations" not in o for o in factcheck["options"])  # option names are typed: kept

        def described(items: list[dict]) -> list[dict]:
            return [x for c in items for x in (c, *described(c.get("options", [])))]

        everything = described(put.json)
        assert len(everything) == 28  # 5 commands, 12 groups and subcommands, 11 options
        for item in everything:  # every description in every catalog language, within Discord's limits
            if item.get("description"):
                assert sorted(item["description_localizations"]) == sorted(factcheck["description_localizations"])
                assert all(0 < len(text) <= 100 for text in item["description_localizations"].values())
        assert all(0 < len(text) <= 32 for text in by_name["Fact-check this message"]["name_localizations"].values())

        result = cli.invoke(discord_cli, ["sync"])
        assert result.exit_code == 0 and "globally" in result.stdout
        assert fake.requests[-1].method == "PUT" and fake.requests[-1].path == f"/applications/{fake.app_id}/commands"
        assert len(fake.commands[None]) == 5

        result = cli.invoke(discord_cli, ["sync", "--guild", fake.guild_id, "--clear"])
        assert result.exit_code == 0 and fake.requests[-1].json == [] and fake.commands[fake.guild_id] == []

        result = cli.invoke(discord_cli, ["sync", "--guild", "999999999999999999"])  # a server factbot is not in
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: Discord refused to register commands for server 999999999999999999: "
                                        "is factbot in that server")


def test_sync_with_a_missing_or_rejected_token(tmp_path):
    with ThreadedFakeDiscord() as fake:
        result = CliRunner(env=env_for(fake, tmp_path, token="not-the-token")).invoke(discord_cli, ["sync"])
        assert result.exit_code == 4
        assert result.stderr == "Error: Discord rejected the token (HTTP 401): check DISCORD_TOKEN or the [discord] token setting\n"
        assert "Traceback" not in result.output
    result = CliRunner(env={"DISCORD_TOKEN": ""}).invoke(discord_cli, ["sync"])
    assert result.exit_code == 4 and "sync needs the bot token" in result.stderr
