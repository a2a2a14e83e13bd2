"""Demo PagerDuty accounts and users, and how /users/me presents a user."""

from __future__ import annotations

import enum
import hashlib
import threading
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlencode


class Region(enum.Enum):
    """A PagerDuty service region: its REST host, its id_token claim and its stand-in path prefix."""

    US = ("us", "https://api.pagerduty.com", "UnitedStates", "")
    # PagerDuty: the EU `region` claim value is unconfirmed; "EuropeanUnion" is our guess.
    EU = ("eu", "https://api.eu.pagerduty.com", "EuropeanUnion", "/eu")

    def __init__(self, key: str, api_host: str, claim: str, path_prefix: str) -> None:
        self.key = key
        self.api_host = api_host
        self.claim = claim
        self.path_prefix = path_prefix  # the stand-in serves this region's REST host under it

    @classmethod
    def from_key(cls, key: str) -> Region:
        for region in cls:
            if region.key == key.lower():
                return region
        raise ValueError(f"unknown region {key!r}: use 'us' or 'eu'")


@dataclass(frozen=True)
class Account:
    account_id: str
    subdomain: str
    region: Region


US_ACCOUNT = Account(account_id="PACMEUS", subdomain="acme-us", region=Region.US)
EU_ACCOUNT = Account(account_id="PGLOBEX", subdomain="globex-eu", region=Region.EU)


@dataclass(frozen=True)
class DemoUser:
    """A user who can sign in on the stand-in's authorize page. `id` is also the login value."""

    id: str
    name: str
    email: str
    account: Account = US_ACCOUNT
    time_zone: str = "Etc/UTC"
    role: str = "user"
    job_title: str = ""
    avatar_url: str | None = None  # None: PagerDuty's usual Gravatar URL for the email

    def __post_init__(self) -> None:
        if not self.id or not self.name or not self.email:
            raise ValueError("a DemoUser needs a non-empty id, name and email")


DEFAULT_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        id="PADA001",
        name="Ada Lovelace",
        email="ada@acme-us.example",
        account=US_ACCOUNT,
        time_zone="America/New_York",
        role="admin",
        job_title="Analyst",
    ),
    DemoUser(
        id="PGRACE1",
        name="Grace Hopper",
        email="grace@globex-eu.example",
        account=EU_ACCOUNT,
        time_zone="Europe/Berlin",
        role="user",
        job_title="Rear Admiral",
    ),
    # Read-only role: PagerDuty grants such a user no write scope, whatever the app asks for.
    DemoUser(
        id="PREAD01",
        name="Rosalind Franklin",
        email="rosalind@acme-us.example",
        account=US_ACCOUNT,
        time_zone="Europe/London",
        role="read_only_user",
        job_title="Crystallographer",
    ),
)


def gravatar_url(email: str) -> str:
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}.png?" + urlencode({"d": "mm", "r": "PG"})


def user_resource(user: DemoUser) -> dict[str, Any]:
    """The `user` object of GET /users/me, with the fields PagerDuty's schema documents."""
    api_host = user.account.region.api_host
    return {
        "id": user.id,
        "type": "user",
        "summary": user.name,
        "self": f"{api_host}/users/{user.id}",
        "html_url": f"https://{user.account.subdomain}.pagerduty.com/users/{user.id}",
        "name": user.name,
        "email": user.email,
        "time_zone": user.time_zone,
        "color": "purple",
        "role": user.role,
        "avatar_url": user.avatar_url if user.avatar_url is not None else gravatar_url(user.email),
        "description": "",
        "invitation_sent": False,
        "job_title": user.job_title,
        "teams": [],
        "contact_methods": [],
        "notification_rules": [],
    }


class UserDirectory:
    """The users who can sign in; thread-safe because tests add users while the server runs."""

    def __init__(self, users: Iterable[DemoUser]) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, DemoUser] = {}
        for user in users:
            self.add(user)

    def add(self, user: DemoUser) -> None:
        with self._lock:
            if user.id in self._users:
                raise ValueError(f"a user with id {user.id!r} already exists")
            self._users[user.id] = user

    def find(self, user_id: str) -> DemoUser | None:
        with self._lock:
            return self._users.get(user_id)

    def all(self) -> tuple[DemoUser, ...]:
        with self._lock:
            return tuple(self._users.values())
