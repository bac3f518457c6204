"""The claims factbot ships with: readable YAML files in ``knowledge/``, loaded into the store.

The files are the reviewed source; the database is built from them.  Every
problem in every file is collected before anything is reported, so a
contributor fixing a knowledge pull request sees the whole list at once.

``claims/`` holds the claims; ``retired/`` the ids of claims that were split,
merged or renamed, each naming the claims that now stand for it, so an id
that shipped keeps working; ``translations/<lang>/<id>.yaml`` a claim's text
in another language (knowledge/README.md).  A translation written from an
older English text is *stale*: it is reported, and left out until it is
translated again, so a reader never gets a summary the English has since
corrected.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .models import (
    RETIRE_CHANGES,
    SLUG_RE,
    TRANSLATION_FIELDS,
    Claim,
    ClaimError,
    ClaimTranslation,
    Redirect,
    Verdict,
    claim_from_dict,
    language_problem,
    translation_from_dict,
)

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader  # type: ignore[misc,assignment]


@dataclass(frozen=True)
class KnowledgeProblem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field + ': ' if self.field else ''}{self.message}"


class KnowledgeError(ValueError):
    def __init__(self, problems: list[KnowledgeProblem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in knowledge files:\n" + "\n".join(f"  {p}" for p in problems))


def knowledge_dir() -> Path:
    """Where the bundled knowledge lives: inside the installed package, or the checkout's ``knowledge/``."""
    packaged = resources.files("bot") / "knowledge"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "knowledge"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the bundled knowledge/ directory is missing from this installation")


def claim_files(directory: Path) -> list[Path]:
    return sorted(p for p in (directory / "claims").glob("*.y*ml") if p.is_file())


def retired_files(directory: Path) -> list[Path]:
    return sorted(p for p in (directory / "retired").glob("*.y*ml") if p.is_file())


@dataclass(frozen=True)
class Knowledge:
    """What ``knowledge/`` holds: the claims, the retired ids, and a fingerprint of every file.

    It unpacks as ``claims, fingerprint`` as it always did.
    """

    claims: list[Claim]
    fingerprint: str
    retired: list[Redirect]
    stale: list[KnowledgeProblem] = dataclasses.field(default_factory=list)  # translations left out until redone

    def __iter__(self):
        return iter((self.claims, self.fingerprint))

    def __getitem__(self, i: int):
        return (self.claims, self.fingerprint)[i]


def _read_yaml(path: Path, rel: str, digest, problems: list[KnowledgeProblem], what: str = "one claim") -> dict | None:
    """One file's mapping, or None with its problem recorded; every byte goes into the fingerprint."""
    raw = path.read_bytes()
    digest.update(rel.encode() + b"\0" + raw + b"\0")
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
    except UnicodeDecodeError as exc:
        problems.append(KnowledgeProblem(rel, "", f"not UTF-8 (byte {exc.start})"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.append(KnowledgeProblem(rel, "", f"{where}invalid YAML ({getattr(exc, 'problem', exc)})"))
        return None
    if not isinstance(data, dict):
        problems.append(KnowledgeProblem(rel, "", f"must hold {what} as a mapping of fields"))
        return None
    return data


def translation_files(directory: Path) -> list[Path]:
    return sorted(p for p in (directory / "translations").glob("*/*.y*ml") if p.is_file())


def load_knowledge(directory: Path | None = None, *, strict: bool = False) -> Knowledge:
    """All bundled claims (with their current translations), the retired ids, and a fingerprint of the files.

    Every problem in every file is reported at once (KnowledgeError).  A stale translation is not a
    problem that stops the bot: it is listed in ``Knowledge.stale`` and left out, unless ``strict``
    (the knowledge tests, ``factbot knowledge check``) makes it one.
    """
    directory = directory or knowledge_dir()
    claims: list[Claim] = []
    problems: list[KnowledgeProblem] = []
    digest = hashlib.sha256()
    seen: dict[str, str] = {}
    files = claim_files(directory)
    if not files:
        problems.append(KnowledgeProblem(str(directory / "claims"), "", "no claim files (*.yaml) found"))
    for path in files:
        rel = f"claims/{path.name}"
        data = _read_yaml(path, rel, digest, problems)
        if data is None:
            continue
        given_id = str(data.get("id") or "")
        if not given_id:
            problems.append(KnowledgeProblem(rel, "id", "is required in knowledge files (it is the claim's stable address)"))
        elif given_id != path.stem:
            problems.append(KnowledgeProblem(rel, "id", f"{given_id!r} must equal the file name {path.stem!r}"))
        elif given_id in seen:
            problems.append(KnowledgeProblem(rel, "id", f"{given_id!r} is already used by {seen[given_id]}"))
        seen.setdefault(given_id, rel)
        try:
            claim = claim_from_dict(data, origin="bundled")
        except ClaimError as exc:
            problems.extend(KnowledgeProblem(rel, f, m) for f, m in exc.errors if f != "id")
            continue
        claims.append(claim)
    live = {c.id for c in claims} | set(seen)
    retired = _load_retired(directory, live, digest, problems)
    translations, stale = _load_translations(directory, {c.id: c for c in claims}, {r.id: r for r in retired},
                                             digest, problems)
    if strict:
        problems.extend(stale)
    if problems:
        raise KnowledgeError(problems)
    claims = [dataclasses.replace(c, translations=translations[c.id]) if c.id in translations else c for c in claims]
    stands_for: dict[str, list[str]] = {}
    for r in retired:
        for target in r.replaced_by:
            stands_for.setdefault(target, []).append(r.id)
    claims = [dataclasses.replace(c, replaces=tuple(stands_for[c.id])) if c.id in stands_for else c for c in claims]
    return Knowledge(claims, digest.hexdigest(), retired, stale)


_TRANSLATION_FILE_FIELDS = ("id", "language", *TRANSLATION_FIELDS)


def _load_translations(directory: Path, claims: dict[str, Claim], retired: dict[str, Redirect], digest,
                       problems: list[KnowledgeProblem]) -> tuple[dict[str, dict[str, ClaimTranslation]], list[KnowledgeProblem]]:
    """``translations/<lang>/<id>.yaml``, validated like the claims; stale ones apart."""
    found: dict[str, dict[str, ClaimTranslation]] = {}
    stale: list[KnowledgeProblem] = []
    bad_folders: set[str] = set()
    phrasings: dict[tuple[str, str], tuple[str, str]] = {}  # (language, folded text) -> (claim id, file)
    for path in translation_files(directory):
        lang = path.parent.name
        rel = f"translations/{lang}/{path.name}"
        if lang not in bad_folders and (problem := language_problem(lang)):
            bad_folders.add(lang)
            problems.append(KnowledgeProblem(f"translations/{lang}/", "", f"the folder name must be a language code: {problem}"))
        data = _read_yaml(path, rel, digest, problems, "one translation")
        if data is None or lang in bad_folders:
            continue
        before = len(problems)

        def bad(field: str, message: str) -> None:
            problems.append(KnowledgeProblem(rel, field, message))  # noqa: B023 - called in this iteration only

        for key in data:
            if key not in _TRANSLATION_FILE_FIELDS:
                bad(str(key), f"unknown field (a translation has {', '.join(_TRANSLATION_FILE_FIELDS)})")
        cid = str(data.get("id") or "")
        claim = claims.get(cid)
        if not cid:
            bad("id", "is required (the id of the claim it translates)")
        elif cid != path.stem:
            bad("id", f"{cid!r} must equal the file name {path.stem!r}")
        elif cid in retired:
            r = retired[cid]
            bad("id", f"{cid!r} was {r.change} into {', '.join(r.replaced_by)}; translate "
                      f"{'those claims' if len(r.replaced_by) > 1 else 'that claim'} instead and delete this file")
        elif claim is None:
            bad("id", f"{cid!r} names no claim in claims/")
        given_lang = str(data.get("language") or "")
        if given_lang != lang:
            bad("language", f"{given_lang!r} must equal the folder name {lang!r}" if given_lang else "is required")
        try:
            translation = translation_from_dict(data, claim=claim, language=lang, check_stale=False)
        except ClaimError as exc:
            problems.extend(KnowledgeProblem(rel, f, m) for f, m in exc.errors if f != "language")
            continue
        if len(problems) > before or claim is None:
            continue
        for text in translation.texts():
            key = (lang, " ".join(text.casefold().split()))
            other = phrasings.setdefault(key, (cid, rel))
            if other[0] != cid:
                bad("aliases", f"{text!r} is also a phrasing of {other[0]} ({other[1]}); an alias must name one claim")
        if translation.source_digest != claim.source_digest():
            stale.append(KnowledgeProblem(rel, "source_digest", (
                f"stale: written from another version of the English claim and summary "
                f"({translation.source_digest}, now {claim.source_digest()}); translate it again")))
            continue
        found.setdefault(cid, {})[lang] = translation
    return found, stale


_RETIRED_FIELDS = ("id", "change", "replaced_by", "retired_at", "reason", "claim", "verdict")


def _load_retired(directory: Path, live: set[str], digest, problems: list[KnowledgeProblem]) -> list[Redirect]:
    """``retired/<id>.yaml``: an id that shipped, what became of it, and what it last said."""
    out: list[Redirect] = []
    for path in retired_files(directory):
        rel = f"retired/{path.name}"
        data = _read_yaml(path, rel, digest, problems, "one retired claim id")
        if data is None:
            continue
        before = len(problems)

        def bad(field: str, message: str) -> None:
            problems.append(KnowledgeProblem(rel, field, message))  # noqa: B023 - called in this iteration only

        for key in data:
            if key not in _RETIRED_FIELDS:
                bad(str(key), f"unknown field (a retired id has {', '.join(_RETIRED_FIELDS)})")
        rid = str(data.get("id") or "")
        if not rid:
            bad("id", "is required (it is the retired claim's old id)")
        elif rid != path.stem:
            bad("id", f"{rid!r} must equal the file name {path.stem!r}")
        elif not SLUG_RE.fullmatch(rid):
            bad("id", f"{rid!r} is not a slug")
        elif rid in live:
            bad("id", f"{rid!r} still names a claim in claims/; a retired id cannot name a live claim")
        change = str(data.get("change") or "")
        if change not in RETIRE_CHANGES:
            bad("change", f"{change!r} must be one of {', '.join(RETIRE_CHANGES)}" if change else "is required")
        targets = data.get("replaced_by")
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            bad("replaced_by", "must list the ids of the claims that now stand for this one")
            targets = []
        for t in targets:
            if t not in live:
                bad("replaced_by", f"{t!r} is not a claim in claims/ (point at live claims, not at other retired ids)")
        if len(set(targets)) != len(targets):
            bad("replaced_by", "names the same claim twice")
        if change == "split" and len(targets) < 2:
            bad("replaced_by", "a split claim names at least two claims")
        if change in ("merged", "renamed") and len(targets) != 1:
            bad("replaced_by", f"a {change} claim names exactly one claim")
        texts = {}
        for key in ("claim", "reason"):
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                bad(key, "is required" + (" (the claim as it last stood, for correction notices)" if key == "claim" else ""))
            texts[key] = str(value or "").strip()
        verdict = None
        try:
            verdict = Verdict.parse(data.get("verdict") or "")
        except ValueError as exc:
            bad("verdict", f"{exc} (the verdict as it last stood)")
        if len(problems) == before and verdict is not None:
            retired_at: Any = data.get("retired_at")
            out.append(Redirect(id=rid, replaced_by=tuple(targets), change=change, claim=texts["claim"],
                                verdict=verdict, reason=texts["reason"],
                                retired_at=retired_at.isoformat() if hasattr(retired_at, "isoformat") else str(retired_at or "")))
    return out
