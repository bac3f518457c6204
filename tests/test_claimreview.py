"""schema.org ClaimReview: publishers' pages read as claims, factbot's claims written back losslessly."""

import json
import pathlib
import re

import pytest

from bot.core.claimreview import (
    RATING_FAMILIES,
    RATINGS,
    claim_to_claimreview,
    claimreview_to_record,
    iter_claimreviews,
    normalise_rating,
    verdict_from_rating,
)
from bot.core.knowledge import load_knowledge
from bot.core.models import Verdict, claim_from_dict

V = Verdict
DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "formats.md"

POLITIFACT_PAGE = {
    "@context": "https://schema.org",
    "@graph": [
        {"@type": "WebSite", "@id": "https://www.politifact.com/#website", "name": "PolitiFact", "url": "https://www.politifact.com/"},
        {
            "@type": "BreadcrumbList",
            "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Fact-checks", "item": "https://www.politifact.com/factchecks/"}],
        },
        {
            "@type": "ClaimReview",
            "@id": "https://www.politifact.com/factchecks/2024/jun/28/viral-image/moon-landing-studio/#claimreview",
            "url": "https://www.politifact.com/factchecks/2024/jun/28/viral-image/moon-landing-studio/",
            "datePublished": "2024-06-28",
            "headline": "No, the Apollo 11 landing was not filmed in a Hollywood studio",
            "author": {"@type": "Organization", "name": "PolitiFact", "url": "https://www.politifact.com/"},
            "claimReviewed": "Says the 1969 moon landing was filmed in a Hollywood studio.",
            "itemReviewed": {
                "@type": "Claim",
                "author": {"@type": "Person", "name": "Viral image", "jobTitle": "Social media posts"},
                "datePublished": "2024-06-25",
                "appearance": {"@type": "CreativeWork", "url": "https://www.facebook.com/post/123"},
            },
            "reviewRating": {
                "@type": "Rating",
                "ratingValue": 0,
                "bestRating": 5,
                "worstRating": 0,
                "alternateName": "Pants on Fire!",
                "image": "https://static.politifact.com/politifact/rulings/meter-pants-fire.jpg",
            },
            "inLanguage": "en-US",
            "keywords": "Space, Facebook Fact-checks, Viral image",
        },
    ],
}

FULLFACT_PAGE = {
    "@context": "http://schema.org",
    "@graph": [
        {"@type": "Organization", "name": "Full Fact", "url": "https://fullfact.org/", "logo": "https://fullfact.org/logo.png"},
        {
            "@type": "WebPage",
            "name": "Hot water does not kill the coronavirus",
            "mainEntity": {
                "@type": "schema:ClaimReview",
                "url": "https://fullfact.org/health/hot-water-coronavirus/",
                "datePublished": "2020-03-12",
                "name": "Drinking hot water does not kill the virus",
                "author": {"@type": "Organization", "name": "Full Fact"},
                "claimReviewed": "Drinking hot water kills the coronavirus.",
                "itemReviewed": {
                    "@type": "Claim",
                    "author": "Facebook post",
                    "appearance": [
                        {"@type": "CreativeWork", "url": "https://www.facebook.com/a"},
                        {"@type": "CreativeWork", "url": "https://www.facebook.com/b", "datePublished": "2020-03-09"},
                    ],
                },
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": 1,
                    "bestRating": 5,
                    "worstRating": 1,
                    "alternateName": "Incorrect. Drinking hot water does not kill the virus.",
                },
                "reviewBody": "There is no evidence that hot drinks protect against the virus.",
                "inLanguage": {"@type": "Language", "name": "English", "alternateName": "en-GB"},
            },
        },
        {
            "@type": ["ClaimReview", "Review"],
            "url": "https://fullfact.org/economy/wages-growth/",
            "datePublished": "2024-01-30",
            "headline": "Wage growth claim needs context",
            "publisher": {"@type": "Organization", "name": "Full Fact"},
            "claimReviewed": "Wages are growing faster than prices.",
            "reviewRating": {"@type": "Rating", "alternateName": "Needs context"},
            "description": "True for regular pay since mid-2023, but real wages are still below 2008 levels.",
            "keywords": ["economy", "wages"],
        },
    ],
}


def test_politifact_page():
    reviews = list(iter_claimreviews(POLITIFACT_PAGE))
    assert len(reviews) == 1
    record = claimreview_to_record(reviews[0])
    assert record == {
        "claim": "Says the 1969 moon landing was filmed in a Hollywood studio.",
        "verdict": "false",
        "rating_text": "Pants on Fire!",
        "summary": 'Rated "Pants on Fire!" by PolitiFact.',
        "sources": [{
            "url": "https://www.politifact.com/factchecks/2024/jun/28/viral-image/moon-landing-studio/",
            "title": "No, the Apollo 11 landing was not filmed in a Hollywood studio",
            "publisher": "PolitiFact",
            "date": "2024-06-28",
        }],
        "claimant": "Viral image",
        "claim_date": "2024-06-25",
        "reviewed_at": "2024-06-28",
        "tags": ["Space", "Facebook Fact-checks", "Viral image"],
        "language": "en-US",
    }
    claim = claim_from_dict(record)
    assert claim.id == "says-the-1969-moon-landing-was-filmed-in-a-hollywood-studio"
    assert claim.tags == ("space", "facebook fact-checks", "viral image")


def test_fullfact_page_nested_and_in_graph():
    records = [claimreview_to_record(r) for r in iter_claimreviews(FULLFACT_PAGE)]
    assert [r["claim"] for r in records] == ["Drinking hot water kills the coronavirus.", "Wages are growing faster than prices."]
    hot, wages = records
    assert hot["verdict"] == "false"  # "Incorrect. ..." is no table entry; the key word decides
    assert hot["rating_text"] == "Incorrect. Drinking hot water does not kill the virus."
    assert hot["claimant"] == "Facebook post"
    assert hot["claim_date"] == "2020-03-09"  # the first appearance that has a date
    assert hot["language"] == "en-GB"
    assert hot["summary"] == "There is no evidence that hot drinks protect against the virus."
    assert hot["sources"] == [{
        "url": "https://fullfact.org/health/hot-water-coronavirus/",
        "title": "Drinking hot water does not kill the virus",
        "publisher": "Full Fact",
        "date": "2020-03-12",
    }]
    assert wages["verdict"] == "mostly-true"
    assert wages["sources"][0]["publisher"] == "Full Fact"  # from publisher when there is no author
    assert wages["summary"].startswith("True for regular pay")
    assert wages["tags"] == ["economy", "wages"]
    assert "claimant" not in wages and "claim_date" not in wages


def test_numeric_only_rating():
    record = claimreview_to_record({
        "@type": "ClaimReview",
        "claimReviewed": "Turbines cause more bird deaths than cats.",
        "author": {"@type": "Organization", "name": "Example Checks"},
        "reviewRating": {"@type": "Rating", "ratingValue": "2", "bestRating": "5", "worstRating": "1"},
    })
    assert record["verdict"] == "mostly-false"
    assert "rating_text" not in record
    assert record["summary"] == 'Rated "Mostly false" by Example Checks.'
    assert record["sources"] == [{"title": "Turbines cause more bird deaths than cats.", "publisher": "Example Checks"}]
    assert claim_from_dict(record).rating_text == "Mostly false"


def test_unknown_rating_is_unverified_and_kept_verbatim():
    record = claimreview_to_record({
        "@type": "ClaimReview",
        "claimReviewed": "A zombie claim is back.",
        "url": "https://checks.example/zombie",
        "reviewRating": {"@type": "Rating", "alternateName": "Zombie Claim 🧟"},
    })
    assert record["verdict"] == "unverified"
    assert record["rating_text"] == "Zombie Claim 🧟"
    assert record["summary"] == 'Rated "Zombie Claim 🧟".'


def test_identifier_only_when_it_is_a_slug():
    base = {"@type": "ClaimReview", "claimReviewed": "X happened.", "reviewRating": {"alternateName": "False"}}
    assert claimreview_to_record({**base, "identifier": "x-happened-2024"})["id"] == "x-happened-2024"
    assert claimreview_to_record({**base, "@id": "moon-hoax"})["id"] == "moon-hoax"
    assert "id" not in claimreview_to_record({**base, "@id": "https://checks.example/x#review"})
    assert "id" not in claimreview_to_record({**base, "identifier": "Fact check #7"})
    assert claimreview_to_record({**base, "identifier": 20240101})["id"] == "20240101"


def test_long_review_body_is_cut_at_a_word():
    body = "word " * 1000
    summary = claimreview_to_record({"@type": "ClaimReview", "claimReviewed": "c", "reviewBody": body})["summary"]
    assert len(summary) <= 2000 and summary.endswith("word…")


def test_citations_follow_the_article_when_not_already_cited():
    record = claimreview_to_record({
        "@type": "ClaimReview",
        "claimReviewed": "c",
        "url": "https://checks.example/c",
        "headline": "The check",
        "citation": ["https://data.example/table", {"@type": "CreativeWork", "name": "Report", "publisher": "ONS"}],
    })
    assert record["sources"] == [
        {"url": "https://checks.example/c", "title": "The check"},
        {"url": "https://data.example/table"},
        {"title": "Report", "publisher": "ONS"},
    ]


# -- ratings -------------------------------------------------------------------

FAMILY_ENTRIES = [(family, label, verdict) for family, table in RATING_FAMILIES for label, verdict in table.items()]


@pytest.mark.parametrize("family,label,verdict", FAMILY_ENTRIES, ids=[f"{fam}:{label}" for fam, label, _ in FAMILY_ENTRIES])
def test_every_documented_label_maps_in_any_case_and_punctuation(family, label, verdict):
    assert RATINGS[normalise_rating(label)] is verdict  # also: no two families disagree on a label
    assert verdict_from_rating(label) is verdict
    assert verdict_from_rating(f"  {label.upper().replace(' ', '-')}!! ") is verdict


def test_rating_table_covers_the_publishers_named_in_the_docs():
    expected = {
        "pants on fire": V.FALSE, "half true": V.MIXED, "full flop": V.OUTDATED, "half flip": V.MIXED, "no flip": V.TRUE,
        "mixture": V.MIXED, "unproven": V.UNVERIFIED, "unfounded": V.UNVERIFIED, "miscaptioned": V.MISLEADING,
        "misattributed": V.FALSE, "correct attribution": V.TRUE, "legend": V.UNVERIFIED, "scam": V.FALSE,
        "labeled satire": V.SATIRE, "originated as satire": V.SATIRE, "research in progress": V.UNVERIFIED,
        "fake": V.FALSE, "legit": V.TRUE, "correct": V.TRUE, "incorrect": V.FALSE, "needs context": V.MOSTLY_TRUE,
        "unsupported": V.UNVERIFIED, "not the full picture": V.MOSTLY_TRUE, "missing context": V.MISLEADING,
        "altered": V.FALSE, "partly false": V.MOSTLY_FALSE, "satire": V.SATIRE, "unsubstantiated": V.UNVERIFIED,
        "no evidence": V.UNVERIFIED, "manipulated": V.FALSE, "out of context": V.MISLEADING,
        "exaggerated": V.MISLEADING, "distorts the facts": V.MISLEADING, "outdated": V.OUTDATED,
    }
    assert {k: RATINGS[k] for k in expected} == expected
    for verdict in Verdict:  # factbot's own labels read back as themselves
        assert verdict_from_rating(verdict.label) is verdict


@pytest.mark.parametrize("text,verdict", [
    ("Partly false photo", V.MOSTLY_FALSE),
    ("Largely inaccurate", V.MOSTLY_FALSE),
    ("Half false", V.MIXED),
    ("Mostly accurate claim", V.MOSTLY_TRUE),
    ("Partially correct", V.MIXED),
    ("Not true", V.FALSE),
    ("This isn't correct", V.FALSE),
    ("True, but missing context", V.MISLEADING),
    ("Altered video", V.FALSE),
    ("Satirical website", V.SATIRE),
    ("Obsolete figures", V.OUTDATED),
    ("True and false in parts", V.MIXED),
    ("Incorrect. Drinking hot water does not kill the virus.", V.FALSE),
    ("Four Pinocchios", V.FALSE),
    ("No hay evidencia", V.UNVERIFIED),
])
def test_key_words_decide_unknown_labels(text, verdict):
    assert verdict_from_rating(text) is verdict


@pytest.mark.parametrize("value,best,worst,verdict", [
    (5, 5, 1, V.TRUE), (4, 5, 1, V.MOSTLY_TRUE), (3, 5, 1, V.MIXED), (2, 5, 1, V.MOSTLY_FALSE), (1, 5, 1, V.FALSE),
    ("4", None, None, V.MOSTLY_TRUE),  # schema.org's defaults: 1..5
    (0, 6, 0, V.FALSE), (6, 6, 0, V.TRUE), (3, 6, 0, V.MIXED), (0.9, 1, 0, V.TRUE),
    (1, 1, 5, V.TRUE),  # a scale where lower is better still puts bestRating at "true"
    (9, 5, 1, V.UNVERIFIED), (3, 3, 3, V.UNVERIFIED), ("n/a", 5, 1, V.UNVERIFIED), (True, 5, 1, V.UNVERIFIED),
    (float("nan"), 5, 1, V.UNVERIFIED), (None, 5, 1, V.UNVERIFIED),
])
def test_numeric_scale_fallback(value, best, worst, verdict):
    assert verdict_from_rating(None, value, best, worst) is verdict
    assert verdict_from_rating("Falso", value, best, worst) is verdict  # words factbot does not know


def test_words_win_over_the_scale():
    assert verdict_from_rating("Mostly True", 1, 5, 1) is V.MOSTLY_TRUE


# -- finding ClaimReviews ----------------------------------------------------------


def test_iter_claimreviews_shapes():
    review = {"@type": "ClaimReview", "claimReviewed": "a"}
    other = {"@type": "ClaimReview", "claimReviewed": "b"}
    assert list(iter_claimreviews(review)) == [review]
    assert list(iter_claimreviews([review, {"@type": "Organization"}, other])) == [review, other]
    assert list(iter_claimreviews({"@graph": [{"@type": "WebPage", "review": [review]}, other]})) == [review, other]
    assert list(iter_claimreviews({"@type": "NewsArticle", "mainEntity": {"@type": "http://schema.org/ClaimReview"}})) == [
        {"@type": "http://schema.org/ClaimReview"}
    ]
    assert list(iter_claimreviews({"@type": "Review", "name": "ClaimReview"})) == []
    assert list(iter_claimreviews("ClaimReview")) == []


def test_iter_claimreviews_survives_deep_nesting():
    doc: dict = {"@type": "ClaimReview", "claimReviewed": "deep"}
    for _ in range(20_000):
        doc = {"mainEntity": doc}
    assert [r["claimReviewed"] for r in iter_claimreviews(doc)] == ["deep"]


# -- writing ClaimReviews ----------------------------------------------------------


def test_claim_to_claimreview_exact():
    claim = claim_from_dict({
        "id": "wind-birds",
        "claim": "Wind turbines kill more birds than cats do.",
        "verdict": "false",
        "rating_text": "Incorrect",
        "summary": "Cats kill far more birds.",
        "sources": [
            {"title": "Bird deaths notes", "publisher": "RSPB"},
            {"url": "https://checks.example/wind", "title": "Wind and birds", "publisher": "Example Checks", "date": "2024-02-01"},
        ],
        "claimant": "A viral post",
        "claim_date": "2024-01-20",
        "reviewed_at": "2024-02-02",
        "tags": ["energy", "wildlife"],
        "aliases": ["turbines are bird killers", "windmills | birds"],
        "language": "en",
    })
    assert claim_to_claimreview(claim) == {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "identifier": "wind-birds",
        "url": "https://checks.example/wind",
        "headline": "Wind and birds",
        "author": {"@type": "Organization", "name": "Example Checks"},
        "datePublished": "2024-02-02",
        "inLanguage": "en",
        "claimReviewed": "Wind turbines kill more birds than cats do.",
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Organization", "name": "A viral post"},
            "datePublished": "2024-01-20",
            "alternateName": ["turbines are bird killers", "windmills | birds"],
        },
        "reviewRating": {
            "@type": "Rating", "alternateName": "Incorrect", "factbot:verdict": "false",
            "ratingValue": 1, "bestRating": 5, "worstRating": 1,
        },
        "reviewBody": "Cats kill far more birds.",
        "keywords": ["energy", "wildlife"],
        "citation": [
            {"@type": "CreativeWork", "name": "Bird deaths notes", "publisher": {"@type": "Organization", "name": "RSPB"}},
            {"@type": "CreativeWork", "name": "Wind and birds", "url": "https://checks.example/wind",
             "publisher": {"@type": "Organization", "name": "Example Checks"}, "datePublished": "2024-02-01"},
        ],
    }


@pytest.mark.parametrize("verdict,score", [
    ("true", 5), ("mostly-true", 4), ("mixed", 3), ("misleading", 2), ("mostly-false", 2), ("false", 1),
    ("satire", None), ("unverified", None), ("outdated", None),
])
def test_rating_scores(verdict, score):
    claim = claim_from_dict({"claim": "c c c", "verdict": verdict, "summary": "s", "sources": ["Note"]})
    rating = claim_to_claimreview(claim, publisher="Our Desk")["reviewRating"]
    assert rating.get("ratingValue") == score
    assert ("bestRating" in rating) is (score is not None)
    assert rating["alternateName"] == Verdict(verdict).label
    if score is not None:  # a consumer without factbot's key reads the verdict off the scale
        expected = V.MOSTLY_FALSE if verdict == "misleading" else Verdict(verdict)
        assert verdict_from_rating(None, score, 5, 1) is expected


def test_publisher_names_the_review_when_the_source_has_none():
    claim = claim_from_dict({"claim": "c c c", "verdict": "true", "summary": "s", "sources": ["A note"]})
    review = claim_to_claimreview(claim, publisher="Our Desk")
    assert review["author"] == {"@type": "Organization", "name": "Our Desk"}
    assert "url" not in review and review["headline"] == "A note"


def test_bundled_and_sample_claims_round_trip(sample_claims):
    """One review is one claim in one language: its translations travel as reviews of their own (below)."""
    claims, _ = load_knowledge()
    for claim in [*claims, *sample_claims]:
        back = claim_from_dict(claimreview_to_record(json.loads(json.dumps(claim_to_claimreview(claim)))))
        assert back.to_dict() == {k: v for k, v in claim.to_dict().items() if k != "translations"}


# -- docs ------------------------------------------------------------------------


def test_docs_rating_table_is_the_rating_table():
    section = DOCS.read_text(encoding="utf-8").split("### Textual ratings", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \| `([a-z-]+)` \|", section, re.MULTILINE)
    assert dict(rows) == {key: verdict.value for key, verdict in RATINGS.items()}
    assert len(rows) == len(RATINGS)
