"""Tortoise models: fields, relations and indexes; no business logic.

Anonymity is built into the shape of these tables (DESIGN.md, "Anonymity"):

* ``Response``/``Answer``/``HelpMark`` hold the round, the department snapshot and the answers; never a
  person, an invitation, a token, an IP, a user agent or any timestamp. Their primary keys are random
  UUIDs, so ids carry no order.
* ``Invitation`` holds the person, a keyed hash of the link token and an ``answered`` flag, but no
  answered-at time. Nothing joins an invitation to a response.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class PersonRole(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    LEADER = "leader"
    HR = "hr"


class UserRole(StrEnum):
    ADMIN = "admin"  # every organisation
    HR = "hr"  # manages one organisation
    LEADER = "leader"  # reads the reports of one organisation


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReportStatus(StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class Organization(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=64, default="UTC")
    #: k of the disclosure rules: no figure about fewer than this many people (never below 3).
    min_group_size = fields.IntField(default=5)
    #: Comments are shown only for groups with at least this many responses.
    comment_threshold = fields.IntField(default=10)
    #: Email domains people's addresses must belong to (lowercase); null = any domain.
    email_domains: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    #: People who joined or changed department within this many days before a round opens count only in
    #: the organisation's figures of that round (the newcomer quarantine; never below 14).
    quarantine_days = fields.IntField(default=28)
    #: The organisation's default language (a pulse.i18n code): people and users without their own get it.
    locale = fields.CharField(max_length=16, default="en")
    created_at = fields.DatetimeField(auto_now_add=True)

    departments: fields.ReverseRelation[Department]
    people: fields.ReverseRelation[Person]
    rounds: fields.ReverseRelation[Round]
    schedules: fields.ReverseRelation[Schedule]

    class Meta:
        table = "organization"


class Department(Model):
    """A unit of the organisation's tree (pulse.domain.units). Never deleted: past rounds refer to it.

    ``name`` is the unit's whole path as shown, ``Retail / Stores North / Store 12`` (a top-level unit's
    path is its plain name), so every place that shows a department shows where it sits. ``parent`` is
    the unit one level up (null at the top); the import keeps it in line with the path.
    """

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="departments", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int
    parent_id: int | None

    class Meta:
        table = "department"
        unique_together = (("organization", "name"),)


class Person(Model):
    """Someone who is surveyed. Erasure deletes this row; invitations keep only their counts."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="people", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=200)
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="people", on_delete=fields.RESTRICT
    )
    manager_email = fields.CharField(max_length=254, null=True)
    role = fields.CharEnumField(PersonRole, max_length=16, default=PersonRole.EMPLOYEE)
    locale = fields.CharField(max_length=16, default="en")
    active = fields.BooleanField(default=True)
    #: When the person joined the directory (or was reactivated); null = a founding member (the
    #: organisation's first import, or before this was recorded).
    joined_at = fields.DatetimeField(null=True)
    #: When the person last changed department; null = never.
    moved_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int
    department_id: int

    class Meta:
        table = "person"
        unique_together = (("organization", "email"),)
        indexes = (Index(fields=("organization_id", "active")),)


class User(Model):
    """An account for the web app (HR, leaders, admins). Only an Argon2 hash of the password is kept."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(UserRole, max_length=16)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="users", null=True, on_delete=fields.CASCADE
    )
    # A disabled account cannot sign in, and its sessions and the API keys it created stop working.
    active = fields.BooleanField(default=True)
    #: Set by a password reset: the next sign-in leads to the Account page until a new password is chosen.
    must_change_password = fields.BooleanField(default=False)
    #: The language of this user's web app and reports; None follows the organisation's default.
    locale = fields.CharField(max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)
    #: A leader's scope: ids of the units (departments) whose subtrees they read; null = the whole organisation.
    unit_ids: fields.JSONField[list[int] | None] = fields.JSONField(null=True)

    organization_id: int | None

    class Meta:
        table = "user_account"


class UserSession(Model):
    """A signed-in browser. Its cookie carries a random token; only the token's SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="sessions", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    user_id: int

    class Meta:
        table = "user_session"
        indexes = (Index(fields=("expires_at",)),)


class ApiKey(Model):
    """A bearer key for the JSON API of one organisation. The key is shown once; only its hash is kept."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    #: The first characters of the key, shown in lists so people can tell keys apart.
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="api_keys", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    #: A scoped key reads only the reports of these units' subtrees, like a scoped leader; null = HR rights.
    unit_ids: fields.JSONField[list[int] | None] = fields.JSONField(null=True)

    organization_id: int

    class Meta:
        table = "api_key"


class SsoConfig(Model):
    """One organisation's OpenID Connect provider: who may sign in to Pulse through it, with what role.

    The client secret is stored encrypted with a key derived from the secret key (pulse.services.sso).
    """

    id = fields.IntField(primary_key=True)
    organization: fields.OneToOneRelation[Organization] = fields.OneToOneField(
        "models.Organization", related_name="sso_config", on_delete=fields.CASCADE
    )
    #: The provider's issuer URL exactly as its discovery document names it.
    issuer = fields.CharField(max_length=500)
    client_id = fields.CharField(max_length=255)
    client_secret_encrypted = fields.TextField()
    #: What the sign-in button says: "Sign in with <display_name>".
    display_name = fields.CharField(max_length=100, default="")
    #: Email domains whose users are sent to this provider from the sign-in page.
    email_domains: fields.JSONField[list[str]] = fields.JSONField(default=list)
    #: ID token claim that carries roles or groups (a string or a list of strings).
    role_claim = fields.CharField(max_length=100, default="groups")
    #: Claim value -> Pulse role (hr or leader).
    role_map: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    #: Scopes asked for, space-separated; "openid email" at least.
    scopes = fields.CharField(max_length=200, default="openid email profile")
    #: ID token claim listing the unit paths a leader reads (their scope); null = scopes are set in Pulse.
    scope_claim = fields.CharField(max_length=100, null=True)
    #: Create an account on first sign-in for a verified address the provider vouches for.
    jit = fields.BooleanField(default=False)
    #: False: the organisation's people sign in only through the provider.
    password_sign_in = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    organization_id: int

    class Meta:
        table = "sso_config"


class SsoAttempt(Model):
    """A sign-in sent to a provider and not back yet: single use, so a replayed state is refused."""

    id = fields.IntField(primary_key=True)
    #: SHA-256 of the state parameter (the state itself is only in the browser's cookie and the URL).
    state_hash = fields.CharField(max_length=64, unique=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="sso_attempts", on_delete=fields.CASCADE
    )
    nonce = fields.CharField(max_length=128)
    code_verifier = fields.CharField(max_length=128)
    next_url = fields.CharField(max_length=500, default="/")
    created_at = fields.DatetimeField()

    organization_id: int

    class Meta:
        table = "sso_attempt"
        indexes = (Index(fields=("created_at",)),)


class ScimToken(Model):
    """A bearer token for the SCIM API of one organisation; shown once, only its HMAC is kept."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="scim_tokens", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    prefix = fields.CharField(max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    organization_id: int

    class Meta:
        table = "scim_token"


class ScimIdentity(Model):
    """What a SCIM client calls a person (userName, externalId), kept beside the directory row.

    Deleted with the person (erasure), so nothing of an erased person stays here either.
    """

    id = fields.IntField(primary_key=True)
    person: fields.OneToOneRelation[Person] = fields.OneToOneField(
        "models.Person", related_name="scim_identity", on_delete=fields.CASCADE
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="scim_identities", on_delete=fields.CASCADE
    )
    user_name = fields.CharField(max_length=254)
    external_id = fields.CharField(max_length=254, null=True)

    person_id: int
    organization_id: int

    class Meta:
        table = "scim_identity"
        unique_together = (("organization", "user_name"),)


class SignInCounter(Model):
    """Failed sign-ins from one source, for the progressive delays of ``pulse.services.sign_in_limits``.

    ``key`` names the source: ``pair:<email>|<client address>``, ``client:<address>`` or ``email:<email>``.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=320, unique=True)
    #: Counted attempts that have not been forgiven (an attempt is counted when it is let through).
    failures = fields.IntField(default=0)
    last_at = fields.DatetimeField(null=True)
    #: Pairs only: a right password came from here recently; until this time the per-email ceiling skips it.
    trusted_until = fields.DatetimeField(null=True)

    class Meta:
        table = "sign_in_counter"
        indexes = (Index(fields=("last_at",)),)


class Schedule(Model):
    """A survey cadence: an RRULE evaluated in the organisation's time zone."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="schedules", on_delete=fields.CASCADE
    )
    rrule = fields.CharField(max_length=500)
    #: Local wall-clock start of the recurrence (naive, in the organisation's time zone), ISO format.
    dtstart = fields.CharField(max_length=32)
    open_days = fields.IntField(default=7)
    remind_after_days = fields.IntField(null=True)
    #: Department names the rounds cover; null = the whole organisation.
    departments: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    active = fields.BooleanField(default=True)
    #: The next occurrence (UTC) the tick has not handled yet; null when the rule has ended.
    next_run_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    organization_id: int

    class Meta:
        table = "schedule"
        indexes = (Index(fields=("active", "next_run_at")),)


class Round(Model):
    """One pulse: the people invited, the items asked, the time it is open."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="rounds", on_delete=fields.CASCADE
    )
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="rounds", null=True, on_delete=fields.SET_NULL
    )
    #: The schedule occurrence (UTC) this round was opened for; unique with the schedule so that two
    #: ticks or two workers can never open the same occurrence twice.
    occurrence_at = fields.DatetimeField(null=True)
    #: 1, 2, 3… within the organisation; drives the rotation of items.
    number = fields.IntField()
    status = fields.CharEnumField(RoundStatus, max_length=16, default=RoundStatus.OPEN)
    item_keys: fields.JSONField[list[str]] = fields.JSONField()
    #: Department ids the round covers; null = every department.
    department_ids: fields.JSONField[list[int] | None] = fields.JSONField(null=True)
    opened_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    remind_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    #: When responses were rewritten in random order so storage order says nothing (see services).
    shuffled_at = fields.DatetimeField(null=True)

    organization_id: int
    schedule_id: int | None

    class Meta:
        table = "round"
        unique_together = (("organization", "number"), ("schedule", "occurrence_at"))
        indexes = (Index(fields=("status", "closes_at")), Index(fields=("status", "remind_at")))


class Invitation(Model):
    """A person's one-time link to one round. Holds no trace of what, or when, they answered."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="invitations", on_delete=fields.CASCADE
    )
    #: Null after the person was erased: the invitation then only counts towards participation.
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="invitations", null=True, on_delete=fields.SET_NULL
    )
    #: Department at invitation time; the response copies it, so moves later change nothing. Null for a
    #: newcomer in quarantine: their answers count in the organisation's figures only.
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="invitations", null=True, on_delete=fields.RESTRICT
    )
    #: Random per-invitation salt; the link token is derived from it with the secret key, so the
    #: database alone can neither reproduce a link nor recognise one (see services.tokens).
    token_salt = fields.CharField(max_length=64)
    #: HMAC-SHA256 (secret key) of the token, hex: how a link is recognised.
    token_hash = fields.CharField(max_length=64, unique=True)
    sent_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    send_attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    answered = fields.BooleanField(default=False)

    round_id: int
    person_id: int | None
    department_id: int | None

    class Meta:
        table = "invitation"
        unique_together = (("round", "person"),)
        indexes = (Index(fields=("round_id", "answered")), Index(fields=("round_id", "sent_at")))


class Response(Model):
    """One anonymous answer sheet. Never a person, invitation, token or timestamp: see the module doc."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="responses", on_delete=fields.CASCADE
    )
    #: Null: a newcomer's answers, counted in the organisation's figures only.
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="responses", null=True, on_delete=fields.RESTRICT
    )
    #: Dimension scores 0-100 computed at submission (null when too few items of it were answered),
    #: so reports aggregate them in SQL.
    score_fear = fields.FloatField(null=True)
    score_initiative = fields.FloatField(null=True)
    score_consistency = fields.FloatField(null=True)
    score_collaboration = fields.FloatField(null=True)
    enps = fields.SmallIntField(null=True)
    #: Whether the help-network question was answered (an empty answer is "nobody helped").
    answered_network = fields.BooleanField(default=False)
    comment = fields.TextField(null=True)

    round_id: int
    department_id: int | None

    class Meta:
        table = "response"
        indexes = (Index(fields=("round_id", "department_id")),)


class Answer(Model):
    """One item's value in one response. Round and department are copied for GROUP BY without joins."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    response: fields.ForeignKeyRelation[Response] = fields.ForeignKeyField(
        "models.Response", related_name="answers", on_delete=fields.CASCADE
    )
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="answers", on_delete=fields.CASCADE
    )
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="answers", null=True, on_delete=fields.RESTRICT
    )
    item_key = fields.CharField(max_length=64)
    value = fields.SmallIntField()

    response_id: uuid.UUID
    round_id: int
    department_id: int | None

    class Meta:
        table = "answer"
        unique_together = (("response", "item_key"),)
        indexes = (Index(fields=("round_id", "department_id", "item_key")),)


class LanguageTally(Model):
    """Running sums of keyed answers per round, page language and item (or dimension total): what
    Cronbach's alpha per language needs, and nothing that names a response, a person or a department.

    Rows exist only for languages with at least 30 invitations in the round (created at opening), so
    a tally never describes a small group; rows under 30 answers are deleted when the report is built.
    """

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="language_tallies", on_delete=fields.CASCADE
    )
    locale = fields.CharField(max_length=16)
    #: An item key, or ``dimension:<key>`` for the sum of a dimension's keyed items.
    key = fields.CharField(max_length=80)
    n = fields.IntField(default=0)
    total = fields.IntField(default=0)
    total_sq = fields.IntField(default=0)

    round_id: int

    class Meta:
        table = "language_tally"
        unique_together = (("round", "locale", "key"),)


class HelpMark(Model):
    """'This department gave me information or help': one edge of the silo network, anonymous."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    response: fields.ForeignKeyRelation[Response] = fields.ForeignKeyField(
        "models.Response", related_name="help_marks", on_delete=fields.CASCADE
    )
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="help_marks", on_delete=fields.CASCADE
    )
    #: The respondent's department (snapshot) and the department that helped.
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="help_marks_given", null=True, on_delete=fields.RESTRICT
    )
    helper: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="help_marks_received", on_delete=fields.RESTRICT
    )

    response_id: uuid.UUID
    round_id: int
    department_id: int | None
    helper_id: int

    class Meta:
        table = "help_mark"
        unique_together = (("response", "helper"),)
        indexes = (Index(fields=("round_id", "department_id")),)


class ParticipationSnapshot(Model):
    """The participation of an open round as released: coarse counts, taken at most once an hour."""

    id = fields.IntField(primary_key=True)
    round: fields.ForeignKeyRelation[Round] = fields.ForeignKeyField(
        "models.Round", related_name="participation_snapshots", on_delete=fields.CASCADE
    )
    taken_at = fields.DatetimeField()
    #: The released figures (JSON-able), exactly as every output shows them until the next snapshot.
    figures: fields.JSONField[dict[str, object]] = fields.JSONField()

    round_id: int

    class Meta:
        table = "participation_snapshot"
        unique_together = (("round", "taken_at"),)


class Report(Model):
    """The built report of a round, stored so that any web process can serve it without rebuilding."""

    id = fields.IntField(primary_key=True)
    round: fields.OneToOneRelation[Round] = fields.OneToOneField(
        "models.Round", related_name="report", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ReportStatus, max_length=16, default=ReportStatus.PENDING)
    model: fields.JSONField[dict[str, object] | None] = fields.JSONField(null=True)
    pdf = fields.BinaryField(null=True)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    built_at = fields.DatetimeField(null=True)

    round_id: int

    class Meta:
        table = "report"


class ReportDelivery(Model):
    """A report emailed to one leader; unique so a retried job never emails anyone twice."""

    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "models.Report", related_name="deliveries", on_delete=fields.CASCADE
    )
    email = fields.CharField(max_length=254)
    sent_at = fields.DatetimeField(null=True)

    report_id: int

    class Meta:
        table = "report_delivery"
        unique_together = (("report", "email"),)


class NoiseDraw(Model):
    """The privacy noise of one round's released figures, drawn once (pulse.domain.privacy).

    Kept apart from `Report` so a forced rebuild, a failed build or an earlier round feeding a
    trend all reuse the same draw: repeated requests can never average the noise away.
    """

    id = fields.IntField(primary_key=True)
    round: fields.OneToOneRelation[Round] = fields.OneToOneField(
        "models.Round", related_name="noise_draw", on_delete=fields.CASCADE
    )
    draw: fields.JSONField[dict[str, object]] = fields.JSONField()
    drawn_at = fields.DatetimeField(auto_now_add=True)

    round_id: int

    class Meta:
        table = "noise_draw"


class AuditEvent(Model):
    """Who changed what (imports, rounds, schedules, keys). Never records anything about answers."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="audit_events", null=True, on_delete=fields.CASCADE
    )
    actor = fields.CharField(max_length=254)
    action = fields.CharField(max_length=64)
    detail: fields.JSONField[dict[str, object] | None] = fields.JSONField(null=True)
    at = fields.DatetimeField(auto_now_add=True)

    organization_id: int | None

    class Meta:
        table = "audit_event"
        indexes = (Index(fields=("organization_id", "at")),)
