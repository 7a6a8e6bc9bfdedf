"""Marking English text in the domain for translation, without the domain knowing about languages.

``N_("…")`` returns its argument unchanged; ``pybabel extract`` collects every ``N_`` call into the
catalog, and the layer that shows the text (pages, emails, PDF) translates it in the reader's
language. A comment starting ``TRANSLATORS:`` on the line(s) just above becomes the translator's note.

A sentence with figures in it is a ``Wording``: the English message with ``%(name)s`` placeholders and
the values, kept apart so a reader's language can word the sentence its own way and write the numbers
its own way (``pulse.i18n.wording_text``). A value may itself be a ``Wording`` (a term the sentence
names, translated too) or a list (written as a list in the reader's language).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Union

#: What a placeholder may hold: a name or a preformatted figure, a number (formatted per language), a
#: term or phrase to translate, or a list of those.
Param = Union[str, int, float, "Wording", Sequence[Union[str, int, float, "Wording"]]]


def N_(message: str) -> str:
    """The message itself: a marker for extraction."""
    return message


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
