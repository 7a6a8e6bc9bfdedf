"""Every person in their own language: import people with each locale, open a round, read each
invitation from a real SMTP server, check it is entirely in the person's language, answer through the
survey page in that language, and build the report in French and German."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest
from babel.messages.pofile import read_po

from pulse import i18n
from pulse.mail import SmtpMailer
from pulse.models import Invitation, Response
from pulse.services.invitations import send_invitations
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.rounds import open_round
from pulse.settings import Settings, parse_smtp_url
from pulse.web.app import create_app
from tests.conftest import SmtpCapture

LOCALES = {"en": "en", "fr": "fr", "de": "de-DE", "es": "es", "pt_BR": "pt-BR"}
PER_LANGUAGE = 2


def english_fragments() -> set[str]:
    """Every run of 3+ words of English template text (the catalog's msgids, split at placeholders)."""
    with i18n.catalog_path("en").open("rb") as handle:
        catalog = read_po(handle)
    fragments: set[str] = set()
    for message in catalog:
        for text in message.id if isinstance(message.id, tuple) else (message.id,):
            for part in re.split(r"%\(\w+\)[sd]|[.:;?!()]", str(text or "")):
                words = part.split()
                if len(words) >= 3:
                    fragments.add(" ".join(words))
    return fragments


def leftovers(text: str, fragments: set[str]) -> list[str]:
    flat = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return sorted(fragment for fragment in fragments if fragment in flat)


def bodies(message: EmailMessage) -> list[str]:
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return parts


@pytest.fixture
async def client(db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(db, manage_database=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pulse.test") as http,
    ):
        yield http


@pytest.mark.slow
async def test_each_person_reads_the_invitation_and_the_survey_in_their_own_language(
    db: Settings, smtp_server: SmtpCapture, client: httpx.AsyncClient
) -> None:
    organization = await create_organization("acme", "Acme", timezone="Europe/Paris")
    lines = ["email,name,department,locale"]
    for code, tag in LOCALES.items():
        lines += [f"{code.lower()}{n}@acme.test,{code} Person {n},{'Zeta' if n else 'Omega'},{tag}" for n in range(4)]
    await import_people(organization, "\n".join(lines) + "\n")
    opened = await open_round(organization, closes_in_days=5)
    await send_invitations(opened.id, db, SmtpMailer(parse_smtp_url(smtp_server.url)))  # type: ignore[arg-type]
    assert len(smtp_server.messages) == 4 * len(LOCALES)

    fragments = english_fragments()
    assert len(fragments) > 100
    answered = 0
    for message in smtp_server.messages:
        code = str(message["To"]).split("@")[0].split("<")[-1][:-1]
        locale = next(c for c in LOCALES if c.lower() == code)
        assert message["Content-Language"] == i18n.html_lang(locale)
        text = "\n".join(bodies(message))
        if locale == "en":
            assert "Your answers are anonymous" in text
            assert leftovers(text, fragments)  # the check finds English when there is English
            continue
        assert not leftovers(text, fragments), (locale, leftovers(text, fragments))
        with i18n.use(locale):
            assert i18n.gettext("Answer the survey") in text
            assert i18n.gettext("Your answers are anonymous.") in text
        assert f'<html lang="{i18n.html_lang(locale)}">' in text
        # The closing date is written the person's way (day and month names in their language).
        assert {"fr": "(Europe/Paris)", "de": ". ", "es": " de ", "pt_BR": " de "}[locale] in text

        link = re.search(r"http://[^\s\"<]+/s/[A-Za-z0-9_-]+", text)
        assert link is not None
        path = link.group(0).split("pulse.test", 1)[-1] if "pulse.test" in link.group(0) else link.group(0)
        path = "/s/" + path.rsplit("/s/", 1)[1]
        page = await client.get(path)
        assert page.status_code == 200
        assert f'<html lang="{i18n.html_lang(locale)}">' in page.text
        assert page.headers["content-language"] == i18n.html_lang(locale)
        assert not leftovers(page.text, fragments), (locale, leftovers(page.text, fragments))
        keys = list(dict.fromkeys(re.findall(r'<input type="radio" name="([a-z_]+)" value="[1-5]"', page.text)))
        keys = [key for key in keys if key != "enps"]
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        path += action.group(1)  # where a browser posts the form
        # A wrong value first: the problems come back in the person's language, answers kept.
        refused = await client.post(path, data={keys[0]: "9", keys[1]: "4"})
        assert refused.status_code == 422
        with i18n.use(locale):
            assert i18n.gettext("Please check your answers") in refused.text
        assert not leftovers(refused.text, fragments), (locale, leftovers(refused.text, fragments))
        sent = await client.post(path, data={key: "4" for key in keys})
        assert sent.status_code == 303
        thanks = await client.get(sent.headers["location"])
        with i18n.use(locale):
            assert i18n.gettext("Thank you") in thanks.text
        answered += 1
    assert answered == 4 * (len(LOCALES) - 1)
    assert await Response.filter(round_id=opened.id).count() == answered
    assert await Invitation.filter(round_id=opened.id, answered=True).count() == answered


async def test_the_language_switch_keeps_the_link_working_and_stores_nothing(
    db: Settings, client: httpx.AsyncClient
) -> None:
    organization = await create_organization("acme", "Acme")
    await import_people(organization, "email,name,department,locale\na@acme.test,A,Zeta,de\nb@acme.test,B,Omega,de\n")
    opened = await open_round(organization)
    from pulse.services.tokens import token_for

    salt = await Invitation.filter(round_id=opened.id).order_by("id").first().values_list("token_salt", flat=True)
    path = f"/s/{token_for(str(salt), db.secret_key)}"
    german = await client.get(path)
    assert '<html lang="de">' in german.text
    for code in i18n.available_locales():
        assert f'href="{path}?lang={code}"' in german.text
    french = await client.get(f"{path}?lang=fr")
    assert '<html lang="fr">' in french.text and "set-cookie" not in french.headers
    assert await client.get(f"{path}?lang=xx") is not None  # an unknown language is ignored, never an error
    assert '<html lang="de">' in (await client.get(f"{path}?lang=xx")).text
    # The form posts to its own URL with the page's language, which carries to the thank-you page.
    assert '<form method="post" action="?lang=fr"' in french.text
    sent = await client.post(f"{path}?lang=fr", data={opened.item_keys[0]: "3"})
    assert sent.headers["location"] == "/s/thanks?lang=fr"
    assert '<html lang="fr">' in (await client.get(sent.headers["location"])).text
    assert await Response.filter(round_id=opened.id).count() == 1


async def test_people_without_a_locale_get_the_organisations_default_language(db: Settings) -> None:
    from pulse.models import Person

    organization = await create_organization("acme", "Acme", locale="es")
    await import_people(organization, "email,name,department,locale\na@acme.test,A,Zeta,\nb@acme.test,B,Zeta,de\n")
    assert dict(await Person.all().values_list("email", "locale")) == {"a@acme.test": "es", "b@acme.test": "de"}
