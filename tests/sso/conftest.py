"""Single sign-on tests share the browser tests' Chromium, and hash the accounts they create with
test-sized Argon2 costs (nobody here signs in with a password: the provider vouches for them)."""

from __future__ import annotations

from tests.browser.conftest import browser
from tests.web.conftest import fast_password_hashing

__all__ = ["browser", "fast_password_hashing"]
