"""The message catalogs: in step with the code and templates, complete in every language, consistent.

When a test here fails after you added or changed a user-visible string: run ``make i18n-update``
(it re-extracts ``pulse/locale/messages.pot`` and merges it into every ``.po`` file), then write the
translation of each new ``msgid`` into the ``msgstr`` of every language (fr, de, es, pt_BR; English
stays empty: the msgid is the English text).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from pulse import i18n
from pulse.domain.items import ITEMS
from pulse.settings import PROJECT_ROOT

POT = i18n.LOCALE_DIR / "messages.pot"
TRANSLATED = [code for code in i18n.available_locales() if code != i18n.SOURCE_LOCALE]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")
HOW_TO_FIX = "run `make i18n-update`, then translate the new msgids in every pulse/locale/*/LC_MESSAGES/messages.po"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _entries(catalog: Catalog) -> dict[object, Message]:
    return {message.id: message for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(i18n.LOCALE_DIR / "babel.cfg"),
            "-k",
            "NP_:1,2",
            "-c",
            "TRANSLATORS:",
            "--no-location",
            "--sort-output",
            "-o",
            str(out),
            str(PROJECT_ROOT),
        ]
    )
    return _read(out)


def test_the_template_catalog_holds_exactly_the_strings_of_the_code_and_templates(extracted: Catalog) -> None:
    committed = _entries(_read(POT))
    fresh = _entries(extracted)
    missing = sorted(str(key) for key in fresh.keys() - committed.keys())
    stale = sorted(str(key) for key in committed.keys() - fresh.keys())
    assert not missing and not stale, f"messages.pot is out of date ({HOW_TO_FIX}); new: {missing}; gone: {stale}"
    changed_notes = [
        str(key) for key, message in fresh.items() if message.auto_comments != committed[key].auto_comments
    ]
    assert not changed_notes, f"translator notes changed ({HOW_TO_FIX}): {changed_notes}"


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_every_language_has_every_message_of_the_template(locale: str) -> None:
    template = _entries(_read(POT))
    catalog = _entries(_read(i18n.catalog_path(locale), locale))
    missing = sorted(str(key) for key in template.keys() - catalog.keys())
    extra = sorted(str(key) for key in catalog.keys() - template.keys())
    assert not missing and not extra, f"{locale}: out of date ({HOW_TO_FIX}); missing {missing}; obsolete {extra}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    catalog = _read(i18n.catalog_path(locale), locale)
    untranslated, fuzzy, wrong = [], [], []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or (len(strings) != catalog.num_plurals and isinstance(message.id, tuple)):
            untranslated.append(ids[0])
            continue
        if message.fuzzy:
            fuzzy.append(ids[0])
        wanted = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for text in strings:
            if message.python_format and not _formats(text, wanted):
                wrong.append(f"{ids[0]!r} -> {text!r} (not a format string)")
                continue
            found = sorted(set(PLACEHOLDER.findall(text)))
            # A plural form may leave out the count it is about (French "un" instead of "%(num)d"), one
            # placeholder at most; and every form must format (a merge once left "%" and "(" as forms).
            leaves_out_the_count = isinstance(message.id, tuple) and set(found) <= set(wanted)
            if found != wanted and not (leaves_out_the_count and len(set(wanted) - set(found)) <= 1):
                wrong.append(f"{ids[0]!r} -> {text!r}")
            elif wanted:
                try:
                    text % {name: 1 for name in wanted if name != "%%"}
                except (ValueError, TypeError, KeyError):
                    wrong.append(f"{ids[0]!r} -> {text!r} (does not format)")
    assert not untranslated, f"{locale}: untranslated ({HOW_TO_FIX}): {untranslated}"
    assert not fuzzy, f"{locale}: fuzzy (check, then remove the fuzzy flag): {fuzzy}"
    assert not wrong, f"{locale}: placeholders differ from the English: {wrong}"
    assert catalog.plural_forms, f"{locale}: no Plural-Forms header"


def _formats(text: str, names: list[str]) -> bool:
    """Whether ``text`` %-formats with the message's placeholders (a stray ``%`` or a broken entry raises)."""
    try:
        text % {name: 1 for name in names if name}
    except (ValueError, TypeError, KeyError):
        return False
    return True


def test_every_item_of_the_bank_has_a_translators_note_with_its_direction() -> None:
    template = _entries(_read(POT))
    for item in ITEMS:
        note = " ".join(template[item.text].auto_comments)
        assert "Must convey" in note, item.key
        direction = "REVERSE-KEYED" in note
        assert direction == item.reverse, f"{item.key}: the note says reverse={direction}, the bank {item.reverse}"
        assert "Agreeing = MORE" in note or "agreeing = LESS" in note, item.key


@pytest.mark.parametrize("locale", TRANSLATED)
def test_no_item_is_left_in_english(locale: str) -> None:
    with i18n.use(locale):
        same = [item.key for item in ITEMS if i18n.gettext(item.text) == item.text]
    assert not same, f"{locale}: items still in English: {same}"


def test_a_language_is_one_po_file_and_unknown_tags_fall_back_to_english() -> None:
    assert set(i18n.available_locales()) >= {"en", "fr", "de", "es", "pt_BR"}
    assert i18n.negotiate("es-MX") == "es"
    assert i18n.negotiate("xx", "de-AT") == "de"
    with i18n.use("zz"):
        assert i18n.current() == "en"
        assert i18n.gettext("Thank you") == "Thank you"


def test_plural_forms_follow_each_language() -> None:
    # French and Brazilian Portuguese treat 0 as singular ("0 personne a répondu"); English and German do not.
    plural = {code: i18n.translations(code).plural for code in i18n.available_locales()}  # type: ignore[attr-defined]
    assert [plural["en"](n) for n in (0, 1, 2)] == [1, 0, 1]
    for code in set(plural) & {"fr", "pt_BR"}:
        assert plural[code](0) == plural[code](1) != plural[code](2), code
    assert plural["de"](0) == plural["de"](2) != plural["de"](1)


def test_numbers_dates_and_percentages_are_formatted_per_language() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    expected = {
        "en": ("1,234.5", "42%", "Sunday, 29 November 2026, 09:00 (Europe/Paris)"),
        "fr": ("1\u202f234,5", "42\u00a0%", "dimanche 29 novembre 2026, 09:00 (Europe/Paris)"),
        "de": ("1.234,5", "42\u00a0%", "Sonntag, 29. November 2026, 09:00 (Europe/Paris)"),
        "es": ("1.234,5", "42\u00a0%", "domingo, 29 de noviembre de 2026, 9:00 (Europe/Paris)"),
        "pt_BR": ("1.234,5", "42%", "domingo, 29 de novembro de 2026, 09:00 (Europe/Paris)"),
    }
    for locale, (number, percent, when) in expected.items():
        with i18n.use(locale):
            assert i18n.format_number(1234.5, 1) == number, locale
            assert i18n.format_percent(0.42) == percent, locale
            assert i18n.format_moment(moment, "Europe/Paris", long=True) == when, locale
