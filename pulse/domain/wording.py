"""Marking English text in the domain for translation, without the domain knowing about languages.

``N_("…")`` returns its argument unchanged; ``pybabel extract`` collects every ``N_`` call into the
catalog, and the layer that shows the text (pages, emails, PDF) translates it in the reader's
language. A comment starting ``TRANSLATORS:`` on the line(s) just above becomes the translator's note.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """The message itself: a marker for extraction."""
    return message
