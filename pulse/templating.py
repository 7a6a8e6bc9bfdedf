"""The one Jinja2 environment for emails, pages and reports (templates/ at the project root)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pulse import i18n
from pulse.settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"


@cache
def environment() -> Environment:
    """HTML templates are autoescaped; a missing variable is an error, not an empty string.

    Translation: ``{{ _("…") }}``, ``{{ ngettext("one …", "%(num)d …", n) }}`` and ``{% trans %}`` blocks
    (whitespace trimmed, so a wrapped sentence is one message) in the language set with
    ``pulse.i18n.use``; ``format_*`` globals format numbers and dates in that language.
    """
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "htm", "xml", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
    )
    env.globals.update(
        current_locale=i18n.current,
        # For a message held in a variable: a constant marked with N_ elsewhere, or a Text with its values
        # (a service's error, a flash message), translated and filled in.
        translate=i18n.localize,
        sentence=i18n.sentence,
        html_lang=lambda: i18n.html_lang(i18n.current()),
        format_number=i18n.format_number,
        format_percent=i18n.format_percent,
        format_day=i18n.format_day,
        format_moment=i18n.format_moment,
        local_time=i18n.local_time,
        format_clock=i18n.format_clock,
        weekday_name=i18n.weekday_name,
        finding_text=i18n.finding_text,
        round_label=i18n.round_label,
        list_separator=i18n.list_separator,
    )
    env.filters["translate"] = i18n.localize
    return env
