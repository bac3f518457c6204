"""The desk's own words in seven languages: complete catalogs (domain ``desk``), the reader's language from the
account's setting or Accept-Language, English otherwise, and still no markup from chat in any of them."""

from __future__ import annotations

import gettext

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from test_desk import checker, csrf_of, run, sign_in
from test_i18n import LOCALE, PLURAL_FORMS, ROOT, markup, placeholders

from bot.core import i18n
from bot.core.accounts import Accounts
from bot.desk import i18n as desk_i18n
from bot.desk.i18n import DeskTranslator, accepted, choose

LANGS = sorted(PLURAL_FORMS)
# Words that some languages write as English does (the product's name; fr "Message", de "Name", pt "Feedback").
SAME_IN_SOME_LANGUAGES = {"factbot desk", "Name", "editor", "Corrections", "Message", "Verdict", "active", "Feedback"}


def extracted() -> dict[str, tuple[str, ...]]:
    """Every message of the desk, as `pybabel extract -F bot/desk/babel.cfg -k L_ -k nL_:1,2` finds them."""
    found: dict[str, tuple[str, ...]] = {}
    method_map = [("bot/desk/**.py", "python"), ("bot/desk/templates/**.html", "jinja2")]
    options = {"bot/desk/templates/**.html": {"trimmed": "true"}}
    for _f, _l, message, _c, _ctx in extract_from_dir(str(ROOT), method_map=method_map, options_map=options,
                                                      keywords={**DEFAULT_KEYWORDS, **desk_i18n.KEYWORDS}):
        ids = message if isinstance(message, tuple) else (message,)
        found[ids[0]] = ids
    return found


def load(lang: str):
    with (LOCALE / lang / "LC_MESSAGES" / "desk.po").open("rb") as fh:
        return read_po(fh)


def test_the_desk_template_is_current_and_every_language_has_a_catalog():
    with (LOCALE / "desk.pot").open("rb") as fh:
        pot = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(fh) if m.id}
    found = extracted()
    assert len(found) > 150 and "Write a claim from this" in found and "Wrong name or password." in found
    assert pot == set(found), "run the desk's pybabel extract of docs/localisation.md"
    assert sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/desk.po")) == LANGS
    assert sorted(t.replace("-", "_") for t in i18n.LANGUAGES) == LANGS


@pytest.mark.parametrize("lang", LANGS)
def test_desk_catalog_has_every_message_with_its_placeholders(lang):
    catalog = load(lang)
    assert catalog.plural_forms == PLURAL_FORMS[lang]
    messages = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog if m.id}
    problems = []
    for key, ids in extracted().items():
        m = messages.get(key)
        if m is None:
            problems.append(f"missing: {key}")
            continue
        if m.fuzzy:
            problems.append(f"fuzzy: {key}")
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if len(ids) > 1 and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms, {catalog.num_plurals} expected: {key}")
        if lang == "en":
            strings = tuple(s or ids[min(i, len(ids) - 1)] for i, s in enumerate(strings))
        elif all(s == ids[0] for s in strings) and key not in SAME_IN_SOME_LANGUAGES:
            problems.append(f"left in English: {key}")
        for i, s in enumerate(strings):
            english = ids[min(i, len(ids) - 1)]
            if not s:
                problems.append(f"untranslated: {key}")
            elif len(ids) == 1 and placeholders(s) != placeholders(english):
                problems.append(f"placeholders {placeholders(s)} != {placeholders(english)}: {key}")
            elif markup(s) != markup(english) or s.count("<code>") != english.count("<code>"):
                problems.append(f"markup differs from the English in {s!r}: {key}")
        if len(ids) > 1 and set(placeholders(strings[-1])) != set(placeholders(ids[1])):
            problems.append(f"the last plural form must show {placeholders(ids[1])}: {key}")
    for m, errors in catalog.check():
        problems += [f"{m.id!r}: {e}" for e in errors]
    assert problems == []


def test_accept_language_and_the_account_setting_choose_the_language():
    assert accepted("de-DE,de;q=0.9,en;q=0.8") == ["de-DE", "de", "en"]
    assert accepted("en;q=0.1, ja;q=0.7, *;q=0.5, fr;q=0") == ["ja", "en"]
    assert choose("", "ko-KR, pt-BR;q=0.8, en;q=0.5") == "pt"  # Korean is passed over for the next
    assert choose("", "zh-CN") == "zh-Hans" and choose("", "zh-TW") == "en"
    assert choose("fr", "de-DE") == "fr"  # the account's setting wins over the browser
    assert choose("", "") == "en" and choose("", "tlh;q=1, garbage;;q=x") == "en"


def test_a_translation_that_breaks_a_placeholder_shows_the_english(monkeypatch, caplog):
    class Broken(gettext.NullTranslations):
        def gettext(self, message):
            return {"Added %(id)s.": "%(idx)s hinzugefügt."}.get(message, message)

    t = DeskTranslator("en")
    monkeypatch.setattr(t, "_t", Broken())
    assert t.render(desk_i18n.L_("Added %(id)s.", id="x")) == "Added x."
    assert "lost a placeholder" in caplog.text


GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
PAGES = ["/", "/questions", "/claims", "/claims/opus-fallback", "/claims/new", "/feedback", "/corrections",
         "/digests", "/audit", "/retired", "/account"]


@pytest.mark.parametrize("lang, word", [("de", "Übersicht"), ("es", "Resumen general"), ("fr", "Récapitulatifs"),
                                        ("pt", "Visão geral"), ("ja", "概要"), ("zh-Hans", "概览")])
def test_every_page_speaks_the_browsers_language(desk_store, lang, word):
    async def scenario(client):
        headers = {"Accept-Language": lang}
        login = await (await client.get("/login", headers=headers)).text()
        assert f'<html lang="{lang}">' in login
        r = await client.post("/login", headers=headers, data={"csrf": csrf_of(login), "name": "eddie",
                                                               "password": "wrong wrong wrong"})
        assert "Wrong name or password" not in await r.text()
        await sign_in(client)
        for path in PAGES:
            r = await client.get(path, headers=headers)
            html = await r.text()
            assert r.status == 200 and r.headers["Content-Language"] == lang, path
            assert word in html and ">Overview<" not in html and "Sign out" not in html, path

    run(desk_store, scenario)


def test_the_account_setting_overrides_the_browser_and_is_audited(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/account", headers=GERMAN, data={"csrf": token, "language": "ja"})
        html = await r.text()
        assert '<html lang="ja">' in html and "日本語" in html and "保存しました" in html
        assert Accounts(desk_store).language("eddie") == "ja"
        assert '<html lang="ja">' in await (await client.get("/claims", headers=GERMAN)).text()
        r = await client.post("/account", data={"csrf": token, "language": "tlh"})
        assert r.status == 400
        await client.post("/account", headers=GERMAN, data={"csrf": token, "language": ""})
        assert '<html lang="de">' in await (await client.get("/claims", headers=GERMAN)).text()

    run(desk_store, scenario)
    from bot.core import audit

    assert [e.after for e in audit.entries(desk_store, action_prefix="user.language")] == [
        {"language": ""}, {"language": "ja"}]
    Accounts(desk_store).remove("eddie", actor="test", via="cli")
    assert desk_store.get_meta("desk.language:eddie") is None


def test_verdicts_and_messages_are_translated_and_chat_text_stays_text(desk_store):
    hostile = '<script>alert(1)</script> "><img src=x onerror=alert(2)> ¿el agua está envenenada?'
    checker(desk_store).check(hostile)
    from bot.core import review

    key = review.unanswered(desk_store)[0].key

    async def scenario(client):
        token = await sign_in(client)
        spanish = {"Accept-Language": "es"}
        html = await (await client.get("/claims?verdict=true", headers=spanish)).text()
        assert "Verdadero" in html  # the bot's own verdict labels, from its catalog
        r = await client.post(f"/questions/{key}/dismiss", headers=spanish,
                              data={"csrf": token, "reason": "no es una afirmación"})
        html = await r.text()
        assert "Descartada: &lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img" in html
        assert "<script>" not in html and "<img" not in html
        r = await client.post("/claims/opus-fallback", headers=spanish, data={"claim": "x"})
        assert r.status == 403 and "token CSRF" in await r.text()

    run(desk_store, scenario)
