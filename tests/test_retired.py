"""Claim ids that were split, merged or renamed keep working: lookups, imports and correction notices.

A retired id lives in ``knowledge/retired/<id>.yaml`` and names the claims that now stand for it.
Nothing a channel was told is orphaned: a reply that showed the old verdict gets a correction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from test_scheduler import Clock, FakePoster, service  # noqa: E402  (tests/ is on sys.path)

from bot.core.conversations import Conversations
from bot.core.corrections import mark_corrected, pending_corrections
from bot.core.i18n import translator
from bot.core.knowledge import KnowledgeError, load_knowledge
from bot.core.models import ClaimError, Source, claim_from_dict
from bot.core.service import FactChecker
from bot.core.store import Store

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def claim_file(directory: Path, cid: str, text: str, verdict: str, summary: str = "Because the source says so.") -> None:
    (directory / "claims").mkdir(parents=True, exist_ok=True)
    (directory / "claims" / f"{cid}.yaml").write_text(
        f'id: {cid}\nclaim: "{text}"\nverdict: "{verdict}"\nsummary: "{summary}"\n'
        "sources: [{title: T, publisher: P}]\n", encoding="utf-8")


def retired_file(directory: Path, cid: str, body: str) -> None:
    (directory / "retired").mkdir(parents=True, exist_ok=True)
    (directory / "retired" / f"{cid}.yaml").write_text(f"id: {cid}\n{body}", encoding="utf-8")


def sync(store: Store, directory: Path) -> None:
    bundle = load_knowledge(directory)
    store.sync_bundled(bundle.claims, bundle.fingerprint, retired=bundle.retired)


# -- the bundled knowledge ---------------------------------------------------------------


def test_every_bundled_retired_id_names_live_claims_that_say_so():
    bundle = load_knowledge()
    live = {c.id: c for c in bundle.claims}
    assert {r.id: r.change for r in bundle.retired} == {
        "alibaba-extracted-fable-guardrails": "split", "fable-story-trains-claude-guardrails": "merged"}
    for r in bundle.retired:
        assert r.id not in live
        assert all(r.id in live[t].replaces for t in r.replaced_by)


def test_claim_lookup_by_a_split_id_shows_the_first_replacement_and_says_so(bundled_checker):
    found = bundled_checker.lookup("alibaba-extracted-fable-guardrails")
    assert found.claim.id == "alibaba-stole-fable-guardrails"
    assert found.notice == (
        "The claim “alibaba-extracted-fable-guardrails” was split; this is one of the claims that replace it. Also: "
        "“Anthropic admitted that Alibaba extracted Fable's guardrails and apologized for it.” "
        "(Unverified, id anthropic-admitted-alibaba-extraction).")
    assert bundled_checker.claim("alibaba-extracted-fable-guardrails").id == "alibaba-stole-fable-guardrails"
    assert found.notice_in(translator("de")).startswith(
        "Die Behauptung „alibaba-extracted-fable-guardrails“ wurde aufgeteilt; dies ist eine der Behauptungen, "
        "die sie ersetzen. Außerdem: „Anthropic admitted")


def test_claim_lookup_by_a_merged_id(bundled_checker):
    found = bundled_checker.lookup("fable-story-trains-claude-guardrails")
    assert found.claim.id == "invisible-distillation-anthropic-technique"
    assert found.notice == ("The claim “fable-story-trains-claude-guardrails” was merged into this one, "
                            "“invisible-distillation-anthropic-technique”.")
    assert bundled_checker.lookup("invisible-distillation-anthropic-technique").notice == ""
    assert bundled_checker.lookup("no-such-claim").claim is None


# -- the format ----------------------------------------------------------------------------


def test_every_problem_in_retired_files_is_reported_at_once(tmp_path):
    claim_file(tmp_path, "kept-claim", "A claim", "true")
    claim_file(tmp_path, "other-claim", "B claim", "false")
    retired_file(tmp_path, "kept-claim", 'change: renamed\nreplaced_by: [other-claim]\nclaim: "x"\nverdict: "true"\nreason: "r"\n')
    retired_file(tmp_path, "half-split", 'change: split\nreplaced_by: [kept-claim]\nclaim: "x"\nverdict: "true"\nreason: "r"\n')
    retired_file(tmp_path, "to-nowhere", 'change: merged\nreplaced_by: [gone-claim]\nclaim: "x"\nverdict: "sorta"\n')
    retired_file(tmp_path, "typo-field", 'change: moved\nreplaced_by: [kept-claim]\nclaim: "x"\nverdict: "true"\nreason: "r"\nnote: "n"\n')
    (tmp_path / "retired" / "wrong-name.yaml").write_text('id: right-name\nchange: renamed\nreplaced_by: [kept-claim]\n'
                                                        'claim: "x"\nverdict: "true"\nreason: "r"\n')
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(tmp_path)
    text = str(err.value)
    for expected in (
        "retired/kept-claim.yaml: id: 'kept-claim' still names a claim in claims/",
        "retired/half-split.yaml: replaced_by: a split claim names at least two claims",
        "retired/to-nowhere.yaml: replaced_by: 'gone-claim' is not a claim in claims/",
        "retired/to-nowhere.yaml: reason: is required",
        "retired/to-nowhere.yaml: verdict: unknown verdict 'sorta'",
        "retired/typo-field.yaml: change: 'moved' must be one of split, merged, renamed",
        "retired/typo-field.yaml: note: unknown field",
        "retired/wrong-name.yaml: id: 'right-name' must equal the file name 'wrong-name'",
    ):
        assert expected in text, expected
    assert len(err.value.problems) == 8


def test_a_source_says_where_a_title_that_is_not_a_headline_comes_from():
    rebuilt = Source(title="Anthropic responds to backlash", publisher="Wired", url="https://example.org/x",
                     title_from="url")
    assert rebuilt.shown_title == "Anthropic responds to backlash (title from the URL)"
    assert Source(title="A headline").shown_title == "A headline"
    with pytest.raises(ClaimError) as err:
        claim_from_dict({"claim": "c", "verdict": "true", "summary": "s",
                         "sources": [{"title": "T", "title_from": "guess", "titel": "x"}]})
    assert "sources[0].title_from: 'guess' is not one of headline, first-sentence, url, description" in str(err.value)
    assert "sources[0]: unknown field 'titel'" in str(err.value)


def test_bundled_sources_mark_every_title_that_is_not_a_headline():
    by_title = {s.title: s for c in load_knowledge().claims for s in c.sources}
    assert by_title["Anthropic responds to backlash on Claude's secret sabotage on AI research"].title_from == "url"
    assert by_title["Anthropic has introduced a new technique called Invisible Distillation…"].title_from == "first-sentence"
    assert by_title["Claude Fable 5 system card, Section 1.5"].title_from == "description"


# -- stores, corrections and imports -------------------------------------------------------


@pytest.fixture
def before(tmp_path):
    """Knowledge as it was: one claim joining two, and one that will be renamed."""
    d = tmp_path / "before"
    claim_file(d, "joined-claim", "X stole it and Y said sorry", "false")
    claim_file(d, "old-name", "Z happened", "true")
    return d


@pytest.fixture
def after(tmp_path):
    """Knowledge as it is now: the joined claim split in two, the other renamed with its verdict kept."""
    d = tmp_path / "after"
    claim_file(d, "x-stole-it", "X stole it", "unverified")
    claim_file(d, "y-said-sorry", "Y said sorry for it", "misleading")
    claim_file(d, "new-name", "Z happened", "true")
    retired_file(d, "joined-claim", 'change: split\nreplaced_by: [x-stole-it, y-said-sorry]\n'
                 'claim: "X stole it and Y said sorry"\nverdict: "false"\nreason: "two claims"\n')
    retired_file(d, "old-name", 'change: renamed\nreplaced_by: [new-name]\nclaim: "Z happened"\nverdict: "true"\n'
                 'reason: "a clearer id"\n')
    return d


def reply(store: Store, message_id: str, claim_id: str, verdict: str) -> None:
    Conversations(store).record_reply(platform="slack", workspace="T1", channel="C9", message_id=message_id,
                                      result=None, source="mention", claim_id=claim_id, verdict=verdict,
                                      thread_id="t-" + message_id, at=NOW - dt.timedelta(days=1))


def test_a_reply_about_a_split_claim_gets_one_correction_naming_both_claims(tmp_path, before, after):
    store = Store(tmp_path / "f.db")
    sync(store, before)
    reply(store, "r1", "joined-claim", "false")
    reply(store, "r2", "old-name", "true")
    sync(store, after)
    assert store.get("joined-claim") is None and store.resolve("joined-claim")[0].id == "x-stole-it"
    due = pending_corrections(store, now=NOW)
    assert [c.message_id for c in due] == ["r1"], "the rename kept its verdict: nothing to correct"
    assert due[0].text() == (
        "Correction: “X stole it and Y said sorry” was rated False; it is now checked as separate claims. "
        "“X stole it”: ❓ Unverified; “Y said sorry for it”: ⚠️ Misleading.")
    assert due[0].text(translator("es")) == (
        "Corrección: «X stole it and Y said sorry» tenía la calificación Falso; ahora se verifica como afirmaciones "
        "separadas. «X stole it»: ❓ Sin verificar; «Y said sorry for it»: ⚠️ Engañoso.")
    mark_corrected(store, due)
    assert pending_corrections(store, now=NOW) == []
    # A later verdict change on a claim that replaced it is a new change: one more notice.
    claim_file(after, "y-said-sorry", "Y said sorry for it", "mostly-true")
    sync(store, after)
    assert [c.message_id for c in pending_corrections(store, now=NOW)] == ["r1"]


def test_a_renamed_claim_whose_verdict_changes_later_corrects_replies_under_the_old_id(tmp_path, before, after):
    store = Store(tmp_path / "f.db")
    sync(store, before)
    reply(store, "r2", "old-name", "true")
    sync(store, after)
    assert pending_corrections(store, now=NOW) == []
    claim_file(after, "new-name", "Z happened", "false", summary="The new source says otherwise.")
    sync(store, after)
    (due,) = pending_corrections(store, now=NOW)
    assert due.text() == ("Correction: the verdict on “Z happened” changed from True to ❌ False; it is now checked "
                          "as “Z happened”. The new source says otherwise.")


def test_the_scheduler_posts_the_split_notice_once(tmp_path, before, after):
    path = tmp_path / "f.db"
    store = Store(path)
    sync(store, before)
    reply(store, "r1", "joined-claim", "false")
    sync(store, after)
    poster = FakePoster()
    svc = service(path, Clock(NOW), poster)
    assert asyncio.run(svc.send_corrections()) == 1
    assert asyncio.run(svc.send_corrections()) == 0, "never twice for the same change"
    assert asyncio.run(service(path, Clock(NOW), poster).send_corrections()) == 0, "not even from another process"
    (c,) = poster.corrections
    assert (c.message_id, c.thread_id, c.claim.id) == ("r1", "t-r1", "x-stole-it")


def test_a_user_claim_under_a_retired_id_is_never_hidden(tmp_path, after):
    store = Store(tmp_path / "f.db")
    sync(store, after)
    store.upsert_claims([claim_from_dict({"id": "joined-claim", "claim": "Mine", "verdict": "true", "summary": "s",
                                          "sources": ["https://example.org"]})])
    found = FactChecker(store).lookup("joined-claim")
    assert (found.claim.claim, found.notice) == ("Mine", "")


def record(cid: str, text: str = "An old export of this claim") -> str:
    return json.dumps({"id": cid, "claim": text, "verdict": "false", "summary": "Old words.",
                       "sources": [{"title": "T", "publisher": "P"}]})


def test_import_moves_a_merged_id_to_its_successor(run, tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text(record("fable-story-trains-claude-guardrails") + "\n", encoding="utf-8")
    result = run("claims", "import", str(path))
    assert result.exit_code == 0, result.output
    assert ("fable-story-trains-claude-guardrails was retired; its record updates "
            "invisible-distillation-anthropic-technique.") in result.stderr
    assert "0 added, 1 updated" in result.stdout
    shown = json.loads(run("claims", "show", "--json", "invisible-distillation-anthropic-technique").stdout)
    assert (shown["claim"], shown["origin"]) == ("An old export of this claim", "user")


def test_import_refuses_a_split_id_and_writes_nothing(run, tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text(record("brand-new-claim", "Something new") + "\n" + record("alibaba-extracted-fable-guardrails") + "\n",
                    encoding="utf-8")
    result = run("claims", "import", str(path))
    assert result.exit_code == 3
    assert result.stderr.strip().endswith(
        "alibaba-extracted-fable-guardrails: this claim was split into alibaba-stole-fable-guardrails, "
        "anthropic-admitted-alibaba-extraction; give the record the id of the one it means")
    assert run("claims", "show", "brand-new-claim").exit_code != 0
