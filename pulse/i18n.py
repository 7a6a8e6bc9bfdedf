"""Languages: gettext catalogs (Babel), the current language of a rendering, and locale-aware formatting.

Every user-visible string is written in English in the code or a template and marked for
translation (``_("…")`` in Python and templates, ``{% trans %}`` blocks in templates, ``N_("…")`` for
constants that are translated later). ``make i18n-extract`` collects them into
``pulse/locale/messages.pot``; ``make i18n-update`` merges that into each
``pulse/locale/<lang>/LC_MESSAGES/messages.po``. A language is a ``.po`` file: adding a directory with
one makes the language available everywhere (survey, emails, reports, web app) with no code change.

The catalogs are compiled when a process first needs a language (a few tens of milliseconds per
language, cached for the life of the process) rather than at install time, so there is no compiled
``.mo`` file in the tree or the image that could be older than the ``.po`` file next to it.

The language of a rendering is a context variable set with ``use(locale)``; the Jinja2 environment's
gettext callables and the formatting helpers below read it, so templates write ``{{ _("…") }}`` and
``{{ percent(rate) }}`` and never pass a locale around.
"""

from __future__ import annotations

import gettext as _gettext
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date
from babel.dates import format_skeleton as _format_skeleton
from babel.dates import format_time as _format_time
from babel.dates import get_datetime_format
from babel.lists import format_list as _format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _format_decimal
from babel.numbers import format_percent as _format_percent
from babel.support import Translations

from pulse.domain.wording import N_, NP_, Count, Moment, Text, joined, term

__all__ = [
    "NP_",
    "N_",
    "Count",
    "Moment",
    "Text",
    "available_locales",
    "gettext",
    "joined",
    "localize",
    "negotiate",
    "ngettext",
    "pgettext",
    "sentence",
    "term",
    "use",
]

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
#: The language the code and templates are written in, and the fallback for anything unknown.
SOURCE_LOCALE = "en"

_current: ContextVar[str] = ContextVar("pulse_locale", default=SOURCE_LOCALE)


@cache
def available_locales() -> tuple[str, ...]:
    """Every language with a catalog, English first, then by code (``pt_BR`` style identifiers)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    found.add(SOURCE_LOCALE)
    return (SOURCE_LOCALE, *sorted(found - {SOURCE_LOCALE}))


def negotiate(*candidates: str | None) -> str:
    """The first candidate Pulse speaks: exact (``pt-BR`` → ``pt_BR``), then by language (``fr-CA`` → ``fr``,
    ``pt`` → ``pt_BR``); English when none matches. Candidates may be locale codes or Accept-Language headers."""
    known = available_locales()
    by_lower = {code.lower(): code for code in known}
    for candidate in candidates:
        for part in (candidate or "").split(","):
            tag = part.split(";")[0].strip().replace("-", "_").lower()
            if not tag or tag == "*":
                continue
            if tag in by_lower:
                return by_lower[tag]
            language = tag.split("_")[0]
            for code in known:
                if code.lower().split("_")[0] == language:
                    return code
    return SOURCE_LOCALE


def html_lang(locale: str) -> str:
    """The BCP 47 tag for ``<html lang>`` and ``Content-Language``: ``pt_BR`` → ``pt-BR``."""
    return locale.replace("_", "-")


@cache
def language_name(locale: str) -> str:
    """The language's name in that language, as a switch offers it: ``Français``, ``Português (Brasil)``."""
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (UnknownLocaleError, ValueError):
        return locale
    return name[:1].upper() + name[1:]


def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``locale`` (English: the source strings, with English plural rules)."""
    path = catalog_path(locale)
    if not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    # Fuzzy entries are drafts: they are left out, so the English text shows until a translator confirms.
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def current() -> str:
    return _current.get()


@contextmanager
def use(locale: str | None) -> Iterator[str]:
    """Render in ``locale`` (negotiated to a language Pulse has) inside the block."""
    chosen = negotiate(locale)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    # gettext("") is the catalog's header, never a translation: an empty text stays empty.
    return translations(_current.get()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return translations(_current.get()).pgettext(context, message)


_ = gettext


def localize(message: Any) -> str:
    """A message in the current language: a ``Text`` (or its JSON form, from a cookie) with its values, a
    message id marked with ``N_`` elsewhere, or any other text, which is shown as it is."""
    if isinstance(message, Mapping) and "msgid" in message:
        message = Text.from_json(message)
    if isinstance(message, Text):
        if message.plural is not None:
            translated = ngettext(message.msgid, message.plural, message.n if message.n is not None else 0)
        elif _SEMICOLON_LIST.fullmatch(message.msgid):
            # A list whose items hold commas (``joined(parts, "; ")``): the separator the language writes.
            translated = message.msgid.replace("; ", list_separator())
        else:
            translated = gettext(message.msgid)
        return translated % {key: _localized_value(value) for key, value in message.params.items()}
    if isinstance(message, str):
        return gettext(message)
    return "" if message is None else str(message)


#: The message id ``pulse.domain.wording.joined`` builds for a list separated by semicolons.
_SEMICOLON_LIST = re.compile(r"%\(part\d+\)s(?:; %\(part\d+\)s)+")


def list_separator() -> str:
    """Between the items of a list whose items hold commas: ``; `` (en), `` ; `` (fr, a space before)."""
    # TRANSLATORS: between the items of a list whose items already contain commas ("Sales: 3 created, 1
    # updated; Support: 2 created"). Keep the spaces your language's typography puts around a semicolon.
    return pgettext("separator of a list", "; ")


def _localized_value(value: Any) -> Any:
    if isinstance(value, Text):
        return localize(value)
    if isinstance(value, Count):
        return format_number(int(value))
    if isinstance(value, Moment):
        return format_moment(value.at, value.timezone, weekday=True)
    return value


def sentence(message: Any) -> str:
    """A message as a sentence of its own: first letter capitalised, a full stop unless it has an ending.
    Services word errors as clauses ("no round with id 12") so that they can also go inside a sentence."""
    text = localize(message).strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def finding_text(finding: Mapping[str, Any]) -> str:
    """A report finding (``text``, ``message``, ``params``) in the current language; a model stored before
    findings carried their message keeps its English text."""
    if not finding.get("message"):
        return str(finding.get("text", ""))
    return wording_text(finding)


#: Placeholders that hold round labels ("Round 3", as the services name rounds), written the reader's way.
ROUND_PARAMS = frozenset({"since", "round", "rounds", "compared"})
_ROUND_LABEL = re.compile(r"Round (\d+)")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def round_label(label: str) -> str:
    """The services name rounds "Round 3"; the reader's language may say it otherwise."""
    found = _ROUND_LABEL.fullmatch(label or "")
    return gettext("Round %(number)s") % {"number": found.group(1)} if found else label


def wording_text(wording: Mapping[str, Any], fallback: str = "") -> str:
    """A ``pulse.domain.wording.Wording`` of a stored report model (``{"message", "params"}``) in the
    current language: the message translated, numbers written the reader's way, terms translated, lists
    joined the reader's way. ``fallback`` (the English text a model stored before its wording) otherwise."""
    message = wording.get("message") if isinstance(wording, Mapping) else None
    if not message:
        return fallback
    params = wording.get("params") or {}
    plural, n = wording.get("plural"), wording.get("n")
    template = ngettext(str(message), str(plural), int(n)) if plural and n is not None else gettext(str(message))
    return template % {key: _param_text(key, value) for key, value in params.items()}


def _param_text(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return wording_text(value, str(value.get("text", "")))
    if isinstance(value, list | tuple):
        return format_list([_param_text(key, item) for item in value])
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, float):
        return _format_decimal(value, format="#,##0.##", locale=_babel_locale())
    text = str(value)
    if key in ROUND_PARAMS:
        return round_label(text)
    if _WHOLE_NUMBER.fullmatch(text):
        # A figure the domain wrote with its sign ("+5", "-3"): a true minus sign, as everywhere in print.
        return text.replace("-", "\u2212")
    return text


# ---------------------------------------------------------------- formatting in the current language


#: Pulse's English is British ("organisation"); its dates and numbers follow suit.
_FORMAT_LOCALE = {SOURCE_LOCALE: "en_GB"}


def _babel_locale() -> str:
    locale = _current.get()
    return _FORMAT_LOCALE.get(locale, locale)


def format_number(value: float | int, digits: int = 0) -> str:
    """``1234.5`` → ``1,234.5`` (en), ``1 234,5`` (fr), ``1.234,5`` (de)."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _format_decimal(value, format=pattern, locale=_babel_locale())


def format_list(items: Sequence[str]) -> str:
    """``["a", "b", "c"]`` → ``a, b and c`` (en), ``a, b et c`` (fr), ``a, b und c`` (de)."""
    return _format_list(list(items), locale=_babel_locale()) if items else ""


def format_percent(rate: float, digits: int = 0) -> str:
    """A share 0–1 as a percentage: ``0.42`` → ``42%`` (en), ``42 %`` (fr, de)."""
    locale = _babel_locale()
    pattern = str(Locale.parse(locale).percent_formats[None].pattern)
    if digits > 0:
        pattern = pattern.replace("0", "0." + "0" * digits, 1)
    return _format_percent(rate, format=pattern, locale=locale)


def format_day(value: date | datetime | str, *, weekday: bool = False) -> str:
    """A calendar day, medium length: ``5 Dec 2026`` / ``5 déc. 2026`` / ``05.12.2026``; with ``weekday``:
    ``Sat, 5 Dec 2026`` / ``sam. 5 déc. 2026`` / ``Sa., 5. Dez. 2026``."""
    if isinstance(value, str):
        if not value:
            return ""
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    if weekday:
        return _format_skeleton("yMMMEd", value, locale=_babel_locale())
    return _format_date(value, format="medium", locale=_babel_locale())


def format_moment(moment: datetime, timezone: str, *, long: bool = False, weekday: bool = False) -> str:
    """A moment in the organisation's time zone, with the zone named: what a person reads in an email
    (``long``: ``Sunday, 29 November 2026, 17:00 (Europe/Paris)``) or in a table (``29 Nov 2026, 17:00``;
    with ``weekday``: ``Sun, 29 Nov 2026, 17:00``). A naive ``moment`` is already wall-clock time there."""
    local = moment if moment.tzinfo is None else moment.astimezone(ZoneInfo(timezone))
    locale = _babel_locale()
    if long:
        day = _format_date(local, format="full", locale=locale)
        return f"{day}, {_format_time(local, format='short', locale=locale)} ({timezone})"
    pattern = get_datetime_format("medium", locale=locale)
    day = format_day(local, weekday=weekday)
    return str(pattern).format(_format_time(local, format="short", locale=locale), day)


def local_time(moment: datetime | str | None, timezone: str) -> str:
    """A table's moment (an organisation's time zone, with the weekday), or a dash when there is none.
    ``moment`` may be an ISO 8601 string with its offset, as stored in JSON."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment) if moment else None
    return "—" if moment is None else format_moment(moment, timezone, weekday=True)


def format_clock(hour: int, minute: int = 0) -> str:
    """A time of day as the language writes it: ``09:00`` (en, fr, de), ``9:00`` (es)."""
    return _format_time(time(hour, minute), format="short", locale=_babel_locale())


def weekday_name(index: int) -> str:
    """Monday (0) to Sunday (6), in the current language, as a list of choices shows it (``Lundi``)."""
    name = str(Locale.parse(_babel_locale()).days["format"]["wide"][index])
    return name[:1].upper() + name[1:]
