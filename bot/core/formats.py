"""Claim files in and out: YAML, JSON, JSON lines, CSV and schema.org ClaimReview.

Imports are all or nothing, so a file is parsed and every record validated
before anything is returned, and ImportFileError lists every problem with its
line or record and field: whoever fixes a spreadsheet of 500 claims should see
the whole list at once, not one error per attempt.  Every export reads back to
the same claims, so ``export`` then ``import`` is a safe way to edit in bulk.
docs/formats.md describes each format.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from .claimreview import (
    FIELD_NAMES,
    _text,
    claim_to_claimreviews,
    claimreview_to_record,
    claimreview_to_translation,
    iter_claimreviews,
    translation_of,
)
from .models import Claim, ClaimError, claim_from_dict

try:
    _Loader, _Dumper = yaml.CSafeLoader, yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader, _Dumper = yaml.SafeLoader, yaml.SafeDumper  # type: ignore[assignment]

FORMATS = ("yaml", "json", "jsonl", "csv", "claimreview")
_EXTENSIONS = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
    ".jsonld": "claimreview",
}
# The order of Claim.to_dict(), which is also the CSV header factbot writes.
CLAIM_FIELDS = (
    "id", "claim", "verdict", "rating_text", "summary", "sources", "claimant", "claim_date", "reviewed_at",
    "tags", "aliases", "language",
)
_META_FIELDS = ("created_at", "updated_at", "origin")  # accepted so a to_dict(include_meta=True) dump re-imports
# A claim's text in other languages: {lang: {claim, summary, aliases, source_digest}}; in CSV, one JSON cell.
TRANSLATIONS = "translations"
CSV_FIELDS = CLAIM_FIELDS + (TRANSLATIONS,)
CSV_SOURCE_COLUMNS = ("source_url", "source_title", "source_publisher", "source_date")
_CSV_LIST_COLUMNS = ("aliases", "tags")
_CSV_REQUIRED = ("claim", "verdict", "summary")
MAX_SHOWN = 50

# A cell a spreadsheet would run as a formula (OWASP's list); the export prefixes "'".
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an import file, where to find it and what field it is in."""

    location: str  # "line 7", "record 3", "claims[2]", "ClaimReview 1"; "" for the whole file
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.location, self.field, self.message) if part)


class ImportFileError(ValueError):
    """A claim file cannot be imported; ``problems`` lists all of it, the message the first 50."""

    def __init__(self, path: str | Path, problems: Sequence[Problem]):
        self.path = str(path)
        self.problems = list(problems)
        lines = [f"  {p}" for p in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"  ... and {len(self.problems) - MAX_SHOWN} more")
        super().__init__(f"{self.path}: {len(self.problems)} problem(s):\n" + "\n".join(lines))


class _Unreadable(Exception):
    """The file as a whole cannot be read as claims; no record-by-record report is possible."""

    def __init__(self, *problems: Problem):
        self.problems = list(problems)


@dataclass(frozen=True)
class _Record:
    location: str
    data: Any
    field_names: Mapping[str, str] = field(default_factory=dict)  # the file's own names for claim fields


# -- loading ---------------------------------------------------------------------


def load_claims(path: str | Path, *, fmt: str | None = None, origin: str = "user") -> list[Claim]:
    """Every claim in the file, or ImportFileError listing every problem in it."""
    path = Path(path)
    try:
        parse = _PARSERS[_format_of(path, fmt)]
        items = list(parse(_read_text(path)))
    except _Unreadable as exc:
        raise ImportFileError(path, exc.problems) from None
    claims, problems = _build(items, origin)
    if not claims and not problems:
        problems = [Problem("", "", "no claims found")]
    if problems:
        raise ImportFileError(path, problems)
    return claims


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt in FORMATS:
        return fmt
    if fmt:
        raise _Unreadable(Problem("", "", f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})"))
    try:
        return _EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise _Unreadable(Problem("", "", f"cannot tell the format from the name {path.name!r}; "
                                  f"give one of {', '.join(FORMATS)} with --format")) from None


def _read_text(path: Path) -> str:
    """The file as text, refusing what is not UTF-8 (Excel's UTF-8 byte order mark is fine)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _Unreadable(Problem("", "", f"cannot read the file ({exc.strerror or exc})")) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _Unreadable(Problem("byte 0", "", "is UTF-16 text; save the file as UTF-8"))
    skip = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = raw.count(b"\n", 0, offset) + 1
        raise _Unreadable(Problem(
            f"line {line}", "",
            f"is not UTF-8 text (byte 0x{raw[offset]:02x} at byte offset {offset}); save the file as UTF-8",
        )) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise _Unreadable(Problem(f"line {text.count(chr(10), 0, nul) + 1}", "",
                                  "contains a NUL character: this looks like a binary file, not claims"))
    if not text.strip():
        raise _Unreadable(Problem("", "", "no claims found (the file is empty)"))
    return text


def _build(items: Iterable[_Record | Problem], origin: str) -> tuple[list[Claim], list[Problem]]:
    """Validate every record, collecting every problem, duplicate ids included."""
    claims: list[Claim] = []
    problems: list[Problem] = []
    first_use: dict[str, str] = {}
    for item in items:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        try:
            claim = claim_from_dict(_without_origin(item.data), origin=origin)
        except ClaimError as exc:
            problems.extend(Problem(item.location, item.field_names.get(f, f), m) for f, m in exc.errors)
            continue
        problems.extend(Problem(item.location, f, m) for f, m in _unstorable(claim))
        first = first_use.setdefault(claim.id, item.location)
        if first != item.location:
            made = "" if item.data.get("id") else " (made from the claim text; give one of them an id)"
            problems.append(Problem(item.location, "id", f"{claim.id!r}{made} is already used by {first}"))
        claims.append(claim)
    return claims, problems


def _without_origin(data: Any) -> Any:
    """Where a claim comes from is the importer's to say, not the file's (a file cannot pose as bundled)."""
    return {k: v for k, v in data.items() if k != "origin"} if isinstance(data, Mapping) else data


def _unstorable(claim: Claim) -> Iterator[tuple[str, str]]:
    """NULs and lone surrogates (JSON's "\\ud800") the model lets through in lists and sources.

    Neither can be written to SQLite or a UTF-8 file, so they would fail later, far from the file.
    """
    for name, value in claim.to_dict().items():
        if name == TRANSLATIONS:
            continue  # translation_from_dict checks every text of a translation itself
        for i, item in enumerate(value if isinstance(value, list) else [value]):
            where = f"{name}[{i}]" if isinstance(value, list) else name
            for text in item.values() if isinstance(item, dict) else [item]:
                if "\x00" in text:
                    yield where, "contains a NUL character"
                elif not _is_utf8(text):
                    yield where, "contains a lone surrogate (invalid Unicode)"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain(location: str, data: Any) -> Iterator[_Record | Problem]:
    """A factbot record, with a problem for each field factbot does not know (usually a typo)."""
    if isinstance(data, Mapping):
        for key in data:
            if key not in CLAIM_FIELDS + _META_FIELDS + (TRANSLATIONS,):
                yield Problem(location, str(key), "unknown field" + _did_you_mean(str(key), CLAIM_FIELDS + (TRANSLATIONS,)))
    yield _Record(location, data)


def _did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.lower(), choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _document(data: Any, lines: Sequence[int] = ()) -> Iterator[_Record | Problem]:
    """The records of a JSON or YAML document: one claim, a list of them, or ``{claims: [...]}``."""

    def at(label: str, i: int) -> str:
        return f"{label} (line {lines[i]})" if i < len(lines) else label

    if isinstance(data, list):
        for i, item in enumerate(data):
            yield from _plain(at(f"record {i + 1}", i), item)
    elif isinstance(data, Mapping) and "claims" in data and "claim" not in data:
        if not isinstance(data["claims"], list):
            raise _Unreadable(Problem("", "claims", "must be a list of claims"))
        for i, item in enumerate(data["claims"]):
            yield from _plain(at(f"claims[{i}]", i), item)
    elif isinstance(data, Mapping):
        yield from _plain(at("record 1", 0), data)
    else:
        raise _Unreadable(Problem("", "", f"expected a claim, a list of claims or {{claims: [...]}}, "
                                          f"not {type(data).__name__}"))


def _parse_yaml(text: str) -> Iterator[_Record | Problem]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        hint = " (indent with spaces, not tabs)" if "tab" in what else ""
        mark = exc.problem_mark or exc.context_mark
        raise _Unreadable(Problem(_position(mark), "", f"invalid YAML: {what}{hint}")) from None
    except (yaml.YAMLError, ValueError, OverflowError, RecursionError) as exc:
        # Constructors raise ValueError for a date like 2026-13-45 or an integer of 5000 digits.
        raise _Unreadable(Problem("", "", f"invalid YAML: {_reason(exc)}")) from None
    finally:
        loader.dispose()
    if data is None or node is None:
        raise _Unreadable(Problem("", "", "no claims found"))
    return _document(data, _item_lines(node))


def _position(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _item_lines(node: yaml.Node) -> list[int]:
    """The line each claim starts on, in the order _document reads them."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "claims" and isinstance(value, yaml.SequenceNode):
                return _item_lines(value)
        return [node.start_mark.line + 1]
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    return []


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Unreadable(Problem(f"line {exc.lineno}, column {exc.colno}", "", f"invalid JSON: {exc.msg}")) from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert, nesting too deep
        raise _Unreadable(Problem("", "", f"invalid JSON: {_reason(exc)}")) from None


def _reason(exc: Exception) -> str:
    """The part of a parser's complaint that helps the person holding the file (not Python's advice)."""
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]


def _parse_json(text: str) -> Iterator[_Record | Problem]:
    data = _load_json(text)
    return _claimreviews(data) if _is_jsonld(data) else _document(data)


def _parse_claimreview(text: str) -> Iterator[_Record | Problem]:
    return _claimreviews(_load_json(text))


def _is_jsonld(data: Any) -> bool:
    nodes = data if isinstance(data, list) else [data]
    return any(isinstance(n, Mapping) and not {"@context", "@type", "@graph"}.isdisjoint(n) for n in nodes)


def _claimreviews(data: Any) -> Iterator[_Record | Problem]:
    """One record per original review; a review with ``translationOfWork`` joins the one it translates."""
    reviews = list(iter_claimreviews(data))
    if not reviews:
        raise _Unreadable(Problem("", "", 'no ClaimReview found (no node has "@type": "ClaimReview")'))
    records: list[tuple[str, dict]] = []
    by_id: dict[str, dict] = {}
    translations: list[tuple[str, str, Mapping]] = []
    for i, review in enumerate(reviews, 1):
        location = f"ClaimReview {i}"
        target = translation_of(review)
        if target:
            translations.append((location, target, review))
            continue
        record = claimreview_to_record(review)
        records.append((location, record))
        if _text(review.get("@id")):
            by_id[_text(review.get("@id"))] = record
    for location, target, review in translations:
        original = by_id.get(target)
        if original is None:
            yield Problem(location, "translationOfWork", f"translates {target!r}, which is not a ClaimReview in this file")
            continue
        language, translation = claimreview_to_translation(review)
        if not language:
            yield Problem(location, "inLanguage", "a translated ClaimReview must say its language")
            continue
        if language in original.setdefault("translations", {}):
            yield Problem(location, "inLanguage", f"a second {language!r} translation of the same ClaimReview")
            continue
        original["translations"][language] = translation
    for location, record in records:
        yield _Record(location, record, FIELD_NAMES)


def _parse_jsonl(text: str) -> Iterator[_Record | Problem]:
    """One JSON object a line; only "\\n" ends a line (JSON text may hold U+2028 and friends)."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        location = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(location, "", f"invalid JSON at column {exc.colno}: {exc.msg}")
        except (ValueError, RecursionError) as exc:
            yield Problem(location, "", f"invalid JSON: {_reason(exc)}")
        else:
            yield from _plain(location, data)


def _parse_csv(text: str) -> Iterator[_Record | Problem]:
    """A header row, then a claim a row; locations are the physical line a row starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    line_after = 0
    try:
        for row in reader:
            start, line_after = line_after + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header:
                yield from _csv_record(f"line {start}", header, row)
            else:
                header = [cell.strip().lower() for cell in row]
                yield from _check_header(header, f"line {start}")
    except csv.Error as exc:
        raise _Unreadable(Problem(f"line {reader.line_num}", "", f"invalid CSV: {exc}")) from None


_CSV_COLUMNS = CSV_FIELDS + CSV_SOURCE_COLUMNS + _META_FIELDS


def _check_header(header: list[str], location: str) -> Iterator[Problem]:
    problems = [Problem(location, name, "unknown column" + _did_you_mean(name, _CSV_COLUMNS))
                for name in header if name not in _CSV_COLUMNS]
    problems += [Problem(location, name, "appears twice in the header")
                 for i, name in enumerate(header) if name in header[:i]]
    missing = [name for name in _CSV_REQUIRED if name not in header]
    if not {"sources", "source_url", "source_title"} & set(header):
        missing.append("sources (or source_url / source_title)")
    if missing:
        problems.append(Problem(location, "", f"the header row lacks {', '.join(missing)}; is the first row a header?"))
        raise _Unreadable(*problems)
    yield from problems


def _csv_record(location: str, header: list[str], row: list[str]) -> Iterator[_Record | Problem]:
    if len(row) > len(header):
        yield Problem(location, "", f"has {len(row)} cells but the header has {len(header)} columns")
    cells = {name: _unguard(cell.strip()) for name, cell in zip(header, row, strict=False) if name in _CSV_COLUMNS and cell.strip()}
    record: dict[str, Any] = {k: v for k, v in cells.items() if k in CLAIM_FIELDS + _META_FIELDS}
    if TRANSLATIONS in cells:
        try:
            record[TRANSLATIONS] = json.loads(cells[TRANSLATIONS])
        except (ValueError, RecursionError) as exc:
            yield Problem(location, TRANSLATIONS, f"must be a JSON object of translations ({_reason(exc)})")
    for name in _CSV_LIST_COLUMNS:
        if name in cells:
            record[name] = _split_list(cells[name])
    single = {name.removeprefix("source_"): cells[name] for name in CSV_SOURCE_COLUMNS if name in cells}
    if "sources" in cells and single:
        yield Problem(location, "sources", "fill either the sources column or the source_* columns, not both")
    if "sources" in cells:
        try:
            record["sources"] = json.loads(cells["sources"]) if cells["sources"][0] in "[{" else _split_list(cells["sources"])
        except (ValueError, RecursionError) as exc:
            del record["sources"]
            yield Problem(location, "sources", f"starts like JSON but is not valid JSON ({_reason(exc)})")
    elif single:
        record["sources"] = [single]
    yield _Record(location, record)


def _split_list(cell: str) -> list[Any]:
    """A list cell: a JSON array when it parses as one, else items separated by "|"."""
    if cell.startswith("["):
        try:
            value = json.loads(cell)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, list):
            return value
    return [part.strip() for part in cell.split("|")]


def _unguard(cell: str) -> str:
    """Undo the export's formula guard, so "'=1+1" reads back as "=1+1"."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell[1:]) else cell


_PARSERS: dict[str, Callable[[str], Iterable[_Record | Problem]]] = {
    "yaml": _parse_yaml, "json": _parse_json, "jsonl": _parse_jsonl, "csv": _parse_csv,
    "claimreview": _parse_claimreview,
}


# -- dumping ---------------------------------------------------------------------


def dump_claims(claims: Iterable[Claim], fmt: str, stream: TextIO) -> int:
    """Write the claims to ``stream`` one at a time (a million of them never sit in memory); returns how many."""
    try:
        write = _WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})") from None
    return write(claims, stream)


def _dump_jsonl(claims: Iterable[Claim], stream: TextIO) -> int:
    count = 0
    for count, claim in enumerate(claims, 1):  # noqa: B007 - the last number is the count returned
        stream.write(json.dumps(claim.to_dict(), ensure_ascii=False) + "\n")
    return count


def _dump_json(claims: Iterable[Claim], stream: TextIO) -> int:
    return _json_array((claim.to_dict() for claim in claims), stream)


def _dump_claimreview(claims: Iterable[Claim], stream: TextIO) -> int:
    """Every claim's ClaimReview, each followed by one per translation; returns how many claims."""
    count = 0

    def reviews() -> Iterator[dict]:
        nonlocal count
        for claim in claims:
            count += 1
            yield from claim_to_claimreviews(claim)

    _json_array(reviews(), stream)
    return count


def _json_array(objects: Iterable[dict], stream: TextIO) -> int:
    count = 0
    for count, obj in enumerate(objects, 1):
        body = json.dumps(obj, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        stream.write(("[" if count == 1 else ",") + "\n  " + body)
    stream.write("\n]\n" if count else "[]\n")
    return count


def _dump_yaml(claims: Iterable[Claim], stream: TextIO) -> int:
    """A YAML list written item by item: consecutive "- ..." blocks read back as one list."""
    count = 0
    for count, claim in enumerate(claims, 1):  # noqa: B007 - the last number is the count returned
        yaml.dump([claim.to_dict()], stream, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    if not count:
        stream.write("[]\n")
    return count


def _dump_csv(claims: Iterable[Claim], stream: TextIO) -> int:
    # The csv module's \r\n line ends (RFC 4180) also make it quote a bare \r inside a cell.
    writer = csv.writer(stream)
    writer.writerow(CSV_FIELDS)
    count = 0
    for count, claim in enumerate(claims, 1):  # noqa: B007 - the last number is the count returned
        data = claim.to_dict()
        row = [_guard(_csv_cell(name, data[name])) for name in CLAIM_FIELDS]
        row.append(json.dumps(data[TRANSLATIONS], ensure_ascii=False) if TRANSLATIONS in data else "")
        writer.writerow(row)
    return count


def _csv_cell(name: str, value: Any) -> str:
    if name == "sources":
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return _join_list(value)
    return value


def _join_list(items: list[str]) -> str:
    """Items joined by "|", or a JSON array when that would be ambiguous (an item holds "|" or starts "[")."""
    if any("|" in item for item in items) or (items and items[0].startswith("[")):
        return json.dumps(items, ensure_ascii=False)
    return "|".join(items)


def _guard(cell: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection); import strips the "'"."""
    return "'" + cell if _FORMULA.match(cell) else cell


_WRITERS: dict[str, Callable[[Iterable[Claim], TextIO], int]] = {
    "jsonl": _dump_jsonl, "json": _dump_json, "yaml": _dump_yaml, "csv": _dump_csv, "claimreview": _dump_claimreview,
}


def parse_batch_line(line: str) -> dict[str, Any]:
    """One ``factbot check --batch`` line: an object with a "text" string, or ValueError saying what is wrong.

    Nesting too deep for the JSON parser (a line of 100,000 brackets) is a bad line like any other, not the end of
    the batch.
    """
    try:
        item = json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ValueError('each line must be an object with a "text" string')
    return item
