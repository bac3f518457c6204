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
    monkeypatch.setattr(m, "_phrasing_terms", lambda text, analysed, language="en": m._variant_terms(text, language))
    reanalysed = [matcher.check(t) for t in messages]
    assert [(r.decision, [(c.claim.id, c.score) for c in r.candidates]) for r in with_stored] == \
        [(r.decision, [(c.claim.id, c.score) for c in r.candidates]) for r in reanalysed]
    assert with_stored[0].best is not None


# -- faults an operator meets: restores, damaged or misplaced index folders --------------------------------------


def _zebra(i: int):
    return claim_from_dict({"id": f"zebra-{i}", "claim": f"Zebras quuxify the moon number {i} with flange{i}",
                            "verdict": "false", "summary": "No.", "sources": [{"url": "https://example.org/"}]})


def _online_backup(source_path, target_path) -> None:
    """SQLite's online backup, as ``sqlite3 factbot.db ".backup …"`` (and ``.restore``) does it."""
    import sqlite3

    src, dst = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_a_restored_backup_written_again_is_reindexed_and_doctor_says_so(tmp_path, sample_claims):
    """Back up, import, restore, import other claims: the change numbers are reused with other claims."""
    from bot.doctor import check_database

    db, backup = tmp_path / "f.db", tmp_path / "backup.db"
    with Store(db) as store:
        store.upsert_claims(sample_claims)
        ClaimIndex(store).ensure_current()
    _online_backup(db, backup)
    with Store(db) as store:
        store.upsert_claims([_zebra(i) for i in range(5)])
        ClaimIndex(store).ensure_current()
    _online_backup(backup, db)  # the restore: the live file gets the backup's pages
    with Store(db) as store:
        store.upsert_claims([_zebra(i) for i in range(10, 15)])  # the same number of changes as the lost import
        assert store.last_change_seq() == json.loads((tmp_path / "f.db.index" / "factbot-sync.json").read_text())["seq"]
        findings = [f.line() for f in check_database(store)]  # doctor, first thing after the restore
        index = ClaimIndex(store)
        assert index.problem == ""  # doctor's look rebuilt it
        assert ids(index.search(terms("quuxify moon number 12 flange12")))[:1] == ["zebra-12"]
        assert index.search(terms("flange3"), fuzzy=False) == []  # the import the restore undid is gone from it too
        assert index.num_docs == store.count() == 8
    assert ("❌ search index: the search index was rebuilt from the database: it follows another generation of this "
            "database (a backup restored and written since?): its change 8 is not the database's") in findings
    with Store(db) as store:  # repaired for good: the next look finds nothing wrong
        assert [f.line() for f in check_database(store) if "search index" in f.line()] == [
            "✅ search index: 8 documents, synced to change 8"]


def test_a_restored_backup_gets_new_claims_found_through_the_command_line(tmp_path, sample_claims):
    """The operator's own steps, through ``factbot``: import, back up, import, restore, import, check."""
    from click.testing import CliRunner

    from bot.cli import cli

    db, backup = tmp_path / "f.db", tmp_path / "backup.db"
    runner = CliRunner()
    env = {"FACTBOT_MATCHER_SEMANTIC": "off"}

    def run(*args: str):
        result = runner.invoke(cli, ["--db", str(db), *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    def jsonl(name: str, claims) -> str:
        path = tmp_path / name
        path.write_text("".join(json.dumps(c.to_dict()) + "\n" for c in claims))
        return str(path)

    run("claims", "import", jsonl("a.jsonl", sample_claims))
    _online_backup(db, backup)
    run("claims", "import", jsonl("b.jsonl", [_zebra(i) for i in range(5)]))
    _online_backup(backup, db)
    run("claims", "import", jsonl("c.jsonl", [_zebra(i) for i in range(10, 15)]))
    answer = json.loads(run("check", "--json", "Zebras quuxify the moon number 12 with flange12"))
    assert (answer["decision"], answer["matches"][0]["claim_id"]) == ("match", "zebra-12")


def test_a_restore_with_fewer_changes_than_the_index_has_seen_is_reindexed(tmp_path, sample_claims):
    db, backup = tmp_path / "f.db", tmp_path / "backup.db"
    with Store(db) as store:
        store.upsert_claims(sample_claims)
    _online_backup(db, backup)
    with Store(db) as store:
        store.upsert_claims([_zebra(i) for i in range(5)])
        ClaimIndex(store).ensure_current()
    _online_backup(backup, db)
    with Store(db) as store:
        store.upsert_claims([_zebra(20)])
        index = ClaimIndex(store)
        assert ids(index.search(terms("flange20"))) == ["zebra-20"]
        assert index.search(terms("flange1"), fuzzy=False) == []


def test_doctor_catches_claims_the_index_cannot_find(tmp_path, sample_claims):
    from bot.doctor import check_database

    with Store(tmp_path / "f.db") as store:
        store.upsert_claims(sample_claims)
        index = ClaimIndex(store)
        index.ensure_current()
        writer = index._writer()  # a document lost behind the index's back
        writer.delete_documents_by_term("id", "ford-inspectors")
        writer.commit()
        writer.wait_merging_threads()
        lines = [f.line() for f in check_database(store)]
    assert "❌ search index: 1 of the 3 latest claims cannot be found (e.g. ford-inspectors): delete the folder " \
           f"{tmp_path / 'f.db.index'} (it is rebuilt at the next start)" in lines


def test_an_index_folder_that_lost_meta_json_is_rebuilt(tmp_path, sample_claims):
    with Store(tmp_path / "f.db") as store:
        store.upsert_claims(sample_claims)
        ClaimIndex(store).ensure_current()
        (tmp_path / "f.db.index" / "meta.json").unlink()
        index = ClaimIndex(store)
        assert ids(index.search(terms("inspectors"))) == ["ford-inspectors"]
        assert index.num_docs == 3
        assert index.problem == "the search index was rebuilt from the database: it lost its meta.json"


def test_an_index_folder_with_unreadable_meta_json_is_rebuilt(tmp_path, sample_claims):
    with Store(tmp_path / "f.db") as store:
        store.upsert_claims(sample_claims)
        ClaimIndex(store).ensure_current()
        (tmp_path / "f.db.index" / "meta.json").write_text("{not json")
        index = ClaimIndex(store)
        assert ids(index.search(terms("inspectors"))) == ["ford-inspectors"]
        assert index.problem.startswith("the search index was rebuilt from the database: it is unreadable")


def test_a_file_where_the_index_folder_should_be_means_an_index_in_memory(tmp_path, sample_claims, caplog):
    (tmp_path / "f.db.index").write_text("not a folder")
    with Store(tmp_path / "f.db") as store:
        store.upsert_claims(sample_claims)
        index = ClaimIndex(store)
        assert ids(index.search(terms("inspectors"))) == ["ford-inspectors"]
    assert (tmp_path / "f.db.index").read_text() == "not a folder"  # nothing of the operator's is removed
    assert index.problem == (f"the search index folder {tmp_path / 'f.db.index'} cannot be used "
                             f"({tmp_path / 'f.db.index'} is a file, not a folder); searching with an index in "
                             "memory, built from the database at each start")
    assert index.problem in caplog.text
