"""One mailbox, one person: the key under which two spellings of one address are the same mailbox.

An insider who wants to pad a department with people they control needs mailboxes. The cheapest are
sub-addresses of their own: ``me+1@acme.test``, ``me+2@acme.test`` … all land in ``me@acme.test``.
``mailbox_key`` maps every such spelling to one key, so an import can refuse the second one:

* letter case is ignored (mail systems treat local parts case-insensitively in practice);
* everything from the first ``+`` in the local part is dropped (sub-addressing, RFC 5233, which
  nearly every mail system supports, including Microsoft 365, Google and Fastmail);
* dots in the local part are dropped, and ``googlemail.com`` is ``gmail.com``, only for the consumer
  domains known to ignore dots (Gmail): elsewhere ``jo.smith`` and ``josmith`` may be two people.

It cannot see aliases a mail server defines (``pad1@acme.test`` delivered to HR's mailbox): that is
what the newcomer quarantine, the pool sentence on the survey page and the directory audit are for.
"""

from __future__ import annotations

import re

#: Consumer domains whose mail system ignores dots in the local part, and what they are an alias of.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def mailbox_key(address: str) -> str:
    """The mailbox an address delivers to, as far as the address itself says (see the module doc)."""
    text = address.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        domain = DOTS_IGNORED[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    """The domain of an address, lowercase ('' when there is none)."""
    return address.strip().lower().rpartition("@")[2] if "@" in address else ""


def normalize_domain(value: str) -> str | None:
    """A domain as an organisation setting stores it (lowercase, no leading @), or None if malformed."""
    domain = value.strip().lower().removeprefix("@").rstrip(".")
    return domain if DOMAIN_PATTERN.match(domain) else None
