"""Redaction cannot be turned into censorship.

The insider here is HR: they edit the directory, and the directory is what redaction removes from
comments. Adding a "person" called Harassment Overtime used to erase those words from every comment.
Names are now removed only as whole names, and each released comment says how many removals it had.
"""

from __future__ import annotations

from pathlib import Path

from pulse.models import Department, Organization, Response
from pulse.pdf import render_pdf_sync
from pulse.services import people, reports
from pulse.settings import Settings
from tests.services.test_reports import seed_organization, seed_round
from tests.test_pdf import pdf_text

#: Comments written in Customer Service (24 answers: enough for its comments to be released).
WRITTEN = {
    "Harassment is ignored here.": ("Harassment is ignored here.", 0),
    "Unpaid overtime, every single week.": ("Unpaid overtime, every single week.", 0),
    "HARASSMENT and Overtime are the real problems.": ("HARASSMENT and Overtime are the real problems.", 0),
    "Overtime harassment, daily.": ("Overtime harassment, daily.", 0),
    # The whole name is a name: removed, and counted.
    "Who is harassment overtime anyway?": ("Who is [name removed] anyway?", 1),
    # The real person, in the forms people write names in.
    "Jane Roe blamed me in front of everyone.": ("[name removed] blamed me in front of everyone.", 1),
    "roe, jane said no and JANE ROE agreed.": ("[name removed] said no and [name removed] agreed.", 2),
    "Write to jane.roe@acme.test or call 0176 123 4567.": ("Write to [email removed] or call [phone removed].", 2),
}


async def _released(db: Settings) -> tuple[dict[str, object], dict[str, int]]:
    organization, departments = await seed_organization()
    round_, _ = await seed_round(organization, departments, 1, seed=31, closed=True)
    # HR, playing the censor, adds a "person" whose name is made of the words to silence.
    await people.import_people(
        await Organization.get(id=organization.id),
        "email,name,department\nh.o@acme.test,Harassment Overtime,Sales\njane.roe@acme.test,Jane Roe,Finance\n",
    )
    service = await Department.get(organization_id=organization.id, name="Customer Service")
    answered = await Response.filter(round_id=round_.id, department_id=service.id).order_by("id").limit(len(WRITTEN))
    assert len(answered) == len(WRITTEN)
    for response, comment in zip(answered, WRITTEN, strict=True):
        await Response.filter(id=response.id).update(comment=comment)
    model = dict((await reports.build_report(round_.id, db)).model or {})
    released = {c["text"]: c["redactions"] for group in model["comments"] for c in group["comments"]}
    return model, released


async def test_a_person_named_after_words_does_not_silence_those_words(db: Settings) -> None:
    _, released = await _released(db)
    for written, (text, removals) in WRITTEN.items():
        assert released.get(text) == removals, (written, text, {t: n for t, n in released.items() if "[" in t})


async def test_the_pdf_says_how_many_removals_a_comment_had(sqlite_db: Settings, tmp_path: Path) -> None:
    model, _ = await _released(sqlite_db)
    text = " ".join(pdf_text(render_pdf_sync(model), tmp_path).split())
    assert "“Harassment is ignored here.”" in text
    assert "“Who is [name removed] anyway?” (1 removal)" in text
    assert "“[name removed] said no and [name removed] agreed.” (2 removals)" in text
