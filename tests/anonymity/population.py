"""Test helpers shared by the answering tests: an organisation with people, links from emails."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from email.message import EmailMessage

from pulse.models import Department, Organization, Person

LINK = re.compile(r"https?://[^/\s]+/s/([A-Za-z0-9_-]{43})")


async def populate(
    departments: Mapping[str, int],
    *,
    slug: str = "acme",
    name: str = "Acme Retail",
    k: int = 5,
    timezone: str = "Europe/Paris",
) -> Organization:
    """An organisation with ``count`` active people in each named department (emails name@slug.test)."""
    organization = await Organization.create(
        slug=slug, name=name, timezone=timezone, min_group_size=k, comment_threshold=max(k, 10)
    )
    for department_name, count in departments.items():
        department = await Department.create(organization=organization, name=department_name)
        await Person.bulk_create(
            [
                Person(
                    organization=organization,
                    department=department,
                    email=f"{department_name.lower().replace(' ', '-')}-{i}@{slug}.test",
                    name=f"{department_name} Person {i}",
                )
                for i in range(count)
            ]
        )
    return organization


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return body.get_content() if body is not None else ""


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    return body.get_content() if body is not None else ""


def token_in(message: EmailMessage) -> str:
    """The survey token of an invitation or reminder (the text and HTML parts must agree)."""
    text_tokens = set(LINK.findall(text_of(message)))
    html_tokens = set(LINK.findall(html_of(message)))
    if len(text_tokens) != 1 or text_tokens != html_tokens:
        raise AssertionError(f"expected one survey link in both parts, got {text_tokens} and {html_tokens}")
    return str(text_tokens.pop())


def tokens_by_recipient(messages: Iterable[EmailMessage]) -> dict[str, str]:
    result: dict[str, str] = {}
    for message in messages:
        address = str(message["To"]).split("<")[-1].rstrip(">")
        result[address] = token_in(message)
    return result


class RecordingSession:
    def __init__(self, mailer: RecordingMailer) -> None:
        self.mailer = mailer

    async def send(self, message: EmailMessage) -> None:
        # Keep what a mail server would receive: the serialised message, parsed again.
        parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
        if not isinstance(parsed, EmailMessage):
            raise TypeError("not an email")
        self.mailer.messages.append(parsed)


class RecordingMailer:
    """Keeps messages in memory; for tests about what is sent, not how (SMTP is tested elsewhere)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.sessions = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[RecordingSession]:
        self.sessions += 1
        yield RecordingSession(self)
