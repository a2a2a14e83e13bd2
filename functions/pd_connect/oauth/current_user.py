"""PagerDuty's REST API: the v2 Accept header, Bearer auth, and GET /users/me."""

import requests

from pd_connect.platform.records import Record

ACCEPT_V2 = "application/vnd.pagerduty+json;version=2"  # required by PagerDuty's schema
API_TIMEOUT = (3.05, 6)


class PagerDutyApiError(Exception):
    """A REST call failed; `status` is the HTTP status, or 0 when no answer came."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class PagerDutyUser(Record):
    id: str
    name: str
    email: str
    avatar_url: str
    html_url: str


def api_headers(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Accept": ACCEPT_V2}


def fetch_current_user(session: requests.Session, api_base: str, access_token: str) -> PagerDutyUser:
    try:
        response = session.get(f"{api_base}/users/me", headers=api_headers(access_token), timeout=API_TIMEOUT)
    except requests.RequestException as error:
        raise PagerDutyApiError(0, f"users/me: {type(error).__name__}") from None
    if response.status_code != 200:
        raise PagerDutyApiError(response.status_code, f"users/me: HTTP {response.status_code}")
    try:
        user = response.json()["user"]
        return PagerDutyUser(
            id=str(user["id"]),
            name=str(user.get("name") or ""),
            email=str(user.get("email") or ""),
            avatar_url=str(user.get("avatar_url") or ""),
            html_url=str(user.get("html_url") or ""),
        )
    except (ValueError, KeyError, TypeError):
        raise PagerDutyApiError(response.status_code, "users/me: unexpected body") from None
