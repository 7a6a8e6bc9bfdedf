"""The HR and leader web app: sign-in, organisations, people, departments, schedules, rounds, reports, keys,
accounts (admins).

One module per area. Handlers are thin: check who asks (``pulse.web.auth``, ``pulse.services.access``),
call a service, render a template. Every figure about answers comes from a service that already applied
disclosure control (participation, the stored report model); no page lists who answered.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from pulse.web.admin.account import account_language, account_page, account_password
from pulse.web.admin.audit import audit_page
from pulse.web.admin.keys import key_revoke, keys_page
from pulse.web.admin.leaders import leader_page, leaders_page
from pulse.web.admin.overview import overview
from pulse.web.admin.people import departments_page, people_import, people_page, people_status
from pulse.web.admin.reports import report_download, report_page, reports_page
from pulse.web.admin.rounds import round_close, round_page, round_remind, rounds_page
from pulse.web.admin.schedules import schedule_action, schedules_page
from pulse.web.admin.signin import home, login, logout
from pulse.web.admin.sso import scim_token_revoke, sso_page
from pulse.web.admin.units import units_page
from pulse.web.admin.users import user_action, users_page

routes: list[BaseRoute] = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/", home, name="home"),
    Route("/orgs/{slug}", overview, name="overview"),
    Route("/orgs/{slug}/people", people_page, name="people"),
    Route("/orgs/{slug}/people/import", people_import, methods=["POST"], name="people_import"),
    Route("/orgs/{slug}/people/deactivate", people_status, methods=["POST"], name="people_deactivate"),
    Route("/orgs/{slug}/people/reactivate", people_status, methods=["POST"], name="people_reactivate"),
    Route("/orgs/{slug}/departments", departments_page, name="departments"),
    Route("/orgs/{slug}/audit", audit_page, name="audit"),
    Route("/orgs/{slug}/schedules", schedules_page, methods=["GET", "POST"], name="schedules"),
    Route(
        "/orgs/{slug}/schedules/{schedule_id:int}/{action}", schedule_action, methods=["POST"], name="schedule_action"
    ),
    Route("/orgs/{slug}/rounds", rounds_page, methods=["GET", "POST"], name="rounds"),
    Route("/orgs/{slug}/reports", reports_page, name="reports"),
    Route("/orgs/{slug}/leaders", leaders_page, methods=["GET", "POST"], name="leaders"),
    Route("/orgs/{slug}/leaders/{user_id:int}", leader_page, methods=["GET", "POST"], name="leader"),
    Route("/orgs/{slug}/keys", keys_page, methods=["GET", "POST"], name="keys"),
    Route("/orgs/{slug}/keys/{key_id:int}/revoke", key_revoke, methods=["POST"], name="key_revoke"),
    Route("/orgs/{slug}/sso", sso_page, methods=["GET", "POST"], name="sso"),
    Route(
        "/orgs/{slug}/sso/scim-tokens/{token_id:int}/revoke",
        scim_token_revoke,
        methods=["POST"],
        name="scim_token_revoke",
    ),
    Route("/rounds/{round_id:int}", round_page, name="round"),
    Route("/rounds/{round_id:int}/remind", round_remind, methods=["POST"], name="round_remind"),
    Route("/rounds/{round_id:int}/close", round_close, methods=["POST"], name="round_close"),
    Route("/reports/{round_id:int}", report_page, name="report"),
    Route("/reports/{round_id:int}/download/{fmt}", report_download, name="report_download"),
    Route("/reports/{round_id:int}/units", units_page, name="report_units"),
    Route("/reports/{round_id:int}/units/{path:path}", units_page, name="report_unit"),
    Route("/account", account_page, name="account"),
    Route("/account/password", account_password, methods=["POST"], name="account_password"),
    Route("/users", users_page, name="users"),
    Route("/users/{user_id:int}/{action}", user_action, methods=["POST"], name="user_action"),
    Route("/account/language", account_language, methods=["POST"], name="account_language"),
]

__all__ = ["build_rrule", "describe_rule", "principal_of", "routes"]
