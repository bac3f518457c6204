"""A claim's translations on the desk: listed, added, edited and removed through the same core path as an
import (``editing.set_translation`` → ``save_claims``), validated next to their fields, audited, and picked
up by the index so the bot answers in that language with the translated words."""

from __future__ import annotations

from test_desk import checker, csrf_of, run, sign_in

from bot.core import audit
from bot.core.chat import CONSOLE, Wording
from bot.core.models import IncomingMessage

ES = {"language": "es",
      "claim": "Claude Fable 5 te pasa en silencio a Opus 4.8 en las preguntas de ciberseguridad",
      "summary": "La ficha del sistema dice que las peticiones marcadas las atiende Opus 4.8.",
      "aliases": "fable 5 te cambia a opus 4.8 en preguntas de ciberseguridad\n"
                 "fable 5 me manda a opus 4.8 cuando pregunto de ciberseguridad"}
ASKED = "¿Fable 5 te cambia a Opus 4.8 en preguntas de ciberseguridad?"


def spanish_reply(store) -> str:
    result = checker(store).check(IncomingMessage(ASKED, platform="discord", workspace="1", channel="2"))
    assert result.best is not None and result.best.claim.id == "opus-fallback"
    return Wording().result_reply(result, CONSOLE, "es").summary


def test_add_edit_and_remove_a_translation(desk_store):
    assert "Opus 4.8 en las preguntas" not in spanish_reply(desk_store)

    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/opus-fallback/translations", data={"csrf": token, **ES}, allow_redirects=False)
        assert r.status == 302, await r.text()
        assert desk_store.get("opus-fallback").translations["es"].claim == ES["claim"]
        html = await (await client.get("/claims/opus-fallback")).text()
        assert "Added the translation into Spanish" in html and ES["claim"] in html and "current" in html
        # the bot now answers a Spanish question with the Spanish words
        assert ES["claim"] in spanish_reply(desk_store) and "peticiones marcadas" in spanish_reply(desk_store)
        entry = audit.entries(desk_store, target="claim:opus-fallback")[0]
        assert (entry.action, entry.actor, entry.via) == ("claim.translate", "eddie", "desk")
        assert "translations" in entry.changed_fields()
        assert [c[0] for c in entry.changes() if c[0].startswith("translations")] == ["translations.es"]
        page = await (await client.get("/audit?target=claim:opus-fallback")).text()
        assert "<b>translations.es</b>: <ins>" + ES["claim"] in page  # one language, as words, not a dict
        assert "es" not in (entry.before or {}).get("translations", {}) and entry.after["translations"]["es"]["claim"] == ES["claim"]

        # a second translation into the same language is refused next to the field
        r = await client.post("/claims/opus-fallback/translations", data={"csrf": token, **ES})
        assert r.status == 422 and 'id="err-tr-language"' in await r.text()

        # edit: the form is pre-filled; an emptied summary is refused and nothing changes
        form = await (await client.get("/claims/opus-fallback/translations/es")).text()
        assert ES["summary"] in form and "fable 5 me manda" in form
        r = await client.post("/claims/opus-fallback/translations/es",
                              data={"csrf": csrf_of(form), "claim": ES["claim"], "summary": " ", "aliases": ""})
        assert r.status == 422 and 'id="err-tr-summary"' in await r.text()
        assert desk_store.get("opus-fallback").translations["es"].summary == ES["summary"]
        r = await client.post("/claims/opus-fallback/translations/es", data={
            "csrf": token, "claim": ES["claim"], "summary": "Según la ficha del sistema, responde Opus 4.8.",
            "aliases": ES["aliases"]}, allow_redirects=False)
        assert r.status == 302
        assert "Según la ficha" in spanish_reply(desk_store)

        # remove: the bot shows the English again, and the audit log says who took it away
        r = await client.post("/claims/opus-fallback/translations/es/remove", data={"csrf": token},
                              allow_redirects=False)
        assert r.status == 302 and "es" not in desk_store.get("opus-fallback").translations
        assert "Según la ficha" not in spanish_reply(desk_store)
        actions = [e.action for e in audit.entries(desk_store, target="claim:opus-fallback")]
        assert actions[:3] == ["claim.translate"] * 3
        r = await client.post("/claims/opus-fallback/translations/es/remove", data={"csrf": token})
        assert r.status == 404

    run(desk_store, scenario)


def test_every_translation_error_is_shown_next_to_its_field(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/opus-fallback/translations", data={
            "csrf": token, "language": "xx-notalanguage!", "claim": "", "summary": "", "aliases": "a\nA"})
        html = await r.text()
        assert r.status == 422
        for field in ("language", "claim", "summary", "aliases"):
            assert f'id="err-tr-{field}"' in html, field
        r = await client.post("/claims/opus-fallback/translations", data={
            "csrf": token, "language": "en", "claim": "x", "summary": "y"})
        assert r.status == 422 and "own language" in await r.text()
        assert desk_store.get("opus-fallback").translations == {}

    run(desk_store, scenario)


def test_a_regional_tag_is_stored_as_its_language_and_viewers_cannot_translate(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/opus-fallback/translations",
                              data={"csrf": token, **ES, "language": "es-419"}, allow_redirects=False)
        assert r.status == 302 and list(desk_store.get("opus-fallback").translations) == ["es"]

    run(desk_store, scenario)

    async def viewer(client):
        token = await sign_in(client, "vera")
        html = await (await client.get("/claims/opus-fallback")).text()
        assert ES["claim"] in html and "Add a translation" not in html
        for path in ("/claims/opus-fallback/translations", "/claims/opus-fallback/translations/es",
                     "/claims/opus-fallback/translations/es/remove"):
            r = await client.post(path, data={"csrf": token, **ES})
            assert r.status == 403, path
        assert "es" in desk_store.get("opus-fallback").translations

    run(desk_store, viewer)


def test_hostile_text_in_a_translation_is_shown_as_text(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        await client.post("/claims/opus-fallback/translations", data={
            "csrf": token, "language": "fr", "claim": '"><img src=x onerror=alert(1)> <script>x()</script>',
            "summary": "<@123> <!channel>", "aliases": ""})
        html = await (await client.get("/claims/opus-fallback")).text()
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;" in html and "&lt;@123&gt;" in html
        assert "<img" not in html and "<script>" not in html

    run(desk_store, scenario)
