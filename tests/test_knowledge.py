"""The bundled knowledge files: valid, distinct, sourced, and reported all at once when they are not."""

from collections import Counter

import pytest

from bot.core.knowledge import KnowledgeError, knowledge_dir, load_knowledge
from bot.core.models import Verdict


@pytest.fixture(scope="module")
def bundled():
    claims, fingerprint = load_knowledge()
    return claims


def test_every_knowledge_file_is_valid(bundled):
    """Fails with the full list of problems in every file (load_knowledge collects them all)."""
    assert len(bundled) >= 25


def test_claims_are_distinct_and_have_chat_aliases(bundled):
    texts = Counter(c.claim.casefold() for c in bundled)
    assert [t for t, n in texts.items() if n > 1] == []
    all_aliases = Counter(a.casefold() for c in bundled for a in c.aliases)
    assert [a for a, n in all_aliases.items() if n > 1] == []
    thin = [c.id for c in bundled if len(c.aliases) < 3]
    assert thin == [], f"claims with fewer than 3 aliases: {thin}"


def test_every_claim_has_a_source_and_a_reason(bundled):
    for c in bundled:
        assert c.sources and all(s.title and s.publisher for s in c.sources), c.id
        assert 20 <= len(c.summary) <= 600, c.id
        assert c.rating_text and c.reviewed_at, c.id


def test_verdicts_are_spread_by_evidence(bundled):
    used = {c.verdict for c in bundled}
    assert {Verdict.TRUE, Verdict.FALSE, Verdict.UNVERIFIED, Verdict.MISLEADING} <= used


def test_story_is_covered(bundled):
    blob = " ".join(" ".join(c.texts()).casefold() for c in bundled)
    for topic in ("opus 4.8", "mythos", "invisible distillation", "alibaba", "terms of service", "ford",
                  "ipo", "alignment faking", "boundary"):
        assert topic in blob or topic.replace(" ", "-") in blob, topic


def test_all_problems_in_all_files_reported_at_once(tmp_path):
    claims = tmp_path / "claims"
    claims.mkdir()
    (claims / "good-one.yaml").write_text(
        "id: good-one\nclaim: A fine claim\nverdict: true\nsummary: Because.\nsources: [{title: T, publisher: P}]\n"
    )
    (claims / "bad-one.yaml").write_text("id: other-name\nclaim: x\nverdict: sorta\nsources: []\n")
    (claims / "broken.yaml").write_text("id: broken\n\tclaim: tab\n")
    (claims / "list.yaml").write_text("- just a list\n")
    with pytest.raises(KnowledgeError) as err:
        load_knowledge(tmp_path)
    text = str(err.value)
    for expected in (
        "claims/bad-one.yaml: id: 'other-name' must equal the file name 'bad-one'",
        "claims/bad-one.yaml: verdict: unknown verdict 'sorta'",
        "claims/bad-one.yaml: summary: is required",
        "claims/bad-one.yaml: sources: at least one source is required",
        "claims/broken.yaml: line 2, column 1: invalid YAML",
        "claims/list.yaml: must hold one claim",
    ):
        assert expected in text
    assert "good-one" not in text


def test_fingerprint_changes_with_any_file(tmp_path):
    claims = tmp_path / "claims"
    claims.mkdir()
    f = claims / "one-claim.yaml"
    f.write_text("id: one-claim\nclaim: A\nverdict: true\nsummary: S.\nsources: [{title: T}]\n")
    _, first = load_knowledge(tmp_path)
    f.write_text("id: one-claim\nclaim: A\nverdict: false\nsummary: S.\nsources: [{title: T}]\n")
    _, second = load_knowledge(tmp_path)
    assert first != second


def test_knowledge_readme_documents_every_verdict():
    readme = (knowledge_dir() / "README.md").read_text(encoding="utf-8")
    for v in Verdict:
        assert f"`{v.value}`" in readme, v.value
