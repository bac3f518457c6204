"""The ``factbot`` command: check claims, chat locally, run the bot, manage the claims database.

One module per command group (``check``, ``run``, ``claims``, ``knowledge``, ``db``, ``digest``, ``config``,
``health``); ``root`` holds the ``factbot`` group itself. The ``discord``, ``model``, ``language`` and ``desk``
groups load lazily from their own packages (``root.LazyGroup``).

Exit codes (documented in docs/cli.md and relied on by scripts):
0 success · 1 not found / nothing done · 2 usage error · 3 bad input data · 4 database or configuration problem.
"""

from . import check, claims, config, db, digest, health, knowledge, run  # noqa: F401  (they add their commands)
from .root import Context, cli, fail, main, pass_ctx

__all__ = ["Context", "cli", "fail", "main", "pass_ctx"]
