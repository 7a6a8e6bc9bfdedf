from __future__ import annotations

from pathlib import Path

import pytest

from pulse.mail import MailDeliveryError, OutboxMailer, SmtpMailer, build_message, mailer_for
from pulse.settings import parse_smtp_url
from tests.conftest import SmtpCapture, make_settings


def _message(tmp_path: Path, to: str = "ada@example.org") -> object:
    settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'x.sqlite3'}")
    return build_message("hello", to=to, context={"name": "Ada"}, settings=settings, locale="fr")


async def test_a_message_has_subject_text_and_html_from_its_template_triad(tmp_path: Path) -> None:
    message = _message(tmp_path)
    assert message["Subject"] == "Hello Ada"  # type: ignore[index]
    assert message["From"] == "Pulse <pulse@pulse.test>"  # type: ignore[index]
    bodies = {part.get_content_type(): part.get_content() for part in message.iter_parts()}  # type: ignore[attr-defined]
    assert bodies == {"text/plain": "Hi Ada, text.\n", "text/html": "<p>Hi Ada, html.</p>\n"}


async def test_without_smtp_settings_messages_land_in_the_outbox(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite://{tmp_path / 'x.sqlite3'}")
    mailer = mailer_for(settings)
    assert isinstance(mailer, OutboxMailer)
    async with mailer.session() as session:
        await session.send(_message(tmp_path))
    files = list(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 1 and b"Subject: Hello Ada" in files[0].read_bytes()


async def test_smtp_mailer_delivers_to_a_real_server_over_one_connection(
    tmp_path: Path, smtp_server: SmtpCapture
) -> None:
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    async with mailer.session() as session:
        for name in ("a", "b", "c"):
            await session.send(_message(tmp_path, to=f"{name}@example.org"))
    assert [m["To"] for m in smtp_server.messages] == ["a@example.org", "b@example.org", "c@example.org"]


async def test_a_refusing_server_raises_a_transient_error(tmp_path: Path, smtp_server: SmtpCapture) -> None:
    smtp_server.refuse_next = 1
    mailer = SmtpMailer(parse_smtp_url(smtp_server.url))  # type: ignore[arg-type]
    async with mailer.session() as session:
        with pytest.raises(MailDeliveryError) as caught:
            await session.send(_message(tmp_path))
    assert caught.value.transient
    assert smtp_server.messages == []


async def test_an_unreachable_server_raises_a_transient_error() -> None:
    mailer = SmtpMailer(parse_smtp_url("smtp://127.0.0.1:1"), timeout=2)  # type: ignore[arg-type]
    with pytest.raises(MailDeliveryError, match=r"cannot reach the SMTP server 127\.0\.0\.1:1") as caught:
        async with mailer.session():
            pass
    assert caught.value.transient
