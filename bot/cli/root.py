"""The root of the ``factbot`` command: settings, the lazily opened database, one-line failures.

Exit codes (documented in docs/cli.md and relied on by scripts):
0 success · 1 not found / nothing done · 2 usage error · 3 bad input data · 4 database or configuration problem.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Any, NoReturn

import click

from .. import __version__
from ..config import ConfigError, Settings, load_settings
from ..core.engine import pg_error_kind
from ..core.knowledge import KnowledgeError
from ..core.migrations import SchemaTooNew
from ..core.service import FactChecker, checker_for, open_store
from ..core.store import Store, StoreError, store_error
from ..exitcodes import EXIT_DB
from ..observability import setup_logging


class Context:
    """Lazily opened resources, so ``--help`` and ``config check`` never touch the database."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Store | None = None
        self._checker: FactChecker | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            try:
                self._store, report = open_store(self.settings.database, index_dir=self.settings.index.root)
            except SchemaTooNew as exc:
                fail(str(exc), EXIT_DB)
            except KnowledgeError as exc:
                fail(f"the bundled knowledge is invalid:\n{exc}", EXIT_DB)
            except (OSError, StoreError) as exc:
                fail(str(store_error(exc, self.settings.database)), EXIT_DB)
            self._store.housekeeping(self.settings.store.check_retention_days)
            if report.created and self.settings.database != ":memory:":
                click.echo(f"Created {self._store.location} with {self._store.count()} bundled claims.", err=True)
        return self._store

    @property
    def checker(self) -> FactChecker:
        if self._checker is None:
            self._checker = checker_for(self.store, self.settings)
        return self._checker

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


pass_ctx = click.make_pass_decorator(Context)


class LazyGroup(click.Group):
    """Groups whose modules import a platform library load only when used: ``factbot check`` stays quick."""

    lazy = {
        "discord": "bot.adapters.discord.cli:discord_cli",
        "model": "bot.model_cli:model_cli",
        "language": "bot.language_cli:language_cli",
        "desk": "bot.desk.cli:desk_cli",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def invoke(self, ctx: click.Context) -> Any:
        """Every database fault (locked past the wait, read-only, disk full, damaged) is one line and exit code 4."""
        try:
            return super().invoke(ctx)
        except (StoreError, sqlite3.Error) as exc:
            obj = ctx.obj if isinstance(ctx.obj, Context) else None
            logging.getLogger("factbot.store").debug("database error", exc_info=True)
            fail(str(store_error(exc, obj.settings.database if obj else None)), EXIT_DB)
        except Exception as exc:  # noqa: BLE001 - a PostgreSQL server gone away mid-command, else re-raised
            if pg_error_kind(exc) is None:
                raise
            obj = ctx.obj if isinstance(ctx.obj, Context) else None
            logging.getLogger("factbot.store").debug("database error", exc_info=True)
            fail(str(store_error(exc, obj.settings.database if obj else None)), EXIT_DB)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_path", envvar="FACTBOT_DB", metavar="PATH|URL", help="Database file, or a postgresql:// URL (default: a file in your user data directory; env FACTBOT_DB).")
@click.option("--config", "config_path", metavar="FILE", help="Settings file (TOML; env FACTBOT_CONFIG).")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
@click.version_option(__version__, prog_name="factbot")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, config_path: str | None, verbose: int) -> None:
    """factbot checks chat messages against a database of verified claims.

    \b
    Quick start:
      factbot check "Alibaba stole Claude Fable's guardrails"
      factbot chat
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    try:
        settings = load_settings(config_path, db_path=db_path)
    except ConfigError as exc:
        setup_logging(level)
        fail(str(exc), EXIT_DB)
    setup_logging(level, secrets=settings.secrets())
    ctx.obj = Context(settings)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    cli(prog_name="factbot")
