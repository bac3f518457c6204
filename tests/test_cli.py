"""The factbot command, driven through click's runner: output a user reads, JSON a script reads, exit codes."""

import json

from click.testing import CliRunner

from bot.cli import cli


def test_check_human_output(run):
    result = run("check", "Alibaba stole Claude Fable's guardrails")
    assert result.exit_code == 0
    assert "❓ UNVERIFIED" in result.stdout
    assert "Why:" in result.stdout and "Sources:" in result.stdout
    assert "claim id alibaba-stole-fable-guardrails" in result.stdout
    assert "Match strength " in result.stdout and "confidence" not in result.stdout


def test_check_answers_in_the_messages_language_when_the_terminal_names_none(run):
    result = run("check", "¿Es verdad que Alibaba robó las salvaguardas de Claude?")
    assert result.exit_code == 0
    assert "❓ SIN VERIFICAR" in result.stdout and "Por qué:" in result.stdout and "Fuentes:" in result.stdout
    assert "alibaba-stole-fable-guardrails" in result.stdout


def test_the_terminals_language_comes_before_the_messages(run, monkeypatch):
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert "❓ UNBELEGT" in run("check", "Alibaba stole Claude Fable's guardrails").stdout
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert "❓ UNVERIFIED" in run("check", "¿Es verdad que Alibaba robó las salvaguardas de Claude?").stdout
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")  # LC_ALL over LANG, as gettext reads them
    assert "根拠不明" in run("check", "Alibaba stole Claude Fable's guardrails").stdout


def test_first_use_builds_the_database_from_knowledge(run):
    result = run("check", "anything")
    assert "Created" in result.stderr and "bundled claims" in result.stderr
    assert "Created" not in run("check", "anything").stderr


def test_check_json_and_top(run):
    result = run("check", "--json", "--top", "2", "alibaba stole the guardrails")
    data = json.loads(result.stdout)
    assert data["decision"] == "match"
    assert data["matches"][0]["claim_id"] == "alibaba-stole-fable-guardrails"
    assert set(data["matches"][0]) >= {"claim_id", "claim", "verdict", "score", "summary", "sources"}
    assert len(data["matches"]) <= 2


def test_check_none_is_plain(run):
    result = run("check", "anyone up for lunch on friday?")
    assert result.exit_code == 0
    assert "No verified claim" in result.stdout


def test_check_without_text_is_a_usage_error(run):
    result = run("check")
    assert result.exit_code == 2
    assert "nothing to check" in result.stderr


def test_check_explain_shows_score_parts(run):
    out = run("check", "--explain", "alibaba stole the guardrails").stdout
    assert "bm25" in out and "coverage" in out and "fuzzy" in out


def test_batch_jsonl(run, tmp_path):
    lines = [
        {"id": 1, "text": "alibaba stole claude's guardrails"},
        {"id": "b", "text": "what's for lunch"},
    ]
    src = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n\n"
    result = run("check", "--batch", "-", "--top", "3", input=src)
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert rows[0]["id"] == 1 and rows[0]["decision"] == "match"
    assert rows[0]["matches"][0]["claim_id"] == "alibaba-stole-fable-guardrails"
    assert rows[1]["id"] == "b" and rows[1]["decision"] == "none"
    assert len(rows[1]["matches"]) <= 3
    assert rows[2] == {"line": 3, "error": rows[2]["error"]} and "line 3" in rows[2]["error"]
    assert result.exit_code == 3


def test_batch_goes_on_past_a_pathological_line_and_accepts_a_byte_order_mark(run, tmp_path):
    """A line of 100,000 nested brackets is one error line; a UTF-8 BOM on the first line is not an error."""
    src = tmp_path / "batch.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 1, "text": "alibaba stole claude's guardrails"}).encode()
                    + b"\n" + b"[" * 100_000 + b"\n" + json.dumps({"id": 3, "text": "what's for lunch"}).encode() + b"\n")
    result = run("check", "--batch", str(src))
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r.get("id") for r in rows] == [1, None, 3]
    assert rows[0]["decision"] == "match" and rows[2]["decision"] == "none"
    assert rows[1] == {"line": 2, "error": "line 2: nested too deeply to read"}
    assert result.stderr.splitlines()[-1] == "1 line(s) could not be read; see the error objects in the output."
    assert result.exit_code == 3


def test_claims_add_show_list_remove(run):
    added = run(
        "claims", "add", "--claim", "The moon is made of cheese", "--verdict", "false",
        "--summary", "Apollo samples are rock.", "--source", "https://example.org/moon", "--alias", "moon cheese",
    )
    assert added.exit_code == 0 and "Added: the-moon-is-made-of-cheese" in added.stdout
    shown = run("claims", "show", "the-moon-is-made-of-cheese")
    assert "❌ FALSE: The moon is made of cheese" in shown.stdout and "moon cheese" in shown.stdout
    checked = json.loads(run("check", "--json", "is the moon made of cheese?").stdout)
    assert checked["matches"][0]["claim_id"] == "the-moon-is-made-of-cheese"
    listed = run("claims", "list", "--verdict", "false")
    assert "the-moon-is-made-of-cheese" in listed.stdout
    assert run("claims", "remove", "--yes", "the-moon-is-made-of-cheese").exit_code == 0
    assert run("claims", "show", "the-moon-is-made-of-cheese").exit_code == 1


def test_claims_add_rejects_bad_source(run):
    result = run("claims", "add", "--claim", "x y z", "--verdict", "true", "--summary", "s", "--source", "ftp:/nope")
    assert result.exit_code == 3
    assert "sources[0].url" in result.stderr


def test_show_unknown_id(run):
    result = run("claims", "show", "no-such-claim")
    assert result.exit_code == 1 and "no claim with id" in result.stderr


def test_db_info_and_rebuild(run):
    info = json.loads(run("db", "info", "--json").stdout)
    assert info["claims"] >= 25 and info["index_docs"] == info["claims"]
    assert info["by_origin"] == {"bundled": info["claims"]}
    run("claims", "add", "--claim", "A user claim here", "--verdict", "true", "--summary", "s", "--source", "https://e.org")
    refused = run("db", "rebuild", input="n\n")
    assert refused.exit_code == 1
    rebuilt = run("db", "rebuild", "--yes")
    assert rebuilt.exit_code == 0 and f"{info['claims']} claims" in rebuilt.stdout
    assert run("claims", "show", "a-user-claim-here").exit_code == 1


def test_db_path_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTBOT_DB", str(tmp_path / "env.db"))
    result = CliRunner().invoke(cli, ["db", "path"])
    assert result.stdout.strip() == str(tmp_path / "env.db")


def test_config_check_redacts_secrets(run, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token-value")
    result = run("config", "check")
    assert "super-secret-token-value" not in result.stdout
    assert "discord_token: (set)" in result.stdout


def test_bad_config_file_exit_code(run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[matcher]\nmatch_threshold = 'high'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "db", "path"])
    assert result.exit_code == 4 and "matcher.match_threshold" in result.stderr


def test_chat_console_round_trip(run):
    result = run("chat", input="alibaba stole the guardrails\n/claim alibaba-extracted-fable-guardrails\n/search ford\n/bogus\n/quit\n")
    assert result.exit_code == 0
    assert "factbot> ❓ UNVERIFIED" in result.stdout
    # an id that was split still works: it shows the first claim that replaced it, and says so
    assert ("The claim “alibaba-extracted-fable-guardrails” was split; this is one of the claims that replace it. Also: "
            "“Anthropic admitted that Alibaba extracted Fable's guardrails and apologized for it.” (Unverified, "
            "id anthropic-admitted-alibaba-extraction).\n❓ UNVERIFIED") in result.stdout
    assert "claim id alibaba-stole-fable-guardrails" in result.stdout
    assert "Unknown command /bogus" in result.stdout


def test_every_command_has_help():
    """Like sqlite-utils: every command documents itself."""
    def walk(group, path):
        for name, cmd in group.commands.items():
            yield path + [name], cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, path + [name])

    for path, cmd in walk(cli, []):
        assert cmd.help, f"factbot {' '.join(path)} has no help text"
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_claims_edit_changes_verdict_and_keeps_it_from_knowledge_updates(run):
    result = run("claims", "edit", "ford-rehires-human-inspectors", "--verdict", "false", "--add-alias", "ford fired its robots")
    assert result.exit_code == 0 and "(Mostly true → False)" in result.stdout
    shown = json.loads(run("claims", "show", "--json", "ford-rehires-human-inspectors").stdout)
    assert shown["verdict"] == "false" and shown["origin"] == "user" and "ford fired its robots" in shown["aliases"]
    assert run("claims", "edit", "no-such", "--verdict", "true").exit_code == 1


def test_digest_subscribe_list_preview_unsubscribe(run):
    bad = run("digest", "subscribe", "--platform", "slack", "--channel", "C1", "--day", "someday", "--time", "09:00",
              "--timezone", "Europe/Berlin")
    assert bad.exit_code == 3 and "monday or mon" in bad.stderr
    assert run("digest", "list").stdout == ""
    ok = run("digest", "subscribe", "--platform", "console", "--channel", "console", "--day", "Mon", "--time", "9am",
             "--timezone", "europe/berlin")
    assert ok.exit_code == 0 and "every Monday at 09:00 (Europe/Berlin)" in ok.stdout
    listed = [json.loads(x) for x in run("digest", "list", "--json").stdout.splitlines()]
    assert [(x["channel"], x["weekday"], x["time"], x["timezone"]) for x in listed] == [("console", 0, "09:00", "Europe/Berlin")]
    run("chat", input="alibaba stole the guardrails\nis the moon made of cheese\n")
    preview = run("digest", "preview", "--platform", "console", "--channel", "console").stdout
    assert "2 checks · 1 matched" in preview
    assert "1× ❓ Unverified · Alibaba illicitly extracted" in preview
    assert "“is the moon made of cheese”" in preview
    assert run("digest", "unsubscribe", "--platform", "console", "--channel", "console").exit_code == 0
    assert run("digest", "unsubscribe", "--platform", "console", "--channel", "console").exit_code == 1


def test_import_is_all_or_nothing_and_names_the_problem(run, tmp_path):
    bad = tmp_path / "claims.jsonl"
    good_line = json.dumps({"id": "moon-cheese", "claim": "The moon is cheese", "verdict": "false", "summary": "Rock.",
                            "sources": [{"url": "https://example.org/moon", "title": "Moon", "publisher": "NASA"}]})
    bad.write_text(good_line + "\n" + json.dumps({"id": "no-verdict", "claim": "x", "summary": "y", "sources": ["https://e.org"]}) + "\n")
    result = run("claims", "import", str(bad))
    assert result.exit_code == 3
    assert "claims.jsonl" in result.stderr and "line 2" in result.stderr and "verdict" in result.stderr
    assert run("claims", "show", "moon-cheese").exit_code == 1, "nothing written"
    bad.write_text(good_line + "\n")
    ok = run("claims", "import", str(bad))
    assert ok.exit_code == 0 and "1 added" in ok.stdout
    assert json.loads(run("check", "--json", "the moon is made of cheese").stdout)["matches"][0]["claim_id"] == "moon-cheese"


def test_export_reimports_to_the_same_claims(run, tmp_path):
    total = json.loads(run("db", "info", "--json").stdout)["claims"]
    before = run("claims", "export", "--format", "jsonl").stdout
    for i, (fmt, ext) in enumerate((("jsonl", "jsonl"), ("csv", "csv"), ("claimreview", "jsonld"))):
        out = tmp_path / f"all.{ext}"
        assert run("claims", "export", "--format", fmt, "-o", str(out)).exit_code == 0
        assert run("claims", "import", "--dry-run", str(out)).stdout.endswith(f"{total} valid claim(s); nothing written (--dry-run).\n")
        again = run("claims", "import", str(out))
        # The first import takes ownership of the bundled claims (origin becomes "user"); later ones change nothing.
        expected = f"0 added, {total} updated, 0 unchanged" if i == 0 else f"0 added, 0 updated, {total} unchanged"
        assert expected in again.stdout, again.stdout
    after = [json.loads(x) for x in run("claims", "export", "--format", "jsonl").stdout.splitlines()]
    assert [{k: v for k, v in c.items()} for c in after] == [json.loads(x) for x in before.splitlines()]


def test_a_teams_own_ids_import_as_they_are(run, tmp_path):
    """A spreadsheet whose ids are 7, 12 and Claim_12 was refused whole ("not a slug")."""
    sheet = tmp_path / "archive.csv"
    sheet.write_text(
        "id,claim,verdict,summary,source_url\n"
        "7,Penguins migrate to the Sahara every winter,false,They do not.,https://example.org/7\n"
        "12,The harbour bridge was sold to a casino,false,No sale happened.,https://example.org/12\n"
        "Claim_12,Quokkas were declared the national animal,unverified,No record of it.,https://example.org/c12\n",
        encoding="utf-8")
    imported = run("claims", "import", str(sheet))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"Imported {sheet}: 3 added, 0 updated, 0 unchanged.\n"
    assert run("claims", "show", "Claim_12").stdout.startswith("❓")
    checked = json.loads(run("check", "--json", "was the harbour bridge sold to a casino?").stdout)
    assert checked["matches"][0]["claim_id"] == "12"
    exported = [json.loads(x)["id"] for x in run("claims", "export", "--format", "jsonl").stdout.splitlines()]
    assert {"7", "12", "Claim_12"} <= set(exported)
    refused = run("claims", "import", str(_write(tmp_path, "bad.csv", "id,claim,verdict,summary,source_url\n"
                                                  "fc:12,A claim,false,No.,https://example.org\n")))
    assert refused.exit_code == 3
    assert "'fc:12' is not a usable id" in refused.stderr


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
