"""Matching by meaning through the sentence-transformers engine, with the real all-MiniLM-L6-v2 weights from the offline package.

Skipped when the ``semantic`` extra is not installed (tests/test_semantic_off.py covers that case);
CI installs it, so these run there. The model is loaded once per session.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.embeddings import semantic_available

ST_MODEL = "all-MiniLM-L6-v2"
pytestmark = pytest.mark.skipif(not semantic_available(ST_MODEL),
                                reason='needs the extra: pip install "factbot[sentence-transformers]"')

from bot.core.index import ClaimIndex  # noqa: E402
from bot.core.matcher import MatchConfig, Matcher  # noqa: E402
from bot.core.models import Decision, claim_from_dict  # noqa: E402
from bot.core.store import Store  # noqa: E402

# Claims and paraphrases of them that share no content word (checked below).
EXTRA = [
    {"id": "carrots-night-vision", "claim": "Eating carrots improves your night vision", "verdict": "mostly-false",
     "summary": "Vitamin A deficiency harms night vision; extra carrots do not improve normal vision.",
     "sources": [{"title": "Carrots and vision", "publisher": "Example Health"}]},
    {"id": "knuckles-arthritis", "claim": "Cracking your knuckles causes arthritis", "verdict": "false",
     "summary": "Studies of habitual knuckle crackers found no higher rate of arthritis.",
     "sources": [{"title": "Knuckle cracking", "publisher": "Example Health"}]},
]
PARAPHRASE = "chomping orange veggies gives you better eyesight after dark"  # -> carrots-night-vision
WEAKER = "popping your finger joints gives you arthritic hands later"  # -> knuckles-arthritis, less close
OFF_TOPIC = ["anyone up for lunch?", "the build is broken again", "my cat knocked the plant off the shelf lol"]

@pytest.fixture(scope="session")
def embedder():
    from bot.core.embeddings import shared_embedder

    e = shared_embedder(ST_MODEL)
    e.encode_queries(["warm up"])  # load the model once for the whole session
    return e

@pytest.fixture
def hybrid(sample_store, embedder):
    sample_store.upsert_claims([claim_from_dict(d) for d in EXTRA])
    return Matcher(sample_store, ClaimIndex(sample_store), MatchConfig(semantic="on", embedding_model=ST_MODEL))


def test_default_model_comes_from_the_offline_package(embedder):
    assert embedder.location.source in ("package", "downloaded", "hf-cache")
    assert embedder.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert embedder.model_id.startswith("sentence-transformers/all-MiniLM-L6-v2#")
    v = embedder.encode_queries(["Alibaba stole the guardrails"])
    assert v.shape == (1, 384) and abs(float((v[0] ** 2).sum()) - 1) < 1e-4

def test_paraphrase_without_shared_words_matches(hybrid):
    from bot.core.matcher import _claim_vocabulary
    from bot.core.normalize import terms

    for text, cid in ((PARAPHRASE, "carrots-night-vision"), (WEAKER, "knuckles-arthritis")):
        assert not set(terms(text)) & _claim_vocabulary(hybrid.store.get(cid))[0]
    lexical = Matcher(hybrid.store, hybrid.index, MatchConfig(semantic="off"))
    assert lexical.check(PARAPHRASE).decision is Decision.NONE  # the words alone find nothing
    result = hybrid.check(PARAPHRASE)
    # Meaning finds it first. In a database of five claims the decision stays a "did you mean": fewer claims
    # than the nearest asked for give no crowd to stand out of, and the decision model counts the missing
    # ones as close (bot/core/matcher.py, _decide). The bundled claims' own paraphrases are tests below.
    assert result.decision in (Decision.MATCH, Decision.POSSIBLE)
    best = result.candidates[0]
    assert best.claim.id == "carrots-night-vision"
    assert best.vector is not None and best.vector > 0.7 and best.lexical_score == 0
    # Less close in meaning: still found first, by meaning alone.
    weaker = hybrid.check(WEAKER)
    assert weaker.decision is not Decision.NONE and weaker.candidates[0].claim.id == "knuckles-arthritis"
    assert lexical.check(WEAKER).decision is Decision.NONE


def test_words_and_meaning_add_up(hybrid):
    """A phrasing that shares some words and the meaning scores above either part alone."""
    lexical = Matcher(hybrid.store, hybrid.index, MatchConfig(semantic="off"))
    text = "Alibaba ripped off Anthropic's safety rules"
    assert lexical.check(text).decision is not Decision.MATCH
    result = hybrid.check(text)
    assert result.decision is Decision.MATCH and result.matches[0].claim.id == "alibaba-stole-guardrails"


@pytest.mark.parametrize("text", OFF_TOPIC)
def test_off_topic_gets_none(hybrid, text):
    result = hybrid.check(text)
    assert result.decision is Decision.NONE, [(c.claim.id, c.score, c.vector) for c in result.candidates]

def test_literal_matches_stay_confident(hybrid):
    result = hybrid.check("<@123> wait is it true Alibaba stole claude's guardrails?? :eyes:")
    assert result.decision is Decision.MATCH and result.matches[0].claim.id == "alibaba-stole-guardrails"
    assert result.matches[0].score >= 0.9

def test_each_message_is_embedded_once(hybrid, monkeypatch):
    calls = []
    original = hybrid.vectors.embedder.encode_queries
    monkeypatch.setattr(hybrid.vectors.embedder, "encode_queries", lambda texts: calls.append(list(texts)) or original(texts))
    text = "Big news today. Fable 5 downgrades you to Opus 4.8 on cyber questions. Also Alibaba stole Claude's guardrails"
    result = hybrid.check(text)
    assert calls == [[text]]  # the whole message, once: its sentences share that vector
    assert len(result.segments) >= 3  # and are still checked one by one

def _file_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "f.db")

def test_embeddings_are_stored_reused_after_restart_and_recomputed_on_change(tmp_path, sample_claims, embedder):
    from bot.core.vectors import VectorIndex

    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims)
    phrasings = sum(len(c.texts()) for c in sample_claims)
    first = VectorIndex(store, embedder)
    assert first.ensure_current() == phrasings
    rows = store.db.execute("SELECT model, text_hash, dim, length(vector) FROM claim_vectors").fetchall()
    assert len(rows) == phrasings
    assert all(r[0] == embedder.model_id and len(r[1]) == 32 and r[2] == 384 and r[3] == 384 * 2 for r in rows)
    store.close()

    # A restart: a new process would open the file again and find every vector up to date.
    store = _file_store(tmp_path)
    again = VectorIndex(store, embedder)
    assert again.ensure_current() == 0 and again.size == phrasings

    # Re-importing the same claims changes nothing either.
    store.upsert_claims(sample_claims)
    assert again.ensure_current() == 0

    # A claim's text changes: only that phrasing is embedded again, and the running index sees it.
    edited = replace(sample_claims[2], claim="Ford inspectors let an AI model sign off on crash tests")
    store.upsert_claims([edited])
    assert again.ensure_current() == 1
    q = embedder.encode_queries(["an AI model signs off on crash tests at Ford"])
    assert again.search(q, k=1)[0][0].claim_id == "ford-inspectors"

    # An alias added: one more phrasing; a claim removed: its vectors go.
    more = replace(sample_claims[1], aliases=sample_claims[1].aliases + ("fable hands cyber prompts to opus",))
    store.upsert_claims([more])
    assert again.ensure_current() == 1
    store.remove("ford-inspectors")
    again.ensure_current()
    assert store.db.execute("SELECT count(*) FROM claim_vectors WHERE claim_id = 'ford-inspectors'").fetchone()[0] == 0
    assert all(h.claim_id != "ford-inspectors" for h in again.search(q, k=5)[0])
    store.close()

def test_changing_the_model_recomputes_everything(tmp_path, sample_claims, embedder):
    from bot.core.embeddings import make_embedder as Embedder
    from bot.core.vectors import VectorIndex

    # Another model: the same weights with a shorter maximum sequence length is a different model.
    other = tmp_path / "other-model"
    src = embedder.location.path
    for item in src.rglob("*"):
        if item.is_file():
            dest = other / item.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if item.name == "sentence_bert_config.json":
                data = json.loads(item.read_text())
                data["max_seq_length"] = 128
                dest.write_text(json.dumps(data))
            else:
                dest.symlink_to(item)
    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims)
    phrasings = sum(len(c.texts()) for c in sample_claims)
    assert VectorIndex(store, embedder).ensure_current() == phrasings
    changed = Embedder(str(other))
    assert changed.model_id != embedder.model_id and changed.location.source == "path"
    assert VectorIndex(store, changed).ensure_current() == phrasings
    models = {r[0] for r in store.db.execute("SELECT model FROM claim_vectors")}
    assert models == {changed.model_id}
    # ...and back: recomputed again, since only one model's vectors are kept.
    assert VectorIndex(store, embedder).ensure_current() == phrasings
    store.close()

def test_the_same_weights_elsewhere_reuse_the_vectors(tmp_path, sample_claims, embedder):
    from bot.core.embeddings import make_embedder as Embedder
    from bot.core.vectors import VectorIndex

    copy = tmp_path / "copy"
    shutil.copytree(embedder.location.path, copy, symlinks=True)
    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims)
    VectorIndex(store, embedder).ensure_current()
    assert Embedder(str(copy)).model_id.split("#")[1] == embedder.digest
    store.close()

def test_missing_model_says_what_to_do(sample_store, monkeypatch, tmp_path, caplog):
    from bot.core.embeddings import ModelMissing

    monkeypatch.setenv("FACTBOT_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelMissing, match="factbot model download someone/not-a-model"):
        Matcher(sample_store, config=MatchConfig(semantic="on", embedding_model="someone/not-a-model"))
    with pytest.raises(ModelMissing, match="does not hold a sentence-transformers model"):
        Matcher(sample_store, config=MatchConfig(semantic="on", embedding_model=str(tmp_path)))
    # "auto" keeps the bot answering, lexically, and says why.
    m = Matcher(sample_store, config=MatchConfig(embedding_model="someone/not-a-model"))
    assert m.vectors is None and "factbot model download" in m.semantic_status
    assert "factbot model download" in caplog.text
    assert m.check("Alibaba stole Claude's guardrails").decision is Decision.MATCH

def test_vector_index_switches_to_hnsw_above_the_cut_over(embedder):
    import numpy as np

    from bot.core.vectors import _Matrix

    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((300, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    m = _Matrix(384, hnsw_above=200)
    m.add_many([f"c{i}" for i in range(150)], [0] * 150, vecs[:150])
    assert m.kind == "exact-fp16"
    m.add_many([f"c{i}" for i in range(150, 300)], [0] * 150, vecs[150:])
    assert m.kind == "hnsw" and len(m) == 300
    assert m.search(vecs[[7, 250]], 3)[0][0].claim_id == "c7"
    m.set_claim("c7", vecs[[9]])  # replaced: now it is c9's twin
    hits = m.search(vecs[[9]], 2)[0]
    assert {h.claim_id for h in hits} == {"c7", "c9"}
    for i in range(100):
        m.remove_claim(f"c{100 + i}")  # tombstones, then a rebuild once a quarter is dead
    assert len(m) == 200 and all(h.claim_id not in {f"c{100 + i}" for i in range(100)} for h in m.search(vecs[100:110], 5)[0])

def test_the_hnsw_graph_is_saved_and_read_back_at_the_next_start(tmp_path, sample_claims, embedder, caplog):
    from bot.core.vectors import VectorIndex

    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims + [claim_from_dict(d) for d in EXTRA])
    first = VectorIndex(store, embedder, hnsw_above=4)  # 8 phrasings: above the cut-over, so a graph
    first.ensure_current()
    graph = tmp_path / "f.db.hnsw"
    assert first.kind == "hnsw" and first.loaded_from == "database" and graph.is_file()
    q = embedder.encode_queries([PARAPHRASE, "an AI model signs off on crash tests at Ford"])
    before = [[(h.claim_id, h.variant) for h in row] for row in first.search(q, k=3)]
    store.close()

    # A restart reads the graph back instead of building it, and answers the same.
    store = _file_store(tmp_path)
    again = VectorIndex(store, embedder, hnsw_above=4)
    again.ensure_current()
    assert again.loaded_from == "graph file" and again.kind == "hnsw" and again.size == first.size
    assert [[(h.claim_id, h.variant) for h in row] for row in again.search(q, k=3)] == before

    # Changes made while no bot ran (an edit, a removal) are applied on top of the saved graph.
    store.upsert_claims([replace(sample_claims[2], claim="Ford inspectors let an AI model sign off on crash tests")])
    store.remove("carrots-night-vision")
    store.close()
    store = _file_store(tmp_path)
    third = VectorIndex(store, embedder, hnsw_above=4)
    assert third.ensure_current() == 1  # only the edited phrasing went through the model
    assert third.loaded_from == "graph file"
    hits = third.search(q, k=3)
    assert hits[1][0].claim_id == "ford-inspectors" and hits[1][0].cosine > before_cosine(first, q)
    assert all(h.claim_id != "carrots-night-vision" for row in hits for h in row)

    # A torn file (cut in the id map, or in the graph) is rebuilt from the stored vectors, with a warning,
    # and saved whole again.
    whole = graph.read_bytes()
    for torn in (whole[:1000], whole[:-1000]):
        caplog.clear()
        graph.write_bytes(torn)
        fourth = VectorIndex(store, embedder, hnsw_above=4)
        fourth.ensure_current()
        assert fourth.loaded_from == "database" and "not usable" in caplog.text
        assert graph.stat().st_size == len(whole)
    assert VectorIndex(store, embedder, hnsw_above=4).search(q, k=1)[1][0].claim_id == "ford-inspectors"
    # Raising the cut-over above the database's size goes back to exact search.
    exact = VectorIndex(store, embedder, hnsw_above=1000)
    exact.ensure_current()
    assert exact.kind == "exact-fp16" and exact.loaded_from == "database"
    store.close()

    # Another database at the same path (deleted and created again) never reuses the old graph.
    for name in ("f.db", "f.db-wal", "f.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims)
    fresh = VectorIndex(store, embedder, hnsw_above=4)
    fresh.ensure_current()
    assert fresh.loaded_from == "database" and "another database" in caplog.text
    assert fresh.size == sum(len(c.texts()) for c in sample_claims)
    store.close()


def before_cosine(index, q) -> float:
    """The Ford claim's cosine with the second query, as the index saw it before the edit."""
    return index.cosines(q[1], ["ford-inspectors"])["ford-inspectors"][0]


def test_warm_up_loads_the_model_and_embeds_the_claims_before_the_first_check(tmp_path, sample_claims, embedder):
    from bot.core.service import FactChecker

    store = _file_store(tmp_path)
    store.upsert_claims(sample_claims)
    checker = FactChecker(store, matcher_config=MatchConfig(semantic="on", embedding_model=ST_MODEL))
    vectors = checker.matcher.vectors
    assert vectors is not None and vectors.size == 0
    checker.warm_up()
    assert vectors.size == sum(len(c.texts()) for c in sample_claims)
    assert embedder._model is not None and store.checks() == []  # loaded, and nothing logged as a check
    assert checker.check(PARAPHRASE).decision is not Decision.MATCH  # carrots are not in these claims
    store.close()


def test_explain_shows_lexical_fuzzy_and_vector_parts(hybrid):
    from bot.adapters.console import render_text

    out = render_text(hybrid.check(PARAPHRASE), explain=True)
    assert "vector 0." in out and "lexical 0." in out and "fuzzy" in out and "bm25" in out

def test_cli_model_commands(tmp_path, monkeypatch, embedder):
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.model_cli import model_cli

    if "model" not in cli.commands:
        cli.add_command(model_cli, "model")
    monkeypatch.setenv("FACTBOT_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("FACTBOT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("FACTBOT_MATCHER_EMBEDDING_MODEL", ST_MODEL)
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    runner = CliRunner()
    out = runner.invoke(cli, ["model", "embed"])
    assert out.exit_code == 0, out.output
    assert "Embedded" in out.output
    again = runner.invoke(cli, ["model", "embed"])
    assert "Embedded 0 phrasing(s)" in again.output
    info = runner.invoke(cli, ["model", "info", "--json"])
    data = json.loads(info.stdout)
    assert data["status"] == "ready" and data["stored"][0]["phrasings"] > 100
    n = data["stored"][0]["phrasings"]
    assert data["vector_search"] == f"exact ({n:,} phrasings, at most matcher.vector_index_above = 300,000)"
    graph = runner.invoke(cli, ["model", "info"], env={"FACTBOT_MATCHER_VECTOR_INDEX_ABOVE": "10"})
    assert f"HNSW graph ({n:,} phrasings), not saved yet: the next start builds it" in graph.stdout
    # Embedding only writes: it neither builds nor reads the graph (minutes on a large archive).
    again = runner.invoke(cli, ["model", "embed"], env={"FACTBOT_MATCHER_VECTOR_INDEX_ABOVE": "10"})
    assert again.exit_code == 0 and "Embedded 0 phrasing(s)" in again.output
    assert not (tmp_path / "cli.db.hnsw").exists()
    runner.invoke(cli, ["check", PARAPHRASE], env={"FACTBOT_MATCHER_VECTOR_INDEX_ABOVE": "10"})  # builds and saves it
    graph = runner.invoke(cli, ["model", "info"], env={"FACTBOT_MATCHER_VECTOR_INDEX_ABOVE": "10"})
    assert f"HNSW graph ({n:,} phrasings), saved in {tmp_path / 'cli.db.hnsw'}" in graph.stdout
    # The packaged model is copied, not downloaded; the copy is then what the name resolves to.
    dl = runner.invoke(cli, ["model", "download"])
    assert dl.exit_code == 0, dl.output
    assert (tmp_path / "models" / "sentence-transformers--all-MiniLM-L6-v2" / "model.safetensors").is_file()
    data = json.loads(runner.invoke(cli, ["model", "info", "--json"]).stdout)
    assert data["source"] == "downloaded" and data["model_id"].split("#")[1] == embedder.digest
    explain = runner.invoke(cli, ["check", "--explain", PARAPHRASE])
    assert "vector" in explain.stdout
    missing = runner.invoke(cli, ["model", "info"], env={"FACTBOT_MATCHER_EMBEDDING_MODEL": "someone/not-a-model"})
    assert "factbot model download" in missing.stdout


def test_on_postgresql_new_claims_are_embedded_in_the_background_and_stored_for_every_instance(
        pg_url, sample_claims, embedder):
    import time

    from bot.core.vectors import VectorIndex

    store = Store(pg_url)
    store.upsert_claims(sample_claims)
    vectors = VectorIndex(store, embedder)
    assert vectors.pending() == len(sample_claims)
    assert vectors.start_background(interval=0.05)
    deadline = time.monotonic() + 60
    while vectors.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    vectors.stop_background()
    assert vectors.pending() == 0
    other = Store(pg_url)  # another instance reads the stored vectors instead of embedding again
    assert VectorIndex(other, embedder).pending() == 0
    other.close()
    store.close()


def test_background_embedding_ends_with_its_store(tmp_path, embedder):
    import time

    from bot.core.vectors import VectorIndex

    store = _file_store(tmp_path)
    vectors = VectorIndex(store, embedder)
    assert vectors.start_background(interval=0.05)
    worker = vectors._worker
    store.close()
    deadline = time.monotonic() + 10
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not worker.is_alive()
