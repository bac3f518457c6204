"""The bot's words in seven languages: complete catalogs, the right language for each reply, Babel's formatting."""

from __future__ import annotations

import datetime as dt
import gettext
import importlib.metadata
import io
import pickle
import re
import zipfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import bot
from bot.core import i18n, languages
from bot.core.i18n import N_, Translator, negotiate, nN_, resolve, translator
from bot.core.languages import LanguageError, LanguageSettings, parse_language
from bot.core.models import Verdict

ROOT = Path(bot.__file__).resolve().parent.parent
LOCALE = ROOT / "bot" / "locale"
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([sdifr%])")
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
    "de": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "pt": "nplurals=2; plural=(n > 1);",
    "ja": "nplurals=1; plural=0;",
    "zh_Hans": "nplurals=1; plural=0;",
}


def extracted() -> dict[tuple[str | None, str], tuple[str, ...]]:
    """Every marked message in bot/, extracted by Babel as `pybabel extract -F babel.cfg` does."""
    keywords = {**DEFAULT_KEYWORDS, **i18n.KEYWORDS}
    found: dict[tuple[str | None, str], tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map=[("bot/**.py", "python")], keywords=keywords
    ):
        ids = message if isinstance(message, tuple) else (message,)
        found[(context, ids[0])] = ids
    return found


BRACES = re.compile(r"\{(\w+)\}")


def placeholders(text: str) -> list[tuple[str, str]]:
    """``%(name)s`` (with its conversion) and ``{name}`` (the templates ``replies.rich`` fills) alike."""
    percent = [(m.group(1) or "", m.group(2)) for m in PLACEHOLDER.finditer(text) if m.group(2) != "%"]
    return sorted(percent + [(name, "{}") for name in BRACES.findall(text)])


def markup(text: str) -> tuple[int, int]:
    return text.count("**"), text.count("`")


def load(lang: str) -> Catalog:
    with (LOCALE / lang / "LC_MESSAGES" / "factbot.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def test_every_language_has_a_catalog():
    folders = sorted(p.parent.parent.name for p in LOCALE.glob("*/LC_MESSAGES/factbot.po"))
    assert folders == sorted(PLURAL_FORMS)
    assert sorted(t.replace("-", "_") for t in i18n.LANGUAGES) == sorted(PLURAL_FORMS)
    assert len(extracted()) >= 24


def test_the_template_is_current():
    """bot/locale/factbot.pot is what translators update from: it holds what the code marks, no more."""
    with (LOCALE / "factbot.pot").open("rb") as fh:
        pot = read_po(fh)
    in_pot = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in pot if m.id}
    assert in_pot == set(extracted()), "run the pybabel extract of docs/localisation.md"


@pytest.mark.parametrize("lang", sorted(PLURAL_FORMS))
def test_catalog_has_every_message_with_its_placeholders(lang):
    catalog = load(lang)
    assert catalog.plural_forms == PLURAL_FORMS[lang]
    messages = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    problems = []
    for key, ids in extracted().items():
        m = messages.get(key)
        if m is None:
            problems.append(f"missing: {key}")
            continue
        if m.fuzzy:
            problems.append(f"fuzzy (review it, then drop the flag): {key}")
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if len(ids) > 1 and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms, {catalog.num_plurals} expected: {key}")
        if lang == "en":  # English is the source: an empty msgstr shows the msgid
            strings = tuple(s or ids[min(i, len(ids) - 1)] for i, s in enumerate(strings))
        for i, s in enumerate(strings):
            if not s:
                problems.append(f"untranslated: {key}")
            elif len(ids) == 1 and placeholders(s) != placeholders(ids[0]):
                problems.append(f"placeholders {placeholders(s)} != {placeholders(ids[0])}: {key}")
            elif len(ids) > 1 and not set(placeholders(s)) <= set(placeholders(ids[0]) + placeholders(ids[1])):
                problems.append(f"unknown placeholder in {s!r}: {key}")
            elif markup(s) != markup(ids[min(i, len(ids) - 1)]):
                problems.append(f"**bold** or `code` runs differ from the English in {s!r}: {key}")
        if len(ids) > 1 and strings[-1] and set(placeholders(strings[-1])) != set(placeholders(ids[1])):
            problems.append(f"the last plural form must show {placeholders(ids[1])}: {key}")
    for m, errors in catalog.check():  # Babel's own checks: python-format and plural counts
        problems += [f"{m.id!r}: {e}" for e in errors]
    assert problems == []


@pytest.mark.parametrize(
    "tag, expected",
    [
        # Discord's locales
        ("en-US", "en"), ("en-GB", "en"), ("es-ES", "es"), ("es-419", "es"), ("pt-BR", "pt"), ("de", "de"),
        ("fr", "fr"), ("ja", "ja"), ("zh-CN", "zh-Hans"), ("zh-TW", None), ("ko", None), ("sv-SE", None),
        # Slack's locales
        ("ja-JP", "ja"), ("de-DE", "de"), ("fr-FR", "fr"), ("es-LA", "es"), ("pt-BR", "pt"), ("zh-TW", None),
        # a detected language (BCP 47), a setting as typed, and what is not a tag at all
        ("zh", "zh-Hans"), ("zh-Hans", "zh-Hans"), ("pt_PT", "pt"), ("EN", "en"), ("", None), (None, None),
        ("../../etc/passwd", None), ("klingon", None),
    ],
)
def test_negotiate_platform_and_detected_locales(tag, expected):
    assert negotiate(tag) == expected


def test_resolution_order_channel_workspace_platform_message_english():
    assert resolve(channel="de", workspace="fr", platform=["ja", "es-ES"], detected="pt") == i18n.Resolution("de", "channel", "de")
    assert resolve(workspace="fr", platform=["ja", "es-ES"], detected="pt").locale == "fr"
    assert resolve(platform=["ja", "es-ES"], detected="pt") == i18n.Resolution("ja", "platform", "ja")
    # the user's locale first, then the server's; one factbot lacks is passed over
    assert resolve(platform=["ko", "es-ES"], detected="pt") == i18n.Resolution("es", "platform", "es-ES")
    assert resolve(platform=[None, "zh-TW"], detected="pt") == i18n.Resolution("pt", "message", "pt")
    assert resolve(detected="zh") .locale == "zh-Hans"
    assert resolve(detected="ko") == i18n.Resolution("en", "default", "")
    assert resolve() == i18n.Resolution("en", "default", "")


def test_settings_are_stored_per_channel_and_per_workspace(store):
    languages = LanguageSettings(store)
    assert languages.set("discord", "g1", "", "Español", by="u1") == "es"
    assert languages.set("discord", "g1", "c2", "pt-BR", by="u1") == "pt"
    assert languages.get("discord", "g1") == "es" and languages.get("discord", "g1", "c2") == "pt"
    assert languages.get("discord", "g1", "c1") is None  # a channel's own setting is not inherited
    assert languages.resolve(platform="discord", workspace="g1", channel="c2", platform_locales="ja").locale == "pt"
    r = languages.resolve(platform="discord", workspace="g1", channel="c1", platform_locales="ja")
    assert (r.locale, r.source) == ("es", "workspace")
    # another server, or the same ids on another platform, are not affected
    r = languages.resolve(platform="slack", workspace="g1", channel="c2", platform_locales=["ja-JP"], detected="de")
    assert (r.locale, r.source) == ("ja", "platform")
    rows = [(s.platform, s.workspace, s.channel, s.locale, s.updated_by, s.scope) for s in languages.settings()]
    assert rows == [("discord", "g1", "", "es", "u1", "workspace"), ("discord", "g1", "c2", "pt", "u1", "channel")]
    assert languages.clear("discord", "g1", "c2") is True
    assert languages.clear("discord", "g1", "c2") is False
    assert languages.resolve(platform="discord", workspace="g1", channel="c2").locale == "es"
    languages.set("discord", "g1", "", "zh_CN")
    assert languages.get("discord", "g1") == "zh-Hans"


def test_choose_locale_reads_the_stored_settings(store):
    LanguageSettings(store).set("slack", "T1", "", "de")
    assert languages.choose_locale(store, platform="slack", workspace="T1", channel="C1", platform_locale="ja-JP",
                              detected="es") == "de"
    assert languages.choose_locale(store, platform="slack", workspace="T2", channel="C1", platform_locale="",
                              detected="es") == "es"
    assert languages.choose_locale(store, platform="slack", workspace="T2", platform_locale="ko", detected="") == "en"


def test_an_unknown_language_is_refused_in_words():
    with pytest.raises(LanguageError) as info:
        parse_language("klingon")
    assert str(info.value) == (
        "factbot does not speak “klingon”. Choose one of: en (English), es (español), de (Deutsch), "
        "fr (français), pt (português), ja (日本語), zh-Hans (中文 (简体))."
    )
    assert translator("de").text(info.value.message).startswith("factbot spricht kein „klingon“. Wähle eine")
    assert parse_language(" Japanese ") == "ja" and parse_language("deutsch") == "de" and parse_language("ZH-cn") == "zh-Hans"


def test_translations_verdicts_and_correction_in_three_languages():
    assert [Verdict.FALSE.label_in(translator(tag)) for tag in ("en", "es", "ja")] == ["False", "Falso", "誤り"]
    assert Verdict.MOSTLY_TRUE.label == "Mostly true" and type(Verdict.MOSTLY_TRUE.label) is str  # English, as before
    assert Verdict.MISLEADING.description_in(translator("fr")) == "Exagère ou déforme ce que dit sa propre source."
    t = translator("de")
    assert t.gettext("Correction: the verdict on “%(claim)s” changed from %(old)s to %(emoji)s %(new)s. %(summary)s",
                     claim="X", old="Wahr", emoji="❌", new="Falsch", summary="S.") == (
        "Korrektur: Die Bewertung von „X“ wurde von Wahr zu ❌ Falsch geändert. S.")


def test_a_notice_marked_in_the_core_is_english_as_a_str_and_translated_by_the_reply():
    notice = N_("The message is long; only its first %(chars)s characters were checked.", chars=4000)
    assert notice == "The message is long; only its first 4,000 characters were checked."
    assert translator("de").text(notice) == "Die Nachricht ist lang; nur ihre ersten 4.000 Zeichen wurden geprüft."
    assert translator("fr").text(notice) == "Le message est long ; seuls ses 4\u202f000 premiers caractères ont été vérifiés."
    assert translator("zh-CN").text(notice) == "消息太长，只核查了前 4,000 个字符。"
    assert pickle.loads(pickle.dumps(notice)) == notice and translator("es").text(pickle.loads(pickle.dumps(notice))) == (
        "El mensaje es largo; solo se han comprobado sus primeros 4.000 caracteres.")


def _translator_from(lang: str, entries: list[tuple]) -> Translator:
    """A Translator over a catalog written here (for plural rules and broken translations)."""
    catalog = Catalog(locale=lang)
    for msgid, string in entries:
        catalog.add(msgid, string)
    catalog._num_plurals, catalog._plural_expr = (2, "(n > 1)") if lang == "fr" else (1, "0")
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translator(lang, gettext.GNUTranslations(buf))


def test_plural_forms_follow_the_language():
    fr = _translator_from("fr", [(("%(n)s claim changed", "%(n)s claims changed"),
                                  ("%(n)s affirmation modifiée", "%(n)s affirmations modifiées"))])
    shown = [fr.ngettext("%(n)s claim changed", "%(n)s claims changed", n) for n in (0, 1, 2, 1500)]
    assert shown == ["0 affirmation modifiée", "1 affirmation modifiée", "2 affirmations modifiées",
                     "1\u202f500 affirmations modifiées"]
    ja = _translator_from("ja", [(("%(n)s claim changed", "%(n)s claims changed"), ("%(n)s 件の主張が変更されました",))])
    assert [ja.ngettext("%(n)s claim changed", "%(n)s claims changed", n) for n in (1, 3)] == [
        "1 件の主張が変更されました", "3 件の主張が変更されました"]
    en = translator("en")
    assert [en.text(nN_("%(n)s claim changed", "%(n)s claims changed", n)) for n in (1, 2)] == [
        "1 claim changed", "2 claims changed"]


def test_a_template_whose_translation_lost_a_placeholder_or_markup_reads_english(caplog):
    t = _translator_from("fr", [
        ("Watch mode is **on** in {channel}.", "Le mode veille est **activé** dans {salon}."),
        ("Use `{command}` here.", "Utilisez `{command} ici."),
        ("Removed {n} replies.", "{n} réponses supprimées."),
    ])
    assert t.template("Watch mode is **on** in {channel}.") == "Watch mode is **on** in {channel}."
    assert t.template("Use `{command}` here.") == "Use `{command}` here."
    assert t.template("Removed {n} replies.") == "{n} réponses supprimées."
    assert "translation does not fit its placeholders or markup" in caplog.text
    assert i18n.gettext("es")("There is nothing to check: the message is empty once mentions, links and emoji are removed.") == (
        "No hay nada que comprobar: el mensaje queda vacío al quitar menciones, enlaces y emojis.")


def test_a_translation_that_breaks_its_placeholder_falls_back_to_english(caplog):
    t = _translator_from("fr", [("Watch mode is on in %(channel)s.", "Le mode veille est actif dans %(salon)s.")])
    assert t.gettext("Watch mode is on in %(channel)s.", channel="#general") == "Watch mode is on in #general."
    assert "translation does not fit its placeholders" in caplog.text
    assert t.gettext("Unknown words stay as they are.") == "Unknown words stay as they are."


@pytest.mark.parametrize(
    "tag, date, percent, number",
    [
        ("en", "Mar 12, 2026", "40%", "12,345.5"),
        ("es", "12 mar 2026", "40\xa0%", "12.345,5"),
        ("de", "12.03.2026", "40\xa0%", "12.345,5"),
        ("fr", "12 mars 2026", "40\xa0%", "12\u202f345,5"),
        ("pt", "12 de mar. de 2026", "40%", "12.345,5"),
        ("ja", "2026/03/12", "40%", "12,345.5"),
        ("zh-Hans", "2026年3月12日", "40%", "12,345.5"),
    ],
)
def test_dates_and_numbers_are_formatted_for_the_locale(tag, date, percent, number):
    t = translator(tag)
    assert t.date("2026-03-12") == date
    assert t.date(dt.datetime(2026, 3, 12, 23, 0, tzinfo=dt.UTC)) == date
    assert t.percent(0.4) == percent
    assert t.number(12345.5) == number


def test_languages_named_in_the_readers_language():
    assert translator("es").language_name("en") == "inglés"
    assert translator("ja").language_name("de") == "ドイツ語"
    assert translator("de").language_name("zh-Hans") == "Chinesisch (Vereinfacht)"
    assert translator("fr").list(["a", "b", "c"]) == "a, b et c"


def test_unknown_or_missing_language_reads_english():
    assert translator(None).locale == "en" and translator("ko").locale == "en"
    assert Verdict.TRUE.label_in(translator("ko")) == "True"


# -- compiled catalogs -----------------------------------------------------------------


def _with_locale_dir(monkeypatch, folder: Path) -> None:
    monkeypatch.setattr(i18n, "LOCALE_DIR", folder)
    i18n._translator.cache_clear()


@pytest.fixture
def fresh_catalogs():
    i18n._translator.cache_clear()
    yield
    i18n._translator.cache_clear()


def test_source_checkout_compiles_po_at_first_use(tmp_path, monkeypatch, fresh_catalogs):
    """An editable install has only the .po: it is read as it is now, and an edit shows without a build."""
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = (LOCALE / "es" / "LC_MESSAGES" / "factbot.po").read_text(encoding="utf-8")
    (folder / "factbot.po").write_text(po, encoding="utf-8")
    _with_locale_dir(monkeypatch, tmp_path)
    assert Verdict.FALSE.label_in(translator("es")) == "Falso"
    assert not (folder / "factbot.mo").exists()  # compiled in memory, nothing written beside the source

    # a stale .mo (older than the .po) is not used
    (folder / "factbot.mo").write_bytes(i18n.compile_catalog(folder / "factbot.po"))
    edited = po.replace('msgstr "Falso"', 'msgstr "Falso (editado)"')
    (folder / "factbot.po").write_text(edited, encoding="utf-8")
    import os

    os.utime(folder / "factbot.mo", (1_000_000, 1_000_000))
    i18n._translator.cache_clear()
    assert Verdict.FALSE.label_in(translator("es")) == "Falso (editado)"


def test_installed_wheel_reads_the_compiled_mo(tmp_path, monkeypatch, fresh_catalogs):
    folder = tmp_path / "ja" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "factbot.mo").write_bytes(i18n.compile_catalog(LOCALE / "ja" / "LC_MESSAGES" / "factbot.po"))
    _with_locale_dir(monkeypatch, tmp_path)
    assert Verdict.SATIRE.label_in(translator("ja")) == "風刺"
    assert Verdict.FALSE.label_in(translator("es")) == "False"  # no catalog at all: English, and no crash


def test_a_damaged_catalog_reads_english(tmp_path, monkeypatch, fresh_catalogs, caplog):
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "factbot.mo").write_bytes(b"not a catalog")
    _with_locale_dir(monkeypatch, tmp_path)
    assert Verdict.FALSE.label_in(translator("de")) == "False"
    assert "cannot read the de catalog" in caplog.text


def test_the_wheel_carries_compiled_catalogs_and_not_their_sources(tmp_path):
    """What `pip install .` installs: the build hook (hatch_build.py) compiles every .po into the wheel."""
    from hatchling.builders.wheel import WheelBuilder

    wheel = next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        mo = sorted(n for n in names if n.startswith("bot/locale/") and n.endswith(".mo"))
        assert mo == [f"bot/locale/{lang}/LC_MESSAGES/{domain}.mo" for lang in sorted(PLURAL_FORMS)
                      for domain in ("desk", "factbot")]  # the desk's words are a domain of their own
        assert not [n for n in names if n.endswith((".po", ".pot"))]
        compiled = gettext.GNUTranslations(io.BytesIO(zf.read("bot/locale/pt/LC_MESSAGES/factbot.mo")))
    assert compiled.pgettext("verdict", "Misleading") == "Enganoso"


def test_installed_package_ships_compiled_catalogs():
    """A non-editable install (as CI does) carries bot/locale/*/LC_MESSAGES/factbot.mo."""
    dist = importlib.metadata.distribution("factbot")
    files = [str(f) for f in dist.files or []]
    if any(f.endswith(".pth") for f in files) and not any("bot/core/store.py" in f for f in files):
        pytest.skip("editable install: the catalogs are read from the checkout's .po files")
    assert sorted(f for f in files if f.endswith("factbot.mo")) == [
        f"bot/locale/{lang}/LC_MESSAGES/factbot.mo" for lang in sorted(PLURAL_FORMS)]
