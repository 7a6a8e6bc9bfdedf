from __future__ import annotations

import pytest

from pulse.domain.mailbox import domain_of, mailbox_key, normalize_domain


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("HR@Acme.test", "hr@acme.test"),
        ("hr+legal1@acme.test", "hr@acme.test"),
        ("hr+a+b@acme.test", "hr@acme.test"),
        ("jo.smith@acme.test", "jo.smith@acme.test"),  # dots matter outside known providers
        ("Jo.Smith+x@googlemail.com", "josmith@gmail.com"),
        ("j.o.smith@gmail.com", "josmith@gmail.com"),
        (" hr@acme.test ", "hr@acme.test"),
    ],
)
def test_every_spelling_of_one_mailbox_has_one_key(address: str, key: str) -> None:
    assert mailbox_key(address) == key


def test_different_mailboxes_keep_different_keys() -> None:
    assert mailbox_key("hr@acme.test") != mailbox_key("hr@acme.example")
    assert mailbox_key("jo.smith@acme.test") != mailbox_key("josmith@acme.test")


def test_domains_are_read_and_validated() -> None:
    assert domain_of("A@Acme.Test") == "acme.test"
    assert normalize_domain(" @Acme.Test. ") == "acme.test"
    assert normalize_domain("not a domain") is None and normalize_domain("acme") is None
