"""The one line that matters: the core knows nothing of Discord or Slack."""

import ast
import importlib.metadata
import pathlib
import subprocess
import sys

import bot

CORE = pathlib.Path(bot.__file__).parent / "core"
PLATFORM_LIBS = {"discord", "slack_bolt", "slack_sdk", "aiohttp"}


def test_core_imports_no_platform_library():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in PLATFORM_LIBS]
    assert offenders == []


def test_core_loads_without_platform_libraries():
    code = (
        "import sys\n"
        "for m in ('discord', 'slack_bolt', 'slack_sdk'): sys.modules[m] = None\n"
        "import bot.core.service, bot.core.matcher, bot.core.store, bot.adapters.console\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_installed_package_ships_the_knowledge():
    """A non-editable install (as CI does) must carry knowledge/ inside the package."""
    dist = importlib.metadata.distribution("factbot")
    files = [str(f) for f in dist.files or []]
    if any(f.endswith(".pth") for f in files) and not any("bot/core/store.py" in f for f in files):
        import pytest

        pytest.skip("editable install: knowledge/ is read from the checkout")
    assert any(f.startswith("bot/knowledge/claims/") and f.endswith(".yaml") for f in files)
    assert "bot/knowledge/README.md" in files


# -- the import graph ---------------------------------------------------------------------------------------------
BOT = CORE.parent


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in BOT.rglob("*.py"):
        parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the bot modules it imports, at the top or inside a function (a lazy import is still an edge)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                        if node.level else node.module or "")
                targets = [base] + [f"{base}.{a.name}" for a in node.names]  # `from . import render` names a module
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert "bot.runtime" in graph["bot.adapters.discord.runner"]  # the graph sees real edges
    assert cycles(graph) == []


def test_the_runtime_and_the_core_never_import_an_adapter():
    """Adapters depend on the runtime and the core, never the other way: one start-up path, in bot.runtime."""
    graph = import_graph()
    inward = [m for m in graph if m.startswith("bot.core") or m in ("bot.runtime", "bot.scheduler", "bot.exitcodes")]
    offenders = [f"{m} -> {t}" for m in inward for t in graph[m] if t.startswith("bot.adapters")]
    assert offenders == []
    offenders = [f"{m} -> {t}" for m in graph if m.startswith("bot.core") for t in graph[m]
                 if not t.startswith("bot.core") and t != "bot"]
    assert offenders == []


def test_every_logger_is_in_the_factbot_namespace():
    """One namespace (``factbot.*``): an operator filters or raises the level of the bot's logs in one place."""
    offenders = []
    for path in BOT.rglob("*.py"):
        if path.name == "observability.py":  # where the root logger and other libraries' loggers are set up
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger"
                    and node.args):
                arg = node.args[0]
                if not (isinstance(arg, ast.Constant) and str(arg.value).startswith("factbot")):
                    offenders.append(f"{path.relative_to(BOT)}:{node.lineno}")
    assert offenders == []


SQL_CALLS = {"execute", "executemany", "executescript", "table", "query"}


def sql_outside_core() -> list[str]:
    """Each place outside bot/core that runs a statement or reaches a table: ``x.execute(...)``, ``db.table(...)``,
    ``store.db[...]``, ``store.db.conn``."""
    found = []
    for path in BOT.rglob("*.py"):
        if CORE in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            hit = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS
                   or isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                   and node.value.attr == "db"
                   or isinstance(node, ast.Attribute) and node.attr == "conn" and isinstance(node.value, ast.Attribute)
                   and node.value.attr == "db")
            if hit:
                found.append(f"{path.relative_to(BOT)}:{node.lineno}")
    return sorted(set(found))


def test_sql_lives_only_in_the_core():
    """Adapters, the command line, the doctor and the scheduler ask store or core functions; one place has SQL."""
    assert sql_outside_core() == []


# -- no sentence in an adapter ---------------------------------------------------------------------------------------
ADAPTERS = BOT / "adapters"
# Where an adapter may still write English: what the operator who runs factbot reads (start-up errors, /healthz, the
# `factbot discord` command group, why a request was refused, in the log), never what a chat reader sees.
OPERATOR_MODULES = {"discord/runner.py", "slack/runner.py", "discord/cli.py", "slack/verify.py"}
# Discord's command registry (command names, descriptions, option hints): marked for the catalogs and sent in every
# language through appcommands.RegistryTranslator (an app_commands.Translator); the English here is the msgid.
DISCORD_REGISTRY = {"description", "name"}
# Three words in a row, separated by spaces: a sentence or a phrase, not an id ("factbot_vote_up"), a path or syntax.
SENTENCE = __import__("re").compile(r"[A-Za-z][a-z']+(?:[ ,;:]+[A-Za-z][a-z']+){2,}")


def _skipped(tree: ast.AST) -> set[int]:
    """Literals that are not said to a reader: docstrings, log lines, exception messages, command registry text."""
    skip: set[int] = set()

    def drop(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                drop(first)
        if isinstance(node, ast.Raise):
            drop(node)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "log":
                drop(node)
            named = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if named == "locale_str":  # discord.py's mark for registry text
                drop(node)
            if named in ("describe", "command", "context_menu", "Group", "ContextMenu", "Command"):
                for kw in node.keywords:
                    if kw.arg in DISCORD_REGISTRY or named == "describe":
                        drop(kw.value)
    return skip


def adapter_sentences(root: pathlib.Path = ADAPTERS) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix() in OPERATOR_MODULES:
            continue
        tree = ast.parse(path.read_text())
        skip = _skipped(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                    and SENTENCE.search(node.value)):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:60]!r}")
    return found


def test_no_adapter_writes_a_sentence_of_its_own():
    """Every word a reader sees comes from the core (chat.py, translated); an adapter supplies only syntax."""
    assert adapter_sentences() == []


def test_the_sentence_finder_finds_one(tmp_path):
    (tmp_path / "render.py").write_text(
        '"""A docstring may say anything at all."""\n'
        'import logging\nlog = logging.getLogger("factbot.x")\n'
        'ACTION = "factbot_vote_up"\n'
        'def f():\n'
        '    log.info("a log line in English is fine")\n'
        '    return "A quiet week: nobody asked anything."\n'
    )
    assert adapter_sentences(tmp_path) == ["render.py:7: 'A quiet week: nobody asked anything.'"]
