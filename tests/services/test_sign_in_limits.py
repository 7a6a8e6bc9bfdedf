"""The sign-in limits, one attempt at a time with a controlled clock (the races are in tests/e2e)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher

from pulse import clock
from pulse.errors import NotAuthenticated
from pulse.models import SignInCounter, User, UserRole
from pulse.services import users
from pulse.services.sign_in_limits import CLIENT, EMAIL, PAIR, TRUST_PERIOD, SignInThrottled
from pulse.services.users import authenticate, create_user

PASSWORD = "correct horse battery"
OWNER = "root@example.org"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
async def owner(db: object) -> User:
    return await create_user(OWNER, PASSWORD, role=UserRole.ADMIN)


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = clock.now()
        monkeypatch.setattr(clock, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def time(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def _fails(email: str, client: str, password: str = "a wrong guess!") -> None:
    with pytest.raises(NotAuthenticated):
        await authenticate(email, password, client=client)


async def _waits(email: str, client: str, password: str = PASSWORD) -> int:
    with pytest.raises(SignInThrottled) as throttled:
        await authenticate(email, password, client=client)
    assert throttled.value.status_code == 429
    return throttled.value.retry_after


async def test_guesses_at_one_account_from_one_address_wait_longer_and_longer_up_to_the_cap(
    owner: User, time: Clock
) -> None:
    for _ in range(PAIR.free):
        await _fails(OWNER, "203.0.113.7")
    waits = []
    for _ in range(6):
        # Even the right password waits: a refusal must not tell a guesser that a guess was right.
        wait = await _waits(OWNER, "203.0.113.7")
        assert await _waits(OWNER, "203.0.113.7", "another guess!") == wait  # a refused attempt is not counted
        waits.append(wait)
        time.advance(wait)
        await _fails(OWNER, "203.0.113.7")
    assert waits == [60, 120, 240, 480, 900, 900]
    # The owner, at their own address, was never slowed down.
    assert (await authenticate(OWNER, PASSWORD, client="198.51.100.1")).email == OWNER


async def test_one_address_trying_many_emails_waits_after_its_allowance_and_others_do_not(
    owner: User, time: Clock
) -> None:
    for attempt in range(CLIENT.free):
        await _fails(f"user{attempt}@example.org", "203.0.113.7", PASSWORD)
    assert await _waits(OWNER, "203.0.113.7") == 60
    assert (await authenticate(OWNER, PASSWORD, client="198.51.100.1")).email == OWNER
    # The guesser's own right password does not reset the address: only its pair.
    time.advance(60)
    assert (await authenticate(OWNER, PASSWORD, client="203.0.113.7")).email == OWNER
    assert (await SignInCounter.get(key="client:203.0.113.7")).failures == CLIENT.free
    assert await _waits("user0@example.org", "203.0.113.7") == 60


async def test_the_email_ceiling_delays_only_addresses_the_owner_has_not_signed_in_from(
    owner: User, time: Clock
) -> None:
    assert (await authenticate(OWNER, PASSWORD, client="198.51.100.1")).email == OWNER  # the owner's office
    for bot in range(EMAIL.free):  # a botnet: one guess from each of many addresses
        await _fails(OWNER, f"10.0.{bot // 250}.{bot % 250}")
    assert await _waits(OWNER, "10.9.9.9") == 60
    assert (await authenticate(OWNER, PASSWORD, client="198.51.100.1")).email == OWNER
    # The trust lasts TRUST_PERIOD; the ceiling is forgotten after a quiet day.
    time.advance(TRUST_PERIOD.total_seconds() + 1)
    for bot in range(EMAIL.free):
        await _fails(OWNER, f"10.1.{bot // 250}.{bot % 250}")
    assert await _waits(OWNER, "198.51.100.1") == 60
    time.advance(EMAIL.forget_after.total_seconds())
    assert (await authenticate(OWNER, PASSWORD, client="10.9.9.9")).email == OWNER


async def test_failures_are_forgotten_after_a_quiet_hour_and_old_counters_are_deleted(owner: User, time: Clock) -> None:
    for _ in range(PAIR.free):
        await _fails(OWNER, "203.0.113.7")
    assert await _waits(OWNER, "203.0.113.7") == 60
    time.advance(PAIR.forget_after.total_seconds())
    for _ in range(PAIR.free):
        await _fails(OWNER, "203.0.113.7")
    assert await _waits(OWNER, "203.0.113.7") == 60
    time.advance(EMAIL.forget_after.total_seconds() + 1)
    await _fails("someone@example.org", "192.0.2.1")
    keys = set(await SignInCounter.all().values_list("key", flat=True))
    assert keys == {"pair:someone@example.org|192.0.2.1", "client:192.0.2.1", "email:someone@example.org"}


async def test_a_right_password_resets_its_pair_and_gives_back_only_its_own_count(owner: User, time: Clock) -> None:
    for _ in range(PAIR.free - 1):
        await _fails(OWNER, "198.51.100.1")
    assert (await authenticate(OWNER, PASSWORD, client="198.51.100.1")).email == OWNER
    counters = {row.key: row for row in await SignInCounter.all()}
    pair = counters[f"pair:{OWNER}|198.51.100.1"]
    assert pair.failures == 0
    assert isinstance(pair.trusted_until, datetime) and pair.trusted_until > time.now
    assert counters["client:198.51.100.1"].failures == PAIR.free - 1
    assert counters[f"email:{OWNER}"].failures == PAIR.free - 1
    for _ in range(PAIR.free):
        await _fails(OWNER, "198.51.100.1")
    assert await _waits(OWNER, "198.51.100.1") == 60


async def test_the_longest_email_and_client_address_still_fit_their_counters(owner: User) -> None:
    longest = "a" * 242 + "@example.org"
    assert len(longest) == 254
    for email in (longest, longest + "overflowing"):
        await _fails(email, "f" * 200)
    keys = await SignInCounter.all().values_list("key", flat=True)
    assert max(len(key) for key in keys) == 320
