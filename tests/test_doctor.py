"""factbot doctor: database and index checks, tokens verified against the platforms' auth endpoints (local fakes)."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_settings
from bot.doctor import check_tokens


class AuthFake(BaseHTTPRequestHandler):
    good = {"Bearer xoxb-good-token-123", "Bot good.discord.token"}
    seen: list = []

    def _answer(self):
        auth = self.headers.get("Authorization", "")
        AuthFake.seen.append((self.path, auth))
        if self.path.endswith("/auth.test"):
            body = {"ok": True, "team": "Acme", "user": "factbot"} if auth in self.good else {"ok": False, "error": "invalid_auth"}
            status = 200
        else:
            status, body = (200, {"username": "factbot"}) if auth in self.good else (401, {"message": "401: Unauthorized"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AuthFake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_tokens_checked_against_auth_endpoints(fake):
    env = {"SLACK_BOT_TOKEN": "xoxb-good-token-123", "SLACK_API_URL": fake + "/api/", "DISCORD_TOKEN": "good.discord.token",
           "DISCORD_API_BASE": fake + "/api/v10"}
    lines = [f.line() for f in check_tokens(load_settings(env=env))]
    assert lines == ["✅ slack token: valid for team Acme as factbot", "✅ discord token: valid for bot factbot"]
    bad = {**env, "SLACK_BOT_TOKEN": "xoxb-bad-token-456", "DISCORD_TOKEN": "bad.token"}
    lines = [f.line() for f in check_tokens(load_settings(env=bad))]
    assert lines == ["❌ slack token: rejected by Slack: invalid_auth", "❌ discord token: rejected by Discord (HTTP 401)"]
    assert all("xoxb" not in line and "bad.token" not in line for line in lines)


def test_unreachable_platform_is_not_a_failure():
    env = {"SLACK_BOT_TOKEN": "xoxb-x-123456", "SLACK_API_URL": "http://127.0.0.1:1/api/"}
    [slack, discord] = check_tokens(load_settings(env=env), timeout=1)
    assert slack.ok is None and "could not reach Slack" in slack.message
    assert discord.ok is None and "not configured" in discord.message


def test_doctor_command(tmp_path, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    db = str(tmp_path / "f.db")
    runner = CliRunner()
    runner.invoke(cli, ["--db", db, "digest", "subscribe", "--platform", "slack", "--channel", "C1", "--day", "mon",
                        "--time", "09:00", "--timezone", "UTC"])
    result = runner.invoke(cli, ["--db", db, "doctor", "--offline"])
    assert result.exit_code == 0, result.stdout
    assert "✅ full-text index: in sync with the claims table" in result.stdout
    claims = re.search(r"✅ claims: (\d+) in the database", result.stdout).group(1)
    assert f"✅ search index: {claims} documents, synced" in result.stdout
    assert "every Monday at 09:00 (UTC)" in result.stdout


def test_doctor_names_acknowledged_events_no_running_instance_is_answering(tmp_path):
    import datetime as dt

    from bot.core.inbox import EventInbox
    from bot.core.service import open_store

    db = tmp_path / "f.db"
    store, _ = open_store(db)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    EventInbox(store, owner="gone", clock=lambda: long_ago).keep("slack", "Ev1", "{}")  # its instance died
    EventInbox(store, owner="alive").keep("slack", "Ev2", "{}")
    store.close()
    result = CliRunner().invoke(cli, ["--db", str(db), "doctor", "--offline"])
    assert ("❌ events: 2 acknowledged and not answered yet, 1 of them held by no running instance: a running "
            "factbot run slack answers them") in result.stdout
    assert result.exit_code != 0
