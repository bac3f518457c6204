"""Without the ``semantic`` extra (simulated when it is installed): lexical as before, and every command says how to enable it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import bot.core.embeddings as embeddings
from bot.core.matcher import MatchConfig, Matcher
from bot.core.models import Decision


@pytest.fixture
def no_extra(monkeypatch):
    monkeypatch.setattr(embeddings, "semantic_available", lambda spec=None: False)


def test_matcher_is_lexical_and_says_how_to_enable(no_extra, sample_store):
    m = Matcher(sample_store)
    assert m.vectors is None and not m.semantic
    assert embeddings.ENABLE_HINT in m.semantic_status
    result = m.check("<@123> wait is it true Alibaba stole claude's guardrails??")
    assert result.decision is Decision.MATCH
    assert all(c.vector is None and c.lexical_score is None for c in result.candidates)


def test_results_are_the_same_as_with_semantic_off(no_extra, sample_store):
    auto = Matcher(sample_store)
    off = Matcher(sample_store, config=MatchConfig(semantic="off"))
    for text in ("alibba stol claudes gaurdrails", "opus 4.8 has a fallback?", "anyone up for lunch?",
                 "Big news. Fable 5 downgrades you to Opus 4.8 on cyber questions. Also Alibaba stole Claude's guardrails"):
        a, b = auto.check(text), off.check(text)
        assert a.decision == b.decision
        assert [(c.claim.id, c.score) for c in a.candidates] == [(c.claim.id, c.score) for c in b.candidates]


def test_semantic_on_without_the_extra_is_a_clear_error(no_extra, sample_store):
    with pytest.raises(embeddings.SemanticUnavailable, match="pip install --force-reinstall factbot"):
        Matcher(sample_store, config=MatchConfig(semantic="on"))
    with pytest.raises(embeddings.SemanticUnavailable, match=r'pip install "factbot\[sentence-transformers\]"'):
        embeddings.make_embedder("all-MiniLM-L6-v2")


def test_config_rejects_bad_semantic_values():
    with pytest.raises(ValueError, match="auto, on or off"):
        MatchConfig(semantic="maybe").validate()
    with pytest.raises(ValueError, match="semantic_weight"):
        MatchConfig(semantic_weight=1.5).validate()


@pytest.fixture
def cli_runner(tmp_path, monkeypatch):
    from bot.cli import cli
    from bot.model_cli import model_cli

    if "model" not in cli.commands:
        cli.add_command(model_cli, "model")
    monkeypatch.setenv("FACTBOT_DB", str(tmp_path / "off.db"))
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args))


def test_every_command_works_and_says_how_to_enable(no_extra, cli_runner):
    hint = embeddings.ENABLE_HINT
    check = cli_runner("check", "--explain", "alibaba stole the guardrails")
    assert check.exit_code == 0 and "UNVERIFIED" in check.stdout and hint in check.stdout
    info = cli_runner("model", "info", "--json")
    assert info.exit_code == 0 and hint in json.loads(info.stdout)["status"]
    for args in (("model", "download"), ("model", "embed")):
        out = cli_runner(*args)
        assert out.exit_code == 4 and hint in out.stderr
    assert cli_runner("check", "anyone up for lunch?").exit_code == 0
    assert cli_runner("--help").exit_code == 0 and cli_runner("model", "--help").exit_code == 0


def test_embed_claims_is_a_no_op_without_the_extra(no_extra, sample_store):
    from bot.model_cli import embed_claims

    assert embed_claims(sample_store, MatchConfig()) == 0


def test_warm_up_without_the_extra_is_quick_and_records_no_check(no_extra, sample_store):
    from bot.core.service import FactChecker

    checker = FactChecker(sample_store)
    assert checker.warm_up() < 5
    assert sample_store.checks() == []
    assert checker.check("Alibaba stole Claude's guardrails").decision is Decision.MATCH
