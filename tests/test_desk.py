"""The review desk's routes, through aiohttp's test client over loopback: sign-in, roles, CSRF, forms,
hostile text, and that its changes go through the same core as the command line (audit, corrections)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer
from helpers import DESK_PASSWORD

from bot.config import DeskSettings, Settings
from bot.core import audit, review
from bot.core.accounts import Accounts
from bot.core.conversations import Conversations
from bot.core.corrections import pending_corrections
from bot.core.matcher import MatchConfig
from bot.core.models import IncomingMessage
from bot.core.service import FactChecker
from bot.desk.app import CSP, LoginLimiter, create_app, new_secret

PASSWORD = DESK_PASSWORD
SETTINGS = Settings(matcher=MatchConfig(semantic="off"), desk=DeskSettings(secret_key=new_secret()))


def checker(store):
    return FactChecker(store, matcher_config=MatchConfig(semantic="off"))


def run(store, scenario, **kw):
    async def main():
        app = create_app(SETTINGS, store, checker=lambda: checker(store), **kw)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


async def sign_in(client, name="eddie", password=PASSWORD) -> str:
    page = await (await client.get("/login")).text()
    r = await client.post("/login", data={"csrf": csrf_of(page), "name": name, "password": password, "next": "/"},
                          allow_redirects=False)
    assert r.status == 302, await r.text()
    home = await client.get("/")
    assert home.status == 200
    return csrf_of(await home.text())


PAGES = ["/", "/questions", "/claims", "/claims/opus-fallback", "/feedback", "/corrections", "/digests", "/audit"]


def test_every_page_needs_a_session_and_sends_the_security_headers(desk_store):
    async def scenario(client):
        for path in PAGES + ["/users", "/claims/new"]:
            r = await client.get(path, allow_redirects=False)
            assert r.status == 302 and r.headers["Location"].startswith("/login"), path
            assert r.headers["Content-Security-Policy"] == CSP
        r = await client.post("/claims/opus-fallback", data={"verdict": "false"}, allow_redirects=False)
        assert r.status == 403  # no CSRF token, and no session either
        login = await client.get("/login")
        assert login.status == 200 and login.headers["Content-Security-Policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP

    run(desk_store, scenario)


FORMS = ["/claims/new", "/claims/opus-fallback", "/claims/opus-fallback/remove", "/claims/opus-fallback/retire",
         "/claims/opus-fallback/translations", "/claims/opus-fallback/translations/es",
         "/claims/opus-fallback/translations/es/remove", "/questions/abc/dismiss", "/feedback/review", "/account",
         "/users", "/users/vera"]


def test_every_form_needs_a_session_and_its_csrf_token(desk_store):
    async def scenario(client):
        for path in ["/retired", "/account", "/claims/opus-fallback/translations/es"]:
            r = await client.get(path, allow_redirects=False)
            assert r.status == 302 and r.headers["Location"].startswith("/login"), path
        login = await (await client.get("/login")).text()
        for path in FORMS:  # signed out, with the sign-in page's token: sign in first
            r = await client.post(path, data={"csrf": csrf_of(login)}, allow_redirects=False)
            assert r.status == 401, path
        await sign_in(client, "ada")
        for path in FORMS:  # signed in, without a token or with another's
            for data in ({}, {"csrf": "forged"}):
                r = await client.post(path, data={**data, "change": "merged", "replaced_by": "ford-inspectors",
                                                  "reason": "x", "language": "es", "claim": "x", "summary": "y"},
                                      allow_redirects=False)
                assert r.status == 403, path
        assert desk_store.get("opus-fallback") is not None and desk_store.get("opus-fallback").translations == {}

    run(desk_store, scenario)


def test_sign_in_shows_every_page_and_wrong_passwords_are_refused(desk_store):
    async def scenario(client):
        page = await (await client.get("/login")).text()
        r = await client.post("/login", data={"csrf": csrf_of(page), "name": "eddie", "password": "wrong one!!"})
        assert r.status == 401 and "Wrong name or password" in await r.text()
        r = await client.post("/login", data={"csrf": csrf_of(page), "name": "nobody", "password": PASSWORD})
        assert r.status == 401
        await sign_in(client)
        for path in PAGES:
            r = await client.get(path)
            assert r.status == 200, path
            html = await r.text()
            assert "eddie" in html and PASSWORD not in html and SETTINGS.desk.secret_key not in html
        assert (await client.get("/claims/no-such-claim")).status == 404

    run(desk_store, scenario)


def test_login_attempts_are_rate_limited(desk_store):
    limiter = LoginLimiter(attempts=3, window=600)

    async def scenario(client):
        page = await (await client.get("/login")).text()
        token = csrf_of(page)
        for _ in range(3):
            r = await client.post("/login", data={"csrf": token, "name": "eddie", "password": "nope nope nope"})
            assert r.status == 401
        r = await client.post("/login", data={"csrf": token, "name": "eddie", "password": PASSWORD})
        assert r.status == 429 and "Too many failed sign-ins" in await r.text()
        assert int(r.headers["Retry-After"]) > 0

    run(desk_store, scenario, limiter=limiter)


def test_forms_without_the_csrf_token_are_refused(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        for data in ({}, {"csrf": "forged" + token[6:]}):
            r = await client.post("/claims/opus-fallback", data={**data, "verdict": "false", "claim": "x"},
                                  allow_redirects=False)
            assert r.status == 403 and "CSRF" in await r.text()
        assert desk_store.get("opus-fallback").verdict.value == "true"

    run(desk_store, scenario)


def test_roles_viewers_read_editors_change_admins_manage_accounts(desk_store):
    async def scenario(client):
        token = await sign_in(client, "vera")
        assert (await client.get("/claims/opus-fallback")).status == 200
        r = await client.post("/claims/opus-fallback", data={"csrf": token, "verdict": "false"}, allow_redirects=False)
        assert r.status == 403
        assert (await client.get("/claims/new")).status == 403
        assert (await client.get("/users")).status == 403
        assert "Write a claim from this" not in await (await client.get("/questions")).text()
        r = await client.post("/users", data={"csrf": token, "name": "mallory", "role": "admin",
                                              "password": PASSWORD})
        assert r.status == 403 and Accounts(desk_store).get("mallory") is None

    run(desk_store, scenario)

    async def admin(client):
        token = await sign_in(client, "ada")
        r = await client.post("/users", data={"csrf": token, "name": "nina", "role": "viewer", "password": "short"})
        assert r.status == 422 and "at least 10 characters" in await r.text()
        r = await client.post("/users", data={"csrf": token, "name": "nina", "role": "viewer", "password": PASSWORD})
        assert r.status == 200 and "nina" in await r.text()
        await client.post("/users/nina", data={"csrf": token, "action": "role", "role": "editor"})
        assert Accounts(desk_store).get("nina").role == "editor"
        await client.post("/users/vera", data={"csrf": token, "action": "remove"})
        assert Accounts(desk_store).get("vera") is None

    run(desk_store, admin)


def test_a_removed_account_loses_its_session_at_once(desk_store):
    async def scenario(client):
        await sign_in(client, "vera")
        Accounts(desk_store).remove("vera", actor="test", via="cli")
        r = await client.get("/claims", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/login")

    run(desk_store, scenario)


def test_claim_form_shows_every_error_next_to_its_field(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/new", data={"csrf": token, "claim": "", "verdict": "sorta",
                                                   "summary": "", "sources": "", "id": "bad id!"})
        assert r.status == 422
        html = await r.text()
        for field in ("claim", "verdict", "summary", "id"):
            assert f'id="err-{field}"' in html, field
        assert "sorta" in html  # what was typed stays in the form
        assert desk_store.count() == 3

    run(desk_store, scenario)


HOSTILE = ['<script>alert(1)</script> vaccines contain microchips',
           '"><img src=x onerror=alert(2)> the moon landing was staged',
           '<@123456789> <!channel> @everyone the earth is flat']


def test_hostile_text_from_a_real_check_is_shown_as_text(desk_store):
    bot = checker(desk_store)
    for text in HOSTILE:
        result = bot.check(IncomingMessage(text, platform="discord", workspace="111", channel="222", user="u1"))
        assert result.decision.value == "none"
    Conversations(desk_store).suggest(platform="slack", workspace="T1", channel="C1", user="U1", query=HOSTILE[1])

    async def scenario(client):
        await sign_in(client)
        html = await (await client.get("/questions")).text()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
        assert "&lt;@123456789&gt; &lt;!channel&gt; @everyone" in html
        assert "<script>" not in html and "<img" not in html and "<@123456789>" not in html
        assert "suggested for review" in html and "discord 111/222" in html and "slack T1/C1" in html
        # the claim form pre-filled from it escapes it in the textarea too
        key = review.unanswered(desk_store)[0].key
        form = await (await client.get(f"/claims/new?from={key}")).text()
        assert "<script>" not in form and "<img" not in form

    run(desk_store, scenario)


def test_write_a_claim_from_a_question_then_change_its_verdict(desk_store):
    bot = checker(desk_store)
    for text in ("Is the tap water in Springfield poisoned?", "is the tap water in springfield poisoned",
                 "Springfield tap water poisoned?"):
        bot.check(IncomingMessage(text, platform="discord", workspace="1", channel="2"))
    groups = review.unanswered(desk_store)
    assert len(groups) == 1 and groups[0].asked == 3  # one question, three ways of asking it

    async def scenario(client):
        token = await sign_in(client)
        key = groups[0].key
        form = await (await client.get(f"/claims/new?from={key}")).text()
        assert "is the tap water in springfield poisoned" in form.lower()
        r = await client.post("/claims/new", data={
            "csrf": token, "from": key, "id": "springfield-water", "claim": "Springfield's tap water is poisoned",
            "verdict": "false", "summary": "The city's tests show the water is safe.",
            "sources": "https://example.org/springfield-water-report", "aliases": "springfield tap water poisoned",
            "language": "en"}, allow_redirects=False)
        assert r.status == 302 and r.headers["Location"] == "/claims/springfield-water"
        assert review.unanswered(desk_store) == []
        # the bot now answers the question with the new claim, and says so publicly
        result = bot.check("Is the tap water in Springfield poisoned?")
        assert result.best and result.best.claim.id == "springfield-water"
        Conversations(desk_store).record_reply(platform="discord", workspace="1", channel="2", message_id="900",
                                               thread_id="899", requester="u", result=result, source="mention")
        page = await (await client.get("/claims/springfield-water")).text()
        r = await client.post("/claims/springfield-water", data={
            "csrf": csrf_of(page), "claim": "Springfield's tap water is poisoned", "verdict": "true",
            "summary": "A new report found lead.", "sources": "https://example.org/springfield-water-report",
            "aliases": "springfield tap water poisoned", "language": "en"})
        html = await r.text()
        assert "1 earlier reply will get a correction" in html
        due = pending_corrections(desk_store, now=dt.datetime.now(dt.UTC))
        assert [c.claim.id for c in due] == ["springfield-water"] and due[0].old_verdict.value == "false"
        assert "springfield-water" in await (await client.get("/corrections")).text()
        log = audit.entries(desk_store, target="claim:springfield-water")
        assert [(e.action, e.actor, e.via) for e in log] == [("claim.edit", "eddie", "desk"), ("claim.add", "eddie", "desk")]
        assert log[0].before["verdict"] == "false" and log[0].after["verdict"] == "true"
        audit_page = await (await client.get("/audit")).text()
        assert "question.answer" in audit_page and "claim.edit" in audit_page

    run(desk_store, scenario)


def test_a_claim_written_from_a_question_starts_in_the_language_it_was_asked_in(desk_store):
    checker(desk_store).check(IncomingMessage("¿El agua del grifo de Springfield está envenenada?", platform="discord"))
    group = review.unanswered(desk_store)[0]
    assert group.language == "es"

    async def scenario(client):
        await sign_in(client)
        assert "Spanish" in await (await client.get("/questions")).text()
        form = await (await client.get(f"/claims/new?from={group.key}")).text()
        assert 'name="language" value="es"' in form

    run(desk_store, scenario)


def test_dismiss_needs_a_reason_and_takes_the_question_off_the_queue(desk_store):
    checker(desk_store).check(IncomingMessage("what is the weather like", platform="discord"))
    key = review.unanswered(desk_store)[0].key

    async def scenario(client):
        token = await sign_in(client)
        r = await client.post(f"/questions/{key}/dismiss", data={"csrf": token, "reason": " "})
        assert "Say why" in await r.text() and review.unanswered(desk_store)
        r = await client.post(f"/questions/{key}/dismiss", data={"csrf": token, "reason": "not a factual claim"})
        assert r.status == 200 and review.unanswered(desk_store) == []
        entry = audit.entries(desk_store, action_prefix="question.")[0]
        assert entry.after == {"dismissed": True, "reason": "not a factual claim"} and entry.actor == "eddie"

    run(desk_store, scenario)


def test_feedback_is_listed_with_a_link_and_can_be_marked_reviewed(desk_store):
    conv = Conversations(desk_store)
    conv.record_reply(platform="discord", workspace="111", channel="222", message_id="333", thread_id="330",
                      requester="u", result=None, claim_id="opus-fallback", verdict="true", decision="match",
                      source="mention")
    conv.vote(platform="discord", reply_message_id="333", user="u9", vote=-1, claim_id="opus-fallback",
              workspace="111", channel="222")

    async def scenario(client):
        token = await sign_in(client)
        html = await (await client.get("/feedback")).text()
        assert "https://discord.com/channels/111/222/330" in html and "Claude Fable 5 silently" in html
        await client.post("/feedback/review", data={"csrf": token, "platform": "discord", "message": "333",
                                                    "voter": "u9"})
        assert review.feedback(desk_store) == [] and len(review.feedback(desk_store, reviewed=True)) == 1

    run(desk_store, scenario)


def test_feedback_shows_the_message_the_bot_answered(desk_store):
    asked = 'does fable 5 downgrade you to opus 4.8 on cyber questions "><img src=x onerror=alert(1)>'
    result = checker(desk_store).check(IncomingMessage(asked, platform="slack", workspace="T1", channel="C1"))
    assert result.best and result.best.claim.id == "opus-fallback"
    conv = Conversations(desk_store)
    conv.record_reply(platform="slack", workspace="T1", channel="C1", message_id="1700000000.0001",
                      thread_id="1699999999.0001", requester="U1", result=result, source="mention")
    conv.vote(platform="slack", reply_message_id="1700000000.0001", user="U2", vote=-1, claim_id="opus-fallback",
              workspace="T1", channel="C1")

    async def scenario(client):
        await sign_in(client)
        html = await (await client.get("/feedback")).text()
        assert "does fable 5 downgrade you to opus 4.8 on cyber questions &#34;&gt;&lt;img" in html
        assert "<img" not in html and "slack T1/C1" in html

    run(desk_store, scenario)


def test_claims_search_and_filters(desk_store):
    async def scenario(client):
        await sign_in(client)
        html = await (await client.get("/claims?q=alibaba+guardrails")).text()
        assert "alibaba-stole-guardrails" in html
        html = await (await client.get("/claims?verdict=true")).text()
        assert "opus-fallback" in html and "ford-inspectors" not in html

    run(desk_store, scenario)


def test_cli_and_import_changes_are_audited_as_such(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import cli
    from bot.core.store import Store

    db = tmp_path / "f.db"
    runner = CliRunner()
    r = runner.invoke(cli, ["--db", str(db), "claims", "add", "--id", "opus-fallback", "--claim", "Fable falls back to Opus",
                            "--verdict", "true", "--summary", "The system card says so.", "--source", "https://example.org/c"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["--db", str(db), "claims", "edit", "opus-fallback", "--verdict", "false"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(cli, ["--db", str(db), "claims", "remove", "opus-fallback", "--yes"]).exit_code == 0
    (tmp_path / "c.yaml").write_text("- id: new-one\n  claim: A new claim people make\n  verdict: false\n"
                                     "  summary: Why it is false.\n  sources: [{url: 'https://example.org/x'}]\n")
    r = runner.invoke(cli, ["--db", str(db), "claims", "import", str(tmp_path / "c.yaml")])
    assert r.exit_code == 0, r.output
    with Store(db) as s:
        vias = {(e.target, e.via, e.action) for e in audit.entries(s)}
    assert {("claim:opus-fallback", "cli", a) for a in ("claim.add", "claim.edit", "claim.remove")} <= vias
    assert ("claim:new-one", "import", "claim.add") in vias


def test_user_cli(tmp_path):
    from click.testing import CliRunner

    from bot.cli import cli

    db = ["--db", str(tmp_path / "f.db")]
    runner = CliRunner()
    r = runner.invoke(cli, [*db, "desk", "user", "add", "ann", "--role", "admin", "--password-stdin"], input="short\n")
    assert r.exit_code == 3 and "at least 10 characters" in r.output
    r = runner.invoke(cli, [*db, "desk", "user", "add", "ann", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert r.exit_code == 0
    r = runner.invoke(cli, [*db, "desk", "user", "list"])
    assert "ann" in r.output and "admin" in r.output and PASSWORD not in r.output
    assert runner.invoke(cli, [*db, "desk", "user", "passwd", "bob", "--password-stdin"], input=PASSWORD).exit_code == 1
    assert runner.invoke(cli, [*db, "desk", "user", "remove", "ann"]).exit_code == 0
    assert runner.invoke(cli, [*db, "desk", "user", "remove", "ann"]).exit_code == 1


def test_a_bad_secret_key_is_one_clear_error():
    with pytest.raises(ValueError, match="32 bytes"):
        create_app(dataclasses.replace(SETTINGS, desk=DeskSettings(secret_key="too-short")), None)


def test_a_session_ends_after_session_minutes_whatever_the_cookie_says(desk_store, monkeypatch):
    import time as real_time

    import bot.desk.app as desk_app

    offset = [0.0]

    class Clock:
        @staticmethod
        def time():
            return real_time.time() + offset[0]

        monotonic = staticmethod(real_time.monotonic)

    monkeypatch.setattr(desk_app, "time", Clock)

    async def scenario(client):
        await sign_in(client)
        offset[0] = SETTINGS.desk.session_minutes * 60 + 1
        r = await client.get("/claims", allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/login")

    run(desk_store, scenario)


def test_the_session_key_is_a_redacted_secret():
    from bot.config import load_settings

    key = new_secret()
    settings = load_settings(env={"FACTBOT_DESK_SECRET_KEY": key, "FACTBOT_DESK_PORT": "9099"})
    assert settings.desk.port == 9099 and key in settings.secrets()
    assert settings.redacted()["desk_secret_key"] == "(set)" and key not in repr(settings.redacted())
