"""Sending invitations and reminders: batched, one SMTP session per batch, never twice, never lost.

Each message is marked (``sent_at`` / ``reminded_at``) right after the server accepted it, so a crash
re-sends at most the one message that was in flight. A transient failure (server down, 4xx) stops
the run and raises ``MailDeliveryError``; the job retries later with backoff and picks up exactly the
invitations still unsent. A permanent failure for one address (5xx) is recorded on the invitation
(``last_error``, ``send_attempts``) and that address is skipped.

Only this module (run by the worker) ever looks at which invitations are unanswered, to remind them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from pulse import clock
from pulse.errors import PulseError
from pulse.mail import MailDeliveryError, Mailer, build_message
from pulse.models import Invitation, Organization, Round, RoundStatus
from pulse.services.rounds import get_round
from pulse.services.tokens import token_for
from pulse.settings import Settings

log = logging.getLogger("pulse.invitations")

#: An address that was refused this many times (permanent errors) is not tried again.
MAX_SEND_ATTEMPTS = 3
ANSWER_MINUTES = 2
ERROR_LENGTH = 500


@dataclass(frozen=True)
class SendResult:
    """What one run did. ``skipped`` says why nothing was attempted (closed round, already reminded)."""

    sent: int = 0
    failed: int = 0
    skipped: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped}


def survey_link(settings: Settings, salt: str) -> str:
    return f"{settings.base_url}/s/{token_for(salt, settings.secret_key)}"


def local_time(moment: datetime, timezone: str) -> str:
    """``Sunday 29 November 2026, 17:00 (Europe/Paris)``: what a person reads in the email."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({timezone})"


def _is_open(found: Round) -> bool:
    return found.status == RoundStatus.OPEN and found.closes_at > clock.now()


async def _message_context(found: Round) -> dict[str, Any]:
    organization = await Organization.get(id=found.organization_id)
    return {
        "organization_name": organization.name,
        "closes_at": local_time(found.closes_at, organization.timezone),
        "minutes": ANSWER_MINUTES,
        "min_group_size": organization.min_group_size,
    }


def _build(
    template: str, invitation: Invitation, context: Mapping[str, Any], settings: Settings
) -> EmailMessage | None:
    person = invitation.person
    if person is None:  # erased since the batch was read
        return None
    return build_message(
        template,
        to=person.email,
        to_name=person.name,
        locale=person.locale,
        settings=settings,
        context={**context, "name": person.name, "link": survey_link(settings, invitation.token_salt)},
    )


async def _record_failure(invitation_id: int, error: MailDeliveryError, *, count: bool) -> None:
    changes: dict[str, Any] = {"last_error": str(error)[:ERROR_LENGTH]}
    if count:
        changes["send_attempts"] = F("send_attempts") + 1
    await Invitation.filter(id=invitation_id).update(**changes)


async def _send_run(
    template: str,
    found: Round,
    settings: Settings,
    mailer: Mailer,
    batch_size: int,
    *,
    reminder: bool,
) -> SendResult:
    context = await _message_context(found)
    sent = failed = 0
    last_id = 0
    while True:
        query = Invitation.filter(round_id=found.id, person_id__not_isnull=True, id__gt=last_id)
        if reminder:
            query = query.filter(answered=False, sent_at__not_isnull=True, reminded_at__isnull=True)
        else:
            query = query.filter(sent_at__isnull=True, send_attempts__lt=MAX_SEND_ATTEMPTS)
        batch = await query.order_by("id").limit(batch_size).select_related("person")
        if not batch:
            break
        last_id = batch[-1].id
        async with mailer.session() as session:
            for invitation in batch:
                message = _build(template, invitation, context, settings)
                if message is None:
                    continue
                try:
                    await session.send(message)
                except MailDeliveryError as error:
                    # A transient error is not the address's fault: it does not count as an attempt.
                    await _record_failure(invitation.id, error, count=not error.transient)
                    if error.transient:
                        raise
                    failed += 1
                    log.warning("invitation %d refused for good: %s", invitation.id, error)
                    continue
                # Marked right away: a crash now re-sends at most the message that was in flight.
                if reminder:
                    await Invitation.filter(id=invitation.id).update(reminded_at=clock.now())
                else:
                    await Invitation.filter(id=invitation.id).update(
                        sent_at=clock.now(), send_attempts=F("send_attempts") + 1, last_error=None
                    )
                sent += 1
    return SendResult(sent=sent, failed=failed)


async def send_invitations(round_id: int, settings: Settings, mailer: Mailer, *, batch_size: int = 500) -> SendResult:
    """Email every invitation of the round that has not been sent yet (idempotent)."""
    if batch_size < 1:
        raise PulseError(f"batch size {batch_size} must be at least 1")
    found = await get_round(round_id)
    if not _is_open(found):
        return SendResult(skipped=f"round {round_id} is closed")
    return await _send_run("invitation", found, settings, mailer, batch_size, reminder=False)


async def send_reminders(round_id: int, settings: Settings, mailer: Mailer, *, batch_size: int = 500) -> SendResult:
    """Remind, once per round, everyone invited who has not answered; the same link again."""
    if batch_size < 1:
        raise PulseError(f"batch size {batch_size} must be at least 1")
    found = await get_round(round_id)
    if not _is_open(found):
        return SendResult(skipped=f"round {round_id} is closed")
    if found.reminded_at is not None:
        return SendResult(skipped=f"round {round_id} was already reminded")
    result = await _send_run("reminder", found, settings, mailer, batch_size, reminder=True)
    await Round.filter(id=round_id, reminded_at__isnull=True).update(reminded_at=clock.now())
    return result
