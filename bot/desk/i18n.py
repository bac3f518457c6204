"""The desk's own words in the reader's language: the Babel catalogs ``bot/locale/<lang>/LC_MESSAGES/desk.po``.

The desk has a catalog domain of its own (``desk``, template ``bot/locale/desk.pot``) beside the bot's
(``factbot``): the words of a web page for fact-checkers are not the words of a chat reply, and the two are
translated and reviewed apart. The languages are the bot's (``bot.core.i18n.LANGUAGES``), and so is the way a
catalog is read (a checkout compiles the ``.po`` in memory, a wheel carries the ``.mo``).

Templates use Jinja2's i18n extension (``{% trans %}…{% endtrans %}`` and ``_("…")``), whose callables each
request gets for its own language; Python code marks its messages with ``L_``/``nL_`` (lazy: what a flash
message keeps in the session is the English and its values, translated when it is shown). The extraction:
``pybabel extract -F bot/desk/babel.cfg -k L_ -k nL_:1,2 …`` (docs/localisation.md).

The reader's language: the account's setting (the *Account* page), else the browser's ``Accept-Language``,
else English. A translation that lost or renamed a placeholder is never shown: the English is.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import logging
import re
from collections.abc import Mapping
from typing import Any

from babel import Locale

from ..core import i18n as core_i18n
from ..core.i18n import DEFAULT_LOCALE, LANGUAGES, negotiate

log = logging.getLogger("factbot.desk")

DOMAIN = "desk"
KEYWORDS: dict[str, Any] = {"L_": None, "nL_": (1, 2)}  # pybabel extract -k L_ -k nL_:1,2
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def L_(msgid: str, /, **params: Any) -> dict[str, Any]:
    """A message to translate when shown (kept in the session as plain data)."""
    return {"m": msgid, "p": params}


def nL_(singular: str, plural: str, n: int, /, **params: Any) -> dict[str, Any]:
    return {"m": singular, "pl": plural, "n": n, "p": {"n": n, **params}}


@functools.cache
def _catalog(tag: str) -> _gettext.NullTranslations:
    return core_i18n.load_catalog(tag, DOMAIN)


def _same_placeholders(english: str, translated: str) -> bool:
    return sorted(set(_PLACEHOLDER.findall(english))) == sorted(set(_PLACEHOLDER.findall(translated)))


class DeskTranslator:
    """One language's desk words; ``gettext``/``ngettext`` return the unfilled text (Jinja fills it)."""

    def __init__(self, tag: str):
        self.tag = tag
        self._t = _catalog(tag) if tag != DEFAULT_LOCALE else _gettext.NullTranslations()

    def gettext(self, message: str) -> str:
        translated = self._t.gettext(message)
        if translated != message and not _same_placeholders(message, translated):
            log.warning("desk catalog %s: the translation of %r lost a placeholder; English shown", self.tag, message)
            return message
        return translated

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        translated = self._t.ngettext(singular, plural, n)
        english = singular if n == 1 else plural
        if translated not in (singular, plural) and not set(_PLACEHOLDER.findall(translated)) <= set(
                _PLACEHOLDER.findall(singular + plural)):
            log.warning("desk catalog %s: the translation of %r has an unknown placeholder; English shown",
                        self.tag, singular)
            return english
        return translated

    def render(self, lazy: Mapping[str, Any] | str) -> str:
        """A message made with ``L_``/``nL_`` (or plain text, shown as it is)."""
        if isinstance(lazy, str):
            return lazy
        params = dict(lazy.get("p") or {})
        if "pl" in lazy:
            text = self.ngettext(lazy["m"], lazy["pl"], int(lazy.get("n") or 0))
        else:
            text = self.gettext(lazy["m"])
        try:
            return text % params if params or "%(" in text else text
        except (KeyError, ValueError, TypeError):
            return lazy["m"] % params if params else lazy["m"]

    def name_of(self, tag: str) -> str:
        """A language as this reader's language names it ("Spanisch" for a German reader), else its tag."""
        try:
            return Locale.parse(tag, sep="-").get_display_name(Locale.parse(self.tag, sep="-")) or tag
        except (ValueError, TypeError):
            return tag

    def language_name(self, tag: str) -> str:
        """A language named in itself ("español", "日本語"), as a language menu shows it."""
        try:
            loc = Locale.parse(tag, sep="-")
            return loc.get_display_name(loc) or tag
        except (ValueError, TypeError):
            return tag


@functools.cache
def translator(tag: str | None) -> DeskTranslator:
    return DeskTranslator(negotiate(tag) or DEFAULT_LOCALE)


def accepted(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first (q=0 and ``*`` left out)."""
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        tag = tag.strip()
        if tag and tag != "*" and q > 0:
            wanted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(wanted)]


def choose(setting: str | None, accept_language: str) -> str:
    """The desk's language for a reader: the account's setting, else the browser's, else English."""
    if setting and (found := negotiate(setting)):
        return found
    for tag in accepted(accept_language):
        if found := negotiate(tag):
            return found
    return DEFAULT_LOCALE


__all__ = ["DOMAIN", "KEYWORDS", "LANGUAGES", "DeskTranslator", "L_", "accepted", "choose", "nL_", "translator"]
