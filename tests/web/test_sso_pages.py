"""Single sign-on pages and rules that need no provider: password sign-in turned off, refusals of
malformed callbacks (never a 500), the sign-in button, and the configuration's checks."""

from __future__ import annotations

import httpx
import pytest

from pulse.errors import InvalidInput
from pulse.models import SsoConfig, UserRole
from pulse.services import sso
from pulse.settings import Settings
from tests.web.conftest import PASSWORD, ClientFor, World, csrf_of


async def _configure(world: World, db: Settings, **changes: object) -> SsoConfig:
    return await sso.configure(
        world.acme,
        sso.SsoSettings(
            issuer="https://id.acme.test/realms/acme",
            client_id="pulse",
            client_secret="the client secret",
            display_name="Acme ID",
            email_domains=["acme.test"],
            **changes,  # type: ignore[arg-type]
        ),
        db,
    )


async def test_password_sign_in_is_refused_for_an_organisation_that_turned_it_off(
    client_for: ClientFor, world: World, db: Settings
) -> None:
    await _configure(world, db, password_sign_in=False)
    client = await client_for(None)
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "alice@acme.test", "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/"},
    )
    assert response.status_code == 403
    assert "signs in through its identity provider only" in response.text
    assert (await client.get("/orgs/acme")).status_code == 303  # not signed in
    # Another organisation's people still sign in with their password.
    other = await client_for(world.charlie)
    assert (await other.get("/orgs/globex")).status_code == 200


async def test_a_wrong_password_gets_the_usual_answer_even_when_password_sign_in_is_off(
    client_for: ClientFor, world: World, db: Settings
) -> None:
    # The "use single sign-on" refusal comes only after the right password: it reveals no account.
    await _configure(world, db, password_sign_in=False)
    client = await client_for(None)
    page = await client.get("/login")
    response = await client.post(
        "/login", data={"email": "alice@acme.test", "password": "wrong password!", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "signs in through its identity provider only" not in response.text
    assert "Wrong email or password." in response.text


async def test_the_sign_in_page_offers_the_organisations_provider(
    client_for: ClientFor, world: World, db: Settings
) -> None:
    await _configure(world, db)
    client = await client_for(None)
    page = await client.get("/login?org=acme")
    assert "Sign in with Acme ID" in page.text
    assert 'href="/login/sso?org=acme&amp;next=/"' in page.text
    assert "Sign in with" not in (await client.get("/login?org=globex")).text


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/login/sso?org=globex", 404, "no single sign-on is set up for organisation"),
        ("/login/sso?email=someone@nowhere.test", 404, "no single sign-on is set up for addresses at"),
        ("/login/sso?email=%00%00", 404, "no single sign-on"),
        ("/login/sso/callback", 400, "has no state or no code"),
        ("/login/sso/callback?state=abc&code=def", 400, "was not started in this browser"),
        ("/login/sso/callback?error=access_denied&error_description=User%20cancelled", 403, "access_denied"),
    ],
)
async def test_malformed_single_sign_on_requests_get_a_page_that_says_why(
    client_for: ClientFor, world: World, db: Settings, url: str, status: int, message: str
) -> None:
    await _configure(world, db)
    client = await client_for(None)
    response = await client.get(url)
    assert response.status_code == status
    assert "Sign-in refused" in response.text
    assert message.lower() in response.text.replace("&#39;", "'").lower()


async def test_a_forged_state_cookie_finds_no_attempt(client_for: ClientFor, world: World, db: Settings) -> None:
    await _configure(world, db)
    client = await client_for(None)
    client.cookies.set("pulse_sso_state", "abc")
    response = await client.get("/login/sso/callback?state=abc&code=def")
    assert response.status_code == 400
    assert "was already used" in response.text


async def test_an_unreachable_provider_is_a_page_not_a_crash(client_for: ClientFor, world: World, db: Settings) -> None:
    await sso.configure(
        world.acme,
        sso.SsoSettings(issuer="http://127.0.0.1:9", client_id="pulse", client_secret="s"),
        db,
    )
    client = await client_for(None)
    response = await client.get("/login/sso?org=acme")
    assert response.status_code == 502
    assert "could not be reached" in response.text


async def test_the_client_secret_is_stored_encrypted(world: World, db: Settings) -> None:
    config = await _configure(world, db)
    stored = await SsoConfig.get(id=config.id)
    assert "the client secret" not in stored.client_secret_encrypted
    assert sso.decrypt_secret(stored.client_secret_encrypted, db.secret_key) == "the client secret"


async def test_no_organisation_can_map_its_people_to_admin(world: World, db: Settings) -> None:
    with pytest.raises(InvalidInput, match="cannot make admins"):
        sso.parse_role_map(["pulse-admins=admin"])
    with pytest.raises(InvalidInput, match="cannot make admins"):
        await _configure(world, db, role_map={"pulse-admins": "admin"})
    with pytest.raises(InvalidInput, match="unknown role 'owner'"):
        sso.parse_role_map(["x=owner"])


async def test_a_first_configuration_needs_issuer_client_and_secret(world: World, db: Settings) -> None:
    with pytest.raises(InvalidInput, match="give --issuer, --client-id and --client-secret"):
        await sso.configure(world.acme, sso.SsoSettings(issuer="https://id.acme.test"), db)
    with pytest.raises(InvalidInput, match="must use https"):
        await sso.configure(
            world.acme, sso.SsoSettings(issuer="http://id.acme.test", client_id="c", client_secret="s"), db
        )


async def test_an_email_domain_belongs_to_one_organisation(world: World, db: Settings) -> None:
    await _configure(world, db)
    with pytest.raises(InvalidInput, match=r"'acme\.test' already belongs to another organisation"):
        await sso.configure(
            world.globex,
            sso.SsoSettings(
                issuer="https://id.globex.test", client_id="c", client_secret="s", email_domains=["acme.test"]
            ),
            db,
        )


def test_the_highest_mapped_role_wins() -> None:
    mapping = {"pulse-hr": "hr", "pulse-leaders": "leader"}
    assert sso.role_from_claims({"groups": ["pulse-leaders", "pulse-hr"]}, "groups", mapping) is UserRole.HR
    assert sso.role_from_claims({"groups": ["pulse-leaders", 3]}, "groups", mapping) is UserRole.LEADER
    assert sso.role_from_claims({"role": "pulse-hr"}, "role", mapping) is UserRole.HR
    assert sso.role_from_claims({"groups": {"pulse-hr": 1}}, "groups", mapping) is None
    assert sso.role_from_claims({}, "groups", mapping) is None


async def test_an_http_client_never_sees_a_500_from_the_callback(client_for: ClientFor, world: World) -> None:
    client: httpx.AsyncClient = await client_for(None)
    for query in ["state=%ff", "code=&state=", "state=" + "a" * 5000 + "&code=x", "error=" + "e" * 3000]:
        response = await client.get(f"/login/sso/callback?{query}")
        assert 400 <= response.status_code < 500, query


async def test_an_account_made_by_single_sign_on_has_no_password_that_works(
    client_for: ClientFor, world: World
) -> None:
    from pulse.models import User

    await User.create(
        email="jit@acme.test", password_hash=sso.NO_PASSWORD, role=UserRole.LEADER, organization=world.acme
    )
    client = await client_for(None)
    for guess in ["", sso.NO_PASSWORD, "!sso", PASSWORD]:
        page = await client.get("/login")
        response = await client.post(
            "/login", data={"email": "jit@acme.test", "password": guess, "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code in (401, 422), guess
        assert (await client.get("/orgs/acme/reports")).status_code == 303


async def test_a_response_naming_another_issuer_is_refused_before_any_token_is_fetched(
    client_for: ClientFor, world: World, db: Settings
) -> None:
    # RFC 9207 mix-up defence: the provider's answer says which issuer sent it.
    import hashlib

    from pulse import clock
    from pulse.models import SsoAttempt

    await _configure(world, db)
    await SsoAttempt.create(
        state_hash=hashlib.sha256(b"the-state").hexdigest(),
        organization=world.acme,
        nonce="n",
        code_verifier="v" * 43,
        created_at=clock.now(),
    )
    client = await client_for(None)
    client.cookies.set("pulse_sso_state", "the-state")
    response = await client.get("/login/sso/callback?state=the-state&code=c&iss=https%3A%2F%2Fevil.test")
    assert response.status_code == 400
    assert "names issuer &#39;https://evil.test&#39;" in response.text
    assert not await SsoAttempt.exists(state_hash=hashlib.sha256(b"the-state").hexdigest())


async def test_a_leaders_scope_claim_must_name_units_of_the_organisation(world: World, db: Settings) -> None:
    from pulse.models import AuditEvent, Department, User

    config = await _configure(world, db, role_map={"pulse-leaders": "leader"}, scope_claim="units", jit=True)
    config = await SsoConfig.get(id=config.id).select_related("organization")
    sales = await Department.get(organization=world.acme, name="Sales")
    claims = {"email": "bob@acme.test", "email_verified": True, "groups": ["pulse-leaders"]}
    with pytest.raises(sso.SsoRefused, match="names no unit to read"):
        await sso._account(config, claims)
    with pytest.raises(sso.SsoRefused, match="'units' claim: no unit 'Marketing'"):
        await sso._account(config, {**claims, "units": ["Sales", "Marketing"]})
    user = await sso._account(config, {**claims, "units": "sales"})
    assert user.unit_ids == [sales.id]
    assert (await User.get(email="bob@acme.test")).unit_ids == [sales.id]
    assert await AuditEvent.filter(action="user.scope_change").count() == 1
    # HR reads the whole organisation: no scope is applied to them.
    hr = await sso._account(config, {**claims, "email": "alice@acme.test", "groups": []})
    assert hr.unit_ids is None
