"""The BM25 index is derived from the store and catches up with any writer, in this process or another."""

import json

from bot.core.index import ClaimIndex
from bot.core.models import claim_from_dict
from bot.core.normalize import terms
from bot.core.store import Store


def ids(hits):
    return [cid for cid, _ in hits]


def test_search_ranks_by_bm25(matcher):
    hits = matcher.index.search(terms("Alibaba guardrails"))
    assert ids(hits)[0] == "alibaba-stole-guardrails"
    assert hits[0][1] > 0


def test_typo_is_found_through_fuzzy_terms(matcher):
    assert ids(matcher.index.search(terms("alibba gaurdrails")))[:1] == ["alibaba-stole-guardrails"]
    assert matcher.index.search(terms("alibba"), fuzzy=False) == []


def test_unknown_words_return_nothing(matcher):
    assert matcher.index.search(terms("lunch tomorrow maybe")) == []
    assert matcher.index.search(()) == []


def test_writes_are_visible_at_the_next_search(sample_store, sample_claims):
    index = ClaimIndex(sample_store)
    assert index.search(terms("zeppelin")) == []
    sample_store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "id": "zep", "claim": "A zeppelin landed"})])
    assert ids(index.search(terms("zeppelin"))) == ["zep"]
    sample_store.remove("zep")
    assert index.search(terms("zeppelin")) == []


def test_second_process_sees_writes_and_shares_the_index(tmp_path, sample_claims):
    path = tmp_path / "f.db"
    bot_store, cli_store = Store(path), Store(path)
    bot_index = ClaimIndex(bot_store)
    bot_store.upsert_claims(sample_claims)
    assert ids(bot_index.search(terms("inspectors"))) == ["ford-inspectors"]
    cli_index = ClaimIndex(cli_store)  # opens the index the bot wrote: no rebuild needed
    assert cli_index.synced_seq == bot_store.last_change_seq()
    cli_store.upsert_claims([claim_from_dict({**sample_claims[2].to_dict(), "id": "zep", "claim": "A zeppelin landed"})])
    cli_index.ensure_current()
    assert ids(bot_index.search(terms("zeppelin"))) == ["zep"]
    hwm = json.loads((tmp_path / "f.db.index" / "factbot-sync.json").read_text())
    assert hwm["seq"] == bot_store.last_change_seq()


def test_lost_or_foreign_index_is_rebuilt(tmp_path, sample_claims):
    path = tmp_path / "f.db"
    store = Store(path)
    store.upsert_claims(sample_claims)
    ClaimIndex(store).ensure_current()
    (tmp_path / "f.db.index" / "factbot-sync.json").write_text('{"format": 1, "db_id": "someone-else", "seq": 999}')
    index = ClaimIndex(store)
    assert ids(index.search(terms("inspectors"))) == ["ford-inspectors"]
    assert index.num_docs == 3


def test_hits_carry_each_phrasings_analysed_terms(matcher, sample_store):
    """The matcher scores phrasing by phrasing from what the index stored, without analysing them again."""
    from bot.core.index import phrasing_key

    found = matcher.index.search_analysed(terms("Alibaba stole Claude's guardrails"), 5)
    assert found
    for cid, _, analysed in found:
        claim = sample_store.get(cid)
        assert analysed == {phrasing_key(t): " ".join(terms(t)) for t in claim.texts()}


def test_stored_terms_change_nothing_in_the_scores(matcher, monkeypatch):
    import bot.core.matcher as m

    messages = ["Alibaba stole Claude's guardrails", "did alibaba rip off the fable guardrails??", "pizza at noon?"]
    with_stored = [matcher.check(t) for t in messages]
    monkeypatch.setattr(m, "_phrasing_terms", lambda text, analysed: m._variant_terms(text))
    reanalysed = [matcher.check(t) for t in messages]
    assert [(r.decision, [(c.claim.id, c.score) for c in r.candidates]) for r in with_stored] == \
        [(r.decision, [(c.claim.id, c.score) for c in r.candidates]) for r in reanalysed]
    assert with_stored[0].best is not None
