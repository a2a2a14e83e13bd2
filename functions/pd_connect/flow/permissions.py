"""What a set of OAuth scopes lets the app do, in plain words, for the landing and welcome pages.

PagerDuty's scopes: classic `read` / `write` (write includes read), Scoped OAuth
`<resource>.read|write` with some sub-resources (`users:contact_methods.read`), and `openid`,
which PagerDuty adds to every user token. A scope this table does not know is shown as itself:
the user still sees exactly what is asked for.
"""

import re

from pd_connect.platform.records import Record

CLASSIC_READ = "See everything your PagerDuty user can see: incidents, services, schedules, teams, users and more"
CLASSIC_WRITE = (
    "See and change everything your PagerDuty user can, such as acknowledging and resolving incidents "
    "and editing schedules and services"
)
OPENID = "Know who you are on PagerDuty: your name, e-mail address and account"

# Scoped OAuth resources, as the object of "See …" / "Create and change …".
RESOURCES = {
    "abilities": "which features your PagerDuty account has",
    "addons": "add-ons",
    "alert_grouping_settings": "alert grouping settings",
    "analytics": "analytics",
    "audit_records": "audit records",
    "automation_actions": "automation actions",
    "business_services": "business services",
    "change_events": "change events",
    "custom_fields": "custom fields",
    "escalation_policies": "escalation policies",
    "event_orchestrations": "event orchestrations",
    "event_rules": "event rules",
    "extension_schemas": "extension types",
    "extensions": "extensions",
    "incident_types": "incident types",
    "incident_workflows": "incident workflows",
    "incidents": "incidents",
    "licenses": "licenses",
    "maintenance_windows": "maintenance windows",
    "notifications": "notifications",
    "oncalls": "who is on call",
    "priorities": "incident priorities",
    "response_plays": "response plays",
    "rulesets": "event rulesets",
    "schedules": "schedules",
    "services": "services",
    "standards": "service standards",
    "status_dashboards": "status dashboards",
    "status_pages": "status pages",
    "tags": "tags",
    "teams": "teams",
    "templates": "message templates",
    "users": "users",
    "users:contact_methods": "users' contact methods",
    "users:sessions": "users' sign-in sessions",
    "vendors": "integration vendors",
    "webhook_subscriptions": "webhook subscriptions",
    "workflow_integrations": "workflow integrations",
}
_SCOPED = r"([a-z_]+(?::[a-z_]+)?)\.(read|write)"  # compiled on first use (see https_urls)
_VERBS = {("read",): "See", ("write",): "Create and change", ("read", "write"): "See, create and change"}


class Permission(Record):
    scopes: tuple[str, ...]  # the scopes this line stands for, as requested or granted
    text: str


def describe(scopes: str) -> tuple[Permission, ...]:
    """One line per thing allowed, in the order the scopes first appear; read and write of the
    same resource share a line, and classic `write` stands for `read` too."""
    ordered = list(dict.fromkeys(scopes.split()))
    lines: dict[str, list[str]] = {}  # resource (or the scope itself) -> its scopes, in order
    for scope in ordered:
        match = re.fullmatch(_SCOPED, scope)
        if scope in ("read", "write"):
            key = "classic"
        elif match and match.group(1) in RESOURCES:
            key = match.group(1)
        else:
            key = scope
        lines.setdefault(key, []).append(scope)
    return tuple(Permission(tuple(group), _text(key, group)) for key, group in lines.items())


def _text(key: str, scopes: list[str]) -> str:
    if key == "classic":
        return CLASSIC_WRITE if "write" in scopes else CLASSIC_READ
    if key == "openid":
        return OPENID
    if key in RESOURCES:
        access = tuple(sorted({scope.rsplit(".", 1)[1] for scope in scopes}))
        return f"{_VERBS[access]} {RESOURCES[key]}"
    return key
