"""Marking English text in the domain for translation, without the domain knowing about languages.

``N_("…")`` returns its argument unchanged; ``pybabel extract`` collects every ``N_`` call into the
catalog, and the layer that shows the text (pages, emails, PDF) translates it in the reader's
language. A comment starting ``TRANSLATORS:`` on the line(s) just above becomes the translator's note.

A sentence with figures in it is a ``Wording``: the English message with ``%(name)s`` placeholders and
the values, kept apart so a reader's language can word the sentence its own way and write the numbers
its own way (``pulse.i18n.wording_text``). A value may itself be a ``Wording`` (a term the sentence
names, translated too) or a list (written as a list in the reader's language).

A message with values (``N_("no round with id %(id)s", id=12)``) or a count (``NP_("%(n)s problem",
"%(n)s problems", n, n=Count(n))``) is a ``Text``: it *is* the English string, so the CLI, logs and
tests read it as before, and it keeps its message id and values so that a page can say it in its
reader's language (``pulse.i18n.localize``). Services raise errors with such texts and never need to
know who reads them, or in which language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Union
from zoneinfo import ZoneInfo

#: What a placeholder of a ``Wording`` may hold: a name or a preformatted figure, a number (formatted per
#: language), a term or phrase to translate, or a list of those.
Param = Union[str, int, float, "Wording", Sequence[Union[str, int, float, "Wording"]]]


def N_(message: str, **params: Any) -> str:
    """The message itself (a marker for extraction); with values, a ``Text`` that can be translated later."""
    return Text(message, params) if params else message


def ngettext(singular: str, plural: str, n: int) -> tuple[str, str, int]:
    """A marker for extraction of a message with plural forms (``pybabel`` reads ``ngettext`` calls):
    both English forms and the count, unchanged, for a ``Wording`` the reader's language words with its
    own plural rules."""
    return singular, plural, n


@dataclass(frozen=True)
class Wording:
    """An English message (marked with ``N_`` where it is written) and the values of its placeholders;
    with ``plural`` and ``n`` (marked with ``ngettext``), a message whose form the count ``n`` chooses."""

    message: str
    params: Mapping[str, Param] = field(default_factory=dict)
    plural: str = ""
    n: int | None = None

    @property
    def text(self) -> str:
        """The English sentence (always %-formatted, so a ``%%`` in a message without values is one ``%``)."""
        message = self.plural if self.plural and self.n != 1 else self.message
        return message % {key: english(value) for key, value in self.params.items()}


def english(value: Param) -> str:
    """A placeholder's value as the English text shows it."""
    if isinstance(value, Wording):
        return value.text
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return ", ".join(english(item) for item in value)


def NP_(singular: str, plural: str, n: int, **params: Any) -> Text:
    """A ``Text`` with a singular and a plural form, chosen by ``n`` in each language's own plural rules."""
    return Text(singular, params, plural=plural, n=n)


def term(message: str) -> Text:
    """A message id (marked with ``N_`` where it is defined) used as a value inside another message, so that
    it is translated with it: ``N_("%(field)s is wrong", field=term(LABEL))``."""
    return Text(message, {})


def joined(parts: Sequence[str], separator: str = ", ") -> Text:
    """Several messages as one list ("3 created, 1 updated"), each translated on its own. The separator is
    punctuation that every language Pulse speaks writes the same; the list itself needs no translation."""
    names = [f"part{i}" for i in range(len(parts))]
    return Text(separator.join(f"%({name})s" for name in names), dict(zip(names, parts, strict=True)))


class Count(int):
    """A count that reads with thousands separators: ``41,230`` in English, ``41 230`` in French."""

    def __str__(self) -> str:
        return f"{int(self):,}"


@dataclass(frozen=True)
class Moment:
    """A moment shown in an organisation's time zone: ``english`` is its English (``strftime``) format, other
    languages write it their own way (``pulse.i18n.format_moment``)."""

    at: datetime
    timezone: str
    english: str = "%a %d %b %Y, %H:%M"

    def __str__(self) -> str:
        return f"{self.at.astimezone(ZoneInfo(self.timezone)):{self.english}}"


class Text(str):
    """English text that remembers how to be translated: its message id, plural form, count and values."""

    msgid: str
    plural: str | None
    n: int | None
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: Mapping[str, Any], *, plural: str | None = None, n: int | None = None) -> Text:
        english = plural if plural is not None and n != 1 else msgid
        text = super().__new__(cls, english % {key: _english(value) for key, value in params.items()})
        text.msgid, text.plural, text.n, text.params = msgid, plural, n, dict(params)
        return text

    def to_json(self) -> dict[str, Any]:
        """What a signed cookie can carry (a message shown on the next page)."""
        return {"msgid": self.msgid, "plural": self.plural, "n": self.n, "params": _params_to_json(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Text:
        params = {key: _param_from_json(value) for key, value in dict(data.get("params") or {}).items()}
        n = data.get("n")
        return cls(str(data["msgid"]), params, plural=data.get("plural"), n=n if isinstance(n, int) else None)


def _english(value: Any) -> Any:
    return str(value) if isinstance(value, Text | Count | Moment) else value


def _params_to_json(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Text):
            out[key] = {"text": value.to_json()}
        elif isinstance(value, Count):
            out[key] = {"count": int(value)}
        elif isinstance(value, Moment):
            out[key] = {"moment": value.at.isoformat(), "timezone": value.timezone, "english": value.english}
        else:
            out[key] = value if isinstance(value, int | float) else str(value)
    return out


def _param_from_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "text" in value:
            return Text.from_json(value["text"])
        if "count" in value:
            return Count(int(value["count"]))
        if "moment" in value:
            english = str(value.get("english") or Moment.english)
            return Moment(datetime.fromisoformat(str(value["moment"])), str(value["timezone"]), english)
    return value
