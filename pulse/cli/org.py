"""``pulse org``: organisations."""

from __future__ import annotations

import sys

import click

from pulse import i18n
from pulse.cli.base import with_database
from pulse.services import organizations


@click.group("org")
def org_group() -> None:
    """Manage organisations."""


@org_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Acme Retail'.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone for schedules.")
@click.option(
    "--min-group-size",
    type=int,
    default=organizations.DEFAULT_MIN_GROUP_SIZE,
    show_default=True,
    help="k: no figure is shown for fewer people (at least 3).",
)
@click.option(
    "--comment-threshold",
    type=int,
    default=organizations.DEFAULT_COMMENT_THRESHOLD,
    show_default=True,
    help="Comments are shown only for groups with at least this many responses.",
)
@click.option(
    "--email-domain",
    "email_domains",
    multiple=True,
    metavar="DOMAIN",
    help="Only addresses in this domain may be imported and invited (repeat for several); default: any.",
)
@click.option(
    "--quarantine-days",
    type=int,
    default=organizations.DEFAULT_QUARANTINE_DAYS,
    show_default=True,
    help="People who joined or moved this many days before a round count in organisation figures only (>= 14).",
)
@click.option(
    "--language",
    "locale",
    default=i18n.SOURCE_LOCALE,
    show_default=True,
    help=f"Default language of people and users without their own ({', '.join(i18n.available_locales())}).",
)
@with_database
async def create(
    slug: str,
    name: str,
    timezone: str,
    min_group_size: int,
    comment_threshold: int,
    email_domains: tuple[str, ...],
    quarantine_days: int,
    locale: str,
) -> None:
    """Create the organisation SLUG."""
    organization = await organizations.create_organization(
        slug,
        name,
        timezone=timezone,
        min_group_size=min_group_size,
        comment_threshold=comment_threshold,
        email_domains=email_domains,
        quarantine_days=quarantine_days,
        locale=locale,
    )
    click.echo(f"created organisation {organization.slug} ({organization.name}), k={organization.min_group_size}")


@org_group.command("update")
@click.argument("slug")
@click.option(
    "--email-domain",
    "email_domains",
    multiple=True,
    metavar="DOMAIN",
    help="Restrict addresses to these domains (repeat for several); replaces the current list.",
)
@click.option("--any-email-domain", is_flag=True, help="Lift the email domain restriction.")
@click.option("--quarantine-days", type=int, default=None, help="Newcomer quarantine in days (at least 14).")
@with_database
async def update(
    slug: str, email_domains: tuple[str, ...], any_email_domain: bool, quarantine_days: int | None
) -> None:
    """Change the padding defences of organisation SLUG (email domains, newcomer quarantine)."""
    if email_domains and any_email_domain:
        raise click.UsageError("give --email-domain or --any-email-domain, not both")
    domains: list[str] | None = [] if any_email_domain else (list(email_domains) if email_domains else None)
    organization = await organizations.update_organization(slug, email_domains=domains, quarantine_days=quarantine_days)
    allowed = ", ".join(organization.email_domains or []) or "any domain"
    click.echo(
        f"organisation {organization.slug}: email addresses from {allowed}; "
        f"newcomer quarantine {organization.quarantine_days} days"
    )


COMMANDS = [org_group]


@org_group.command("language")
@click.argument("slug")
@click.argument("locale")
@with_database
async def language_command(slug: str, locale: str) -> None:
    """Set the default language (LOCALE, e.g. fr or pt_BR) of the organisation SLUG."""
    organization = await organizations.get_organization(slug)
    await organizations.set_default_language(organization, locale)
    click.echo(f"organisation {organization.slug} now defaults to {locale}")


@org_group.command("sso")
@click.argument("slug")
@click.option("--issuer", help="The provider's issuer URL, exactly as its discovery document names it.")
@click.option("--client-id", help="The client (application) id registered at the provider.")
@click.option("--client-secret", help="The client secret; '-' reads it from standard input (keeps it out of ps).")
@click.option("--name", "display_name", help="Shown on the button: 'Sign in with NAME'.")
@click.option("--domain", "domains", multiple=True, help="Email domain sent to this provider (repeat); replaces.")
@click.option("--role-claim", help="ID token claim holding roles or groups (default: groups).")
@click.option("--role", "roles", multiple=True, help="VALUE=ROLE: claim value to hr or leader (repeat); replaces.")
@click.option("--scopes", help="Scopes to ask for (default: 'openid email profile').")
@click.option("--scope-claim", help="Claim listing the unit paths a leader reads ('' = scopes are set in Pulse).")
@click.option("--jit/--no-jit", default=None, help="Create accounts on first sign-in (needs a mapped role).")
@click.option("--password-sign-in/--no-password-sign-in", default=None, help="Allow password sign-in too.")
@click.option("--remove", is_flag=True, help="Remove the organisation's single sign-on.")
@with_database
async def sso_command(
    slug: str,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    display_name: str | None,
    domains: tuple[str, ...],
    role_claim: str | None,
    roles: tuple[str, ...],
    scopes: str | None,
    scope_claim: str | None,
    jit: bool | None,
    password_sign_in: bool | None,
    remove: bool,
) -> None:
    """Set up (or change) OpenID Connect sign-in for the organisation SLUG.

    Register Pulse at the provider with the redirect URI PULSE_BASE_URL/login/sso/callback.
    """
    from pulse.services import sso
    from pulse.settings import get_settings

    organization = await organizations.get_organization(slug)
    if remove:
        await sso.remove(organization)
        click.echo(f"single sign-on removed from {organization.slug}; password sign-in works again")
        return
    if client_secret == "-":
        client_secret = sys.stdin.readline().strip()
    settings = get_settings()
    config = await sso.configure(
        organization,
        sso.SsoSettings(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            display_name=display_name,
            email_domains=list(domains) if domains else None,
            role_claim=role_claim,
            role_map=sso.parse_role_map(list(roles)) if roles else None,
            scopes=scopes,
            scope_claim=scope_claim,
            jit=jit,
            password_sign_in=password_sign_in,
        ),
        settings,
    )
    click.echo(
        f"single sign-on for {organization.slug}: issuer {config.issuer}, client {config.client_id}, "
        f"jit {'on' if config.jit else 'off'}, password sign-in {'on' if config.password_sign_in else 'off'}; "
        f"redirect URI {settings.base_url}/login/sso/callback"
    )
