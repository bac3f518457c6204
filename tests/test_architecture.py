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
