"""The review desk in a real browser: Debian's Chromium driven by Playwright, against the desk on loopback.

An editor signs in, works an unanswered question into a claim, changes its verdict, and sees the pending
correction and the audit entry. Skips, saying why, when Playwright or a system Chromium is missing
(``.ci/run`` installs Debian's ``chromium``); no browser is ever downloaded. With
``FACTBOT_DESK_SCREENSHOTS=DIR`` the pages are saved there as PNG (docs/desk.md shows them).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from conftest import SAMPLE
from test_desk import PASSWORD, SETTINGS, checker

from bot.core.accounts import Accounts
from bot.core.chat import CONSOLE, Wording
from bot.core.conversations import Conversations
from bot.core.models import IncomingMessage, claim_from_dict

CHROMIUM = next((p for p in (os.environ.get("FACTBOT_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p), None)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the test extra has it)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium: install Debian's chromium package "
                                                        "(apt-get install chromium) to run the browser tests")


desk_bot: list = []  # the FactChecker the desk under test searches with (the bot's own index)


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])


def sign_in(page, desk_url: str, name: str = "eddie") -> None:
    page.goto(desk_url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(desk_url + "/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def desk_url(tmp_path):
    from aiohttp import web

    from bot.core.store import Store
    from bot.desk.app import create_app

    store = Store(tmp_path / "desk.db")
    store.upsert_claims([claim_from_dict(d) for d in SAMPLE])
    Accounts(store).add("eddie", "editor", PASSWORD, actor="test", via="cli")
    bot = checker(store)
    for text in ("Is the tap water in Springfield poisoned?", "is the tap water in springfield poisoned",
                 "Springfield tap water poisoned?", '<script>alert(1)</script> 5G towers spread the flu'):
        bot.check(IncomingMessage(text, platform="discord", workspace="111", channel="222"))
    opus = bot.check(IncomingMessage("does fable 5 downgrade you to opus 4.8 on cyber questions", platform="discord",
                                     workspace="111", channel="222"))
    assert opus.best and opus.best.claim.id == "opus-fallback"
    Conversations(store).record_reply(platform="discord", workspace="111", channel="222", message_id="900",
                                      thread_id="899", requester="u1", result=opus, source="mention")
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(create_app(SETTINGS, store, checker=lambda: bot))
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        runner_box.append(runner)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    desk_bot.append(bot)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    store.close()


def test_an_editor_works_a_question_into_a_claim_and_corrects_a_verdict(desk_url, tmp_path):
    shots = Path(os.environ.get("FACTBOT_DESK_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))

        page.goto(desk_url + "/questions")
        assert page.url.startswith(desk_url + "/login")
        page.screenshot(path=str(shots / "login.png"))
        page.fill("input[name=name]", "eddie")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(desk_url + "/questions")

        # the queue: the three wordings are one question, the hostile one is shown as text
        questions = page.locator("li.question")
        assert questions.count() == 2
        first = questions.first
        assert "3×" in first.inner_text() and "springfield" in first.inner_text().lower()
        assert "<script>alert(1)</script>" in questions.nth(1).locator(".qtext").inner_text()
        page.screenshot(path=str(shots / "questions.png"), full_page=True)

        first.get_by_text("Write a claim from this").click()
        page.wait_for_url("**/claims/new?from=*")
        assert "springfield" in page.input_value("textarea[name=claim]").lower()
        page.fill("input[name=id]", "springfield-water")
        page.fill("textarea[name=claim]", "Springfield's tap water is poisoned")
        page.select_option("select[name=verdict]", "false")
        page.click("button:has-text('Save claim')")
        # the form says what is missing, next to the field
        assert page.locator("#err-summary").is_visible() and page.locator("#err-sources").is_visible()
        page.screenshot(path=str(shots / "claim-form-errors.png"), full_page=True)
        page.fill("textarea[name=summary]", "The city's weekly tests show the water is safe to drink.")
        page.fill("textarea[name=sources]", "https://example.org/springfield-water-report")
        page.click("button:has-text('Save claim')")
        page.wait_for_url(desk_url + "/claims/springfield-water")
        assert "Added springfield-water" in page.inner_text(".flash")

        page.goto(desk_url + "/questions")
        assert page.locator("li.question").count() == 1  # the answered question left the queue

        # change a verdict: the reply that showed the old one is due a correction
        page.goto(desk_url + "/claims/opus-fallback")
        page.select_option("select[name=verdict]", "false")
        page.click("button:has-text('Save changes')")
        page.wait_for_url(desk_url + "/claims/opus-fallback")
        assert "1 earlier reply will get a correction" in page.inner_text("main")
        page.goto(desk_url + "/corrections")
        pending = page.locator("table.pending tbody tr")
        assert pending.count() == 1 and "Claude Fable 5" in pending.first.inner_text()
        page.screenshot(path=str(shots / "corrections.png"), full_page=True)

        page.goto(desk_url + "/audit")
        rows = page.locator("tr.entry")
        top = rows.first.inner_text()
        assert "eddie" in top and "claim.edit" in top and "claim:opus-fallback" in top and "desk" in top
        assert "verdict" in top and "true" in top and "false" in top
        page.screenshot(path=str(shots / "audit.png"), full_page=True)

        page.goto(desk_url + "/")
        assert page.locator("svg.chart rect").count() > 0
        page.screenshot(path=str(shots / "overview.png"), full_page=True)
        # no script ran from chat text (no dialog), and the CSP refused nothing the desk itself needs
        assert [e for e in errors if "dialog" in e or "Content Security Policy" in e or "Refused" in e] == []
        browser.close()


ES_CLAIM = "Claude Fable 5 te pasa en silencio a Opus 4.8 en las preguntas de ciberseguridad"
ES_SUMMARY = "La ficha del sistema dice que las peticiones marcadas las atiende Opus 4.8."


def test_an_editor_translates_a_claim_and_the_bot_answers_in_that_language(desk_url, tmp_path):
    shots = Path(os.environ.get("FACTBOT_DESK_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    asked = "¿Fable 5 te cambia a Opus 4.8 en preguntas de ciberseguridad?"
    bot = desk_bot[-1]
    before = Wording().result_reply(bot.check(IncomingMessage(asked, platform="discord")), CONSOLE, "es").summary
    assert ES_CLAIM not in before
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(locale="es-ES", viewport={"width": 1200, "height": 900}).new_page()
        sign_in(page, desk_url)
        assert page.locator("html").get_attribute("lang") == "es" and "Resumen general" in page.inner_text("nav")
        page.goto(desk_url + "/claims/opus-fallback")
        page.click("summary:has-text('Añadir una traducción')")
        form = page.locator("form[action$='/translations']")
        form.locator("input[name=language]").fill("es")
        form.locator("textarea[name=claim]").fill(ES_CLAIM)
        form.locator("button[type=submit]").click()
        # what is missing is said next to its field, in Spanish around the core's words
        assert page.locator("#err-tr-summary").is_visible()
        assert "Corrige el campo marcado abajo." in page.inner_text("main")
        form = page.locator("form[action$='/translations']")
        form.locator("textarea[name=summary]").fill(ES_SUMMARY)
        form.locator("textarea[name=aliases]").fill("fable 5 te cambia a opus 4.8 en preguntas de ciberseguridad")
        form.locator("button[type=submit]").click()
        page.wait_for_url(desk_url + "/claims/opus-fallback#translations")
        assert "Traducción añadida: español." in page.inner_text(".flash")
        row = page.locator("tr.translation[data-lang=es]")
        assert ES_CLAIM in row.inner_text() and "al día" in row.inner_text()
        page.screenshot(path=str(shots / "translations.png"), full_page=True)
        browser.close()
    # the bot, searching the same index, now answers the Spanish question with the Spanish words
    result = bot.check(IncomingMessage(asked, platform="discord"))
    reply = Wording().result_reply(result, CONSOLE, "es").summary
    assert result.best.claim.id == "opus-fallback" and ES_CLAIM in reply and ES_SUMMARY in reply


def test_dismiss_works_in_place_with_the_script_and_by_reload_without_it(desk_url):
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        for scripts in (True, False):
            context = browser.new_context(java_script_enabled=scripts)
            page = context.new_page()
            blocked: list[str] = []
            page.on("console", lambda m, seen=blocked: seen.append(m.text) if "Content Security Policy" in m.text else None)
            sign_in(page, desk_url)
            page.goto(desk_url + "/questions")
            before = page.locator("li.question").count()
            if scripts:
                page.evaluate("window.deskMarker = 1")
            item = page.locator("li.question").first
            item.locator("input[name=reason]").fill("not a factual claim")
            item.locator("button:has-text('Dismiss')").click()
            page.wait_for_function("n => document.querySelectorAll('li.question').length === n", arg=before - 1) \
                if scripts else page.wait_for_url(desk_url + "/questions")
            assert "Dismissed" in page.inner_text("#flashes")
            assert page.locator("li.question").count() == before - 1
            if scripts:
                assert page.evaluate("window.deskMarker") == 1  # the same page: no reload
            assert blocked == []
            context.close()
        browser.close()
