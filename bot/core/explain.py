"""The matcher's scores for one check, named: what ``factbot check --explain`` prints.

An operator's diagnostic, in English like the rest of the command line's own output and the logs; what a
reader in a chat sees is worded in ``chat.py`` and translated.
"""

from __future__ import annotations

from .models import CheckResult
from .normalize import display_text


def explain_lines(result: CheckResult, semantic_status: str = "") -> list[str]:
    """One line per candidate with its score parts, and whether matching by meaning was on."""
    lines: list[str] = []
    semantic = any(c.vector is not None for c in result.candidates)
    lines.append("Scores (bm25 = lexical retrieval, coverage = share of the message's informative words the claim covers,")
    lines.append("        fuzzy = rapidfuzz token_sort_ratio of the best phrasing, score = decision confidence):")
    if semantic:
        lines.append("        lexical = lexical confidence, vector = cosine of the message and the nearest phrasing;")
        lines.append("        score fuses the two (docs/semantic.md)")
    for c in result.candidates:
        line = (
            f"  {c.claim.id}: score {c.score:.3f} · bm25 {c.lexical:.2f} · coverage {c.coverage:.2f} · fuzzy {c.fuzzy:.0f}"
        )
        if c.vector is not None:
            line += f" · lexical {c.lexical_score or 0.0:.3f} · vector {c.vector:.3f}"
        line += f" · matched “{display_text(c.matched_text, 80)}”"
        if c.vector is not None and c.vector_text and c.vector_text != c.matched_text:
            line += f" · nearest in meaning “{display_text(c.vector_text, 80)}”"
        if c.duplicates:
            line += f" · same claim also filed as {', '.join(c.duplicates)}"
        lines.append(line)
    if not semantic_status and not semantic:
        from .embeddings import ENABLE_HINT, semantic_available

        semantic_status = (
            "off (see `factbot model info`)" if semantic_available() else f"off; to enable it, {ENABLE_HINT}"
        )
    if semantic_status:
        lines.append(f"Matching by meaning: {semantic_status}")
    return lines
