"""The claim model refuses what cannot be stored or shown, and says which field and why."""

import pytest

from bot.core.models import ClaimError, claim_from_dict

BASE = {"claim": "The moon is made of cheese", "verdict": "false", "summary": "No.", "sources": ["https://x.org/a"]}


def problems(**extra) -> list[tuple[str, str]]:
    with pytest.raises(ClaimError) as info:
        claim_from_dict({**BASE, **extra})
    return info.value.errors


@pytest.mark.parametrize("extra, field, message", [
    ({"id": "Not A Slug"}, "id", "is not a usable id"),
    ({"id": "ok-slug\nsecond-line"}, "id", "is not a usable id"),
    ({"id": "fc:12"}, "id", "is not a usable id"),
    ({"id": "a" * 81}, "id", "is not a usable id"),
    ({"aliases": ["fine", "bad\x00alias"]}, "aliases[1]", "contains a NUL character"),
    ({"aliases": ["x\ud800"]}, "aliases[0]", "lone surrogate"),
    ({"aliases": ["a"] * 101}, "aliases", "has 101 entries; at most 100"),
    ({"aliases": ["w" * 1001]}, "aliases[0]", "is 1001 characters; at most 1000"),
    ({"tags": ["t" * 51]}, "tags[0]", "at most 50"),
    ({"sources": [{"url": ["https://x.org"]}]}, "sources[0].url", "must be text, got list"),
    ({"sources": [{"title": "ok", "publisher": {"name": "x"}}]}, "sources[0].publisher", "must be text, got dict"),
    ({"sources": [{"title": "t\x00"}]}, "sources[0].title", "contains a NUL character"),
    ({"sources": [f"https://x.org/{i}" for i in range(31)]}, "sources", "has 31 entries; at most 30"),
    ({"claimant": "c" * 301}, "claimant", "at most 300"),
])
def test_each_problem_names_its_field(extra, field, message):
    found = problems(**extra)
    assert any(f == field and message in m for f, m in found), found


def test_every_problem_is_reported_at_once():
    found = problems(id="BAD ID", aliases=["\x00"], sources=[{"url": 5.5j}])
    assert {f for f, _ in found} == {"id", "aliases[0]", "sources[0].url"}


def test_tags_are_one_tag_whatever_their_case():
    claim = claim_from_dict({**BASE, "tags": ["AI", "ai", " Ai "], "aliases": ["Moon cheese", "Moon cheese"]})
    assert claim.tags == ("ai",)
    assert claim.aliases == ("Moon cheese",)


def test_control_characters_other_than_nul_round_trip():
    claim = claim_from_dict({**BASE, "summary": "tab\there, line\nbreak, \x7f delete"})
    assert claim.summary == "tab\there, line\nbreak, \x7f delete"
