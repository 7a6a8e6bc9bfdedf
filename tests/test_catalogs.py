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
    changed_notes = [str(key) for key, found in fresh.items() if found.auto_comments != committed[key].auto_comments]
    assert not changed_notes, f"translator notes changed ({HOW_TO_FIX}): {changed_notes}"


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_every_language_has_every_message_of_the_template(locale: str) -> None:
    template = _entries(_read(POT))
    catalog = _entries(_read(i18n.catalog_path(locale), locale))
    missing = sorted(str(key) for key in template.keys() - catalog.keys())
    extra = sorted(str(key) for key in catalog.keys() - template.keys())
    assert not missing and not extra, f"{locale}: out of date ({HOW_TO_FIX}); missing {missing}; obsolete {extra}"


def test_every_item_of_the_bank_has_a_translators_note_with_its_direction() -> None:
    template = _entries(_read(POT))
    for item in ITEMS:
        note = " ".join(template[item.text].auto_comments)
        assert "Must convey" in note, item.key
        direction = "REVERSE-KEYED" in note
        assert direction == item.reverse, f"{item.key}: the note says reverse={direction}, the bank {item.reverse}"
        assert "Agreeing = MORE" in note or "agreeing = LESS" in note, item.key


def test_plural_forms_follow_each_language() -> None:
    # French and Brazilian Portuguese treat 0 as singular ("0 personne a répondu"); English and German do not.
    plural = {code: i18n.translations(code).plural for code in i18n.available_locales()}  # type: ignore[attr-defined]
    assert [plural["en"](n) for n in (0, 1, 2)] == [1, 0, 1]
    for code in set(plural) & {"fr", "pt_BR"}:
        assert [plural[code](n) for n in (0, 1, 2)] == [0, 0, 1], code
