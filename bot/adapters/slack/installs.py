"""Where the multi-workspace install keeps its installations and install states: factbot's own database.

A file gets slack_sdk's SQLite stores (their tables beside factbot's in the same file); PostgreSQL gets its
SQLAlchemy stores on the same database and schema, so every instance sees every installation.  ``factbot db copy``
moves a file's installations over with ``copy_installations``: the two stores lay out their tables differently
(``''`` for no enterprise against NULL, 0/1 against booleans, text against timestamps), so each workspace's
latest installation is read through the one store and saved through the other, as a new install would be.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from ...core.engine import create_tables_once, sqlalchemy_engine
from ...core.migrations import LIBRARY_TABLES_LOCK
from ...core.queries import slack_installs
from ...core.store import Store

log = logging.getLogger("factbot.slack")

STATE_SECONDS = 600  # an install link is good for ten minutes
STATE_TABLE = "oauth_states"  # the SQLite store's name for the table, kept on PostgreSQL


class InstallStores:
    """The installation store and the OAuth state store of one database, and the engine under them (PostgreSQL)."""

    def __init__(self, store: Store, client_id: str):
        self.engine: Any = None
        if store.engine == "postgresql":
            assert store.url is not None
            try:  # slack_sdk's SQLAlchemy stores import SQLAlchemy: only with the postgres extra
                from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
                from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

                self.engine = sqlalchemy_engine(store.url)
            except ImportError:
                raise ValueError("the multi-workspace install on PostgreSQL needs SQLAlchemy, which the postgres "
                                 "extra brings: pip install 'factbot[postgres]'") from None
            self.installations: AsyncInstallationStore = AsyncSQLAlchemyInstallationStore(
                client_id=client_id, engine=self.engine, logger=log)
            self.states: AsyncOAuthStateStore = AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=STATE_SECONDS, engine=self.engine, table_name=STATE_TABLE, logger=log)
            return
        if store.path is None:
            raise ValueError("the multi-workspace install needs a database file or PostgreSQL, not an in-memory "
                             "database")
        self.installations = SQLite3InstallationStore(database=str(store.path), client_id=client_id)
        self.states = SQLite3OAuthStateStore(database=str(store.path), expiration_seconds=STATE_SECONDS)

    async def prepare(self, where: str) -> None:
        """Create the tables on PostgreSQL if they are not there (the SQLite stores do it themselves)."""
        if self.engine is None:
            return
        try:
            await create_tables_once(self.engine, [self.installations.metadata, self.states.metadata],  # type: ignore[attr-defined]
                                     LIBRARY_TABLES_LOCK)
        except Exception as exc:  # noqa: BLE001 - said as one line, without the URL's password
            raise ValueError(f"the multi-workspace install cannot create its tables in {where} "
                             f"({type(exc).__name__})") from None

    async def close(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.dispose()


def copy_installations(source: Store, target: Store) -> int:
    """Save each workspace's latest installation in ``source`` (a file) into ``target`` (PostgreSQL); how many."""
    found = []
    assert source.path is not None
    for client_id, enterprise_id, team_id, enterprise_install in slack_installs(source):
        reader = SQLite3InstallationStore(database=str(source.path), client_id=client_id, logger=log)
        installation = reader.find_installation(enterprise_id=enterprise_id, team_id=team_id,
                                                is_enterprise_install=enterprise_install)
        if installation is not None:
            # The SQLite store says "no enterprise" (and "no team" for an organisation-wide install) with '',
            # the SQLAlchemy one with NULL, which is what it looks installations up by.
            installation.enterprise_id = installation.enterprise_id or None
            installation.team_id = installation.team_id or None
            found.append((client_id, installation))
    if found:
        asyncio.run(_save(found, target))
    return len(found)


async def _save(found: list, target: Store) -> None:
    by_client: dict[str, InstallStores] = {}
    try:
        for client_id, installation in found:
            stores = by_client.get(client_id)
            if stores is None:
                stores = by_client[client_id] = InstallStores(target, client_id)
                await stores.prepare(target.location)
            await stores.installations.async_save(installation)
    finally:
        for stores in by_client.values():
            await stores.close()
