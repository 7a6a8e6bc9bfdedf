"""Sign-in through a real OpenID provider (oidc-provider on Node.js), in real Chromium, against a real
``pulse serve``: the whole authorization code flow with PKCE, and every refusal on a page that says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from pulse import db as pulse_db
from pulse.models import AuditEvent, Department, Organization, SsoAttempt, User, UserRole
from pulse.services import sso
from pulse.services.organizations import create_organization
from pulse.services.people import import_people
from pulse.services.users import create_user
from pulse.settings import Settings
from tests.e2e.server import bind_loopback, pulse_env, serve
from tests.sso.provider import CLIENT_ID, CLIENT_SECRET, oidc_provider

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long enough password"


@dataclass
class Pulse:
    base_url: str
    settings: Settings

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/login/sso/callback"

    async def configure(self, issuer: str, **changes: Any) -> None:
        """Point acme's single sign-on at ``issuer`` (the provider's client 'pulse')."""
        async with pulse_db.database(self.settings):
            acme = await Organization.get(slug="acme")
            await sso.configure(
                acme,
                sso.SsoSettings(
                    issuer=issuer,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    display_name="Acme ID",
                    email_domains=["acme.test"],
                    role_claim="groups",
                    role_map={"pulse-hr": "hr", "pulse-leaders": "leader"},
                    **{"scopes": "openid email profile groups", **changes},
                ),
                self.settings,
            )

    async def query(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        async with pulse_db.database(self.settings):
            return await fn()


@pytest.fixture
async def pulse(sqlite_settings: Settings) -> AsyncIterator[Pulse]:
    """A real pulse serve whose PULSE_BASE_URL is its own address (the redirect URI is built from it)."""
    listener = bind_loopback()
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = sqlite_settings.with_overrides(base_url=base_url)
    async with pulse_db.database(settings):
        acme = await create_organization("acme", "Acme Retail")
        globex = await create_organization("globex", "Globex")
        # The provider writes Hanna.HR@acme.test; accounts are matched on the normalised address.
        await create_user("hanna.hr@acme.test", PASSWORD, role=UserRole.LEADER, organization=acme, name="Hanna")
        await create_user("lea@acme.test", PASSWORD, role=UserRole.LEADER, organization=acme, name="Lea")
        await create_user("olga@globex.test", PASSWORD, role=UserRole.HR, organization=globex, name="Olga")
    async with serve(pulse_env(settings), listener=listener) as url:
        yield Pulse(url, settings)


Provider = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def provider(pulse: Pulse) -> Provider:
    def start(mode: str = "normal", **env: str) -> AbstractAsyncContextManager[str]:
        return oidc_provider(pulse.redirect_uri, mode=mode, **env)

    return start


async def _sign_in_at_provider(page: Page, pulse: Pulse, account: str) -> None:
    """From Pulse's sign-in page through the provider's login and consent pages."""
    page.set_default_timeout(10_000)
    await page.goto(f"{pulse.base_url}/login?org=acme")
    await page.get_by_role("link", name="Sign in with Acme ID").click()
    await page.fill("input[name=login]", account)
    await page.fill("input[name=password]", "anything")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()


async def _refusal(page: Page, text: str, *, signed_out: bool = True) -> None:
    """The refusal page with its message; and no signed-in session (Pulse's home page asks to sign in)."""
    await expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    await expect(page.locator("#sso-error")).to_contain_text(text, ignore_case=True)
    if signed_out:
        home = await page.request.get(page.url.split("/login")[0] + "/", max_redirects=0)
        assert home.status == 303 and home.headers["location"].startswith("/login")


async def _status_of_last(page: Page, statuses: list[int]) -> int:
    assert statuses, "no response from Pulse's callback"
    return statuses[-1]


def _watch_callback(page: Page) -> list[int]:
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/login/sso" in r.url else None)
    return statuses


async def test_hr_signs_in_through_the_provider_and_gets_the_mapped_role(
    browser: Browser, pulse: Pulse, provider: Provider, tmp_path: Path
) -> None:
    shots = tmp_path
    async with provider() as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        await _sign_in_at_provider(page, pulse, "hr")
        # HR lands on the organisation's overview: the group pulse-hr made the leader account HR.
        await expect(page).to_have_url(f"{pulse.base_url}/orgs/acme")
        await expect(page.locator(".who")).to_contain_text("(hr)", ignore_case=True)
        await expect(page.get_by_role("link", name="People")).to_be_visible()
        # The organisation's "Sign-in and sync" page shows the provider; it fits a tablet's width.
        await page.get_by_role("link", name="Sign-in and sync").click()
        await expect(page.get_by_text(issuer)).to_be_visible()
        await page.set_viewport_size({"width": 820, "height": 900})
        await page.screenshot(path=str(shots / "sso-page-tablet.png"), full_page=True)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 820
    user = await pulse.query(lambda: User.get(email="hanna.hr@acme.test"))
    assert user.role == UserRole.HR
    changes = await pulse.query(lambda: AuditEvent.filter(action="user.role_change").values_list("detail", flat=True))
    assert changes == [{"from": "leader", "to": "hr", "by": "sso"}]


async def test_just_in_time_creation_makes_a_leader_who_lands_on_the_reports(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider() as issuer:
        await pulse.configure(issuer, jit=True)
        page = await browser.new_page()
        await _sign_in_at_provider(page, pulse, "newcomer")
        await expect(page).to_have_url(f"{pulse.base_url}/orgs/acme/reports")
        await expect(page.locator(".who")).to_contain_text("(leader)", ignore_case=True)
    user = await pulse.query(lambda: User.get(email="nina@acme.test").select_related("organization"))
    assert (user.role, user.organization.slug, user.password_hash) == (UserRole.LEADER, "acme", sso.NO_PASSWORD)


async def test_an_unknown_user_is_refused_without_just_in_time_creation(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider() as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "stranger")
        await _refusal(page, "there is no Pulse account for 'sam@acme.test'")
        assert await _status_of_last(page, statuses) == 403
    assert not await pulse.query(lambda: User.exists(email="sam@acme.test"))


async def test_an_unverified_email_is_refused_even_with_just_in_time_creation(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider() as issuer:
        await pulse.configure(issuer, jit=True)
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "unverified")
        await _refusal(page, "has not verified the address 'hr2@acme.test'")
        assert await _status_of_last(page, statuses) == 403
    assert not await pulse.query(lambda: User.exists(email="hr2@acme.test"))


async def test_an_account_of_another_organisation_is_refused(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider() as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "outsider")
        await _refusal(page, "does not belong to Acme Retail")
        assert await _status_of_last(page, statuses) == 403


async def test_a_replayed_callback_is_refused(browser: Browser, pulse: Pulse, provider: Provider) -> None:
    async with provider() as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        callbacks: list[str] = []
        page.on("request", lambda r: callbacks.append(r.url) if "/login/sso/callback" in r.url else None)
        await _sign_in_at_provider(page, pulse, "leader")
        await expect(page).to_have_url(f"{pulse.base_url}/orgs/acme/reports")
        assert len(callbacks) == 1 and "state=" in callbacks[0] and "code=" in callbacks[0]
        # The same browser (the state cookie is gone) and a fresh one carrying the cookie again.
        replay = await page.goto(callbacks[0])
        assert replay is not None and replay.status == 400
        # Still signed in from the first use: the replay neither signs anyone in nor out.
        await _refusal(page, "was not started in this browser", signed_out=False)
        state = callbacks[0].split("state=")[1].split("&")[0]
        async with httpx.AsyncClient(cookies={"pulse_sso_state": state}) as client:
            again = await client.get(callbacks[0])
            assert again.status_code == 400
            assert "was already used" in again.text
            home = await client.get(f"{pulse.base_url}/")
            assert home.status_code == 303 and home.headers["location"].startswith("/login")
    assert await pulse.query(lambda: SsoAttempt.all().count()) == 0


async def test_a_provider_that_is_not_the_configured_issuer_is_refused(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider() as issuer:
        # Same server, other name: its discovery document names another issuer than the configured one.
        await pulse.configure(issuer.replace("127.0.0.1", "localhost"))
        page = await browser.new_page()
        response = await page.goto(f"{pulse.base_url}/login/sso?org=acme")
        assert response is not None and response.status == 403
        await _refusal(page, f"says it is issuer '{issuer}'")


async def test_an_id_token_from_another_issuer_than_discovery_named_is_refused(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    # Discovery at http://localhost:PORT claims to be that issuer; the tokens carry http://127.0.0.1:PORT.
    async with provider("lying-issuer") as issuer:
        await pulse.configure(issuer.replace("127.0.0.1", "localhost"))
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "leader")
        await _refusal(page, "the ID token was refused")
        await expect(page.locator("#sso-error")).to_contain_text("iss")
        assert await _status_of_last(page, statuses) == 400


async def test_an_id_token_signed_with_a_key_the_provider_does_not_publish_is_refused(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async with provider("foreign-keys") as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "leader")
        await _refusal(page, "signature does not verify")
        assert await _status_of_last(page, statuses) == 400


async def test_an_id_token_altered_in_transit_is_refused(browser: Browser, pulse: Pulse, provider: Provider) -> None:
    # The token response names HR's address in a token issued to the leader, the signature left as it was.
    async with provider("tamper", TAMPER_EMAIL="hanna.hr@acme.test") as issuer:
        await pulse.configure(issuer)
        page = await browser.new_page()
        statuses = _watch_callback(page)
        await _sign_in_at_provider(page, pulse, "leader")
        await _refusal(page, "signature does not verify")
        assert await _status_of_last(page, statuses) == 400


async def test_a_leaders_scope_comes_from_the_providers_unit_claim(
    browser: Browser, pulse: Pulse, provider: Provider
) -> None:
    async def units() -> dict[str, int]:
        await import_people(
            await Organization.get(slug="acme"),
            "email,name,department\ns12@acme.test,S,Retail / Stores North / Store 12\n",
        )
        return {str(name): int(i) for i, name in await Department.all().values_list("id", "name")}

    ids = await pulse.query(units)
    async with provider() as issuer:
        await pulse.configure(issuer, jit=True, scope_claim="units", scopes="openid email profile groups units")
        page = await browser.new_page()
        await _sign_in_at_provider(page, pulse, "scoped")
        await expect(page).to_have_url(f"{pulse.base_url}/orgs/acme/reports")
    user = await pulse.query(lambda: User.get(email="stu@acme.test"))
    assert (user.role, user.unit_ids) == (UserRole.LEADER, [ids["Retail / Stores North"]])
