"""ruff over bot/ and tests/, mypy over bot/, with the settings in pyproject.toml: any finding fails the suite, with the findings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        pytest.fail(f"{tool} is not installed in this environment; it comes with the test extra: "
                    f"pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, check=False)


def test_ruff_finds_nothing_in_bot():
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", "bot")
    assert done.returncode == 0, f"ruff check bot:\n{done.stdout}{done.stderr}"


def test_ruff_finds_nothing_in_the_tests():
    """A test module is code too: a name defined twice hides a test, an unused import hides a missing assertion."""
    done = _run("ruff", "check", "--no-cache", "--output-format", "concise", "tests")
    assert done.returncode == 0, f"ruff check tests:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing_in_bot():
    done = _run("mypy", "bot")
    assert done.returncode == 0, f"mypy bot:\n{done.stdout}{done.stderr}"
    assert "Success: no issues found" in done.stdout, done.stdout
