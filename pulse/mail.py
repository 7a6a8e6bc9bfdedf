"""Email: building messages from template triads, and sending them by SMTP or into the outbox.

Every email is three templates under ``templates/emails/``: ``NAME.subject.txt``, ``NAME.txt`` and
``NAME.html``, written in English and translated through the gettext catalogs (``pulse.i18n``) into
the recipient's language. A language without a catalog gets English.

Sending goes through a *session* so that a batch reuses one SMTP connection::

    async with mailer.session() as session:
        for message in messages:
            await session.send(message)
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from pulse import i18n
from pulse.errors import PulseError
from pulse.settings import Settings, SmtpSettings
from pulse.templating import environment

DEFAULT_LOCALE = i18n.SOURCE_LOCALE


class MailDeliveryError(PulseError):
    """Sending failed. ``transient`` errors (server down, 4xx replies) are worth retrying."""

    code = "mail_delivery"

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def build_message(
    template: str,
    *,
    to: str,
    context: Mapping[str, Any],
    settings: Settings,
    locale: str | None = None,
    to_name: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """Render ``templates/emails/<template>.{subject.txt,txt,html}`` in ``locale`` into one message."""
    env = environment()
    base = f"emails/{template}"
    with i18n.use(locale) as chosen:
        full_context = {"base_url": settings.base_url, "locale": chosen, **context}
        subject = env.get_template(f"{base}.subject.txt").render(full_context).strip()
        text = env.get_template(f"{base}.txt").render(full_context)
        html = env.get_template(f"{base}.html").render(full_context)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = settings.mail_from
    message["To"] = formataddr((to_name, to)) if to_name else to
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1].strip("> "))
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = i18n.html_lang(chosen)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
        )
    return message


class MailSession(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class Mailer(Protocol):
    def session(self) -> Any:  # an async context manager yielding a MailSession
        ...


class _OutboxSession:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / f".{name}.tmp"
        # Write then rename, so a reader never sees half a message.
        tmp.write_bytes(bytes(message))
        os.replace(tmp, self.directory / name)


class OutboxMailer:
    """The embedded mode's mail server: each message becomes an .eml file in ``var/outbox/``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_OutboxSession]:
        yield _OutboxSession(self.directory)


def _is_transient(error: Exception) -> bool:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return 400 <= error.code < 500
    # Connection refused, timeouts, dropped connections: the server may be back soon.
    return isinstance(
        error,
        (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            OSError,
            asyncio.TimeoutError,
        ),
    )


class _SmtpSession:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client

    async def send(self, message: EmailMessage) -> None:
        try:
            await self.client.send_message(message)
        except (aiosmtplib.SMTPException, OSError) as error:
            raise MailDeliveryError(
                f"SMTP refused the message to {message['To']}: {error}", transient=_is_transient(error)
            ) from error


class SmtpMailer:
    """Sends through an SMTP server; one connection per session."""

    def __init__(self, smtp: SmtpSettings, timeout: float = 30.0) -> None:
        self.smtp = smtp
        self.timeout = timeout

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_SmtpSession]:
        client = aiosmtplib.SMTP(
            hostname=self.smtp.host,
            port=self.smtp.port,
            use_tls=self.smtp.implicit_tls,
            start_tls=None if not self.smtp.implicit_tls else False,
            timeout=self.timeout,
        )
        try:
            await client.connect()
            if self.smtp.username:
                await client.login(self.smtp.username, self.smtp.password or "")
        except (aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise MailDeliveryError(
                f"cannot reach the SMTP server {self.smtp.host}:{self.smtp.port}: {error}",
                transient=_is_transient(error),
            ) from error
        try:
            yield _SmtpSession(client)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def mailer_for(settings: Settings) -> OutboxMailer | SmtpMailer:
    """SMTP when PULSE_SMTP_URL is set, otherwise the outbox directory."""
    if settings.smtp is not None:
        return SmtpMailer(settings.smtp)
    return OutboxMailer(settings.outbox_dir)
