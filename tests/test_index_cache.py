"""On PostgreSQL each host keeps its search index in a local cache folder, one per database, and a restart catches
up from the change it had reached; a database created again at the same address, or a folder of another database,
is never used as it is."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from click.testing import CliRunner

import bot.core.index as index_module
from bot.cli import cli
from bot.core.index import ClaimIndex, cache_folder
from bot.core.models import claim_from_dict
from bot.core.normalize import terms
from bot.core.store import Store


def _claim(cid: str, text: str):
    return claim_from_dict({"id": cid, "claim": text, "verdict": "false", "summary": "No.",
                            "sources": [{"url": "https://example.org/"}]})


def _doctor(db: str, config=None) -> str:
    args = (["--config", str(config)] if config else []) + ["--db", db, "doctor", "--offline"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return next(line for line in result.output.splitlines() if "search index:" in line)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("FACTBOT_INDEX_DIR", str(root))
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return root


def test_a_restart_catches_up_from_its_cache_and_sees_what_changed_while_it_was_down(pg_url, cache, caplog):
    first = _doctor(pg_url)  # the first start on this host: built from the database
    with Store(pg_url) as store:
        folder, head = cache_folder(store), store.last_change_seq()
    assert first.startswith("✅ search index:") and f"synced to change {head}" in first
    assert f"built from the database into {folder} now" in first
    assert folder.parent == cache and (folder / "factbot-sync.json").is_file()

    # While no instance runs, another host changes a claim and adds one.
    with Store(pg_url) as elsewhere:
        old = elsewhere.get_many(["alibaba-stole-fable-guardrails"])["alibaba-stole-fable-guardrails"]
        elsewhere.upsert_claims([claim_from_dict({**old.to_dict(), "aliases": ["a quuxified zeppelin"]}),
                                 _claim("zep-1", "A zeppelin flanged the harbour")])
        now = elsewhere.last_change_seq()
    assert now > head

    # The restart: the folder is kept, the two changes are applied, nothing is indexed from scratch.
    again = _doctor(pg_url)
    assert again == (f"✅ search index: {json.loads((folder / 'factbot-sync.json').read_text())['docs']} documents, "
                     f"synced to change {now}; kept in {folder}, which had caught up to change {head}")
    with caplog.at_level(logging.INFO, logger="factbot.index"), Store(pg_url) as store:
        index = ClaimIndex(store)
        assert index.path == folder and index.opened_seq == now and index.problem == ""
        assert [cid for cid, _ in index.search(terms("quuxified zeppelin"))][:1] == ["alibaba-stole-fable-guardrails"]
        assert [cid for cid, _ in index.search(terms("flanged harbour"))] == ["zep-1"]
        assert index.num_docs == store.count()
    assert f"search index at {folder}: kept from before, at change {now}" in caplog.text


def test_a_database_created_again_at_the_same_address_gets_a_new_index(pg_server, cache):
    from pgserver import fresh_schema

    schema = fresh_schema()
    pg_server.execute(f"CREATE SCHEMA {schema}")
    url = pg_server.url_for(schema)
    try:
        with Store(url) as store:
            store.upsert_claims([_claim("zep-old", "A zeppelin of the old database")])
            ClaimIndex(store).ensure_current()
            old = cache_folder(store)
        assert old.is_dir()
        pg_server.execute(f"DROP SCHEMA {schema} CASCADE")
        pg_server.execute(f"CREATE SCHEMA {schema}")
        line = _doctor(url)
        with Store(url) as store:
            new = cache_folder(store)
            index = ClaimIndex(store)
            assert index.search(terms("zeppelin")) == []  # nothing of the old database's claims
            assert index.num_docs == store.count() > 0
        assert new != old and not old.exists()  # the dropped database's folder is gone with it
        assert line.startswith("✅ search index:") and f"built from the database into {new} now" in line
    finally:
        pg_server.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_a_cache_folder_of_another_database_is_not_used(pg_url, pg_server, cache, caplog):
    from pgserver import fresh_schema

    other_schema = fresh_schema()
    pg_server.execute(f"CREATE SCHEMA {other_schema}")
    try:
        with Store(pg_server.url_for(other_schema)) as other:
            other.upsert_claims([_claim("zep-other", "A zeppelin of another database")])
            ClaimIndex(other).ensure_current()
            foreign = cache_folder(other)
        with Store(pg_url) as store:
            mine = cache_folder(store)
            shutil.copytree(foreign, mine)  # another database's folder where this one's belongs
            with caplog.at_level(logging.WARNING, logger="factbot.index"):
                index = ClaimIndex(store)
            assert index.problem == "the search index was rebuilt from the database: it belongs to another database"
            index.ensure_current()
            assert index.search(terms("zeppelin")) == [] and index.num_docs == store.count()
        assert "it belongs to another database; rebuilding it from the database" in caplog.text
    finally:
        pg_server.execute(f"DROP SCHEMA {other_schema} CASCADE")


def test_the_config_file_chooses_the_cache_folder(pg_url, tmp_path, monkeypatch):
    monkeypatch.delenv("FACTBOT_INDEX_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = tmp_path / "factbot.toml"
    config.write_text(f'[index]\ncache_dir = "{tmp_path / "configured"}"\n')
    line = _doctor(pg_url, config)
    with Store(pg_url) as store:
        store.index_dir = tmp_path / "configured"
        folder = cache_folder(store)
    assert folder.parent == tmp_path / "configured" and folder.is_dir()
    assert f"built from the database into {folder} now" in line


def test_a_large_catch_up_runs_in_a_child_that_is_never_given_the_password(pg_url, cache, monkeypatch):
    """A running bot applies a large import in a child process; the URL (and its password) stays out of its argv."""
    url = pg_url.replace("postgres:@", "postgres:s3cretpw@")
    started = []
    real_run = index_module.subprocess.run

    def run(args, **kwargs):
        started.append(list(args))
        return real_run(args, **kwargs)

    monkeypatch.setattr(index_module.subprocess, "run", run)
    monkeypatch.setattr(index_module, "INLINE_CHANGES", 3)
    with Store(url) as bot_store, Store(url) as importer:
        bot_store.head_ttl = 0.0  # read the change feed's head at every look, not once per half second
        index = ClaimIndex(bot_store)
        index.ensure_current()
        index.background = True  # as after the bot's warm-up
        importer.upsert_claims([_claim(f"zep-{i}", f"Zeppelin number {i} quuxified") for i in range(6)])
        assert index.ensure_current() is False  # started in the background; the check goes on meanwhile
        assert index._catching_up is not None
        index._catching_up.join(120)
        assert [cid for cid, _ in index.search(terms("quuxified"), limit=10)] != []
        assert index.synced_seq == importer.last_change_seq() and index.num_docs == importer.count()
    assert len(started) == 1 and started[0][-3] == "-"
    assert not any("s3cretpw" in a or "postgresql://" in a for a in started[0])


OPEN_AT_ONCE = r"""
import json, os, sys, time
from bot.core.index import ClaimIndex
from bot.core.store import Store
store = Store(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
index = ClaimIndex(store)
index.ensure_current()
print(json.dumps({"problem": index.problem, "folder": index.path is not None, "docs": index.num_docs}))
"""


def test_instances_opening_one_hosts_new_cache_folder_at_once_all_use_it(pg_url, cache, tmp_path):
    """Instances on one host often start together: each found the new folder without a high-water mark and wiped
    it while another was making it, and the losers searched with an index in memory for the whole run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    store = Store(pg_url)
    store.upsert_claims([_claim(f"c{i}", f"claim number {i} about fable guardrails") for i in range(50)])
    store.close()
    go = tmp_path / "go"
    root = Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT_ONCE, pg_url, str(go)], cwd=root, env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    go.touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["problem"] for o in outcomes] == [""] * 6, outcomes
    assert all(o["folder"] for o in outcomes)
    assert len(list(cache.glob("*.lock"))) == 1  # one folder, one lock beside it
