"""The bot's own words in the reader's language: gettext catalogs managed with Babel.

The catalogs are ``bot/locale/<lang>/LC_MESSAGES/factbot.po`` (the template is
``bot/locale/factbot.pot``); docs/localisation.md says how translators update them.
A built wheel carries them compiled (``factbot.mo``, by the build hook in
``hatch_build.py``); a source checkout or an editable install has only the ``.po``
files, and they are compiled in memory the first time a language is used, so an
edited catalog is read as it is now, never from a stale ``.mo``.

How the core uses it::

    from bot.core.i18n import N_, nN_, translator

    NOT_FOUND = N_("No verified claim matches exactly.")      # marked; English as a str

    t = translator("es")                                      # or resolve_locale(...)
    t.gettext(NOT_FOUND)                                      # "Ninguna afirmación verificada coincide exactamente."
    t.gettext("Watch mode is on in %(channel)s.", channel=name)
    t.ngettext("%(n)s claim changed", "%(n)s claims changed", count)
    t.pgettext("verdict", "False")                           # short words get a context
    t.percent(0.4), t.number(4000), t.date("2026-03-12")      # "40 %", "4000", "12 mar 2026"

For templates whose placeholders are filled afterwards (the reply model's
``rich(template, **values)`` with ``{name}``, ``**bold**`` and `` `code` ``)::

    _ = gettext("es")                                         # a function, as gettext's own ``_``
    rich(_("Watch mode is **on** in {channel}."), channel=...)
    n_ = ngettext("es"); n_("…and {n} more", "…and {n} more", n)

Placeholders are ``%(name)s`` (gettext's ``python-format``) when this module fills
them, ``{name}`` when ``rich`` does; a translation that lost, renamed or added one
(or broke a bold or code run) falls back to the English text instead of failing the reply.  Integers
and floats given as parameters are shown with the locale's digit grouping
wherever a placeholder says ``s``: pass a year or an id as a string.

The language of a reply is chosen by ``resolve`` / ``resolve_locale``: the
channel's setting, else the server's or workspace's, else the platform's locale,
else the language the message was written in, else English.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext as _gettext
import io
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.numbers import format_decimal as _format_decimal
from babel.numbers import format_percent as _format_percent

log = logging.getLogger("factbot.i18n")

DOMAIN = "factbot"
DEFAULT_LOCALE = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

# The languages factbot speaks, as BCP 47 tags, in the order they are listed to users.
# A new language is a catalog under bot/locale and one entry here (docs/localisation.md).
LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "pt", "ja", "zh-Hans")

# Marker functions for extraction, beside Babel's defaults (_, gettext, ngettext, pgettext, N_ ...).
# `pybabel extract` needs the same list: -k nN_:1,2 -k pN_:1c,2 (docs/localisation.md).
KEYWORDS: dict[str, Any] = {"nN_": (1, 2), "pN_": ((1, "c"), 2)}


# -- marked messages ----------------------------------------------------------------------


class Message(str):
    """A marked message: its English text when used as a ``str``; ``Translator.text`` gives it in a language.

    Made by ``N_``, ``nN_`` and ``pN_`` where the language is not known yet: at module level, or in
    the core's models (a check result's notice), so one value serves the log (English) and the reply.
    """

    msgid: str
    plural: str | None
    n: int | None
    context: str | None
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, *, plural: str | None = None, n: int | None = None, context: str | None = None,
                params: Mapping[str, Any] | None = None) -> Message:
        values = dict(params or {})
        if plural is not None:
            values.setdefault("n", n)
        english = plural if plural is not None and n != 1 else msgid
        obj = super().__new__(cls, _format(english, _localised(values, DEFAULT_LOCALE), english) if values else english)
        obj.msgid, obj.plural, obj.n, obj.context, obj.params = msgid, plural, n, context, values
        return obj

    def __reduce__(self):
        return (_rebuild, (self.msgid, self.plural, self.n, self.context, dict(self.params)))


def _rebuild(msgid, plural, n, context, params) -> Message:
    return Message(msgid, plural=plural, n=n, context=context, params=params)


def N_(msgid: str, /, **params: Any) -> Message:
    """Mark a message for the catalogs, to be translated later (English until then)."""
    return Message(msgid, params=params)


def nN_(singular: str, plural: str, n: int, /, **params: Any) -> Message:
    """Mark a message with a plural form; ``%(n)s`` is the count."""
    return Message(singular, plural=plural, n=n, params=params)


def pN_(context: str, msgid: str, /, **params: Any) -> Message:
    """Mark a message with a context (for short words: ``pN_("verdict", "False")``)."""
    return Message(msgid, context=context, params=params)


# -- formatting ----------------------------------------------------------------------------


class _Int(int):
    """An int that prints with the locale's grouping under ``%s`` and stays an int under ``%d``."""

    shown: str

    def __str__(self) -> str:
        return self.shown


class _Float(float):
    shown: str

    def __str__(self) -> str:
        return self.shown


def _localised(params: Mapping[str, Any], locale: Locale | str) -> dict[str, Any]:
    """Numbers among the parameters, wrapped to print with the locale's digit grouping."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or isinstance(v, (_Int, _Float)):
            out[k] = v
            continue
        wrapped = _Int(v) if isinstance(v, int) else _Float(v)
        wrapped.shown = _format_decimal(v, locale=locale)
        out[k] = wrapped
    return out


def _format(template: str, params: Mapping[str, Any], fallback: str) -> str:
    try:
        return template % params
    except (KeyError, ValueError, TypeError):
        if template is fallback:
            raise
        log.warning("translation does not fit its placeholders, English used", extra={"msgid": fallback})
        return fallback % params


_BRACES = re.compile(r"\{(\w+)\}")
_PERCENT = re.compile(r"%\((\w+)\)")


def placeholders(text: str) -> list[str]:
    """The named placeholders of a message, either style (``{name}``, ``%(name)s``), sorted."""
    return sorted(_BRACES.findall(text) + _PERCENT.findall(text))


def markup(text: str) -> tuple[int, int]:
    """How many ``**`` and backticks a message has: a translation keeps its bold and code runs whole."""
    return text.count("**"), text.count("`")


def _same_shape(english: str, translated: str, *, plural_form: bool = False) -> bool:
    if translated is english or translated == english:
        return True
    if markup(translated)[0] % 2 or markup(translated)[1] % 2:
        return False
    if plural_form:  # one form may leave the count out ("one claim"); none may add a name
        return set(placeholders(translated)) <= set(placeholders(english))
    return placeholders(translated) == placeholders(english)


def _broken(english: str) -> str:
    log.warning("translation does not fit its placeholders or markup, English used", extra={"msgid": english})
    return english


def _as_date(value: dt.date | dt.datetime | str) -> dt.date | dt.datetime:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value).strip()
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- one language ----------------------------------------------------------------------------


class Translator:
    """The catalog of one language, with Babel's formatting for its locale."""

    def __init__(self, tag: str, translations: _gettext.NullTranslations):
        self.locale = tag  # BCP 47: "es", "zh-Hans"
        self.babel_locale = Locale.parse(tag, sep="-")
        self.language = self.babel_locale.language  # "zh" for "zh-Hans": the language subtag alone
        self._t = translations
        self._checked: dict[tuple[str | None, str], str] = {}

    def __repr__(self) -> str:
        return f"<Translator {self.locale}>"

    def _fill(self, translated: str, english: str, params: Mapping[str, Any]) -> str:
        return _format(translated, _localised(params, self.babel_locale), english) if params else translated

    # The names pybabel extracts by default, so `t.gettext("...")` is found in the code as it is.
    def gettext(self, message: str, /, **params: Any) -> str:
        """``message`` in this language; with ``params``, its placeholders filled (else a template to fill)."""
        if isinstance(message, Message):
            return self.text(message, **params)
        if not params:
            return self.template(message)
        return self._fill(self._t.gettext(message), message, params)

    _ = gettext

    def ngettext(self, singular: str, plural: str, n: int, /, **params: Any) -> str:
        values = {"n": n, **params}
        return self._fill(self._t.ngettext(singular, plural, n), singular if n == 1 else plural, values)

    def pgettext(self, context: str, message: str, /, **params: Any) -> str:
        return self._fill(self._t.pgettext(context, message), message, params)

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
        values = {"n": n, **params}
        return self._fill(self._t.npgettext(context, singular, plural, n), singular if n == 1 else plural, values)

    def text(self, message: str, /, **params: Any) -> str:
        """A marked ``Message`` (or a plain msgid) in this language."""
        if not isinstance(message, Message):
            return self._fill(self._t.gettext(message), message, params)
        values = {**message.params, **params}
        english = message.plural if message.plural is not None and message.n != 1 else message.msgid
        if message.plural is not None:
            n = message.n or 0
            if message.context is not None:
                translated = self._t.npgettext(message.context, message.msgid, message.plural, n)
            else:
                translated = self._t.ngettext(message.msgid, message.plural, n)
        elif message.context is not None:
            translated = self._t.pgettext(message.context, message.msgid)
        else:
            translated = self._t.gettext(message.msgid)
        return self._fill(translated, english or message.msgid, values)

    # -- templates whose placeholders are filled afterwards (``replies.rich``: ``{name}``, **bold**, `code`) --
    def template(self, message: str, /) -> str:
        """The translation of a template, or its English when the translation lost or renamed a placeholder."""
        cached = self._checked.get((None, message))
        if cached is None:
            translated = self._t.gettext(message)
            cached = translated if _same_shape(message, translated) else _broken(message)
            self._checked[(None, message)] = cached
        return cached

    def template_n(self, singular: str, plural: str, n: int, /) -> str:
        translated = self._t.ngettext(singular, plural, n)
        english = singular if n == 1 else plural
        return translated if _same_shape(plural, translated, plural_form=True) else _broken(english)

    # -- Babel's formatting for this locale --
    def number(self, value: float | int) -> str:
        return _format_decimal(value, locale=self.babel_locale)

    format_decimal = number

    def percent(self, fraction: float) -> str:
        """``0.4`` → "40%" (en), "40 %" (de, fr), rounded to a whole percent."""
        return _format_percent(fraction, locale=self.babel_locale)

    format_percent = percent

    def date(self, value: dt.date | dt.datetime | str, format: str = "medium") -> str:
        """A date (or an ISO 8601 string, as the store keeps them) as the locale writes it."""
        d = _as_date(value)
        if isinstance(d, dt.datetime):
            d = d.date()
        return _format_date(d, format=format, locale=self.babel_locale)

    format_date = date

    def datetime(self, value: dt.datetime | str, format: str = "medium", tzinfo: dt.tzinfo | None = None) -> str:
        d = _as_date(value)
        if not isinstance(d, dt.datetime):
            d = dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC)
        return _format_datetime(d, format=format, tzinfo=tzinfo, locale=self.babel_locale)

    format_datetime = datetime

    def language_name(self, tag: str) -> str:
        """A language named in this language: ``translator("es").language_name("en")`` → "inglés"."""
        try:
            loc = Locale.parse(str(tag).replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):
            return str(tag)
        name = self.babel_locale.languages.get(loc.language) or loc.language
        if loc.script and loc.language == "zh":
            name = loc.get_display_name(self.babel_locale) or name
        return name

    def list(self, items: Sequence[str], style: str = "standard") -> str:
        """``a, b and c`` as the locale writes a list."""
        from babel.lists import format_list

        return format_list(list(items), style=style, locale=self.babel_locale)  # type: ignore[arg-type]


# -- catalogs -------------------------------------------------------------------------------


def _catalog_dir(tag: str) -> Path:
    return LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES"


def compile_catalog(po_path: Path) -> bytes:
    """A ``.po`` file compiled to ``.mo`` bytes (fuzzy and untranslated entries left out, as gettext does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def load_catalog(tag: str, domain: str = DOMAIN) -> _gettext.NullTranslations:
    """One language's catalog of ``domain``: the compiled ``.mo`` when it is current, else the ``.po`` compiled now.

    The bot's words and the desk's are separate domains in the same folders. A damaged catalog must not take
    either down: English instead, and one error line.
    """
    folder = _catalog_dir(tag)
    po, mo = folder / f"{domain}.po", folder / f"{domain}.mo"
    try:
        if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as fh:
                return _gettext.GNUTranslations(fh)
        if po.exists():
            return _gettext.GNUTranslations(io.BytesIO(compile_catalog(po)))
    except (OSError, ValueError) as exc:
        log.error("cannot read the %s catalog (%s), English used: %s", tag, domain, exc)
        return _gettext.NullTranslations()
    if tag != DEFAULT_LOCALE:
        log.warning("no catalog for %s, English used", tag)
    return _gettext.NullTranslations()


@functools.cache
def _translator(tag: str) -> Translator:
    return Translator(tag, load_catalog(tag))


def translator(locale: str | None = None) -> Translator:
    """The translator for a language (any tag ``negotiate`` accepts); English for None or one factbot lacks."""
    return _translator(negotiate(locale) or DEFAULT_LOCALE)


def gettext(locale: str | None = None) -> Callable[[str], str]:
    """The translation function of a language, for templates filled afterwards: ``_ = gettext("es"); _("…")``."""
    return translator(locale).template


def ngettext(locale: str | None = None) -> Callable[[str, str, int], str]:
    """The plural translation function of a language: ``n_ = ngettext("fr"); n_("{n} claim", "{n} claims", n)``."""
    return translator(locale).template_n


def available_locales() -> tuple[str, ...]:
    return LANGUAGES


# -- choosing the language ---------------------------------------------------------------------


@functools.cache
def _available() -> tuple[tuple[str, Locale], ...]:
    return tuple((tag, Locale.parse(tag, sep="-")) for tag in LANGUAGES)


def _parse(tag: str) -> Locale | None:
    text = str(tag).strip().replace("-", "_")
    if not text or not all(part.isalnum() for part in text.split("_")):
        return None
    try:
        return Locale.parse(text)
    except (ValueError, TypeError, UnknownLocaleError):
        try:  # an unknown territory or variant ("en-XX"): the language alone
            return Locale.parse(text.split("_")[0])
        except (ValueError, TypeError, UnknownLocaleError):
            return None


@functools.lru_cache(maxsize=1024)
def negotiate(tag: str | None) -> str | None:
    """The catalog for a platform or user locale, or None when factbot does not speak it.

    ``es-ES`` and ``es-419`` → ``es``; ``pt-BR`` → ``pt``; ``zh-CN`` and ``zh`` → ``zh-Hans``;
    ``ja-JP`` → ``ja``; ``en-US`` → ``en``; ``zh-TW`` (traditional script) → None, as does
    anything that is not a language tag.
    """
    if not tag:
        return None
    loc = _parse(str(tag))
    if loc is None:
        return None
    script = loc.script or _default_script(loc)  # "zh" is written in Han simplified unless it says otherwise
    for avail_tag, avail in _available():
        if avail.language == loc.language and (avail.script or _default_script(avail)) == script:
            return avail_tag
    return None


def _default_script(loc: Locale) -> str | None:
    """The script a language is written in when a tag does not say (CLDR's likely subtags: zh → Hans)."""
    likely = get_global("likely_subtags").get(loc.language, "")
    parts = likely.split("_")
    return parts[1] if len(parts) > 1 and len(parts[1]) == 4 else None


@dataclass(frozen=True)
class Resolution:
    """The language chosen for a reply and what chose it."""

    locale: str  # BCP 47, one of LANGUAGES
    source: str  # "channel" | "workspace" | "platform" | "message" | "default"
    asked: str = ""  # the tag as given (a platform's "pt-BR")


def resolve(
    *,
    channel: str | None = None,
    workspace: str | None = None,
    platform: str | Iterable[str | None] | None = None,
    detected: str | None = None,
    default: str = DEFAULT_LOCALE,
) -> Resolution:
    """The language of a reply: the first source factbot speaks, in this order.

    ``channel``/``workspace``: the settings stored with ``factbot language set`` or the platform
    command; ``platform``: the platform's locales, most specific first (Discord's ``interaction.locale``
    then ``guild.preferred_locale``; Slack's user locale); ``detected``: the language the message was
    written in (``CheckResult.language``); else ``default``.
    """
    platforms = [platform] if isinstance(platform, str) or platform is None else list(platform)
    ordered = [("channel", channel), ("workspace", workspace), *(("platform", p) for p in platforms),
               ("message", detected)]
    for source, tag in ordered:
        chosen = negotiate(tag)
        if chosen:
            return Resolution(chosen, source, str(tag))
    return Resolution(negotiate(default) or DEFAULT_LOCALE, "default", "")


def resolve_locale(**sources: Any) -> str:
    """``resolve(...).locale``."""
    return resolve(**sources).locale


def describe_languages() -> str:
    """"en (English), es (español) …": each language in its own name, for help texts and errors."""
    return ", ".join(f"{tag} ({translator(tag).language_name(tag)})" for tag in LANGUAGES)
