"""The web app in every language Pulse speaks: every page, with its messages, errors and refusals, is
written in the reader's language, with no English left over.

Each page is fetched as the user reading it (their account's language) in the states that show most
text: a directory with a search and a refused import, a schedule with its preview and a refused one,
an open round (coarse participation) and a closed one with its report, the directory audit, the
refusal pages inside the app, the bare error page, and the sign-in page with a wrong password. The
visible text (with the labels screen readers read: ``aria-label``, ``placeholder``, ``title``) must
hold no English word from a list of words the other languages never use, once the test data (names,
addresses, department names) and code samples (``<code>``) are set aside; and each page must say the
things it is known to say in that language (its heading, a date or a figure formatted by Babel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx
import pytest
from markupsafe import escape

from pulse import i18n
from pulse.i18n import N_, NP_, Count
from pulse.models import Organization, Report, Round, User
from pulse.services.schedules import add_schedule
from pulse.services.scim import create_scim_token
from tests.web.conftest import PASSWORD, ApiFor, ClientFor, Keys, Rounds, World, csrf_of, form_post

LOCALES = [code for code in i18n.available_locales() if code != i18n.SOURCE_LOCALE]

#: English words that none of the other languages writes as a word of its own (so "a", "an", "in",
#: "no", "on", "was", "Status", "Score" and "Page", which French, German, Spanish or Portuguese use, are
#: not here, nor month abbreviations such as "Jan" or "Oct"). One of them on a translated page is text
#: that was not translated; weekday and month names catch a date or a choice formatted in English.
ENGLISH = {
    "about", "after", "allowed", "and", "answered", "are", "at", "before", "by", "changes", "closed",
    "closes", "day", "days", "department", "departments", "directory", "every", "fewer", "flags", "for",
    "found", "from", "has", "have", "hidden", "hour", "how", "invited", "is", "it", "least", "month", "more",
    "newcomers", "next", "nobody", "none", "not", "of", "only", "open", "opened", "or", "people", "previous",
    "reminder", "reminders", "report", "reports", "round", "rounds", "rule", "schedule", "schedules",
    "search", "send", "than", "that", "the", "this", "to", "view", "week", "weeks", "what", "when", "which",
    "who", "will", "with", "wrong", "yet", "you", "your",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "wed", "thu",
    "fri", "sat", "sun", "january", "february", "march", "june", "july", "october", "december", "dec",
}  # fmt: skip
WORD = re.compile(r"[^\W\d_]+")
#: The test data: people are named "Sales Person 3", departments "Sales", "Stores", "Logistics".
#: The CSV's column names are identifiers, the same in every language.
DATA = re.compile(
    r"\b(?:Sales|Stores|Logistics|Research) Person \d+\b|\S+@\S+|Acme Retail|Europe/Paris"
    r"|email, name, department, manager_email, role, locale"
)


class _Text(HTMLParser):
    """The text a reader meets: element text and the labels read aloud, without code samples or scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "script", "style"):
            self.skipping += 1
        for name, value in attrs:
            if name in ("aria-label", "placeholder", "title", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_words(html: str) -> list[str]:
    text = DATA.sub(" ", visible_text(html))
    return sorted({word for word in WORD.findall(text) if word.lower() in ENGLISH})


@dataclass
class Reader:
    """Checks pages as one reader reads them, collecting every problem before failing."""

    locale: str
    problems: list[str] = field(default_factory=list)

    def says(self, message: str, **values: object) -> str:
        with i18n.use(self.locale):
            return i18n.gettext(message) % values if values else i18n.gettext(message)

    def check(self, label: str, response: httpx.Response, *expected: str) -> str:
        page = response.text
        lang = i18n.html_lang(self.locale)
        if f'<html lang="{lang}">' not in page:
            self.problems.append(f"{label}: not <html lang={lang!r}> ({response.status_code})")
        leftovers = english_words(page)
        if leftovers:
            self.problems.append(f"{label}: English words {leftovers} in {visible_text(page)[:2000]!r}")
        for text in expected:
            if text not in page and str(escape(text)) not in page:
                self.problems.append(f"{label}: {text!r} is missing")
        return page


async def _as(client_for: ClientFor, user: User, locale: str) -> httpx.AsyncClient:
    await User.filter(id=user.id).update(locale=locale)
    return await client_for(await User.get(id=user.id))


@pytest.mark.parametrize("locale", LOCALES)
async def test_every_page_of_the_web_app_is_in_the_readers_language(
    client_for: ClientFor, world: World, rounds: Rounds, locale: str
) -> None:
    reader = Reader(locale)
    says = reader.says
    await add_schedule("acme", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0", open_days=5, remind_after_days=2)
    alice = await _as(client_for, world.alice, locale)
    acme = await Organization.get(id=world.acme.id)
    closed = await Round.get(id=rounds.acme_closed)

    # The overview and the lists.
    reader.check("overview", await alice.get("/orgs/acme"), says("Next scheduled round"))
    with i18n.use(locale):
        opened = i18n.local_time(closed.opened_at, acme.timezone)
    reader.check("rounds", await alice.get("/orgs/acme/rounds"), f"<h1>{says('Rounds')}</h1>", opened)
    reader.check("reports", await alice.get("/orgs/acme/reports"), f"<h1>{says('Reports')}</h1>", says("ready"))
    reader.check(
        "schedules",
        await alice.get("/orgs/acme/schedules", params={"frequency": "monthly", "weekday": "FR", "hour": "8"}),
        f"<h1>{says('Schedules')}</h1>",
        says("First Friday of every month at %(time)s", time="08:00"),
        says("Every week %(on_day)s at %(time)s", on_day=says("on Monday"), time="09:00"),
    )
    reader.check("audit", await alice.get("/orgs/acme/audit"), f"<h1>{says('Directory audit')}</h1>")
    reader.check(
        "departments",
        await alice.get("/orgs/acme/departments"),
        f"<h1>{says('Departments')}</h1>",
        says("Reported separately?"),
        says("no: fewer than %(k)s people", k=5),
    )

    # People: a search, one that finds nobody, a refused import, a deactivation.
    reader.check("people", await alice.get("/orgs/acme/people", params={"q": "sales"}), says("Import a CSV file"))
    reader.check("people, nobody", await alice.get("/orgs/acme/people", params={"q": "zzz"}), says("Nobody matches."))
    token = csrf_of((await alice.get("/orgs/acme/people")).text)
    bad = "email,name,department,shoe_size\nnot-an-address,,Sales,42\nx@acme.test,X,Sales\n"
    refused = await alice.post(
        "/orgs/acme/people/import",
        data={"csrf_token": token},
        files={"file": ("people.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    with i18n.use(locale):
        rejected = i18n.sentence("people import rejected: the header row is wrong")
        problem = i18n.localize(
            N_(
                "row %(row)s: %(problem)s",
                row=1,
                problem=NP_(
                    "unknown column %(names)s (allowed: %(allowed)s)",
                    "unknown columns %(names)s (allowed: %(allowed)s)",
                    1,
                    names="'shoe_size'",
                    allowed="email, name, department, manager_email, role, locale",
                ),
            )
        )
    reader.check("people, refused import", refused, rejected, problem)
    done = await form_post(alice, "/orgs/acme/people", "/orgs/acme/people/deactivate", {"email": "sales0@acme.test"})
    reader.check("people, flash", await alice.get(done.headers["location"]), "sales0@acme.test")

    # Schedules: a refused one (rounds would overlap), then a created one.
    overlap = await form_post(
        alice, "/orgs/acme/schedules", "/orgs/acme/schedules", {"frequency": "weekly", "open_days": "10"}
    )
    assert overlap.status_code == 422
    reader.check("schedules, refused", overlap)
    created = await form_post(
        alice, "/orgs/acme/schedules", "/orgs/acme/schedules", {"frequency": "monthly", "weekday": "TU"}
    )
    reader.check("schedules, flash", await alice.get(created.headers["location"]))

    # Rounds: a refused opening, the open round (coarse figures), a reminder, the closed round, its report.
    refused_round = await form_post(alice, "/orgs/acme/rounds", "/orgs/acme/rounds", {"closes_in_days": "400"})
    assert refused_round.status_code == 422
    reader.check("rounds, refused", refused_round)
    reader.check("open round", await alice.get(f"/rounds/{rounds.acme_open}"), says("fewer than %(k)s", k=5))
    reminded = await form_post(alice, f"/rounds/{rounds.acme_open}", f"/rounds/{rounds.acme_open}/remind", {})
    reader.check("open round, flash", await alice.get(reminded.headers["location"]))
    reader.check("closed round", await alice.get(f"/rounds/{rounds.acme_closed}"), says("Open the report"))
    released = (await Report.get(round_id=rounds.acme_closed)).model["participation"]["rate"]  # noisy: read it
    with i18n.use(locale):
        rate = i18n.format_percent(released)
    reader.check("report", await alice.get(f"/reports/{rounds.acme_closed}"), says("Organisation scores"), rate)

    # Accounts: a new password the service refuses, a leader account that exists already, an admin's own
    # account refused on the users page (the services' errors, worded in the reader's language).
    short = await form_post(
        alice,
        "/account",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short", "repeat_password": "short"},
    )
    assert short.status_code == 422
    with i18n.use(locale):
        too_short = i18n.sentence(N_("password is too short: use at least %(count)s characters", count=Count(10)))
    reader.check("account, short password", short, too_short)
    twice = await form_post(alice, "/orgs/acme/leaders", "/orgs/acme/leaders", {"email": "alice@acme.test"})
    assert twice.status_code == 409
    with i18n.use(locale):
        exists = i18n.sentence(N_("an account for %(email)s already exists", email="'alice@acme.test'"))
    reader.check("leaders, existing account", twice, exists)
    edit = f"/orgs/acme/leaders/{world.bob.id}"
    nowhere = await form_post(alice, edit, edit, {"scope": "units", "unit": ["Sales", "Nowhere"]})
    assert nowhere.status_code == 422
    with i18n.use(locale):
        no_unit = i18n.sentence(N_("no unit %(unit)s in organisation %(org)s", unit="'Nowhere'", org="'acme'"))
    reader.check("leader, unknown unit", nowhere, no_unit)

    # Sign-in and directory sync: a token's dates (Babel, the organisation's zone), a refused name, a revocation.
    token, _ = await create_scim_token(acme, "Okta")
    with i18n.use(locale):
        created_at = i18n.local_time(token.created_at, acme.timezone)
    reader.check("sso", await alice.get("/orgs/acme/sso"), created_at, says("never"))
    unnamed = await form_post(alice, "/orgs/acme/sso", "/orgs/acme/sso", {"name": " "})
    assert unnamed.status_code == 422
    with i18n.use(locale):
        needs_name = i18n.sentence(N_("a SCIM token needs a name (what uses it, e.g. 'Entra ID provisioning')"))
    reader.check("sso, unnamed token", unnamed, needs_name)
    revoked = await form_post(alice, "/orgs/acme/sso", f"/orgs/acme/sso/scim-tokens/{token.id}/revoke", {})
    reader.check(
        "sso, flash",
        await alice.get(revoked.headers["location"]),
        says("SCIM token %(prefix)s… revoked.", prefix=token.prefix),
    )

    # Refusals inside the app, and the bare error page.
    reader.check("not found", await alice.get("/rounds/999999"), says("Back to the start page"))
    reader.check("other organisation", await alice.get("/orgs/globex/people"), says("Not found"))
    reader.check("open round's report", await alice.get(f"/reports/{rounds.acme_open}"), says("That did not work"))
    reader.check("no such address", await alice.get("/nowhere"), says("Nothing is here: check the address."))
    bob = await _as(client_for, world.bob, locale)
    reader.check("leader on people", await bob.get("/orgs/acme/people"), says("Not allowed"))
    root = await _as(client_for, world.admin, locale)
    reader.check("organisations", await root.get("/"), f"<h1>{says('Organisations')}</h1>")
    own = await form_post(root, "/users", f"/users/{world.admin.id}/disable", {})
    assert own.status_code == 403
    reader.check("users, own account", own, says("Not allowed"))

    # Signed out, the browser's language: a wrong password.
    stranger = await client_for(None)
    stranger.headers["accept-language"] = i18n.html_lang(locale)
    form = await stranger.get("/login")
    wrong = await stranger.post(
        "/login", data={"email": "alice@acme.test", "password": "not it", "csrf_token": csrf_of(form.text)}
    )
    reader.check("sign-in, wrong password", wrong, says("Wrong email or password."))
    # Single sign-on refused: the service's reason, in the browser's language.
    with i18n.use(locale):
        no_code = i18n.sentence(N_("the sign-in response has no state or no code: start again from the sign-in page"))
        no_sso = i18n.sentence(N_("no single sign-on is set up for organisation %(slug)s", slug="'globex'"))
    reader.check("single sign-on, no code", await stranger.get("/login/sso/callback"), no_code)
    reader.check("single sign-on, none set up", await stranger.get("/login/sso", params={"org": "globex"}), no_sso)

    assert not reader.problems, "\n".join(reader.problems)


def test_the_check_finds_english_left_in_a_translated_page() -> None:
    """The detector itself: it flags an untranslated sentence and a label read aloud, and lets test data,
    code samples and the other languages' own words through."""
    french = '<p>Aucun cycle pour l\'instant.</p><p class="muted">Sales Person 3 · <code>email,name</code></p>'
    assert english_words(french) == []
    assert english_words("<p>No round yet.</p>") == ["round", "yet"]
    assert english_words('<button aria-label="Deactivate the person">x</button>') == ["the"]
    assert english_words("<p>Status: Score (Page 2) — Was · an · in · no</p>") == []


FIELDS = re.compile(r"'[^']*'|\b(?:closes_in_days|remind_after_days|departments|per_page)\b")


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_apis_own_errors_follow_accept_language(api_for: ApiFor, keys: Keys, locale: str) -> None:
    """The API layer's refusals of a request's form (not JSON, an unknown field, a bad query value, a
    wrong content type) are worded in the client's Accept-Language, like the services' errors; the code
    stays the same in every language."""
    client = api_for(keys.acme)
    client.headers["accept-language"] = i18n.html_lang(locale)
    cases = [
        (
            await client.post("/api/v1/rounds", content=b"{not json", headers={"content-type": "application/json"}),
            N_("the request body is not valid JSON"),
        ),
        (
            await client.post("/api/v1/rounds", json={"closes_in_days": 5, "colour": "red"}),
            NP_(
                "unknown field %(names)s (allowed: %(allowed)s)",
                "unknown fields %(names)s (allowed: %(allowed)s)",
                1,
                names="'colour'",
                allowed="closes_in_days, departments, remind_after_days",
            ),
        ),
        (
            await client.post("/api/v1/rounds", json={"closes_in_days": "five"}),
            N_("%(field)s must be a whole number, not %(value)s", field="closes_in_days", value="'five'"),
        ),
        (
            await client.get("/api/v1/people", params={"per_page": "many"}),
            N_("%(field)s=%(value)s is not a whole number", field="per_page", value="'many'"),
        ),
        (
            await client.post("/api/v1/people/import", content=b"x", headers={"content-type": "text/plain"}),
            N_(
                "send the CSV file as the body with content-type text/csv, not %(type)s",
                type="'text/plain'",
            ),
        ),
    ]
    problems = []
    for response, message in cases:
        with i18n.use(locale):
            expected = i18n.localize(message)
        error = response.json()["error"]
        if response.status_code != 422 or error["code"] != "invalid_input" or error["message"] != expected:
            problems.append(f"{response.request.url}: {response.status_code} {error}, expected {expected!r}")
        # The field names and the values sent are identifiers, the same in every language.
        if english_words(f"<p>{FIELDS.sub(' ', error['message'])}</p>"):
            problems.append(f"English left: {error['message']!r}")
    assert not problems, "\n".join(problems)
