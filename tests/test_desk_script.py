"""The desk's little script (bot/desk/static/desk.js): vendored, served from the desk itself under the strict
CSP, never inline; the forms it sends in the background (Dismiss, Mark reviewed) get JSON, the same forms
without it a redirect, so every page still works with scripts off."""

from __future__ import annotations

import re

from test_desk import PAGES, checker, run, sign_in

from bot.core import review
from bot.core.conversations import Conversations
from bot.core.models import IncomingMessage
from bot.desk.app import CSP

JSON = {"Accept": "application/json"}


def test_the_script_is_served_by_the_desk_and_no_page_has_inline_script(desk_store):
    async def scenario(client):
        r = await client.get("/static/desk.js")
        body = await r.text()
        assert r.status == 200 and "javascript" in r.headers["Content-Type"]
        assert "data-desk-inplace" in body and "http" not in body.replace("https://", "")  # nothing fetched from afar
        await sign_in(client)
        for path in PAGES + ["/retired", "/account"]:
            r = await client.get(path)
            html = await r.text()
            assert r.headers["Content-Security-Policy"] == CSP and "'unsafe-inline'" not in CSP
            scripts = re.findall(r"<script\b[^>]*>", html)
            assert scripts == ['<script src="/static/desk.js" defer>'], path
            assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
            assert not re.search(r"<script[^>]*>[^<]+</script>", html), path

    run(desk_store, scenario)


def test_dismiss_and_mark_reviewed_answer_json_to_the_script(desk_store):
    checker(desk_store).check(IncomingMessage("what is the weather like <b>today</b>", platform="discord"))
    key = review.unanswered(desk_store)[0].key
    conv = Conversations(desk_store)
    conv.record_reply(platform="discord", workspace="1", channel="2", message_id="333", thread_id="330",
                      requester="u", result=None, claim_id="opus-fallback", verdict="true", decision="match",
                      source="mention")
    conv.vote(platform="discord", reply_message_id="333", user="u9", vote=-1, claim_id="opus-fallback",
              workspace="1", channel="2")

    async def scenario(client):
        token = await sign_in(client)
        r = await client.post(f"/questions/{key}/dismiss", headers=JSON, data={"csrf": token, "reason": ""})
        assert r.status == 422 and "Say why" in (await r.json())["error"]
        r = await client.post(f"/questions/{key}/dismiss", headers={**JSON, "Accept-Language": "de"},
                              data={"csrf": token, "reason": "not a claim"}, allow_redirects=False)
        assert r.status == 200 and (await r.json()) == {"message": "Verworfen: what is the weather like <b>today</b>"}
        assert review.unanswered(desk_store) == []  # JSON carries the text; desk.js shows it with textContent
        r = await client.post("/feedback/review", headers=JSON, data={"csrf": token, "platform": "discord",
                                                                     "message": "333", "voter": "u9"})
        assert (await r.json()) == {"message": "Marked as reviewed."} and review.feedback(desk_store) == []
        # the script never gets past CSRF or roles either
        r = await client.post("/feedback/review", headers=JSON, data={"platform": "discord", "message": "333"})
        assert r.status == 403

    run(desk_store, scenario)
