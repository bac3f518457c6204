"""Retiring a claim from the desk does what ``knowledge/retired/`` does: the id leads to the claims that stand
for it, replies that showed it are corrected (and the digest says so), imports under the old id update its
successor, and the desk lists retired claims with their redirect."""

from __future__ import annotations

import datetime as dt

from test_desk import checker, run, sign_in

from bot.core import audit
from bot.core.chat import Wording
from bot.core.conversations import Conversations
from bot.core.corrections import pending_corrections
from bot.core.digest import build_digest
from bot.core.editing import Actor, retire_claim
from bot.core.models import ClaimError, claim_from_dict

NOW = dt.datetime.now(dt.UTC)


def reply_about(store, claim_id: str, message_id: str = "900") -> None:
    claim = store.get(claim_id)
    Conversations(store).record_reply(platform="discord", workspace="1", channel="2", message_id=message_id,
                                      thread_id="899", requester="u", result=None, claim_id=claim_id,
                                      verdict=claim.verdict.value, decision="match", source="mention")


def add_successor(store, verdict: str = "false") -> None:
    store.upsert_claims([claim_from_dict({
        "id": "opus-fallback-cyber", "claim": "Fable 5 hands flagged cyber requests to Opus 4.8 and tells no one",
        "verdict": verdict, "summary": "The system card says users are told.", "sources": ["https://example.org/card"]})])


def test_retire_from_the_desk_redirects_and_queues_the_correction(desk_store):
    add_successor(desk_store)
    reply_about(desk_store, "opus-fallback")

    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/opus-fallback/retire", data={
            "csrf": token, "change": "renamed", "replaced_by": "opus-fallback-cyber",
            "reason": "reworded after the system card update"})
        html = await r.text()
        assert r.status == 200 and "Retired opus-fallback" in html and "1 earlier reply will get a correction" in html
        assert "retired" in html and "opus-fallback-cyber" in html  # the retired id's page
        assert desk_store.get("opus-fallback") is None
        redirect = desk_store.redirect("opus-fallback")
        assert redirect.replaced_by == ("opus-fallback-cyber",) and redirect.verdict.value == "true"

        # the correction is queued as for a verdict change, and the channel's digest carries it
        due = pending_corrections(desk_store, now=NOW)
        assert [(c.reply_id, c.redirect.id, c.claim.id) for c in due] == [(due[0].reply_id, "opus-fallback",
                                                                             "opus-fallback-cyber")]
        assert "it is now checked as" in due[0].text()
        digest = build_digest(desk_store, platform="discord", workspace="1", channel="2",
                              since=NOW - dt.timedelta(days=7), now=NOW + dt.timedelta(seconds=1))
        assert [c.redirect.id for c in digest.corrections] == ["opus-fallback"]
        assert "opus-fallback" in await (await client.get("/corrections")).text()

        # /claim id: shows the claim that stands for it now, and says so
        lookup = checker(desk_store).lookup("opus-fallback")
        assert lookup.claim.id == "opus-fallback-cyber" and lookup.notice
        # the retired claims page, and the audit entry with before and after
        listing = await (await client.get("/retired")).text()
        assert "opus-fallback" in listing and "opus-fallback-cyber" in listing and "renamed" in listing
        entry = audit.entries(desk_store, target="claim:opus-fallback")[0]
        assert (entry.action, entry.actor, entry.via) == ("claim.retire", "eddie", "desk")
        assert entry.before["verdict"] == "true" and entry.after["replaced_by"] == ["opus-fallback-cyber"]
        successor = await (await client.get("/claims/opus-fallback-cyber")).text()
        assert "Stands for the retired ids" in successor

    run(desk_store, scenario)


def test_every_retire_error_is_shown_next_to_its_field(desk_store):
    async def scenario(client):
        token = await sign_in(client)
        r = await client.post("/claims/opus-fallback/retire", data={
            "csrf": token, "change": "vanished", "replaced_by": "opus-fallback\nno-such-claim", "reason": ""})
        html = await r.text()
        assert r.status == 422
        for field in ("change", "replaced_by", "reason"):
            assert f'id="err-retire-{field}"' in html, field
        assert "no-such-claim" in html and "is this claim" in html
        r = await client.post("/claims/opus-fallback/retire", data={
            "csrf": token, "change": "split", "replaced_by": "ford-inspectors", "reason": "two claims in one"})
        assert r.status == 422 and "at least two claims" in await r.text()
        assert desk_store.get("opus-fallback") is not None and desk_store.redirect("opus-fallback") is None

    run(desk_store, scenario)


def test_viewers_cannot_retire(desk_store):
    async def scenario(client):
        token = await sign_in(client, "vera")
        assert "Retire this claim" not in await (await client.get("/claims/opus-fallback")).text()
        r = await client.post("/claims/opus-fallback/retire", data={
            "csrf": token, "change": "merged", "replaced_by": "ford-inspectors", "reason": "x"})
        assert r.status == 403 and desk_store.get("opus-fallback") is not None

    run(desk_store, scenario)


def test_a_split_and_an_earlier_redirect_follow_the_claim(desk_store):
    add_successor(desk_store, verdict="true")
    actor = Actor("eddie", "desk")
    retire_claim(desk_store, "alibaba-stole-guardrails", change="merged", replaced_by="opus-fallback",
                 reason="one claim", actor=actor)
    # opus-fallback is now split: the id merged into it leads to both of its replacements
    retire_claim(desk_store, "opus-fallback", change="split", replaced_by=["opus-fallback-cyber", "ford-inspectors"],
                 reason="two claims in one", actor=actor)
    assert desk_store.redirect("alibaba-stole-guardrails").replaced_by == ("opus-fallback-cyber", "ford-inspectors")
    assert desk_store.redirect("alibaba-stole-guardrails").change == "split"
    try:
        retire_claim(desk_store, "ford-inspectors", change="renamed", replaced_by="opus-fallback", reason="x",
                     actor=actor)
    except ClaimError as exc:
        assert [f for f, _ in exc.errors] == ["replaced_by"]
    else:
        raise AssertionError("a retired id cannot replace a claim")
    # /claim id: for the split id names both claims that stand for it now
    lookup = checker(desk_store).lookup("opus-fallback")
    assert {lookup.claim.id, *(c.id for c in lookup.others)} == {"opus-fallback-cyber", "ford-inspectors"}
    assert Wording().claim_reply(lookup.claim, "en") is not None


def test_a_retired_bundled_claim_stays_retired_at_the_next_knowledge_sync(tmp_path):
    from bot.core.knowledge import load_knowledge
    from bot.core.store import Store

    bundle = load_knowledge()
    store = Store(tmp_path / "k.db")
    store.sync_bundled(bundle.claims, bundle.fingerprint, retired=bundle.retired)
    old, new = bundle.claims[0].id, bundle.claims[1].id
    retire_claim(store, old, change="merged", replaced_by=new, reason="the same claim", actor=Actor("eddie", "desk"))
    store.sync_bundled(bundle.claims, bundle.fingerprint, force=True, retired=bundle.retired)
    assert store.get(old) is None and store.redirect(old).replaced_by == (new,)
    store.close()


def test_an_import_under_a_retired_id_updates_its_successor(desk_store, tmp_path):

    add_successor(desk_store)
    retire_claim(desk_store, "opus-fallback", change="renamed", replaced_by="opus-fallback-cyber", reason="reworded",
                 actor=Actor("eddie", "desk"))
    moved, _, problems = desk_store.follow_redirects([claim_from_dict({
        "id": "opus-fallback", "claim": "x y z", "verdict": "true", "summary": "s", "sources": ["https://e.org/"]})])
    assert problems == [] and [c.id for c in moved] == ["opus-fallback-cyber"]
