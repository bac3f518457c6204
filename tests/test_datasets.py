"""Structural checks on the hand-written evaluation sets in tests/data/.

These sets measure matching (tests/data/README.md says how they were written and split).  A set that
quietly rots, with an id that no longer names a claim, a Chinese line labelled Japanese, a message
copied from an alias, or a language left with no held-out lines, would give figures that mean
nothing, so every rule here fails loudly with the offending lines.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from bot.core.knowledge import knowledge_dir, load_knowledge

DATA = Path(__file__).parent / "data"
MULTILINGUAL = DATA / "devset_multilingual.jsonl"
CHATTER = DATA / "chatter.jsonl"
ENGLISH_DEVSET = DATA / "devset.jsonl"

# The languages the sets may use, by ISO 639-1 code, and the script their text must be written in.
# A code not listed here is a mistake (or a new language: add it with its script).
SCRIPT_OF = {
    "en": "latin", "es": "latin", "de": "latin", "fr": "latin", "pt": "latin", "it": "latin",
    "nl": "latin", "pl": "latin", "tr": "latin", "sv": "latin", "id": "latin", "vi": "latin",
    "ru": "cyrillic", "uk": "cyrillic",
    "ja": "japanese", "zh": "chinese", "ko": "hangul",
    "ar": "arabic", "hi": "devanagari",
}
MAIN = ("es", "de", "fr", "pt", "ja", "zh")  # the languages the figures are reported for
CLAIM_KINDS = {"paraphrase", "question", "slang", "typo", "mention-markup", "multi-sentence", "code-switch"}
SPLITS = {"tune", "held-out"}

# Discord and Slack markup (<@!123>, <@U024BE7LH>, <#C024BE7LH|general>, <https://x|label>) and :emoji:
# codes say nothing about the language, so they are removed before the script is checked.
MARKUP = re.compile(r"<[@#!][^>]*>|<https?://[^>]*>|:[a-z0-9_+-]+:")


def read(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            row["_where"] = f"{path.name}:{number}"
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def multilingual():
    return read(MULTILINGUAL)


@pytest.fixture(scope="module")
def chatter():
    return read(CHATTER)


@pytest.fixture(scope="module")
def knowledge():
    loaded = load_knowledge()
    if isinstance(loaded, tuple):  # (claims, fingerprint), before the knowledge kept retired ids
        return type("Knowledge", (), {"claims": loaded[0], "retired": ()})()
    return loaded


@pytest.fixture(scope="module")
def claims(knowledge):
    return knowledge.claims


def scripts(text: str) -> set[str]:
    """The scripts of the letters in text (markup, digits, punctuation and emoji left out)."""
    found = set()
    for ch in MARKUP.sub(" ", text):
        cp = ord(ch)
        if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9D:
            found.add("kana")
        elif 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
            found.add("han")
        elif 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
            found.add("hangul")
        elif 0x0400 <= cp <= 0x04FF:
            found.add("cyrillic")
        elif 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F:
            found.add("arabic")
        elif 0x0900 <= cp <= 0x097F:
            found.add("devanagari")
        elif ch.isalpha() and "LATIN" in unicodedata.name(ch, "") or ch.isalpha() and 0xFF21 <= cp <= 0xFF5A:
            found.add("latin")
        elif ch.isalpha():
            found.add("other")
    return found


def script_problem(lang: str, text: str) -> str | None:
    """Why text cannot be in lang's script, or None.  Product names in Latin letters are allowed everywhere."""
    have = scripts(text)
    want = SCRIPT_OF[lang]
    if want == "latin":
        foreign = have - {"latin"}
        return f"letters of {sorted(foreign)} in a {lang} line" if foreign else None
    if want == "japanese":
        if "kana" not in have:
            return "Japanese without any kana (Chinese, or Latin only?)"
        foreign = have - {"kana", "han", "latin"}
        return f"letters of {sorted(foreign)} in a ja line" if foreign else None
    if want == "chinese":
        if "han" not in have:
            return "Chinese without any Han characters"
        if "kana" in have:
            return "kana in a zh line (Japanese?)"
        foreign = have - {"han", "latin"}
        return f"letters of {sorted(foreign)} in a zh line" if foreign else None
    if want not in have:
        return f"no {want} letters in a {lang} line"
    foreign = have - {want, "latin"}
    return f"letters of {sorted(foreign)} in a {lang} line" if foreign else None


def squash(text: str) -> str:
    """Case, punctuation and spacing removed, so a copy with other capitals or commas still compares equal."""
    text = unicodedata.normalize("NFKC", MARKUP.sub(" ", text)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def phrasings(claims) -> list[tuple[str, str, str]]:
    """(claim id, language, phrasing) for every phrasing the knowledge gives the matcher, in every language.

    English comes from the claims; other languages from the translation files beside them
    (``translations/<lang>/<id>.yaml``: their ``claim`` and ``aliases``), read here directly so that
    the check holds whether or not the loader attaches translations to the claim yet.
    """
    found = [(c.id, c.language, text) for c in claims for text in c.texts()]
    for path in sorted((knowledge_dir() / "translations").glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        texts = [data.get("claim")] + list(data.get("aliases") or [])
        found += [(str(data.get("id") or path.stem), path.parent.name, t) for t in texts if isinstance(t, str) and t]
    return found


def accepted_ids(knowledge) -> set[str]:
    """Ids an expected label may name: every bundled claim's, and the ids the knowledge records as retired
    (split, merged or renamed; they keep working), so that a retirement never breaks the sets before
    their labels are moved to the claims that replaced them."""
    ids = {c.id for c in knowledge.claims}
    ids.update(r.id for r in getattr(knowledge, "retired", ()))
    return ids


def test_fields_and_values_are_exactly_the_documented_ones(multilingual, chatter):
    bad = []
    for row in multilingual:
        keys = set(row) - {"_where"}
        if keys != {"text", "lang", "expected", "kind", "split"}:
            bad.append((row["_where"], "fields", sorted(keys)))
            continue
        if row["expected"] is not None and not isinstance(row["expected"], str):
            bad.append((row["_where"], "expected must be one claim id or null", row["expected"]))
            continue
        if row["expected"] is None and row["kind"] != "near-miss":
            bad.append((row["_where"], "expected null but kind", row["kind"]))
        if row["expected"] is not None and row["kind"] not in CLAIM_KINDS:
            bad.append((row["_where"], "a claim-bearing line with kind", row["kind"]))
        if row["split"] not in SPLITS:
            bad.append((row["_where"], "split", row["split"]))
    for row in chatter:
        keys = set(row) - {"_where"}
        if keys != {"text", "lang", "kind", "split"}:
            bad.append((row["_where"], "fields", sorted(keys)))
            continue
        if row["kind"] not in ("near-topic", "off-topic"):
            bad.append((row["_where"], "kind", row["kind"]))
        if row["split"] not in SPLITS:
            bad.append((row["_where"], "split", row["split"]))
    for row in multilingual + chatter:
        if not isinstance(row.get("text"), str) or not row["text"].strip() or row["text"] != row["text"].strip():
            bad.append((row["_where"], "text must be a non-empty string without outer spaces", row.get("text")))
    assert bad == []


def test_every_expected_id_names_a_bundled_claim(multilingual, knowledge):
    known = accepted_ids(knowledge)
    unknown = [(r["_where"], r["expected"]) for r in multilingual if r["expected"] and r["expected"] not in known]
    assert unknown == []


def test_language_codes_are_known_and_match_the_script(multilingual, chatter):
    unknown = sorted({(r["_where"], r["lang"]) for r in multilingual + chatter if r["lang"] not in SCRIPT_OF})
    assert unknown == []
    wrong = [(r["_where"], r["lang"], why, r["text"]) for r in multilingual + chatter
             if (why := script_problem(r["lang"], r["text"]))]
    assert wrong == []


def test_the_script_check_itself_tells_the_scripts_apart():
    assert script_problem("ja", "Fableって本当？") is None
    assert script_problem("ja", "Fable 是不是直接拒绝？") == "Japanese without any kana (Chinese, or Latin only?)"
    assert script_problem("zh", "Fableって本当？") == "kana in a zh line (Japanese?)"
    assert script_problem("zh", "Fable 5 是目前能力最强的模型") is None
    assert script_problem("es", "<@U024BE7LH> Fable 5 ya salió 🔥") is None
    assert script_problem("es", "Fable 5 — самая мощная модель") == "letters of ['cyrillic'] in a es line"
    assert script_problem("ko", "Fable 5 드디어 공개됨") is None
    assert script_problem("ru", "Fable 5 is out") == "no cyrillic letters in a ru line"


def test_enough_lines_per_language(multilingual, chatter):
    claim_lines = Counter(r["lang"] for r in multilingual if r["expected"])
    near_misses = Counter(r["lang"] for r in multilingual if r["expected"] is None)
    short = {lang: claim_lines[lang] for lang in MAIN if claim_lines[lang] < 24}
    short.update({f"{lang} near misses": near_misses[lang] for lang in MAIN if near_misses[lang] < 4})
    others = [lang for lang in claim_lines if lang not in MAIN]
    short.update({lang: claim_lines[lang] for lang in others if claim_lines[lang] < 8})
    assert short == {}
    assert "en" not in claim_lines, "English chat messages belong in tests/data/devset.jsonl"
    assert len(others) >= 4, others

    per_lang = Counter(r["lang"] for r in chatter)
    assert len(chatter) >= 220
    assert len(per_lang) >= 8, per_lang
    assert {lang: n for lang, n in per_lang.items() if n < (20 if lang in MAIN + ("en",) else 8)} == {}
    kinds = Counter(r["kind"] for r in chatter)
    assert kinds["near-topic"] >= 150 and kinds["off-topic"] >= 40, kinds


def test_many_claims_and_many_styles_per_language(multilingual):
    """Not one claim twenty times: each main language covers most claims, in several chat styles."""
    by_lang = defaultdict(list)
    for row in multilingual:
        if row["expected"]:
            by_lang[row["lang"]].append(row)
    narrow = {}
    for lang, rows in by_lang.items():
        per_claim = Counter(r["expected"] for r in rows)
        if per_claim.most_common(1)[0][1] > 3:
            narrow[lang] = per_claim.most_common(1)
        if lang in MAIN and (len(per_claim) < 20 or len({r["kind"] for r in rows}) < 5):
            narrow[lang] = (len(per_claim), sorted({r["kind"] for r in rows}))
    assert narrow == {}


def test_no_duplicate_texts_across_the_sets(multilingual, chatter):
    english = read(ENGLISH_DEVSET)
    seen: dict[str, str] = {}
    duplicates = []
    for row in english + multilingual + chatter:
        key = squash(row["text"])
        if key in seen:
            duplicates.append((seen[key], row["_where"], row["text"]))
        seen.setdefault(key, row["_where"])
    assert duplicates == []


def test_no_message_is_copied_from_a_claim_or_its_aliases(multilingual, chatter, claims):
    """The sets were written fresh; a copied phrasing would measure the matcher against itself."""
    written = [(r["_where"], squash(r["text"])) for r in multilingual + chatter]
    copied = []
    for claim_id, lang, phrase in phrasings(claims):
        target = squash(phrase)
        # A whole phrasing inside a message is a copy too; short ones ("Fable 5 is out") are
        # just names and are only compared whole.
        whole_only = len(target.split()) < 5 and len(target) < 12
        for where, squashed in written:
            if squashed == target or (not whole_only and target in squashed):
                # The phrasing itself is left out of the report: whoever rewrites the message should
                # write it afresh, not from the alias.
                copied.append((where, f"copies a {lang} phrasing of {claim_id}"))
    assert copied == []


def test_the_copy_check_reads_every_language_the_knowledge_has(claims):
    languages = {lang for _, lang, _ in phrasings(claims)}
    on_disk = {p.name for p in (knowledge_dir() / "translations").glob("*") if p.is_dir()}
    assert "en" in languages and on_disk <= languages


def test_both_splits_in_every_language_and_about_a_third_held_out(multilingual, chatter):
    skewed = {}
    for name, rows in (("devset_multilingual", multilingual), ("chatter", chatter)):
        by_lang = defaultdict(Counter)
        for row in rows:
            by_lang[row["lang"]][row["split"]] += 1
        for lang, splits in by_lang.items():
            share = splits["held-out"] / sum(splits.values())
            if not splits["tune"] or not splits["held-out"] or not 0.2 <= share <= 0.45:
                skewed[f"{name} {lang}"] = dict(splits)
    assert skewed == {}
    # Held-out lines include near misses and near-topic chatter, not only the easy ones.
    assert any(r["split"] == "held-out" and r["expected"] is None for r in multilingual)
    assert any(r["split"] == "held-out" and r["kind"] == "near-topic" for r in chatter)
