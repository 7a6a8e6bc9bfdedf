"""Sign-in limits: progressive delays that slow password guessing without letting anyone lock a user out.

The threat is an online guesser: one address trying many passwords on one account (brute force), one
address trying one or two passwords on many accounts (credential stuffing, password spraying), or many
addresses (a botnet) on one account. OWASP's Authentication and Credential Stuffing Prevention cheat
sheets warn that the classic defence, locking an account after N failures, hands that guesser a second
weapon: anyone who knows an email can keep its owner out for ever, from anywhere. So nothing here is a
hard lock, and nothing a stranger does from their own address slows the owner down at theirs.

Failures are counted in three kinds of counter (``SignInCounter`` rows, in the database, so every web
process on the same PostgreSQL or SQLite file shares them):

* ``pair``: one email from one client address. This is where a brute-force guesser is stopped: after
  ``PAIR.free`` failures each further attempt has to wait, 1 minute, then 2, 4, 8, capped at 15.
  The owner at another address has their own pair and is not affected.
* ``client``: one client address, whatever the emails. This stops credential stuffing and password
  spraying from one address: ``CLIENT.free`` failures, then the same progression. It is higher than the
  pair's allowance because an office or a VPN puts several people behind one address.
* ``email``: one email from every address, a slow, high ceiling (``EMAIL.free`` failures, forgiven only
  after a quiet day) against a botnet that spreads its guesses over many addresses. It delays only
  addresses that are not *trusted* for that email, i.e. addresses from which the right password came in
  the last ``TRUST_PERIOD``: the owner's usual places keep working while a botnet hammers the account
  (OWASP's "lock out untrusted clients", with the address in place of a device cookie).

A delay answers 429 with ``Retry-After`` at once (the server never sleeps on a request, which would tie
up its workers); an attempt refused this way is not counted, so hammering during a delay does not make
it longer, and a right password is refused like a wrong one (otherwise a refusal would be an oracle).
A counter is forgotten after ``forget_after`` without a counted attempt. A right password resets its
pair and marks it trusted; the address and email counters keep the other failures, so one account the
guesser owns does not reset their count.

Check and count are one atomic step. ``admit`` runs in one transaction that first writes (inserting
the missing counters, which takes SQLite's write lock, across processes) and then reads the counters
``FOR UPDATE`` in key order (row locks on PostgreSQL, taken in the same order by everyone, so no
deadlock); it decides, and counts the attempt as a failure *before* the password is checked. The
Argon2 check then runs outside the transaction, and a right password gives the count back. So however
many requests arrive at once, at most the allowed number of passwords is ever checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from pulse import clock
from pulse.errors import Throttled
from pulse.i18n import NP_
from pulse.models import SignInCounter

#: How long an address stays trusted for an email after the right password came from it.
TRUST_PERIOD = timedelta(days=30)
#: Longest client address kept in a key (IPv6 with a zone fits); with the longest email a pair's key
#: is exactly SignInCounter.key's 320 characters.
MAX_CLIENT_LENGTH = 60
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Limit:
    """Failures allowed freely, then a wait that doubles from ``first_delay`` up to ``max_delay``."""

    kind: str
    free: int
    first_delay: timedelta
    max_delay: timedelta
    forget_after: timedelta

    def wait(self, failures: int, last_at: datetime | None, now: datetime) -> float:
        """Seconds until the next attempt may be checked; 0 when it may be checked now."""
        if last_at is None or now - last_at >= self.forget_after or failures < self.free:
            return 0.0
        doublings: int = min(failures - self.free, 20)
        delay: timedelta = min(self.max_delay, self.first_delay * (1 << doublings))
        return max(0.0, (last_at + delay - now).total_seconds())

    def counted(self, failures: int, last_at: datetime | None, now: datetime) -> int:
        """The failures that still count at ``now`` (none once the counter is forgotten)."""
        if last_at is None or now - last_at >= self.forget_after:
            return 0
        return failures


PAIR = Limit(
    "pair", free=5, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=15), forget_after=timedelta(hours=1)
)
CLIENT = Limit(
    "client",
    free=20,
    first_delay=timedelta(minutes=1),
    max_delay=timedelta(minutes=15),
    forget_after=timedelta(hours=1),
)
EMAIL = Limit(
    "email", free=100, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=15), forget_after=timedelta(days=1)
)
LIMITS = (PAIR, CLIENT, EMAIL)
#: Counters untouched for this long are deleted (the longest ``forget_after``), trusted pairs excepted.
KEEP = max(limit.forget_after for limit in LIMITS)


class SignInThrottled(Throttled):
    """Too many failed sign-ins; ``retry_after`` is the number of seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            NP_(
                "too many failed sign-ins: try again in %(count)s minute",
                "too many failed sign-ins: try again in %(count)s minutes",
                minutes,
                count=minutes,
            )
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Source:
    """Where a sign-in attempt comes from: the counters it is checked and counted against."""

    email: str
    client: str

    @property
    def keys(self) -> dict[Limit, str]:
        email = self.email.strip().lower()[:MAX_EMAIL_LENGTH]
        client = self.client[:MAX_CLIENT_LENGTH]
        return {PAIR: f"pair:{email}|{client}", CLIENT: f"client:{client}", EMAIL: f"email:{email}"}


async def admit(source: Source) -> None:
    """Let one attempt through, counting it as a failure now, or raise SignInThrottled (nothing counted).

    Call ``succeeded`` when the password turns out right; a wrong one needs nothing more.
    """
    keys = source.keys
    async with in_transaction():
        # The write first: on SQLite it takes the database's write lock, which serialises this whole
        # transaction with every other process's; on PostgreSQL it makes sure every row exists to lock.
        await SignInCounter.bulk_create(
            [SignInCounter(key=key) for key in sorted(keys.values())], ignore_conflicts=True
        )
        rows = {
            row.key: row
            for row in await SignInCounter.filter(key__in=list(keys.values())).order_by("key").select_for_update()
        }
        now = clock.now()  # read under the locks, so no counter holds a later time than this
        pair = rows[keys[PAIR]]
        trusted = pair.trusted_until is not None and pair.trusted_until > now
        waits = [
            limit.wait(rows[key].failures, rows[key].last_at, now)
            for limit, key in keys.items()
            if not (limit is EMAIL and trusted)
        ]
        longest = max(waits)
        if longest > 0:
            raise SignInThrottled(max(1, math.ceil(longest)))
        for limit, key in keys.items():
            row = rows[key]
            await SignInCounter.filter(id=row.id).update(
                failures=limit.counted(row.failures, row.last_at, now) + 1, last_at=now
            )
    await forget_old(now)  # an indexed delete keeps the table to the counters that still matter


async def succeeded(source: Source) -> None:
    """The attempt ``admit`` let through had the right password: give its count back and trust the pair."""
    now = clock.now()
    keys = source.keys
    await SignInCounter.filter(key=keys[PAIR]).update(failures=0, trusted_until=now + TRUST_PERIOD)
    await SignInCounter.filter(key__in=[keys[CLIENT], keys[EMAIL]], failures__gt=0).update(failures=F("failures") - 1)


async def clear_email(email: str) -> None:
    """Forget every counter of ``email`` (an admin reset its password: the owner starts afresh)."""
    address = email.strip().lower()[:MAX_EMAIL_LENGTH]
    await SignInCounter.filter(key=f"email:{address}").delete()
    await SignInCounter.filter(key__startswith=f"pair:{address}|").update(failures=0)


async def forget_old(now: datetime | None = None) -> int:
    """Delete counters that no longer count anything; returns how many."""
    moment = now or clock.now()
    stale = SignInCounter.filter(last_at__lt=moment - KEEP)
    untrusted = await stale.filter(trusted_until__isnull=True).delete()
    expired = await stale.filter(trusted_until__lt=moment).delete()
    return untrusted + expired
