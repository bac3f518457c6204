"""A claim's words in other languages: the bundled files validated, stored, exported and imported.

``knowledge/translations/<lang>/<id>.yaml`` holds claim, summary and aliases in one language; verdict,
sources and dates stay the English claim's. A translation written from an older English text is stale:
it is reported and never served.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.core.formats import ImportFileError, dump_claims, load_claims
from bot.core.knowledge import KnowledgeError, load_knowledge
from bot.core.models import ClaimTranslation, claim_from_dict
from bot.core.store import Store

LANGUAGES = ("de", "es", "fr", "ja", "pt", "zh")


@pytest.fixture(scope="module")
def bundle():
    return load_knowledge()


# -- the bundled translations --------------------------------------------------------------


def test_every_bundled_translation_file_is_valid(bundle, capsys):
    """load_knowledge raises, listing every problem in every file, for anything but staleness."""
    served = sum(len(c.translations) for c in bundle.claims)
    assert served > 0
    assert {lang for c in bundle.claims for lang in c.translations} <= set(LANGUAGES)
    with capsys.disabled():
        print(f"\ntranslations: {served} served, {len(bundle.stale)} stale (factbot knowledge check lists them)")


def test_a_stale_translation_is_reported_and_never_served(bundle, bundled_store):
    for problem in bundle.stale:
        _, lang, name = problem.file.split("/")
        cid = Path(name).stem
        assert problem.field == "source_digest" and problem.message.startswith("stale: ")
        assert lang not in bundled_store.get(cid).translations, (lang, cid)
    for claim in bundle.claims:
        assert claim.stale_translations() == [], claim.id
        assert bundled_store.get(claim.id).translations == claim.translations


def test_bundled_translated_aliases_name_one_claim_each(bundle):
    for lang in LANGUAGES:
        seen: dict[str, str] = {}
        for claim in bundle.claims:
            t = claim.translations.get(lang)
            for text in t.texts() if t else ():
                key = " ".join(text.casefold().split())
                assert seen.setdefault(key, claim.id) == claim.id, (lang, text)


def test_translation_texts_are_its_claim_then_its_aliases():
    t = ClaimTranslation(claim="Alibaba robó las guardas", summary="Solo un agregador.", aliases=("a", "b"))
    assert t.texts() == ("Alibaba robó las guardas", "a", "b")


# -- validation ------------------------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


ENGLISH = 'id: the-claim\nclaim: "The claim"\nverdict: "true"\nsummary: "Because."\nsources: [{title: T, publisher: P}]\n'
OTHER = 'id: other-claim\nclaim: "Another"\nverdict: "false"\nsummary: "No."\nsources: [{title: T, publisher: P}]\n'


def digest_of(directory: Path, cid: str) -> str:
    return next(c for c in load_knowledge(directory).claims if c.id == cid).source_digest()


def translation(cid: str, lang: str, digest: str, *, claim: str = "La afirmación", aliases=("una", "dos")) -> str:
    items = "".join(f'  - "{a}"\n' for a in aliases)
    return (f'id: {cid}\nlanguage: {lang}\nsource_digest: "{digest}"\nclaim: "{claim}"\nsummary: "Porque."\n'
            f"aliases:\n{items}")


def test_every_problem_in_translation_files_is_reported_at_once(tmp_path):
    write(tmp_path / "claims" / "the-claim.yaml", ENGLISH)
    write(tmp_path / "claims" / "other-claim.yaml", OTHER)
    write(tmp_path / "claims" / "new-claim.yaml", ENGLISH.replace("the-claim", "new-claim").replace("The claim", "New"))
    write(tmp_path / "retired" / "old-claim.yaml", 'id: old-claim\nchange: renamed\nreplaced_by: [new-claim]\n'
                                                   'claim: "Old"\nverdict: "true"\nreason: "r"\n')
    good = digest_of(tmp_path, "the-claim")
    other = digest_of(tmp_path, "other-claim")
    t = tmp_path / "translations"
    write(t / "es" / "the-claim.yaml", translation("the-claim", "es", good, aliases=("una", "dos", "DOS ")))
    write(t / "es" / "other-claim.yaml", translation("other-claim", "es", other, claim="Otra", aliases=("una",)))
    write(t / "pt" / "the-claim.yaml", translation("the-claim", "pt", good, claim="A afirmação", aliases=("uma",)))
    write(t / "pt" / "other-claim.yaml", translation("other-claim", "pt", other, claim="Outra", aliases=("Uma ",)))
    write(t / "es" / "no-such-claim.yaml", translation("no-such-claim", "es", good))
    write(t / "es" / "old-claim.yaml", translation("old-claim", "es", good))
    write(t / "de" / "the-claim.yaml", translation("the-claim", "es", good, claim=""))
    write(t / "klingon" / "the-claim.yaml", translation("the-claim", "klingon", good))
    write(t / "fr" / "the-claim.yaml", translation("the-claim", "fr", "123").replace("summary:", "resumen:"))
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(tmp_path)
    text = str(err.value)
    for expected in (
        "translations/es/the-claim.yaml: aliases[2]: repeats aliases[1]",
        "translations/pt/the-claim.yaml: aliases: 'uma' is also a phrasing of other-claim (translations/pt/other-claim.yaml)",
        "translations/es/no-such-claim.yaml: id: 'no-such-claim' names no claim in claims/",
        "translations/es/old-claim.yaml: id: 'old-claim' was renamed into new-claim; translate that claim instead",
        "translations/de/the-claim.yaml: language: 'es' must equal the folder name 'de'",
        "translations/de/the-claim.yaml: claim: is required (and must not be empty)",
        "translations/klingon/: the folder name must be a language code: 'klingon' is not a BCP 47 language code",
        "translations/fr/the-claim.yaml: resumen: unknown field",
        "translations/fr/the-claim.yaml: summary: is required",
        "translations/fr/the-claim.yaml: source_digest: '123' is not 12 hex characters",
    ):
        assert expected in text, expected


def test_a_translation_goes_stale_when_the_english_changes(tmp_path):
    write(tmp_path / "claims" / "the-claim.yaml", ENGLISH)
    write(tmp_path / "translations" / "es" / "the-claim.yaml", translation("the-claim", "es", digest_of(tmp_path, "the-claim")))
    assert load_knowledge(tmp_path).claims[0].translations["es"].claim == "La afirmación"
    write(tmp_path / "claims" / "the-claim.yaml", ENGLISH.replace('"Because."', '"Because the source says so."'))
    bundle = load_knowledge(tmp_path)  # the bot still starts, with the English only
    assert bundle.claims[0].translations == {}
    (problem,) = bundle.stale
    assert str(problem).startswith("translations/es/the-claim.yaml: source_digest: stale: written from another "
                                   "version of the English claim and summary")
    with pytest.raises(KnowledgeError, match="stale"):
        load_knowledge(tmp_path, strict=True)
    # a change to the English aliases or sources does not make it stale
    write(tmp_path / "claims" / "the-claim.yaml", ENGLISH + 'aliases: ["the claim again"]\n')
    assert load_knowledge(tmp_path, strict=True).claims[0].translations["es"].aliases == ("una", "dos")


def test_knowledge_check_lists_stale_and_missing_translations(tmp_path, monkeypatch):
    write(tmp_path / "claims" / "the-claim.yaml", ENGLISH)
    write(tmp_path / "claims" / "other-claim.yaml", OTHER)
    write(tmp_path / "translations" / "es" / "the-claim.yaml", translation("the-claim", "es", "0" * 12))
    monkeypatch.setattr("bot.cli.knowledge.load_knowledge", lambda: load_knowledge(tmp_path))
    result = CliRunner().invoke(cli, ["knowledge", "check", "--strict"])
    assert result.exit_code == 1
    assert result.output == ("2 claims, 0 retired ids: every file is valid.\n"
                             "es: 0 current, 1 stale, 1 missing\n"
                             "  stale:   the-claim\n"
                             "  missing: other-claim\n")


# -- the store ----------------------------------------------------------------------------


def claim_with(**translations) -> dict:
    return {"id": "the-claim", "claim": "The claim", "verdict": "true", "summary": "Because.",
            "sources": [{"title": "T", "publisher": "P"}], "translations": translations}


def test_a_translation_change_is_a_claim_change_for_the_index_but_no_verdict_change(store):
    store.upsert_claims([claim_from_dict(claim_with())])
    seq = store.last_change_seq()
    es = {"claim": "La afirmación", "summary": "Porque.", "aliases": ["una"]}
    stats = store.upsert_claims([claim_from_dict(claim_with(es=es))])
    assert (stats.updated, stats.unchanged) == (["the-claim"], [])
    assert store.changes_since(seq) == [(seq + 1, "the-claim", "translate")]
    row = store.db.execute("SELECT old_verdict, new_verdict FROM claim_changes WHERE seq = ?", [seq + 1]).fetchone()
    assert tuple(row) == ("true", "true")
    assert store.get("the-claim").translations["es"] == ClaimTranslation(
        "La afirmación", "Porque.", ("una",), claim_from_dict(claim_with()).source_digest())
    assert store.upsert_claims([claim_from_dict(claim_with(es=es))]).unchanged == ["the-claim"]
    assert store.last_change_seq() == seq + 1, "an unchanged translation is not rewritten"
    store.upsert_claims([claim_from_dict(claim_with())])
    assert store.get("the-claim").translations == {} and store.changes_since(seq + 1)[0][2] == "translate"
    store.remove("the-claim")
    assert store.db.execute("SELECT count(*) FROM claim_translations").fetchone()[0] == 0


# -- export and import ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "json", "yaml", "csv", "claimreview"])
def test_translations_round_trip_in_every_format(tmp_path, fmt, bundle):
    translated = [c for c in bundle.claims if c.translations]
    out = io.StringIO()
    dump_claims(translated, fmt, out)
    path = tmp_path / f"claims.{ {'claimreview': 'jsonld'}.get(fmt, fmt)}"
    path.write_text(out.getvalue(), encoding="utf-8")
    back = {c.id: c for c in load_claims(path)}
    assert {cid: dict(c.translations) for cid, c in back.items()} == {c.id: dict(c.translations) for c in translated}


def test_claimreview_has_one_review_per_language_linked_to_the_original(bundle):
    claim = next(c for c in bundle.claims if c.id == "openai-ipo-delayed-to-next-year")
    out = io.StringIO()
    dump_claims([claim], "claimreview", out)
    reviews = json.loads(out.getvalue())
    assert [r["inLanguage"] for r in reviews] == ["en", *sorted(claim.translations)]
    original, *translated = reviews
    assert original["@id"] == "_:factbot-openai-ipo-delayed-to-next-year"
    assert original["workTranslation"] == [{"@id": f"_:factbot-openai-ipo-delayed-to-next-year-{lang}"}
                                           for lang in sorted(claim.translations)]
    de = next(r for r in translated if r["inLanguage"] == "de")
    assert de["translationOfWork"] == {"@id": "_:factbot-openai-ipo-delayed-to-next-year"}
    assert de["claimReviewed"] == claim.translations["de"].claim
    assert de["reviewBody"] == claim.translations["de"].summary
    assert de["itemReviewed"]["alternateName"] == list(claim.translations["de"].aliases)
    assert de["reviewRating"] == original["reviewRating"] and de["citation"] == original["citation"]
    assert de["identifier"] == original["identifier"] == claim.id


def test_a_bad_translation_in_an_import_changes_nothing(tmp_path, store):
    store.upsert_claims([claim_from_dict(claim_with())])
    before = store.last_change_seq()
    good = {"id": "new-claim", "claim": "New", "verdict": "false", "summary": "No.", "sources": ["https://x.org"]}
    bad = {**claim_with(), "translations": {
        "es": {"claim": "", "summary": "Porque.", "aliases": ["una", "Una"]},
        "xx": {"claim": "C", "summary": "S"},
        "de": {"claim": "Die Behauptung", "summary": "Weil.", "source_digest": "0123456789ab"},
        "en": {"claim": "The claim", "summary": "Because."},
    }}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as err:
        load_claims(path)
    assert [str(p) for p in err.value.problems] == [
        "line 2: translations.es.claim: is required (and must not be empty)",
        "line 2: translations.es.aliases[1]: repeats aliases[0]",
        "line 2: translations.xx.language: 'xx' is not a language Babel knows",
        "line 2: translations.de.source_digest: stale: written from another version of the English text "
        f"(0123456789ab, now {claim_from_dict(claim_with()).source_digest()}); translate it again",
        "line 2: translations.en.language: 'en' is the claim's own language",
    ]
    assert store.last_change_seq() == before and store.get("new-claim") is None


def test_a_claimreview_translation_of_a_review_not_in_the_file_is_a_problem(tmp_path):
    path = tmp_path / "r.jsonld"
    path.write_text(json.dumps([{
        "@context": "https://schema.org", "@type": "ClaimReview", "claimReviewed": "Otra cosa", "inLanguage": "es",
        "reviewRating": {"@type": "Rating", "alternateName": "Falso"}, "url": "https://x.org/r",
        "translationOfWork": {"@id": "_:elsewhere"},
    }]), encoding="utf-8")
    with pytest.raises(ImportFileError, match="translationOfWork: translates '_:elsewhere', which is not a ClaimReview"):
        load_claims(path)


def test_a_claims_import_with_translations_stores_them(tmp_path, monkeypatch):
    monkeypatch.delenv("FACTBOT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(claim_with(pt={"claim": "A afirmação", "summary": "Porque.", "aliases": ["uma"]})) + "\n",
                    encoding="utf-8")
    db = str(tmp_path / "f.db")
    assert CliRunner().invoke(cli, ["--db", db, "claims", "import", str(path)]).exit_code == 0
    shown = json.loads(CliRunner().invoke(cli, ["--db", db, "claims", "show", "--json", "the-claim"]).stdout)
    assert shown["translations"]["pt"]["claim"] == "A afirmação"
    assert Store(db).get("the-claim").translations["pt"].aliases == ("uma",)
