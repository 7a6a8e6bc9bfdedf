from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from pulse import clock
from pulse.mail import MailDeliveryError, SmtpMailer
from pulse.models import Department, Invitation, Person, Round
from pulse.services.answers import submit
from pulse.services.invitations import send_invitations, send_reminders
from pulse.services.rounds import close_round, invite_late_joiners, open_round
from pulse.services.tokens import hash_token
from pulse.settings import Settings, parse_smtp_url
from tests.anonymity.population import RecordingMailer, html_of, populate, text_of, token_in, tokens_by_recipient

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class RefusingHandler:
    """An SMTP server that refuses some recipients for good (550) and keeps the rest."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if isinstance(message, EmailMessage):
            self.messages.append(message)
        return "250 OK"


@pytest.fixture
async def refusing_smtp() -> AsyncIterator[tuple[RefusingHandler, str]]:
    from aiosmtpd.smtp import SMTP

    handler = RefusingHandler({"stores-1@acme.test"})
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield handler, f"smtp://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


async def test_invitations_go_out_once_each_in_batches_over_one_smtp_session_per_batch(
    db: Settings, smtp_server: Any
) -> None:
    org = await populate({"Stores": 5, "Sales": 2})
    opened = await open_round(org)
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    result = await send_invitations(opened.id, db, mailer, batch_size=3)
    assert (result.sent, result.failed) == (7, 0)
    again = await send_invitations(opened.id, db, mailer, batch_size=3)
    assert again.sent == 0
    assert len(smtp_server.messages) == 7
    tokens = tokens_by_recipient(smtp_server.messages)
    assert len(tokens) == 7 and len(set(tokens.values())) == 7
    for invitation in await Invitation.filter(round_id=opened.id).select_related("person"):
        assert invitation.sent_at == NOW and invitation.send_attempts == 1
        assert invitation.person is not None
        assert invitation.token_hash == hash_token(tokens[invitation.person.email], db.secret_key)


async def test_the_invitation_says_who_asks_why_how_long_that_it_is_anonymous_and_when_it_closes(
    db: Settings,
) -> None:
    org = await populate({"Stores": 5}, timezone="Europe/Paris")
    opened = await open_round(org, closes_in_days=6)
    mailer = RecordingMailer()
    await send_invitations(opened.id, db, mailer)
    message = mailer.messages[0]
    assert "Acme Retail" in str(message["Subject"])
    assert str(message["From"]) == db.mail_from
    for part in (text_of(message), html_of(message)):
        assert "Acme Retail" in part
        assert "under 2 minutes" in part
        assert "anonymous" in part
        # 8:00 UTC + 6 days is 9:00 in Paris (CET).
        assert "Sunday, 29 November 2026, 09:00 (Europe/Paris)" in part
        assert f"http://pulse.test/s/{token_in(message)}" in part


async def test_a_transient_smtp_failure_stops_the_run_and_a_retry_sends_only_the_rest(
    db: Settings, smtp_server: Any
) -> None:
    org = await populate({"Stores": 6})
    opened = await open_round(org)
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    await send_invitations(opened.id, db, mailer, batch_size=2)  # warm: nothing special
    stores = await Department.get(name="Stores")
    late = await Person.create(organization=org, department=stores, email="x@acme.test", name="X")
    assert await invite_late_joiners(opened.id) == 1
    smtp_server.messages.clear()
    smtp_server.refuse_next = 1
    with pytest.raises(MailDeliveryError) as raised:
        await send_invitations(opened.id, db, mailer)
    assert raised.value.transient
    pending = await Invitation.get(round_id=opened.id, person_id=late.id)
    assert pending.sent_at is None and pending.send_attempts == 0 and pending.last_error
    result = await send_invitations(opened.id, db, mailer)
    assert result.sent == 1
    assert [str(m["To"]) for m in smtp_server.messages] == ["X <x@acme.test>"]


async def test_an_unreachable_server_is_a_transient_failure_and_nothing_is_marked(db: Settings) -> None:
    org = await populate({"Stores": 3})
    opened = await open_round(org)
    mailer = SmtpMailer(parse_smtp_url("smtp://127.0.0.1:9"), timeout=2)  # type: ignore[arg-type]
    with pytest.raises(MailDeliveryError) as raised:
        await send_invitations(opened.id, db, mailer)
    assert raised.value.transient
    assert await Invitation.filter(sent_at__isnull=True).count() == 3


async def test_a_refused_address_is_recorded_and_skipped_and_the_others_are_sent(
    db: Settings, refusing_smtp: tuple[RefusingHandler, str]
) -> None:
    handler, url = refusing_smtp
    org = await populate({"Stores": 4})
    opened = await open_round(org)
    mailer = SmtpMailer(parse_smtp_url(url))  # type: ignore[arg-type]
    result = await send_invitations(opened.id, db, mailer)
    assert (result.sent, result.failed) == (3, 1)
    refused = await Invitation.get(person__email="stores-1@acme.test")
    assert refused.sent_at is None and refused.send_attempts == 1
    assert refused.last_error is not None and "550" in refused.last_error
    assert len(handler.messages) == 3


async def test_reminders_go_once_only_to_people_who_have_not_answered_with_the_same_link(db: Settings) -> None:
    org = await populate({"Stores": 5})
    opened = await open_round(org, remind_after_days=3)
    mailer = RecordingMailer()
    await send_invitations(opened.id, db, mailer)
    links = tokens_by_recipient(mailer.messages)
    answered = ["stores-0@acme.test", "stores-3@acme.test"]
    for address in answered:
        await submit(links[address], {opened.item_keys[0]: "4"})
    reminders = RecordingMailer()
    result = await send_reminders(opened.id, db, reminders)
    assert result.sent == 3
    reminded = tokens_by_recipient(reminders.messages)
    assert set(reminded) == set(links) - set(answered)
    assert all(reminded[address] == links[address] for address in reminded)
    assert "Reminder" in str(reminders.messages[0]["Subject"])
    again = await send_reminders(opened.id, db, reminders)
    assert again.sent == 0 and again.skipped is not None and "already reminded" in again.skipped
    assert len(reminders.messages) == 3
    assert (await Round.get(id=opened.id)).reminded_at == NOW


async def test_nothing_is_sent_for_a_closed_round(db: Settings) -> None:
    org = await populate({"Stores": 3})
    opened = await open_round(org)
    await close_round(opened.id)
    mailer = RecordingMailer()
    assert (await send_invitations(opened.id, db, mailer)).skipped
    assert (await send_reminders(opened.id, db, mailer)).skipped
    assert mailer.messages == []


async def test_an_expired_round_sends_no_reminders_even_before_it_is_formally_closed(
    db: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await populate({"Stores": 3})
    opened = await open_round(org, closes_in_days=2)
    monkeypatch.setattr(clock, "now", lambda: NOW + timedelta(days=3))
    mailer = RecordingMailer()
    assert (await send_reminders(opened.id, db, mailer)).skipped
    assert mailer.messages == []


async def test_a_person_gets_their_language_by_its_base_and_english_when_pulse_lacks_it(db: Settings) -> None:
    org = await populate({"Stores": 3})
    people = await Person.all().order_by("id")
    await Person.filter(id=people[0].id).update(locale="fr-CA")
    await Person.filter(id__in=[p.id for p in people[1:]]).update(locale="nl")
    opened = await open_round(org)
    mailer = RecordingMailer()
    await send_invitations(opened.id, db, mailer)
    assert len(mailer.messages) == 3
    by_address = {str(m["To"]).split("<")[-1].rstrip(">"): text_of(m) for m in mailer.messages}
    assert "anonymes" in by_address[people[0].email]  # fr-CA reads French
    assert all("anonymous" in by_address[p.email] for p in people[1:])  # no Dutch catalog: English


async def test_the_job_retries_a_transient_failure_with_backoff_and_sends_everything_once(
    db: Settings, smtp_server: Any
) -> None:
    from workers.queue import InProcessQueue

    org = await populate({"Stores": 4})
    opened = await open_round(org)
    smtp_server.refuse_next = 2
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    queue = InProcessQueue(db, {"mailer": mailer, "retry_base_seconds": 0.01})
    assert await queue.enqueue("send_invitations", opened.id, job_id=f"invite:{opened.id}")
    assert not await queue.enqueue("send_invitations", opened.id, job_id=f"invite:{opened.id}")
    await queue.drain()
    assert queue.failures == []
    assert len(smtp_server.messages) == 4
    assert len(tokens_by_recipient(smtp_server.messages)) == 4
    assert await Invitation.filter(sent_at__isnull=True).count() == 0


async def test_names_and_organisations_outside_ascii_arrive_intact_over_smtp(db: Settings, smtp_server: Any) -> None:
    org = await populate({"Cuisine": 2}, name="Café Zoë Ångström")
    await Person.filter(email="cuisine-0@acme.test").update(name="Zoë Müller-Øst")
    opened = await open_round(org)
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    await send_invitations(opened.id, db, mailer)
    message = next(m for m in smtp_server.messages if "cuisine-0" in str(m["To"]))
    assert str(message["To"]) == "Zoë Müller-Øst <cuisine-0@acme.test>"
    assert str(message["Subject"]).startswith("Café Zoë Ångström:")
    assert "Hi Zoë Müller-Øst," in text_of(message)
    assert "Café Zoë Ångström" in html_of(message)
    assert str(message["Auto-Submitted"]) == "auto-generated" and message["Message-ID"]
