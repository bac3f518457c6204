"""The claims factbot ships with: readable YAML files in ``knowledge/``, loaded into the store.

The files are the reviewed source; the database is built from them.  Every
problem in every file is collected before anything is reported, so a
contributor fixing a knowledge pull request sees the whole list at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from .models import Claim, ClaimError, claim_from_dict

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader


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


def load_knowledge(directory: Path | None = None) -> tuple[list[Claim], str]:
    """All bundled claims and a fingerprint of the files (changes when any file changes)."""
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
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        try:
            data = yaml.load(raw.decode("utf-8"), Loader=_Loader)
        except UnicodeDecodeError as exc:
            problems.append(KnowledgeProblem(rel, "", f"not UTF-8 (byte {exc.start})"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problems.append(KnowledgeProblem(rel, "", f"{where}invalid YAML ({getattr(exc, 'problem', exc)})"))
            continue
        if not isinstance(data, dict):
            problems.append(KnowledgeProblem(rel, "", "must hold one claim as a mapping of fields"))
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
    if problems:
        raise KnowledgeError(problems)
    return claims, digest.hexdigest()
