"""Claim files in and out: every format round-trips, and every bad file says where and what."""

import io
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.claimreview import claim_to_claimreview, claimreview_to_record
from bot.core.formats import CLAIM_FIELDS, FORMATS, ImportFileError, Problem, dump_claims, load_claims
from bot.core.knowledge import load_knowledge
from bot.core.models import Verdict, claim_from_dict

EXTENSION = {"yaml": "yaml", "json": "json", "jsonl": "jsonl", "csv": "csv", "claimreview": "jsonld"}
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- strategies ------------------------------------------------------------------

TRICKY = [
    "=SUM(A1:A9)", "+44 20 7946 0000", "-5 degrees", "@everyone", "'=already guarded", "''+twice", "a|b", "x | y |",
    'say "hi", then leave', "it's", "line one\nline two", "cr\rhere", "tab\tinside", "[not json]", '["json", "list"]',
    "{brace}", "café ☕ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a\x85b", "a\u2028b", "null", "yes", "no", "2026-01-02", "1e3", "0x1F", "# hash",
    "- dash", "? question", "key: value", "&anchor", "*alias", "!tag", "%", "`tick`", "\\back\\slash", "trailing \\",
    "\x7f", "\ufeffbom", "\U0010fffd",
]
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.one_of(st.sampled_from(TRICKY), st.text(_chars, min_size=1, max_size=30)).map(str.strip).filter(bool)
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)
urls = st.from_regex(r"https://[a-z]{1,10}\.org/[A-Za-z0-9_%~.-]{0,12}", fullmatch=True)
dates = st.one_of(st.dates().map(lambda d: d.isoformat()), text)
sources = st.one_of(
    st.fixed_dictionaries({"title": text}, optional={"publisher": text, "url": urls, "date": dates}),
    urls.map(lambda u: {"url": u}),
)
# Tags are stored lowercase; drawn lowercase because claim_from_dict's de-duplication is case-sensitive
# (["A", "a"] becomes ("a", "a"), which a second import would shorten).
tags = text.map(lambda t: t.lower().strip()).filter(bool)
records = st.fixed_dictionaries(
    {"claim": text, "verdict": st.sampled_from(Verdict), "summary": text, "sources": st.lists(sources, min_size=1, max_size=3)},
    optional={
        "id": slugs, "rating_text": text, "claimant": text, "claim_date": dates, "reviewed_at": dates,
        "tags": st.lists(tags, max_size=3, unique=True), "aliases": st.lists(text, max_size=4),
        "language": st.sampled_from(["en", "fr", "pt-BR", "zh-Hant"]),
    },
)
claims = st.lists(records.map(claim_from_dict), min_size=1, max_size=4, unique_by=lambda c: c.id)


def dump_to(path, items, fmt):
    with path.open("w", encoding="utf-8", newline="") as f:
        return dump_claims(items, fmt, f)


def content(items):
    return [c.to_dict() for c in items]


def problems_of(path, **kwargs):
    with pytest.raises(ImportFileError) as info:
        load_claims(path, **kwargs)
    assert info.value.path == str(path)
    return info.value


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# -- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(items=claims)
def test_every_format_round_trips(tmp_path, fmt, items):
    path = tmp_path / f"claims.{EXTENSION[fmt]}"
    assert dump_to(path, items, fmt) == len(items)
    assert content(load_claims(path)) == content(items)


@FAST
@given(items=claims)
def test_claimreview_functions_round_trip(items):
    for claim in items:
        back = claim_from_dict(claimreview_to_record(claim_to_claimreview(claim)))
        assert back.content_key() == claim.content_key()


@pytest.mark.parametrize("fmt", FORMATS)
def test_bundled_knowledge_round_trips(tmp_path, fmt, sample_claims):
    items = [*load_knowledge()[0], *sample_claims]
    path = tmp_path / f"claims.{EXTENSION[fmt]}"
    dump_to(path, items, fmt)
    assert content(load_claims(path, origin="bundled")) == content(items)
    assert {c.origin for c in load_claims(path)} == {"user"}


def test_claimreview_export_is_detected_in_a_json_file(tmp_path, sample_claims):
    path = tmp_path / "reviews.json"
    dump_to(path, sample_claims, "claimreview")
    assert content(load_claims(path)) == content(sample_claims)
    other = tmp_path / "reviews.txt"
    other.write_text(path.read_text())
    assert content(load_claims(other, fmt="claimreview")) == content(sample_claims)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_export(fmt):
    out = io.StringIO()
    assert dump_claims([], fmt, out) == 0
    assert out.getvalue() == {"jsonl": "", "csv": ",".join(CLAIM_FIELDS) + ",translations\r\n"}.get(fmt, "[]\n")


def test_unknown_export_format():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        dump_claims([], "xml", io.StringIO())


def test_claim_fields_are_to_dict_order(sample_claims):
    assert tuple(sample_claims[0].to_dict()) == CLAIM_FIELDS


# -- CSV ---------------------------------------------------------------------------

GUARDED = {
    "id": "sum-claim", "claim": "=SUM(A1)", "verdict": "false", "summary": "-1 is not a formula here",
    "sources": [{"title": "@handle", "url": "https://a.org/x"}], "aliases": ["+cmd", "pipe|inside"], "tags": ["t1", "t2"],
    "rating_text": "'=quoted",
}


def test_csv_export_guards_formulas_and_encodes_lists():
    out = io.StringIO()
    dump_claims([claim_from_dict(GUARDED)], "csv", out)
    header, row = out.getvalue().split("\r\n")[:2]
    assert header == "id,claim,verdict,rating_text,summary,sources,claimant,claim_date,reviewed_at,tags,aliases,language,translations"
    assert row == (
        "sum-claim,'=SUM(A1),false,''=quoted,'-1 is not a formula here,"
        '"[{""title"": ""@handle"", ""url"": ""https://a.org/x""}]",,,,t1|t2,'
        '"[""+cmd"", ""pipe|inside""]",en,'
    )


def test_csv_round_trips_guarded_cells(tmp_path):
    path = tmp_path / "c.csv"
    claim = claim_from_dict(GUARDED)
    dump_to(path, [claim], "csv")
    assert load_claims(path)[0].to_dict() == claim.to_dict()


def test_csv_hand_written_columns(tmp_path):
    path = write(tmp_path, "c.csv", (
        "\ufeffClaim,Verdict,Summary,source_url,source_title,source_publisher,source_date,aliases,tags\r\n"
        "The sea is boiling,False,It is not.,https://sea.org/temp,Sea temperatures,Met Office,2024-05-01,"
        "sea boils | ocean boiling,Climate|Oceans\r\n"
        "\r\n"
        ",,,,,,,,\r\n"
        "Ice is cold,true,Yes.,,A lab note,,,,\r\n"
    ))
    path_sources = write(tmp_path, "s.csv", (
        "claim,verdict,summary,sources\n"
        'Ice is cold,true,Yes.,https://ice.org/a | A lab note\n'
        'Fire is hot,true,Yes.,"{""url"": ""https://fire.org"", ""publisher"": ""Fire Lab""}"\n'
    ))
    sea, ice = load_claims(path)
    assert sea.sources[0].to_dict() == {
        "title": "Sea temperatures", "publisher": "Met Office", "url": "https://sea.org/temp", "date": "2024-05-01"
    }
    assert sea.aliases == ("sea boils", "ocean boiling") and sea.tags == ("climate", "oceans")
    assert [s.to_dict() for s in ice.sources] == [{"title": "A lab note"}]
    lab, fire = load_claims(path_sources)
    assert [s.to_dict() for s in lab.sources] == [{"title": "https://ice.org/a", "url": "https://ice.org/a"}, {"title": "A lab note"}]
    assert fire.sources[0].publisher == "Fire Lab"


def test_csv_bad_verdict_on_line_4(tmp_path):
    path = write(tmp_path, "c.csv", (
        "claim,verdict,summary,sources\n"
        "one one,true,s,https://a.org\n"
        "two two,false,s,https://a.org\n"
        "three three,maybe,s,https://a.org\n"
    ))
    err = problems_of(path)
    assert [(p.location, p.field) for p in err.problems] == [("line 4", "verdict")]
    assert err.problems[0].message.startswith("unknown verdict 'maybe'")
    assert "line 4: verdict: unknown verdict 'maybe'" in str(err)


def test_csv_lines_are_physical_lines(tmp_path):
    path = write(tmp_path, "c.csv", (
        "claim,verdict,summary,sources\n"
        'one one,true,"a summary\nover\nthree lines",https://a.org\n'
        "two two,true,,https://a.org\n"
    ))
    assert [(p.location, p.field) for p in problems_of(path).problems] == [("line 5", "summary")]


def test_csv_structure_problems(tmp_path):
    path = write(tmp_path, "c.csv", (
        "claim,verdict,summary,sources,alias,claim\n"
        "one one,true,s,https://a.org,x,y,extra\n"
        'two two,true,s,"[{""url"": broken"\n'
        "three three,true,s,https://a.org\n"
    ))
    found = [(p.location, p.field, p.message) for p in problems_of(path).problems]
    assert ("line 1", "alias", "unknown column (did you mean 'aliases'?)") in found
    assert ("line 1", "claim", "appears twice in the header") in found
    assert ("line 2", "", "has 7 cells but the header has 6 columns") in found
    assert any(loc == "line 3" and field == "sources" and "not valid JSON" in msg for loc, field, msg in found)
    assert all(loc != "line 4" for loc, _, _ in found)


def test_csv_without_a_header(tmp_path):
    err = problems_of(write(tmp_path, "c.csv", "The sea is boiling,false,No.,https://a.org\n"))
    assert "the header row lacks claim, verdict, summary, sources" in str(err)


def test_csv_both_source_styles(tmp_path):
    path = write(tmp_path, "c.csv", "claim,verdict,summary,sources,source_url\nabc,true,s,https://a.org,https://b.org\n")
    assert [(p.location, p.field) for p in problems_of(path).problems] == [("line 2", "sources")]


def test_csv_malformed_quoting(tmp_path):
    err = problems_of(write(tmp_path, "c.csv", 'claim,verdict,summary,sources\n"abc"def,true,s,https://a.org\n'))
    assert err.problems[0].location == "line 2" and "invalid CSV" in err.problems[0].message


# -- other formats, read ----------------------------------------------------------

ONE = {"claim": "The moon is made of cheese", "verdict": "false", "summary": "It is rock.", "sources": ["https://nasa.gov/moon"]}


@pytest.mark.parametrize("shape", ["object", "list", "claims"])
def test_json_shapes(tmp_path, shape):
    data = {"object": ONE, "list": [ONE], "claims": {"claims": [ONE]}}[shape]
    (claim,) = load_claims(write(tmp_path, "c.json", json.dumps(data)))
    assert claim.id == "the-moon-is-made-of-cheese" and claim.sources[0].url == "https://nasa.gov/moon"


def test_yaml_shapes_and_native_dates(tmp_path):
    body = "claim: Ice is cold\nverdict: true\nsummary: Yes.\nsources: [A lab note]\nreviewed_at: 2026-11-20\n"
    assert load_claims(write(tmp_path, "one.yml", body))[0].reviewed_at == "2026-11-20"
    listed = "- " + body.replace("\n", "\n  ").rstrip() + "\n"
    assert len(load_claims(write(tmp_path, "list.yaml", listed))) == 1
    nested = "claims:\n  - " + body.replace("\n", "\n    ").rstrip() + "\n"
    assert load_claims(write(tmp_path, "nested.yaml", nested))[0].claim == "Ice is cold"


def test_jsonl_skips_blank_lines(tmp_path):
    path = write(tmp_path, "c.jsonl", "\n" + json.dumps(ONE) + "\n   \n\n" + json.dumps({**ONE, "claim": "Mars is cheese"}) + "\n")
    assert [c.claim for c in load_claims(path)] == ["The moon is made of cheese", "Mars is cheese"]


def test_file_cannot_declare_itself_bundled(tmp_path):
    (claim,) = load_claims(write(tmp_path, "c.json", json.dumps({**ONE, "origin": "bundled"})))
    assert claim.origin == "user"


# -- bad files ---------------------------------------------------------------------


def test_jsonl_line_3_missing_verdict(tmp_path):
    lines = [json.dumps({**ONE, "claim": f"claim number {i}"}) for i in range(1, 5)]
    lines[2] = json.dumps({k: v for k, v in ONE.items() if k != "verdict"})
    err = problems_of(write(tmp_path, "c.jsonl", "\n".join(lines)))
    assert err.problems == [Problem("line 3", "verdict", "is required")]
    assert "line 3" in str(err) and "verdict" in str(err) and "c.jsonl" in str(err)


def test_jsonl_every_problem_listed(tmp_path):
    path = write(tmp_path, "c.jsonl", "\n".join([
        json.dumps({**ONE, "verdict": "sure", "summary": "", "aliases": "x", "sources": [{"url": "ftp://x"}]}),
        "{not json",
        "[1, 2]",
        json.dumps({**ONE, "alais": ["typo"], "id": "Not A Slug"}),
    ]))
    found = [(p.location, p.field) for p in problems_of(path).problems]
    assert found == [
        ("line 1", "verdict"), ("line 1", "summary"), ("line 1", "sources[0].url"),
        ("line 2", ""),
        ("line 3", ""),
        ("line 4", "alais"), ("line 4", "id"),
    ]


def test_yaml_tab_indentation(tmp_path):
    err = problems_of(write(tmp_path, "c.yaml", "claim: Ice is cold\nverdict: true\n\tsummary: Yes.\n"))
    assert err.problems[0].location == "line 3, column 1"
    assert "tab" in err.problems[0].message and "line 3" in str(err)


def test_yaml_records_name_their_line(tmp_path):
    path = write(tmp_path, "c.yaml", (
        "- claim: Ice is cold\n  verdict: true\n  summary: Yes.\n  sources: [Note]\n"
        "- claim: Fire is cold\n  verdict: true\n  sources: [Note]\n"
    ))
    assert problems_of(path).problems == [Problem("record 2 (line 5)", "summary", "is required")]


def test_json_records_and_claims_paths(tmp_path):
    err = problems_of(write(tmp_path, "c.json", json.dumps([ONE, ONE, {**ONE, "verdict": 7}])))
    assert [(p.location, p.field) for p in err.problems] == [("record 2", "id"), ("record 3", "verdict")]
    assert err.problems[0].message == (
        "'the-moon-is-made-of-cheese' (made from the claim text; give one of them an id) is already used by record 1"
    )
    err = problems_of(write(tmp_path, "d.json", json.dumps({"claims": [ONE, {**ONE, "claim": ""}]})))
    assert [(p.location, p.field) for p in err.problems] == [("claims[1]", "claim")]


def test_second_record_duplicating_an_id(tmp_path):
    err = problems_of(write(tmp_path, "c.json", json.dumps([{**ONE, "id": "moon"}, {**ONE, "id": "moon", "claim": "Other"}])))
    assert err.problems == [Problem("record 2", "id", "'moon' is already used by record 1")]


def test_malformed_json_names_line_and_column(tmp_path):
    err = problems_of(write(tmp_path, "c.json", '[\n  {"claim": "x",\n   "verdict" "true"}\n]'))
    assert err.problems == [Problem("line 3, column 14", "", "invalid JSON: Expecting ':' delimiter")]


def test_invalid_utf8(tmp_path):
    err = problems_of(write(tmp_path, "c.jsonl", b'{"claim": "ok"}\n{"claim": "caf\xe9"}\n'))
    assert err.problems == [Problem(
        "line 2", "", "is not UTF-8 text (byte 0xe9 at byte offset 30); save the file as UTF-8"
    )]
    assert "UTF-16" in str(problems_of(write(tmp_path, "d.csv", "claim".encode("utf-16"))))


def test_utf8_byte_order_mark_is_accepted_and_offsets_count_it(tmp_path):
    assert load_claims(write(tmp_path, "c.json", b"\xef\xbb\xbf" + json.dumps(ONE).encode()))[0].verdict is Verdict.FALSE
    err = problems_of(write(tmp_path, "d.json", b"\xef\xbb\xbf\xff"))
    assert "byte offset 3" in str(err)


def test_binary_junk(tmp_path):
    err = problems_of(write(tmp_path, "c.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert "binary" in str(err) or "not UTF-8" in str(err)
    err = problems_of(write(tmp_path, "d.csv", b"claim\x00verdict"))
    assert err.problems == [Problem("line 1", "", "contains a NUL character: this looks like a binary file, not claims")]


@pytest.mark.parametrize("name,body", [
    ("c.json", ""), ("c.jsonl", "\n\n  \n"), ("c.yaml", "# only a comment\n"), ("c.csv", ""), ("c.jsonld", " "),
    ("c.json", "[]"), ("c.yaml", "claims: []"), ("c.csv", "claim,verdict,summary,sources\n"),
])
def test_empty_files(tmp_path, name, body):
    assert "no claims found" in str(problems_of(write(tmp_path, name, body)))


@pytest.mark.parametrize("name,body,message", [
    ("c.json", "42", "expected a claim, a list of claims or {claims: [...]}, not int"),
    ("c.json", '{"claims": "x"}', "claims: must be a list of claims"),
    ("c.jsonld", '{"@type": "WebPage"}', 'no ClaimReview found'),
    ("c.yaml", "a: 1\n---\nb: 2\n", "expected a single document"),
    ("c.yaml", "reviewed_at: 2026-13-45\n", "invalid YAML"),
    ("c.txt", "{}", "cannot tell the format from the name 'c.txt'"),
])
def test_unreadable_files(tmp_path, name, body, message):
    assert message in str(problems_of(write(tmp_path, name, body)))


def test_unknown_format_argument(tmp_path):
    assert "unknown format 'xml'" in str(problems_of(write(tmp_path, "c.json", "{}"), fmt="xml"))


def test_lone_surrogates_are_refused(tmp_path):
    err = problems_of(write(tmp_path, "c.json", json.dumps({**ONE, "aliases": ["ok", "bad \ud800"]})))
    assert err.problems == [Problem("record 1", "aliases[1]", "contains a lone surrogate (invalid Unicode)")]


def test_claimreview_problems_use_claimreview_names(tmp_path):
    page = {"@graph": [{"@type": "ClaimReview", "url": "https://a.org/x"}, {"@type": "ClaimReview", "claimReviewed": "fine claim"}]}
    err = problems_of(write(tmp_path, "c.jsonld", json.dumps(page)))
    assert err.problems == [Problem("ClaimReview 1", "claimReviewed", "is required")]


def test_message_shows_the_first_50_problems(tmp_path):
    err = problems_of(write(tmp_path, "c.jsonl", "\n".join(json.dumps({**ONE, "verdict": "?"}) for _ in range(60))))
    assert len(err.problems) == 60
    assert "line 50: verdict" in str(err) and "line 51" not in str(err)
    assert str(err).endswith("... and 10 more")


# -- fuzzing: bad content only ever raises ImportFileError ----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.sampled_from(CLAIM_FIELDS + ("@type", "ClaimReview")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(CLAIM_FIELDS + ("@type", "@graph", "claims", "x")) | st.text(max_size=4), inner, max_size=5),
    max_leaves=20,
)


def only_import_errors(path):
    try:
        loaded = load_claims(path)
    except ImportFileError as exc:
        assert exc.problems and str(exc)
    else:
        assert loaded


@FAST
@given(data=st.binary(max_size=200), ext=st.sampled_from(sorted(set(EXTENSION.values()))))
def test_random_bytes_only_raise_import_file_error(tmp_path, data, ext):
    only_import_errors(write(tmp_path, f"junk.{ext}", data))


@FAST
@given(value=json_values, ext=st.sampled_from(sorted(set(EXTENSION.values()))))
def test_random_structures_only_raise_import_file_error(tmp_path, value, ext):
    body = json.dumps(value) if ext != "jsonl" else "\n".join(json.dumps(v) for v in (value if isinstance(value, list) else [value]))
    only_import_errors(write(tmp_path, f"junk.{ext}", body))


@FAST
@given(items=claims, fmt=st.sampled_from(FORMATS), data=st.data())
def test_damaged_exports_only_raise_import_file_error(tmp_path, items, fmt, data):
    out = io.StringIO()
    dump_claims(items, fmt, out)
    body = out.getvalue()
    start = data.draw(st.integers(0, len(body)))
    end = data.draw(st.integers(start, min(len(body), start + 20)))
    junk = data.draw(st.text(string.printable + "\t\n\"'[]{}:,|-", max_size=5))
    only_import_errors(write(tmp_path, f"claims.{EXTENSION[fmt]}", body[:start] + junk + body[end:]))
