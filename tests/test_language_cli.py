"""``factbot language``: the settings an operator makes and reads, with their exact output and exit codes."""

import json


def test_list_names_each_language_in_itself(run):
    result = run("language", "list")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "en       English", "es       español", "de       Deutsch", "fr       français", "pt       português",
        "ja       日本語", "zh-Hans  中文 (简体)",
    ]


def test_set_show_clear(run):
    r = run("language", "set", "Español", "--platform", "discord", "--workspace", "G1")
    assert (r.exit_code, r.stdout) == (0, "Discord server G1 now reads factbot in Spanish (es).\n")
    r = run("language", "set", "pt-BR", "--platform", "discord", "--workspace", "G1", "--channel", "C2")
    assert r.stdout == "Discord channel C2 (server G1) now reads factbot in Portuguese (pt).\n"
    r = run("language", "set", "ja-JP", "--platform", "slack", "--workspace", "T1")
    assert r.stdout == "Slack workspace T1 now reads factbot in Japanese (ja).\n"

    r = run("language", "show", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["platform"], x["workspace"], x["channel"], x["locale"], x["updated_by"]) for x in rows] == [
        ("discord", "G1", "", "es", "cli"), ("discord", "G1", "C2", "pt", "cli"), ("slack", "T1", "", "ja", "cli")]

    show = ("language", "show", "--platform", "discord", "--workspace", "G1")
    assert run(*show, "--channel", "C2").stdout == (
        "Discord channel C2 (server G1): Portuguese (pt), from the channel's setting.\n")
    assert run(*show, "--channel", "C9", "--locale", "de").stdout == (
        "Discord channel C9 (server G1): Spanish (es), from the server's or workspace's setting.\n")
    assert run("language", "show", "--platform", "discord", "--workspace", "G2", "--locale", "zh-CN").stdout == (
        "Discord server G2: Chinese (Simplified) (zh-Hans), from the platform's locale (zh-CN).\n")
    assert run("language", "show", "--platform", "discord", "--workspace", "G2", "--locale", "ko").stdout == (
        "Discord server G2: English (en), the default (no setting, and no locale factbot speaks).\n")

    r = run("language", "clear", "--platform", "discord", "--workspace", "G1", "--channel", "C2")
    assert (r.exit_code, r.stdout) == (0, "Cleared the language of discord channel C2 (server G1).\n")
    assert run(*show, "--channel", "C2").stdout == (
        "Discord channel C2 (server G1): Spanish (es), from the server's or workspace's setting.\n")
    r = run("language", "clear", "--platform", "discord", "--workspace", "G1", "--channel", "C2")
    assert (r.exit_code, r.stderr) == (1, "Error: discord channel C2 (server G1) has no language setting\n")


def test_a_language_factbot_lacks_is_one_clear_line(run):
    r = run("language", "set", "klingon", "--platform", "slack", "--workspace", "T1")
    assert r.exit_code == 3
    assert r.stderr.splitlines()[-1] == (
        "Error: factbot does not speak “klingon”. Choose one of: en (English), es (español), de (Deutsch), "
        "fr (français), pt (português), ja (日本語), zh-Hans (中文 (简体)).")
    r = run("language", "show")
    assert r.stdout == "" and "No language settings" in r.stderr
