"""Benchmark: invitations sent per second to a local SMTP server (target: 10,000 in under 30 s).

Run: .venv/bin/pytest tests/perf/bench_invitations.py -p no:xdist -s -o norecursedirs=

The SMTP server (aiosmtpd) runs in its own process. The sender is the real service
(``send_invitations``): messages rendered from the templates, SMTP sessions reused per batch, and
each invitation marked sent in the database right after the server accepted it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from pulse import db as pulse_db
from pulse.mail import SmtpMailer
from pulse.models import Invitation
from pulse.services.invitations import send_invitations
from pulse.services.rounds import open_round
from pulse.settings import configure, parse_smtp_url
from tests.anonymity.population import populate
from tests.conftest import make_settings

PEOPLE = 10_000


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"], indirect=True
)
async def test_ten_thousand_invitations_per_run(database_url: str, tmp_path: Path) -> None:
    sink = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("smtp_sink.py")), stdout=asyncio.subprocess.PIPE
    )
    assert sink.stdout is not None
    port = int((await sink.stdout.readline()).decode())
    settings = make_settings(tmp_path, database_url, PULSE_SMTP_URL=f"smtp://127.0.0.1:{port}")
    configure(settings)
    try:
        async with pulse_db.database(settings):
            org = await populate({f"Department {d:02d}": PEOPLE // 50 for d in range(50)}, slug="bench")
            started = time.monotonic()
            opened = await open_round(org)
            opened_in = time.monotonic() - started
            assert settings.smtp is not None
            mailer = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}"))  # type: ignore[arg-type]
            load = os.getloadavg()[0]
            cpu = time.process_time()
            started = time.monotonic()
            result = await send_invitations(opened.id, settings, mailer)
            elapsed = time.monotonic() - started
            cpu = time.process_time() - cpu
            marked = await Invitation.filter(round_id=opened.id, sent_at__not_isnull=True).count()
            sink_cpu = _cpu_seconds(sink.pid)
    finally:
        configure(None)
        sink.terminate()
        out, _ = await sink.communicate()
    received = int(out.decode().split()[-1])
    backend = "PostgreSQL" if settings.is_postgres else "SQLite"
    print(
        f"\ninvitations ({backend}): {result.sent} sent, {received} received, {marked} marked in {elapsed:.1f} s "
        f"= {result.sent / elapsed:.0f}/s; sender CPU {cpu:.1f} s ({1000 * cpu / max(result.sent, 1):.2f} ms/message); "
        f"SMTP server process CPU {sink_cpu:.1f} s; opening the round (10,000 invitations) took {opened_in:.1f} s; "
        f"machine load average {load:.1f}"
    )
    assert result.sent == received == marked == PEOPLE
